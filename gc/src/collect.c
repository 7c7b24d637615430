/*
 * collect.c: collection requests, collection events and statistics.
 *
 * GC_gcollect is mgc_collect followed by the finalizers it made ready (on
 * this thread, unless finalize-on-demand), and does nothing while
 * collection is disabled, as in Boehm. Boehm's counters "since the last
 * collection" are taken from mgc's cumulative statistics, remembered
 * after every collection: by GC_gcollect itself, or, for automatic
 * collections, at the next allocation or statistics call after mgc's
 * event hook said one ended.
 */
#include "layer.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static GC_on_collection_event_proc event_proc;
static GC_start_callback_proc start_callback;
static GC_stop_func stop_func;
static pthread_mutex_t marks_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t gc_seen;             /* num_gc when the marks below were taken */
static uint64_t allocated_at_gc;     /* total_alloc then */
static uint64_t heap_size_at_gc;     /* heap_sys then */
static uint64_t pause_at_measure;    /* pause_total_ns when measurement started */
static int measuring;

static int GC_CALLBACK never_stop(void)
{
    return 0;
}

int layer_collection_ended;

void layer_note_collections(void)
{
    __atomic_store_n(&layer_collection_ended, 0, __ATOMIC_RELAXED);
    struct mgc_stats stats;
    mgc_read_stats(&stats);
    GC_on_heap_resize_proc resized = NULL;
    pthread_mutex_lock(&marks_lock);
    if (stats.num_gc != gc_seen) {
        gc_seen = stats.num_gc;
        allocated_at_gc = stats.total_alloc;
        if (stats.heap_sys != heap_size_at_gc && heap_size_at_gc != 0)
            resized = __atomic_load_n(&GC_on_heap_resize, __ATOMIC_ACQUIRE);
        heap_size_at_gc = stats.heap_sys;
        __atomic_store_n(&GC_gc_no, (GC_word)stats.num_gc, __ATOMIC_RELAXED);
    }
    pthread_mutex_unlock(&marks_lock);
    if (resized)
        resized((GC_word)stats.heap_sys);
}

/* mgc's events, forwarded to Boehm's callbacks. */
static void on_event(int event)
{
    GC_on_collection_event_proc proc = __atomic_load_n(&event_proc, __ATOMIC_ACQUIRE);
    switch (event) {
    case MGC_EVENT_START: {
        GC_start_callback_proc start = __atomic_load_n(&start_callback, __ATOMIC_ACQUIRE);
        if (start)
            start();
        if (proc)
            proc(GC_EVENT_START);
        break;
    }
    case MGC_EVENT_MARK_START: /* the world has just stopped */
        if (proc) {
            proc(GC_EVENT_POST_STOP_WORLD);
            proc(GC_EVENT_MARK_START);
        }
        break;
    case MGC_EVENT_MARK_END: /* the world is about to restart */
        if (proc) {
            proc(GC_EVENT_MARK_END);
            proc(GC_EVENT_PRE_START_WORLD);
        }
        break;
    case MGC_EVENT_END:
        /* Statistics cannot be read while the collection holds its lock:
         * the next allocation or query of any thread takes the marks. */
        __atomic_add_fetch(&GC_gc_no, 1, __ATOMIC_RELAXED);
        __atomic_store_n(&layer_collection_ended, 1, __ATOMIC_RELEASE);
        if (proc)
            proc(GC_EVENT_END);
        break;
    default:
        break;
    }
}

void layer_collect_init(void)
{
    mgc_set_event_hook(on_event);
    struct mgc_stats stats;
    mgc_read_stats(&stats);
    heap_size_at_gc = stats.heap_sys;
}

void GC_CALL GC_set_on_collection_event(GC_on_collection_event_proc fn)
{
    __atomic_store_n(&event_proc, fn, __ATOMIC_RELEASE);
}

GC_on_collection_event_proc GC_CALL GC_get_on_collection_event(void)
{
    return __atomic_load_n(&event_proc, __ATOMIC_ACQUIRE);
}

void GC_CALL GC_set_start_callback(GC_start_callback_proc fn)
{
    __atomic_store_n(&start_callback, fn, __ATOMIC_RELEASE);
}

GC_start_callback_proc GC_CALL GC_get_start_callback(void)
{
    return __atomic_load_n(&start_callback, __ATOMIC_ACQUIRE);
}

void GC_CALL GC_set_on_heap_resize(GC_on_heap_resize_proc fn)
{
    __atomic_store_n(&GC_on_heap_resize, fn, __ATOMIC_RELEASE);
}

GC_on_heap_resize_proc GC_CALL GC_get_on_heap_resize(void)
{
    return __atomic_load_n(&GC_on_heap_resize, __ATOMIC_ACQUIRE);
}

void GC_CALL GC_set_stop_func(GC_stop_func fn)
{
    if (fn)
        __atomic_store_n(&stop_func, fn, __ATOMIC_RELEASE);
}

GC_stop_func GC_CALL GC_get_stop_func(void)
{
    GC_stop_func fn = __atomic_load_n(&stop_func, __ATOMIC_ACQUIRE);
    return fn ? fn : never_stop;
}

/* ---- collecting ---- */

static int collect(GC_stop_func stop)
{
    if (!__atomic_load_n(&layer_ready, __ATOMIC_ACQUIRE))
        layer_init();
    layer_sync_settings();
    if (layer_collection_disabled())
        return 0;
    if (stop && stop())
        return 0;
    mgc_collect();
    layer_note_collections();
    layer_run_finalizers_if_due();
    return 1;
}

void GC_CALL GC_gcollect(void)
{
    collect(__atomic_load_n(&stop_func, __ATOMIC_ACQUIRE));
}

void GC_CALL GC_gcollect_and_unmap(void)
{
    collect(__atomic_load_n(&stop_func, __ATOMIC_ACQUIRE));
}

int GC_CALL GC_try_to_collect(GC_stop_func stop)
{
    return collect(stop);
}

int GC_CALL GC_collect_a_little(void)
{
    layer_enter();
    return 0;
}

void GC_CALL GC_start_incremental_collection(void)
{
    layer_enter();
}

/* ---- statistics ---- */

static void read_stats(struct mgc_stats *stats)
{
    if (!__atomic_load_n(&layer_ready, __ATOMIC_ACQUIRE))
        layer_init();
    layer_note_collections();
    mgc_read_stats(stats);
}

static size_t free_bytes(const struct mgc_stats *s)
{
    uint64_t mapped = s->heap_sys > s->heap_released ? s->heap_sys - s->heap_released : 0;
    return mapped > s->heap_alloc ? (size_t)(mapped - s->heap_alloc) : 0;
}

static size_t since_gc(const struct mgc_stats *s)
{
    uint64_t mark = __atomic_load_n(&allocated_at_gc, __ATOMIC_RELAXED);
    return s->total_alloc > mark ? (size_t)(s->total_alloc - mark) : 0;
}

size_t GC_CALL GC_get_heap_size(void)
{
    struct mgc_stats s;
    read_stats(&s);
    return (size_t)s.heap_sys;
}

size_t GC_CALL GC_get_free_bytes(void)
{
    struct mgc_stats s;
    read_stats(&s);
    return free_bytes(&s);
}

size_t GC_CALL GC_get_unmapped_bytes(void)
{
    struct mgc_stats s;
    read_stats(&s);
    return (size_t)s.heap_released;
}

size_t GC_CALL GC_get_bytes_since_gc(void)
{
    struct mgc_stats s;
    read_stats(&s);
    return since_gc(&s);
}

/* mgc does not count explicitly freed bytes apart: 0. */
size_t GC_CALL GC_get_expl_freed_bytes_since_gc(void)
{
    return 0;
}

size_t GC_CALL GC_get_total_bytes(void)
{
    struct mgc_stats s;
    read_stats(&s);
    return (size_t)s.total_alloc;
}

size_t GC_CALL GC_get_obtained_from_os_bytes(void)
{
    struct mgc_stats s;
    read_stats(&s);
    return (size_t)s.sys;
}

size_t GC_CALL GC_get_memory_use(void)
{
    struct mgc_stats s;
    read_stats(&s);
    return (size_t)s.heap_alloc;
}

GC_word GC_CALL GC_get_gc_no(void)
{
    struct mgc_stats s;
    read_stats(&s);
    return (GC_word)s.num_gc;
}

void GC_CALL GC_get_heap_usage_safe(GC_word *heap_size, GC_word *free, GC_word *unmapped,
                                    GC_word *since, GC_word *total)
{
    struct mgc_stats s;
    read_stats(&s);
    if (heap_size)
        *heap_size = (GC_word)s.heap_sys;
    if (free)
        *free = (GC_word)free_bytes(&s);
    if (unmapped)
        *unmapped = (GC_word)s.heap_released;
    if (since)
        *since = (GC_word)since_gc(&s);
    if (total)
        *total = (GC_word)s.total_alloc;
}

size_t GC_CALL GC_get_prof_stats(struct GC_prof_stats_s *out, size_t size)
{
    struct mgc_stats s;
    read_stats(&s);
    struct GC_prof_stats_s full;
    full.heapsize_full = (GC_word)s.heap_sys;
    full.free_bytes_full = (GC_word)free_bytes(&s);
    full.unmapped_bytes = (GC_word)s.heap_released;
    full.bytes_allocd_since_gc = (GC_word)since_gc(&s);
    full.allocd_bytes_before_gc = (GC_word)(s.total_alloc - full.bytes_allocd_since_gc);
    full.non_gc_bytes = GC_non_gc_bytes;
    full.gc_no = (GC_word)s.num_gc;
    full.markers_m1 = GC_parallel ? (GC_word)(sysconf(_SC_NPROCESSORS_ONLN) - 1) : 0;
    full.bytes_reclaimed_since_gc = ~(GC_word)0;
    full.reclaimed_bytes_before_gc = ~(GC_word)0;
    full.expl_freed_bytes_since_gc = 0;
    full.obtained_from_os_bytes = (GC_word)s.sys;
    if (!out)
        return 0;
    if (size > sizeof full) {
        memset((char *)out + sizeof full, 0xff, size - sizeof full);
        size = sizeof full;
    }
    memcpy(out, &full, size);
    return size;
}

size_t GC_CALL GC_get_prof_stats_unsafe(struct GC_prof_stats_s *out, size_t size)
{
    return GC_get_prof_stats(out, size);
}

void GC_CALL GC_start_performance_measurement(void)
{
    struct mgc_stats s;
    read_stats(&s);
    pause_at_measure = s.pause_total_ns;
    measuring = 1;
}

unsigned long GC_CALL GC_get_full_gc_total_time(void)
{
    if (!measuring)
        return 0;
    struct mgc_stats s;
    read_stats(&s);
    return (unsigned long)((s.pause_total_ns - pause_at_measure) / 1000000);
}

/* Boehm's C++ allocators report bytes they manage themselves; mgc's
 * pacing does not take such reports. */
void GC_CALL GC_incr_bytes_allocd(size_t bytes);
void GC_CALL GC_incr_bytes_freed(size_t bytes);

void GC_CALL GC_incr_bytes_allocd(size_t bytes)
{
    (void)bytes;
}

void GC_CALL GC_incr_bytes_freed(size_t bytes)
{
    (void)bytes;
}

/* ---- dumps ---- */

void GC_CALL GC_dump_named(const char *name)
{
    struct mgc_stats s;
    read_stats(&s);
    if (name)
        GC_printf("***GC Dump %s\n", name);
    else
        GC_printf("***GC Dump\n");
    GC_printf("Collections: %llu\n", (unsigned long long)s.num_gc);
    GC_printf("Heap size: %llu bytes (%llu returned to the OS)\n", (unsigned long long)s.heap_sys,
              (unsigned long long)s.heap_released);
    GC_printf("Allocated objects: %llu bytes in %llu objects\n", (unsigned long long)s.heap_alloc,
              (unsigned long long)s.heap_objects);
    GC_printf("Total allocated: %llu bytes; since the last collection: %llu bytes\n",
              (unsigned long long)s.total_alloc, (unsigned long long)since_gc(&s));
    GC_printf("Pause total: %llu ms (longest %llu us)\n",
              (unsigned long long)(s.pause_total_ns / 1000000),
              (unsigned long long)(s.max_pause_ns / 1000));
    GC_printf("Finalizers run: %llu\n", (unsigned long long)s.finalizers_run);
}

void GC_CALL GC_dump(void)
{
    GC_dump_named(NULL);
}

void GC_CALL GC_dump_regions(void)
{
    struct mgc_stats s;
    read_stats(&s);
    GC_printf("Heap: %llu bytes from the OS, %llu in use by spans\n", (unsigned long long)s.heap_sys,
              (unsigned long long)s.heap_inuse);
}

void GC_CALL GC_print_free_list(int kind, size_t granules)
{
    GC_printf("Free list of kind %d, %lu granules: kept inside mgc, not listed\n", kind,
              (unsigned long)granules);
}

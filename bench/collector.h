/*
 * collector.h: what each collector can tell about itself, read the same way
 * for mgc and Boehm GC by the collector benchmarks (gcbench.c, seedbench.c).
 *
 * "Pause" is the time the world is stopped, for both collectors: mgc's
 * pause counters, and for Boehm the span from its pre-stop-world event to
 * its post-start-world event, summed by a callback (Boehm keeps no pause
 * statistics of its own).
 *
 * collector_read fills a snapshot. A figure a collector does not keep is
 * COLLECTOR_UNKNOWN; the report prints it as n/a.
 */
#ifndef MGC_BENCH_COLLECTOR_H
#define MGC_BENCH_COLLECTOR_H

#include <stdint.h>
#include <time.h>

#include "backend.h"

#if !BACKEND_IS_GC
#error "collector.h describes collectors: build with BACKEND_MGC or a Boehm backend"
#endif

#define COLLECTOR_UNKNOWN UINT64_MAX

struct collector_snapshot {
    uint64_t collections;
    uint64_t pause_total_ns, last_pause_ns, max_pause_ns;
    uint64_t allocated_bytes;  /* cumulative */
    uint64_t heap_objects_allocated; /* cumulative heap blocks; mgc: a tiny
                                        block counts once, however many
                                        objects share it. Boehm: unknown */
    uint64_t sys_heap;         /* heap bytes obtained from the OS */
    uint64_t sys_gc;           /* collector metadata */
    uint64_t sys_other;        /* other off-heap metadata */
    uint64_t sys_total;
};

static inline double collector_now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

#if defined(BACKEND_MGC)

static inline void collector_setup(void) {}

static inline void collector_read(struct collector_snapshot *out)
{
    struct mgc_stats stats;
    mgc_read_stats(&stats);
    out->collections = stats.num_gc;
    out->pause_total_ns = stats.pause_total_ns;
    out->last_pause_ns = stats.last_pause_ns;
    out->max_pause_ns = stats.max_pause_ns;
    out->allocated_bytes = stats.total_alloc;
    out->heap_objects_allocated = stats.mallocs - stats.tiny_allocs;
    out->sys_heap = stats.heap_sys;
    out->sys_gc = stats.gc_sys;
    out->sys_other = stats.other_sys;
    out->sys_total = stats.sys;
}

#else /* Boehm */

/* The callback runs in the collecting thread under the allocation lock, and
 * readers take that lock: plain variables are safe. */
static double collector_world_stopped_at;
static uint64_t collector_pause_total_ns, collector_last_pause_ns, collector_max_pause_ns;

static void GC_CALLBACK collector_on_event(GC_EventType event)
{
    if (event == GC_EVENT_PRE_STOP_WORLD) {
        collector_world_stopped_at = collector_now_seconds();
    } else if (event == GC_EVENT_POST_START_WORLD) {
        uint64_t pause = (uint64_t)((collector_now_seconds() - collector_world_stopped_at) * 1e9);
        collector_last_pause_ns = pause;
        collector_pause_total_ns += pause;
        if (pause > collector_max_pause_ns)
            collector_max_pause_ns = pause;
    }
}

static inline void collector_setup(void) { GC_set_on_collection_event(collector_on_event); }

static inline void collector_read(struct collector_snapshot *out)
{
    GC_alloc_lock();
    out->pause_total_ns = collector_pause_total_ns;
    out->last_pause_ns = collector_last_pause_ns;
    out->max_pause_ns = collector_max_pause_ns;
    GC_alloc_unlock();
    out->collections = GC_get_gc_no();
    out->allocated_bytes = GC_get_total_bytes();
    out->heap_objects_allocated = COLLECTOR_UNKNOWN;
    /* GC_get_heap_size leaves out unmapped pages; mgc's heap_sys counts
     * released pages too, so both say what the heap took from the OS. */
    out->sys_heap = GC_get_heap_size() + GC_get_unmapped_bytes();
    out->sys_gc = COLLECTOR_UNKNOWN;
    out->sys_other = COLLECTOR_UNKNOWN;
    out->sys_total = COLLECTOR_UNKNOWN;
}

#endif

#endif

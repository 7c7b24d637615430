/*
 * gc.c: when to collect, and one collection from start to end.
 *
 * Pacing follows Go's GOGC rule. heap_live counts the bytes of objects in
 * use as the allocator sees them: set to the marked bytes when a collection
 * ends, raised when a cache takes a span (by the span's free bytes, as if all
 * of them were about to be used), a large or uncollectable object is made,
 * and lowered when a cache gives unused slots back or an object is freed
 * explicitly. The next collection starts when heap_live reaches
 *
 *     goal = max(marked * (1 + percent / 100), 4 MiB)
 *
 * or earlier when a memory limit is set: the goal is then also at most the
 * limit minus the collector's own metadata and a sixteenth of headroom.
 * The slow path asks before it allocates, counting the request: an object
 * that would take heap_live to the goal starts the collection first, and
 * can then take pages the collection freed instead of new ones.
 * Growing the heap past the limit is refused (heap.c); the allocation then
 * collects and, if it still cannot fit, fails with ENOMEM.
 *
 * One collection (gc_collect):
 *   1. finish sweeping the previous cycle;
 *   2. stop the world (inside the walk of loaded objects, roots.c);
 *   3. give back every cache's spans and forget every tiny block;
 *   4. mark (mark.c), from segments, registered roots, stacks, uncollectable
 *      objects;
 *   5. queue the finalizers of objects not reached (finalize.c);
 *   6. flip the sweep phase: every span in use becomes unswept;
 *   7. set heap_live and the next goal, restart the world;
 *   8. let the background sweeper and the finalizer thread go (and, for
 *      mgc_collect, sweep it all).
 *
 * Only one thread collects at a time (gc_lock). A thread whose allocation
 * wants a collection while another runs does not wait for the lock: it goes
 * on, and the running collection stops it like every other thread. That
 * keeps a thread that holds the loader's lock (a library constructor
 * allocating inside dlopen) from deadlocking with a collector that needs it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "mgc_internal.h"

#define MIN_HEAP_GOAL ((uint64_t)4 << 20)

pthread_mutex_t gc_lock = PTHREAD_MUTEX_INITIALIZER;
int64_t heap_live;
uint64_t gc_trigger = MIN_HEAP_GOAL;
size_t memory_limit = SIZE_MAX;

static int gc_percent = 100;
static uint64_t cycles_started;
static uint64_t start_ns;

/* Written only by the collector, under gc_lock; read by mgc_read_stats. */
static struct {
    uint64_t num_gc, pause_total_ns, last_pause_ns, max_pause_ns;
    uint64_t next_gc, heap_marked;
} totals = {.next_gc = MIN_HEAP_GOAL};

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static uint64_t metadata_bytes(void)
{
    uint64_t gc_sys, other_sys;
    persistent_read_counters(&gc_sys, &other_sys);
    return gc_sys + other_sys;
}

/* The next goal, from the bytes found live. */
static void set_goal(uint64_t marked)
{
    int percent = load_relaxed(&gc_percent);
    uint64_t goal = UINT64_MAX;
    if (percent >= 0) {
        unsigned __int128 wide = (unsigned __int128)marked * (100u + (unsigned)percent) / 100u;
        goal = wide > UINT64_MAX / 2 ? UINT64_MAX / 2 : (uint64_t)wide;
        if (goal < MIN_HEAP_GOAL)
            goal = MIN_HEAP_GOAL;
    }
    size_t limit = load_relaxed(&memory_limit);
    if (limit != SIZE_MAX) {
        uint64_t reserved = metadata_bytes() + limit / 16;
        uint64_t limit_goal = limit > reserved ? limit - reserved : 0;
        /* Never closer to the live heap than this, or collections would
         * run back to back for no gain; the hard stop is at heap growth. */
        uint64_t floor = marked + marked / 8 + ((uint64_t)1 << 20);
        if (limit_goal < floor)
            limit_goal = floor;
        if (limit_goal < goal)
            goal = limit_goal;
    }
    totals.next_gc = goal;
    totals.heap_marked = marked;
    store_relaxed(&gc_trigger, goal);
    heap_set_retain(goal == UINT64_MAX ? 0 : goal + goal / 10);
}

/* ---- One cycle ------------------------------------------------------------------------------- */

struct cycle {
    uint64_t stopped_ns, marked_ns;
    uint64_t heap_before, objects_before;
    struct mark_result mark;
    size_t finalizers_queued;
};

/* Heap bytes and objects allocated and not yet freed, threads_lock held. */
static void heap_in_use_locked(uint64_t *bytes, uint64_t *objects)
{
    struct cache_counters caches;
    uint64_t swept, swept_bytes, cacheless, cacheless_bytes;
    cache_sum_counters_locked(&caches);
    sweep_read_counters(&swept, &swept_bytes);
    free_read_cacheless_counters(&cacheless, &cacheless_bytes);
    *bytes = caches.total_alloc - caches.freed_bytes - swept_bytes - cacheless_bytes;
    *objects = caches.mallocs - caches.frees - swept - cacheless;
}

static void with_world_stopped(const struct root_range *segments, size_t n, void *arg)
{
    struct cycle *cycle = arg;
    cycle->stopped_ns = now_ns();
    cache_flush_all_locked();
    heap_in_use_locked(&cycle->heap_before, &cycle->objects_before);
    mark_heap(segments, n, &cycle->mark);
    uint64_t kept_bytes, kept_objects;
    cycle->finalizers_queued = finalizers_queue_unreachable(&kept_bytes, &kept_objects);
    cycle->mark.marked_bytes += kept_bytes;
    cycle->mark.marked_objects += kept_objects;
    cycle->marked_ns = now_ns();
    sweep_prepare();
    store_relaxed(&heap_live, (int64_t)cycle->mark.marked_bytes);
    set_goal(cycle->mark.marked_bytes);
}

static void trace(const struct cycle *cycle, uint64_t pause_ns, uint64_t end_ns)
{
    double since_start = (double)(end_ns - start_ns) / 1e9;
    double fraction = end_ns > start_ns ? 100.0 * (double)totals.pause_total_ns / (double)(end_ns - start_ns) : 0;
    uint64_t freed = cycle->objects_before > cycle->mark.marked_objects
                         ? cycle->objects_before - cycle->mark.marked_objects
                         : 0;
    char goal[32];
    if (totals.next_gc == UINT64_MAX)
        snprintf(goal, sizeof goal, "off");
    else
        snprintf(goal, sizeof goal, "%.1f MiB", (double)totals.next_gc / 1048576.0);
    write_stderr("gc %llu @%.3fs %.0f%%: pause %.3f ms (mark %.3f ms, %u threads), "
                 "heap %.1f->%.1f MiB goal %s, %llu objects freed, %zu finalizers queued\n",
                 (unsigned long long)totals.num_gc, since_start, fraction, (double)pause_ns / 1e6,
                 (double)(cycle->marked_ns - cycle->stopped_ns) / 1e6, cycle->mark.workers,
                 (double)cycle->heap_before / 1048576.0, (double)cycle->mark.marked_bytes / 1048576.0, goal,
                 (unsigned long long)freed, cycle->finalizers_queued);
}

void gc_collect(enum gc_reason reason, size_t upcoming_bytes)
{
    runtime_ensure_init();
    /* This thread may sweep below without gc_lock, and another thread's
     * collection may then stop the world: only a registered thread is
     * stopped (after its busy stretch) rather than left sweeping while that
     * collection flips the sweep phases. (ThreadSanitizer saw the race: a
     * thread that only ever called mgc_collect, never registered, sweeping
     * in heap_sweep_one_large while another flipped heap.large_phase.) */
    bool may_sweep = thread_ensure_registered();
    uint64_t seen = __atomic_load_n(&cycles_started, __ATOMIC_ACQUIRE);
    if (reason == GC_EXPLICIT) {
        lock_stoppable(&gc_lock);
    } else if (pthread_mutex_trylock(&gc_lock) != 0) {
        return; /* another thread is collecting; it will stop this one too */
    }
    /* A cycle that started after we asked (and, since we hold the lock now,
     * has ended) did what we wanted. */
    bool done_already = __atomic_load_n(&cycles_started, __ATOMIC_ACQUIRE) != seen;
    if (!done_already && reason == GC_AUTOMATIC && !gc_should_start(upcoming_bytes))
        done_already = true;
    if (done_already) {
        pthread_mutex_unlock(&gc_lock);
        if (reason == GC_EXPLICIT && may_sweep) {
            busy_begin();
            sweep_finish();
            busy_end();
        }
        return;
    }
    __atomic_add_fetch(&cycles_started, 1, __ATOMIC_RELEASE);

    busy_begin();
    sweep_finish();
    busy_end();

    mark_start_helpers();
    struct cycle cycle = {0};
    uint64_t begin_ns = now_ns();
    bool collected = roots_with_world_stopped(with_world_stopped, &cycle);
    uint64_t end_ns = now_ns();
    if (!collected) {
        write_stderr("mgc: collection abandoned: no memory to record the roots\n");
        pthread_mutex_unlock(&gc_lock);
        return;
    }
    uint64_t pause_ns = end_ns - begin_ns;
    totals.num_gc++;
    totals.pause_total_ns += pause_ns;
    totals.last_pause_ns = pause_ns;
    if (pause_ns > totals.max_pause_ns)
        totals.max_pause_ns = pause_ns;
    if (debug.gctrace)
        trace(&cycle, pause_ns, end_ns);
    sweep_wake_background();
    pthread_mutex_unlock(&gc_lock);
    if (cycle.finalizers_queued)
        finalizers_wake();

    if (reason != GC_AUTOMATIC && may_sweep) {
        busy_begin();
        sweep_finish();
        busy_end();
        gc_sweep_done();
    }
}

void gc_sweep_done(void)
{
    /* Busy: a thread stopped while it holds the heap lock would stall the
     * collector that stopped it. */
    busy_begin();
    if (sweep_remaining() == 0)
        heap_release_excess();
    busy_end();
}

/* ---- Public control ---------------------------------------------------------------------------- */

void mgc_collect(void)
{
    gc_collect(GC_EXPLICIT, 0);
}

int mgc_set_gc_percent(int percent)
{
    runtime_ensure_init();
    lock_stoppable(&gc_lock);
    int previous = gc_percent;
    store_relaxed(&gc_percent, percent < 0 ? -1 : percent);
    set_goal(totals.heap_marked);
    pthread_mutex_unlock(&gc_lock);
    return previous;
}

size_t mgc_set_memory_limit(size_t bytes)
{
    runtime_ensure_init();
    lock_stoppable(&gc_lock);
    size_t previous = memory_limit;
    store_relaxed(&memory_limit, bytes);
    set_goal(totals.heap_marked);
    pthread_mutex_unlock(&gc_lock);
    return previous;
}

void gc_read_stats(struct mgc_stats *out)
{
    lock_stoppable(&gc_lock);
    out->next_gc = totals.next_gc;
    out->num_gc = totals.num_gc;
    out->pause_total_ns = totals.pause_total_ns;
    out->last_pause_ns = totals.last_pause_ns;
    out->max_pause_ns = totals.max_pause_ns;
    pthread_mutex_unlock(&gc_lock);
}

/* ---- Environment ------------------------------------------------------------------------------ */

static void parse_gc_percent(const char *text)
{
    if (strcmp(text, "off") == 0) {
        gc_percent = -1;
        return;
    }
    char *end;
    long n = strtol(text, &end, 10);
    if (!*text || *end || n < -1 || n > 1000000) {
        write_stderr("mgc: MGC_GCPERCENT: bad value \"%s\" (expected a number or off); using 100\n", text);
        return;
    }
    gc_percent = (int)n;
}

static void parse_memory_limit(const char *text)
{
    static const struct {
        const char *suffix;
        unsigned shift;
    } units[] = {{"", 0}, {"B", 0}, {"KiB", 10}, {"MiB", 20}, {"GiB", 30}, {"TiB", 40}};
    char *end;
    unsigned long long n = strtoull(text, &end, 10);
    if (end == text || *text == '-') {
        write_stderr("mgc: MGC_MEMLIMIT: bad value \"%s\" (expected N[KiB|MiB|GiB]); no limit\n", text);
        return;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(end, units[i].suffix) == 0) {
            if (n > (SIZE_MAX >> units[i].shift)) {
                memory_limit = SIZE_MAX;
                return;
            }
            memory_limit = (size_t)n << units[i].shift;
            return;
        }
    }
    write_stderr("mgc: MGC_MEMLIMIT: bad value \"%s\" (expected N[KiB|MiB|GiB]); no limit\n", text);
}

void gc_init(void)
{
    start_ns = now_ns();
    const char *percent = getenv("MGC_GCPERCENT");
    if (percent)
        parse_gc_percent(percent);
    const char *limit = getenv("MGC_MEMLIMIT");
    if (limit)
        parse_memory_limit(limit);
    set_goal(0);
}

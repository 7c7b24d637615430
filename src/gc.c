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
 *   5. clear short weak links to objects not reached (weak.c), queue the
 *      finalizers of objects not reached (finalize.c), then clear long
 *      weak links to objects still unmarked and forget registrations
 *      whose link word lies in an unmarked object (weak.c);
 *   6. flip the sweep phase: every span in use becomes unswept (and, with
 *      MGC_DEBUG=verify=1, check the heap's invariants, verify.c);
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
#include "weak.h"

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

static mgc_event_fn event_hook;

mgc_event_fn mgc_set_event_hook(mgc_event_fn fn)
{
    return __atomic_exchange_n(&event_hook, fn, __ATOMIC_ACQ_REL);
}

static void send_event(int event)
{
    mgc_event_fn fn = __atomic_load_n(&event_hook, __ATOMIC_ACQUIRE);
    if (fn)
        fn(event);
}

struct cycle {
    uint64_t stopped_ns, marked_ns;
    uint64_t heap_before, objects_before;
    struct mark_result mark;
    size_t finalizers_queued;
};

static void with_world_stopped(const struct root_range *segments, size_t n, void *arg)
{
    struct cycle *cycle = arg;
    cycle->stopped_ns = now_ns();
    cache_flush_all_locked();
    stats_heap_in_use_locked(&cycle->heap_before, &cycle->objects_before);
    send_event(MGC_EVENT_MARK_START);
    mark_heap(segments, n, &cycle->mark);
    weak_links_clear_short();
    uint64_t kept_bytes, kept_objects;
    cycle->finalizers_queued = finalizers_queue_unreachable(&kept_bytes, &kept_objects);
    cycle->mark.marked_bytes += kept_bytes;
    cycle->mark.marked_objects += kept_objects;
    weak_links_clear_long_and_dead();
    send_event(MGC_EVENT_MARK_END);
    cycle->marked_ns = now_ns();
    sweep_prepare();
    /* Marking is done and the phase flipped, the world still stopped: no
     * thread is inside the allocator, every cache's spans are back on their
     * lists, and sweeping of the last cycle finished before the stop, so
     * every invariant holds exactly and the counters can be recounted. */
    if (unlikely(debug.verify))
        verify_heap();
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

static void collect(enum gc_reason reason, size_t upcoming_bytes)
{
    /* This thread may sweep below without gc_lock, and another thread's
     * collection may then stop the world: only a registered thread is
     * stopped (after its busy stretch) rather than left sweeping while that
     * collection flips the sweep phases (gc_collect registered it if it
     * could). ThreadSanitizer saw the race: a thread that only ever called
     * mgc_collect, never registered, sweeping in heap_sweep_one_large while
     * another flipped heap.large_phase. */
    bool may_sweep = mgc_tls.record != NULL;
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
    send_event(MGC_EVENT_START);

    busy_begin();
    sweep_finish();
    busy_end();

    mark_start_helpers();
    struct cycle cycle = {0};
    uint64_t begin_ns = now_ns();
    /* Only now, holding the lock: a thread that merely waits for it must
     * stay stoppable by the one collecting. */
    sigset_t signals;
    collector_hold_signals(true, &signals);
    bool collected = roots_with_world_stopped(with_world_stopped, &cycle);
    collector_hold_signals(false, &signals);
    uint64_t end_ns = now_ns();
    if (!collected) {
        write_stderr("mgc: collection abandoned: no memory to record the roots\n");
        send_event(MGC_EVENT_END);
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
    send_event(MGC_EVENT_END);
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

struct collect_request {
    enum gc_reason reason;
    size_t upcoming_bytes;
};

static void collect_with_registers_spilled(uintptr_t low, uintptr_t high, void *arg)
{
    (void)high;
    const struct collect_request *request = arg;
    collector_record_stacks(low);
    collect(request->reason, request->upcoming_bytes);
}

/*
 * The collecting thread's stack is a root from this frame up, where every
 * register of its callers is spilled and every live value of theirs lies;
 * the frames of the collection itself, below, are not. No cancellation
 * point inside may end the thread: it would die holding the collection's
 * locks with the world stopped. No handler of the program's runs on it
 * while the world is stopped (world.c, collector_hold_signals). On the way out, the frames the collection
 * used are overwritten (world.c, stack_clear_below).
 */
NOINLINE NO_REDZONES void gc_collect(enum gc_reason reason, size_t upcoming_bytes)
{
    runtime_ensure_init();
    thread_ensure_registered(); /* if it fails, its stack just is not scanned */
    int cancel_state;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
    struct collect_request request = {reason, upcoming_bytes};
    with_registers_spilled(collect_with_registers_spilled, &request);
    pthread_setcancelstate(cancel_state, NULL);
    stack_clear_below(STACK_CLEAR_BYTES);
}

void gc_verify_heap_now(void)
{
    runtime_ensure_init();
    pthread_mutex_lock(&gc_lock);
    pthread_mutex_lock(&threads_lock);
    world_stop();
    cache_flush_all_locked();
    verify_heap();
    world_start();
    pthread_mutex_unlock(&threads_lock);
    pthread_mutex_unlock(&gc_lock);
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

/* A registered thread is stopped only once it leaves its busy stretch
 * (busy_end), so a collection that starts while fn runs waits for it, and
 * other threads may do the same meanwhile. A thread that cannot be
 * registered (out of memory) would not be stopped at all: it holds the
 * collection lock instead, which no collection runs without. */
static __thread bool holds_gc_lock_for_call;

static void unlock_gc(void *unused)
{
    (void)unused;
    holds_gc_lock_for_call = false;
    pthread_mutex_unlock(&gc_lock);
}

void *mgc_call_without_collection(void *(*fn)(void *arg), void *arg)
{
    runtime_ensure_init();
    if (mgc_tls.busy || holds_gc_lock_for_call)
        return fn(arg); /* nested */
    if (thread_ensure_registered()) {
        busy_begin();
        void *result = fn(arg);
        return busy_end_returning(result);
    }
    void *result;
    pthread_mutex_lock(&gc_lock);
    holds_gc_lock_for_call = true;
    pthread_cleanup_push(unlock_gc, NULL); /* fn may be cancelled */
    result = fn(arg);
    pthread_cleanup_pop(1);
    return result;
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

/* Environment values are parsed strictly (parse_decimal): a sign, a space
 * or a stray character makes the value bad, reported once, and the default
 * stays. */
static void parse_gc_percent(const char *text)
{
    uint64_t n;
    if (strcmp(text, "off") == 0 || strcmp(text, "-1") == 0)
        gc_percent = -1;
    else if (parse_decimal(text, strlen(text), 1000000, &n))
        gc_percent = (int)n;
    else
        write_stderr("mgc: MGC_GCPERCENT: bad value \"%s\" (expected 0 to 1000000, or off); using 100\n", text);
}

static void parse_memory_limit(const char *text)
{
    static const struct {
        const char *suffix;
        unsigned shift;
    } units[] = {{"B", 0}, {"KiB", 10}, {"MiB", 20}, {"GiB", 30}, {"TiB", 40}};
    size_t digits = strspn(text, "0123456789");
    const char *unit = text + digits;
    unsigned shift = 0;
    bool known_unit = *unit == 0;
    for (size_t i = 0; i < sizeof units / sizeof units[0] && !known_unit; i++)
        if (strcmp(unit, units[i].suffix) == 0) {
            shift = units[i].shift;
            known_unit = true;
        }
    uint64_t n;
    if (!known_unit || !parse_decimal(text, digits, UINT64_MAX >> shift, &n) || (n << shift) > SIZE_MAX) {
        write_stderr("mgc: MGC_MEMLIMIT: bad value \"%s\" (expected digits, then nothing, B, KiB, MiB, GiB "
                     "or TiB, under 2^64 bytes); no limit\n", text);
        return;
    }
    memory_limit = (size_t)(n << shift);
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

/*
 * sweep.c: turning unmarked objects back into free slots.
 *
 * When marking ends, every in-use span of a collectable class becomes
 * unswept (sweep_prepare flips the central lists' phase; no span is touched).
 * A span is then swept exactly once, by whoever takes it off its unswept list
 * first: a cache that needs a span of that class (central_acquire), a thread
 * about to grow the heap (sweep_finish), the background sweeper, or the next
 * collection before it marks (sweep_finish again).
 *
 * Sweeping a small span keeps the allocation bits of marked objects and
 * clears the rest; the freed slots still hold their old bytes, so the span
 * is flagged needs_zero and zeroed before a cache allocates from it. A tiny
 * block is one slot: it is freed only when nothing pointed into any of its
 * bytes. A large span is kept if marked and given back to the page heap if
 * not. Uncollectable spans are never swept.
 *
 * The background sweeper, on an otherwise idle core, zeroes what it frees:
 * the free slots of the small spans it sweeps (a span it leaves empty is
 * then all zero, and its pages go back clean), and a dead large object of
 * up to 1 MiB. The thread that reuses that memory then skips the memset.
 */
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "memcheck.h"

static uint64_t swept_frees, swept_freed_bytes;

/* A span being swept is on no list: only its sweeper knows of it. A fork()
 * then would leave it to no one in the child, never filed again and, its
 * marks never cleared, its objects never scanned again. So sweepers hold
 * this gate, shared, while they hold such a span, and the fork handler
 * takes it exclusive. Writers first: a fork waits for the sweeps under way,
 * not for every sweep to come (and so no sweeper may take it twice). */
#define SWEEP_GATE_INITIALIZER PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP
static pthread_rwlock_t sweep_gate = SWEEP_GATE_INITIALIZER;
static size_t unswept_remaining;      /* spans still to sweep this cycle */
static unsigned sweep_cursor;         /* where sweep_one looks first */

static void *background_sweeper(void *unused);
static struct service_thread sweeper = SERVICE_THREAD_INIT("mgc-sweep", background_sweeper);

void sweep_read_counters(uint64_t *frees, uint64_t *freed_bytes)
{
    *frees = __atomic_load_n(&swept_frees, __ATOMIC_RELAXED);
    *freed_bytes = __atomic_load_n(&swept_freed_bytes, __ATOMIC_RELAXED);
}

static void count_swept(uint64_t objects, uint64_t bytes)
{
    __atomic_fetch_add(&swept_frees, objects, __ATOMIC_RELAXED);
    __atomic_fetch_add(&swept_freed_bytes, bytes, __ATOMIC_RELAXED);
}

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "marks_to_bits reads mark bytes eight at a time, as a little-endian word"
#endif

/* The marks of 64 slots as a bitmap word. Mark bytes are 0 or 1, so
 * multiplying eight of them, read as one word, by this constant gathers
 * them into its top byte in order: byte j lands on bit 56 + j, and no two
 * partial products share a bit, so nothing carries. */
static inline uint64_t marks_to_bits(const uint8_t *marks)
{
    uint64_t bits = 0;
    for (int i = 0; i < 8; i++) {
        uint64_t eight;
        memcpy(&eight, marks + 8 * i, sizeof eight);
        bits |= ((eight * UINT64_C(0x0102040810204080)) >> 56) << (8 * i);
    }
    return bits;
}

void sweep_span(struct span *s)
{
    size_t nwords = bitmap_words(s->nelems);
    uint64_t freed = 0;
    /* No marking runs while a span is swept: the marks are plain reads. */
    for (size_t w = 0; w < nwords; w++) {
        uint64_t alloc = load_relaxed64(&s->alloc_bits[w]);
        uint64_t mark = marks_to_bits(s->mark_bytes + 64 * w);
        freed += (uint64_t)count_bits(alloc & ~mark);
        store_relaxed64(&s->alloc_bits[w], alloc & mark);
        memcheck_slots_no_access(s, w, alloc & ~mark);
        if (unlikely(debug.poison))
            for (uint64_t dead = alloc & ~mark; dead; dead &= dead - 1)
                poison_fill((void *)(s->start + (w * 64 + (size_t)__builtin_ctzll(dead)) * s->elem_size),
                            s->elem_size);
    }
    memset(s->mark_bytes, 0, 64 * nwords);
    if (freed) {
        s->needs_zero = true;
        count_swept(freed, freed * s->elem_size);
    }
}

void sweep_count_done(size_t spans)
{
    /* Release: whoever sees the count reach 0 sees the spans filed. */
    __atomic_fetch_sub(&unswept_remaining, spans, __ATOMIC_RELEASE);
}

void sweep_prepare(void)
{
    size_t spans = central_flip_phase() + heap_flip_large_phase();
    __atomic_store_n(&unswept_remaining, spans, __ATOMIC_RELAXED);
}

bool sweep_gate_try_enter(void)
{
    return pthread_rwlock_tryrdlock(&sweep_gate) == 0;
}

void sweep_gate_leave(void)
{
    pthread_rwlock_unlock(&sweep_gate);
}

void sweep_block_for_fork(void)
{
    pthread_rwlock_wrlock(&sweep_gate);
}

void sweep_unblock_after_fork(bool in_child)
{
    static const pthread_rwlock_t fresh_gate = SWEEP_GATE_INITIALIZER;
    if (in_child)
        sweep_gate = fresh_gate;
    else
        pthread_rwlock_unlock(&sweep_gate);
}

/* sweep_one_large, the caller inside the gate. */
static bool sweep_one_large_gated(uint64_t *freed_bytes, bool zero_dead)
{
    if (!heap_sweep_one_large(freed_bytes, zero_dead))
        return false;
    sweep_count_done(1);
    if (*freed_bytes)
        count_swept(1, *freed_bytes);
    return true;
}

bool sweep_one_large(uint64_t *freed_bytes, bool zero_dead)
{
    pthread_rwlock_rdlock(&sweep_gate);
    bool swept = sweep_one_large_gated(freed_bytes, zero_dead);
    pthread_rwlock_unlock(&sweep_gate);
    return swept;
}

/* sweep_one_busy, the caller inside the gate. */
static bool sweep_one_busy_gated(bool zero_dead)
{
    unsigned start = __atomic_load_n(&sweep_cursor, __ATOMIC_RELAXED);
    for (unsigned i = 0; i < NUM_CACHED_CLASSES; i++) {
        unsigned span_class = (start + i) % NUM_CACHED_CLASSES;
        struct span *spans[SWEEP_BATCH];
        size_t max = SWEEP_BATCH;
        if (zero_dead) {
            size_t pages = class_to_pages[span_class_size_class(span_class)];
            if (max * pages > ZERO_DEAD_MAX_PAGES)
                max = ZERO_DEAD_MAX_PAGES / pages;
        }
        size_t n = central_take_unswept(span_class, spans, max);
        if (n) {
            __atomic_store_n(&sweep_cursor, span_class, __ATOMIC_RELAXED);
            for (size_t k = 0; k < n; k++) {
                sweep_span(spans[k]);
                if (zero_dead && spans[k]->needs_zero)
                    span_zero_free_slots(spans[k]);
            }
            central_settle_swept(spans, n);
            sweep_count_done(n);
            return true;
        }
    }
    uint64_t freed_bytes;
    return sweep_one_large_gated(&freed_bytes, zero_dead);
}

/* Sweep a batch of unswept spans of one class, or one large object; false
 * when nothing is left. The caller is busy. zero_dead: the caller is the
 * background sweeper, which zeroes what it frees (see above). A span's free
 * slots are zeroed while the sweeper still holds it: nobody allocates from
 * it meanwhile, and frees by others wait in its freed bitmap. */
static bool sweep_one_busy(bool zero_dead)
{
    if (__atomic_load_n(&unswept_remaining, __ATOMIC_RELAXED) == 0)
        return false;
    pthread_rwlock_rdlock(&sweep_gate);
    bool swept = sweep_one_busy_gated(zero_dead);
    pthread_rwlock_unlock(&sweep_gate);
    return swept;
}

/* Sweep a batch, or one large object, in a busy stretch of its own; false
 * when nothing is left. */
static bool sweep_one(bool zero_dead)
{
    busy_begin();
    bool swept = sweep_one_busy(zero_dead);
    busy_end();
    return swept;
}

void sweep_finish(void)
{
    while (sweep_one_busy(false)) {
    }
    /* Other sweepers may still hold spans they took: wait until they let go
     * of the gate, so that on return every span of the cycle is swept and
     * filed (mgc_collect's statistics count every free, and a heap about to
     * grow has reclaimed all it can). */
    pthread_rwlock_wrlock(&sweep_gate);
    pthread_rwlock_unlock(&sweep_gate);
}

size_t sweep_remaining(void)
{
    return __atomic_load_n(&unswept_remaining, __ATOMIC_ACQUIRE);
}

/* The background sweeper: a registered thread (so that it is stopped for
 * marking), at the lowest priority, sweeping one batch per busy stretch.
 * Its stack and registers are not roots: it never holds a program's
 * object, only addresses of spans and slots it swept, and scanning those
 * would keep whatever objects happen to sit there alive, with everything
 * they reach. */
static void *background_sweeper(void *unused)
{
    (void)unused;
    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19);
    if (!thread_ensure_registered())
        return NULL;
    mgc_tls.record->holds_no_roots = true;
    uint64_t seen = 0;
    for (;;) {
        while (sweep_one(true)) {
        }
        gc_sweep_done();
        service_wait(&sweeper, &seen);
    }
    return NULL;
}

void sweep_wake_background(void)
{
    service_wake(&sweeper, true);
}

void sweep_after_fork_child(void)
{
    /* The sweeper thread did not survive the fork. */
    service_after_fork_child(&sweeper);
}

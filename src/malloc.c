/*
 * malloc.c: the allocation entry points and their fast paths.
 *
 * Three paths, fastest first:
 *
 *   tiny   noscan requests under 16 bytes bump tiny_offset inside the
 *          thread's current 16-byte block, aligned to 8, 4 or 2 by size
 *          (the 2014 seed's rule). The cache keeps (block, offset), never a
 *          pointer past the block (the 2015 seed's fix). When the request
 *          does not fit, a new block is taken from the tiny span class's
 *          window (still on the fast path), and whichever of the old and
 *          new block has more room left stays current.
 *   small  up to 32 KiB: take the lowest set bit of the size class's window
 *          (see cache.c), set the matching allocation bit, done.
 *   slow   everything else, in alloc_slow: first use, size 0, empty windows,
 *          large objects, uncollectable objects, MGC_DEBUG=efence and
 *          poison (whose windows are never loaded, see poison.c).
 *
 * The fast paths take no lock, make no call and use no atomic
 * read-modify-write. They need not zero: a free slot always reads as zero
 * (span.c), and the tiny allocator only hands out bytes of a block that was
 * zero when it was taken. They are busy stretches (world.c): the collector
 * never stops a thread half way through one.
 *
 * The slow path asks for a collection, when the pacer wants one, before it
 * allocates and outside any busy stretch; and when the memory limit refused
 * to grow the heap, it collects once and tries again before giving up.
 */
#include "mgc_internal.h"

uint64_t zero_size_object[2] __attribute__((aligned(16)));

static inline void counter_add(uint64_t *counter, uint64_t n)
{
    store_relaxed(counter, load_relaxed(counter) + n);
}

/* Take the lowest free slot of a non-empty window. The allocation bit is
 * set at once, so that a free from another thread can tell an allocated
 * object from a free slot. */
static inline void *take_from_window(struct alloc_slot *slot, uint64_t window)
{
    uint64_t bit = window & (0 - window);
    store_relaxed64(slot->alloc_word, load_relaxed64(slot->alloc_word) | bit);
    store_relaxed(&slot->window, window ^ bit);
    return (void *)(slot->window_base + (uintptr_t)__builtin_ctzll(window) * slot->elem_size);
}

/* Offset of a tiny request of size bytes (1..15) in a block whose first
 * free byte is at offset: aligned to 8, 4 or 2 by what divides size. Below
 * 16, the lowest set bit of size is exactly that alignment. */
static inline size_t tiny_aligned_offset(size_t offset, size_t size)
{
    size_t mask = (size & (0 - size)) - 1;
    return (offset + mask) & ~mask;
}

/* Start a new tiny block for a request of size bytes that did not fit the
 * current one, from a non-empty window of the tiny span class. Whichever of
 * the old and new block has more room left stays current. */
static inline void *tiny_take_block(struct cache *c, struct alloc_slot *slot, uint64_t window, size_t size)
{
    void *block = take_from_window(slot, window);
    if (size < c->tiny_offset) {
        c->tiny_block = (uintptr_t)block;
        c->tiny_offset = size;
    }
    return block;
}

/* ---- Slow paths ------------------------------------------------------------------------ */

static void *large_alloc(struct cache *c, size_t size, unsigned flags)
{
    if (size > ((size_t)1 << ADDRESS_BITS)) {
        errno = ENOMEM;
        return NULL;
    }
    size_t npages = (size + PAGE_SIZE - 1) >> PAGE_SHIFT;
    unsigned span_class = make_span_class(0, flags & MGC_NOSCAN, flags & MGC_UNCOLLECTABLE);
    struct span *s = heap_alloc_span(npages, span_class, flags & MGC_NOZERO, false);
    /* Before the heap grows, reclaim what sweeping can: dead large objects
     * one at a time, trying again after each that gave pages back, so that
     * the rest are left to the background sweeper, which zeroes what it
     * frees (this thread then need not); then everything. */
    uint64_t freed_bytes;
    while (!s && sweep_one_large(&freed_bytes, false))
        if (freed_bytes)
            s = heap_alloc_span(npages, span_class, flags & MGC_NOZERO, false);
    if (!s && !mgc_tls.memory_limit_hit) {
        sweep_finish();
        s = heap_alloc_span(npages, span_class, flags & MGC_NOZERO, true);
    }
    if (!s)
        return NULL;
    store_relaxed64(&s->alloc_bits[0], 1);
    counter_add(&c->other_allocs, 1);
    counter_add(&c->other_alloc_bytes, span_bytes(s));
    heap_live_add((int64_t)span_bytes(s));
    return (void *)s->start;
}

static void *uncollectable_small_alloc(struct cache *c, size_t size, unsigned flags)
{
    unsigned size_class = size_to_class(size);
    void *p = central_alloc_object(make_span_class(size_class, flags & MGC_NOSCAN, true));
    if (!p)
        return NULL;
    counter_add(&c->other_allocs, 1);
    counter_add(&c->other_alloc_bytes, class_to_size[size_class]);
    return p;
}

/* MGC_DEBUG=poison=1 (poison.c): one small object at a time, its span
 * taken from the central list and given straight back, so that no window
 * is ever loaded and the fast paths always come here. The slot's pattern
 * is checked before it is zeroed and handed out. */
static void *poison_small_alloc(struct cache *c, unsigned span_class)
{
    struct span *s = central_acquire(span_class, c);
    if (!s)
        return NULL;
    uintptr_t p = 0;
    for (size_t w = 0; w < bitmap_words(s->nelems) && !p; w++) {
        uint64_t free_bits = ~load_relaxed64(&s->alloc_bits[w]) & span_word_mask(s, w);
        if (free_bits) {
            store_relaxed64(&s->alloc_bits[w], load_relaxed64(&s->alloc_bits[w]) | (free_bits & (0 - free_bits)));
            p = s->start + (w * 64 + (size_t)__builtin_ctzll(free_bits)) * (uintptr_t)s->elem_size;
        }
    }
    if (p) {
        poison_check_slot(s, p);
        memset((void *)p, 0, s->elem_size);
        counter_add(&c->other_allocs, 1);
        counter_add(&c->other_alloc_bytes, s->elem_size);
    }
    central_release(s);
    return (void *)p;
}

static void *tiny_alloc(struct cache *c, size_t size)
{
    size_t offset = tiny_aligned_offset(c->tiny_offset, size);
    if (offset + size <= TINY_SIZE) {
        c->tiny_offset = offset + size;
        counter_add(&c->tiny_allocs, 1);
        return (void *)(c->tiny_block + offset);
    }
    struct alloc_slot *slot = &c->slots[SPAN_CLASS_TINY];
    if (!slot->window && !cache_refill(c, SPAN_CLASS_TINY))
        return NULL;
    return tiny_take_block(c, slot, slot->window, size);
}

/* The allocation itself; the caller is busy. */
static void *allocate_busy(struct cache *c, size_t size, unsigned flags)
{
    if (unlikely(debug.efence))
        return large_alloc(c, size, flags);
    if (size > MAX_SMALL_SIZE)
        return large_alloc(c, size, flags);
    if (flags & MGC_UNCOLLECTABLE)
        return uncollectable_small_alloc(c, size, flags);
    unsigned noscan = flags & MGC_NOSCAN;
    if (unlikely(debug.poison))
        return poison_small_alloc(c, size_to_class(size) * 2 + (noscan ? 1 : 0));
    if (noscan && size - 1 < c->tiny_max)
        return tiny_alloc(c, size);
    unsigned span_class = size_to_class(size) * 2 + noscan;
    struct alloc_slot *slot = &c->slots[span_class];
    if (!slot->window && !cache_refill(c, span_class))
        return NULL;
    return take_from_window(slot, slot->window);
}

static NOINLINE void *alloc_slow(size_t size, unsigned flags)
{
    struct cache *c = cache_get();
    if (!c)
        return NULL;
    if (size == 0)
        return zero_size_object;
    /* Half the address space or more can never be had: fail at once, not
     * after a collection that cannot help. */
    if (unlikely(size >= ((size_t)1 << (ADDRESS_BITS - 1)))) {
        errno = ENOMEM;
        return NULL;
    }
    if (unlikely(debug.collectevery) && ++mgc_tls.slow_allocations % (unsigned)debug.collectevery == 0)
        gc_collect(GC_FORCED, 0);
    else if (gc_should_start(size))
        gc_collect(GC_AUTOMATIC, size);
    mgc_tls.memory_limit_hit = 0;
    busy_begin();
    void *p = busy_end_returning(allocate_busy(c, size, flags));
    if (unlikely(!p) && mgc_tls.memory_limit_hit) {
        gc_collect(GC_MEMORY_LIMIT, 0);
        mgc_tls.memory_limit_hit = 0;
        busy_begin();
        p = busy_end_returning(allocate_busy(c, size, flags));
        if (!p)
            errno = ENOMEM;
    }
    return p;
}

/* The fast path found its window empty: leave the busy stretch here, so
 * that the entry points reach the slow path by a tail call and need no
 * stack frame of their own. */
static NOINLINE void *alloc_slow_from_busy(size_t size, unsigned flags)
{
    busy_end();
    return alloc_slow(size, flags);
}

/* ---- Entry points ------------------------------------------------------------------------ */

void *mgc_alloc(size_t size)
{
    if (likely(size <= MAX_SMALL_SIZE)) {
        busy_begin();
        struct alloc_slot *slot = &mgc_tls.cache->slots[size_to_class(size) * 2];
        uint64_t window = slot->window;
        if (likely(window != 0))
            return busy_end_returning(take_from_window(slot, window));
        return alloc_slow_from_busy(size, 0);
    }
    return alloc_slow(size, 0);
}

void *mgc_alloc_noscan(size_t size)
{
    busy_begin();
    struct cache *c = mgc_tls.cache;
    if (size - 1 < c->tiny_max) {
        size_t offset = tiny_aligned_offset(c->tiny_offset, size);
        if (likely(offset + size <= TINY_SIZE)) {
            c->tiny_offset = offset + size;
            counter_add(&c->tiny_allocs, 1);
            return busy_end_returning((void *)(c->tiny_block + offset));
        }
        /* The block is full: a new one is a small-object allocation from
         * the tiny span class, also without leaving the fast path. */
        struct alloc_slot *slot = &c->slots[SPAN_CLASS_TINY];
        uint64_t window = slot->window;
        if (likely(window != 0))
            return busy_end_returning(tiny_take_block(c, slot, window, size));
    } else if (likely(size <= MAX_SMALL_SIZE)) {
        struct alloc_slot *slot = &c->slots[size_to_class(size) * 2 + 1];
        uint64_t window = slot->window;
        if (likely(window != 0))
            return busy_end_returning(take_from_window(slot, window));
    }
    return alloc_slow_from_busy(size, MGC_NOSCAN);
}

void *mgc_alloc_flags(size_t size, unsigned flags)
{
    if ((flags & ~(MGC_NOSCAN | MGC_NOZERO | MGC_UNCOLLECTABLE)) ||
        ((flags & MGC_NOZERO) && !(flags & MGC_NOSCAN))) {
        errno = EINVAL;
        return NULL;
    }
    if (!(flags & MGC_UNCOLLECTABLE) && size <= MAX_SMALL_SIZE)
        return flags & MGC_NOSCAN ? mgc_alloc_noscan(size) : mgc_alloc(size);
    return alloc_slow(size, flags);
}

void *mgc_calloc(size_t n, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return mgc_alloc(total);
}

char *mgc_strdup(const char *s)
{
    if (!s) {
        errno = EINVAL;
        return NULL;
    }
    size_t length = strlen(s);
    char *copy = mgc_alloc_flags(length + 1, MGC_NOSCAN | MGC_NOZERO);
    if (copy)
        memcpy(copy, s, length + 1);
    return copy;
}

void *mgc_realloc(void *p, size_t size)
{
    if (!p)
        return mgc_alloc(size);
    if (p == (void *)zero_size_object) {
        if (size == 0)
            return NULL;
        return mgc_alloc(size);
    }
    /* p may come back in place, with no allocation to register the thread:
     * register it here, or it would hold p on a stack no collection reads. */
    if (!thread_ensure_registered()) {
        errno = ENOMEM;
        return NULL;
    }
    struct object_ref ref;
    enum object_status status = object_find((uintptr_t)p, &ref);
    if (status != OBJECT_START && status != OBJECT_IN_TINY_BLOCK)
        report_bad_pointer("realloc", p, object_status_text(status));
    if (size == 0) {
        mgc_free(p);
        return NULL;
    }
    bool tiny = status == OBJECT_IN_TINY_BLOCK;
    size_t old_size = tiny ? ref.base + TINY_SIZE - (uintptr_t)p : ref.size;
    /* Keep p when it has room, unless a large object would stay more than
     * half empty. A packed tiny object always moves: its own size is not
     * recorded anywhere, and the rest of its block may hold neighbours. */
    if (!tiny && size <= old_size && (!ref.span->large || size >= old_size / 2)) {
        /* What lies past the new size is no longer the program's: zero, so
         * that a later growth in place reads zeros past its old size. */
        memset((char *)p + size, 0, old_size - size);
        return p;
    }
    unsigned flags = (ref.span->noscan ? MGC_NOSCAN : 0) | (ref.span->uncollectable ? MGC_UNCOLLECTABLE : 0);
    void *q = mgc_alloc_flags(size, flags);
    if (!q)
        return NULL;
    /* A tiny q may be packed into p's own block, after p, within the bytes
     * copied: memmove. */
    memmove(q, p, size < old_size ? size : old_size);
    mgc_free(p); /* for a tiny object, only drops its finalizer */
    return q;
}

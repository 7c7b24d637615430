/*
 * fork.c: spans that another thread was handing over when the program
 * forked.
 *
 * The fork handlers (init.c) take every lock, but a thread between two
 * locks keeps going until the fork copies it mid-step: a cache that took a
 * span off its central list has set the span's owner but not yet put it in
 * its slot (hand_over zeroes a whole span in between); a span fresh from the
 * page heap is in use but on no list yet, and may be half zeroed; a span
 * that emptied is off its list on its way to the page heap; a large object
 * is on its list before its allocation bit is set. In the child, that
 * thread is gone, and such a span would stay orphaned for good: never swept
 * (a leak), and owned by a dead cache that the next new thread inherits,
 * whose mgc_free would then free into a span it does not hold.
 *
 * So the child walks every span in use once, after the dead threads'
 * caches gave back what their slots held, and files every orphan the way
 * its last holder would have: its free slots counted as dirty, since the
 * zeroing may have been cut short.
 *
 * The statistics count an allocation or a free a step before or after its
 * bitmap changes; one cut short by the fork would leave them off for good.
 * The bitmaps are the truth: the walk recounts them and corrects the totals.
 */
#include "mgc_internal.h"

/* Does a surviving cache hold s? Only the forking thread's survives. */
static bool held_by_survivor(const struct span *s)
{
    const struct cache *mine = mgc_tls.cache;
    return s->owner == mine && mine != &empty_cache && s->span_class < NUM_CACHED_CLASSES &&
           mine->slots[s->span_class].span == s;
}

static void adopt_if_orphaned(struct span *s)
{
    if (s->large) {
        /* Listed under the heap lock with the rest of heap_alloc_span; an
         * object whose allocation bit never got set was never handed out. */
        if (!(load_relaxed64(&s->alloc_bits[0]) & 1))
            heap_free_span(s);
        return;
    }
    bool listed = s->list == LIST_PARTIAL || s->list == LIST_FULL;
    if (held_by_survivor(s) || (s->owner == NULL && listed))
        return;
    store_relaxed(&s->owner, (struct cache *)NULL);
    s->needs_zero = true;
    /* Poison mode: a fill or check of the free slots may have been cut
     * short too; start them afresh. */
    if (debug.poison)
        for (size_t i = 0; i < s->nelems; i++)
            if (!bit_is_set(s->alloc_bits, i))
                poison_fill((void *)(s->start + i * (uintptr_t)s->elem_size), s->elem_size);
    central_release(s);
}

/* Objects and bytes allocated in s, as the statistics count them. */
static void count_allocated(const struct span *s, uint64_t *objects, uint64_t *bytes)
{
    size_t n = s->large ? (load_relaxed64(&s->alloc_bits[0]) & 1) : span_count_allocated(s);
    *objects += n;
    *bytes += s->large ? n * span_bytes(s) : n * s->elem_size;
}

/* threads_lock held. */
static void correct_statistics(uint64_t objects, uint64_t bytes)
{
    uint64_t counted_bytes, counted_objects;
    stats_heap_in_use_locked(&counted_bytes, &counted_objects);
    cache_correct_totals_locked((int64_t)(objects - counted_objects), (int64_t)(bytes - counted_bytes));
}

void fork_adopt_orphaned_spans(void)
{
    uint64_t objects = 0, bytes = 0;
    const uint16_t *table = load_relaxed(&arena_table);
    uintptr_t low, high;
    heap_bounds(&low, &high);
    for (uintptr_t block = low; table && block < high; block += ARENA_SIZE) {
        if (load_relaxed(&table[block >> ARENA_SHIFT]) != 1)
            continue;
        struct arena *a = (struct arena *)block;
        if (a->huge_span) {
            adopt_if_orphaned(a->huge_span);
            if (a->huge_span->state == SPAN_IN_USE)
                count_allocated(a->huge_span, &objects, &bytes);
            continue;
        }
        for (size_t p = ARENA_HEADER_PAGES; p < PAGES_PER_ARENA;) {
            struct span *s = a->spans[p];
            uintptr_t addr = block + (p << PAGE_SHIFT);
            if (!s || s->start != addr || s->npages == 0) {
                p++;
                continue;
            }
            /* Read the length first: adopting may free s, whose pages
             * then merge with their neighbours. */
            size_t npages = s->npages;
            if (s->state == SPAN_IN_USE)
                adopt_if_orphaned(s);
            if (s->state == SPAN_IN_USE)
                count_allocated(s, &objects, &bytes);
            p += npages;
        }
    }
    correct_statistics(objects, bytes);
}

/*
 * verify.c: MGC_DEBUG=verify=1, a check of every invariant the heap's parts
 * rely on, run with the world stopped at each collection (gc.c) and on
 * demand by tests.
 *
 * It runs where the state is settled: no thread is inside the allocator
 * (stopped threads never are, world.c), every cache has given its spans
 * back, so every small span in use sits on the central list its fields
 * name with no free pending in its freed bitmap, and the statistics the
 * counters give can be recounted exactly from the allocation bitmaps.
 *
 * The walk goes from the address map outwards: every arena's page -> span
 * entries are followed run by run, so each span in use and each free run
 * is met once, in address order, and the lists (central, free runs, large
 * objects, spans with finalizers) must then hold exactly the spans met.
 * A violation is reported as "mgc: verify: <what> at <address>" with the
 * span concerned, and the program aborts: a heap found broken must not go
 * on to lose data.
 */
#include <stdlib.h>

#include "mgc_internal.h"

/* What the walk of the map found, to compare with the lists and counters. */
struct tally {
    uint64_t bytes, objects;        /* allocated, as mgc_read_stats counts them */
    uint64_t inuse_bytes;           /* pages of spans in use */
    size_t small_spans, large_spans, free_runs, spans_with_specials;
};

static COLD __attribute__((noreturn)) void fail(const char *what, const struct span *s, uintptr_t where)
{
    if (s)
        write_stderr("mgc: verify: %s at %p (span %p: start %p, %zu pages, class %u, state %u, list %u/%u, "
                     "owner %p)\n",
                     what, (void *)where, (const void *)s, (void *)s->start, s->npages, (unsigned)s->span_class,
                     (unsigned)s->state, (unsigned)s->list, (unsigned)s->list_index, (void *)s->owner);
    else
        write_stderr("mgc: verify: %s at %p\n", what, (void *)where);
    abort();
}

/* ---- One span ----------------------------------------------------------------------------- */

static void check_class_and_shape(const struct span *s)
{
    if (s->span_class >= NUM_SPAN_CLASSES)
        fail("span class out of range", s, s->start);
    unsigned size_class = span_class_size_class(s->span_class);
    if (s->size_class != size_class || s->large != (size_class == 0) ||
        s->noscan != span_class_noscan(s->span_class) || s->tiny != (s->span_class == SPAN_CLASS_TINY) ||
        s->uncollectable != (s->span_class >= SPAN_CLASS_UNCOLLECTABLE_BASE))
        fail("span's flags disagree with its class", s, s->start);
    if (load_relaxed(&s->owner) != NULL)
        fail("span held by a cache or sweeper after every cache was flushed", s, s->start);
    if (s->large) {
        uint64_t bytes = span_bytes(s);
        if (s->nelems != 1 || s->limit != s->start + bytes || s->elem_size != (bytes > UINT32_MAX ? 0 : bytes))
            fail("large span's geometry is wrong", s, s->start);
        return;
    }
    if (s->elem_size != class_to_size[size_class] || s->npages != class_to_pages[size_class] ||
        s->nelems != span_bytes(s) / s->elem_size || s->limit != s->start + (uintptr_t)s->nelems * s->elem_size)
        fail("small span's geometry disagrees with its size class", s, s->start);
}

/* The contents of free slot i of small span s: zero, or the poison pattern. */
static void check_free_slot(const struct span *s, size_t i)
{
    uintptr_t slot = s->start + i * (uintptr_t)s->elem_size;
    if (debug.poison) {
        size_t k = poison_first_difference((const void *)slot, s->elem_size);
        if (k != s->elem_size)
            fail("free slot written after free (poison pattern changed)", s, slot + k);
    } else if (!s->needs_zero) {
        const unsigned char *b = (const unsigned char *)slot;
        for (size_t k = 0; k < s->elem_size; k++)
            if (b[k])
                fail("free slot of a span without needs_zero is not zero", s, slot + k);
    }
}

static void check_small_span(const struct span *s, struct tally *t)
{
    if (s->list != LIST_PARTIAL && s->list != LIST_FULL)
        fail("small span in use is on no central list", s, s->start);
    if (s->list_index > 1)
        fail("span's list index out of range", s, s->start);
    size_t nwords = bitmap_words(s->nelems), allocated = 0;
    for (size_t w = 0; w < nwords; w++) {
        uint64_t alloc = load_relaxed64(&s->alloc_bits[w]), mask = span_word_mask(s, w);
        if (alloc & ~mask)
            fail("allocation bit set beyond the span's last slot", s, s->start);
        if (load_relaxed64(&s->freed_bits[w]))
            fail("free pending in the freed bitmap of a span nobody holds", s,
                 s->start + (w * 64 + (size_t)__builtin_ctzll(load_relaxed64(&s->freed_bits[w]))) * s->elem_size);
        allocated += (size_t)count_bits(alloc);
        for (size_t i = w * 64; i < w * 64 + 64 && i < s->nelems; i++) {
            bool is_allocated = (alloc >> (i % 64)) & 1;
            if (!is_allocated && load_mark(&s->mark_bytes[i]))
                fail("free slot is marked", s, s->start + i * (uintptr_t)s->elem_size);
            if (!is_allocated)
                check_free_slot(s, i);
        }
    }
    if (allocated != s->allocated_count)
        fail("allocated_count disagrees with the allocation bitmap", s, s->start);
    if (allocated == 0)
        fail("empty span still in use", s, s->start);
    const struct central *c = &centrals[s->span_class];
    bool swept = s->list_index == c->phase;
    if (s->list == LIST_PARTIAL && allocated == s->nelems)
        fail("full span on a partial list", s, s->start);
    if (s->list == LIST_FULL && swept && allocated != s->nelems)
        fail("span with a free slot on a swept full list", s, s->start);
    if (!c->collectable && !swept)
        fail("uncollectable span on an unswept list", s, s->start);
    if (debug.poison && !s->needs_zero)
        fail("poison mode: span's free slots are poisoned but needs_zero is clear", s, s->start);
    t->small_spans++;
    t->objects += allocated;
    t->bytes += (uint64_t)allocated * s->elem_size;
}

static void check_large_span(const struct span *s, struct tally *t)
{
    if (s->list != LIST_LARGE)
        fail("large span in use is not on the large list", s, s->start);
    if (!s->uncollectable && s->list_index > 1)
        fail("span's list index out of range", s, s->start);
    if (load_relaxed64(&s->alloc_bits[0]) != 1)
        fail("large span in use does not hold exactly one allocated object", s, s->start);
    if (load_relaxed64(&s->freed_bits[0]))
        fail("free pending in the freed bitmap of a span nobody holds", s, s->start);
    t->large_spans++;
    t->objects++;
    t->bytes += span_bytes(s);
}

static void check_span_in_use(const struct span *s, struct tally *t)
{
    check_class_and_shape(s);
    if (s->large)
        check_large_span(s, t);
    else
        check_small_span(s, t);
    if (s->specials)
        t->spans_with_specials++;
    t->inuse_bytes += span_bytes(s);
}

/* ---- The address map ---------------------------------------------------------------------- */

static void check_huge(const struct arena *a, uintptr_t block, struct tally *t)
{
    const struct span *s = a->huge_span;
    if (s->start != block + (ARENA_HEADER_PAGES << PAGE_SHIFT) || load_relaxed(&s->state) != SPAN_IN_USE ||
        !s->large || s->npages <= ARENA_USABLE_PAGES)
        fail("huge reservation's span is not a huge object in use after the header", s, block);
    for (size_t p = ARENA_HEADER_PAGES; p < PAGES_PER_ARENA; p++)
        if (a->spans[p] != s)
            fail("page of a huge object maps to another span", a->spans[p], block + (p << PAGE_SHIFT));
    for (uintptr_t addr = s->start; addr < s->start + span_bytes(s); addr += ARENA_SIZE)
        if (span_map_entry(addr) != s)
            fail("block of a huge object does not lead back to it", s, addr);
    check_span_in_use(s, t);
}

/* Walk an arena's spans run by run: each entry met must start its span,
 * in-use spans map every page to themselves, free runs their two ends, and
 * no two free runs touch (freeing merges them). */
static void check_arena(const struct arena *a, uintptr_t block, struct tally *t)
{
    if (a->huge_span) {
        check_huge(a, block, t);
        return;
    }
    bool previous_free = false;
    for (size_t p = ARENA_HEADER_PAGES; p < PAGES_PER_ARENA;) {
        const struct span *s = a->spans[p];
        uintptr_t addr = block + (p << PAGE_SHIFT);
        if (!s) {
            p++; /* not grown into yet */
            previous_free = false;
            continue;
        }
        if (s->start != addr)
            fail("map entry names a span that does not start on its page", s, addr);
        if (s->npages == 0 || s->npages > PAGES_PER_ARENA - p)
            fail("span runs past the end of its arena", s, addr);
        switch (load_relaxed(&s->state)) {
        case SPAN_IN_USE:
            for (size_t i = 1; i < s->npages; i++)
                if (a->spans[p + i] != s)
                    fail("page of a span in use maps to another span", a->spans[p + i], addr + (i << PAGE_SHIFT));
            check_span_in_use(s, t);
            previous_free = false;
            break;
        case SPAN_FREE:
            if (a->spans[p + s->npages - 1] != s)
                fail("last page of a free run does not map to it", s, addr);
            if (s->list != LIST_FREE_PAGES)
                fail("free run is not on a free list", s, addr);
            if (previous_free)
                fail("two free runs touch (not merged)", s, addr);
            t->free_runs++;
            previous_free = true;
            break;
        case SPAN_DEAD:
            previous_free = false;
            break;
        default:
            fail("map entry names a span in no valid state", s, addr);
        }
        p += s->npages;
    }
}

/* ---- The lists ------------------------------------------------------------------------------ */

/* Walk list l: links both ways, count, and each span's own idea of where
 * it is. Returns how many spans it holds. */
static size_t check_list(const struct span_list *l, enum span_list_id id, int index, unsigned span_class,
                         bool check_class)
{
    size_t n = 0;
    const struct span *previous = NULL;
    for (const struct span *s = l->first; s; previous = s, s = s->next) {
        if (++n > l->count)
            fail("span list is longer than its count (a cycle?)", s, s->start);
        if (s->prev != previous)
            fail("span list's back link is broken", s, s->start);
        if (s->list != id || (index >= 0 && s->list_index != index))
            fail("span is on another list than its list/list_index fields say", s, s->start);
        if (check_class && s->span_class != span_class)
            fail("span on the central list of another class", s, s->start);
        enum span_state want = id == LIST_FREE_PAGES ? SPAN_FREE : SPAN_IN_USE;
        if (load_relaxed(&s->state) != want)
            fail("span on a list is in the wrong state for it", s, s->start);
        if (span_map_entry(s->start) != s)
            fail("span on a list is not in the address map", s, s->start);
    }
    if (l->last != previous || l->count != n)
        fail("span list's last link or count is wrong", previous, previous ? previous->start : 0);
    return n;
}

static size_t check_central_lists(void)
{
    size_t listed = 0;
    for (unsigned i = 0; i < NUM_SPAN_CLASSES; i++) {
        const struct central *c = &centrals[i];
        if (c->collectable != (i < SPAN_CLASS_UNCOLLECTABLE_BASE))
            fail("central list's collectable flag is wrong", NULL, (uintptr_t)c);
        for (int k = 0; k < 2; k++) {
            listed += check_list(&c->partial[k], LIST_PARTIAL, k, i, true);
            listed += check_list(&c->full[k], LIST_FULL, k, i, true);
        }
    }
    return listed;
}

static void check_heap_lists(const struct heap_description *h, const struct tally *t)
{
    size_t free_runs = 0, large = 0;
    for (size_t n = 1; n < h->nfree_lists; n++) {
        free_runs += check_list(&h->free_runs[n], LIST_FREE_PAGES, -1, 0, false);
        for (const struct span *s = h->free_runs[n].first; s; s = s->next)
            if (s->npages != n)
                fail("free run on the list of another length", s, s->start);
    }
    free_runs += check_list(h->free_runs_long, LIST_FREE_PAGES, -1, 0, false);
    for (const struct span *s = h->free_runs_long->first; s; s = s->next)
        if (s->npages < h->nfree_lists)
            fail("short free run on the list of long runs", s, s->start);
    for (int k = 0; k < 2; k++)
        large += check_list(&h->large[k], LIST_LARGE, k, 0, false);
    large += check_list(h->large_uncollectable, LIST_LARGE, -1, 0, false);
    for (const struct span *s = h->large_uncollectable->first; s; s = s->next)
        if (!s->uncollectable)
            fail("collectable large object on the uncollectable list", s, s->start);
    if (free_runs != t->free_runs)
        fail("free lists do not hold exactly the free runs of the map", NULL, (uintptr_t)free_runs);
    if (large != t->large_spans)
        fail("large lists do not hold exactly the large objects of the map", NULL, (uintptr_t)large);
    if (h->counters.heap_inuse != t->inuse_bytes)
        fail("heap_inuse disagrees with the spans in use", NULL, (uintptr_t)h->counters.heap_inuse);
}

/* Special records lie inside their span, on an allocated object, highest
 * offset first; queued ones name an allocated object. */
static void check_specials(const struct tally *t)
{
    size_t spans = 0;
    const struct span *previous = NULL;
    for (const struct span *s = spans_with_specials; s; previous = s, s = s->specials_next) {
        if (s->specials_prev != previous)
            fail("back link of the list of spans with finalizers is broken", s, s->start);
        if (span_of(s->start) != s)
            fail("span with finalizers is not in use", s, s->start);
        if (!s->specials)
            fail("span without finalizers on the list of spans with finalizers", s, s->start);
        uintptr_t above = UINTPTR_MAX;
        for (const struct special *r = s->specials; r; r = r->next) {
            uintptr_t where = s->start + r->offset;
            if (r->offset >= s->limit - s->start)
                fail("finalizer record lies outside its span", s, where);
            if (r->offset >= above)
                fail("finalizer records are not sorted highest offset first", s, where);
            above = r->offset;
            size_t index = s->large ? 0 : span_object_index(s, where);
            if (!bit_is_set(s->alloc_bits, index))
                fail("finalizer record on a free slot", s, where);
        }
        spans++;
    }
    if (spans != t->spans_with_specials)
        fail("list of spans with finalizers misses some", NULL, (uintptr_t)spans);
    for (const struct special *r = finalizer_queue; r; r = r->next) {
        struct object_ref ref;
        enum object_status status = object_find(r->offset, &ref);
        if (status != OBJECT_START && status != OBJECT_IN_TINY_BLOCK)
            fail("queued finalizer's object is not allocated", NULL, r->offset);
    }
}

/* heap_alloc and heap_objects as mgc_read_stats derives them, against the
 * recount; exact here, since every cache was flushed. */
static void check_statistics(const struct tally *t)
{
    uint64_t bytes, objects;
    stats_heap_in_use_locked(&bytes, &objects);
    if (bytes != t->bytes || objects != t->objects) {
        write_stderr("mgc: verify: statistics say heap_alloc %llu, heap_objects %llu; the bitmaps hold %llu "
                     "bytes in %llu objects\n",
                     (unsigned long long)bytes, (unsigned long long)objects, (unsigned long long)t->bytes,
                     (unsigned long long)t->objects);
        fail("statistics disagree with the allocation bitmaps", NULL, 0);
    }
}

void verify_heap(void)
{
    struct tally t = {0};
    heap_lock();
    struct heap_description h;
    heap_describe(&h);
    const uint16_t *table = load_relaxed(&arena_table);
    for (uintptr_t block = h.low; table && block < h.high; block += ARENA_SIZE)
        if (load_relaxed(&table[block >> ARENA_SHIFT]) == 1)
            check_arena((const struct arena *)block, block, &t);
    check_heap_lists(&h, &t);
    heap_unlock();
    if (check_central_lists() != t.small_spans)
        fail("central lists do not hold exactly the small spans of the map", NULL, (uintptr_t)t.small_spans);
    pthread_mutex_lock(&finalizer_lock);
    check_specials(&t);
    pthread_mutex_unlock(&finalizer_lock);
    check_statistics(&t);
}

/*
 * span.c: a span's own bookkeeping: the lists it sits on, its bitmaps, and
 * the two chores every holder of a span shares (folding frees made by other
 * threads into the allocation bitmap, zeroing free slots before reuse).
 *
 * Invariant kept by everyone who frees a slot: a free slot reads as zero
 * unless span->needs_zero is set. That is what lets the allocation fast path
 * hand out objects without clearing them. In poison mode (poison.c), free
 * slots hold the poison pattern instead, and needs_zero is always set.
 */
#include "memcheck.h"

void span_list_push(struct span_list *l, struct span *s, enum span_list_id id)
{
    s->prev = NULL;
    s->next = l->first;
    if (l->first)
        l->first->prev = s;
    else
        l->last = s;
    l->first = s;
    l->count++;
    s->list = (uint8_t)id;
}

void span_list_remove(struct span_list *l, struct span *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        l->first = s->next;
    if (s->next)
        s->next->prev = s->prev;
    else
        l->last = s->prev;
    s->next = s->prev = NULL;
    s->list = LIST_NONE;
    l->count--;
}

struct span *span_list_pop(struct span_list *l)
{
    struct span *s = l->first;
    if (s)
        span_list_remove(l, s);
    return s;
}

uint64_t span_fold_freed_word(struct span *s, size_t w)
{
    uint64_t freed = __atomic_load_n(&s->freed_bits[w], __ATOMIC_ACQUIRE);
    if (!freed)
        return 0;
    /* Zero first, so that a slot is clean before it can be handed out again;
     * then clear the allocation bits, then the freed bits. A second free of
     * the same object (central_free_object) that comes before this fold
     * finds the freed bit set, one that comes after finds the allocation
     * bit clear: both are reported. Only one racing with the fold itself
     * can go unnoticed. */
    for (uint64_t bits = freed; bits; bits &= bits - 1) {
        size_t i = w * 64 + (size_t)__builtin_ctzll(bits);
        uintptr_t slot = s->start + i * s->elem_size;
        memcheck_writable(slot, s->elem_size);
        memset((void *)slot, unlikely(debug.poison) ? POISON_BYTE : 0, s->elem_size);
        memcheck_no_access(slot, s->elem_size);
    }
    store_relaxed64(&s->alloc_bits[w], load_relaxed64(&s->alloc_bits[w]) & ~freed);
    __atomic_fetch_and(&s->freed_bits[w], ~freed, __ATOMIC_RELEASE);
    return freed;
}

/* Zero slots [from, to) of s. */
static void zero_slots(const struct span *s, size_t from, size_t to)
{
    if (to > from) {
        uintptr_t start = s->start + from * s->elem_size;
        size_t bytes = (to - from) * s->elem_size;
        memcheck_writable(start, bytes);
        memset((void *)start, 0, bytes);
        memcheck_no_access(start, bytes);
    }
}

void span_zero_free_slots(struct span *s)
{
    /* Poison mode keeps the pattern in free slots until each is handed out. */
    if (unlikely(debug.poison))
        return;
    /* One memset for each run of consecutive free slots, runs that cross
     * from one bitmap word into the next included: a span left empty is
     * cleared in one call, not one per 64 slots. */
    size_t nwords = bitmap_words(s->nelems);
    size_t run_start = 0, run_end = 0;
    for (size_t w = 0; w < nwords; w++) {
        uint64_t free_bits = ~load_relaxed64(&s->alloc_bits[w]) & span_word_mask(s, w);
        while (free_bits) {
            size_t first = (size_t)__builtin_ctzll(free_bits);
            uint64_t run = free_bits >> first;
            size_t length = ~run ? (size_t)__builtin_ctzll(~run) : 64 - first;
            size_t start = w * 64 + first;
            if (start != run_end) {
                zero_slots(s, run_start, run_end);
                run_start = start;
            }
            run_end = start + length;
            free_bits &= length + first >= 64 ? 0 : ~(uint64_t)0 << (first + length);
        }
    }
    zero_slots(s, run_start, run_end);
    s->needs_zero = false;
}

size_t span_count_allocated(const struct span *s)
{
    size_t n = 0, nwords = bitmap_words(s->nelems);
    for (size_t w = 0; w < nwords; w++)
        n += (size_t)count_bits(load_relaxed64(&s->alloc_bits[w]));
    return n;
}

/*
 * poison.c: MGC_DEBUG=poison=1, which catches writes into freed memory.
 *
 * In poison mode every free slot of a small-object span, and every free
 * page the page heap has handed out before, holds POISON_BYTE instead of
 * zero: whoever frees memory (the sweeper, mgc_free, the fold of frees made
 * by other threads, the page heap taking a span back) fills it, and
 * whoever hands it out again first checks that the pattern is intact, then
 * zeroes it. A byte that changed in between was written through a pointer
 * to a freed object. The pattern repeated makes 0xdbdbdbdbdbdbdbdb, which
 * is no user-space address, so a freed object never looks like a pointer
 * to the conservative scan.
 *
 * The fast paths never see poison mode: it turns the tiny allocator off and
 * allocates every small object in the slow path (malloc.c), one at a time,
 * with no span left in a thread's cache, so that the allocation windows
 * stay empty and mgc_free never finds a span of its own thread to free
 * into without a lock.
 */
#include <stdlib.h>

#include "mgc_internal.h"

void poison_fill(void *p, size_t n)
{
    memset(p, POISON_BYTE, n);
}

size_t poison_first_difference(const void *p, size_t n)
{
    const unsigned char *b = p;
    size_t i = 0;
    /* Word at a time while aligned: pages and slots are checked whole. */
    const uint64_t pattern = 0x0101010101010101ull * POISON_BYTE;
    while (i < n && ((uintptr_t)(b + i) & 7))
        if (b[i++] != POISON_BYTE)
            return i - 1;
    for (; i + 8 <= n; i += 8) {
        uint64_t word;
        memcpy(&word, b + i, sizeof word);
        if (word != pattern)
            break;
    }
    for (; i < n; i++)
        if (b[i] != POISON_BYTE)
            return i;
    return n;
}

void poison_check_slot(const struct span *s, uintptr_t slot)
{
    size_t k = poison_first_difference((const void *)slot, s->elem_size);
    if (k == s->elem_size)
        return;
    write_stderr("mgc: poison: slot %p of span class %u written after free at offset %zu\n", (void *)slot,
                 (unsigned)s->span_class, k);
    abort();
}

/* Abort with a report unless free page `page` holds the pattern (poisoned)
 * or zero (clean: fresh from the OS or given back to it). */
static void check_free_page(uintptr_t page, bool poisoned)
{
    size_t k;
    if (poisoned) {
        k = poison_first_difference((const void *)page, PAGE_SIZE);
    } else {
        const unsigned char *b = (const unsigned char *)page;
        for (k = 0; k < PAGE_SIZE && !b[k]; k++) {
        }
    }
    if (k == PAGE_SIZE)
        return;
    write_stderr("mgc: poison: free page %p written after free at offset %zu (%s)\n", (void *)page, k,
                 poisoned ? "pattern changed" : "it should read as zero");
    abort();
}

void poison_take_span(struct span *s, const struct arena *a)
{
    for (size_t i = 0; i < s->npages; i++) {
        uintptr_t page = s->start + (i << PAGE_SHIFT);
        size_t index = arena_page_index(page);
        bool dirty = (load_relaxed64(&a->dirty_pages[index / 64]) >> (index % 64)) & 1;
        check_free_page(page, dirty);
        if (dirty)
            memset((void *)page, 0, PAGE_SIZE);
    }
    if (!s->large) {
        poison_fill((void *)s->start, s->limit - s->start);
        s->needs_zero = true;
    }
}

void poison_give_back_span(struct span *s)
{
    if (!s->large)
        for (uintptr_t slot = s->start; slot < s->limit; slot += s->elem_size)
            poison_check_slot(s, slot);
    poison_fill((void *)s->start, span_bytes(s));
}

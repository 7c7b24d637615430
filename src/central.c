/*
 * central.c: the central lists, one per span class, each with its own lock.
 *
 * A span that no thread cache holds sits here: on the partial list when it
 * has a free slot, on the full list otherwise. Caches take partial spans (or
 * fresh ones from the page heap) and give them back when they move on; a span
 * that comes back empty returns to the page heap.
 *
 * Frees by a thread that does not hold the object's span come here too. If
 * nobody holds the span, the free is done at once under the lock. If another
 * cache holds it, the free is recorded in the span's freed bitmap with an
 * atomic OR, and the holder folds it in (span_fold_freed_word) when its
 * allocation window reaches that word or when it gives the span back.
 *
 * Uncollectable objects are rare; no cache holds their spans, and they are
 * allocated here, under the lock, one at a time.
 */
#include "mgc_internal.h"

struct central centrals[NUM_SPAN_CLASSES];

void central_init(void)
{
    for (size_t i = 0; i < NUM_SPAN_CLASSES; i++)
        pthread_mutex_init(&centrals[i].lock, NULL);
}

static size_t class_pages_of(unsigned span_class)
{
    return class_to_pages[span_class_size_class(span_class)];
}

struct span *central_acquire(unsigned span_class, struct cache *cache)
{
    struct central *c = &centrals[span_class];
    pthread_mutex_lock(&c->lock);
    struct span *s = span_list_pop(&c->partial);
    if (s)
        store_relaxed(&s->owner, cache);
    pthread_mutex_unlock(&c->lock);
    if (!s) {
        s = heap_alloc_span(class_pages_of(span_class), span_class, false);
        if (!s)
            return NULL;
        store_relaxed(&s->owner, cache);
    }
    if (s->needs_zero)
        span_zero_free_slots(s);
    return s;
}

/* File a span nobody holds by how full it is. Central lock held; returns
 * true when the span is empty and the caller must give it to the page heap
 * (after dropping the lock). */
static bool file_span(struct central *c, struct span *s)
{
    if (s->list == LIST_PARTIAL)
        span_list_remove(&c->partial, s);
    else if (s->list == LIST_FULL)
        span_list_remove(&c->full, s);
    if (s->allocated_count == 0)
        return true;
    if (s->allocated_count == s->nelems)
        span_list_push(&c->full, s, LIST_FULL);
    else
        span_list_push(&c->partial, s, LIST_PARTIAL);
    return false;
}

void central_release(struct span *s)
{
    struct central *c = &centrals[s->span_class];
    pthread_mutex_lock(&c->lock);
    size_t nwords = bitmap_words(s->nelems);
    for (size_t w = 0; w < nwords; w++)
        span_fold_freed_word(s, w);
    s->allocated_count = (uint32_t)span_count_allocated(s);
    store_relaxed(&s->owner, (struct cache *)NULL);
    bool empty = file_span(c, s);
    pthread_mutex_unlock(&c->lock);
    if (empty)
        heap_free_span(s);
}

void *central_alloc_object(unsigned span_class)
{
    struct central *c = &centrals[span_class];
    pthread_mutex_lock(&c->lock);
    struct span *s = c->partial.first;
    if (!s) {
        pthread_mutex_unlock(&c->lock);
        struct span *fresh = heap_alloc_span(class_pages_of(span_class), span_class, false);
        if (!fresh)
            return NULL;
        pthread_mutex_lock(&c->lock);
        span_list_push(&c->partial, fresh, LIST_PARTIAL);
        s = c->partial.first;
    }
    size_t nwords = bitmap_words(s->nelems), index = 0;
    for (size_t w = 0; w < nwords; w++) {
        uint64_t free_bits = ~load_relaxed64(&s->alloc_bits[w]) & span_word_mask(s, w);
        if (free_bits) {
            index = w * 64 + (size_t)__builtin_ctzll(free_bits);
            store_relaxed64(&s->alloc_bits[w], load_relaxed64(&s->alloc_bits[w]) | (free_bits & -free_bits));
            break;
        }
    }
    uintptr_t p = s->start + index * s->elem_size;
    if (s->needs_zero)
        memset((void *)p, 0, s->elem_size);
    s->allocated_count++;
    file_span(c, s);
    pthread_mutex_unlock(&c->lock);
    return (void *)p;
}

bool central_free_object(struct span *s, unsigned span_class, uintptr_t p, size_t index)
{
    struct central *c = &centrals[span_class];
    pthread_mutex_lock(&c->lock);
    /* The span may have been given back and reused since the caller looked
     * it up (only for a pointer that is being freed twice, or never was
     * allocated). Recheck under the lock that matters. */
    if (load_relaxed(&s->state) != SPAN_IN_USE || s->span_class != span_class ||
        p < s->start || p >= s->limit) {
        pthread_mutex_unlock(&c->lock);
        return false;
    }
    size_t w = index / 64;
    uint64_t bit = (uint64_t)1 << (index % 64);
    if (load_relaxed(&s->owner) == NULL) {
        if (!(load_relaxed64(&s->alloc_bits[w]) & bit)) {
            pthread_mutex_unlock(&c->lock);
            report_bad_pointer("free", (void *)p, "object is not allocated (double free?)");
        }
        memset((void *)p, 0, s->elem_size);
        store_relaxed64(&s->alloc_bits[w], load_relaxed64(&s->alloc_bits[w]) & ~bit);
        s->allocated_count--;
        bool empty = file_span(c, s);
        pthread_mutex_unlock(&c->lock);
        if (empty)
            heap_free_span(s);
        return true;
    }
    /* Held by another cache: record the free for the holder to fold in. The
     * freed bit first, then the allocation bit: see span_fold_freed_word. */
    uint64_t before = __atomic_fetch_or(&s->freed_bits[w], bit, __ATOMIC_ACQ_REL);
    bool allocated = __atomic_load_n(&s->alloc_bits[w], __ATOMIC_ACQUIRE) & bit;
    pthread_mutex_unlock(&c->lock);
    if (before & bit)
        report_bad_pointer("free", (void *)p, "object is already freed (double free)");
    if (!allocated)
        report_bad_pointer("free", (void *)p, "object is not allocated (double free?)");
    return true;
}

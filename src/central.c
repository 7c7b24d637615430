/*
 * central.c: the central lists, one per span class, each with its own lock.
 *
 * A span that no thread cache holds sits here: on the partial list when it
 * has a free slot, on the full list otherwise, each list in a swept/unswept
 * pair (see struct central). Caches take swept partial spans, sweep unswept
 * ones on the way (lazy sweeping), and only then ask the page heap for a
 * fresh span; before the heap may grow, everything is swept, so the heap
 * never grows while garbage waits in unswept spans. A span that comes back
 * empty returns to the page heap, unless the cache that swept it takes it.
 *
 * Frees by a thread that does not hold the object's span come here too. If
 * nobody holds the span, the free is done at once under the lock. If a cache
 * or a sweeper holds it, the free is recorded in the span's freed bitmap with
 * an atomic OR, and the holder folds it in (span_fold_freed_word).
 *
 * Uncollectable objects are rare; no cache holds their spans, and they are
 * allocated here, under the lock, one at a time.
 *
 * Every function here runs inside a busy stretch (world.c): a thread holding
 * a central lock is never stopped by the collector.
 */
#include "memcheck.h"

struct central centrals[NUM_SPAN_CLASSES];

void central_init(void)
{
    /* Adaptive: a lock is held for a few hundred nanoseconds at most, and
     * a thread that found it taken (most often a cache refilling while the
     * background sweeper files spans of the same class) does better to spin
     * that long than to sleep in the kernel and be woken. */
    pthread_mutexattr_t adaptive;
    pthread_mutexattr_init(&adaptive);
    pthread_mutexattr_settype(&adaptive, PTHREAD_MUTEX_ADAPTIVE_NP);
    for (size_t i = 0; i < NUM_SPAN_CLASSES; i++) {
        pthread_mutex_init(&centrals[i].lock, &adaptive);
        centrals[i].collectable = i < SPAN_CLASS_UNCOLLECTABLE_BASE;
    }
    pthread_mutexattr_destroy(&adaptive);
}

static size_t class_pages_of(unsigned span_class)
{
    return class_to_pages[span_class_size_class(span_class)];
}

static struct span_list *list_of(struct central *c, struct span *s)
{
    return s->list == LIST_PARTIAL ? &c->partial[s->list_index] : &c->full[s->list_index];
}

static void unlink_span(struct central *c, struct span *s)
{
    if (s->list == LIST_PARTIAL || s->list == LIST_FULL)
        span_list_remove(list_of(c, s), s);
}

static void push_swept(struct central *c, struct span *s, enum span_list_id id)
{
    span_list_push(id == LIST_PARTIAL ? &c->partial[c->phase] : &c->full[c->phase], s, id);
    s->list_index = c->phase;
}

static bool is_unswept(const struct central *c, const struct span *s)
{
    return (s->list == LIST_PARTIAL || s->list == LIST_FULL) && s->list_index != c->phase;
}

/* Bytes of free slots: what the pacer counts as handed out while a cache
 * holds the span. */
static int64_t free_bytes(const struct span *s)
{
    return (int64_t)(s->nelems - s->allocated_count) * s->elem_size;
}

enum settle { SETTLE_FILED, SETTLE_TAKEN, SETTLE_EMPTY };

/* A span whose holder (a cache or a sweeper) lets go of it, central lock
 * held: fold the frees others recorded, recount, and hand it to taker if it
 * has a free slot and taker is not NULL; otherwise file it as swept. On
 * SETTLE_EMPTY the caller gives it to the page heap after unlocking. An
 * empty span goes to a taker too: giving it to the page heap only for the
 * taker to ask the heap for another would cost a round trip through the
 * heap lock, the span map and the span's bitmaps. */
static enum settle settle_span(struct central *c, struct span *s, struct cache *taker)
{
    size_t nwords = bitmap_words(s->nelems);
    for (size_t w = 0; w < nwords; w++)
        span_fold_freed_word(s, w);
    s->allocated_count = (uint32_t)span_count_allocated(s);
    if (taker && s->allocated_count < s->nelems) {
        store_relaxed(&s->owner, taker);
        return SETTLE_TAKEN;
    }
    if (s->allocated_count == 0) {
        store_relaxed(&s->owner, (struct cache *)NULL);
        return SETTLE_EMPTY;
    }
    store_relaxed(&s->owner, (struct cache *)NULL);
    push_swept(c, s, s->allocated_count == s->nelems ? LIST_FULL : LIST_PARTIAL);
    return SETTLE_FILED;
}

/* Hand s, just taken by cache, over: clean and counted. */
static struct span *hand_over(struct span *s)
{
    if (s->needs_zero)
        span_zero_free_slots(s);
    heap_live_add(free_bytes(s));
    return s;
}

struct span *central_acquire(unsigned span_class, struct cache *cache)
{
    struct central *c = &centrals[span_class];
    pthread_mutex_lock(&c->lock);
    for (;;) {
        struct span *s = span_list_pop(&c->partial[c->phase]);
        if (s) {
            store_relaxed(&s->owner, cache);
            pthread_mutex_unlock(&c->lock);
            return hand_over(s);
        }
        /* Sweep an unswept span of this class: it may have room now. The
         * gate is only tried, since this lock is held: when a fork is
         * waiting for it, go to the page heap instead. */
        if (!c->partial[c->phase ^ 1].first && !c->full[c->phase ^ 1].first)
            break;
        if (!sweep_gate_try_enter())
            break;
        s = span_list_pop(&c->partial[c->phase ^ 1]);
        if (!s)
            s = span_list_pop(&c->full[c->phase ^ 1]);
        store_relaxed(&s->owner, SWEEPER_OWNER);
        pthread_mutex_unlock(&c->lock);
        sweep_span(s);
        pthread_mutex_lock(&c->lock);
        /* With a taker, a span comes back taken, or filed as full. */
        enum settle result = settle_span(c, s, cache);
        sweep_count_done(1);
        sweep_gate_leave();
        if (result == SETTLE_TAKEN) {
            pthread_mutex_unlock(&c->lock);
            return hand_over(s);
        }
    }
    pthread_mutex_unlock(&c->lock);

    size_t npages = class_pages_of(span_class);
    struct span *s = heap_alloc_span(npages, span_class, false, false);
    if (!s) {
        /* The heap would have to grow: first reclaim what sweeping can. */
        sweep_finish();
        s = heap_alloc_span(npages, span_class, false, true);
        if (!s)
            return NULL;
    }
    store_relaxed(&s->owner, cache);
    return hand_over(s);
}

void central_release(struct span *s)
{
    struct central *c = &centrals[s->span_class];
    pthread_mutex_lock(&c->lock);
    enum settle result = settle_span(c, s, NULL);
    /* Slots free now were counted as handed out: take them back. */
    heap_live_add(-free_bytes(s));
    pthread_mutex_unlock(&c->lock);
    if (result == SETTLE_EMPTY)
        heap_free_span(s);
}

void central_settle_swept(struct span *const *spans, size_t n)
{
    if (n == 0)
        return;
    struct central *c = &centrals[spans[0]->span_class];
    struct span *empty[SWEEP_BATCH];
    size_t nempty = 0;
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < n; i++)
        if (settle_span(c, spans[i], NULL) == SETTLE_EMPTY)
            empty[nempty++] = spans[i];
    pthread_mutex_unlock(&c->lock);
    heap_free_spans(empty, nempty);
}

size_t central_take_unswept(unsigned span_class, struct span **spans, size_t max)
{
    struct central *c = &centrals[span_class];
    if (!c->collectable || !load_relaxed(&c->may_have_unswept))
        return 0;
    size_t n = 0;
    pthread_mutex_lock(&c->lock);
    while (n < max) {
        struct span *s = span_list_pop(&c->partial[c->phase ^ 1]);
        if (!s)
            s = span_list_pop(&c->full[c->phase ^ 1]);
        if (!s)
            break;
        store_relaxed(&s->owner, SWEEPER_OWNER);
        spans[n++] = s;
    }
    if (!c->partial[c->phase ^ 1].first && !c->full[c->phase ^ 1].first)
        store_relaxed(&c->may_have_unswept, false);
    pthread_mutex_unlock(&c->lock);
    return n;
}

size_t central_flip_phase(void)
{
    size_t unswept = 0;
    for (size_t i = 0; i < NUM_SPAN_CLASSES; i++) {
        struct central *c = &centrals[i];
        if (!c->collectable)
            continue;
        c->phase ^= 1;
        size_t count = c->partial[c->phase ^ 1].count + c->full[c->phase ^ 1].count;
        store_relaxed(&c->may_have_unswept, count != 0);
        unswept += count;
    }
    return unswept;
}

void *central_alloc_object(unsigned span_class)
{
    struct central *c = &centrals[span_class];
    pthread_mutex_lock(&c->lock);
    struct span *s = c->partial[c->phase].first;
    if (!s) {
        pthread_mutex_unlock(&c->lock);
        struct span *fresh = heap_alloc_span(class_pages_of(span_class), span_class, false, true);
        if (!fresh)
            return NULL;
        pthread_mutex_lock(&c->lock);
        push_swept(c, fresh, LIST_PARTIAL);
        s = c->partial[c->phase].first;
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
    memcheck_defined(p, s->elem_size);
    if (unlikely(debug.poison))
        poison_check_slot(s, p);
    if (s->needs_zero)
        memset((void *)p, 0, s->elem_size);
    s->allocated_count++;
    if (s->allocated_count == s->nelems) {
        unlink_span(c, s);
        push_swept(c, s, LIST_FULL);
    }
    heap_live_add(s->elem_size);
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
        memset((void *)p, unlikely(debug.poison) ? POISON_BYTE : 0, s->elem_size);
        memcheck_no_access(p, s->elem_size);
        store_relaxed64(&s->alloc_bits[w], load_relaxed64(&s->alloc_bits[w]) & ~bit);
        /* If it was marked and its span is not swept yet, sweeping must not
         * bring it back. */
        store_mark(&s->mark_bytes[index], false);
        s->allocated_count--;
        heap_live_add(-(int64_t)s->elem_size);
        bool empty = s->allocated_count == 0;
        if (empty) {
            if (is_unswept(c, s))
                sweep_count_done(1);
            unlink_span(c, s);
        } else if (!is_unswept(c, s) && s->list == LIST_FULL) {
            unlink_span(c, s);
            push_swept(c, s, LIST_PARTIAL);
        }
        pthread_mutex_unlock(&c->lock);
        if (empty)
            heap_free_span(s);
        return true;
    }
    /* Held by another cache or a sweeper: record the free for the holder to
     * fold in. Look at the allocation bit first: once the freed bit is set,
     * the holder may fold it in (clearing both) at any moment. The holder
     * clears an allocation bit only for a free, so a clear bit here means
     * the object was freed before. */
    if (!(__atomic_load_n(&s->alloc_bits[w], __ATOMIC_ACQUIRE) & bit)) {
        pthread_mutex_unlock(&c->lock);
        report_bad_pointer("free", (void *)p, "object is not allocated (double free?)");
    }
    /* Inaccessible before the holder can see the free and reuse the slot. */
    memcheck_no_access(p, s->elem_size);
    uint64_t before = __atomic_fetch_or(&s->freed_bits[w], bit, __ATOMIC_ACQ_REL);
    pthread_mutex_unlock(&c->lock);
    if (before & bit)
        report_bad_pointer("free", (void *)p, "object is already freed (double free)");
    return true;
}

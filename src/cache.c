/*
 * cache.c: per-thread caches.
 *
 * Each thread allocates from a cache of its own, found through one
 * initial-exec thread-local pointer, so the fast paths in malloc.c take no
 * lock and make no call. For each cached span class the cache holds one span
 * and a window: a copy of the free bits of one 64-slot word of the span's
 * allocation bitmap. When a window runs dry, cache_refill moves it to the
 * next word with a free slot, or gives the span back to its central list and
 * takes another.
 *
 * A thread starts on empty_cache, whose windows are all empty, so its first
 * allocation lands in a slow path that registers the thread (world.c) and
 * creates its real cache. When the thread exits, its spans go back, the
 * cache's counters are folded into the totals, and the cache is kept for the
 * next thread. At the start of every collection, every cache gives its spans
 * back and forgets its tiny block, so that no block stays pinned by the
 * allocator itself and every span is swept.
 */
#include "memcheck.h"

/* Never written: the fast paths only write after finding room, and an empty
 * cache never has any. */
struct span no_span;
struct cache empty_cache = {.tiny_offset = TINY_SIZE, .tiny_max = TINY_SIZE - 1, .free_hint = &no_span};

/* Live caches and spare ones, under threads_lock (world.c). */
static struct cache *live_caches, *spare_caches;
static struct cache_counters exited_totals; /* of caches whose thread exited */

static void add_counters(struct cache_counters *sum, const struct cache *c)
{
    for (size_t i = 0; i < NUM_CACHED_CLASSES; i++) {
        const struct alloc_slot *slot = &c->slots[i];
        uint64_t allocs = load_relaxed(&slot->window_loaded) -
                          (uint64_t)count_bits(load_relaxed(&slot->window));
        uint64_t frees = load_relaxed(&slot->frees);
        sum->mallocs += allocs;
        sum->total_alloc += allocs * slot->elem_size;
        sum->frees += frees;
        sum->freed_bytes += frees * slot->elem_size;
    }
    uint64_t tiny = load_relaxed(&c->tiny_allocs);
    sum->mallocs += tiny + load_relaxed(&c->other_allocs);
    sum->tiny_allocs += tiny;
    sum->total_alloc += load_relaxed(&c->other_alloc_bytes);
    /* Objects packed into a tiny block count as freed at once, as in Go:
     * what stays allocated is the block. */
    sum->frees += load_relaxed(&c->frees) + tiny;
    sum->freed_bytes += load_relaxed(&c->freed_bytes);
}

void cache_sum_counters_locked(struct cache_counters *out)
{
    *out = exited_totals;
    for (struct cache *c = live_caches; c; c = c->next_live)
        add_counters(out, c);
}

void cache_correct_totals_locked(int64_t objects, int64_t bytes)
{
    if (objects >= 0)
        exited_totals.mallocs += (uint64_t)objects;
    else
        exited_totals.frees += (uint64_t)-objects;
    if (bytes >= 0)
        exited_totals.total_alloc += (uint64_t)bytes;
    else
        exited_totals.freed_bytes += (uint64_t)-bytes;
}

void cache_sum_counters(struct cache_counters *out)
{
    lock_stoppable(&threads_lock);
    cache_sum_counters_locked(out);
    pthread_mutex_unlock(&threads_lock);
}

static void retire_locked(struct cache *c)
{
    add_counters(&exited_totals, c);
    struct cache **link = &live_caches;
    while (*link != c)
        link = &(*link)->next_live;
    *link = c->next_live;
    c->next_live = spare_caches;
    spare_caches = c;
}

void cache_retire(struct cache *c)
{
    lock_stoppable(&threads_lock);
    retire_locked(c);
    pthread_mutex_unlock(&threads_lock);
}

void cache_retire_of_exited_locked(struct cache *c)
{
    cache_release_all(c);
    retire_locked(c);
}

void cache_flush_all_locked(void)
{
    for (struct cache *c = live_caches; c; c = c->next_live)
        cache_release_all(c);
}

void cache_after_fork_child(void)
{
    struct cache *mine = mgc_tls.cache;
    for (struct cache *c = live_caches, *next; c; c = next) {
        next = c->next_live;
        if (c != mine) {
            cache_release_all(c);
            retire_locked(c);
        }
    }
}

static void cache_reset(struct cache *c)
{
    memset(c, 0, sizeof *c);
    c->tiny_offset = TINY_SIZE;
    /* Poison mode checks every object it hands out: no tiny packing. */
    c->tiny_max = debug.tinyalloc && !debug.poison ? TINY_SIZE - 1 : 0;
    c->free_hint = &no_span;
    for (unsigned i = 0; i < NUM_CACHED_CLASSES; i++)
        c->slots[i].elem_size = i == SPAN_CLASS_TINY ? TINY_SIZE : class_to_size[i / 2];
}

struct cache *cache_get(void)
{
    struct cache *c = mgc_tls.cache;
    if (likely(c != &empty_cache))
        return c;
    if (!thread_ensure_registered())
        return NULL;
    lock_stoppable(&threads_lock);
    c = spare_caches;
    if (c)
        spare_caches = c->next_live;
    else
        c = persistent_alloc(sizeof(struct cache), CACHE_LINE, SYS_OTHER);
    if (c) {
        cache_reset(c);
        c->next_live = live_caches;
        live_caches = c;
        mgc_tls.cache = c;
        mgc_tls.record->cache = c; /* retired with the record if the thread is dropped */
    }
    pthread_mutex_unlock(&threads_lock);
    if (!c)
        errno = ENOMEM;
    return c;
}

/* Point the window at word w of the slot's span; false if it has no free slot. */
static bool load_window(struct alloc_slot *slot, struct span *s, size_t w)
{
    span_fold_freed_word(s, w);
    uint64_t free_bits = ~load_relaxed64(&s->alloc_bits[w]) & span_word_mask(s, w);
    if (!free_bits)
        return false;
    slot->word_index = w;
    slot->alloc_word = &s->alloc_bits[w];
    slot->window_base = s->start + w * 64 * (uintptr_t)s->elem_size;
    /* Relaxed stores: mgc_read_stats reads both from other threads. */
    store_relaxed(&slot->window, free_bits);
    store_relaxed(&slot->window_loaded, slot->window_loaded + (uint64_t)count_bits(free_bits));
    if (memcheck_active())
        for (uint64_t bits = free_bits; bits; bits &= bits - 1)
            memcheck_defined(slot->window_base + (uintptr_t)__builtin_ctzll(bits) * s->elem_size, s->elem_size);
    return true;
}

/* Forget the window's remaining slots: they were counted as handed out
 * when the window was loaded, and are not. */
static void drop_window(struct alloc_slot *slot)
{
    if (memcheck_active() && slot->span)
        memcheck_slots_no_access(slot->span, slot->word_index, slot->window);
    store_relaxed(&slot->window_loaded, slot->window_loaded - (uint64_t)count_bits(slot->window));
    store_relaxed(&slot->window, 0);
}

bool cache_refill(struct cache *c, unsigned span_class)
{
    struct alloc_slot *slot = &c->slots[span_class];
    struct span *s = slot->span;
    if (s) {
        size_t nwords = bitmap_words(s->nelems);
        drop_window(slot);
        for (size_t w = slot->word_index + 1; w < nwords; w++)
            if (load_window(slot, s, w))
                return true;
        slot->span = NULL;
        central_release(s);
    }
    for (;;) {
        s = central_acquire(span_class, c);
        if (!s)
            return false;
        slot->span = s;
        size_t nwords = bitmap_words(s->nelems);
        for (size_t w = 0; w < nwords; w++)
            if (load_window(slot, s, w))
                return true;
        /* Full after all (cannot happen for a partial or fresh span); give
         * it back rather than trust it. */
        slot->span = NULL;
        central_release(s);
    }
}

void cache_release_all(struct cache *c)
{
    if (c == &empty_cache)
        return;
    c->tiny_block = 0;
    c->tiny_offset = TINY_SIZE;
    for (unsigned i = 0; i < NUM_CACHED_CLASSES; i++) {
        struct alloc_slot *slot = &c->slots[i];
        struct span *s = slot->span;
        drop_window(slot);
        slot->span = NULL;
        if (s)
            central_release(s);
    }
}

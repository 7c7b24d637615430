/*
 * free.c: explicit free and the questions about a pointer (mgc_base,
 * mgc_usable_size) that share its lookup.
 *
 * mgc_free checks every pointer it is given, as glibc does, and aborts with
 * "mgc: free of <address>: <reason>" rather than corrupt the heap. The
 * allocation bitmap makes the double-free check exact: an object is
 * allocated if and only if its allocation bit is set and no freed bit is
 * pending for it.
 *
 * The common case, freeing into the span the calling thread allocates from,
 * needs no lock: clear the bit, zero the object, and put it back in the
 * allocation window if the window covers it. Other small objects go through
 * their central list (central.c), large ones back to the page heap.
 */
#include "mgc_internal.h"
#include "weak.h"
#include "memcheck.h"

/* Frees by a thread that could not get a cache (out of memory). */
static uint64_t cacheless_frees, cacheless_freed_bytes;

enum object_status object_find(uintptr_t p, struct object_ref *out)
{
    struct span *s = span_map_entry(p);
    if (!s || p < s->start || p - s->start >= span_bytes(s))
        return heap_address(p) ? OBJECT_NOT_ALLOCATED : OBJECT_NOT_HEAP;
    if (load_relaxed(&s->state) != SPAN_IN_USE || p >= s->limit)
        return OBJECT_NOT_ALLOCATED;
    size_t index = s->large ? 0 : span_object_index(s, p);
    if (!span_slot_allocated(s, index))
        return OBJECT_NOT_ALLOCATED;
    out->span = s;
    out->index = index;
    out->base = s->start + index * (uintptr_t)s->elem_size;
    out->size = s->large ? span_bytes(s) : s->elem_size;
    if (s->tiny)
        return OBJECT_IN_TINY_BLOCK;
    return p == out->base ? OBJECT_START : OBJECT_INTERIOR;
}

const char *object_status_text(enum object_status status)
{
    switch (status) {
    case OBJECT_START:
    case OBJECT_IN_TINY_BLOCK:
        return "allocated object";
    case OBJECT_INTERIOR:
        return "not the start of an object";
    case OBJECT_NOT_ALLOCATED:
        return "object is not allocated (double free?)";
    case OBJECT_NOT_HEAP:
        break;
    }
    return "not an mgc heap address";
}

static void count_free(struct cache *c, size_t bytes)
{
    uint64_t *frees = c ? &c->frees : &cacheless_frees;
    uint64_t *freed = c ? &c->freed_bytes : &cacheless_freed_bytes;
    if (c) {
        store_relaxed(frees, load_relaxed(frees) + 1);
        store_relaxed(freed, load_relaxed(freed) + bytes);
    } else {
        __atomic_fetch_add(frees, 1, __ATOMIC_RELAXED);
        __atomic_fetch_add(freed, bytes, __ATOMIC_RELAXED);
    }
}

void free_read_cacheless_counters(uint64_t *frees, uint64_t *freed_bytes)
{
    *frees = __atomic_load_n(&cacheless_frees, __ATOMIC_RELAXED);
    *freed_bytes = __atomic_load_n(&cacheless_freed_bytes, __ATOMIC_RELAXED);
}

static void free_large(struct span *s, void *p)
{
    size_t bytes = 0;
    enum large_free result = heap_free_large(s, (uintptr_t)p, &bytes);
    if (result == LARGE_NOT_ALLOCATED)
        report_bad_pointer("free", p, "object is not allocated (double free?)");
    if (result == LARGE_FREED_UNSWEPT)
        sweep_count_done(1);
    heap_live_add(-(int64_t)bytes);
}

/* Free an allocated object of a span the calling thread's cache holds, not
 * a tiny span (always inlined: it is mgc_free's fast path, which makes no
 * call; there, the caller has checked that the slot is small enough to zero
 * without one, and says so with small_slot):
 * clear its bit, zero it (free slots read as zero), and put it back in the
 * window when the window covers it. No lock: only the owner changes the
 * span's allocation bits. False when address is not such an object. */
static inline __attribute__((always_inline)) bool free_in_own_span(struct cache *c, struct span *s, uintptr_t address,
                                                                   bool small_slot)
{
    if (address - s->start >= s->limit - s->start)
        return false;
    size_t index = span_object_index(s, address);
    size_t w = index / 64;
    uint64_t bit = (uint64_t)1 << (index % 64);
    /* Read once: only this thread changes the word, so it still holds this
     * value when the bit is cleared below. */
    uint64_t allocated = load_relaxed64(&s->alloc_bits[w]);
    if (address != s->start + index * (uintptr_t)s->elem_size || !(allocated & bit) ||
        (load_relaxed64(&s->freed_bits[w]) & bit))
        return false;
    if (small_slot && s->elem_size > ZERO_INLINE_MAX)
        __builtin_unreachable();
    zero_object((void *)address, s->elem_size);
    store_relaxed64(&s->alloc_bits[w], allocated & ~bit);
    struct alloc_slot *slot = &c->slots[s->span_class];
    /* Under Valgrind the slot stays out of the window, inaccessible until
     * a later window takes it in: a use after this free is then reported. */
    memcheck_no_access(address, s->elem_size);
    if (slot->word_index == w && !memcheck_active()) {
        store_relaxed(&slot->window, slot->window | bit);
        store_relaxed(&slot->window_loaded, slot->window_loaded + 1);
    }
    store_relaxed(&slot->frees, slot->frees + 1);
    return true;
}

/* Everything but the common case: NULL, the zero-size object, tiny
 * objects, large objects, other threads' spans, and bad pointers. */
static void free_slow_busy(struct cache *c, void *p)
{
    for (;;) {
        struct object_ref ref;
        enum object_status status = object_find((uintptr_t)p, &ref);
        if (status == OBJECT_IN_TINY_BLOCK) {
            /* The collector reclaims the block with its last object; only
             * the object's finalizer, if any, goes now (size 1: the record
             * at exactly p). */
            if (load_relaxed(&ref.span->specials))
                finalizers_drop(ref.span, (uintptr_t)p, 1);
            if (load_relaxed(&ref.span->free_slow.part[1]))
                weak_links_drop_object(ref.span, (uintptr_t)p, 1, true);
            return;
        }
        if (status != OBJECT_START)
            report_bad_pointer("free", p, object_status_text(status));
        struct span *s = ref.span;
        if (load_relaxed(&s->specials))
            finalizers_drop(s, ref.base, ref.size);
        if (load_relaxed(&s->free_slow.part[1]))
            weak_links_drop_object(s, ref.base, ref.size, false);
        if (s->large) {
            free_large(s, p);
        } else if (c && load_relaxed(&s->owner) == c) {
            if (!free_in_own_span(c, s, (uintptr_t)p, false))
                report_bad_pointer("free", p, object_status_text(OBJECT_NOT_ALLOCATED));
            return; /* counted by free_in_own_span */
        } else if (!central_free_object(s, s->span_class, (uintptr_t)p, ref.index)) {
            continue; /* the span changed under us: look again */
        }
        count_free(c, ref.size);
        return;
    }
}

static NOINLINE void free_slow(void *p)
{
    if (!p || p == (void *)zero_size_object) {
        /* A call into mgc registers the thread (mgc.h), even one that frees
         * nothing: the thread may hold objects only on its stack. */
        if (!mgc_tls.record)
            (void)thread_ensure_registered();
        return;
    }
    struct cache *c = cache_get();
    busy_begin();
    free_slow_busy(c, p);
    busy_end();
}

/* True when address lies in an allocated block of tiny span s: freeing a
 * packed object is a no-op (the block goes with its last object), and this
 * answers it without leaving the fast path. */
static inline bool in_allocated_tiny_block(const struct span *s, uintptr_t address)
{
    return load_relaxed(&s->state) == SPAN_IN_USE && address - s->start < s->limit - s->start &&
           span_slot_allocated(s, span_object_index(s, address));
}

/* mgc_free's slow path entered busy: leave the stretch here, so that
 * mgc_free reaches it by a tail call and needs no stack frame. */
static NOINLINE void free_slow_from_busy(void *p)
{
    busy_end();
    free_slow(p);
}

/* A slot of the caller's own span too big to zero without a call. */
static NOINLINE void free_big_slot_in_own_span(struct cache *c, struct span *s, void *p)
{
    if (free_in_own_span(c, s, (uintptr_t)p, false)) {
        busy_end();
        return;
    }
    free_slow_from_busy(p);
}

/* The owner of the span a free hint names. The hint may be stale, its span
 * record since freed and reused (persistent.c clears a record it hands out
 * again), so this read may race with that clearing: whatever it reads, only
 * a span this cache owns passes the check, and then the record is ours.
 * ThreadSanitizer is told nothing of the read, which it would report. */
#ifdef __SANITIZE_THREAD__
static NOINLINE __attribute__((no_sanitize("thread"))) struct cache *hinted_span_owner(const struct span *s)
{
    return load_relaxed(&s->owner);
}
#else
static inline struct cache *hinted_span_owner(const struct span *s)
{
    return load_relaxed(&s->owner);
}
#endif

void mgc_free(void *p)
{
    /* A span's owner is only ever a real cache, so a thread still on the
     * empty cache never takes this path. Every way out is a return or a
     * tail call. */
    uintptr_t address = (uintptr_t)p;
    busy_begin();
    struct cache *c = mgc_tls.cache;
    /* The span freed into last time, if this cache still owns it and it
     * holds address: then its fields stay still under us, and it is the
     * span the map would name. */
    struct span *s = c->free_hint;
    bool own = hinted_span_owner(s) == c && address - s->start < s->limit - s->start;
    if (!own) {
        s = span_map_entry(address);
        own = s != NULL && load_relaxed(&s->owner) == c;
    }
    /* Spans with finalizers or weak registrations go to the slow path,
     * which drops them. */
    if (likely(s != NULL && !load_relaxed(&s->free_slow.any))) {
        if (s->tiny) {
            /* An unregistered thread (it runs on the empty cache, so only a
             * tiny object brings it here) registers on the slow path. */
            if (likely(in_allocated_tiny_block(s, address) && mgc_tls.record != NULL)) {
                busy_end();
                return;
            }
        } else if (own) {
            if (s->elem_size > ZERO_INLINE_MAX) {
                free_big_slot_in_own_span(c, s, p);
                return;
            }
            if (likely(free_in_own_span(c, s, address, true))) {
                c->free_hint = s;
                busy_end();
                return;
            }
        }
    }
    free_slow_from_busy(p);
}

size_t mgc_usable_size(const void *p)
{
    (void)thread_ensure_registered(); /* the caller holds p: its stack must be a root */
    struct object_ref ref;
    switch (object_find((uintptr_t)p, &ref)) {
    case OBJECT_START:
        return ref.size;
    case OBJECT_IN_TINY_BLOCK:
        return ref.base + TINY_SIZE - (uintptr_t)p;
    default:
        return 0;
    }
}

void *mgc_base(const void *p)
{
    (void)thread_ensure_registered(); /* the caller holds p: its stack must be a root */
    if (p == (const void *)zero_size_object)
        return (void *)zero_size_object;
    struct object_ref ref;
    switch (object_find((uintptr_t)p, &ref)) {
    case OBJECT_START:
    case OBJECT_INTERIOR:
    case OBJECT_IN_TINY_BLOCK:
        return (void *)ref.base;
    default:
        return NULL;
    }
}

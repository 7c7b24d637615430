/*
 * weak.c: weak links (Boehm GC's disappearing links) and weak handles.
 *
 * A registration says: the word at link refers to the object holding
 * target; set it to NULL once that object dies. It lives off the heap, in
 * a record that sits in three places:
 *
 *   a hash table keyed by the link's address, which register, unregister
 *   and move look up, and which the collector walks;
 *   the list of its object's span (weak_lists[0]), and, when the link word
 *   itself lies in a heap object, the list of that object's span
 *   (weak_lists[1]): mgc_free finds there the registrations it must end
 *   without walking them all.
 *
 * With the world stopped at the end of each collection (gc.c):
 *   1. weak_links_clear_short, right after marking, before finalizers are
 *      queued: a short link whose object is unmarked is cleared and its
 *      registration ends. The object may yet be kept for its finalizer, or
 *      for a NO_ORDER finalizer that reaches it, but no short link hands it
 *      out again, even if a finalizer resurrects it.
 *   2. weak_links_clear_long_and_dead, once the marks are final: a long
 *      link whose object is still unmarked (about to be freed: not kept
 *      for a finalizer) is cleared and ends; then every registration whose
 *      link word lies in an unmarked object ends without a write, since
 *      that memory is about to be freed.
 * So no registration outlives the memory of its object or of its link
 * word, and the sweeper never needs to look at them. mgc_free ends them
 * the same way (weak_links_drop_object). Objects are judged by their slot:
 * the 16-byte block for a tiny object, the span for a large one;
 * uncollectable objects are always live.
 *
 * A weak handle (mgc_weak) is a 16-byte noscan object whose first word is
 * the target, registered as a short link: the collector clears it, and
 * when the handle dies its registration goes with it. mgc_weak_get reads
 * the word inside a busy stretch, so a collection either clears it first,
 * or finds the object on the reader's stack afterwards.
 *
 * When there is no registration, each collection pays two tests of a
 * counter.
 */
#include <sys/mman.h>

#include "mgc_internal.h"
#include "weak.h"

enum { TARGET_LIST = 0, HOLDER_LIST = 1 };

struct weak_link {
    struct weak_link *hash_next;
    struct weak_link *all_next, *all_prev; /* every registration, oldest first */
    struct weak_link *list_next[2], *list_prev[2]; /* TARGET_LIST, HOLDER_LIST */
    struct span *spans[2];  /* the target's span; the link's, or NULL outside the heap */
    uintptr_t link, target;
    unsigned flags;
};

struct mgc_weak {
    void *target; /* a registered short link */
    void *unused; /* 16 bytes: a slot of its own, not a tiny block shared with others */
};

pthread_mutex_t weak_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fixed_alloc records = {.size = sizeof(struct weak_link), .kind = SYS_OTHER};

/* Chained hash table; buckets are mapped from the OS so that a table
 * outgrown can be given back. */
static struct {
    struct weak_link **buckets;
    unsigned shift;  /* 1 << shift buckets; 0 with no table */
    size_t count;
} table;

/* Every registration, in the order made: the collector walks this list
 * rather than the table, since records made one after another mostly lie
 * one after another in memory. Walking them in hash order instead cost a
 * cache miss per record: 200,000 links took 40 to 80 ms per collection. */
static struct weak_link *all_first, *all_last;

#define FIRST_TABLE_SHIFT 9

size_t weak_links_count(void)
{
    return load_relaxed(&table.count);
}

static size_t bucket_of(uintptr_t link, unsigned shift)
{
    return (size_t)(((uint64_t)(link >> 3) * 0x9E3779B97F4A7C15ull) >> (64 - shift));
}

/* Lock held. Grow to keep at most one record per bucket on average; false
 * only when there is no table at all and none can be had. */
static bool table_reserve(size_t wanted)
{
    if (table.shift && wanted <= ((size_t)1 << table.shift))
        return true;
    unsigned shift = table.shift ? table.shift + 1 : FIRST_TABLE_SHIFT;
    size_t bytes = ((size_t)1 << shift) * sizeof(struct weak_link *);
    struct weak_link **buckets = os_reserve(bytes, 0);
    if (!buckets)
        return table.shift != 0; /* a fuller table still works */
    sys_account(SYS_OTHER, (int64_t)bytes);
    if (table.shift) {
        size_t old_n = (size_t)1 << table.shift;
        for (size_t i = 0; i < old_n; i++) {
            for (struct weak_link *r = table.buckets[i], *next; r; r = next) {
                next = r->hash_next;
                size_t b = bucket_of(r->link, shift);
                r->hash_next = buckets[b];
                buckets[b] = r;
            }
        }
        os_unmap(table.buckets, old_n * sizeof(struct weak_link *));
        sys_account(SYS_OTHER, -(int64_t)(old_n * sizeof(struct weak_link *)));
    }
    table.buckets = buckets;
    table.shift = shift;
    return true;
}

/* Lock held: where the record for link is linked from, or where it would go. */
static struct weak_link **find_slot(uintptr_t link)
{
    if (!table.shift)
        return NULL;
    struct weak_link **slot = &table.buckets[bucket_of(link, table.shift)];
    while (*slot && (*slot)->link != link)
        slot = &(*slot)->hash_next;
    return slot;
}

static void update_span_flag(struct span *s)
{
    bool any = s->weak_lists[TARGET_LIST] || s->weak_lists[HOLDER_LIST];
    store_relaxed(&s->free_slow.part[1], any ? 1 : 0);
}

static void list_add(struct weak_link *r, int which)
{
    struct span *s = r->spans[which];
    if (!s)
        return;
    r->list_prev[which] = NULL;
    r->list_next[which] = s->weak_lists[which];
    if (s->weak_lists[which])
        s->weak_lists[which]->list_prev[which] = r;
    s->weak_lists[which] = r;
    update_span_flag(s);
}

static void list_remove(struct weak_link *r, int which)
{
    struct span *s = r->spans[which];
    if (!s)
        return;
    if (r->list_prev[which])
        r->list_prev[which]->list_next[which] = r->list_next[which];
    else
        s->weak_lists[which] = r->list_next[which];
    if (r->list_next[which])
        r->list_next[which]->list_prev[which] = r->list_prev[which];
    r->list_next[which] = r->list_prev[which] = NULL;
    update_span_flag(s);
}

static void all_add(struct weak_link *r)
{
    r->all_next = NULL;
    r->all_prev = all_last;
    if (all_last)
        all_last->all_next = r;
    else
        all_first = r;
    all_last = r;
}

static void all_remove(struct weak_link *r)
{
    if (r->all_prev)
        r->all_prev->all_next = r->all_next;
    else
        all_first = r->all_next;
    if (r->all_next)
        r->all_next->all_prev = r->all_prev;
    else
        all_last = r->all_prev;
}

/* Lock held: end the registration *slot (hash_slot links to it). */
static void end_registration(struct weak_link **hash_slot)
{
    struct weak_link *r = *hash_slot;
    *hash_slot = r->hash_next;
    all_remove(r);
    list_remove(r, TARGET_LIST);
    list_remove(r, HOLDER_LIST);
    store_relaxed(&table.count, table.count - 1);
    fixed_free(&records, r);
}

/* Lock held: end the registration of r, wherever it is in its chain. */
static void end_record(struct weak_link *r)
{
    end_registration(find_slot(r->link));
}

/* Busy. The span of the heap object holding the link word at link, NULL
 * when link lies outside the heap; false when it lies in the heap but in
 * no allocated object (a registration there would write into memory the
 * allocator hands out later). */
static bool link_holder(uintptr_t link, struct span **holder)
{
    struct object_ref ref;
    switch (object_find(link, &ref)) {
    case OBJECT_NOT_HEAP:
        *holder = NULL;
        return true;
    case OBJECT_START:
    case OBJECT_INTERIOR:
    case OBJECT_IN_TINY_BLOCK:
        *holder = ref.span;
        return link + sizeof(void *) <= ref.base + ref.size;
    default:
        return false;
    }
}

static bool valid_link(const void *link)
{
    return link && ((uintptr_t)link & (sizeof(void *) - 1)) == 0;
}

/* Register link for target. handle_rule: target must be an object start
 * or lie in a tiny block (mgc_weak_new's rule), not any interior pointer. */
static int link_register(uintptr_t link, uintptr_t target, unsigned flags, bool handle_rule)
{
    runtime_ensure_init();
    (void)cache_get(); /* registers the thread: it must be stoppable */
    struct object_ref ref;
    busy_begin();
    enum object_status status = object_find(target, &ref);
    bool target_ok = status == OBJECT_START || status == OBJECT_IN_TINY_BLOCK ||
                     (!handle_rule && status == OBJECT_INTERIOR);
    struct span *holder = NULL;
    if (!target_ok || !link_holder(link, &holder)) {
        busy_end();
        return MGC_EINVAL;
    }
    int result = 0;
    pthread_mutex_lock(&weak_lock);
    struct weak_link **slot = find_slot(link);
    struct weak_link *r = NULL;
    if (slot && *slot) {
        result = MGC_EEXIST;
    } else if (!table_reserve(table.count + 1) || !(r = fixed_alloc(&records))) {
        result = MGC_ENOMEM;
    } else {
        r->link = link;
        r->target = target;
        r->flags = flags;
        r->spans[TARGET_LIST] = ref.span;
        r->spans[HOLDER_LIST] = holder;
        slot = find_slot(link); /* the table may have grown */
        r->hash_next = *slot;
        *slot = r;
        all_add(r);
        list_add(r, TARGET_LIST);
        list_add(r, HOLDER_LIST);
        store_relaxed(&table.count, table.count + 1);
    }
    pthread_mutex_unlock(&weak_lock);
    busy_end();
    return result;
}

int mgc_weak_link_register(void **link, void *obj, unsigned flags)
{
    if (!valid_link(link) || (flags & ~MGC_WEAK_LINK_LONG))
        return MGC_EINVAL;
    return link_register((uintptr_t)link, (uintptr_t)obj, flags, false);
}

int mgc_weak_link_unregister(void **link)
{
    if (!valid_link(link))
        return MGC_EINVAL;
    runtime_ensure_init();
    (void)cache_get();
    busy_begin();
    pthread_mutex_lock(&weak_lock);
    struct weak_link **slot = find_slot((uintptr_t)link);
    bool found = slot && *slot;
    if (found)
        end_registration(slot);
    pthread_mutex_unlock(&weak_lock);
    busy_end();
    return found ? 0 : MGC_EINVAL;
}

int mgc_weak_link_move(void **link, void **new_link)
{
    if (!valid_link(link) || !valid_link(new_link))
        return MGC_EINVAL;
    runtime_ensure_init();
    (void)cache_get();
    busy_begin();
    struct span *holder;
    if (!link_holder((uintptr_t)new_link, &holder)) {
        busy_end();
        return MGC_EINVAL;
    }
    int result = 0;
    pthread_mutex_lock(&weak_lock);
    struct weak_link **slot = find_slot((uintptr_t)link);
    if (!slot || !*slot) {
        result = MGC_EINVAL;
    } else if (new_link != link) {
        struct weak_link **new_slot = find_slot((uintptr_t)new_link);
        if (*new_slot) {
            result = MGC_EEXIST;
        } else {
            struct weak_link *r = *slot;
            *slot = r->hash_next;
            list_remove(r, HOLDER_LIST);
            r->link = (uintptr_t)new_link;
            r->spans[HOLDER_LIST] = holder;
            list_add(r, HOLDER_LIST);
            new_slot = find_slot(r->link); /* unlinking r may have changed it */
            r->hash_next = *new_slot;
            *new_slot = r;
        }
    }
    pthread_mutex_unlock(&weak_lock);
    busy_end();
    return result;
}

/* ---- The collector's side ---------------------------------------------------------------- */

/* World stopped: is the object of span s holding address marked? */
static bool object_marked(const struct span *s, uintptr_t address)
{
    if (s->uncollectable)
        return true;
    size_t index = s->large ? 0 : span_object_index(s, address);
    return load_mark(&s->mark_bytes[index]);
}

/* Walk every registration; visit returns true to end the one it is given. */
static void for_each_registration(bool (*visit)(struct weak_link *r))
{
    pthread_mutex_lock(&weak_lock);
    for (struct weak_link *r = all_first, *next; r; r = next) {
        next = r->all_next;
        __builtin_prefetch(next ? next->all_next : NULL);
        if (visit(r))
            end_record(r);
    }
    pthread_mutex_unlock(&weak_lock);
}

static bool clear_if_short_and_dead(struct weak_link *r)
{
    if ((r->flags & MGC_WEAK_LINK_LONG) || object_marked(r->spans[TARGET_LIST], r->target))
        return false;
    /* The link's own object, if unmarked, is still allocated until it is
     * swept, and may yet be kept for a finalizer: clear it regardless. */
    *(void **)r->link = NULL;
    return true;
}

static bool clear_if_dead(struct weak_link *r)
{
    struct span *holder = r->spans[HOLDER_LIST];
    if (holder && !object_marked(holder, r->link))
        return true; /* its memory is about to be freed: no write */
    if (object_marked(r->spans[TARGET_LIST], r->target))
        return false;
    *(void **)r->link = NULL;
    return true;
}

/* This collection's registrations were all settled by the first walk. */
static bool settled_early;

void weak_links_clear_short(void)
{
    settled_early = false;
    if (!load_relaxed(&table.count))
        return;
    /* With no finalizer set anywhere, none will be queued: the marks are
     * final already, and one walk does both steps. */
    settled_early = spans_with_specials == NULL;
    for_each_registration(settled_early ? clear_if_dead : clear_if_short_and_dead);
}

void weak_links_clear_long_and_dead(void)
{
    if (load_relaxed(&table.count) && !settled_early)
        for_each_registration(clear_if_dead);
}

void weak_links_drop_object(struct span *s, uintptr_t base, size_t size, bool tiny_object)
{
    pthread_mutex_lock(&weak_lock);
    if (!tiny_object) {
        /* Links inside the object go with its memory. */
        for (struct weak_link *r = s->weak_lists[HOLDER_LIST], *next; r; r = next) {
            next = r->list_next[HOLDER_LIST];
            if (r->link - base < size)
                end_record(r);
        }
    }
    for (struct weak_link *r = s->weak_lists[TARGET_LIST], *next; r; r = next) {
        next = r->list_next[TARGET_LIST];
        if (tiny_object ? r->target == base : r->target - base < size) {
            *(void **)r->link = NULL;
            end_record(r);
        }
    }
    pthread_mutex_unlock(&weak_lock);
}

/* ---- Weak handles ------------------------------------------------------------------------- */

mgc_weak *mgc_weak_new(void *obj)
{
    runtime_ensure_init();
    struct object_ref ref;
    enum object_status status = object_find((uintptr_t)obj, &ref);
    if (status != OBJECT_START && status != OBJECT_IN_TINY_BLOCK) {
        errno = EINVAL;
        return NULL;
    }
    mgc_weak *w = mgc_alloc_noscan(sizeof *w);
    if (!w)
        return NULL;
    w->target = obj;
    int result = link_register((uintptr_t)&w->target, (uintptr_t)obj, 0, true);
    if (result != 0) {
        /* EINVAL: obj was freed meanwhile by another thread. */
        errno = result;
        return NULL;
    }
    return w;
}

void *mgc_weak_get(mgc_weak *w)
{
    if (!w)
        return NULL;
    if (unlikely(!mgc_tls.record) && !thread_ensure_registered())
        return NULL; /* only a stoppable thread may read it safely */
    busy_begin();
    void *obj = load_relaxed(&w->target);
    /* Returning it through the busy stretch's end keeps it on this stack
     * should a collection stop the thread there. */
    return busy_end_returning(obj);
}

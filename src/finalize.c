/*
 * finalize.c: finalizers, kept as special records beside the spans.
 *
 * mgc_set_finalizer files a record in its object's span, in a list sorted
 * by offset, highest first: programs mostly set finalizers on objects in
 * the order they allocated them, which is address order within a span, so
 * the new record usually goes at the head. Spans that have any records are
 * linked together, so the collector visits only them. A record for an
 * object packed in a tiny block keeps the object's own offset, while
 * marking and sweeping see the enclosing 16-byte block: the finalizer
 * receives the pointer it was set on, and runs only when nothing points
 * into any byte of the block.
 *
 * In each collection (mark.c, then finalizers_queue_unreachable):
 *   1. every finalizable object's contents are scanned as a root, without
 *      marking the object itself: what it reaches stays alive, so that the
 *      finalizer finds it intact, and if A reaches B and both have
 *      finalizers, B is marked and only A's finalizer is due;
 *   2. when marking is done, each record whose object was not marked moves
 *      to the queue, and the object is marked so that sweeping keeps it;
 *   3. the queue is a root in later collections, until the finalizer has
 *      run; the object is freed by the first collection after that which
 *      finds it unreachable again.
 * So a finalizer runs once, never on a freed object. Objects on a cycle
 * that passes through a finalizable object keep each other alive and are
 * never finalized, as in Go and Boehm GC.
 *
 * Boehm's variants, as record flags: an IGNORE_SELF object's contents are
 * scanned in step 1 without the words that point into itself; a NO_ORDER
 * object's are not scanned in step 1 at all, so it is queued even when
 * another finalizable object or a cycle reaches it, and once queued, what
 * it reaches is marked in step 2 (mark_more) so that it stays intact too.
 * Short weak links are cleared between marking and step 2, long ones after
 * it (weak.c).
 *
 * Queued finalizers run on one background thread, started by the first
 * mgc_set_finalizer, or, in manual mode, when the program calls
 * mgc_run_finalizers. No lock is held while a finalizer runs, so it may
 * allocate, set finalizers, collect, or run finalizers itself.
 */
#include "mgc_internal.h"

pthread_mutex_t finalizer_lock = PTHREAD_MUTEX_INITIALIZER;
struct span *spans_with_specials;
struct special *finalizer_queue;
static struct special *finalizer_queue_tail;
static struct fixed_alloc special_records = {.size = sizeof(struct special), .kind = SYS_OTHER};
static uint64_t finalizers_run_total;

/* The finalizer thread: started once, wakes when work is queued or the
 * mode changes. */
static void *finalizer_runner(void *unused);
static struct service_thread runner = SERVICE_THREAD_INIT(finalizer_runner);
static int finalizer_mode = MGC_FINALIZE_THREAD;
static size_t finalizers_queued;    /* on finalizer_queue; written under finalizer_lock */
static mgc_notifier_fn notifier;    /* manual mode: told when a collection queued some */

uint64_t finalizers_run_count(void)
{
    return __atomic_load_n(&finalizers_run_total, __ATOMIC_RELAXED);
}

/* ---- Records ---------------------------------------------------------------------------- */

static void link_span(struct span *s)
{
    store_relaxed(&s->free_slow.part[0], 1);
    s->specials_prev = NULL;
    s->specials_next = spans_with_specials;
    if (spans_with_specials)
        spans_with_specials->specials_prev = s;
    spans_with_specials = s;
}

static void unlink_span(struct span *s)
{
    if (s->specials_prev)
        s->specials_prev->specials_next = s->specials_next;
    else
        spans_with_specials = s->specials_next;
    if (s->specials_next)
        s->specials_next->specials_prev = s->specials_prev;
    s->specials_next = s->specials_prev = NULL;
    store_relaxed(&s->free_slow.part[0], 0);
}

/* Remove *link from s's list (finalizer lock held). */
static struct special *take_record(struct span *s, struct special **link)
{
    struct special *r = *link;
    *link = r->next;
    r->next = NULL;
    if (!s->specials)
        unlink_span(s);
    return r;
}

/* Busy, lock held. The link to the first record at or below offset: the
 * record for exactly offset, or where it would go. */
static struct special **find_link(struct span *s, uintptr_t offset)
{
    struct special **link = &s->specials;
    while (*link && (*link)->offset > offset)
        link = &(*link)->next;
    return link;
}

/* Set, replace or remove obj's finalizer; replace: an existing one is
 * replaced rather than refused. The old one goes to *old_fn and *old_arg
 * (either may be NULL). */
static int change_finalizer(void *obj, mgc_finalizer_fn fn, void *arg, unsigned flags, bool replace,
                            mgc_finalizer_fn *old_fn, void **old_arg)
{
    mgc_finalizer_fn previous_fn = NULL;
    void *previous_arg = NULL;
    runtime_ensure_init();
    struct cache *c = cache_get(); /* registers the thread: it must be stoppable */
    (void)c;
    struct object_ref ref;
    int result = 0;
    busy_begin();
    enum object_status status = object_find((uintptr_t)obj, &ref);
    if (status != OBJECT_START && status != OBJECT_IN_TINY_BLOCK) {
        busy_end();
        result = MGC_EINVAL;
        goto out;
    }
    struct span *s = ref.span;
    uintptr_t offset = (uintptr_t)obj - s->start;
    pthread_mutex_lock(&finalizer_lock);
    struct special **link = find_link(s, offset);
    bool present = *link && (*link)->offset == offset;
    if (present) {
        previous_fn = (*link)->fn;
        previous_arg = (*link)->arg;
    }
    if (!fn) {
        if (present)
            fixed_free(&special_records, take_record(s, link));
    } else if (present && !replace) {
        result = MGC_EEXIST;
        previous_fn = NULL, previous_arg = NULL;
    } else if (present) {
        (*link)->fn = fn;
        (*link)->arg = arg;
        (*link)->flags = flags;
    } else {
        struct special *r = fixed_alloc(&special_records);
        if (!r) {
            result = MGC_ENOMEM;
        } else {
            r->offset = offset;
            r->fn = fn;
            r->arg = arg;
            r->flags = flags;
            r->next = *link;
            if (!s->specials)
                link_span(s);
            *link = r;
        }
    }
    pthread_mutex_unlock(&finalizer_lock);
    busy_end();
    if (result == 0 && fn && load_relaxed(&finalizer_mode) == MGC_FINALIZE_THREAD)
        service_start(&runner);
out:
    if (old_fn)
        *old_fn = previous_fn;
    if (old_arg)
        *old_arg = previous_arg;
    return result;
}

int mgc_set_finalizer(void *obj, mgc_finalizer_fn fn, void *arg)
{
    return change_finalizer(obj, fn, arg, 0, false, NULL, NULL);
}

int mgc_replace_finalizer(void *obj, mgc_finalizer_fn fn, void *arg, unsigned flags, mgc_finalizer_fn *old_fn,
                          void **old_arg)
{
    if (flags & ~(MGC_FINALIZER_NO_ORDER | MGC_FINALIZER_IGNORE_SELF)) {
        if (old_fn)
            *old_fn = NULL;
        if (old_arg)
            *old_arg = NULL;
        return MGC_EINVAL;
    }
    return change_finalizer(obj, fn, arg, flags, true, old_fn, old_arg);
}

int mgc_get_finalizer(const void *obj, mgc_finalizer_fn *fn, void **arg)
{
    mgc_finalizer_fn found_fn = NULL;
    void *found_arg = NULL;
    runtime_ensure_init();
    (void)cache_get();
    struct object_ref ref;
    int result = 0;
    busy_begin();
    enum object_status status = object_find((uintptr_t)obj, &ref);
    if (status != OBJECT_START && status != OBJECT_IN_TINY_BLOCK) {
        result = MGC_EINVAL;
    } else {
        struct span *s = ref.span;
        uintptr_t offset = (uintptr_t)obj - s->start;
        pthread_mutex_lock(&finalizer_lock);
        struct special *r = *find_link(s, offset);
        if (r && r->offset == offset) {
            found_fn = r->fn;
            found_arg = r->arg;
        }
        pthread_mutex_unlock(&finalizer_lock);
    }
    busy_end();
    if (fn)
        *fn = found_fn;
    if (arg)
        *arg = found_arg;
    return result;
}

size_t mgc_finalizers_pending(void)
{
    return load_relaxed(&finalizers_queued);
}

mgc_notifier_fn mgc_set_finalizer_notifier(mgc_notifier_fn fn)
{
    return __atomic_exchange_n(&notifier, fn, __ATOMIC_ACQ_REL);
}

void finalizers_drop(struct span *s, uintptr_t base, size_t size)
{
    pthread_mutex_lock(&finalizer_lock);
    uintptr_t first = base - s->start;
    struct special **link = find_link(s, first + size - 1);
    while (*link && (*link)->offset >= first)
        fixed_free(&special_records, take_record(s, link));
    pthread_mutex_unlock(&finalizer_lock);
}

/* ---- The collector's side ------------------------------------------------------------------ */

static size_t record_index(const struct span *s, const struct special *r)
{
    return s->large ? 0 : span_object_index(s, s->start + r->offset);
}

size_t finalizers_queue_unreachable(uint64_t *bytes, uint64_t *objects)
{
    size_t queued = 0;
    *bytes = *objects = 0;
    pthread_mutex_lock(&finalizer_lock);
    struct special *due = NULL, **due_tail = &due;
    for (struct span *s = spans_with_specials, *next; s; s = next) {
        next = s->specials_next;
        if (s->uncollectable)
            continue; /* never unreachable: their finalizers wait for mgc_free */
        /* Decide for every record before marking any object, so that all
         * the objects of one tiny block are judged alike. */
        for (struct special **link = &s->specials; *link;) {
            if (load_mark(&s->mark_bytes[record_index(s, *link)])) {
                link = &(*link)->next;
                continue;
            }
            struct special *r = take_record(s, link);
            r->offset += s->start; /* from now on, the object's address */
            *due_tail = r;
            due_tail = &r->next;
            queued++;
        }
    }
    /* Keep the objects until their finalizers have run. Their contents were
     * scanned as roots already (mark.c), so nothing they reach was missed,
     * except for NO_ORDER objects: what those reach is marked now. */
    enum { BATCH = 64 };
    struct root_range no_order[BATCH];
    size_t pending_ranges = 0;
    for (struct special *r = due; r; r = r->next) {
        struct span *s = span_of(r->offset);
        size_t index = s->large ? 0 : span_object_index(s, r->offset);
        if (!load_mark(&s->mark_bytes[index])) {
            store_mark(&s->mark_bytes[index], true);
            *bytes += s->large ? span_bytes(s) : s->elem_size;
            *objects += 1;
        }
        if ((r->flags & MGC_FINALIZER_NO_ORDER) && !s->noscan) {
            uintptr_t base = s->start + index * (uintptr_t)s->elem_size;
            no_order[pending_ranges++] = (struct root_range){base, base + (s->large ? span_bytes(s) : s->elem_size)};
            if (pending_ranges == BATCH) {
                mark_more(no_order, pending_ranges, bytes, objects);
                pending_ranges = 0;
            }
        }
    }
    if (pending_ranges)
        mark_more(no_order, pending_ranges, bytes, objects);
    store_relaxed(&finalizers_queued, finalizers_queued + queued);
    if (due) {
        if (finalizer_queue_tail)
            finalizer_queue_tail->next = due;
        else
            finalizer_queue = due;
        finalizer_queue_tail = (struct special *)((char *)due_tail - offsetof(struct special, next));
    }
    pthread_mutex_unlock(&finalizer_lock);
    return queued;
}

/* ---- Running them ----------------------------------------------------------------------------- */

/* Take the next queued finalizer; false when there is none. */
static bool next_finalizer(mgc_finalizer_fn *fn, void **obj, void **arg)
{
    busy_begin();
    pthread_mutex_lock(&finalizer_lock);
    struct special *r = finalizer_queue;
    if (r) {
        finalizer_queue = r->next;
        if (!finalizer_queue)
            finalizer_queue_tail = NULL;
        *fn = r->fn;
        *obj = (void *)r->offset;
        *arg = r->arg;
        fixed_free(&special_records, r);
        store_relaxed(&finalizers_queued, finalizers_queued - 1);
    }
    pthread_mutex_unlock(&finalizer_lock);
    /* From here on obj and arg live in this thread's frames, a root. */
    (void)busy_end_returning(r ? *obj : NULL);
    return r != NULL;
}

size_t mgc_run_finalizers(void)
{
    runtime_ensure_init();
    if (!thread_ensure_registered()) /* obj must be on a scanned stack */
        return 0;
    size_t count = 0;
    mgc_finalizer_fn fn;
    void *obj, *arg;
    while (next_finalizer(&fn, &obj, &arg)) {
        fn(obj, arg);
        __atomic_fetch_add(&finalizers_run_total, 1, __ATOMIC_RELAXED);
        count++;
    }
    return count;
}

static void *finalizer_runner(void *unused)
{
    (void)unused;
    uint64_t seen = 0;
    /* Registered, so that the object a finalizer runs on, held only in this
     * thread's frames, stays alive. */
    if (!thread_ensure_registered()) {
        service_gave_up(&runner); /* out of memory: the next wake tries again */
        return NULL;
    }
    for (;;) {
        /* One at a time, checking the mode before each: a switch to manual
         * mode stops this thread at once. */
        mgc_finalizer_fn fn;
        void *obj, *arg;
        while (load_relaxed(&finalizer_mode) == MGC_FINALIZE_THREAD && next_finalizer(&fn, &obj, &arg)) {
            fn(obj, arg);
            __atomic_fetch_add(&finalizers_run_total, 1, __ATOMIC_RELAXED);
        }
        service_wait(&runner, &seen);
    }
    return NULL;
}

void finalizers_wake(void)
{
    /* Started here too: after a fork, the child has no runner yet. */
    service_wake(&runner, load_relaxed(&finalizer_mode) == MGC_FINALIZE_THREAD);
    mgc_notifier_fn fn = __atomic_load_n(&notifier, __ATOMIC_ACQUIRE);
    if (fn && load_relaxed(&finalizer_mode) == MGC_FINALIZE_MANUAL)
        fn();
}

void mgc_set_finalizer_mode(int mode)
{
    runtime_ensure_init();
    if (mode != MGC_FINALIZE_THREAD && mode != MGC_FINALIZE_MANUAL)
        return;
    store_relaxed(&finalizer_mode, mode);
    if (mode == MGC_FINALIZE_THREAD) {
        bool any;
        busy_begin();
        pthread_mutex_lock(&finalizer_lock);
        any = finalizer_queue != NULL || spans_with_specials != NULL;
        pthread_mutex_unlock(&finalizer_lock);
        busy_end();
        if (any)
            finalizers_wake();
    }
}

void finalizers_after_fork_child(void)
{
    /* The finalizer thread did not come along; the next collection that
     * queues finalizers starts another. */
    service_after_fork_child(&runner);
}

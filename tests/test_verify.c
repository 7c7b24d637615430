/*
 * test_verify.c: MGC_DEBUG=verify=1 and the verifier behind it (verify.c).
 *
 * A healthy heap, after every kind of allocation, free and collection,
 * verifies clean. And the verifier is no formality: each death test breaks
 * one invariant through the internals (a flipped allocation bit, a broken
 * list, a misplaced finalizer record, ...) and expects the verifier to
 * abort naming it.
 */
#include <pthread.h>
#include <string.h>
#include <sys/wait.h>

#include "harness.h"
#include "mgc_internal.h"

static void noop_finalizer(void *obj, void *arg)
{
    (void)obj;
    (void)arg;
}

/* Objects of every kind, some freed, some garbage, some with finalizers. */
static void *kept[400];

static void build_varied_heap(void)
{
    mgc_set_finalizer_mode(MGC_FINALIZE_MANUAL);
    for (int i = 0; i < 400; i++) {
        size_t size = (size_t)(i * 37 % 3000) + 1;
        switch (i % 6) {
        case 0: kept[i] = mgc_alloc(size); break;
        case 1: kept[i] = mgc_alloc_noscan(i % 15 + 1); break;
        case 2: kept[i] = mgc_alloc_flags(size, MGC_UNCOLLECTABLE); break;
        case 3: kept[i] = mgc_alloc(40000 + size); break;
        case 4: kept[i] = mgc_calloc(3, size); break;
        default: kept[i] = mgc_realloc(mgc_alloc(16), size * 2); break;
        }
        CHECK(kept[i] != NULL);
        if (i % 7 == 0)
            CHECK(mgc_set_finalizer(kept[i], noop_finalizer, NULL) == 0);
        (void)mgc_alloc(size); /* garbage */
    }
    for (int i = 0; i < 400; i += 5)
        if (i % 6 != 1) {
            mgc_free(kept[i]);
            kept[i] = NULL;
        }
}

TEST(healthy_heap_verifies)
{
    build_varied_heap();
    gc_verify_heap_now();
    mgc_collect();
    gc_verify_heap_now();
    for (int i = 0; i < 400; i += 3)
        kept[i] = NULL;
    mgc_collect();
    mgc_run_finalizers();
    mgc_collect();
    gc_verify_heap_now();
}

ENV_TEST(verify_at_every_collection_passes_on_a_healthy_heap, "MGC_DEBUG=verify=1")
{
    build_varied_heap();
    CHECK(debug.verify == 1);
    for (int round = 0; round < 5; round++) {
        for (int i = 0; i < 20000; i++)
            (void)mgc_alloc((size_t)(i % 500) + 1);
        mgc_collect();
    }
    struct mgc_stats st;
    mgc_read_stats(&st);
    CHECK(st.num_gc >= 5);
}

static void *allocating_thread(void *unused)
{
    (void)unused;
    for (int i = 0; i < 200000; i++) {
        void **p = mgc_alloc(48);
        p[0] = mgc_alloc_noscan((size_t)(i % 20) + 1);
        if (i % 3 == 0)
            mgc_free(p);
    }
    return NULL;
}

ENV_TEST(verify_while_threads_allocate_and_free, "MGC_DEBUG=verify=1")
{
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        CHECK(pthread_create(&t[i], NULL, allocating_thread, NULL) == 0);
    for (int i = 0; i < 10; i++) {
        mgc_collect();
        gc_verify_heap_now();
    }
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    gc_verify_heap_now();
}

/* ---- Broken on purpose ------------------------------------------------------------------------- */

/* One object of size bytes in a span of its own class, the span back on its
 * central list (the verifier flushes every cache) and verified clean. */
static struct span *settled_span(size_t size, void **object)
{
    *object = mgc_alloc(size);
    CHECK(*object != NULL);
    gc_verify_heap_now();
    struct span *s = span_of((uintptr_t)*object);
    CHECK(s != NULL && s->owner == NULL && s->list == LIST_PARTIAL);
    return s;
}

DEATH_TEST(flipped_allocation_bit_is_caught, "mgc: verify: allocated_count disagrees with the allocation bitmap")
{
    void *p;
    struct span *s = settled_span(48, &p);
    s->alloc_bits[0] ^= (uint64_t)1 << 5;
    gc_verify_heap_now();
}

DEATH_TEST(bit_beyond_the_last_slot_is_caught, "mgc: verify: allocation bit set beyond the span's last slot")
{
    void *p;
    struct span *s = settled_span(48, &p); /* 170 slots: the last word has 42 */
    CHECK(s->nelems % 64 != 0);
    size_t w = bitmap_words(s->nelems) - 1;
    s->alloc_bits[w] |= (uint64_t)1 << 63;
    gc_verify_heap_now();
}

DEATH_TEST(pending_free_in_a_span_nobody_holds_is_caught, "mgc: verify: free pending in the freed bitmap")
{
    void *p;
    struct span *s = settled_span(48, &p);
    s->freed_bits[0] |= 1;
    gc_verify_heap_now();
}

DEATH_TEST(wrong_list_index_is_caught, "mgc: verify: span is on another list than its list/list_index fields say")
{
    void *p;
    struct span *s = settled_span(48, &p);
    s->list_index ^= 1;
    gc_verify_heap_now();
}

DEATH_TEST(wrong_list_count_is_caught, "mgc: verify: span list's last link or count is wrong")
{
    void *p;
    struct span *s = settled_span(48, &p);
    centrals[s->span_class].partial[s->list_index].count++;
    gc_verify_heap_now();
}

DEATH_TEST(broken_back_link_is_caught, "mgc: verify: span list's back link is broken")
{
    void *p;
    struct span *s = settled_span(48, &p);
    s->prev = s; /* the head of its list, pointing back at itself */
    gc_verify_heap_now();
}

DEATH_TEST(list_cycle_is_caught, "mgc: verify: span list is longer than its count (a cycle?)")
{
    void *p;
    struct span *s = settled_span(48, &p);
    s->next = s;
    gc_verify_heap_now();
}

DEATH_TEST(span_on_the_list_of_another_class_is_caught, "mgc: verify: span on the central list of another class")
{
    void *p;
    struct span *s = settled_span(48, &p);
    struct central *c = &centrals[s->span_class];
    struct central *other = &centrals[s->span_class + 2];
    span_list_remove(&c->partial[s->list_index], s);
    span_list_push(&other->partial[other->phase], s, LIST_PARTIAL);
    s->list_index = other->phase;
    gc_verify_heap_now();
}

DEATH_TEST(statistics_that_disagree_are_caught, "mgc: verify: statistics disagree with the allocation bitmaps")
{
    void *p;
    struct span *s = settled_span(48, &p);
    /* An object the counters never saw: bitmap and count agree. */
    s->alloc_bits[0] |= (uint64_t)1 << 7;
    s->allocated_count++;
    gc_verify_heap_now();
}

DEATH_TEST(marked_free_slot_is_caught, "mgc: verify: free slot is marked")
{
    void *p;
    struct span *s = settled_span(48, &p);
    s->mark_bytes[9] = 1;
    gc_verify_heap_now();
}

DEATH_TEST(dirty_free_slot_is_caught, "mgc: verify: free slot of a span without needs_zero is not zero")
{
    void *p;
    struct span *s = settled_span(48, &p);
    CHECK(!s->needs_zero);
    ((char *)p)[48 * 3 + 5] = 1; /* slot 3, free */
    gc_verify_heap_now();
}

DEATH_TEST(free_run_over_a_span_in_use_is_caught, "mgc: verify: map entry names a span that does not start on its page")
{
    void *p;
    struct span *s = settled_span(48, &p);
    /* The free run right after s (the heap grew for it) stretched back
     * over s's last page. */
    struct span *after = span_map_entry(s->start + span_bytes(s));
    CHECK(after && after->state == SPAN_FREE && after->start == s->start + span_bytes(s));
    heap_lock();
    after->start -= PAGE_SIZE;
    after->npages++;
    heap_unlock();
    gc_verify_heap_now();
}

DEATH_TEST(span_in_use_over_a_free_run_is_caught, "mgc: verify: page of a span in use maps to another span")
{
    void *p;
    struct span *s = settled_span(48, &p);
    s->npages++; /* now takes the first page of the free run after it */
    gc_verify_heap_now();
}

DEATH_TEST(unsorted_finalizer_records_are_caught, "mgc: verify: finalizer records are not sorted highest offset first")
{
    void *a = mgc_alloc(48), *b = mgc_alloc(48);
    CHECK(span_of((uintptr_t)a) == span_of((uintptr_t)b));
    CHECK(mgc_set_finalizer(a, noop_finalizer, NULL) == 0);
    CHECK(mgc_set_finalizer(b, noop_finalizer, NULL) == 0);
    gc_verify_heap_now();
    struct special *first = span_of((uintptr_t)a)->specials;
    uintptr_t offset = first->offset;
    first->offset = first->next->offset;
    first->next->offset = offset;
    gc_verify_heap_now();
}

DEATH_TEST(finalizer_record_on_a_free_slot_is_caught, "mgc: verify: finalizer record on a free slot")
{
    void *a = mgc_alloc(48);
    CHECK(mgc_set_finalizer(a, noop_finalizer, NULL) == 0);
    gc_verify_heap_now();
    span_of((uintptr_t)a)->specials->offset += 48 * 4;
    gc_verify_heap_now();
}

DEATH_TEST(finalizer_record_outside_its_span_is_caught, "mgc: verify: finalizer record lies outside its span")
{
    void *a = mgc_alloc(48);
    CHECK(mgc_set_finalizer(a, noop_finalizer, NULL) == 0);
    gc_verify_heap_now();
    struct span *s = span_of((uintptr_t)a);
    s->specials->offset = s->limit - s->start;
    gc_verify_heap_now();
}

DEATH_TEST(large_object_off_its_list_is_caught, "mgc: verify: large lists do not hold exactly the large objects")
{
    void *p = mgc_alloc(100000);
    gc_verify_heap_now();
    struct span *s = span_of((uintptr_t)p);
    /* Quietly dropped from the large list, fields left saying it is on it. */
    heap_lock();
    struct heap_description h;
    heap_describe(&h);
    struct span_list *l = (struct span_list *)&h.large[s->list_index];
    span_list_remove(l, s);
    s->list = LIST_LARGE;
    heap_unlock();
    gc_verify_heap_now();
}

/* With verify=1, the check runs inside the collection itself. */
TEST_CASE(collection_verifies_with_verify_on, "mgc: verify: allocated_count disagrees", "MGC_DEBUG=verify=1")
{
    void *p;
    struct span *s = settled_span(48, &p);
    s->alloc_bits[0] ^= (uint64_t)1 << 5;
    mgc_collect();
}

/* ---- What the verifier found: spans orphaned by fork -------------------------------------------- */

static pthread_mutex_t handover_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t handover_done = PTHREAD_COND_INITIALIZER;
static int handover_state; /* 1: span taken, not yet in the slot; 2: released by the test */

/* A thread caught between central_acquire and putting the span in its
 * slot, where hand_over's zeroing of a whole span leaves a fork plenty of
 * time to copy it. */
static void *take_span_and_stall(void *unused)
{
    (void)unused;
    mgc_free(mgc_alloc(64)); /* a cache of its own */
    busy_begin();
    struct span *s = central_acquire(size_to_class(48) * 2, mgc_tls.cache);
    CHECK(s != NULL);
    if (debug.poison) {
        /* A free slot whose poisoning the fork cut short. */
        size_t i = 0;
        while (bit_is_set(s->alloc_bits, i))
            i++;
        memset((void *)(s->start + i * s->elem_size), 0, s->elem_size);
    }
    pthread_mutex_lock(&handover_lock);
    handover_state = 1;
    pthread_cond_broadcast(&handover_done);
    while (handover_state != 2)
        pthread_cond_wait(&handover_done, &handover_lock);
    pthread_mutex_unlock(&handover_lock);
    mgc_tls.cache->slots[s->span_class].span = s; /* what cache_refill does next */
    busy_end();
    return NULL;
}

static void child_verifies_and_allocates(void *unused)
{
    (void)unused;
    gc_verify_heap_now();
    for (int i = 0; i < 1000; i++)
        CHECK(mgc_alloc(48) != NULL);
    mgc_collect();
    gc_verify_heap_now();
}

static void fork_mid_handover(void)
{
    /* Before the fix, the child's verifier said: "span held by a cache or
     * sweeper after every cache was flushed" (found by test_gc's
     * fork_while_threads_allocate under MGC_DEBUG=verify=1). */
    void *p = mgc_alloc(48); /* a span of the class on the central list */
    gc_verify_heap_now();
    pthread_t t;
    CHECK(pthread_create(&t, NULL, take_span_and_stall, NULL) == 0);
    pthread_mutex_lock(&handover_lock);
    while (handover_state != 1)
        pthread_cond_wait(&handover_done, &handover_lock);
    pthread_mutex_unlock(&handover_lock);
    char text[4096];
    int status = run_in_child(child_verifies_and_allocates, NULL, text, sizeof text);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fprintf(stderr, "child: %s\n", text);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    pthread_mutex_lock(&handover_lock);
    handover_state = 2;
    pthread_cond_broadcast(&handover_done);
    pthread_mutex_unlock(&handover_lock);
    pthread_join(t, NULL);
    CHECK(p != NULL);
}

TEST(fork_child_files_a_span_caught_mid_handover)
{
    fork_mid_handover();
}

/* Before the fix (free slots poisoned again in an adopted span), the
 * child's verifier said "free slot written after free". */
ENV_TEST(fork_child_files_a_span_caught_mid_handover_poisoned, "MGC_DEBUG=poison=1")
{
    fork_mid_handover();
}

static pthread_mutex_t free_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t free_cond = PTHREAD_COND_INITIALIZER;
static int free_state;

/* A thread caught half way through a free of its own: the bit is clear,
 * the free not counted yet (free.c counts it right after). */
static void *free_and_stall(void *unused)
{
    (void)unused;
    char *x = mgc_alloc(48);
    busy_begin();
    struct span *s = span_of((uintptr_t)x);
    size_t index = span_object_index(s, (uintptr_t)x);
    s->alloc_bits[index / 64] &= ~((uint64_t)1 << (index % 64));
    pthread_mutex_lock(&free_lock);
    free_state = 1;
    pthread_cond_broadcast(&free_cond);
    while (free_state != 2)
        pthread_cond_wait(&free_cond, &free_lock);
    pthread_mutex_unlock(&free_lock);
    s->alloc_bits[index / 64] |= (uint64_t)1 << (index % 64); /* as it was, for the parent */
    busy_end();
    return NULL;
}

TEST(fork_child_statistics_match_the_bitmaps)
{
    /* Before the fix: "mgc: verify: statistics disagree with the allocation
     * bitmaps" in the child (found by test_gc fork_while_threads_allocate
     * under MGC_DEBUG=poison=1,verify=1). */
    pthread_t t;
    CHECK(pthread_create(&t, NULL, free_and_stall, NULL) == 0);
    pthread_mutex_lock(&free_lock);
    while (free_state != 1)
        pthread_cond_wait(&free_cond, &free_lock);
    pthread_mutex_unlock(&free_lock);
    char text[4096];
    int status = run_in_child(child_verifies_and_allocates, NULL, text, sizeof text);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fprintf(stderr, "child: %s\n", text);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    pthread_mutex_lock(&free_lock);
    free_state = 2;
    pthread_cond_broadcast(&free_cond);
    pthread_mutex_unlock(&free_lock);
    pthread_join(t, NULL);
}

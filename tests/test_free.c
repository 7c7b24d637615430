/*
 * test_free.c: explicit free. Reuse, and every way a bad pointer must be
 * caught: not from mgc, not an object start, freed twice (small and large,
 * from the allocating thread and from another one).
 */
#include <pthread.h>
#include <string.h>

#include "harness.h"
#include "mgc_internal.h"

TEST(free_and_reuse_small)
{
    void *a = mgc_alloc(64);
    mgc_free(a);
    void *b = mgc_alloc(64);
    CHECK(b == a); /* the freed slot is the next one handed out */
    CHECK(all_zero(b, 64));
}

TEST(free_and_reuse_large)
{
    struct mgc_stats before, after;
    void *warm = mgc_alloc(10);
    (void)warm;
    mgc_read_stats(&before);
    for (int i = 0; i < 1000; i++) {
        char *p = mgc_alloc(1 << 20);
        CHECK(p != NULL);
        p[i] = 1;
        mgc_free(p);
    }
    mgc_read_stats(&after);
    /* A megabyte at a time: the heap must not have grown by a gigabyte. */
    CHECK(after.heap_sys - before.heap_sys < ((uint64_t)16 << 20));
    CHECK_EQ(after.heap_inuse, before.heap_inuse);
}

TEST(free_every_size_class)
{
    for (unsigned c = 1; c < NUM_SIZE_CLASSES; c++) {
        size_t size = class_to_size[c];
        void *p[40];
        for (int i = 0; i < 40; i++) {
            p[i] = mgc_alloc(size);
            fill_pattern(p[i], size, c);
        }
        for (int i = 0; i < 40; i += 2)
            mgc_free(p[i]);
        for (int i = 1; i < 40; i += 2)
            CHECK(check_pattern(p[i], size, c));
        for (int i = 1; i < 40; i += 2)
            mgc_free(p[i]);
    }
}

TEST(free_of_tiny_object_is_a_no_op)
{
    char *a = mgc_alloc_noscan(4), *b = mgc_alloc_noscan(4);
    strcpy(b, "abc");
    mgc_free(a);
    mgc_free(a); /* still a no-op: the block is alive */
    CHECK(strcmp(b, "abc") == 0);
    CHECK(mgc_base(a) != NULL);
}

TEST(free_of_zero_size_and_null)
{
    mgc_free(NULL);
    mgc_free(mgc_alloc(0));
    mgc_free(mgc_alloc(0));
}

DEATH_TEST(free_of_stack_address_aborts, "not an mgc heap address")
{
    int local = 0;
    mgc_free(&local);
}

DEATH_TEST(free_of_malloc_pointer_aborts, "not an mgc heap address")
{
    mgc_alloc(8);
    mgc_free(malloc(32));
}

DEATH_TEST(free_before_any_allocation_aborts, "mgc: free of 0x")
{
    static long global;
    mgc_free(&global);
}

DEATH_TEST(free_of_interior_pointer_aborts, "not the start of an object")
{
    char *p = mgc_alloc(48);
    mgc_free(p + 16);
}

DEATH_TEST(free_of_interior_large_pointer_aborts, "not the start of an object")
{
    char *p = mgc_alloc(100000);
    mgc_free(p + 8192);
}

DEATH_TEST(double_free_small_aborts, "double free")
{
    void *p = mgc_alloc(32);
    mgc_free(p);
    mgc_free(p);
}

DEATH_TEST(double_free_after_other_frees_aborts, "double free")
{
    /* The freed object's span is no longer the thread's current one. */
    void *p = mgc_alloc(256);
    for (int i = 0; i < 10000; i++)
        mgc_alloc(256);
    mgc_free(p);
    mgc_free(p);
}

DEATH_TEST(double_free_large_aborts, "double free")
{
    void *p = mgc_alloc(1 << 20);
    void *keep = mgc_alloc(1 << 20); /* so the pages do not merge away */
    (void)keep;
    mgc_free(p);
    mgc_free(p);
}

DEATH_TEST(free_of_never_allocated_slot_aborts, "not allocated")
{
    char *p = mgc_alloc(128);
    mgc_free(p + 128 * 5); /* an object start where nothing was allocated */
}

DEATH_TEST(free_of_uncollectable_twice_aborts, "double free")
{
    void *p = mgc_alloc_flags(40, MGC_UNCOLLECTABLE);
    mgc_free(p);
    mgc_free(p);
}

static void *free_it(void *p)
{
    mgc_free(p);
    return NULL;
}

DEATH_TEST(double_free_from_another_thread_aborts, "double free")
{
    /* The object's span is held by the main thread's cache, so the second
     * thread's frees go through the freed bitmap. */
    void *p = mgc_alloc(64);
    pthread_t t;
    pthread_create(&t, NULL, free_it, p);
    pthread_join(t, NULL);
    pthread_create(&t, NULL, free_it, p);
    pthread_join(t, NULL);
}

/* A thread that allocates one object, hands it over, and exits when told. */
struct handover {
    void *object;
    pthread_barrier_t allocated, freed;
};

static void *allocate_and_wait(void *argument)
{
    struct handover *h = argument;
    h->object = mgc_alloc(64);
    pthread_barrier_wait(&h->allocated);
    pthread_barrier_wait(&h->freed);
    return NULL; /* exiting gives the cache's spans back */
}

DEATH_TEST(double_free_after_the_holder_folded_it_aborts, "double free")
{
    /* The main thread frees an object whose span another thread's cache
     * holds (a pending freed bit); that thread exits and folds the bit into
     * its allocation bitmap; the second free must still be caught. */
    struct handover h;
    pthread_barrier_init(&h.allocated, NULL, 2);
    pthread_barrier_init(&h.freed, NULL, 2);
    pthread_t t;
    pthread_create(&t, NULL, allocate_and_wait, &h);
    pthread_barrier_wait(&h.allocated);
    mgc_free(h.object);
    pthread_barrier_wait(&h.freed);
    pthread_join(t, NULL);
    mgc_free(h.object);
}

TEST(free_after_the_holder_exited_works)
{
    struct handover h;
    pthread_barrier_init(&h.allocated, NULL, 2);
    pthread_barrier_init(&h.freed, NULL, 2);
    pthread_t t;
    pthread_create(&t, NULL, allocate_and_wait, &h);
    pthread_barrier_wait(&h.allocated);
    pthread_barrier_wait(&h.freed);
    pthread_join(t, NULL);
    void *keep = mgc_alloc(64); /* unrelated object, stays */
    mgc_free(h.object);         /* the span now sits in its central list */
    struct mgc_stats s;
    mgc_read_stats(&s);
    CHECK_EQ(s.frees, 1);
    CHECK(mgc_base(keep) == keep);
}

/* mgc_free tries the span it freed into last before the span map. These
 * cases free right after that hint was set, and after the hinted span went
 * back to its central list and its record may describe another span. */

DEATH_TEST(double_free_right_after_a_hinted_free_aborts, "double free")
{
    char *p = mgc_alloc(48), *q = mgc_alloc(48);
    mgc_free(q); /* the span becomes the hint */
    mgc_free(p);
    mgc_free(p);
}

DEATH_TEST(interior_free_in_the_hinted_span_aborts, "not the start of an object")
{
    char *p = mgc_alloc(48), *q = mgc_alloc(48);
    mgc_free(q);
    mgc_free(p + 8);
}

DEATH_TEST(free_of_never_allocated_slot_in_the_hinted_span_aborts, "not allocated")
{
    char *p = mgc_alloc(48), *q = mgc_alloc(48);
    mgc_free(q);
    mgc_free(p + 48 * 7);
}

TEST(frees_stay_exact_while_spans_change_hands)
{
    /* Objects of many classes, tiny ones among them, freed in a random
     * order with collections in between: every collection takes each span
     * from its cache, and spans emptied by frees go back to the page heap,
     * whose records then describe other spans. Every object still held must
     * keep its bytes, and every free must count exactly once. Freeing a tiny
     * object is a no-op (API.md), so those stay held and must keep their
     * bytes too. */
    enum { N = 20000 };
    static char *objects[N];
    static size_t sizes[N];
    static bool tiny[N];
    uint64_t state = 0x9E3779B97F4A7C15u;
    struct mgc_stats before, after;
    mgc_read_stats(&before);
    uint64_t freed = 0;
    for (int round = 0; round < 6; round++) {
        for (int i = 0; i < N; i++) {
            if (objects[i])
                continue;
            uint64_t r = random_next(&state) >> 20;
            tiny[i] = r % 4 == 0;
            sizes[i] = tiny[i] ? 1 + (r >> 8) % 15 : 16 + (r >> 8) % 3000;
            objects[i] = tiny[i] ? mgc_alloc_noscan(sizes[i]) : mgc_alloc(sizes[i]);
            CHECK(objects[i] != NULL);
            fill_pattern(objects[i], sizes[i], (unsigned)i);
        }
        for (int k = 0; k < N / 2; k++) {
            int i = (int)((random_next(&state) >> 33) % N);
            if (!objects[i])
                continue;
            CHECK(check_pattern(objects[i], sizes[i], (unsigned)i));
            mgc_free(objects[i]);
            if (!tiny[i]) {
                objects[i] = NULL;
                freed++;
            }
            if (k % 2500 == 0)
                mgc_collect();
        }
        mgc_collect();
        for (int i = 0; i < N; i++)
            if (objects[i])
                CHECK(check_pattern(objects[i], sizes[i], (unsigned)i));
    }
    mgc_read_stats(&after);
    /* Nothing became unreachable, so the collector freed nothing: the frees
     * are the explicit ones plus the tiny-packed objects, which count as
     * freed when allocated. */
    CHECK_EQ(after.frees - before.frees, freed + (after.tiny_allocs - before.tiny_allocs));
}

DEATH_TEST(realloc_of_bad_pointer_aborts, "mgc: realloc of")
{
    int local;
    mgc_realloc(&local, 10);
}

TEST(cross_thread_free_is_reused)
{
    enum { N = 5000 };
    static void *p[N];
    for (int i = 0; i < N; i++) {
        p[i] = mgc_alloc(64);
        memset(p[i], 0x5A, 64);
    }
    struct mgc_stats before, after;
    mgc_read_stats(&before);
    for (int i = 0; i < N; i++) {
        pthread_t t;
        if (i % 500 == 0) {
            pthread_create(&t, NULL, free_it, p[i]);
            pthread_join(t, NULL);
        } else {
            free_it(p[i]);
        }
    }
    mgc_read_stats(&after);
    CHECK_EQ(after.frees - before.frees, N);
    /* Everything freed, whoever freed it, comes back zeroed. */
    for (int i = 0; i < N; i++) {
        void *q = mgc_alloc(64);
        CHECK(all_zero(q, 64));
    }
}

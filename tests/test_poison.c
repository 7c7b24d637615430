/*
 * test_poison.c: MGC_DEBUG=poison=1 (poison.c). Freed memory holds the
 * poison pattern; a write into it is caught, with where, when the memory
 * is handed out again; objects handed out are zero as ever; and the fast
 * paths stay untouched: in poison mode they never find a loaded window.
 */
#include <pthread.h>
#include <string.h>

#include "harness.h"
#include "mgc_internal.h"

#define POISON "MGC_DEBUG=poison=1"

static bool all_poison(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != POISON_BYTE)
            return false;
    return true;
}

ENV_TEST(freed_memory_holds_the_pattern_and_new_objects_are_zero, POISON)
{
    char *small = mgc_alloc(64);
    CHECK(debug.poison == 1);
    CHECK(all_zero(small, 64));
    memset(small, 'x', 64);
    mgc_free(small);
    CHECK(all_poison(small, 64));
    char *again = mgc_alloc(64);
    CHECK(again == small); /* the lowest free slot */
    CHECK(all_zero(again, 64));

    char *noscan = mgc_alloc_noscan(5); /* no tiny packing in poison mode */
    CHECK(mgc_usable_size(noscan) >= 5 && mgc_base(noscan) == noscan);
    mgc_free(noscan);
    CHECK(all_poison(noscan, 8));

    char *large = mgc_alloc(100000);
    CHECK(all_zero(large, 100000));
    memset(large, 'y', 100000);
    mgc_free(large);
    CHECK(all_poison(large, 100000));
    char *large_again = mgc_alloc(100000);
    CHECK(all_zero(large_again, 100000));
}

ENV_TEST(collected_objects_are_poisoned, POISON)
{
    enum { N = 64 };
    static uintptr_t hidden[N];
    void *keep = mgc_alloc(200);
    for (int i = 0; i < N; i++) {
        char *p = mgc_alloc(200);
        memset(p, 'z', 200);
        hidden[i] = (uintptr_t)p ^ HIDE;
    }
    scrub_stack();
    mgc_collect();
    int poisoned = 0;
    for (int i = 0; i < N; i++) {
        char *p = (char *)(hidden[i] ^ HIDE);
        if (!mgc_base(p)) {
            CHECK(all_poison(p, 200));
            poisoned++;
        }
    }
    CHECK(poisoned > N / 2);
    CHECK(keep != NULL);
}

ENV_TEST(fast_paths_find_no_window, POISON)
{
    for (int i = 0; i < 1000; i++) {
        CHECK(mgc_alloc((size_t)(i % 300) + 1) != NULL);
        CHECK(mgc_alloc_noscan((size_t)(i % 300) + 1) != NULL);
    }
    struct cache *c = mgc_tls.cache;
    CHECK(c != &empty_cache && c->tiny_max == 0);
    for (unsigned k = 0; k < NUM_CACHED_CLASSES; k++)
        CHECK(c->slots[k].window == 0 && c->slots[k].span == NULL);
}

TEST_CASE(write_after_mgc_free_is_caught, "mgc: poison: slot", POISON)
{
    char *p = mgc_alloc(64);
    void *neighbour = mgc_alloc(64); /* keeps the span in use */
    mgc_free(p);
    p[10] = 1;
    (void)mgc_alloc(64);
    fprintf(stderr, "not caught (%p)\n", neighbour);
}

TEST_CASE(write_after_free_reports_where, "of span class 16 written after free at offset 10", POISON)
{
    char *p = mgc_alloc(64);
    void *neighbour = mgc_alloc(64); /* keeps the span in use */
    mgc_free(p);
    p[10] = 1;
    (void)mgc_alloc(64);
    fprintf(stderr, "not caught (%p)\n", neighbour);
}

/* The object is freed by the collector, not by the program. */
TEST_CASE(write_after_collection_is_caught, "mgc: poison: slot", POISON)
{
    enum { N = 64 };
    static uintptr_t hidden[N];
    void *keep = mgc_alloc(200); /* keeps the span in use */
    for (int i = 0; i < N; i++)
        hidden[i] = (uintptr_t)mgc_alloc(200) ^ HIDE;
    scrub_stack();
    mgc_collect();
    for (int i = 0; i < N; i++) {
        char *p = (char *)(hidden[i] ^ HIDE);
        if (!mgc_base(p)) {
            p[123] = 7;
            break;
        }
    }
    for (int i = 0; i < 2 * N; i++)
        (void)mgc_alloc(200);
    fprintf(stderr, "not caught (%p)\n", keep);
}

TEST_CASE(write_into_freed_large_object_is_caught, "mgc: poison: free page", POISON)
{
    char *p = mgc_alloc(100000);
    mgc_free(p);
    p[5000] = 1;
    (void)mgc_alloc(100000);
}

/* A span whose every object died goes back to the page heap: a write into
 * it is caught there, or when its pages are handed out again. */
TEST_CASE(write_into_a_span_given_back_is_caught, "mgc: poison:", POISON)
{
    char *p = mgc_alloc(1024);
    mgc_free(p); /* the span is empty: its pages go back */
    p[3000] = 1;
    for (int i = 0; i < 10000; i++)
        (void)mgc_alloc(1024);
    fprintf(stderr, "not caught\n");
}

/* A mixed workload with threads and collections, in poison mode, with the
 * verifier at every collection: every live object keeps its bytes. */
static void *churn(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    enum { N = 2000 };
    void **objects = mgc_alloc(N * sizeof(void *));
    size_t *sizes = mgc_alloc_noscan(N * sizeof(size_t));
    uint64_t state = seed;
    for (int round = 0; round < 40000; round++) {
        int i = (int)((random_next(&state) >> 33) % N);
        if (objects[i]) {
            CHECK(check_pattern(objects[i], sizes[i], seed + (unsigned)i));
            if (round % 3 == 0)
                mgc_free(objects[i]);
            objects[i] = NULL;
        } else {
            uint64_t r = random_next(&state) >> 40;
            sizes[i] = r % 50 == 0 ? 33000 + r % 20000 : 1 + r % 2000;
            objects[i] = r % 7 == 0 ? mgc_alloc_noscan(sizes[i]) : mgc_alloc(sizes[i]);
            CHECK(objects[i] && all_zero(objects[i], sizes[i]));
            fill_pattern(objects[i], sizes[i], seed + (unsigned)i);
        }
    }
    for (int i = 0; i < N; i++)
        if (objects[i])
            CHECK(check_pattern(objects[i], sizes[i], seed + (unsigned)i));
    return NULL;
}

ENV_TEST(workload_under_poison_and_verify, "MGC_DEBUG=poison=1,verify=1")
{
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        CHECK(pthread_create(&t[i], NULL, churn, (void *)(uintptr_t)(i + 1)) == 0);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    mgc_collect();
    gc_verify_heap_now();
    struct mgc_stats st;
    mgc_read_stats(&st);
    CHECK(st.num_gc > 0);
}

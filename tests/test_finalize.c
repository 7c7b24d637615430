/*
 * test_finalize.c: finalizers run once, after their object became
 * unreachable, never on a freed object, in order along A -> B, and inside
 * tiny blocks with the object's own pointer.
 *
 * The collector is conservative: a dead pointer left in a stack slot may
 * keep an object alive for a while. So tests create their objects in
 * functions that return before collecting, scrub the stack, and ask for
 * "most" where only a precise collector could promise "all".
 */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "mgc_internal.h"

/* Collect (a few times) and run what got queued, on this thread. In
 * between, allocate and scribble over a few thousand objects of the sizes
 * the tests use: had a collection freed an object whose finalizer is
 * pending, its slot would be reused and the finalizer would see it. */
static void collect_and_run(int times)
{
    static const size_t sizes[] = {4, 8, 16, 24, 48, 64};
    for (int i = 0; i < times; i++) {
        scrub_stack();
        mgc_collect();
        for (int j = 0; j < 3000; j++) {
            size_t size = sizes[j % 6];
            unsigned char *q = size < 16 ? mgc_alloc_noscan(size) : mgc_alloc(size);
            memset(q + (size < 16 ? 0 : 8), 0xA5, size < 16 ? size : size - 8);
        }
        mgc_run_finalizers();
    }
}

/* ---- The 2014 seed's scenario: finalizers inside tiny blocks ------------------------------- */

enum { TINY_OBJECTS = 100 };
static int tiny_runs[TINY_OBJECTS];
/* Each object's address, complemented: an integer the collector cannot
 * mistake for a pointer, so this table keeps nothing alive. */
static uintptr_t tiny_hidden[TINY_OBJECTS];
static volatile int tiny_bad;

static void tiny_finalizer(void *obj, void *arg)
{
    uintptr_t i = (uintptr_t)arg;
    uint32_t *p = obj;
    if (i >= TINY_OBJECTS || (uintptr_t)p != ~tiny_hidden[i] || *p != 0xF00D0000u + i)
        tiny_bad = 1;
    tiny_runs[i]++;
}

static NOINLINE void make_tiny_finalizable(void)
{
    for (uintptr_t i = 0; i < TINY_OBJECTS; i++) {
        uint32_t *p = mgc_alloc_noscan(4);
        CHECK(p != NULL);
        *p = 0xF00D0000u + (uint32_t)i;
        tiny_hidden[i] = ~(uintptr_t)p;
        CHECK(mgc_set_finalizer(p, tiny_finalizer, (void *)i) == 0);
    }
    /* They were packed: four 4-byte objects to a block. */
    CHECK(mgc_base((void *)~tiny_hidden[1]) == mgc_base((void *)~tiny_hidden[0]) ||
          mgc_base((void *)~tiny_hidden[2]) == mgc_base((void *)~tiny_hidden[1]));
}

/* The 2014 seed's test: after a few collections at least three quarters
 * ran, each exactly once, each with its own pointer and value. */
TEST(tiny_block_finalizers_run_once_each)
{
    mgc_set_finalizer_mode(MGC_FINALIZE_MANUAL);
    make_tiny_finalizable();
    collect_and_run(5);
    int ran = 0;
    for (int i = 0; i < TINY_OBJECTS; i++) {
        CHECK(tiny_runs[i] <= 1);
        ran += tiny_runs[i];
    }
    if (ran < TINY_OBJECTS * 3 / 4)
        fprintf(stderr, "only %d of %d ran\n", ran, TINY_OBJECTS);
    CHECK(ran >= TINY_OBJECTS * 3 / 4);
    CHECK(tiny_bad == 0);
    struct mgc_stats s;
    mgc_read_stats(&s);
    CHECK_EQ(s.finalizers_run, (uint64_t)ran);
    /* Nothing runs twice, however often we collect. */
    collect_and_run(3);
    for (int i = 0; i < TINY_OBJECTS; i++)
        CHECK(tiny_runs[i] <= 1);
}

/* ---- Never too early: reachable finalizable objects stay, intact ----------------------------- */

enum { KEPT = 200, KEPT_SIZE = 48 };
static void *kept[KEPT];
static volatile int kept_runs;

static void count_kept(void *obj, void *arg)
{
    (void)obj, (void)arg;
    __atomic_add_fetch(&kept_runs, 1, __ATOMIC_RELAXED);
}

TEST(reachable_finalizable_objects_are_not_finalized)
{
    mgc_set_finalizer_mode(MGC_FINALIZE_MANUAL);
    for (int i = 0; i < KEPT; i++) {
        kept[i] = (i & 1) ? mgc_alloc(KEPT_SIZE) : mgc_alloc(40000 + (size_t)i);
        fill_pattern(kept[i], KEPT_SIZE, (unsigned)i);
        CHECK(mgc_set_finalizer(kept[i], count_kept, NULL) == 0);
    }
    for (int round = 0; round < 5; round++) {
        for (int j = 0; j < 20000; j++)
            mgc_alloc(64); /* garbage, to reuse freed slots if any were freed */
        collect_and_run(1);
    }
    CHECK_EQ(kept_runs, 0);
    for (int i = 0; i < KEPT; i++)
        CHECK(check_pattern(kept[i], KEPT_SIZE, (unsigned)i));
}

/* ---- A -> B: A first, B in a later collection ---------------------------------------------- */

enum { PAIRS = 100 };
struct pair_node {
    struct pair_node *next;
    uint64_t value;
};
static int a_collection[PAIRS], b_collection[PAIRS];
static int collection_number;

static void a_finalizer(void *obj, void *arg)
{
    struct pair_node *a = obj;
    uintptr_t i = (uintptr_t)arg;
    /* B is still there and intact while A's finalizer runs. */
    if (a->value != 1000 + i || !a->next || a->next->value != 2000 + i)
        a_collection[i] = -1;
    else
        a_collection[i] = collection_number;
}

static void b_finalizer(void *obj, void *arg)
{
    struct pair_node *b = obj;
    uintptr_t i = (uintptr_t)arg;
    b_collection[i] = b->value == 2000 + i ? collection_number : -1;
}

static NOINLINE void make_pairs(void)
{
    for (uintptr_t i = 0; i < PAIRS; i++) {
        struct pair_node *a = mgc_alloc(sizeof *a), *b = mgc_alloc(sizeof *b);
        a->value = 1000 + i;
        b->value = 2000 + i;
        a->next = b;
        CHECK(mgc_set_finalizer(b, b_finalizer, (void *)i) == 0);
        CHECK(mgc_set_finalizer(a, a_finalizer, (void *)i) == 0);
    }
}

TEST(a_reaching_b_runs_a_first)
{
    mgc_set_finalizer_mode(MGC_FINALIZE_MANUAL);
    make_pairs();
    for (collection_number = 1; collection_number <= 6; collection_number++)
        collect_and_run(1);
    int complete = 0;
    for (int i = 0; i < PAIRS; i++) {
        CHECK(a_collection[i] >= 0 && b_collection[i] >= 0);
        /* B never before A, and never in the same collection. */
        if (b_collection[i])
            CHECK(a_collection[i] && a_collection[i] < b_collection[i]);
        complete += a_collection[i] && b_collection[i];
    }
    CHECK(complete >= PAIRS * 3 / 4);
}

/* ---- Resurrection ---------------------------------------------------------------------------- */

static struct pair_node *resurrected;
static volatile int resurrect_runs;

static void resurrect(void *obj, void *arg)
{
    (void)arg;
    resurrected = obj;
    resurrect_runs++;
}

static NOINLINE void make_resurrectable(int count)
{
    for (int i = 0; i < count; i++) {
        struct pair_node *n = mgc_alloc(sizeof *n);
        n->value = 77;
        n->next = mgc_alloc(sizeof *n); /* reached only through n */
        n->next->value = 78;
        CHECK(mgc_set_finalizer(n, resurrect, NULL) == 0);
    }
}

TEST(an_object_stored_by_its_finalizer_survives_and_is_not_finalized_again)
{
    mgc_set_finalizer_mode(MGC_FINALIZE_MANUAL);
    make_resurrectable(20);
    collect_and_run(3);
    CHECK(resurrect_runs > 0);
    int runs = resurrect_runs;
    struct pair_node *kept_alive = resurrected; /* the last one stored */
    CHECK(kept_alive != NULL);
    for (int round = 0; round < 5; round++) {
        for (int j = 0; j < 20000; j++)
            mgc_alloc(sizeof(struct pair_node));
        collect_and_run(1);
        CHECK(kept_alive->value == 77 && kept_alive->next->value == 78);
    }
    /* Runs happened only for objects not yet finalized. */
    CHECK(resurrect_runs <= 20);
    CHECK(resurrect_runs >= runs);
}

/* ---- Setting, removing, errors ----------------------------------------------------------------- */

static volatile int removed_runs;
static void count_removed(void *obj, void *arg) { (void)obj, (void)arg; removed_runs++; }

static NOINLINE void make_and_remove(int count)
{
    for (int i = 0; i < count; i++) {
        void *p = (i & 1) ? mgc_alloc(100) : mgc_alloc_noscan(3);
        CHECK(mgc_set_finalizer(p, count_removed, NULL) == 0);
        CHECK(mgc_set_finalizer(p, count_removed, NULL) == MGC_EEXIST);
        CHECK(mgc_set_finalizer(p, NULL, NULL) == 0);
        CHECK(mgc_set_finalizer(p, NULL, NULL) == 0); /* nothing to remove */
    }
}

TEST(removed_finalizers_do_not_run)
{
    mgc_set_finalizer_mode(MGC_FINALIZE_MANUAL);
    make_and_remove(200);
    collect_and_run(3);
    CHECK_EQ(removed_runs, 0);
}

TEST(bad_pointers_are_refused)
{
    char *p = mgc_alloc(100);
    static char global[32];
    char *m = malloc(32);
    CHECK(mgc_set_finalizer(p + 8, count_removed, NULL) == MGC_EINVAL);
    CHECK(mgc_set_finalizer(NULL, count_removed, NULL) == MGC_EINVAL);
    CHECK(mgc_set_finalizer(global, count_removed, NULL) == MGC_EINVAL);
    CHECK(mgc_set_finalizer(m, count_removed, NULL) == MGC_EINVAL);
    CHECK(mgc_set_finalizer(mgc_alloc(0), count_removed, NULL) == MGC_EINVAL);
    char *large = mgc_alloc(100000);
    CHECK(mgc_set_finalizer(large + 4096, count_removed, NULL) == MGC_EINVAL);
    CHECK(mgc_set_finalizer(large, count_removed, NULL) == 0);
    mgc_free(p);
    CHECK(mgc_set_finalizer(p, count_removed, NULL) == MGC_EINVAL); /* freed */
    free(m);
}

static NOINLINE void make_and_free(int count)
{
    for (int i = 0; i < count; i++) {
        void *p = (i % 3 == 0) ? mgc_alloc(50000) : mgc_alloc(64);
        CHECK(mgc_set_finalizer(p, count_removed, NULL) == 0);
        mgc_free(p);
    }
}

static NOINLINE void make_tiny_and_free(int count)
{
    for (int i = 0; i < count; i++) {
        char *p = mgc_alloc_noscan(5);
        CHECK(mgc_set_finalizer(p, count_removed, NULL) == 0);
        if (i & 1) {
            mgc_free(p); /* a no-op for the memory, but the finalizer goes */
        } else {
            char *q = mgc_realloc(p, 200); /* moves it: the finalizer goes too */
            CHECK(q != p);
        }
    }
}

TEST(mgc_free_drops_the_finalizer)
{
    mgc_set_finalizer_mode(MGC_FINALIZE_MANUAL);
    make_tiny_and_free(300);
    make_and_free(300);
    collect_and_run(3);
    CHECK_EQ(removed_runs, 0);
}

/* ---- Manual mode, large objects --------------------------------------------------------------- */

static volatile int large_runs;
static void count_large(void *obj, void *arg)
{
    if (((char *)obj)[0] == 'L' && ((char *)obj)[(uintptr_t)arg - 1] == 'l')
        large_runs++;
}

static NOINLINE void make_large_finalizable(int count)
{
    for (int i = 0; i < count; i++) {
        size_t size = 40000 + (size_t)i * 5000;
        char *p = (i & 1) ? mgc_alloc(size) : mgc_alloc_noscan(size);
        p[0] = 'L';
        p[size - 1] = 'l';
        CHECK(mgc_set_finalizer(p, count_large, (void *)size) == 0);
    }
}

TEST(manual_mode_waits_for_run_finalizers_and_large_objects_work)
{
    mgc_set_finalizer_mode(MGC_FINALIZE_MANUAL);
    make_large_finalizable(40);
    for (int i = 0; i < 3; i++) {
        scrub_stack();
        mgc_collect();
    }
    sleep(0); /* no thread runs them meanwhile */
    CHECK_EQ(large_runs, 0);
    size_t ran = mgc_run_finalizers();
    CHECK_EQ(ran, (size_t)large_runs);
    CHECK(large_runs >= 30);
    CHECK_EQ(mgc_run_finalizers(), 0);
}

/* ---- Thread mode: 100,000 across two threads, each exactly once -------------------------------- */

enum { MANY = 100000 };
static unsigned char many_runs[MANY];
static volatile int many_bad;

static void many_finalizer(void *obj, void *arg)
{
    uintptr_t i = (uintptr_t)arg;
    if (i >= MANY || *(uint64_t *)obj != i * 3 + 1) {
        __atomic_store_n(&many_bad, 1, __ATOMIC_RELAXED);
        return;
    }
    if (__atomic_add_fetch(&many_runs[i], 1, __ATOMIC_RELAXED) != 1)
        __atomic_store_n(&many_bad, 1, __ATOMIC_RELAXED);
    /* Finalizers may allocate and set finalizers of their own. */
    void *q = mgc_alloc(32);
    if (!q)
        __atomic_store_n(&many_bad, 1, __ATOMIC_RELAXED);
}

static void *make_many(void *arg)
{
    uintptr_t first = (uintptr_t)arg;
    for (uintptr_t i = first; i < first + MANY / 2; i++) {
        uint64_t *p = (i & 1) ? mgc_alloc(24) : mgc_alloc_noscan(8);
        *p = i * 3 + 1;
        if (mgc_set_finalizer(p, many_finalizer, (void *)i) != 0)
            __atomic_store_n(&many_bad, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

static uint64_t finalizers_run_now(void)
{
    struct mgc_stats s;
    mgc_read_stats(&s);
    return s.finalizers_run;
}

TEST(hundred_thousand_finalizers_across_two_threads_run_once_each)
{
    pthread_t threads[2];
    for (int t = 0; t < 2; t++)
        CHECK(pthread_create(&threads[t], NULL, make_many, (void *)(uintptr_t)(t * (MANY / 2))) == 0);
    for (int t = 0; t < 2; t++)
        pthread_join(threads[t], NULL);
    /* The finalizer thread runs them; wait (bounded) for most of them. */
    for (int round = 0; round < 200 && finalizers_run_now() < MANY * 99 / 100; round++) {
        scrub_stack();
        mgc_collect();
        usleep(10000);
    }
    CHECK(finalizers_run_now() >= MANY * 99 / 100);
    /* Atomic reads: the finalizer thread may still be running the rest. */
    CHECK(__atomic_load_n(&many_bad, __ATOMIC_RELAXED) == 0);
    for (int i = 0; i < MANY; i++)
        CHECK(__atomic_load_n(&many_runs[i], __ATOMIC_RELAXED) <= 1);
}

/* A finalizer that allocates, sets a finalizer, collects and runs
 * finalizers itself does not deadlock. */
static volatile int nested_runs, inner_set_failures;
static void inner_finalizer(void *obj, void *arg) { (void)obj, (void)arg; }
static void nested_finalizer(void *obj, void *arg)
{
    (void)obj, (void)arg;
    __atomic_fetch_add(&nested_runs, 1, __ATOMIC_RELAXED); /* read by the test's thread */
    if (mgc_set_finalizer(mgc_alloc(1000), inner_finalizer, NULL) != 0)
        __atomic_fetch_add(&inner_set_failures, 1, __ATOMIC_RELAXED);
    mgc_collect();
    mgc_run_finalizers();
}

static NOINLINE void make_nested(int count)
{
    for (int i = 0; i < count; i++)
        CHECK(mgc_set_finalizer(mgc_alloc(16), nested_finalizer, NULL) == 0);
}

TEST(finalizers_may_allocate_set_finalizers_collect_and_run_finalizers)
{
    make_nested(20);
    for (int round = 0; round < 200 && __atomic_load_n(&nested_runs, __ATOMIC_RELAXED) < 15; round++) {
        scrub_stack();
        mgc_collect();
        usleep(5000);
    }
    CHECK(__atomic_load_n(&nested_runs, __ATOMIC_RELAXED) >= 15);
    CHECK_EQ(__atomic_load_n(&inner_set_failures, __ATOMIC_RELAXED), 0);
}

/* mgc does not know where packed tiny objects start: any address inside an
 * allocated tiny block is accepted, an interior one included (mgc.h). An
 * interior address of an ordinary object is not. */
TEST(finalizer_on_interior_address_of_tiny_block_is_accepted)
{
    mgc_set_finalizer_mode(MGC_FINALIZE_MANUAL);
    char *t = mgc_alloc_noscan(4);
    CHECK(mgc_set_finalizer(t + 1, count_removed, NULL) == 0);
    CHECK(mgc_set_finalizer(t + 1, count_removed, NULL) == MGC_EEXIST);
    CHECK(mgc_set_finalizer(t, count_removed, NULL) == 0);
    CHECK(mgc_set_finalizer(t + 1, NULL, NULL) == 0);
    CHECK(mgc_set_finalizer(t, NULL, NULL) == 0);
    char *o = mgc_alloc(40);
    CHECK(mgc_set_finalizer(o + 1, count_removed, NULL) == MGC_EINVAL);
}

/* ---- Replacing and reading finalizers -------------------------------------------------------- */

static volatile int first_runs, second_runs;
static void first_finalizer(void *obj, void *arg) { (void)obj, (void)arg; first_runs++; }
static void second_finalizer(void *obj, void *arg)
{
    (void)obj;
    if (arg == (void *)&second_runs)
        second_runs++;
}

TEST(replace_returns_the_old_finalizer_and_get_reads_it)
{
    void *p = mgc_alloc(64);
    char *tiny = mgc_alloc_noscan(4);
    int a1, a2;
    mgc_finalizer_fn fn = first_finalizer;
    void *arg = &a1;
    CHECK(mgc_get_finalizer(p, &fn, &arg) == 0);
    CHECK(fn == NULL && arg == NULL);
    CHECK(mgc_replace_finalizer(p, first_finalizer, &a1, 0, &fn, &arg) == 0);
    CHECK(fn == NULL && arg == NULL);
    CHECK(mgc_set_finalizer(p, second_finalizer, &a2) == MGC_EEXIST); /* set still refuses */
    CHECK(mgc_get_finalizer(p, &fn, &arg) == 0);
    CHECK(fn == first_finalizer && arg == &a1);
    CHECK(mgc_replace_finalizer(p, second_finalizer, &a2, MGC_FINALIZER_NO_ORDER, &fn, &arg) == 0);
    CHECK(fn == first_finalizer && arg == &a1);
    CHECK(mgc_get_finalizer(p, &fn, NULL) == 0 && fn == second_finalizer);
    CHECK(mgc_replace_finalizer(p, NULL, NULL, 0, &fn, &arg) == 0); /* removes */
    CHECK(fn == second_finalizer && arg == &a2);
    CHECK(mgc_get_finalizer(p, &fn, &arg) == 0 && fn == NULL && arg == NULL);
    CHECK(mgc_replace_finalizer(p, first_finalizer, NULL, 0, NULL, NULL) == 0); /* outputs optional */
    /* Inside a tiny block, as mgc_set_finalizer. */
    CHECK(mgc_replace_finalizer(tiny, first_finalizer, &a1, 0, &fn, &arg) == 0 && fn == NULL);
    CHECK(mgc_get_finalizer(tiny, &fn, &arg) == 0 && fn == first_finalizer && arg == &a1);
    /* Errors. */
    fn = first_finalizer;
    CHECK(mgc_replace_finalizer(p, first_finalizer, NULL, 0x4, &fn, &arg) == MGC_EINVAL);
    CHECK(fn == NULL);
    CHECK(mgc_replace_finalizer((char *)p + 8, first_finalizer, NULL, 0, &fn, &arg) == MGC_EINVAL);
    CHECK(mgc_get_finalizer((char *)p + 8, &fn, &arg) == MGC_EINVAL);
    char *m = malloc(16);
    CHECK(mgc_get_finalizer(m, &fn, &arg) == MGC_EINVAL);
    CHECK(mgc_get_finalizer(NULL, &fn, &arg) == MGC_EINVAL);
    free(m);
}

static NOINLINE void make_replaced(int count)
{
    for (int i = 0; i < count; i++) {
        void *p = mgc_alloc(40);
        mgc_finalizer_fn old;
        CHECK(mgc_set_finalizer(p, first_finalizer, NULL) == 0);
        CHECK(mgc_replace_finalizer(p, second_finalizer, (void *)&second_runs, 0, &old, NULL) == 0);
        CHECK(old == first_finalizer);
    }
}

TEST(a_replaced_finalizer_never_runs_and_its_replacement_does)
{
    mgc_set_finalizer_mode(MGC_FINALIZE_MANUAL);
    make_replaced(100);
    collect_and_run(3);
    CHECK_EQ(first_runs, 0);
    CHECK(second_runs >= 75);
}

/* ---- MGC_FINALIZER_NO_ORDER: A -> B -> C, both finalized at once, C intact --------------------- */

struct chain_node {
    struct chain_node *next;
    uint64_t value;
    unsigned char bytes[32];
};
static int no_order_a[PAIRS], no_order_b[PAIRS]; /* collection number, -1 when wrong */

static void no_order_a_finalizer(void *obj, void *arg)
{
    struct chain_node *a = obj, *b = a->next;
    uintptr_t i = (uintptr_t)arg;
    /* B, and C reached only through A and B, are still intact. */
    bool intact = a->value == 1000 + i && b && b->value == 2000 + i && b->next && b->next->value == 3000 + i &&
                  check_pattern(b->next->bytes, sizeof b->next->bytes, (unsigned)i);
    no_order_a[i] = intact ? collection_number : -1;
}

static void no_order_b_finalizer(void *obj, void *arg)
{
    struct chain_node *b = obj;
    uintptr_t i = (uintptr_t)arg;
    bool intact = b->value == 2000 + i && b->next && b->next->value == 3000 + i &&
                  check_pattern(b->next->bytes, sizeof b->next->bytes, (unsigned)i);
    no_order_b[i] = intact ? collection_number : -1;
}

static NOINLINE void make_no_order_chains(void)
{
    for (uintptr_t i = 0; i < PAIRS; i++) {
        struct chain_node *a = mgc_alloc(sizeof *a), *b = mgc_alloc(sizeof *b), *c = mgc_alloc(sizeof *c);
        a->value = 1000 + i;
        b->value = 2000 + i;
        c->value = 3000 + i;
        fill_pattern(c->bytes, sizeof c->bytes, (unsigned)i);
        a->next = b;
        b->next = c;
        CHECK(mgc_replace_finalizer(a, no_order_a_finalizer, (void *)i, MGC_FINALIZER_NO_ORDER, NULL, NULL) == 0);
        CHECK(mgc_replace_finalizer(b, no_order_b_finalizer, (void *)i, MGC_FINALIZER_NO_ORDER, NULL, NULL) == 0);
    }
}

/* Without the marking of what queued NO_ORDER objects reach, C was freed
 * and its slot scribbled over before the finalizers ran (A's saw it). */
TEST(no_order_finalizers_run_in_the_same_collection_with_what_they_reach_intact)
{
    mgc_set_finalizer_mode(MGC_FINALIZE_MANUAL);
    make_no_order_chains();
    for (collection_number = 1; collection_number <= 4; collection_number++)
        collect_and_run(1);
    /* Ordered finalizers would run A's, and B's only a collection later.
     * (A stale word on the stack may keep one B or another alive longer.) */
    int together = 0;
    for (int i = 0; i < PAIRS; i++) {
        CHECK(no_order_a[i] >= 0 && no_order_b[i] >= 0);
        if (no_order_a[i] && no_order_a[i] == no_order_b[i])
            together++;
    }
    if (together < PAIRS * 3 / 4)
        fprintf(stderr, "only %d of %d pairs finalized together\n", together, PAIRS);
    CHECK(together >= PAIRS * 3 / 4);
}

/* ---- MGC_FINALIZER_IGNORE_SELF ------------------------------------------------------------------ */

/* By kind: 0 ignore self, 1 plain, 2 two-object cycle with ignore self,
 * 3 two-object cycle with no order. */
static volatile int self_runs[4];
static void count_self(void *obj, void *arg)
{
    struct chain_node *n = obj;
    uintptr_t kind = (uintptr_t)arg;
    if (n->value == 500 + kind)
        self_runs[kind]++;
    else
        self_runs[kind] = -1000;
}

static NOINLINE void make_self_pointing(int count)
{
    for (int i = 0; i < count; i++) {
        for (uintptr_t kind = 0; kind < 2; kind++) {
            struct chain_node *n = mgc_alloc(sizeof *n);
            n->value = 500 + kind;
            n->next = (struct chain_node *)&n->bytes[8]; /* into itself */
            unsigned flags = kind == 0 ? MGC_FINALIZER_IGNORE_SELF : 0;
            CHECK(mgc_replace_finalizer(n, count_self, (void *)kind, flags, NULL, NULL) == 0);
        }
        /* A <-> B, both IGNORE_SELF: another cycle, which keeps them. */
        struct chain_node *a = mgc_alloc(sizeof *a), *b = mgc_alloc(sizeof *b);
        a->value = b->value = 502;
        a->next = b;
        b->next = a;
        CHECK(mgc_replace_finalizer(a, count_self, (void *)2, MGC_FINALIZER_IGNORE_SELF, NULL, NULL) == 0);
        CHECK(mgc_replace_finalizer(b, count_self, (void *)2, MGC_FINALIZER_IGNORE_SELF, NULL, NULL) == 0);
        /* The same cycle with NO_ORDER: finalized, both. */
        a = mgc_alloc(sizeof *a), b = mgc_alloc(sizeof *b);
        a->value = b->value = 503;
        a->next = b;
        b->next = a;
        CHECK(mgc_replace_finalizer(a, count_self, (void *)3, MGC_FINALIZER_NO_ORDER, NULL, NULL) == 0);
        CHECK(mgc_replace_finalizer(b, count_self, (void *)3, MGC_FINALIZER_NO_ORDER, NULL, NULL) == 0);
    }
}

TEST(ignore_self_finalizes_a_self_pointing_object_other_cycles_keep_it_unless_no_order)
{
    mgc_set_finalizer_mode(MGC_FINALIZE_MANUAL);
    make_self_pointing(50);
    collect_and_run(4);
    CHECK(self_runs[0] >= 50 * 3 / 4);
    CHECK_EQ(self_runs[1], 0);
    CHECK_EQ(self_runs[2], 0);
    CHECK(self_runs[3] >= 2 * 50 * 3 / 4);
}

/* ---- Pending count, notifier ------------------------------------------------------------------------- */

static volatile int notified;
static void count_notify(void) { notified++; }

static NOINLINE void make_counted(int count)
{
    for (int i = 0; i < count; i++)
        CHECK(mgc_set_finalizer(mgc_alloc(32), count_removed, NULL) == 0);
}

TEST(pending_counts_queued_finalizers_and_the_notifier_hears_of_them_in_manual_mode)
{
    mgc_set_finalizer_mode(MGC_FINALIZE_MANUAL);
    CHECK(mgc_set_finalizer_notifier(count_notify) == NULL);
    CHECK_EQ(mgc_finalizers_pending(), 0);
    scrub_stack();
    mgc_collect(); /* nothing queued: no call */
    CHECK_EQ(notified, 0);
    make_counted(100);
    scrub_stack();
    mgc_collect();
    size_t pending = mgc_finalizers_pending();
    CHECK(pending >= 75);
    CHECK_EQ(notified, 1);
    CHECK_EQ(removed_runs, 0);
    CHECK_EQ(mgc_run_finalizers(), pending);
    CHECK_EQ(removed_runs, (int)pending);
    CHECK_EQ(mgc_finalizers_pending(), 0);
    CHECK(mgc_set_finalizer_notifier(NULL) == count_notify);
    make_counted(10);
    scrub_stack();
    mgc_collect();
    CHECK_EQ(notified, 1);
}

/* ---- Collection events ------------------------------------------------------------------------------ */

static int events[64];
static volatile int nevents;
static void record_event(int event)
{
    if (nevents < 64)
        events[nevents] = event;
    nevents++;
}

TEST(the_event_hook_sees_each_collection_start_mark_start_mark_end_end)
{
    mgc_set_gc_percent(-1); /* no collection but ours */
    CHECK(mgc_set_event_hook(record_event) == NULL);
    mgc_collect();
    mgc_collect();
    CHECK(mgc_set_event_hook(NULL) == record_event);
    mgc_collect();
    CHECK_EQ(nevents, 8);
    for (int i = 0; i < 8; i++)
        CHECK_EQ(events[i], i % 4);
    CHECK(MGC_EVENT_START == 0 && MGC_EVENT_MARK_START == 1 && MGC_EVENT_MARK_END == 2 && MGC_EVENT_END == 3);
}

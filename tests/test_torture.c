/*
 * test_torture.c: four threads build, mutate, exchange and verify trees
 * while collections run all the time (MGC_DEBUG=collectevery). Every node
 * carries a check value and a noscan label (many of them tiny) derived from
 * its key, so a node freed while reachable, reused, or moved shows up as a
 * broken invariant. Trees a thread owns alone are sometimes freed explicitly
 * and labels are reallocated, so explicit frees race with collections too.
 * Large objects are freed explicitly while sweepers take their spans.
 */
#include <pthread.h>
#include <string.h>

#include "harness.h"
#include "mgc_internal.h"

#define THREADS 4
#define ROOTS 32
#define SHARED 16

struct node {
    struct node *left, *right;
    uint64_t key;
    uint64_t check;
    char *label;
    size_t label_length;
};

static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static struct node *shared[SHARED];
static volatile int failures;

static uint64_t check_of(uint64_t key) { return key * 0x9E3779B97F4A7C15ull ^ 0xC0FFEEull; }

static char label_byte(uint64_t key, size_t i) { return (char)('a' + (key + i * 7) % 26); }

struct rng {
    uint64_t state;
};

static uint64_t next_random(struct rng *r)
{
    return random_next(&r->state) >> 17;
}

static struct node *build(struct rng *r, int depth)
{
    struct node *n = mgc_alloc(sizeof *n);
    if (!n)
        abort();
    n->key = next_random(r);
    n->check = check_of(n->key);
    n->label_length = 1 + n->key % 40;
    n->label = mgc_alloc_noscan(n->label_length);
    for (size_t i = 0; i < n->label_length; i++)
        n->label[i] = label_byte(n->key, i);
    if (depth > 0) {
        n->left = build(r, depth - 1);
        n->right = (next_random(r) & 3) ? build(r, depth - 1) : NULL;
    }
    return n;
}

static bool verify(const struct node *n, int depth)
{
    if (!n)
        return true;
    if (depth > 64 || n->check != check_of(n->key) || n->label_length != 1 + n->key % 40)
        return false;
    for (size_t i = 0; i < n->label_length; i++)
        if (n->label[i] != label_byte(n->key, i))
            return false;
    return verify(n->left, depth + 1) && verify(n->right, depth + 1);
}

/* Free a tree only this thread knows about. */
static void free_tree(struct node *n)
{
    if (!n)
        return;
    free_tree(n->left);
    free_tree(n->right);
    mgc_free(n->label); /* a no-op for tiny labels */
    mgc_free(n);
}

static void fail(const char *what)
{
    fprintf(stderr, "torture: %s\n", what);
    __atomic_add_fetch(&failures, 1, __ATOMIC_RELAXED);
}

static void *torturer(void *arg)
{
    struct rng r = {(uintptr_t)arg * 7919 + 1};
    struct node *roots[ROOTS] = {0};
    bool exclusive[ROOTS] = {0};
    for (int op = 0; op < 40000; op++) {
        int i = (int)(next_random(&r) % ROOTS);
        switch (next_random(&r) % 6) {
        case 0: /* replace */
            if (exclusive[i] && (next_random(&r) & 1))
                free_tree(roots[i]);
            roots[i] = build(&r, (int)(next_random(&r) % 7));
            exclusive[i] = true;
            break;
        case 1: { /* graft a new subtree somewhere inside */
            struct node *n = roots[i];
            while (n && n->left && (next_random(&r) & 3))
                n = (next_random(&r) & 1) && n->right ? n->right : n->left;
            if (n)
                n->left = build(&r, 3);
            break;
        }
        case 2: /* relabel: realloc the label, same contents */
            if (roots[i]) {
                struct node *n = roots[i];
                char *grown = mgc_realloc(n->label, n->label_length + 100);
                if (!grown)
                    fail("realloc failed");
                for (size_t k = 0; grown && k < n->label_length; k++)
                    if (grown[k] != label_byte(n->key, k)) {
                        fail("realloc lost contents");
                        break;
                    }
                n->label = grown;
            }
            break;
        case 3: /* exchange with the other threads */
            if (roots[i]) {
                int k = (int)(next_random(&r) % SHARED);
                pthread_mutex_lock(&shared_lock);
                struct node *theirs = shared[k];
                shared[k] = roots[i];
                pthread_mutex_unlock(&shared_lock);
                roots[i] = theirs;
                exclusive[i] = false;
            }
            break;
        default:
            if (!verify(roots[i], 0))
                fail("a tree is broken");
        }
    }
    for (int i = 0; i < ROOTS; i++)
        if (!verify(roots[i], 0))
            fail("a tree is broken at the end");
    return NULL;
}

/* min_collections: what the setting must have caused at the least, so that
 * the test cannot pass by never collecting. */
static void run_torture(uint64_t min_collections)
{
    pthread_t threads[THREADS];
    for (int t = 0; t < THREADS; t++)
        CHECK(pthread_create(&threads[t], NULL, torturer, (void *)(uintptr_t)(t + 1)) == 0);
    for (int t = 0; t < THREADS; t++)
        pthread_join(threads[t], NULL);
    for (int k = 0; k < SHARED; k++)
        CHECK(verify(shared[k], 0));
    CHECK_EQ(failures, 0);
    struct mgc_stats s;
    mgc_read_stats(&s);
    if (s.num_gc < min_collections)
        fprintf(stderr, "only %llu collections\n", (unsigned long long)s.num_gc);
    CHECK(s.num_gc >= min_collections);
}

ENV_TEST(four_threads_under_continuous_collection, "MGC_DEBUG=collectevery=100") { run_torture(10); }
ENV_TEST(four_threads_one_marker, "MGC_DEBUG=collectevery=300,gcprocs=1") { run_torture(5); }
ENV_TEST(four_threads_without_tiny_allocator, "MGC_DEBUG=collectevery=300,tinyalloc=0") { run_torture(5); }
ENV_TEST(four_threads_with_pacer_only, "MGC_GCPERCENT=10") { run_torture(2); }

/* Large objects freed explicitly while the background sweeper and lazy
 * sweeping take large spans too: each span must end exactly once. A span
 * given back twice would be handed out again while still in use, which the
 * patterns of the live objects would show. */
enum { LARGE_LIVE = 16, LARGE_ROUNDS = 3000 };

static size_t large_size(struct rng *r) { return 33000 + next_random(r) % 200000; }

static void *large_churner(void *arg)
{
    struct rng r = {(uintptr_t)arg * 104729 + 3};
    unsigned seed = (unsigned)(uintptr_t)arg;
    void *live[LARGE_LIVE] = {0};
    size_t sizes[LARGE_LIVE] = {0};
    for (int round = 0; round < LARGE_ROUNDS; round++) {
        int i = (int)(next_random(&r) % LARGE_LIVE);
        if (live[i]) {
            if (!check_pattern(live[i], sizes[i], seed))
                fail("a live large object was overwritten");
            mgc_free(live[i]);
        }
        sizes[i] = large_size(&r);
        live[i] = mgc_alloc_noscan(sizes[i]);
        if (!live[i] || !all_zero(live[i], sizes[i]))
            fail("a new large object is not zero");
        else
            fill_pattern(live[i], sizes[i], seed);
        /* Garbage that only sweeping reclaims, to keep sweepers busy. */
        mgc_alloc_noscan(large_size(&r));
    }
    for (int i = 0; i < LARGE_LIVE; i++)
        if (live[i] && !check_pattern(live[i], sizes[i], seed))
            fail("a live large object was overwritten at the end");
    return NULL;
}

ENV_TEST(large_frees_race_with_sweeping, "MGC_DEBUG=collectevery=7")
{
    pthread_t threads[2];
    for (int t = 0; t < 2; t++)
        CHECK(pthread_create(&threads[t], NULL, large_churner, (void *)(uintptr_t)(t + 1)) == 0);
    for (int t = 0; t < 2; t++)
        pthread_join(threads[t], NULL);
    CHECK_EQ(failures, 0);
    struct mgc_stats s;
    mgc_read_stats(&s);
    CHECK(s.num_gc >= 100);
}

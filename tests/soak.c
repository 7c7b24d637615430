/*
 * soak.c: a multi-threaded soak test (make soak SOAK_SECONDS=N).
 *
 * Four worker threads at a time build and mutate trees of nodes, each node
 * carrying a payload of one kind: tiny, small noscan, small scanned (its
 * first word points back at its node), a string, or a large object. Every
 * byte follows a pattern derived from the node's key, and the node holds a
 * check value over its key, payload address, size and kind, so that an
 * object freed while reachable, reused or overwritten shows up. Workers
 * replace trees (freeing explicitly the ones no other thread ever saw),
 * graft new subtrees, reallocate payloads, hand trees to each other through
 * a mutex-protected exchange, and publish trees that every worker then
 * verifies concurrently (published trees are never written again). Some
 * nodes get finalizers, which check that everything they reach is intact.
 * Collections are automatic, plus an explicit one now and then. Workers
 * live a few seconds each; the main thread starts new ones as they exit.
 *
 * At the end one summary line: objects and bytes verified, collections,
 * threads started, finalizers run, maximum RSS. Any mismatch is reported on
 * stderr as it is found, and the exit status is 1. An alarm kills a run that
 * hangs (exit by SIGALRM), so a deadlock fails loudly too.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "mgc.h"

#define WORKERS 4
#define ROOTS 24
#define SHARED 8
#define PUBLISHED 4
#define GRAFT_STEPS 8
#define MAX_DEPTH 64

enum payload_kind { TINY, SMALL_NOSCAN, SMALL_SCAN, STRING, MEDIUM_NOSCAN, LARGE_NOSCAN, LARGE_SCAN, KINDS };

struct node {
    struct node *next, *child;
    unsigned char *payload;
    uint64_t key;
    uint64_t check;
    uint32_t payload_size;
    uint32_t payload_kind;
};

/* ---- Totals, shared by every thread --------------------------------------------------------- */

static volatile int failures;
static uint64_t objects_verified, bytes_verified, threads_started, finalizers_seen, explicit_collections;
static volatile int stopping;

/* Parts that can be turned off, to narrow a failure down (environment:
 * SOAK_FREES=0, SOAK_FINALIZERS=0, SOAK_REALLOCS=0, SOAK_RESTARTS=0,
 * SOAK_BIG=0: no payloads over 2 KiB, SOAK_EXCHANGE=0: no trees pass between
 * threads). */
static bool with_frees = true, with_finalizers = true, with_reallocs = true, with_restarts = true, with_big = true,
            with_exchange = true;

/* What the thread was checking when it found a mismatch. */
static __thread const char *checking = "a tree";

static void fail(const char *what, const struct node *n)
{
    fprintf(stderr, "soak: FAILURE: %s (node %p key %llu, while checking %s)\n", what, (const void *)n,
            n ? (unsigned long long)n->key : 0ull, checking);
    __atomic_add_fetch(&failures, 1, __ATOMIC_RELAXED);
}

static void add_total(uint64_t *total, uint64_t n) { __atomic_add_fetch(total, n, __ATOMIC_RELAXED); }

/* ---- Patterns -------------------------------------------------------------------------------- */

static uint64_t mix(uint64_t x)
{
    x ^= x >> 31;
    x *= 0x9E3779B97F4A7C15ull;
    x ^= x >> 29;
    return x;
}

/* Payload byte i of the node with this key: never zero (strings). */
static unsigned char payload_byte(uint64_t key, size_t i)
{
    return (unsigned char)(mix(key + i / 8) >> (8 * (i % 8))) | 1;
}

static uint64_t check_of(const struct node *n)
{
    return mix(n->key ^ (uintptr_t)n->payload ^ (uint64_t)n->payload_size << 40 ^ (uint64_t)n->payload_kind << 56);
}

/* The first payload byte after the back pointer of a scanned payload. */
static size_t pattern_start(const struct node *n)
{
    return n->payload_kind == SMALL_SCAN || n->payload_kind == LARGE_SCAN ? sizeof(void *) : 0;
}

static void fill_payload(struct node *n, size_t from)
{
    size_t start = pattern_start(n);
    if (start && from == 0)
        memcpy(n->payload, &n, sizeof n);
    size_t end = n->payload_kind == STRING ? n->payload_size - 1 : n->payload_size;
    for (size_t i = from > start ? from : start; i < end; i++)
        n->payload[i] = payload_byte(n->key, i);
    if (n->payload_kind == STRING)
        n->payload[n->payload_size - 1] = 0;
}

/* Check one node and its payload; counts into the caller's tally. */
static bool verify_node(const struct node *n, uint64_t *objects, uint64_t *bytes)
{
    if (n->check != check_of(n) || n->payload_kind >= KINDS || !n->payload) {
        fail("node header corrupted", n);
        return false;
    }
    if (pattern_start(n)) {
        const struct node *back;
        memcpy(&back, n->payload, sizeof back);
        if (back != n) {
            fail("scanned payload lost its back pointer", n);
            return false;
        }
    }
    size_t end = n->payload_kind == STRING ? n->payload_size - 1 : n->payload_size;
    for (size_t i = pattern_start(n); i < end; i++)
        if (n->payload[i] != payload_byte(n->key, i)) {
            fprintf(stderr, "soak: payload byte %zu of %u (kind %u) is %#x, not %#x\n", i, n->payload_size,
                    n->payload_kind, n->payload[i], payload_byte(n->key, i));
            fail("payload overwritten", n);
            return false;
        }
    if (n->payload_kind == STRING && n->payload[n->payload_size - 1] != 0) {
        fail("string lost its terminator", n);
        return false;
    }
    *objects += 2;
    *bytes += sizeof *n + n->payload_size;
    return true;
}

static bool verify_tree(const struct node *n, int depth, uint64_t *objects, uint64_t *bytes)
{
    for (; n; n = n->next, depth++) {
        if (depth > MAX_DEPTH) {
            fail("a tree is deeper than any built", n);
            return false;
        }
        if (!verify_node(n, objects, bytes) || !verify_tree(n->child, depth + 1, objects, bytes))
            return false;
    }
    return true;
}

/* Verify a tree and add what was checked to the totals. */
static void verify_and_count(const struct node *n)
{
    uint64_t objects = 0, bytes = 0;
    verify_tree(n, 0, &objects, &bytes);
    add_total(&objects_verified, objects);
    add_total(&bytes_verified, bytes);
}

/* ---- Building ------------------------------------------------------------------------------ */

struct rng {
    uint64_t state;
};

static uint64_t next_random(struct rng *r)
{
    r->state = r->state * 6364136223846793005ull + 1442695040888963407ull;
    return r->state >> 17;
}

static void *checked(void *p)
{
    if (!p) {
        fprintf(stderr, "soak: FAILURE: allocation returned NULL (errno %d)\n", errno);
        abort();
    }
    return p;
}

/* A payload of a random kind and size for n (its key set). */
static void give_payload(struct rng *r, struct node *n)
{
    unsigned roll = (unsigned)(next_random(r) % (with_big ? 100 : 88));
    if (roll < 35) {
        n->payload_kind = TINY;
        n->payload_size = 1 + (uint32_t)(next_random(r) % 15);
    } else if (roll < 60) {
        n->payload_kind = SMALL_NOSCAN;
        n->payload_size = 16 + (uint32_t)(next_random(r) % 2032);
    } else if (roll < 78) {
        n->payload_kind = SMALL_SCAN;
        n->payload_size = 16 + 8 * (uint32_t)(next_random(r) % 126);
    } else if (roll < 88) {
        n->payload_kind = STRING;
        n->payload_size = 1 + (uint32_t)(next_random(r) % 200);
    } else if (roll < 98) {
        n->payload_kind = MEDIUM_NOSCAN;
        n->payload_size = 2048 + (uint32_t)(next_random(r) % 30000);
    } else {
        n->payload_kind = roll & 1 ? LARGE_SCAN : LARGE_NOSCAN;
        n->payload_size = 32768 + 8 * (uint32_t)(next_random(r) % 20000);
    }
    if (n->payload_kind == STRING) {
        char text[201];
        for (uint32_t i = 0; i + 1 < n->payload_size; i++)
            text[i] = (char)payload_byte(n->key, i);
        text[n->payload_size - 1] = 0;
        n->payload = checked(mgc_strdup(text));
    } else if (n->payload_kind == SMALL_SCAN || n->payload_kind == LARGE_SCAN) {
        n->payload = checked(mgc_alloc(n->payload_size));
        fill_payload(n, 0);
    } else {
        n->payload = checked(mgc_alloc_noscan(n->payload_size));
        fill_payload(n, 0);
    }
    n->check = check_of(n);
}

static void soak_finalizer(void *obj, void *arg);

static struct node *new_node(struct rng *r)
{
    struct node *n = checked(mgc_alloc(sizeof *n));
    n->key = next_random(r);
    give_payload(r, n);
    /* Finalizers only where the payload cannot point back: a node its own
     * payload reaches would be on a cycle, and never finalized. */
    if (with_finalizers && next_random(r) % 16 == 0 && !pattern_start(n))
        mgc_set_finalizer(n, soak_finalizer, NULL);
    return n;
}

static struct node *build(struct rng *r, int depth)
{
    struct node *n = new_node(r);
    if (depth > 0) {
        n->child = build(r, depth - 1);
        if (next_random(r) % 3)
            n->next = build(r, depth - 1);
    }
    return n;
}

/* Free a tree no other thread ever saw. Frees of tiny payloads do nothing;
 * freeing a node drops its finalizer. */
static void free_tree(struct node *n)
{
    while (n) {
        struct node *next = n->next;
        free_tree(n->child);
        mgc_free(n->payload);
        mgc_free(n);
        n = next;
    }
}

/* While a finalizer runs, its object and everything it reaches are intact. */
static void soak_finalizer(void *obj, void *arg)
{
    (void)arg;
    uint64_t objects = 0, bytes = 0;
    struct node *n = obj;
    checking = "in a finalizer";
    if (verify_node(n, &objects, &bytes) && verify_tree(n->child, 1, &objects, &bytes))
        verify_tree(n->next, 1, &objects, &bytes);
    add_total(&finalizers_seen, 1);
}

/* ---- Exchange between threads ---------------------------------------------------------------- */

static pthread_mutex_t exchange_lock = PTHREAD_MUTEX_INITIALIZER;
static struct node *shared[SHARED];       /* owned by whoever takes one out */
static struct node *published[PUBLISHED]; /* read by all, written by none */

static struct node *swap_shared(int k, struct node *mine)
{
    pthread_mutex_lock(&exchange_lock);
    struct node *theirs = shared[k];
    shared[k] = mine;
    pthread_mutex_unlock(&exchange_lock);
    return theirs;
}

static void publish(int k, struct node *tree)
{
    pthread_mutex_lock(&exchange_lock);
    published[k] = tree; /* the one replaced is garbage now: readers keep theirs alive */
    pthread_mutex_unlock(&exchange_lock);
}

static struct node *read_published(int k)
{
    pthread_mutex_lock(&exchange_lock);
    struct node *tree = published[k];
    pthread_mutex_unlock(&exchange_lock);
    return tree;
}

/* ---- A worker ------------------------------------------------------------------------------ */

struct worker {
    pthread_t thread;
    uint64_t seed;
    double lifetime;
    volatile int done;
};

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* A node on a random path from root, at most steps down. */
static struct node *walk(struct rng *r, struct node *root, int steps)
{
    struct node *n = root;
    for (int i = 0; n && i < steps; i++) {
        struct node *down = next_random(r) & 1 ? n->child : n->next;
        if (!down)
            break;
        n = down;
    }
    return n;
}

/* Reallocate n's payload to another size of its kind; the kept bytes must
 * survive, the rest is filled anew. */
static void resize_payload(struct rng *r, struct node *n)
{
    if (n->payload_kind == STRING || n->payload_kind == TINY)
        return; /* strings stay strings; tiny payloads stay tiny elsewhere */
    uint32_t old_size = n->payload_size;
    uint32_t size = old_size / 2 + (uint32_t)(next_random(r) % (old_size + 1));
    if (n->payload_kind == SMALL_SCAN || n->payload_kind == LARGE_SCAN)
        size = size < 16 ? 16 : size & ~7u;
    else if (size < 16)
        size = 16;
    checking = "a reallocated payload";
    unsigned char *p = checked(mgc_realloc(n->payload, size));
    size_t kept = size < old_size ? size : old_size;
    for (size_t i = pattern_start(n); i < kept; i++)
        if (p[i] != payload_byte(n->key, i)) {
            fail("realloc lost payload bytes", n);
            break;
        }
    n->payload = p;
    n->payload_size = size;
    if (size >= 32768 && n->payload_kind != LARGE_SCAN && n->payload_kind != SMALL_SCAN)
        n->payload_kind = LARGE_NOSCAN;
    else if (size < 32768 && n->payload_kind == LARGE_NOSCAN)
        n->payload_kind = MEDIUM_NOSCAN;
    fill_payload(n, kept);
    n->check = check_of(n);
}

static void churn(struct rng *r)
{
    for (int i = 0; i < 200; i++) {
        size_t size = 1 + next_random(r) % 700;
        unsigned char *q = i & 1 ? mgc_alloc(size) : mgc_alloc_noscan(size);
        if (q)
            memset(q, 0x5A, size);
    }
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    /* A worker may take a tree from the exchange before it first calls
     * into mgc: registered only then, its stack would hide the tree from
     * a collection meanwhile (mgc.h: a thread that holds mgc pointers but
     * has not called mgc must register). Without this line the soak failed
     * within a minute, with trees freed under their new owner. */
    mgc_register_thread();
    struct rng r = {w->seed};
    struct node *roots[ROOTS] = {0};
    bool exclusive[ROOTS] = {0}; /* no other thread ever saw it: may be freed explicitly */
    double end = now_seconds() + w->lifetime;
    for (unsigned long op = 0; !stopping; op++) {
        if (op % 256 == 0 && now_seconds() > end)
            break;
        int i = (int)(next_random(&r) % ROOTS);
        unsigned roll = (unsigned)(next_random(&r) % 1000);
        checking = "a tree of this thread's";
        if (roll < 300) {
            verify_and_count(roots[i]);
        } else if (roll < 500) { /* drop and rebuild */
            if (with_frees && exclusive[i] && next_random(&r) % 2)
                free_tree(roots[i]);
            roots[i] = build(&r, (int)(next_random(&r) % 6));
            exclusive[i] = true;
        } else if (roll < 650) { /* graft a new subtree, dropping what was there */
            struct node *n = walk(&r, roots[i], GRAFT_STEPS);
            if (n)
                n->child = build(&r, (int)(next_random(&r) % 4));
        } else if (roll < 780) {
            struct node *n = walk(&r, roots[i], GRAFT_STEPS);
            if (n && with_reallocs)
                resize_payload(&r, n);
        } else if (roll < 960 && !with_exchange) {
            verify_and_count(roots[i]);
        } else if (roll < 860) { /* hand a tree to whoever wants it */
            roots[i] = swap_shared((int)(next_random(&r) % SHARED), roots[i]);
            exclusive[i] = false;
        } else if (roll < 880) { /* publish: from now on nobody writes it */
            if (roots[i]) {
                publish((int)(next_random(&r) % PUBLISHED), roots[i]);
                roots[i] = NULL;
            }
        } else if (roll < 960) {
            checking = "a published tree";
            verify_and_count(read_published((int)(next_random(&r) % PUBLISHED)));
        } else if (roll < 998) {
            churn(&r);
        } else if (roll < 999 || next_random(&r) % 8) {
            for (int k = 0; k < ROOTS; k++)
                verify_and_count(roots[k]);
        } else {
            mgc_collect();
            add_total(&explicit_collections, 1);
        }
    }
    for (int k = 0; k < ROOTS; k++) {
        verify_and_count(roots[k]);
        if (with_frees && exclusive[k] && k % 2)
            free_tree(roots[k]);
    }
    __atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

/* ---- The main thread -------------------------------------------------------------------------- */

static void start_worker(struct worker *w, struct rng *r)
{
    w->seed = next_random(r) | 1;
    w->lifetime = with_restarts ? 1.0 + (double)(next_random(r) % 8000) / 1000.0 : 1e9;
    w->done = 0;
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
        fprintf(stderr, "soak: FAILURE: pthread_create failed\n");
        exit(1);
    }
    add_total(&threads_started, 1);
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 600;
    if (!(seconds > 0)) {
        fprintf(stderr, "usage: soak [seconds]\n");
        return 2;
    }
    with_frees = !getenv("SOAK_FREES") || atoi(getenv("SOAK_FREES"));
    with_finalizers = !getenv("SOAK_FINALIZERS") || atoi(getenv("SOAK_FINALIZERS"));
    with_reallocs = !getenv("SOAK_REALLOCS") || atoi(getenv("SOAK_REALLOCS"));
    with_restarts = !getenv("SOAK_RESTARTS") || atoi(getenv("SOAK_RESTARTS"));
    with_big = !getenv("SOAK_BIG") || atoi(getenv("SOAK_BIG"));
    with_exchange = !getenv("SOAK_EXCHANGE") || atoi(getenv("SOAK_EXCHANGE"));
    /* A hang fails too: SIGALRM's default action ends the process. */
    alarm((unsigned)seconds + 300);
    struct rng r = {(uint64_t)time(NULL) * 2654435761u | 1};
    printf("soak: %.0f s, %d workers at a time, seed %llu\n", seconds, WORKERS, (unsigned long long)r.state);
    fflush(stdout);
    struct worker workers[WORKERS];
    double start = now_seconds(), end = start + seconds, next_collect = start + 5;
    for (int k = 0; k < WORKERS; k++)
        start_worker(&workers[k], &r);
    while (now_seconds() < end) {
        struct timespec pause = {0, 20 * 1000 * 1000};
        nanosleep(&pause, NULL); /* may end early: collections signal this thread */
        for (int k = 0; k < WORKERS; k++)
            if (__atomic_load_n(&workers[k].done, __ATOMIC_ACQUIRE)) {
                pthread_join(workers[k].thread, NULL);
                start_worker(&workers[k], &r);
            }
        if (now_seconds() > next_collect) {
            mgc_collect();
            add_total(&explicit_collections, 1);
            next_collect += 5;
        }
    }
    stopping = 1;
    for (int k = 0; k < WORKERS; k++)
        pthread_join(workers[k].thread, NULL);
    for (int k = 0; k < SHARED; k++)
        verify_and_count(shared[k]);
    for (int k = 0; k < PUBLISHED; k++)
        verify_and_count(published[k]);
    mgc_collect();
    struct mgc_stats s;
    mgc_read_stats(&s);
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    double elapsed = now_seconds() - start;
    printf("soak: %.0f s: %llu objects verified, %llu bytes verified, %llu collections (%llu explicit), "
           "%llu threads started, %llu finalizers run, max RSS %.1f MiB: %s\n",
           elapsed, (unsigned long long)objects_verified, (unsigned long long)bytes_verified,
           (unsigned long long)s.num_gc, (unsigned long long)explicit_collections,
           (unsigned long long)threads_started, (unsigned long long)finalizers_seen, usage.ru_maxrss / 1024.0,
           failures ? "FAILED" : "passed");
    if (failures) {
        fprintf(stderr, "soak: FAILED: %d mismatches\n", failures);
        return 1;
    }
    return 0;
}

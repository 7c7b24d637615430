/*
 * gcbench.c: collector benchmarks, where the allocator's speed matters less
 * than how the collector copes with live data: how often it runs, how long
 * it stops the program, how much memory it keeps.
 *
 *   trees [DEPTH]       binary trees (the Benchmarks Game program): a stretch
 *                       tree, a long-lived tree kept to the end, and many
 *                       short-lived trees of two-pointer nodes. Checks are
 *                       the game's standard values (DEPTH 21 by default).
 *   trees2 [DEPTH]      the same, the short-lived trees built by 2 threads
 *   gcbench [DEPTH]     John Ellis and Hans Boehm's GCBench: a long-lived
 *                       tree of DEPTH (16) and an array of 500000 doubles,
 *                       then trees built top-down and bottom-up
 *   pause [MIB]         a live heap of MIB (1024) MiB in linked chains of
 *                       small scanned objects, then 3 forced full
 *                       collections: the pause of marking a big live heap
 *
 * Output: the workload's check lines, then one tab-separated line for
 * bench/gc.sh: workload, backend, wall s, CPU s (user + system), peak RSS
 * MiB, collections, max pause ms. The pause workload's max pause is that of
 * its forced collections alone; the other workloads report the largest
 * pause of the whole run.
 *
 * "Pause" is the time the world is stopped, for both collectors (collector.h).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "backend.h"
#include "collector.h"

static void *check_allocation(void *p, size_t size)
{
    if (!p) {
        fprintf(stderr, "gcbench: out of memory allocating %zu bytes\n", size);
        exit(1);
    }
    return p;
}

static void *allocate(size_t size) { return check_allocation(backend_alloc(size), size); }

static void *allocate_noscan(size_t size) { return check_allocation(backend_alloc_noscan(size), size); }

/* ---- What the collector tells ----------------------------------------------------- */

static double now_seconds(void) { return collector_now_seconds(); }

static void collect_now(void) { backend_collect(); }

static uint64_t collection_count(void)
{
    struct collector_snapshot snapshot;
    collector_read(&snapshot);
    return snapshot.collections;
}

static double max_pause_ms(void)
{
    struct collector_snapshot snapshot;
    collector_read(&snapshot);
    return (double)snapshot.max_pause_ns / 1e6;
}

static double last_pause_ms(void)
{
    struct collector_snapshot snapshot;
    collector_read(&snapshot);
    return (double)snapshot.last_pause_ns / 1e6;
}

/* ---- Binary trees ------------------------------------------------------------------
 *
 * The Benchmarks Game program: nodes of two pointers, leaves have none. The
 * checks count nodes, so any lost or corrupted node changes them.
 */

struct tree_node {
    struct tree_node *left, *right;
};

#define TREES_MIN_DEPTH 4

static struct tree_node *bottom_up_tree(int depth)
{
    struct tree_node *node = allocate(sizeof *node);
    if (depth > 0) {
        node->left = bottom_up_tree(depth - 1);
        node->right = bottom_up_tree(depth - 1);
    }
    return node;
}

static long item_check(const struct tree_node *node)
{
    if (!node->left)
        return 1;
    return 1 + item_check(node->left) + item_check(node->right);
}

/* Each worker builds every thread_count-th tree of every depth; the checks
 * are summed per depth afterwards, so the output is that of one thread. */
struct trees_worker {
    pthread_t thread;
    int thread_index, thread_count, max_depth;
    long checks[31]; /* by depth */
};

static void build_short_lived_trees(struct trees_worker *worker)
{
    for (int depth = TREES_MIN_DEPTH; depth <= worker->max_depth; depth += 2) {
        long iterations = 1L << (worker->max_depth - depth + TREES_MIN_DEPTH);
        long check = 0;
        for (long i = worker->thread_index; i < iterations; i += worker->thread_count)
            check += item_check(bottom_up_tree(depth));
        worker->checks[depth] = check;
    }
}

static void *trees_worker_main(void *argument)
{
    backend_thread_begin();
    build_short_lived_trees(argument);
    backend_thread_end();
    return NULL;
}

static void run_trees(int max_depth, int thread_count)
{
    /* Deep enough for one round of short-lived trees, shallow enough for
     * the per-depth checks and iteration counts to fit. */
    if (max_depth < TREES_MIN_DEPTH + 2)
        max_depth = TREES_MIN_DEPTH + 2;
    if (max_depth > 30)
        max_depth = 30;
    int stretch_depth = max_depth + 1;
    printf("stretch tree of depth %d\t check: %ld\n", stretch_depth, item_check(bottom_up_tree(stretch_depth)));

    struct tree_node *long_lived_tree = bottom_up_tree(max_depth);

    /* Worker records live in malloc memory: they hold no collected pointers. */
    struct trees_worker *workers = check_allocation(calloc((size_t)thread_count, sizeof *workers), sizeof *workers);
    for (int t = 0; t < thread_count; t++) {
        workers[t].thread_index = t;
        workers[t].thread_count = thread_count;
        workers[t].max_depth = max_depth;
    }
    /* The main thread is worker 0 and starts the others. Had it only waited
     * for them, in pthread_join, the registers it kept there would have
     * been roots for the whole run: with the stretch tree's nodes in them,
     * either conservative collector kept 64 MB of dead tree live. */
    for (int t = 1; t < thread_count; t++)
        if (pthread_create(&workers[t].thread, NULL, trees_worker_main, &workers[t]) != 0) {
            fprintf(stderr, "gcbench: pthread_create failed\n");
            exit(1);
        }
    build_short_lived_trees(&workers[0]);
    for (int t = 1; t < thread_count; t++)
        pthread_join(workers[t].thread, NULL);
    for (int depth = TREES_MIN_DEPTH; depth <= max_depth; depth += 2) {
        long check = 0;
        for (int t = 0; t < thread_count; t++)
            check += workers[t].checks[depth];
        printf("%ld\t trees of depth %d\t check: %ld\n", 1L << (max_depth - depth + TREES_MIN_DEPTH), depth, check);
    }
    free(workers);

    printf("long lived tree of depth %d\t check: %ld\n", max_depth, item_check(long_lived_tree));
}

/* ---- GCBench -----------------------------------------------------------------------
 *
 * After John Ellis and Pete Kovac's Java GCBench as ported to C by Hans
 * Boehm: the same tree shapes, iteration counts and long-lived data. Two
 * additions make the output verifiable: every node records its depth, and
 * every tree is walked once when built, its nodes counted and depths checked.
 */

struct gcbench_node {
    struct gcbench_node *left, *right;
    int depth, unused; /* the original's two ints; depth is checked */
};

#define GCBENCH_ARRAY_LENGTH 500000
#define GCBENCH_MIN_DEPTH 4

static long tree_size(int depth) { return (1L << (depth + 1)) - 1; }

static struct gcbench_node *new_gcbench_node(int depth)
{
    struct gcbench_node *node = allocate(sizeof *node);
    node->depth = depth;
    return node;
}

/* Top-down: the parent exists first and its children are hung on it. */
static void populate(int depth, struct gcbench_node *node)
{
    if (depth <= 0)
        return;
    depth--;
    node->left = new_gcbench_node(depth);
    node->right = new_gcbench_node(depth);
    populate(depth, node->left);
    populate(depth, node->right);
}

/* Bottom-up: the children exist first, held only by the stack. */
static struct gcbench_node *make_tree(int depth)
{
    if (depth <= 0)
        return new_gcbench_node(0);
    struct gcbench_node *left = make_tree(depth - 1);
    struct gcbench_node *right = make_tree(depth - 1);
    struct gcbench_node *node = new_gcbench_node(depth);
    node->left = left;
    node->right = right;
    return node;
}

/* The number of nodes, or -1 when a node's depth is wrong (a node was
 * reclaimed while reachable and its memory reused). */
static long gcbench_check(const struct gcbench_node *node, int depth)
{
    if (node->depth != depth)
        return -1;
    if (depth == 0)
        return node->left || node->right ? -1 : 1;
    long left = gcbench_check(node->left, depth - 1);
    long right = gcbench_check(node->right, depth - 1);
    return left < 0 || right < 0 ? -1 : 1 + left + right;
}

static void run_gcbench(int long_lived_depth)
{
    if (long_lived_depth < GCBENCH_MIN_DEPTH)
        long_lived_depth = GCBENCH_MIN_DEPTH;
    if (long_lived_depth > 28)
        long_lived_depth = 28;
    int stretch_depth = long_lived_depth + 2;
    int max_depth = long_lived_depth;

    printf("stretch tree of depth %d\t check: %ld\n", stretch_depth,
           gcbench_check(make_tree(stretch_depth), stretch_depth));

    struct gcbench_node *long_lived_tree = new_gcbench_node(long_lived_depth);
    populate(long_lived_depth, long_lived_tree);

    double *array = allocate_noscan(GCBENCH_ARRAY_LENGTH * sizeof *array);
    for (int i = 0; i < GCBENCH_ARRAY_LENGTH; i++)
        array[i] = 1.0 / (i + 1);

    for (int depth = GCBENCH_MIN_DEPTH; depth <= max_depth; depth += 2) {
        long iterations = 2 * tree_size(stretch_depth) / tree_size(depth);
        long top_down_check = 0, bottom_up_check = 0;
        for (long i = 0; i < iterations; i++) {
            struct gcbench_node *tree = new_gcbench_node(depth);
            populate(depth, tree);
            top_down_check += gcbench_check(tree, depth);
        }
        for (long i = 0; i < iterations; i++)
            bottom_up_check += gcbench_check(make_tree(depth), depth);
        printf("%ld\t trees of depth %d\t top-down check: %ld\t bottom-up check: %ld\n", iterations, depth,
               top_down_check, bottom_up_check);
    }

    int array_intact = 1;
    for (int i = 0; i < GCBENCH_ARRAY_LENGTH; i++)
        if (array[i] != 1.0 / (i + 1))
            array_intact = 0;
    printf("long lived tree of depth %d\t check: %ld\n", long_lived_depth,
           gcbench_check(long_lived_tree, long_lived_depth));
    printf("long lived array of %d doubles\t %s\n", GCBENCH_ARRAY_LENGTH, array_intact ? "intact" : "CORRUPTED");
}

/* ---- Pause over a large live heap -----------------------------------------------------
 *
 * The heap is many linked chains hanging off one root array: a list has to
 * be marked node after node, so the markers only run in parallel by sharing
 * out whole chains. A node holds 56 bytes but asks for 63, so that every
 * collector gives it a 64-byte slot and the live heap is the same size on
 * all: mgc has a 56-byte class, and Boehm rounds to 16-byte granules after
 * adding one byte when interior pointers are on (57 would become 64 there,
 * 64 would become 80). The payload is small integers, which no conservative
 * scan mistakes for pointers.
 */

struct chain_node {
    struct chain_node *next;
    uint64_t payload[6];
};

#define CHAIN_LENGTH 1024
#define PAUSE_NODE_REQUEST 63
#define PAUSE_SLOT_SIZE 64
_Static_assert(sizeof(struct chain_node) <= PAUSE_NODE_REQUEST, "a chain node must fit its request");
#define FORCED_COLLECTIONS 3

static double run_pause(long heap_mib)
{
    size_t chain_count = (size_t)heap_mib * (1u << 20) / PAUSE_SLOT_SIZE / CHAIN_LENGTH;
    struct chain_node **chains = allocate(chain_count * sizeof *chains);
    uint64_t expected_sum = 0;
    for (size_t c = 0; c < chain_count; c++) {
        struct chain_node *head = NULL;
        for (uint64_t k = 0; k < CHAIN_LENGTH; k++) {
            struct chain_node *node = allocate(PAUSE_NODE_REQUEST);
            for (int w = 0; w < 6; w++) {
                node->payload[w] = k + (uint64_t)w;
                expected_sum += k + (uint64_t)w;
            }
            node->next = head;
            head = node;
        }
        chains[c] = head;
    }

    double max_forced_pause = 0;
    for (int i = 0; i < FORCED_COLLECTIONS; i++) {
        collect_now();
        double pause = last_pause_ms();
        if (pause > max_forced_pause)
            max_forced_pause = pause;
    }

    uint64_t nodes = 0, sum = 0;
    for (size_t c = 0; c < chain_count; c++)
        for (const struct chain_node *node = chains[c]; node; node = node->next) {
            nodes++;
            for (int w = 0; w < 6; w++)
                sum += node->payload[w];
        }
    printf("live heap of %ld MiB: %zu chains of %d nodes\t check: %llu nodes, %s\n", heap_mib, chain_count,
           CHAIN_LENGTH, (unsigned long long)nodes, sum == expected_sum ? "payload intact" : "payload CORRUPTED");
    return max_forced_pause;
}

/* ---- Main ------------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s trees|trees2|gcbench|pause [SIZE]\n", argv[0]);
        return 2;
    }
    const char *workload = argv[1];
    long size = argc > 2 ? atol(argv[2]) : 0;
    double start = now_seconds();
    backend_init();
    collector_setup();

    double pause_ms;
    if (strcmp(workload, "trees") == 0 || strcmp(workload, "trees2") == 0) {
        run_trees(size > 0 ? (int)size : 21, strcmp(workload, "trees2") == 0 ? 2 : 1);
        pause_ms = max_pause_ms();
    } else if (strcmp(workload, "gcbench") == 0) {
        run_gcbench(size > 0 ? (int)size : 16);
        pause_ms = max_pause_ms();
    } else if (strcmp(workload, "pause") == 0) {
        pause_ms = run_pause(size > 0 ? size : 1024);
    } else {
        fprintf(stderr, "gcbench: unknown workload %s\n", workload);
        return 2;
    }

    double wall = now_seconds() - start;
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    double cpu = (double)usage.ru_utime.tv_sec + (double)usage.ru_utime.tv_usec / 1e6 +
                 (double)usage.ru_stime.tv_sec + (double)usage.ru_stime.tv_usec / 1e6;
    printf("%s\t%s\t%.3f\t%.3f\t%.1f\t%llu\t%.2f\n", workload, BACKEND_NAME, wall, cpu,
           (double)usage.ru_maxrss / 1024.0, (unsigned long long)collection_count(), pause_ms);
    return 0;
}

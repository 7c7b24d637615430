/*
 * test_workloads.c: the benchmark's json and garbage workloads
 * (bench/workload_*.c) at a tiny size, for what they check rather than how
 * fast they run: every json operation's encoded text equals its input, and
 * every garbage tree keeps the checksum it was parsed with until it is
 * dropped. Run with the tiny allocator on and off, on two threads at once,
 * and with a collection at every few slow-path allocations, these are also
 * collector tests: a reachable object freed and reused breaks a round trip
 * or a checksum.
 */
#include <pthread.h>
#include <string.h>

#include "harness.h"
#include "workload.h"

__thread uint64_t workload_requests;

#define TEST_SCALE 0.01

struct worker_run {
    const struct workload *workload;
    int worker, workers;
    long operations;
    int result;
};

static void *run_worker(void *argument)
{
    struct worker_run *run = argument;
    void *state = run->workload->worker_start(run->worker, run->workers);
    run->result = -1;
    if (!state)
        return NULL;
    for (long i = 0; i < run->operations; i++)
        if (run->workload->operation(state) != 0)
            return NULL;
    run->result = run->workload->worker_finish(state);
    return NULL;
}

/* Sets the workload up and runs WORKERS workers of OPERATIONS operations
 * each, on threads of their own when there are several; every one must
 * pass its checks. */
static void run_workload(const struct workload *workload, int workers, long operations)
{
    backend_init();
    CHECK_EQ(workload->setup(TEST_SCALE), 0);
    struct worker_run runs[4];
    pthread_t threads[4];
    CHECK(workers >= 1 && workers <= 4);
    for (int w = 0; w < workers; w++) {
        runs[w] = (struct worker_run){workload, w, workers, operations, -1};
        if (workers == 1)
            run_worker(&runs[w]);
        else
            CHECK_EQ(pthread_create(&threads[w], NULL, run_worker, &runs[w]), 0);
    }
    for (int w = 0; w < workers; w++) {
        if (workers > 1)
            CHECK_EQ(pthread_join(threads[w], NULL), 0);
        CHECK_EQ(runs[w].result, 0);
    }
}

static uint64_t collections(void)
{
    struct mgc_stats stats;
    mgc_read_stats(&stats);
    return stats.num_gc;
}

TEST(json_round_trips)
{
    run_workload(&json_workload, 1, 4);
}

ENV_TEST(json_round_trips_without_the_tiny_allocator, "MGC_DEBUG=tinyalloc=0")
{
    run_workload(&json_workload, 1, 4);
}

ENV_TEST(json_round_trips_while_collections_run, "MGC_DEBUG=collectevery=5")
{
    run_workload(&json_workload, 1, 3);
    CHECK(collections() > 10);
}

/* Six operations (57-78 collections over 20 runs): with three, runs gave
 * 15-30 and now and then 10 or fewer, which failed the check. */
ENV_TEST(json_round_trips_on_two_threads, "MGC_DEBUG=collectevery=10")
{
    run_workload(&json_workload, 2, 6);
    CHECK(collections() > 10);
}

TEST(garbage_trees_keep_their_checksums)
{
    run_workload(&garbage_workload, 1, 10);
}

ENV_TEST(garbage_trees_keep_their_checksums_without_the_tiny_allocator, "MGC_DEBUG=tinyalloc=0")
{
    run_workload(&garbage_workload, 1, 10);
}

ENV_TEST(garbage_trees_keep_their_checksums_while_collections_run, "MGC_DEBUG=collectevery=10")
{
    run_workload(&garbage_workload, 1, 6);
    CHECK(collections() > 10);
}

ENV_TEST(garbage_trees_keep_their_checksums_on_two_threads, "MGC_DEBUG=collectevery=10")
{
    run_workload(&garbage_workload, 2, 6);
    CHECK(collections() > 10);
}

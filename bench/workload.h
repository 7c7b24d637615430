/*
 * workload.h: the interface between the seed benchmarks' driver (seedbench.c)
 * and its workloads (workload_json.c, workload_garbage.c), which the test
 * suite also runs at a tiny size (tests/test_workloads.c).
 *
 * A workload builds its input once (setup), read-only and outside the
 * collected heap; then every worker thread starts its own state
 * (worker_start), runs operations on it and finishes (worker_finish). The
 * state is a scanned collected object the worker keeps on its stack, so
 * whatever a workload keeps live between operations hangs off it.
 *
 * Every check a workload makes (a round trip, a checksum) runs inside the
 * operations and worker_finish; a failed check prints why on stderr and
 * returns -1, and the driver exits non-zero.
 *
 * Workloads allocate through workload_alloc and workload_alloc_noscan,
 * which count requests per thread (Boehm GC cannot) and give up on NULL.
 */
#ifndef MGC_BENCH_WORKLOAD_H
#define MGC_BENCH_WORKLOAD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "backend.h"

struct workload {
    const char *name;
    /* Builds the shared input. scale 1.0 is the benchmark's full size; the
     * tests run at 0.01 or so. Returns 0, or -1 after printing why. */
    int (*setup)(double scale);
    /* Worker WORKER of WORKERS: returns its state (collected, scanned), or
     * NULL after printing why. A workload that keeps a fixed live heap
     * divides it among the workers. */
    void *(*worker_start)(int worker, int workers);
    /* One operation on the worker's state: 0, or -1 after printing why. */
    int (*operation)(void *state);
    /* After the last operation: final checks; 0 or -1. */
    int (*worker_finish)(void *state);
};

extern const struct workload json_workload;
extern const struct workload garbage_workload;

/* Requests made by this thread; the driver sums them over its workers. */
extern __thread uint64_t workload_requests;

static inline void *workload_check(void *p, size_t size)
{
    if (!p) {
        fprintf(stderr, "workload: out of memory allocating %zu bytes\n", size);
        exit(1);
    }
    return p;
}

/* May hold pointers: syntax tree nodes, arrays of values. */
static inline void *workload_alloc(size_t size)
{
    workload_requests++;
    return workload_check(backend_alloc(size), size);
}

/* Holds no pointers: strings, numbers, text buffers. */
static inline void *workload_alloc_noscan(size_t size)
{
    workload_requests++;
    return workload_check(backend_alloc_noscan(size), size);
}

#endif

/*
 * seedbench.c: the driver of the seed's two workloads, json and garbage
 * (workload.h), which judged the tiny allocator when Go introduced it.
 *
 *   seedbench_BACKEND json|garbage WORKERS OPERATIONS [SCALE]
 *
 * WORKERS threads each set up their state, wait until all are ready, run
 * OPERATIONS operations, and wait again; the figures cover the stretch
 * between the two waits, so neither input generation nor the garbage
 * workload's initial live heap is counted (peak RSS and virtual memory are
 * the process's peaks all the same). The last wait comes before the
 * workers' final checks, which are not measured either.
 *
 * Output, one "figure<TAB>value" line each, per operation where the seed's
 * driver divided by operations (operations = WORKERS x OPERATIONS):
 *   allocated       bytes allocated per operation (size-class rounded)
 *   allocs          heap objects allocated per operation: for mgc a tiny
 *                   block counts once however many requests share it; for
 *                   Boehm GC, which packs nothing, every request
 *   cputime         CPU ns per operation, every thread of the process
 *   gc-pause-one    ns the world stood stopped per collection
 *   gc-pause-total  ns the world stood stopped per operation
 *   rss             peak resident bytes
 *   sys-gc, sys-heap, sys-other, sys-total
 *                   bytes obtained from the OS at the end, as the collector
 *                   counts them (n/a where it does not)
 *   time            wall ns per operation
 *   virtual-mem     peak virtual bytes (VmPeak)
 * and two more the seed did not have:
 *   requests        allocation requests per operation (the workload's calls)
 *   collections     collections during the measured stretch
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "backend.h"
#include "collector.h"
#include "workload.h"

__thread uint64_t workload_requests;

struct run {
    const struct workload *workload;
    int workers;
    long operations;
    pthread_barrier_t ready, done;
};

struct worker {
    pthread_t thread;
    int index;
    struct run *run;
    uint64_t requests; /* during the measured stretch */
    int failed;
};

static void wait_at(pthread_barrier_t *barrier)
{
    int result = pthread_barrier_wait(barrier);
    if (result != 0 && result != PTHREAD_BARRIER_SERIAL_THREAD) {
        fprintf(stderr, "seedbench: pthread_barrier_wait: %s\n", strerror(result));
        exit(1);
    }
}

static void *worker_main(void *argument)
{
    struct worker *worker = argument;
    struct run *run = worker->run;
    backend_thread_begin();
    /* The state lives on this stack, where the collector finds it. */
    void *state = run->workload->worker_start(worker->index, run->workers);
    if (!state)
        worker->failed = 1;
    wait_at(&run->ready);
    uint64_t requests_before = workload_requests;
    for (long i = 0; i < run->operations && !worker->failed; i++)
        if (run->workload->operation(state) != 0)
            worker->failed = 1;
    worker->requests = workload_requests - requests_before;
    wait_at(&run->done);
    if (!worker->failed && run->workload->worker_finish(state) != 0)
        worker->failed = 1;
    backend_thread_end();
    return NULL;
}

static double cpu_seconds(void)
{
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return (double)usage.ru_utime.tv_sec + (double)usage.ru_utime.tv_usec / 1e6 +
           (double)usage.ru_stime.tv_sec + (double)usage.ru_stime.tv_usec / 1e6;
}

/* VmPeak from /proc/self/status, in bytes; 0 when it cannot be read. */
static uint64_t peak_virtual_bytes(void)
{
    FILE *status = fopen("/proc/self/status", "r");
    if (!status)
        return 0;
    char line[256];
    unsigned long long kib = 0;
    while (fgets(line, sizeof line, status))
        if (sscanf(line, "VmPeak: %llu kB", &kib) == 1)
            break;
    fclose(status);
    return (uint64_t)kib * 1024;
}

static void print_figure(const char *name, double value) { printf("%s\t%.0f\n", name, value); }

static void print_known(const char *name, uint64_t value)
{
    if (value == COLLECTOR_UNKNOWN)
        printf("%s\tn/a\n", name);
    else
        print_figure(name, (double)value);
}

static long parse_positive(const char *text, const char *what)
{
    char *end;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno || *end || value <= 0) {
        fprintf(stderr, "seedbench: %s must be a positive integer, not '%s'\n", what, text);
        exit(2);
    }
    return value;
}

int main(int argc, char **argv)
{
    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: %s json|garbage WORKERS OPERATIONS [SCALE]\n", argv[0]);
        return 2;
    }
    struct run run = {0};
    if (strcmp(argv[1], "json") == 0) {
        run.workload = &json_workload;
    } else if (strcmp(argv[1], "garbage") == 0) {
        run.workload = &garbage_workload;
    } else {
        fprintf(stderr, "seedbench: unknown workload '%s' (json or garbage)\n", argv[1]);
        return 2;
    }
    run.workers = (int)parse_positive(argv[2], "WORKERS");
    run.operations = parse_positive(argv[3], "OPERATIONS");
    double scale = 1.0;
    if (argc == 5) {
        char *end;
        scale = strtod(argv[4], &end);
        if (*end || !(scale > 0 && scale <= 100)) {
            fprintf(stderr, "seedbench: SCALE must be a number in (0, 100], not '%s'\n", argv[4]);
            return 2;
        }
    }

    backend_init();
    collector_setup();
    if (run.workload->setup(scale) != 0)
        return 1;

    struct worker *workers = calloc((size_t)run.workers, sizeof *workers);
    if (!workers || pthread_barrier_init(&run.ready, NULL, (unsigned)run.workers + 1) != 0 ||
        pthread_barrier_init(&run.done, NULL, (unsigned)run.workers + 1) != 0) {
        fprintf(stderr, "seedbench: cannot set up %d workers\n", run.workers);
        return 1;
    }
    for (int w = 0; w < run.workers; w++) {
        workers[w].index = w;
        workers[w].run = &run;
        if (pthread_create(&workers[w].thread, NULL, worker_main, &workers[w]) != 0) {
            fprintf(stderr, "seedbench: pthread_create failed\n");
            return 1;
        }
    }

    struct collector_snapshot before, after;
    wait_at(&run.ready);
    collector_read(&before);
    double wall_start = collector_now_seconds(), cpu_start = cpu_seconds();
    wait_at(&run.done);
    double wall = collector_now_seconds() - wall_start, cpu = cpu_seconds() - cpu_start;
    collector_read(&after);

    int failed = 0;
    uint64_t requests = 0;
    for (int w = 0; w < run.workers; w++) {
        pthread_join(workers[w].thread, NULL);
        failed |= workers[w].failed;
        requests += workers[w].requests;
    }
    free(workers);
    if (failed) {
        fprintf(stderr, "seedbench: %s on %s: a check failed\n", run.workload->name, BACKEND_NAME);
        return 1;
    }

    double operations = (double)run.workers * (double)run.operations;
    uint64_t collections = after.collections - before.collections;
    uint64_t pause_ns = after.pause_total_ns - before.pause_total_ns;
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);

    printf("workload\t%s\nbackend\t%s\nworkers\t%d\noperations\t%.0f\n", run.workload->name, BACKEND_NAME,
           run.workers, operations);
    print_figure("allocated", (double)(after.allocated_bytes - before.allocated_bytes) / operations);
    if (after.heap_objects_allocated == COLLECTOR_UNKNOWN)
        print_figure("allocs", (double)requests / operations);
    else
        print_figure("allocs", (double)(after.heap_objects_allocated - before.heap_objects_allocated) / operations);
    print_figure("cputime", cpu * 1e9 / operations);
    print_figure("gc-pause-one", collections ? (double)pause_ns / (double)collections : 0);
    print_figure("gc-pause-total", (double)pause_ns / operations);
    print_figure("rss", (double)usage.ru_maxrss * 1024);
    print_known("sys-gc", after.sys_gc);
    print_known("sys-heap", after.sys_heap);
    print_known("sys-other", after.sys_other);
    print_known("sys-total", after.sys_total);
    print_figure("time", wall * 1e9 / operations);
    print_figure("virtual-mem", (double)peak_virtual_bytes());
    /* Not among the seed's figures. */
    print_figure("requests", (double)requests / operations);
    print_figure("collections", (double)collections);
    return 0;
}

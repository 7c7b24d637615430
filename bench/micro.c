/*
 * micro.c: allocation microbenchmarks in nanoseconds per operation.
 *
 *   alloc        allocate a batch of objects, keeping them all (the batch is
 *                released afterwards, untimed: free for malloc-style
 *                allocators, dropped for the collectors)
 *   alloc+free   allocate one object, touch it, free it, in a loop
 *
 * Each figure is the median of several repetitions. Output: one line per
 * case, "case<TAB>ns", for bench/micro.sh to put side by side.
 *
 * Usage: micro_BACKEND [SCALE [CASE]]. SCALE multiplies the object counts;
 * CASE, when given, runs only the cases whose name contains it (for
 * profiling one case at a time, e.g. "100KiB"). With MICRO_ROUNDS=1 in the
 * environment, every timed round of the alloc cases is printed on stderr as
 * well, where MGC_DEBUG=gctrace=1 puts its lines between them: which rounds
 * had a collection, and what each cost.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend.h"

#define REPEATS 7

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Keep the compiler from removing an allocation it can see is unused. */
#define KEEP(p) __asm__ volatile("" : : "r"(p) : "memory")

static void **batch;
static int print_rounds;

static double time_alloc(size_t size, int noscan, size_t count)
{
    double samples[REPEATS];
    /* Start from what is live, not from the heap the case before left: a
     * collector's next collection would otherwise depend on which case ran
     * before (after the 100 KiB case, mgc's goal was so high that the tiny
     * case ran with no collection at all). */
    backend_collect();
    for (int r = 0; r < REPEATS; r++) {
        double start = now_ns();
        if (noscan)
            for (size_t i = 0; i < count; i++)
                batch[i] = backend_alloc_noscan(size);
        else
            for (size_t i = 0; i < count; i++)
                batch[i] = backend_alloc(size);
        samples[r] = (now_ns() - start) / (double)count;
        if (print_rounds)
            fprintf(stderr, "alloc %zu B round %d: %.2f ns\n", size, r, samples[r]);
        KEEP(batch);
        if (BACKEND_IS_GC) {
            memset(batch, 0, count * sizeof *batch);
        } else {
            for (size_t i = 0; i < count; i++)
                backend_free(batch[i]);
        }
    }
    qsort(samples, REPEATS, sizeof samples[0], compare_doubles);
    return samples[REPEATS / 2];
}

static double time_alloc_free(size_t size, int noscan, size_t count)
{
    double samples[REPEATS];
    backend_collect();
    for (int r = 0; r < REPEATS; r++) {
        double start = now_ns();
        for (size_t i = 0; i < count; i++) {
            char *p = noscan ? backend_alloc_noscan(size) : backend_alloc(size);
            p[0] = (char)i;
            KEEP(p);
            backend_free(p);
        }
        samples[r] = (now_ns() - start) / (double)count;
    }
    qsort(samples, REPEATS, sizeof samples[0], compare_doubles);
    return samples[REPEATS / 2];
}

int main(int argc, char **argv)
{
    double scale = argc > 1 ? atof(argv[1]) : 1.0;
    const char *only = argc > 2 ? argv[2] : NULL;
    const char *rounds = getenv("MICRO_ROUNDS");
    print_rounds = rounds && strcmp(rounds, "1") == 0;
    backend_init();
    struct {
        const char *name;
        size_t size;
        int noscan;
        size_t count;
    } cases[] = {
        {"8B noscan", 8, 1, 1000000},
        {"16B noscan", 16, 1, 1000000},
        {"64B scan", 64, 0, 1000000},
        {"1KiB scan", 1024, 0, 100000},
        {"100KiB scan", 100 << 10, 0, 2000},
    };
    size_t max_count = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cases[i].count = (size_t)((double)cases[i].count * scale);
        if (cases[i].count < 100)
            cases[i].count = 100;
        if (cases[i].count > max_count)
            max_count = cases[i].count;
    }
    batch = calloc(max_count, sizeof *batch);
    if (BACKEND_IS_GC) {
        /* The batch array must be visible to a collector as a root; calloc
         * memory is not scanned, so give the collectors a heap array. */
        free(batch);
        batch = backend_alloc(max_count * sizeof *batch);
    }
    size_t ncases = sizeof cases / sizeof cases[0];
#define SELECTED(i) (!only || strstr(cases[i].name, only))
    /* Warm up with one full run of every case: neither the first touches of
     * fresh memory nor a heap still growing to the size the case needs is
     * what is measured (a quarter-size warm-up left the collected heaps
     * growing, and faulting pages in, during the timed runs). */
    for (size_t i = 0; i < ncases; i++)
        if (SELECTED(i))
            time_alloc(cases[i].size, cases[i].noscan, cases[i].count);
    for (size_t i = 0; i < ncases; i++)
        if (SELECTED(i))
            printf("alloc %s\t%.2f\n", cases[i].name, time_alloc(cases[i].size, cases[i].noscan, cases[i].count));
    for (size_t i = 0; i < ncases; i++)
        if (SELECTED(i))
            printf("alloc+free %s\t%.2f\n", cases[i].name,
                   time_alloc_free(cases[i].size, cases[i].noscan, cases[i].count * 4));
    return 0;
}

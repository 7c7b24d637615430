/*
 * finalize.c: the cost of a finalizable object, from set to run.
 *
 * One million 32-byte objects each get a finalizer (a counter increment)
 * and are dropped; then collections run, and the queued finalizers are
 * run on this thread, until every one has run (or ten rounds passed: a
 * conservative collector may keep a few alive through stale stack words).
 * Reported per object: setting the finalizer (allocation excluded), the
 * collections, running the finalizers, and all of it. mgc runs in manual
 * mode (mgc_run_finalizers); Boehm GC with finalize-on-demand
 * (GC_invoke_finalizers), so both run finalizers on the measuring thread.
 *
 * Output: "finalize<TAB>backend<TAB>set ns<TAB>collect ns<TAB>run ns<TAB>total ns<TAB>ran".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend.h"

#if !BACKEND_IS_GC
#error "finalizers need a collector: build with BACKEND_MGC or BACKEND_BOEHM"
#endif

static uint64_t finalized;

#if defined(BACKEND_MGC)
static void on_finalize(void *obj, void *arg)
{
    (void)obj, (void)arg;
    finalized++;
}
static void prepare(void) { mgc_set_finalizer_mode(MGC_FINALIZE_MANUAL); }
static void set_finalizer(void *p) { mgc_set_finalizer(p, on_finalize, NULL); }
static void collect(void) { mgc_collect(); }
static void run_finalizers(void) { mgc_run_finalizers(); }
#else
static void on_finalize(void *obj, void *arg)
{
    (void)obj, (void)arg;
    finalized++;
}
static void prepare(void) { GC_set_finalize_on_demand(1); }
static void set_finalizer(void *p) { GC_REGISTER_FINALIZER(p, on_finalize, NULL, NULL, NULL); }
static void collect(void) { GC_gcollect(); }
static void run_finalizers(void) { GC_invoke_finalizers(); }
#endif

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* Allocate and register in a frame of its own, so that no pointer to the
 * objects outlives it on the stack; returns the time spent registering. */
static __attribute__((noinline)) double make_finalizable(size_t count)
{
    double registering = 0;
    enum { BATCH = 1000 };
    void *batch[BATCH];
    for (size_t done = 0; done < count; done += BATCH) {
        for (size_t i = 0; i < BATCH; i++)
            batch[i] = backend_alloc(32);
        double start = now_ns();
        for (size_t i = 0; i < BATCH; i++)
            set_finalizer(batch[i]);
        registering += now_ns() - start;
    }
    memset(batch, 0, sizeof batch);
    __asm__ volatile("" : : "r"(batch) : "memory");
    return registering;
}

static __attribute__((noinline)) void scrub_stack(void)
{
    volatile char area[16384];
    memset((char *)area, 0, sizeof area);
}

int main(int argc, char **argv)
{
    size_t count = argc > 1 ? (size_t)atol(argv[1]) : 1000000;
    backend_init();
    prepare();
    double set_ns = make_finalizable(count);
    scrub_stack();
    double collect_ns = 0, run_ns = 0;
    for (int round = 0; round < 10 && finalized < count; round++) {
        double start = now_ns();
        collect();
        double middle = now_ns();
        run_finalizers();
        collect_ns += middle - start;
        run_ns += now_ns() - middle;
    }
    double n = (double)count;
    printf("finalize\t%s\t%.1f\t%.1f\t%.1f\t%.1f\t%llu\n", BACKEND_NAME, set_ns / n, collect_ns / n, run_ns / n,
           (set_ns + collect_ns + run_ns) / n, (unsigned long long)finalized);
    return 0;
}

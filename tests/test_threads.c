/*
 * test_threads.c: threads allocating, freeing each other's objects, and
 * exiting, with no span lost and every counter adding up.
 */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "mgc_internal.h"

enum { PER_THREAD = 20000, MAX_THREADS = 8 };

struct shared {
    int nthreads;
    void *objects[MAX_THREADS][PER_THREAD];
    size_t sizes[MAX_THREADS][PER_THREAD];
    int allocated, checked; /* threads arrived at each meeting point */
};

/* Wait until all n threads have arrived. Not pthread_barrier_wait: while
 * one thread still allocates, a collection may stop the others, and under
 * ThreadSanitizer a thread blocked in pthread_barrier_wait cannot take the
 * suspend signal (README, ThreadSanitizer); sleeping can. */
static void meet(int *arrived, int n)
{
    __atomic_add_fetch(arrived, 1, __ATOMIC_ACQ_REL);
    while (__atomic_load_n(arrived, __ATOMIC_ACQUIRE) < n)
        usleep(100);
}

static size_t size_for(int t, int i)
{
    uint64_t x = ((uint64_t)t * PER_THREAD + (uint64_t)i) * 0x9E3779B97F4A7C15ull;
    unsigned r = (unsigned)(x >> 40);
    if (r % 97 == 0)
        return 33000 + r % 70000; /* some large objects */
    return r % 700 + 1;
}

struct worker_arg {
    struct shared *shared;
    int index;
};

static void *worker(void *argument)
{
    struct worker_arg *arg = argument;
    struct shared *sh = arg->shared;
    int t = arg->index;
    /* Allocate and fill; free a third of our own at once. */
    for (int i = 0; i < PER_THREAD; i++) {
        size_t size = size_for(t, i);
        void *p = (i & 1) ? mgc_alloc(size) : mgc_alloc_noscan(size);
        if (!p || !all_zero(p, size)) {
            fprintf(stderr, "thread %d object %d (%zu bytes) at %p: %s\n", t, i, size, p,
                    p ? "not zeroed" : "allocation failed");
            abort();
        }
        fill_pattern(p, size, (unsigned)t);
        sh->objects[t][i] = p;
        sh->sizes[t][i] = size;
        if (i % 3 == 0) {
            if (size >= TINY_SIZE || (i & 1)) {
                mgc_free(p);
                sh->objects[t][i] = NULL;
            }
        }
    }
    meet(&sh->allocated, sh->nthreads);
    /* Verify everybody's survivors, then free the next thread's. */
    for (int u = 0; u < sh->nthreads; u++)
        for (int i = 0; i < PER_THREAD; i++)
            if (sh->objects[u][i] && !check_pattern(sh->objects[u][i], sh->sizes[u][i], (unsigned)u)) {
                fprintf(stderr, "thread %d object %d (%zu bytes) at %p: overwritten\n", u, i,
                        sh->sizes[u][i], sh->objects[u][i]);
                abort();
            }
    meet(&sh->checked, sh->nthreads);
    int victim = (t + 1) % sh->nthreads;
    for (int i = 0; i < PER_THREAD; i++)
        if (sh->objects[victim][i])
            mgc_free(sh->objects[victim][i]);
    return NULL;
}

static void run_threads(int n)
{
    static struct shared sh;
    memset(&sh, 0, sizeof sh);
    sh.nthreads = n;
    struct mgc_stats start, end;
    mgc_init();
    mgc_read_stats(&start);

    pthread_t threads[MAX_THREADS];
    struct worker_arg args[MAX_THREADS];
    for (int t = 0; t < n; t++) {
        args[t] = (struct worker_arg){&sh, t};
        CHECK(pthread_create(&threads[t], NULL, worker, &args[t]) == 0);
    }
    for (int t = 0; t < n; t++)
        pthread_join(threads[t], NULL);

    /* A full collection sweeps everything: what stays is reachable. */
    mgc_collect();
    mgc_read_stats(&end);
    /* Only tiny blocks can still be allocated (their objects cannot be
     * freed explicitly, and sh keeps them reachable); every other span went
     * back to the page heap. */
    struct heap_counters heap;
    heap_read_counters(&heap);
    uint64_t tiny_spans_bytes = 0;
    struct central *c = &centrals[SPAN_CLASS_TINY];
    pthread_mutex_lock(&c->lock);
    for (int k = 0; k < 2; k++) {
        for (struct span *s = c->partial[k].first; s; s = s->next)
            tiny_spans_bytes += span_bytes(s);
        for (struct span *s = c->full[k].first; s; s = s->next)
            tiny_spans_bytes += span_bytes(s);
    }
    pthread_mutex_unlock(&c->lock);
    CHECK_EQ(end.heap_inuse, start.heap_inuse + tiny_spans_bytes);
    CHECK_EQ(end.heap_objects, end.mallocs - end.frees);
    CHECK_EQ(heap.heap_sys, heap.heap_inuse + heap.heap_free + heap.heap_released);
    /* Every non-tiny object was freed: what is left are tiny blocks. */
    CHECK_EQ(end.heap_alloc, end.heap_objects * TINY_SIZE);
}

TEST(two_threads) { run_threads(2); }
TEST(four_threads) { run_threads(4); }
TEST(eight_threads) { run_threads(8); }

static void *alloc_and_exit(void *unused)
{
    (void)unused;
    for (int i = 0; i < 1000; i++)
        mgc_alloc((size_t)(i % 300) + 1);
    return NULL;
}

TEST(exited_threads_keep_their_counts)
{
    mgc_init();
    struct mgc_stats before, after;
    mgc_read_stats(&before);
    for (int round = 0; round < 50; round++) {
        pthread_t t;
        pthread_create(&t, NULL, alloc_and_exit, NULL);
        pthread_join(t, NULL);
    }
    mgc_read_stats(&after);
    CHECK_EQ(after.mallocs - before.mallocs, 50 * 1000);
    /* Caches are recycled, not leaked: 50 threads one after another did not
     * cost 50 caches of metadata. */
    CHECK(after.other_sys - before.other_sys < 50 * sizeof(struct cache));
}

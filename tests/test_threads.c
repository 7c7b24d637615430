/*
 * test_threads.c: threads allocating, freeing each other's objects, and
 * exiting, with no span lost and every counter adding up.
 */
#include <pthread.h>
#include <dirent.h>
#include <signal.h>
#include <sys/syscall.h>
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
     * cost 50 caches of metadata. (Not after - before: other_sys counts the
     * unused rest of the current metadata chunk, which other kinds of
     * metadata may shrink, and the difference would wrap.) */
    CHECK(after.other_sys < before.other_sys + 50 * sizeof(struct cache));
}

/* ---- A thread the collector cannot signal ------------------------------------------------------ */

static pthread_t refused_thread;
static int refusal_error;

static int signal_refusing_one(pthread_t thread, int signal_number)
{
    if (pthread_equal(thread, refused_thread))
        return refusal_error;
    return pthread_kill(thread, signal_number);
}

/* Whether thread has a record (a dropped record may be reused by another
 * thread: mgc's sweeper, say). */
static bool is_registered(pthread_t thread)
{
    pthread_mutex_lock(&threads_lock);
    bool found = false;
    for (const struct thread_record *t = thread_list; t; t = t->next)
        found |= pthread_equal(t->thread, thread);
    pthread_mutex_unlock(&threads_lock);
    return found;
}

static void *register_then_vanish(void *out)
{
    CHECK(mgc_register_thread() == 0);
    mgc_alloc(100);
    struct thread_record *record = mgc_tls.record;
    /* Exit as if the unregistering destructor never ran. */
    mgc_tls.record = NULL;
    __atomic_store_n((struct thread_record **)out, record, __ATOMIC_RELEASE);
    return NULL;
}

/* pthread_kill says ESRCH: the thread is gone (it exited without
 * unregistering). It has no stack left to scan: it is dropped, and the
 * collection goes on. Before, its record stayed registered for good, and
 * every collection tried to signal it again. */
TEST(thread_gone_without_unregistering_is_dropped)
{
    /* Joined only at the end: until then no new thread can have its ID. */
    struct thread_record *record = NULL;
    CHECK(pthread_create(&refused_thread, NULL, register_then_vanish, &record) == 0);
    while (!__atomic_load_n(&record, __ATOMIC_ACQUIRE))
        usleep(1000);
    CHECK(is_registered(refused_thread));
    refusal_error = ESRCH;
    signal_thread = signal_refusing_one;
    void *volatile kept = mgc_alloc(64);
    fill_pattern(kept, 64, 3);
    mgc_collect();
    CHECK(!is_registered(refused_thread));
    mgc_collect();
    CHECK(check_pattern(kept, 64, 3));
    CHECK(pthread_join(refused_thread, NULL) == 0);
}

static volatile int release_sleeper;

static void *register_and_wait(void *unused)
{
    (void)unused;
    CHECK(mgc_register_thread() == 0);
    while (!release_sleeper)
        usleep(1000);
    return NULL;
}

/* Any other failure to signal a live registered thread: marking while it
 * runs could free what it holds, so mgc stops with a message. Before, the
 * failure was ignored and the collection marked without stopping it. */
DEATH_TEST(thread_that_cannot_be_signalled_aborts, "mgc: cannot stop thread")
{
    CHECK(pthread_create(&refused_thread, NULL, register_and_wait, NULL) == 0);
    usleep(50000);
    refusal_error = EPERM;
    signal_thread = signal_refusing_one;
    mgc_collect();
    release_sleeper = 1;
}

/* ---- Program signals stay off mgc's threads ---------------------------------------------------- */

enum { MAX_HANDLED = 4096 };
static pid_t handled_on[MAX_HANDLED];
static int handled_count;

static void record_handler_thread(int signal_number)
{
    (void)signal_number;
    int i = __atomic_fetch_add(&handled_count, 1, __ATOMIC_RELAXED);
    if (i < MAX_HANDLED)
        handled_on[i] = (pid_t)syscall(SYS_gettid);
}

static void finalize_nothing(void *obj, void *arg) { (void)obj, (void)arg; }

/* Whether a thread named name runs in this process. */
static bool thread_named(const char *name)
{
    bool found = false;
    DIR *tasks = opendir("/proc/self/task");
    CHECK(tasks != NULL);
    for (struct dirent *e; (e = readdir(tasks)) != NULL && !found;) {
        char path[300], comm[32] = "";
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        if (fgets(comm, sizeof comm, f))
            found = strncmp(comm, name, strlen(name)) == 0 && comm[strlen(name)] == '\n';
        fclose(f);
    }
    closedir(tasks);
    return found;
}

/* A process-directed signal goes to any thread that does not block it. The
 * program's only thread blocks SIGUSR1 while signals are sent, so the
 * kernel may pick only mgc's threads (marking helpers, sweeper, finalizer
 * runner): they block it, so the signals wait until the program unblocks
 * SIGUSR1, and the handler runs on the program's thread. Before mgc's
 * threads blocked signals, the handler ran on them. */
ENV_TEST(program_signals_are_never_handled_on_mgc_threads, "MGC_DEBUG=gcprocs=4")
{
    struct sigaction action = {.sa_handler = record_handler_thread};
    sigemptyset(&action.sa_mask);
    CHECK(sigaction(SIGUSR1, &action, NULL) == 0);
    pid_t self = (pid_t)syscall(SYS_gettid);
    /* Start every kind of mgc thread, with SIGUSR1 unblocked here. */
    mgc_set_finalizer_mode(MGC_FINALIZE_THREAD);
    CHECK(mgc_set_finalizer(mgc_alloc(32), finalize_nothing, NULL) == 0);
    for (int i = 0; i < 3; i++) {
        for (int j = 0; j < 20000; j++)
            mgc_alloc(48);
        mgc_collect();
    }
    usleep(100000);
    CHECK(thread_named("mgc-mark"));
    CHECK(thread_named("mgc-sweep"));
    CHECK(thread_named("mgc-final"));

    sigset_t usr1, previous;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    CHECK(pthread_sigmask(SIG_BLOCK, &usr1, &previous) == 0);
    for (int i = 0; i < 200; i++) {
        kill(getpid(), SIGUSR1);
        if (i % 20 == 0) {
            for (int j = 0; j < 20000; j++)
                mgc_alloc(48);
            mgc_collect();
        }
        usleep(500);
    }
    int before_unblocking = __atomic_load_n(&handled_count, __ATOMIC_RELAXED);
    CHECK(pthread_sigmask(SIG_SETMASK, &previous, NULL) == 0);
    int n = __atomic_load_n(&handled_count, __ATOMIC_RELAXED);
    if (before_unblocking)
        fprintf(stderr, "%d signals handled while the program's thread blocked them\n", before_unblocking);
    CHECK(n >= 1);
    for (int i = 0; i < n && i < MAX_HANDLED; i++)
        CHECK_EQ(handled_on[i], self);
}

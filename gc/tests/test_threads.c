/*
 * test_threads.c: threads under the Boehm GC layer, built with GC_THREADS
 * so that pthread_create is GC_pthread_create, and also with the plain
 * pthread_create (threads that register themselves, or that mgc registers
 * at their first allocation).
 */
#ifndef GC_THREADS
# define GC_THREADS
#endif
#include <gc.h>
#include <gc/javaxfc.h>
#include <signal.h>
#include <stdint.h>

#include "gc_cases.h"

struct work {
    long id;
    long *numbers; /* known pattern, reachable only through this struct */
    long length;
};

#define THREADS 6
#define LENGTH 4000

static struct work *__attribute__((noinline)) make_work(long id)
{
    struct work *w = GC_NEW(struct work);
    w->id = id;
    w->length = LENGTH;
    w->numbers = GC_MALLOC_ATOMIC(LENGTH * sizeof(long));
    for (long i = 0; i < LENGTH; i++)
        w->numbers[i] = id * 1000003 + i;
    return w;
}

static void *churn(void *arg)
{
    struct work *w = arg;
    struct list { struct list *next; long v; } *keep = NULL;
    for (long i = 0; i < 30000; i++) {
        struct list *l = GC_NEW(struct list);
        l->v = i;
        l->next = (i % 100) ? keep : NULL;
        keep = l;
        if (i % 7000 == 0)
            GC_gcollect();
    }
    for (long i = 0; i < w->length; i++)
        if (w->numbers[i] != w->id * 1000003 + i)
            return (void *)1;
    long count = 0;
    for (struct list *l = keep; l; l = l->next)
        count++;
    return count == 100 ? NULL : (void *)2;
}

CASE(redirected_threads_keep_their_argument_alive)
{
    GC_INIT();
    pthread_t threads[THREADS];
    for (long i = 0; i < THREADS; i++)
        CHECK(pthread_create(&threads[i], NULL, churn, make_work(i)) == 0);
    for (int i = 0; i < THREADS; i++) {
        void *result;
        CHECK(pthread_join(threads[i], &result) == 0);
        CHECK(result == NULL);
    }
}

#undef pthread_create
#undef pthread_join
static void *self_registering(void *arg)
{
    struct GC_stack_base base;
    CHECK(GC_get_stack_base(&base) == GC_SUCCESS);
    CHECK((char *)base.mem_base > (char *)&base);
    int first = GC_register_my_thread(&base);
    CHECK(first == GC_SUCCESS || first == GC_DUPLICATE);
    CHECK(GC_thread_is_registered());
    CHECK(GC_register_my_thread(&base) == GC_DUPLICATE);
    void *result = churn(arg);
    CHECK(GC_unregister_my_thread() == GC_SUCCESS);
    return result;
}

CASE(plain_threads_register_themselves_or_are_registered)
{
    GC_INIT();
    GC_allow_register_threads();
    pthread_t threads[THREADS];
    static struct work *works[THREADS]; /* keep the arguments: plain pthread_create */
    for (long i = 0; i < THREADS; i++) {
        works[i] = make_work(i);
        CHECK(pthread_create(&threads[i], NULL, i % 2 ? self_registering : churn, works[i]) == 0);
    }
    for (int i = 0; i < THREADS; i++) {
        void *result;
        CHECK(pthread_join(threads[i], &result) == 0);
        CHECK(result == NULL);
    }
}

static void *initialise_here(void *arg)
{
    (void)arg;
    GC_INIT();
    void *p = GC_MALLOC(100);
    GC_gcollect();
    return GC_base(p) == p ? NULL : (void *)1;
}

CASE(gc_init_from_a_second_thread)
{
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, initialise_here, NULL) == 0);
    void *result;
    CHECK(pthread_join(thread, &result) == 0 && result == NULL);
    CHECK(GC_is_init_called());
    GC_INIT(); /* again, from main: harmless */
    CHECK(GC_MALLOC(10) != NULL);
}

static void *GC_CALLBACK with_base(struct GC_stack_base *base, void *arg)
{
    CHECK((char *)base->mem_base > (char *)&base);
    return arg;
}

static void *GC_CALLBACK pass_through(void *arg)
{
    return arg;
}

CASE(stack_base_blocking_and_signal_calls)
{
    GC_INIT();
    int marker;
    CHECK(GC_call_with_stack_base(with_base, &marker) == &marker);
    CHECK(GC_do_blocking(pass_through, &marker) == &marker);
    CHECK(GC_call_with_gc_active(pass_through, &marker) == &marker);
    CHECK(GC_call_with_alloc_lock(pass_through, &marker) == &marker);
    CHECK(GC_thread_is_registered());
    int suspend = GC_get_suspend_signal();
    CHECK(suspend == SIGPWR);
    /* GC_pthread_sigmask never blocks the collector's signal. */
    sigset_t all, now;
    sigfillset(&all);
    CHECK(GC_pthread_sigmask(SIG_BLOCK, &all, NULL) == 0);
    CHECK(pthread_sigmask(SIG_BLOCK, NULL, &now) == 0);
    CHECK(!sigismember(&now, suspend) && sigismember(&now, SIGUSR1));
    sigemptyset(&all);
    CHECK(GC_pthread_sigmask(SIG_SETMASK, &all, NULL) == 0);
    GC_gcollect();
    CHECK(GC_is_thread_suspended(pthread_self()) == 0);
}

static void *detached_body(void *arg)
{
    int *done = arg;
    churn(make_work(99));
    __atomic_store_n(done, 1, __ATOMIC_RELEASE);
    return NULL;
}

CASE(detach_and_dlopen_wrappers)
{
    GC_INIT();
    static int done;
    pthread_t thread;
    CHECK(GC_pthread_create(&thread, NULL, detached_body, &done) == 0);
    CHECK(GC_pthread_detach(thread) == 0);
    while (!__atomic_load_n(&done, __ATOMIC_ACQUIRE))
        GC_MALLOC(1000);
    void *self = GC_dlopen(NULL, RTLD_NOW);
    CHECK(self != NULL);
}

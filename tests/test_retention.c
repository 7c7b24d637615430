/*
 * test_retention.c: what mgc's own threads and frames hold must neither keep
 * dead objects alive for good nor hide live ones, whatever state the
 * program's threads are in (a finalizer just run, a signal handler on an
 * alternate stack, cancellation).
 *
 * Each case that asks "was it freed" drops a 32 MiB block held by the
 * object under test, so that one stale word anywhere shows as 32 MiB still
 * allocated, and collects a few times with the stack scrubbed: the
 * collector is conservative, so "freed by one of several collections" is
 * the promise, not "by the first".
 */

#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "harness.h"
#include "mgc.h"

#define NOINLINE __attribute__((noinline))

#define BIG ((size_t)32 << 20)

struct holder {
    unsigned char *block; /* BIG noscan bytes */
    struct holder *next;
};

static uint64_t heap_alloc_now(void)
{
    struct mgc_stats stats;
    mgc_read_stats(&stats);
    return stats.heap_alloc;
}

static uint64_t finalizers_run_now(void)
{
    struct mgc_stats stats;
    mgc_read_stats(&stats);
    return stats.finalizers_run;
}

/* Collect until less than 4 MiB stays allocated, at most rounds times.
 * Callers scrub the stack first where a frame that held the object lay
 * where this function's frame now does. */
static bool collected_down(int rounds)
{
    for (int i = 0; i < rounds; i++) {
        scrub_stack();
        mgc_collect();
        if (heap_alloc_now() < ((uint64_t)4 << 20))
            return true;
    }
    fprintf(stderr, "%llu KiB still allocated\n", (unsigned long long)(heap_alloc_now() >> 10));
    return false;
}

/* Wait (at most ten seconds) until the finalizer thread has run count
 * finalizers in all, collecting now and then. */
static bool wait_for_finalizers(uint64_t count)
{
    for (int waited = 0; waited < 1000; waited++) {
        if (finalizers_run_now() >= count)
            return true;
        if (waited % 100 == 99) {
            scrub_stack();
            mgc_collect();
        }
        usleep(10000);
    }
    return false;
}

static NOINLINE struct holder *make_holder(void)
{
    struct holder *h = mgc_alloc(sizeof *h);
    CHECK(h != NULL);
    h->block = mgc_alloc_noscan(BIG);
    CHECK(h->block != NULL);
    memset(h->block, 0x5a, BIG);
    return h;
}

static void count_only(void *obj, void *arg)
{
    (void)obj, (void)arg;
}

/* Defect: the finalizer thread kept its last object (and all it reached)
 * in its frames while it slept, so a finalized object was never freed
 * until another finalizer ran. */
static NOINLINE void drop_finalizable_holder(void)
{
    CHECK(mgc_set_finalizer(make_holder(), count_only, NULL) == 0);
}

TEST(finalized_object_is_freed_after_the_thread_ran_it)
{
    drop_finalizable_holder();
    scrub_stack();
    mgc_collect();
    CHECK(wait_for_finalizers(1));
    CHECK(collected_down(4));
}

/* Defect: the finalizer thread, started by the first mgc_set_finalizer,
 * began life with a copy of that caller's registers and kept them in its
 * first frames for good: the object stayed allocated after its finalizer
 * was removed and the program dropped it. */
static NOINLINE void set_and_remove_first_finalizer(void)
{
    struct holder *h = make_holder();
    CHECK(mgc_set_finalizer(h, count_only, NULL) == 0); /* starts the thread */
    usleep(20000);                                    /* let it reach its wait */
    CHECK(mgc_set_finalizer(h, NULL, NULL) == 0);
}

TEST(object_whose_finalizer_started_the_thread_is_freed)
{
    set_and_remove_first_finalizer();
    scrub_stack(); /* before collected_down's frame lies where h was */
    CHECK(collected_down(4));
}

/* A finalizer that sets itself again runs again at the next collection
 * that finds its object unreachable, each time (it ran once, then the
 * finalizer thread's frames kept the object reachable). */
static int reruns;

static void set_again(void *obj, void *arg)
{
    __atomic_add_fetch(&reruns, 1, __ATOMIC_RELAXED);
    if (mgc_set_finalizer(obj, set_again, arg) != 0)
        abort();
}

static NOINLINE void drop_self_reviving_object(void)
{
    CHECK(mgc_set_finalizer(mgc_alloc(64), set_again, NULL) == 0);
}

TEST(finalizer_that_sets_itself_again_runs_repeatedly)
{
    drop_self_reviving_object();
    for (int round = 0; round < 60 && __atomic_load_n(&reruns, __ATOMIC_RELAXED) < 4; round++) {
        scrub_stack();
        mgc_collect();
        usleep(20000);
    }
    CHECK(__atomic_load_n(&reruns, __ATOMIC_RELAXED) >= 4);
}

/* Defect: in manual mode, mgc_run_finalizers left A in a dead slot below
 * its caller's frame, and the next mgc_collect scanned its own frames,
 * which reused that slot without writing it: A stayed reachable, so B's
 * finalizer never ran and the memory B held was never freed. */
static int manual_runs[2];

static void note_run(void *obj, void *arg)
{
    (void)obj;
    manual_runs[(uintptr_t)arg]++;
}

static NOINLINE void make_a_reaching_b(void)
{
    struct holder *a = mgc_alloc(sizeof *a);
    CHECK(a != NULL);
    a->next = make_holder();
    CHECK(mgc_set_finalizer(a, note_run, (void *)0) == 0);
    CHECK(mgc_set_finalizer(a->next, note_run, (void *)1) == 0);
}

TEST(manual_mode_finalizes_a_then_b_and_frees_both)
{
    mgc_set_finalizer_mode(MGC_FINALIZE_MANUAL);
    make_a_reaching_b();
    for (int round = 0; round < 10 && !(manual_runs[0] && manual_runs[1]); round++) {
        mgc_collect();
        mgc_run_finalizers();
    }
    CHECK_EQ(manual_runs[0], 1);
    CHECK_EQ(manual_runs[1], 1);
    scrub_stack();
    CHECK(collected_down(4));
}

/* ---- Alternate signal stacks ---------------------------------------------------------------- */

/* Defect: a thread stopped while a handler of the program's ran on an
 * alternate signal stack recorded that stack's pointer as where its own
 * stack began: marking then skipped its real stack (its list was freed and
 * reused) or scanned from the alternate stack up to its stack's base,
 * across unmapped memory (SIGSEGV in the collector). Both lists here are
 * held only by stack frames: one by a frame below the handler on the
 * thread's own stack, one by the handler's frame on the alternate stack. */
enum { LIST_NODES = 100000 };

struct node {
    struct node *next;
    uint64_t value;
};

static NOINLINE struct node *make_list(uint64_t seed)
{
    struct node *head = NULL;
    for (uint64_t i = 0; i < LIST_NODES; i++) {
        struct node *n = mgc_alloc(sizeof *n);
        CHECK(n != NULL);
        n->value = seed * 1000003u + i;
        n->next = head;
        head = n;
    }
    return head;
}

static NOINLINE bool list_intact(const struct node *n, uint64_t seed)
{
    for (uint64_t i = LIST_NODES; i-- > 0; n = n->next)
        if (!n || n->value != seed * 1000003u + i)
            return false;
    return n == NULL;
}

static struct node *handed_to_handler; /* cleared by the handler at once */
static volatile int handler_state;     /* 1: in the handler; 2: may return */
static volatile int handler_list_ok;

static void on_alternate_stack(int signal_number)
{
    (void)signal_number;
    struct node *volatile mine = handed_to_handler;
    handed_to_handler = NULL;
    handler_state = 1;
    while (handler_state != 2)
        usleep(1000);
    handler_list_ok = list_intact(mine, 2);
}

enum alternate_kind { ALTERNATE_MMAP, ALTERNATE_MALLOC, ALTERNATE_ON_OWN_STACK };

static NOINLINE void raise_on_alternate_stack(void *alternate, size_t size, int *own_list_ok)
{
    stack_t stack = {.ss_sp = alternate, .ss_size = size};
    CHECK(sigaltstack(&stack, NULL) == 0);
    struct node *volatile own = make_list(1);
    handed_to_handler = make_list(2);
    raise(SIGUSR1);
    *own_list_ok = list_intact(own, 1);
    stack.ss_flags = SS_DISABLE;
    CHECK(sigaltstack(&stack, NULL) == 0);
}

static void *signalled_thread(void *argument)
{
    enum alternate_kind kind = (enum alternate_kind)(uintptr_t)argument;
    enum { ALTERNATE_SIZE = 256 << 10 };
    int own_list_ok = 0;
    if (kind == ALTERNATE_MMAP) {
        void *alternate = mmap(NULL, ALTERNATE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        CHECK(alternate != MAP_FAILED);
        raise_on_alternate_stack(alternate, ALTERNATE_SIZE, &own_list_ok);
        munmap(alternate, ALTERNATE_SIZE);
    } else if (kind == ALTERNATE_MALLOC) {
        void *alternate = malloc(ALTERNATE_SIZE);
        CHECK(alternate != NULL);
        raise_on_alternate_stack(alternate, ALTERNATE_SIZE, &own_list_ok);
        free(alternate);
    } else {
        /* Inside this thread's own stack, above the frames that raise. */
        unsigned char alternate[ALTERNATE_SIZE] __attribute__((aligned(16)));
        raise_on_alternate_stack(alternate, sizeof alternate, &own_list_ok);
        __asm__ volatile("" : : "r"(alternate) : "memory");
    }
    return (void *)(uintptr_t)own_list_ok;
}

static void lists_survive_on_alternate_stack(enum alternate_kind kind)
{
    struct sigaction action = {.sa_handler = on_alternate_stack, .sa_flags = SA_ONSTACK};
    sigemptyset(&action.sa_mask);
    CHECK(sigaction(SIGUSR1, &action, NULL) == 0);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 4 << 20);
    pthread_t thread;
    CHECK(pthread_create(&thread, &attr, signalled_thread, (void *)(uintptr_t)kind) == 0);
    while (handler_state != 1)
        usleep(1000);
    /* Collect while the handler runs, and reuse whatever was freed. */
    for (int round = 0; round < 4; round++) {
        mgc_collect();
        for (int i = 0; i < 2 * LIST_NODES; i++)
            memset(mgc_alloc(sizeof(struct node)), 0xee, sizeof(struct node));
    }
    handler_state = 2;
    void *own_list_ok;
    CHECK(pthread_join(thread, &own_list_ok) == 0);
    CHECK(own_list_ok != NULL);
    CHECK(handler_list_ok);
}

TEST(lists_survive_a_handler_on_an_mmap_alternate_stack)
{
    lists_survive_on_alternate_stack(ALTERNATE_MMAP);
}

TEST(lists_survive_a_handler_on_a_malloc_alternate_stack)
{
    lists_survive_on_alternate_stack(ALTERNATE_MALLOC);
}

TEST(lists_survive_a_handler_on_an_alternate_stack_inside_the_thread_stack)
{
    lists_survive_on_alternate_stack(ALTERNATE_ON_OWN_STACK);
}

/* ---- Cancellation ----------------------------------------------------------------------------- */

/* Defect: mgc's waits inside a collection (sem_wait for the stopped
 * threads, condition waits when it starts its own threads, write(2) for
 * gctrace) are cancellation points: a thread cancelled there died holding
 * the collection's locks with the world stopped, and the process hung. */
static void *collect_forever(void *unused)
{
    (void)unused;
    for (;;) {
        void *p = mgc_alloc(1000);
        mgc_set_finalizer(p, count_only, NULL);
        mgc_collect();
        mgc_run_finalizers();
        pthread_testcancel(); /* mgc's own calls hold off cancellation */
    }
    return NULL;
}

ENV_TEST(cancelling_collecting_threads_never_hangs, "MGC_DEBUG=gctrace=1")
{
    alarm(60); /* a hang fails the case, rather than the whole run */
    for (int i = 0; i < 40; i++) {
        pthread_t thread;
        CHECK(pthread_create(&thread, NULL, collect_forever, NULL) == 0);
        usleep(1000 + (i % 7) * 700);
        CHECK(pthread_cancel(thread) == 0);
        void *result;
        CHECK(pthread_join(thread, &result) == 0);
        CHECK(result == PTHREAD_CANCELED);
        /* The rest of the program still collects. */
        struct holder *live = make_holder();
        mgc_collect();
        CHECK(live->block[BIG - 1] == 0x5a);
    }
}

/* ---- The program's signal handlers while threads are stopped ---------------------------------- */

/* A handler of the program's that moves a pointer out of a global into its
 * own frame and back (atomics only: async-signal-safe) ran, before, while
 * its thread was stopped for a collection: its frame lay below the range
 * scanned, and the object was freed and reused (the check below failed
 * within a few hundred rounds). While a thread is stopped, mgc now holds
 * the program's handlers back. */
static unsigned char *_Atomic moved_by_handler;
static volatile int handler_target_tid, handler_target_stop;

static void move_pointer_briefly(int signal_number)
{
    (void)signal_number;
    unsigned char *held = __atomic_exchange_n(&moved_by_handler, NULL, __ATOMIC_SEQ_CST);
    for (volatile int i = 0; i < 20000; i++) {
    }
    __atomic_store_n(&moved_by_handler, held, __ATOMIC_SEQ_CST);
}

static void *handler_target(void *unused)
{
    (void)unused;
    sigset_t alarm_only;
    sigemptyset(&alarm_only);
    sigaddset(&alarm_only, SIGALRM);
    pthread_sigmask(SIG_UNBLOCK, &alarm_only, NULL);
    mgc_register_thread();
    handler_target_tid = (int)syscall(SYS_gettid);
    while (!handler_target_stop)
        usleep(1000);
    return NULL;
}

static NOINLINE void hand_object_to_handler(void)
{
    unsigned char *p = mgc_alloc(4096);
    CHECK(p != NULL);
    memset(p, 0x5a, 4096);
    __atomic_store_n(&moved_by_handler, p, __ATOMIC_SEQ_CST);
}

TEST(handlers_wait_while_their_thread_is_stopped)
{
    struct sigaction action = {.sa_handler = move_pointer_briefly};
    sigemptyset(&action.sa_mask);
    CHECK(sigaction(SIGALRM, &action, NULL) == 0);
    sigset_t alarm_only;
    sigemptyset(&alarm_only);
    sigaddset(&alarm_only, SIGALRM);
    pthread_sigmask(SIG_BLOCK, &alarm_only, NULL); /* only the target takes it */
    hand_object_to_handler();
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, handler_target, NULL) == 0);
    while (!handler_target_tid)
        usleep(1000);
    timer_t timer;
    struct sigevent event = {.sigev_notify = SIGEV_THREAD_ID, .sigev_signo = SIGALRM};
    event._sigev_un._tid = handler_target_tid;
    CHECK(timer_create(CLOCK_MONOTONIC, &event, &timer) == 0);
    struct itimerspec every_100us = {{0, 100000}, {0, 100000}};
    CHECK(timer_settime(timer, 0, &every_100us, NULL) == 0);
    int broken = 0;
    for (int round = 0; round < 1500 && !broken; round++) {
        for (int i = 0; i < 200; i++)
            memset(mgc_alloc(4096), 0xee, 4096);
        mgc_collect();
        unsigned char *q;
        while (!(q = __atomic_load_n(&moved_by_handler, __ATOMIC_SEQ_CST))) {
        }
        for (int i = 0; i < 4096; i++)
            broken += q[i] != 0x5a;
    }
    handler_target_stop = 1;
    timer_delete(timer);
    CHECK(pthread_join(thread, NULL) == 0);
    CHECK_EQ(broken, 0);
}

/* A suspend signal mgc did not send (kill, or SIGXCPU from the kernel when
 * that is the suspend signal) made the collecting thread park inside its
 * own collection: the process hung. */
static volatile int stray_stop;

static void *send_stray_suspend_signals(void *unused)
{
    (void)unused;
    while (!stray_stop) {
        kill(getpid(), SIGPWR);
        usleep(100);
    }
    return NULL;
}

TEST(stray_suspend_signals_never_hang_a_collection)
{
    alarm(60);
    mgc_init();
    pthread_t sender;
    CHECK(pthread_create(&sender, NULL, send_stray_suspend_signals, NULL) == 0);
    struct holder *live = make_holder();
    for (int round = 0; round < 300; round++) {
        for (int i = 0; i < 100; i++)
            memset(mgc_alloc(256), 0xee, 256);
        mgc_collect();
    }
    stray_stop = 1;
    CHECK(pthread_join(sender, NULL) == 0);
    CHECK(live->block[BIG - 1] == 0x5a);
}

/* mgc cleared 32 KiB below the caller after a collection or a finalizer
 * run on any stack: called from a small makecontext stack, it wrote past
 * the stack's end (SIGSEGV on the guard page below it). It clears only the
 * thread's own stack now. */
static ucontext_t coroutine, caller;

static void collect_on_coroutine(void)
{
    mgc_collect();
    mgc_run_finalizers();
}

TEST(collecting_on_a_small_coroutine_stack_writes_nothing_below_it)
{
    enum { PAGE = 4096, STACK = 16 * 1024 };
    unsigned char *area = mmap(NULL, PAGE + STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(area != MAP_FAILED);
    CHECK(mprotect(area, PAGE, PROT_NONE) == 0); /* a guard page below the stack */
    CHECK(getcontext(&coroutine) == 0);
    coroutine.uc_stack.ss_sp = area + PAGE;
    coroutine.uc_stack.ss_size = STACK;
    coroutine.uc_link = &caller;
    makecontext(&coroutine, collect_on_coroutine, 0);
    struct holder *live = make_holder();
    CHECK(swapcontext(&caller, &coroutine) == 0);
    CHECK(live->block[0] == 0x5a);
    munmap(area, PAGE + STACK);
}

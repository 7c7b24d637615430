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

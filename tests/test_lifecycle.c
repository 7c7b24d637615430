/*
 * test_lifecycle.c: a thread's life as mgc sees it: registered by its first
 * call into mgc, whatever the call; found on a system without /proc; and
 * never able to hang a collection, whether it exited still registered or
 * blocks the suspend signal.
 */
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <ucontext.h>
#include <unistd.h>

#include "harness.h"
#include "mgc_internal.h"

/* A collection that hangs would otherwise run into the harness's limit of
 * minutes; a case that can hang fails after this instead. */
#define HANG_SECONDS 60

static bool tid_registered(pid_t tid)
{
    pthread_mutex_lock(&threads_lock);
    bool found = false;
    for (const struct thread_record *t = thread_list; t; t = t->next)
        found |= t->tid == tid;
    pthread_mutex_unlock(&threads_lock);
    return found;
}

/* ---- Every call registers the thread --------------------------------------------------------
 *
 * A new thread makes one call into mgc, and holds an object (handed over
 * through a global it then clears) only on its stack, while the main thread
 * allocates garbage and collects. The object must keep its pattern: the
 * thread's stack was a root. Before, mgc_init, mgc_base, mgc_usable_size,
 * mgc_realloc in place, mgc_free of a tiny object and mgc_free(NULL) left the
 * thread unregistered: the object was freed and reused (its pattern gone). */

enum { HELD_SIZE = 4096, HELD_SEED = 77 };

enum entry { ENTRY_INIT, ENTRY_BASE, ENTRY_USABLE_SIZE, ENTRY_REALLOC, ENTRY_FREE_TINY, ENTRY_FREE_NULL };

static void *volatile handoff;
static void *tiny_object;
static volatile int holder_ready, collections_done;

static NOINLINE void *take_handoff(void)
{
    void *p = handoff;
    handoff = NULL;
    return p;
}

static void *holder(void *arg)
{
    enum entry entry = (enum entry)(intptr_t)arg;
    unsigned char *volatile held = take_handoff();
    bool registered_before = mgc_tls.record != NULL;
    switch (entry) {
    case ENTRY_INIT:
        mgc_init();
        break;
    case ENTRY_BASE:
        CHECK(mgc_base(held + 10) == held);
        break;
    case ENTRY_USABLE_SIZE:
        CHECK(mgc_usable_size(held) >= HELD_SIZE);
        break;
    case ENTRY_REALLOC:
        CHECK(mgc_realloc(held, 100) == held); /* fits: kept in place */
        break;
    case ENTRY_FREE_TINY:
        mgc_free(tiny_object);
        break;
    case ENTRY_FREE_NULL:
        mgc_free(NULL);
        break;
    }
    CHECK(!registered_before);
    CHECK(mgc_tls.record != NULL);
    __atomic_store_n(&holder_ready, 1, __ATOMIC_RELEASE);
    while (!__atomic_load_n(&collections_done, __ATOMIC_ACQUIRE))
        usleep(1000);
    /* A realloc that keeps the object in place clears the bytes past its
     * new size (mgc.h): only those before it are the program's. */
    return (void *)(intptr_t)check_pattern(held, entry == ENTRY_REALLOC ? 100 : HELD_SIZE, HELD_SEED);
}

static NOINLINE void hand_over_object(void)
{
    void *p = mgc_alloc(HELD_SIZE);
    CHECK(p != NULL);
    fill_pattern(p, HELD_SIZE, HELD_SEED);
    handoff = p;
}

static void garbage_and_collections(void)
{
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 5000; i++)
            memset(mgc_alloc(HELD_SIZE), 0xEE, HELD_SIZE);
        mgc_collect();
    }
}

static void one_call_registers(enum entry entry)
{
    hand_over_object();
    tiny_object = mgc_alloc_noscan(4);
    scrub_stack(); /* no copy of the object's address on this stack */
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, holder, (void *)(intptr_t)entry) == 0);
    while (!__atomic_load_n(&holder_ready, __ATOMIC_ACQUIRE))
        usleep(1000);
    garbage_and_collections();
    __atomic_store_n(&collections_done, 1, __ATOMIC_RELEASE);
    void *kept;
    CHECK(pthread_join(thread, &kept) == 0);
    CHECK(kept == (void *)1);
}

TEST(mgc_init_registers_the_thread) { one_call_registers(ENTRY_INIT); }
TEST(mgc_base_registers_the_thread) { one_call_registers(ENTRY_BASE); }
TEST(mgc_usable_size_registers_the_thread) { one_call_registers(ENTRY_USABLE_SIZE); }
TEST(mgc_realloc_in_place_registers_the_thread) { one_call_registers(ENTRY_REALLOC); }
TEST(mgc_free_of_a_tiny_object_registers_the_thread) { one_call_registers(ENTRY_FREE_TINY); }
TEST(mgc_free_null_registers_the_thread) { one_call_registers(ENTRY_FREE_NULL); }

/* ---- A thread that exits still registered ----------------------------------------------------
 *
 * A destructor of a key created after mgc's calls mgc in every destructor
 * round: mgc's own destructor unregisters the thread each round, and the
 * program's registers it again, until the C library stops calling them. The
 * thread exits registered. glibc's pthread_kill returns 0 for such a thread,
 * so the collector cannot learn from it that the thread is gone. Before,
 * the next collection waited for its acknowledgement forever; now it finds
 * the thread gone and drops it. */

static pthread_key_t program_key;
static pid_t exiting_tid;

static void allocating_destructor(void *value)
{
    (void)value;
    pthread_setspecific(program_key, mgc_alloc(16)); /* asks for another round */
}

static void *exit_registered(void *unused)
{
    (void)unused;
    exiting_tid = thread_os_id();
    pthread_setspecific(program_key, mgc_alloc(16));
    return NULL;
}

TEST(thread_exiting_registered_is_dropped)
{
    alarm(HANG_SECONDS);
    mgc_init();
    CHECK(pthread_key_create(&program_key, allocating_destructor) == 0);
    void *volatile kept = mgc_alloc(64);
    fill_pattern(kept, 64, 5);
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, exit_registered, NULL) == 0);
    CHECK(pthread_join(thread, NULL) == 0);
    CHECK(tid_registered(exiting_tid)); /* what the case is about */
    mgc_collect();
    CHECK(!tid_registered(exiting_tid));
    mgc_collect();
    CHECK(check_pattern(kept, 64, 5));
}

/* Dropped threads leave nothing behind: their caches give their spans
 * back and are used again, and every allocation stays counted. Before,
 * each dropped thread's cache stayed on the live list for good: 40 such
 * threads cost 40 caches of metadata. */
TEST(dropped_threads_caches_are_recycled)
{
    alarm(HANG_SECONDS);
    mgc_init();
    CHECK(pthread_key_create(&program_key, allocating_destructor) == 0);
    struct mgc_stats before, after;
    mgc_collect();
    mgc_read_stats(&before);
    enum { THREADS = 40 };
    for (int i = 0; i < THREADS; i++) {
        pthread_t thread;
        CHECK(pthread_create(&thread, NULL, exit_registered, NULL) == 0);
        CHECK(pthread_join(thread, NULL) == 0);
        mgc_collect();
        CHECK(!tid_registered(exiting_tid));
    }
    mgc_read_stats(&after);
    CHECK(after.other_sys < before.other_sys + THREADS * sizeof(struct cache) / 2);
    /* Each thread made one allocation and each destructor round one more. */
    CHECK(after.mallocs - before.mallocs >= THREADS * 2);
    CHECK_EQ(after.heap_objects, after.mallocs - after.frees);
}

/* The same for a thread that exited but is not joined yet: pthread_kill
 * succeeds on it too. */
static void *register_then_vanish(void *unused)
{
    (void)unused;
    CHECK(mgc_register_thread() == 0);
    __atomic_store_n(&exiting_tid, thread_os_id(), __ATOMIC_RELEASE);
    mgc_tls.record = NULL; /* as if the unregistering destructor never ran */
    return NULL;
}

TEST(exited_unjoined_thread_still_registered_is_dropped)
{
    alarm(HANG_SECONDS);
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, register_then_vanish, NULL) == 0);
    /* Until it is gone from the system (joining would free its ID). */
    while (!__atomic_load_n(&exiting_tid, __ATOMIC_ACQUIRE) || !thread_os_gone(exiting_tid))
        usleep(1000);
    CHECK(tid_registered(exiting_tid));
    mgc_collect();
    CHECK(!tid_registered(exiting_tid));
    CHECK(pthread_join(thread, NULL) == 0);
}

/* ---- A thread that blocks the suspend signal -----------------------------------------------------
 *
 * Before, a collection waited forever for a thread that blocks the signal
 * (the common "block every signal in main, sigwait in one thread"
 * pattern). Now, after 5 s, mgc says which thread and which signal, and
 * aborts: the collection could never end. */

static void *collect(void *unused)
{
    (void)unused;
    sigset_t none;
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, NULL);
    mgc_collect();
    return NULL;
}

DEATH_TEST(thread_blocking_the_suspend_signal_aborts, "mgc's suspend signal): a collection cannot stop it")
{
    alarm(HANG_SECONDS);
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    CHECK(mgc_alloc(100) != NULL); /* registered, with the signal blocked */
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, collect, NULL) == 0);
    pthread_join(thread, NULL);
}

/* Blocking it for a while is fine: the collection waits, and goes on once
 * the thread unblocks it (the signal is pending meanwhile). */
TEST(thread_blocking_the_suspend_signal_for_a_while_is_waited_for)
{
    alarm(HANG_SECONDS);
    int suspend = world_suspend_signal();
    sigset_t blocked;
    sigemptyset(&blocked);
    sigaddset(&blocked, suspend);
    pthread_sigmask(SIG_BLOCK, &blocked, NULL);
    void *volatile kept = mgc_alloc(100);
    fill_pattern(kept, 100, 9);
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, collect, NULL) == 0);
    sigset_t pending;
    do {
        usleep(1000);
        sigpending(&pending);
    } while (!sigismember(&pending, suspend));
    pthread_sigmask(SIG_UNBLOCK, &blocked, NULL);
    CHECK(pthread_join(thread, NULL) == 0);
    CHECK(check_pattern(kept, 100, 9));
}

/* ---- The main thread without /proc --------------------------------------------------------------
 *
 * The C library finds the main thread's stack in /proc/self/maps: without
 * /proc (a chroot, a minimal container), pthread_getattr_np fails there.
 * Before, the main thread could not register: every allocation from it
 * failed with ENOMEM, and a collection it ran did not scan its stack. The
 * test makes pthread_getattr_np fail as it does then. */

/* Only the main thread's stack needs /proc. */
static int no_proc_getattr(pthread_t thread, pthread_attr_t *attr)
{
    if (thread_os_id() == getpid())
        return ENOENT;
    return pthread_getattr_np(thread, attr);
}

/* The end of the mapping that holds address, from /proc/self/maps. */
static uintptr_t mapping_end(uintptr_t address)
{
    FILE *maps = fopen("/proc/self/maps", "r");
    CHECK(maps != NULL);
    char line[512];
    uintptr_t end = 0;
    while (fgets(line, sizeof line, maps)) {
        unsigned long from, to;
        if (sscanf(line, "%lx-%lx", &from, &to) == 2 && address >= from && address < to)
            end = to;
    }
    fclose(maps);
    return end;
}

static void *allocate_in_thread(void *unused)
{
    (void)unused;
    return mgc_alloc(HELD_SIZE);
}

static void *garbage(void *unused)
{
    (void)unused;
    for (int i = 0; i < 5000; i++)
        memset(mgc_alloc(HELD_SIZE), 0xEE, HELD_SIZE);
    return NULL;
}

TEST(main_thread_registers_without_proc)
{
    CHECK(thread_os_id() == getpid()); /* the case runs on its process's main thread */
    pthread_attr_t attr;
    void *real_low;
    size_t real_size;
    CHECK(pthread_getattr_np(pthread_self(), &attr) == 0);
    CHECK(pthread_attr_getstack(&attr, &real_low, &real_size) == 0);
    pthread_attr_destroy(&attr);
    volatile uintptr_t here = 0;
    uintptr_t stack_end = mapping_end((uintptr_t)&here);
    CHECK(stack_end >= (uintptr_t)real_low + real_size);

    thread_stack_attributes = no_proc_getattr;
    pthread_t thread;
    void *from_thread;
    CHECK(pthread_create(&thread, NULL, allocate_in_thread, NULL) == 0);
    CHECK(pthread_join(thread, &from_thread) == 0 && from_thread != NULL);
    CHECK(mgc_alloc(100) != NULL);
    struct thread_record *self = mgc_tls.record;
    CHECK(self != NULL);
    /* The whole mapping (the C library stops short of the environment). */
    CHECK_EQ(self->stack_base, stack_end);
    CHECK(self->stack_low <= (uintptr_t)&here);
    struct rlimit limit;
    if (getrlimit(RLIMIT_STACK, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY)
        CHECK(self->stack_low + PAGE_SIZE >= (uintptr_t)real_low); /* as deep as it may grow */

    /* An object made by another thread, held only on this stack. */
    unsigned char *volatile held = from_thread;
    from_thread = NULL;
    fill_pattern(held, HELD_SIZE, 21);
    for (int round = 0; round < 3; round++) {
        CHECK(pthread_create(&thread, NULL, garbage, NULL) == 0);
        CHECK(pthread_join(thread, NULL) == 0);
        mgc_collect();
    }
    CHECK(check_pattern(held, HELD_SIZE, 21));
}

/* The same when the main thread's first call into mgc comes from a stack
 * of its own making (makecontext): the main stack is still the one
 * registered, not the coroutine's. */
static ucontext_t main_context, coroutine_context;
static struct thread_record registered;

static void register_on_coroutine(void)
{
    CHECK(mgc_register_thread() == 0);
    registered = *mgc_tls.record;
    swapcontext(&coroutine_context, &main_context);
}

TEST(main_thread_registers_without_proc_from_a_coroutine)
{
    volatile uintptr_t here = 0;
    uintptr_t stack_end = mapping_end((uintptr_t)&here);
    thread_stack_attributes = no_proc_getattr;
    static char coroutine_stack[256 << 10];
    CHECK(getcontext(&coroutine_context) == 0);
    coroutine_context.uc_stack.ss_sp = coroutine_stack;
    coroutine_context.uc_stack.ss_size = sizeof coroutine_stack;
    coroutine_context.uc_link = NULL;
    makecontext(&coroutine_context, register_on_coroutine, 0);
    CHECK(swapcontext(&main_context, &coroutine_context) == 0);
    CHECK_EQ(registered.stack_base, stack_end);
    CHECK(registered.stack_low <= (uintptr_t)&here);
    CHECK((uintptr_t)coroutine_stack < registered.stack_low || (uintptr_t)coroutine_stack >= registered.stack_base);
}

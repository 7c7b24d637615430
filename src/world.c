/*
 * world.c: the registry of threads, and stopping them all for marking.
 *
 * A thread is registered the first time it calls into mgc (or with
 * mgc_register_thread) and unregistered when it exits, by a pthread key
 * destructor. Registration records where its stack ends; while it is
 * stopped, its stack from the recorded stack pointer to that end is a root.
 *
 * Stopping the world, as Boehm GC does on Linux: the collector sends the
 * suspend signal (SIGPWR unless MGC_SUSPEND_SIGNAL says otherwise) to every
 * other registered thread. The handler runs on the thread's own stack, below
 * the signal frame in which the kernel saved every register, so scanning
 * from the handler's frame up covers the registers too. It acknowledges with
 * sem_post and waits on a futex until the collector moves world_epoch on.
 * world_epoch is odd while the world is stopped, even while it runs.
 *
 * A thread inside the allocator (mgc_tls.busy) is not stopped there: the
 * handler only sets stop_pending, and busy_end stops the thread on its way
 * out, after spilling its registers onto its stack.
 *
 * The handler is installed with SA_RESTART, so system calls that the kernel
 * restarts (read, write, futex waits, ...) simply continue. Calls that report
 * EINTR even then (nanosleep, poll, select, epoll_wait, ...) may return
 * early while a collection runs, exactly as under Boehm GC.
 */
#include <linux/futex.h>
#include <semaphore.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mgc_internal.h"

__thread struct thread_local mgc_tls = {.cache = &empty_cache};

struct thread_record *thread_list;
pthread_mutex_t threads_lock = PTHREAD_MUTEX_INITIALIZER;

static struct thread_record *spare_records;
static pthread_key_t exit_key;
static int suspend_signal = SIGPWR;
static uint32_t world_epoch; /* odd: stopped */
static sem_t acknowledgements;
static struct sigaction installed_action;

/* POSIX has sem_post and sem_wait synchronize memory; the fences say so
 * where the acknowledgements carry the parked threads' records. Thread
 * Sanitizer, which refuses fences, knows semaphores already. */
#ifdef __SANITIZE_THREAD__
#define semaphore_fence(order) ((void)0)
#else
#define semaphore_fence(order) __atomic_thread_fence(order)
#endif

/* ThreadSanitizer lists the loaded objects, under the loader's lock, the
 * first time it symbolizes a report. A report made while the collector holds
 * that lock with the world stopped (roots.c) would then wait for the
 * collector, and the collector for the reporting thread, for ever: have the
 * list made at start-up instead. (An object loaded later is listed again at
 * the next report that names it; a report naming one only while the world is
 * stopped can still hang.) */
#ifdef __SANITIZE_THREAD__
#include <sanitizer/common_interface_defs.h>
static void sanitizer_list_objects_now(void)
{
    char text[32];
    __sanitizer_symbolize_pc((void *)(uintptr_t)&world_init, "%p", text, sizeof text);
}
#else
static void sanitizer_list_objects_now(void) {}
#endif

void lock_stoppable(pthread_mutex_t *lock)
{
#ifdef __SANITIZE_THREAD__
    while (pthread_mutex_trylock(lock) != 0)
        usleep(50);
#else
    pthread_mutex_lock(lock);
#endif
}

/* ---- Futex ------------------------------------------------------------------------------- */

static void futex_wait(uint32_t *address, uint32_t expected)
{
    syscall(SYS_futex, address, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}

static void futex_wake_all(uint32_t *address)
{
    syscall(SYS_futex, address, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
}

/* ---- Being stopped ----------------------------------------------------------------------- */

/* Record where this thread's stack is live from, acknowledge, and wait for
 * the world to start again. Async-signal-safe. */
static void park(struct thread_record *self, uintptr_t stack_pointer)
{
    uint32_t epoch = __atomic_load_n(&world_epoch, __ATOMIC_ACQUIRE);
    if (!(epoch & 1) || self->parked_epoch == epoch)
        return;
    self->stack_pointer = stack_pointer;
    self->parked_epoch = epoch;
    semaphore_fence(__ATOMIC_RELEASE);
    sem_post(&acknowledgements);
    while (__atomic_load_n(&world_epoch, __ATOMIC_ACQUIRE) == epoch)
        futex_wait(&world_epoch, epoch);
}

static void suspend_handler(int signal_number, siginfo_t *info, void *context)
{
    (void)signal_number, (void)info, (void)context;
    int saved_errno = errno;
    struct thread_record *self = mgc_tls.record;
    if (self) {
        if (mgc_tls.busy) {
            mgc_tls.stop_pending = 1;
        } else {
            /* The signal frame, with every register of the interrupted code,
             * lies above this frame: scanning from here covers it. */
            volatile uintptr_t here = 0;
            park(self, (uintptr_t)&here);
        }
    }
    errno = saved_errno;
}

/* __builtin_unwind_init makes this function save every callee-saved
 * register in its frame, so those values lie in [sp, stack base) while fn
 * runs; caller-saved ones were saved by our callers already. */
NOINLINE void with_registers_spilled(void (*fn)(uintptr_t low, uintptr_t high, void *arg), void *arg)
{
    __builtin_unwind_init();
    volatile uintptr_t here = 0;
    struct thread_record *self = mgc_tls.record;
    fn((uintptr_t)&here, self ? self->stack_base : (uintptr_t)&here, arg);
    __asm__ volatile("" : : : "memory"); /* keep the frame alive until fn returns */
}

static void park_from_spill(uintptr_t low, uintptr_t high, void *arg)
{
    (void)high, (void)arg;
    park(mgc_tls.record, low);
}

void *world_stop_deferred(void *holding)
{
    /* This frame lies inside the range scanned while the thread is stopped
     * (with_registers_spilled's frame is below it). */
    void *volatile held = holding;
    mgc_tls.stop_pending = 0;
    signal_fence();
    if (mgc_tls.record)
        with_registers_spilled(park_from_spill, NULL);
    return held;
}

/* ---- Stopping others ---------------------------------------------------------------------- */

void world_stop(void)
{
    /* A program that put its own handler on our signal would hang every
     * collection; say so instead. */
    struct sigaction current;
    if (sigaction(suspend_signal, NULL, &current) == 0 && current.sa_sigaction != suspend_handler) {
        write_stderr("mgc: the handler of signal %d (mgc's suspend signal) was replaced; "
                     "choose another with MGC_SUSPEND_SIGNAL\n", suspend_signal);
        abort();
    }
    /* Only a thread that parks for this stop has a stack to scan. Cleared
     * before the epoch turns odd: a thread parks only once it reads an odd
     * epoch, so its own store of the field comes after this one (and a
     * thread sanitizer sees the order through the epoch's atomics). */
    for (struct thread_record *t = thread_list; t; t = t->next)
        t->stack_pointer = 0;
    __atomic_add_fetch(&world_epoch, 1, __ATOMIC_ACQ_REL);
    struct thread_record *self = mgc_tls.record;
    unsigned signalled = 0;
    for (struct thread_record *t = thread_list; t; t = t->next) {
        if (t == self)
            continue;
        if (pthread_kill(t->thread, suspend_signal) == 0)
            signalled++;
    }
    while (signalled) {
        if (sem_wait(&acknowledgements) == 0)
            signalled--;
    }
    semaphore_fence(__ATOMIC_ACQUIRE);
}

void world_start(void)
{
    __atomic_add_fetch(&world_epoch, 1, __ATOMIC_ACQ_REL);
    futex_wake_all(&world_epoch);
}

/* ---- Starting mgc's own threads ---------------------------------------------------------------
 *
 * A new thread does work of its own before it reaches its function: the C
 * library, or a sanitizer's runtime, sets it up and may take its allocator's
 * locks. A fork at that moment would leave those locks held in the child
 * for good, where AddressSanitizer's allocator, unlike glibc's, has no fork
 * handler to release them. So a start is not over until the new thread runs
 * its function, and launch_lock, which fork's prepare handler takes, is held
 * from before pthread_create until then. One start at a time, so one static
 * slot carries the function and a copy of its argument across. */
pthread_mutex_t launch_lock = PTHREAD_MUTEX_INITIALIZER;

static struct {
    pthread_mutex_t lock;
    pthread_cond_t running_now;
    void *(*fn)(void *);
    _Alignas(16) unsigned char argument[LAUNCH_ARGUMENT_MAX];
    bool running;
} launch = {.lock = PTHREAD_MUTEX_INITIALIZER, .running_now = PTHREAD_COND_INITIALIZER};

static void *launched(void *unused)
{
    (void)unused;
    _Alignas(16) unsigned char argument[LAUNCH_ARGUMENT_MAX];
    pthread_mutex_lock(&launch.lock);
    void *(*fn)(void *) = launch.fn;
    memcpy(argument, launch.argument, sizeof argument);
    launch.running = true;
    pthread_cond_signal(&launch.running_now);
    pthread_mutex_unlock(&launch.lock);
    return fn(argument);
}

bool start_detached_thread(void *(*fn)(void *), const void *argument, size_t size)
{
    if (size > LAUNCH_ARGUMENT_MAX)
        abort();
    pthread_attr_t attr;
    if (pthread_attr_init(&attr) != 0)
        return false;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_mutex_lock(&launch_lock);
    pthread_mutex_lock(&launch.lock);
    launch.fn = fn;
    memset(launch.argument, 0, sizeof launch.argument);
    if (size)
        memcpy(launch.argument, argument, size);
    launch.running = false;
    pthread_t thread;
    bool started = pthread_create(&thread, &attr, launched, NULL) == 0;
    while (started && !launch.running)
        pthread_cond_wait(&launch.running_now, &launch.lock);
    pthread_mutex_unlock(&launch.lock);
    pthread_mutex_unlock(&launch_lock);
    pthread_attr_destroy(&attr);
    return started;
}

/* t->lock held. */
static void start_if_stopped_locked(struct service_thread *t)
{
    if (!t->started)
        t->started = start_detached_thread(t->main, NULL, 0);
}

void service_start(struct service_thread *t)
{
    pthread_mutex_lock(&t->lock);
    start_if_stopped_locked(t);
    pthread_mutex_unlock(&t->lock);
}

void service_wake(struct service_thread *t, bool start)
{
    pthread_mutex_lock(&t->lock);
    if (start)
        start_if_stopped_locked(t);
    t->generation++;
    pthread_cond_broadcast(&t->wake);
    pthread_mutex_unlock(&t->lock);
}

void service_wait(struct service_thread *t, uint64_t *seen)
{
    pthread_mutex_lock(&t->lock);
    while (t->generation == *seen)
        pthread_cond_wait(&t->wake, &t->lock);
    *seen = t->generation;
    pthread_mutex_unlock(&t->lock);
}

void service_gave_up(struct service_thread *t)
{
    pthread_mutex_lock(&t->lock);
    t->started = false;
    pthread_mutex_unlock(&t->lock);
}

void service_after_fork_child(struct service_thread *t)
{
    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->wake, NULL);
    t->started = false;
}

/* ---- Registration -------------------------------------------------------------------------- */

static bool stack_bounds(uintptr_t *low, uintptr_t *high)
{
    pthread_attr_t attr;
    void *address;
    size_t size;
    if (pthread_getattr_np(pthread_self(), &attr) != 0)
        return false;
    bool ok = pthread_attr_getstack(&attr, &address, &size) == 0;
    pthread_attr_destroy(&attr);
    if (!ok)
        return false;
    *low = (uintptr_t)address;
    *high = (uintptr_t)address + size;
    return true;
}

bool thread_ensure_registered(void)
{
    if (likely(mgc_tls.record != NULL))
        return true;
    runtime_ensure_init();
    uintptr_t low, high;
    /* Under threads_lock, which fork's prepare handler takes: the C library
     * may allocate here (see launch_lock). */
    lock_stoppable(&threads_lock);
    if (!stack_bounds(&low, &high)) {
        pthread_mutex_unlock(&threads_lock);
        errno = ENOMEM;
        return false;
    }
    struct thread_record *r = spare_records;
    if (r)
        spare_records = r->next;
    else
        r = persistent_alloc(sizeof *r, 8, SYS_OTHER);
    if (r) {
        memset(r, 0, sizeof *r);
        r->thread = pthread_self();
        r->stack_low = low;
        r->stack_base = high;
        r->next = thread_list;
        thread_list = r;
        mgc_tls.record = r;
    }
    pthread_mutex_unlock(&threads_lock);
    if (!r) {
        errno = ENOMEM;
        return false;
    }
    /* Any non-NULL value: the destructor unregisters the thread. */
    pthread_setspecific(exit_key, r);
    return true;
}

void thread_unregister_current(void)
{
    struct thread_record *r = mgc_tls.record;
    if (!r)
        return;
    struct cache *c = mgc_tls.cache;
    busy_begin();
    cache_release_all(c);
    busy_end();
    if (c != &empty_cache)
        cache_retire(c);
    mgc_tls.cache = &empty_cache;
    lock_stoppable(&threads_lock);
    struct thread_record **link = &thread_list;
    while (*link != r)
        link = &(*link)->next;
    *link = r->next;
    r->next = spare_records;
    spare_records = r;
    mgc_tls.record = NULL;
    pthread_mutex_unlock(&threads_lock);
    pthread_setspecific(exit_key, NULL);
}

static void thread_exit_destructor(void *value)
{
    (void)value;
    thread_unregister_current();
}

int mgc_register_thread(void)
{
    return thread_ensure_registered() ? 0 : MGC_ENOMEM;
}

int mgc_unregister_thread(void)
{
    if (!mgc_tls.record)
        return MGC_EINVAL;
    thread_unregister_current();
    return 0;
}

/* ---- Set-up ------------------------------------------------------------------------------------ */

/* MGC_SUSPEND_SIGNAL: a signal number, or one of a few names. */
static int parse_signal(const char *text)
{
    static const struct {
        const char *name;
        int number;
    } names[] = {{"SIGPWR", SIGPWR}, {"SIGXCPU", SIGXCPU}, {"SIGUSR1", SIGUSR1},
                 {"SIGUSR2", SIGUSR2}, {"SIGXFSZ", SIGXFSZ}, {"SIGSYS", SIGSYS}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(text, names[i].name) == 0 || strcmp(text, names[i].name + 3) == 0)
            return names[i].number;
    if (strncmp(text, "SIGRTMIN+", 9) == 0 || strncmp(text, "RTMIN+", 6) == 0) {
        const char *n = strchr(text, '+') + 1;
        char *end;
        long k = strtol(n, &end, 10);
        if (*n && !*end && k >= 0 && SIGRTMIN + k <= SIGRTMAX)
            return SIGRTMIN + (int)k;
        return -1;
    }
    char *end;
    long n = strtol(text, &end, 10);
    if (!*text || *end || n <= 0 || n > SIGRTMAX || n == SIGKILL || n == SIGSTOP || n == SIGSEGV ||
        n == SIGBUS || n == SIGFPE || n == SIGILL || n == SIGABRT)
        return -1;
    return (int)n;
}

void world_init(void)
{
    const char *text = getenv("MGC_SUSPEND_SIGNAL");
    if (text) {
        int n = parse_signal(text);
        if (n > 0)
            suspend_signal = n;
        else
            write_stderr("mgc: MGC_SUSPEND_SIGNAL: bad signal \"%s\"; using %d (SIGPWR)\n", text, SIGPWR);
    }
    sanitizer_list_objects_now();
    sem_init(&acknowledgements, 0, 0);
    pthread_key_create(&exit_key, thread_exit_destructor);
    memset(&installed_action, 0, sizeof installed_action);
    installed_action.sa_sigaction = suspend_handler;
    installed_action.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&installed_action.sa_mask);
    sigaction(suspend_signal, &installed_action, NULL);
}

void world_after_fork_child(void)
{
    /* Only the forking thread lives on in the child. Other threads' caches
     * still hold spans: give them back, then forget those threads. */
    struct thread_record *self = mgc_tls.record;
    struct thread_record *t = thread_list;
    thread_list = NULL;
    while (t) {
        struct thread_record *next = t->next;
        if (t == self) {
            t->next = thread_list;
            thread_list = t;
        } else {
            t->next = spare_records;
            spare_records = t;
        }
        t = next;
    }
    if (self)
        self->thread = pthread_self();
    sem_init(&acknowledgements, 0, 0);
    pthread_mutex_init(&launch.lock, NULL);
    pthread_cond_init(&launch.running_now, NULL);
    world_epoch = 0;
}

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
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "mgc_internal.h"

__thread struct thread_local mgc_tls = {.cache = &empty_cache};

struct thread_record *thread_list;
pthread_mutex_t threads_lock = PTHREAD_MUTEX_INITIALIZER;

static struct thread_record *spare_records;
static struct thread_record *dropped_records; /* by the stop under way (world_stop) */
static pthread_key_t exit_key;
static int suspend_signal = SIGPWR;
static uint32_t world_epoch; /* odd: stopped */
static sem_t acknowledgements;
static struct sigaction installed_action;
static uintptr_t os_page_size = 4096; /* the system's, from world_init */

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

/* Every signal but the synchronous faults (which a mask cannot hold off,
 * only turn into a silent kill) and those the C library keeps for itself. */
static void all_but_faults(sigset_t *set)
{
    static const int faults[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT};
    sigfillset(set);
    for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++)
        sigdelset(set, faults[i]);
}

/* ---- Being stopped ----------------------------------------------------------------------- */

/* The lowest address of the mapped part of a thread's stack [low, high).
 * A thread's stack is one mapping that reaches up to high, but the main
 * thread's grows on demand, and [low, high) is only how far it may grow
 * (nothing else is mapped there): so whether a page is mapped answers the
 * same from some page up, and a binary search with mincore(2) on single
 * pages finds where. Async-signal-safe. */
static uintptr_t lowest_mapped(uintptr_t low, uintptr_t high)
{
    uintptr_t page = os_page_size;
    uintptr_t mapped = (high - 1) & ~(page - 1); /* the top page is in use */
    uintptr_t below = low & ~(page - 1);         /* unknown, at or below the answer */
    unsigned char resident;
    if (mincore((void *)below, page, &resident) == 0)
        return low;
    /* below is unmapped and mapped is mapped: halve the gap. */
    while (mapped - below > page) {
        uintptr_t middle = below + ((mapped - below) / 2 & ~(page - 1));
        if (mincore((void *)middle, page, &resident) == 0)
            mapped = middle;
        else
            below = middle;
    }
    return mapped;
}

/*
 * Record which stacks of this thread hold its live frames, from a point on
 * the stack it is running on. That is usually its own stack, from here up.
 * But a handler of the program's that runs on an alternate signal stack
 * (sigaltstack) may be what was interrupted: then the live frames are that
 * alternate stack, from here up, and the thread's own stack, from wherever
 * it was when the handler began. That depth is not known here, so all of
 * the thread's stack that is mapped is scanned. The same when the thread
 * runs on a stack of its own making (makecontext): its own stack is still
 * live below the frame that switched, and the other stack is not a root
 * (mgc.h says so). Async-signal-safe.
 */
/* True when every page of [low, high) is mapped: mincore(2) over chunks
 * of at most 256 pages, so that the vector fits on a signal handler's
 * stack. Async-signal-safe. */
static bool all_mapped(uintptr_t low, uintptr_t high)
{
    unsigned char resident[256];
    for (uintptr_t page = low & ~(os_page_size - 1); page < high;) {
        uintptr_t length = high - page < 256 * os_page_size ? high - page : 256 * os_page_size;
        if (mincore((void *)page, length, resident) != 0)
            return false;
        page += length;
    }
    return true;
}

static void record_stacks(struct thread_record *self, uintptr_t here)
{
    self->other_low = self->other_high = 0;
    stack_t alternate;
    bool on_alternate = sigaltstack(NULL, &alternate) == 0 && (alternate.ss_flags & SS_ONSTACK);
    /* The main thread below the recorded low end, mapped all the way up:
     * its stack grew past the limit it had at registration (setrlimit
     * since). Only the main thread's stack grows; the kernel keeps other
     * mappings a gap away from it. */
    if (!on_alternate && here < self->stack_low && syscall(SYS_gettid) == getpid() &&
        all_mapped(here, self->stack_low))
        self->stack_low = here & ~(os_page_size - 1);
    if (!on_alternate && here >= self->stack_low && here < self->stack_base) {
        self->stack_pointer = here;
        return;
    }
    uintptr_t alternate_low = (uintptr_t)alternate.ss_sp, alternate_high = alternate_low + alternate.ss_size;
    if (on_alternate && here >= alternate_low && here < alternate_high) {
        self->other_low = here;
        self->other_high = alternate_high;
    }
    self->stack_pointer = lowest_mapped(self->stack_low, self->stack_base);
}

/* Record where this thread's stacks are live, acknowledge, and wait for
 * the world to start again. Async-signal-safe. */
static void park(struct thread_record *self, uintptr_t stack_pointer)
{
    uint32_t epoch = __atomic_load_n(&world_epoch, __ATOMIC_ACQUIRE);
    if (!(epoch & 1) || self->parked_epoch == epoch)
        return;
    record_stacks(self, stack_pointer);
    self->parked_epoch = epoch;
    semaphore_fence(__ATOMIC_RELEASE);
    sem_post(&acknowledgements);
    while (__atomic_load_n(&world_epoch, __ATOMIC_ACQUIRE) == epoch)
        futex_wait(&world_epoch, epoch);
}

/* The interrupted code's general registers, from the signal's context.
 * Async-signal-safe. */
static void copy_registers(struct thread_record *self, const void *context)
{
#if defined(__x86_64__) || defined(__i386__)
    const ucontext_t *interrupted = context;
    size_t n = sizeof interrupted->uc_mcontext.gregs / sizeof interrupted->uc_mcontext.gregs[0];
    if (n > sizeof self->registers / sizeof self->registers[0])
        n = sizeof self->registers / sizeof self->registers[0];
    for (size_t i = 0; i < n; i++)
        self->registers[i] = (uintptr_t)interrupted->uc_mcontext.gregs[i];
    self->register_count = (unsigned)n;
#elif defined(__aarch64__)
    const ucontext_t *interrupted = context;
    size_t n = sizeof interrupted->uc_mcontext.regs / sizeof interrupted->uc_mcontext.regs[0];
    if (n > sizeof self->registers / sizeof self->registers[0])
        n = sizeof self->registers / sizeof self->registers[0];
    for (size_t i = 0; i < n; i++)
        self->registers[i] = (uintptr_t)interrupted->uc_mcontext.regs[i];
    self->register_count = (unsigned)n;
#else
    (void)self, (void)context; /* the signal frame on the scanned stack holds them */
#endif
}

static void suspend_handler(int signal_number, siginfo_t *info, void *context)
{
    (void)signal_number, (void)info, (void)context;
    int saved_errno = errno;
    struct thread_record *self = mgc_tls.record;
    /* The collecting thread never stops itself: a stray suspend signal
     * (kill, or SIGXCPU from the kernel) leaves it collecting. */
    if (self && !mgc_tls.collecting) {
        if (mgc_tls.busy) {
            mgc_tls.stop_pending = 1;
        } else {
            /* The signal frame, with every register of the interrupted code,
             * lies above this frame: scanning from here covers it. */
            volatile uintptr_t here = 0;
            /* An asynchronous cancellation arriving while stopped would
             * unwind the thread out of its stop, with the world stopped
             * and its stack being read: it waits until the world runs
             * again, and then acts with the signal mask of the code it
             * interrupted (unwinding skips the return from this handler,
             * which would restore it: the suspend signal would stay
             * blocked for good, and the next collection wait forever). */
            int cancel_state;
            pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
            copy_registers(self, context);
            park(self, (uintptr_t)&here);
            self->register_count = 0;
            if (cancel_state == PTHREAD_CANCEL_ENABLE) {
                pthread_sigmask(SIG_SETMASK, &((ucontext_t *)context)->uc_sigmask, NULL);
                pthread_setcancelstate(cancel_state, NULL);
            }
        }
    }
    errno = saved_errno;
}

/* __builtin_unwind_init makes this function save every callee-saved
 * register in its frame, so those values lie in [sp, stack base) while fn
 * runs; caller-saved ones were saved by our callers already. */
NOINLINE NO_REDZONES void with_registers_spilled(void (*fn)(uintptr_t low, uintptr_t high, void *arg), void *arg)
{
    __builtin_unwind_init();
    volatile uintptr_t here = 0;
    struct thread_record *self = mgc_tls.record;
    fn((uintptr_t)&here, self ? self->stack_base : (uintptr_t)&here, arg);
    __asm__ volatile("" : : : "memory"); /* keep the frame alive until fn returns */
}

void collector_record_stacks(uintptr_t low)
{
    if (mgc_tls.record)
        record_stacks(mgc_tls.record, low);
}

void collector_hold_signals(bool hold, sigset_t *previous)
{
    if (hold) {
        sigset_t blocked;
        all_but_faults(&blocked);
        pthread_sigmask(SIG_BLOCK, &blocked, previous);
        mgc_tls.collecting = 1;
    } else {
        mgc_tls.collecting = 0;
        pthread_sigmask(SIG_SETMASK, previous, NULL);
    }
}

/* Stopped at the end of a busy stretch: the registers are spilled into
 * with_registers_spilled's frame, just above low, and the object the
 * stretch produced is *arg. Both are on the stack the thread runs on, which
 * is not read when that is a stack of the program's own making: keep a
 * copy of them with the thread's record. */
static NO_REDZONES void park_from_spill(uintptr_t low, uintptr_t high, void *arg)
{
    struct thread_record *self = mgc_tls.record;
    size_t n = sizeof self->registers / sizeof self->registers[0];
    const uintptr_t *spilled = (const uintptr_t *)low;
    for (size_t i = 0; i + 1 < n && low + (i + 1) * sizeof(uintptr_t) <= high; i++)
        self->registers[i] = spilled[i];
    self->registers[n - 1] = *(uintptr_t *)arg;
    self->register_count = (unsigned)n;
    park(self, low);
    self->register_count = 0;
}

void *world_stop_deferred(void *holding)
{
    /* This frame lies inside the range scanned while the thread is stopped
     * (with_registers_spilled's frame is below it). */
    void *volatile held = holding;
    mgc_tls.stop_pending = 0;
    signal_fence();
    if (mgc_tls.record) {
        /* Parked here, outside a handler, the thread would still run the
         * program's handlers, in frames below the scanned range: a handler
         * that moves a pointer would hide it from marking. */
        sigset_t blocked, previous;
        all_but_faults(&blocked);
        int cancel_state;
        pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
        pthread_sigmask(SIG_BLOCK, &blocked, &previous);
        with_registers_spilled(park_from_spill, (void *)&held);
        pthread_sigmask(SIG_SETMASK, &previous, NULL);
        pthread_setcancelstate(cancel_state, NULL);
    }
    return held;
}

/* ---- Clearing what mgc leaves on a stack ------------------------------------------------------
 *
 * A frame's slots that its function never writes keep whatever an earlier,
 * deeper call left there. The collector's own frames are full of pointers
 * to objects, and a finalizer's frames of its object: left below a
 * thread's frames, any later frame with an unwritten slot (or the
 * register save area of a signal frame) would hand them back to the
 * scanner as roots, and keep dead objects alive for good. So mgc
 * overwrites what it used, on its way out. */
#define CLEAR_BLOCK 1024

static NOINLINE NO_REDZONES void clear_blocks(size_t blocks)
{
    unsigned char block[CLEAR_BLOCK];
    memset(block, 0, sizeof block);
    if (blocks > 1)
        clear_blocks(blocks - 1);
    __asm__ volatile("" : : "r"(block) : "memory"); /* the stores stay, and this is no tail call */
}

NOINLINE NO_REDZONES void stack_clear_below(size_t bytes)
{
    volatile uintptr_t here = 0;
    struct thread_record *self = mgc_tls.record;
    /* Only on the thread's own stack, whose extent is known, and never past
     * its low end (with a margin): on a stack the program made itself
     * (makecontext), the bytes below may be anything. */
    if (!self || (uintptr_t)&here < self->stack_low || (uintptr_t)&here >= self->stack_base)
        return;
    uintptr_t room = (uintptr_t)&here - self->stack_low;
    uintptr_t margin = 16 * CLEAR_BLOCK;
    if (room < margin)
        return;
    if (bytes > room - margin)
        bytes = room - margin;
    clear_blocks(bytes / CLEAR_BLOCK);
}

/* ---- Stopping others ---------------------------------------------------------------------- */

int (*signal_thread)(pthread_t thread, int signal_number) = pthread_kill;

/* Forget *link's record: its thread is gone, having exited without
 * unregistering (a key destructor of the program's called mgc after mgc's
 * own destructor had run, and registered it again). It has no stack left to
 * scan. threads_lock held. */
static void drop_exited_thread(struct thread_record **link)
{
    struct thread_record *t = *link;
    write_stderr("mgc: a registered thread exited without unregistering; dropped\n");
    *link = t->next;
    t->next = dropped_records;
    dropped_records = t;
}

/* Once every thread is stopped (no allocator lock is held then), the caches
 * of the threads dropped by this stop give their spans back and are
 * retired, and their records become spare. threads_lock held. */
static void retire_dropped_threads(void)
{
    while (dropped_records) {
        struct thread_record *t = dropped_records;
        dropped_records = t->next;
        if (t->cache)
            cache_retire_of_exited_locked(t->cache);
        t->next = spare_records;
        spare_records = t;
    }
}

/* A registered thread that pthread_kill cannot reach. ESRCH: it is gone,
 * and dropped. Anything else: it may still run, and marking around a
 * running thread could free what it holds, so stop here. threads_lock
 * held. */
static void signal_failed(struct thread_record **link, int error)
{
    struct thread_record *t = *link;
    if (error != ESRCH) {
        write_stderr("mgc: cannot stop thread %#lx with signal %d (error %d); "
                     "a collection must not run while it runs\n", (unsigned long)t->thread, suspend_signal, error);
        abort();
    }
    drop_exited_thread(link);
}

/* How long world_stop waits for acknowledgements before it looks at the
 * threads that have not given theirs, and how long before it says so. */
#define STOP_SLICE_NS 10000000L /* 10 ms */
#define STOP_PATIENCE_SECONDS 5

/*
 * The threads signalled for stop epoch that have not acknowledged it: drop
 * those that are gone (pthread_kill cannot tell: glibc returns 0 for a
 * thread that has exited), and return how many. After STOP_PATIENCE_SECONDS
 * (patience_over), also say why the others do not stop: one that blocks the
 * suspend signal never will, and mgc aborts rather than hang for good.
 * threads_lock held, so the list stays still; a thread may acknowledge
 * meanwhile, which its parked_epoch shows.
 */
static unsigned drop_unstoppable(struct thread_record *self, uint32_t epoch, bool patience_over)
{
    unsigned dropped = 0;
    bool warned = false;
    for (struct thread_record **link = &thread_list; *link;) {
        struct thread_record *t = *link;
        if (t == self || __atomic_load_n(&t->parked_epoch, __ATOMIC_ACQUIRE) == epoch) {
            link = &t->next;
            continue;
        }
        enum thread_os_state state = thread_os_gone(t->tid) ? THREAD_OS_GONE
                                   : patience_over          ? thread_os_examine(t->tid, suspend_signal)
                                                            : THREAD_OS_RUNNING;
        /* Gone without acknowledging: it never will, and it never posted. */
        if (state == THREAD_OS_GONE && __atomic_load_n(&t->parked_epoch, __ATOMIC_ACQUIRE) != epoch) {
            drop_exited_thread(link);
            dropped++;
            continue;
        }
        if (state == THREAD_OS_BLOCKS_SIGNAL) {
            write_stderr("mgc: thread %d blocks signal %d (mgc's suspend signal): a collection cannot stop it; "
                         "leave that signal unblocked in every registered thread, or unregister the thread "
                         "(mgc_unregister_thread)\n", (int)t->tid, suspend_signal);
            abort();
        }
        if (patience_over && !warned) {
            write_stderr("mgc: thread %d has not stopped for a collection after %d s; still waiting\n",
                         (int)t->tid, STOP_PATIENCE_SECONDS);
            warned = true;
        }
        link = &t->next;
    }
    return dropped;
}

static struct timespec monotonic_after(struct timespec t, long nanoseconds)
{
    t.tv_nsec += nanoseconds;
    t.tv_sec += t.tv_nsec / 1000000000L;
    t.tv_nsec %= 1000000000L;
    return t;
}

/* Wait until each of the signalled threads has acknowledged (each posts
 * once per stop) or is found gone. */
static void wait_for_acknowledgements(struct thread_record *self, uint32_t epoch, unsigned signalled)
{
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    struct timespec slice_end = monotonic_after(start, STOP_SLICE_NS);
    bool diagnosed = false;
    unsigned acknowledged = 0;
    while (acknowledged < signalled) {
        if (sem_clockwait(&acknowledgements, CLOCK_MONOTONIC, &slice_end) == 0) {
            acknowledged++;
            continue;
        }
        if (errno != ETIMEDOUT)
            continue; /* EINTR: a handler of the program's ran */
        clock_gettime(CLOCK_MONOTONIC, &now);
        bool patience_over = !diagnosed && now.tv_sec - start.tv_sec >= STOP_PATIENCE_SECONDS;
        diagnosed |= patience_over;
        signalled -= drop_unstoppable(self, epoch, patience_over);
        slice_end = monotonic_after(now, STOP_SLICE_NS);
    }
}

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
     * thread sanitizer sees the order through the epoch's atomics). The
     * collecting thread recorded its stacks on entry (collector_record_stacks). */
    struct thread_record *self = mgc_tls.record;
    for (struct thread_record *t = thread_list; t; t = t->next)
        if (t != self)
            t->stack_pointer = 0;
    uint32_t epoch = __atomic_add_fetch(&world_epoch, 1, __ATOMIC_ACQ_REL);
    unsigned signalled = 0;
    for (struct thread_record **link = &thread_list; *link;) {
        struct thread_record *t = *link;
        if (t == self) {
            link = &t->next;
            continue;
        }
        int error = signal_thread(t->thread, suspend_signal);
        if (error) {
            signal_failed(link, error);
            continue;
        }
        signalled++;
        link = &t->next;
    }
    wait_for_acknowledgements(self, epoch, signalled);
    semaphore_fence(__ATOMIC_ACQUIRE);
    retire_dropped_threads();
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
    const char *name;
    void *(*fn)(void *);
    _Alignas(16) unsigned char argument[LAUNCH_ARGUMENT_MAX];
    bool running;
} launch = {.lock = PTHREAD_MUTEX_INITIALIZER, .running_now = PTHREAD_COND_INITIALIZER};

static void *launched(void *unused)
{
    (void)unused;
    /* The thread library's first frames, above this one, keep whatever the
     * creating thread's registers held when it called pthread_create (a
     * new thread starts with a copy of them): a program's pointer, for
     * good. Such a thread that registers treats only its frames below this
     * one as its stack. */
    volatile uintptr_t here = 0;
    mgc_tls.stack_base_override = (uintptr_t)&here;
    _Alignas(16) unsigned char argument[LAUNCH_ARGUMENT_MAX];
    pthread_mutex_lock(&launch.lock);
    void *(*fn)(void *) = launch.fn;
    pthread_setname_np(pthread_self(), launch.name);
    memcpy(argument, launch.argument, sizeof argument);
    launch.running = true;
    pthread_cond_signal(&launch.running_now);
    pthread_mutex_unlock(&launch.lock);
    void *result = fn(argument);
    __asm__ volatile("" : : : "memory"); /* here stays in this frame until fn returns */
    return result;
}

/* The signals mgc's threads leave unblocked: the suspend signal (the
 * sweeper and the finalizer runner are registered, and must stop for
 * collections), and the synchronous faults, which a blocked mask would not
 * stop anyway but would turn into a silent kill. Every other signal is the
 * program's: a process-directed one must never run its handler on a thread
 * of mgc's, in the middle of marking or sweeping. */
static void block_program_signals(sigset_t *previous)
{
    sigset_t blocked;
    all_but_faults(&blocked);
    sigdelset(&blocked, suspend_signal);
    pthread_sigmask(SIG_SETMASK, &blocked, previous);
}

bool start_detached_thread(const char *name, void *(*fn)(void *), const void *argument, size_t size)
{
    if (size > LAUNCH_ARGUMENT_MAX)
        abort();
    pthread_attr_t attr;
    if (pthread_attr_init(&attr) != 0)
        return false;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int cancel_state;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state); /* the wait below must not end the thread */
    pthread_mutex_lock(&launch_lock);
    pthread_mutex_lock(&launch.lock);
    launch.name = name;
    launch.fn = fn;
    memset(launch.argument, 0, sizeof launch.argument);
    if (size)
        memcpy(launch.argument, argument, size);
    launch.running = false;
    /* The new thread inherits the mask in force here; the caller's own
     * comes back at once. */
    sigset_t callers_mask;
    block_program_signals(&callers_mask);
    pthread_t thread;
    bool started = pthread_create(&thread, &attr, launched, NULL) == 0;
    pthread_sigmask(SIG_SETMASK, &callers_mask, NULL);
    while (started && !launch.running)
        pthread_cond_wait(&launch.running_now, &launch.lock);
    pthread_mutex_unlock(&launch.lock);
    pthread_mutex_unlock(&launch_lock);
    pthread_setcancelstate(cancel_state, NULL);
    pthread_attr_destroy(&attr);
    return started;
}

/* t->lock held. */
static void start_if_stopped_locked(struct service_thread *t)
{
    if (!t->started)
        t->started = start_detached_thread(t->name, t->main, NULL, 0);
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

bool thread_ensure_registered(void)
{
    if (likely(mgc_tls.record != NULL))
        return true;
    runtime_ensure_init();
    uintptr_t low, high;
    /* Finding the stack may read /proc (the main thread's), at
     * cancellation points, and threads_lock is held meanwhile. */
    int cancel_state;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
    /* Under threads_lock, which fork's prepare handler takes: the C library
     * may allocate here (see launch_lock). */
    lock_stoppable(&threads_lock);
    if (!stack_bounds(&low, &high)) {
        pthread_mutex_unlock(&threads_lock);
        pthread_setcancelstate(cancel_state, NULL);
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
        r->tid = thread_os_id();
        r->stack_low = low;
        r->stack_base = mgc_tls.stack_base_override ? mgc_tls.stack_base_override : high;
        r->next = thread_list;
        thread_list = r;
        mgc_tls.record = r;
    }
    pthread_mutex_unlock(&threads_lock);
    pthread_setcancelstate(cancel_state, NULL);
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
    r->cache = NULL; /* retired here, not with a dropped record */
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

/* MGC_SUSPEND_SIGNAL: a signal number, or one of a few names; 0 with the
 * reason in *why if it names no signal mgc can use. */
static int parse_signal(const char *text, const char **why)
{
    static const struct {
        const char *name;
        int number;
    } names[] = {{"SIGPWR", SIGPWR}, {"SIGXCPU", SIGXCPU}, {"SIGUSR1", SIGUSR1},
                 {"SIGUSR2", SIGUSR2}, {"SIGXFSZ", SIGXFSZ}, {"SIGSYS", SIGSYS}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(text, names[i].name) == 0 || strcmp(text, names[i].name + 3) == 0)
            return names[i].number;
    uint64_t n;
    *why = "expected a number, a name from mgc.h, or SIGRTMIN+n";
    if (strncmp(text, "SIGRTMIN+", 9) == 0 || strncmp(text, "RTMIN+", 6) == 0) {
        const char *digits = strchr(text, '+') + 1;
        if (!parse_decimal(digits, strlen(digits), (uint64_t)(SIGRTMAX - SIGRTMIN), &n))
            return 0;
        return SIGRTMIN + (int)n;
    }
    if (!parse_decimal(text, strlen(text), (uint64_t)SIGRTMAX, &n) || n == 0)
        return 0;
    /* Numbers between the standard signals and SIGRTMIN belong to the C
     * library (thread cancellation, set*id): it refuses them. */
    if (n > 31 && n < (uint64_t)SIGRTMIN) {
        *why = "reserved by the C library";
        return 0;
    }
    /* Ones that cannot be caught, and the synchronous faults, which must
     * keep their own meaning (SIGTRAP: debuggers). */
    if (n == SIGKILL || n == SIGSTOP || n == SIGSEGV || n == SIGBUS || n == SIGFPE || n == SIGILL ||
        n == SIGABRT || n == SIGTRAP) {
        *why = "it cannot be caught, or reports faults";
        return 0;
    }
    return (int)n;
}

int world_suspend_signal(void)
{
    return suspend_signal;
}

void world_init(void)
{
    const char *text = getenv("MGC_SUSPEND_SIGNAL");
    if (text) {
        const char *why = "";
        int n = parse_signal(text, &why);
        if (n > 0)
            suspend_signal = n;
        else
            write_stderr("mgc: MGC_SUSPEND_SIGNAL: bad signal \"%s\" (%s); using %d (SIGPWR)\n", text, why,
                         SIGPWR);
    }
    long page = sysconf(_SC_PAGESIZE);
    if (page > 0)
        os_page_size = (uintptr_t)page;
    sanitizer_list_objects_now();
    sem_init(&acknowledgements, 0, 0);
    pthread_key_create(&exit_key, thread_exit_destructor);
    memset(&installed_action, 0, sizeof installed_action);
    installed_action.sa_sigaction = suspend_handler;
    installed_action.sa_flags = SA_SIGINFO | SA_RESTART;
    /* While stopped, the program's other handlers wait: run now, their
     * frames would lie below the scanned range, and one that moves a
     * pointer (or jumps out of the stop) would hide it from marking. */
    all_but_faults(&installed_action.sa_mask);
    if (sigaction(suspend_signal, &installed_action, NULL) != 0 && suspend_signal != SIGPWR) {
        write_stderr("mgc: MGC_SUSPEND_SIGNAL: bad signal \"%s\" (the system refuses a handler for %d: "
                     "error %d); using %d (SIGPWR)\n", text, suspend_signal, errno, SIGPWR);
        suspend_signal = SIGPWR;
        sigaction(suspend_signal, &installed_action, NULL);
    }
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
    if (self) {
        self->thread = pthread_self();
        self->tid = thread_os_id();
    }
    sem_init(&acknowledgements, 0, 0);
    pthread_mutex_init(&launch.lock, NULL);
    pthread_cond_init(&launch.running_now, NULL);
    world_epoch = 0;
}

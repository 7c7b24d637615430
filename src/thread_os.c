/*
 * thread_os.c: what the operating system can tell mgc about a thread: where
 * its stack lies (for registration), whether it still exists, and whether it
 * blocks a signal (for a stop of the world that waits on it).
 *
 * The C library finds the main thread's stack in /proc/self/maps, which a
 * chroot, a minimal container or a sandbox may not have: then the stack is
 * found without /proc, from where the kernel put the program's file name,
 * which pages are mapped, and the stack's resource limit.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mgc_internal.h"

int (*thread_stack_attributes)(pthread_t thread, pthread_attr_t *attr) = pthread_getattr_np;

pid_t thread_os_id(void)
{
    return (pid_t)syscall(SYS_gettid);
}

static uintptr_t page_size(void)
{
    long page = sysconf(_SC_PAGESIZE);
    return page > 0 ? (uintptr_t)page : 4096;
}

static bool page_mapped(uintptr_t page_start, uintptr_t page)
{
    unsigned char resident;
    return mincore((void *)page_start, page, &resident) == 0;
}

/* How far up from the stack pointer the top of the main thread's stack may
 * be (arguments, environment, the C library's start-up frames), when the
 * program's file name does not say. */
#define MAIN_STACK_TOP_SEARCH ((uintptr_t)64 << 20)
/* The low end of the main thread's stack when its limit is unlimited (or
 * absurd): the kernel keeps other mappings far below a stack that may grow
 * without limit. */
#define MAIN_STACK_UNLIMITED_SIZE ((uintptr_t)1 << 30)

/* The end of the run of mapped pages that starts at page_start, looking
 * no further than ceiling. */
static uintptr_t mapped_run_end(uintptr_t page_start, uintptr_t ceiling, uintptr_t page)
{
    uintptr_t end = page_start;
    while (end < ceiling && page_mapped(end, page))
        end += page;
    return end;
}

/*
 * The main thread's stack without /proc. The kernel puts the program's file
 * name (AT_EXECFN) last in the stack mapping, one word below its end: that
 * gives the end even when the thread runs on a stack of its own making
 * (makecontext) now. Without it, the mapping ends where the first unmapped
 * page above the stack pointer begins. The stack may grow down as far as
 * its resource limit allows.
 */
static bool main_stack_bounds_without_proc(uintptr_t *low, uintptr_t *high)
{
    uintptr_t page = page_size();
    /* The frame's address, not a local's: a sanitizer may keep locals elsewhere. */
    uintptr_t stack_page = (uintptr_t)__builtin_frame_address(0) & ~(page - 1);
    uintptr_t top = 0;
    const char *file_name = (const char *)getauxval(AT_EXECFN);
    if (file_name) {
        uintptr_t end = (uintptr_t)file_name + strlen(file_name) + 1 + sizeof(void *);
        top = (end + page - 1) & ~(page - 1);
        if (!page_mapped(top - page, page))
            top = 0;
    }
    /* Whether this frame is on that stack: the pages from here up are
     * mapped all the way. */
    bool on_main_stack = top ? stack_page < top && mapped_run_end(stack_page, top, page) == top : true;
    if (!top)
        top = mapped_run_end(stack_page, stack_page + MAIN_STACK_TOP_SEARCH, page);
    if (top <= stack_page && on_main_stack)
        return false;
    struct rlimit limit;
    uintptr_t size = MAIN_STACK_UNLIMITED_SIZE;
    if (getrlimit(RLIMIT_STACK, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < size)
        size = (uintptr_t)limit.rlim_cur;
    uintptr_t bottom = top > size ? (top - size) & ~(page - 1) : page;
    /* A limit lowered after the stack grew: the stack still reaches here. */
    if (on_main_stack && bottom > stack_page)
        bottom = stack_page;
    *low = bottom;
    *high = top;
    return true;
}

bool stack_bounds(uintptr_t *low, uintptr_t *high)
{
    pthread_attr_t attr;
    if (thread_stack_attributes(pthread_self(), &attr) == 0) {
        void *address;
        size_t size;
        bool ok = pthread_attr_getstack(&attr, &address, &size) == 0;
        pthread_attr_destroy(&attr);
        if (ok) {
            *low = (uintptr_t)address;
            *high = (uintptr_t)address + size;
            return true;
        }
    }
    /* Only the main thread's stack needs /proc: any other thread's is known
     * to the C library, and a failure there is a real one. */
    if (thread_os_id() != getpid())
        return false;
    return main_stack_bounds_without_proc(low, high);
}

bool thread_os_gone(pid_t tid)
{
    return syscall(SYS_tgkill, getpid(), tid, 0) != 0 && errno == ESRCH;
}

/* The value of field name ("State:", "SigBlk:") in a /proc status text, or
 * NULL. */
static const char *status_field(const char *text, const char *name)
{
    size_t length = strlen(name);
    for (const char *line = text; *line;) {
        if (strncmp(line, name, length) == 0) {
            const char *value = line + length;
            while (*value == ' ' || *value == '\t')
                value++;
            return value;
        }
        const char *end = strchr(line, '\n');
        if (!end)
            break;
        line = end + 1;
    }
    return NULL;
}

enum thread_os_state thread_os_examine(pid_t tid, int signal_number)
{
    /* No allocation: the caller holds threads_lock, with the world half
     * stopped. */
    char path[64], text[4096];
    int n = snprintf(path, sizeof path, "/proc/self/task/%d/status", (int)tid);
    if (n < 0 || (size_t)n >= sizeof path)
        return THREAD_OS_UNKNOWN;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT && thread_os_gone(tid) ? THREAD_OS_GONE : THREAD_OS_UNKNOWN;
    size_t used = 0;
    for (;;) {
        ssize_t got = read(fd, text + used, sizeof text - 1 - used);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        used += (size_t)got;
        if (used == sizeof text - 1)
            break;
    }
    close(fd);
    text[used] = '\0';
    const char *state = status_field(text, "State:");
    if (state && (*state == 'Z' || *state == 'X'))
        return THREAD_OS_GONE; /* exited; only its process keeps it listed */
    const char *blocked = status_field(text, "SigBlk:");
    if (!blocked)
        return THREAD_OS_UNKNOWN;
    uint64_t mask = 0;
    for (; *blocked && *blocked != '\n'; blocked++) {
        char c = *blocked;
        unsigned digit = c >= '0' && c <= '9' ? (unsigned)(c - '0')
                       : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                       : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 16;
        if (digit == 16)
            break;
        mask = mask << 4 | digit;
    }
    if (signal_number >= 1 && signal_number <= 64 && (mask >> (signal_number - 1) & 1))
        return THREAD_OS_BLOCKS_SIGNAL;
    return THREAD_OS_RUNNING;
}

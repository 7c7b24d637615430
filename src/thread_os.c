/*
 * thread_os.c: what the operating system can tell mgc about a thread:
 * whether it still exists, and whether it blocks a signal (for a stop of
 * the world that waits on it).
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mgc_internal.h"

pid_t thread_os_id(void)
{
    return (pid_t)syscall(SYS_gettid);
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

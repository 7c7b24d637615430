/*
 * harness.c: runs each registered case in a forked child, with a time limit,
 * and reports "N passed, N failed".
 */
#include "harness.h"

#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CASES 256
#define CASE_SECONDS 300

struct test_case {
    const char *name;
    test_fn fn;
    const char *death_text;
    const char *env;
};

static struct test_case cases[MAX_CASES];
static int ncases;

void harness_register(const char *name, test_fn fn, const char *death_text, const char *env)
{
    if (ncases == MAX_CASES) {
        fprintf(stderr, "harness: too many cases\n");
        exit(2);
    }
    cases[ncases++] = (struct test_case){name, fn, death_text, env};
}

/* The case runs in a process group of its own, so that processes it forks
 * and leaves behind (a hung fork child, say) are killed with it: they hold
 * the output pipe open, and would otherwise keep the harness waiting for
 * the end of the output forever. */
int run_in_child(void (*fn)(void *), void *arg, char *text, size_t size)
{
    int pipe_fds[2];
    if (pipe(pipe_fds) != 0)
        return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        close(pipe_fds[0]);
        dup2(pipe_fds[1], 2);
        alarm(CASE_SECONDS);
        fn(arg);
        fflush(NULL);
        _exit(0);
    }
    setpgid(pid, pid); /* also here: either call may run first */
    close(pipe_fds[1]);
    size_t used = 0;
    char discard[4096];
    int status = 0;
    bool exited = false, killed = false;
    time_t deadline = time(NULL) + CASE_SECONDS + 10;
    for (;;) {
        struct pollfd readable = {.fd = pipe_fds[0], .events = POLLIN};
        int ready = poll(&readable, 1, 100);
        if (ready > 0) {
            ssize_t n = size > used + 1 ? read(pipe_fds[0], text + used, size - used - 1)
                                        : read(pipe_fds[0], discard, sizeof discard);
            if (n <= 0)
                break;
            if (size > used + 1)
                used += (size_t)n;
            continue;
        }
        if (!exited && waitpid(pid, &status, WNOHANG) == pid)
            exited = true;
        /* Once the case is over (or out of time), whatever it left running
         * goes, and with it the last writers of the pipe. */
        if (!killed && (exited || time(NULL) > deadline)) {
            kill(-pid, SIGKILL);
            killed = true;
        }
    }
    if (size)
        text[used] = 0;
    close(pipe_fds[0]);
    if (!exited)
        waitpid(pid, &status, 0);
    return status;
}

static void run_case_body(void *arg)
{
    const struct test_case *c = arg;
    if (c->env) {
        char buffer[256];
        snprintf(buffer, sizeof buffer, "%s", c->env);
        char *eq = strchr(buffer, '=');
        if (eq) {
            *eq = 0;
            setenv(buffer, eq + 1, 1);
        }
    }
    c->fn();
}

static bool run_case(const struct test_case *c)
{
    static char text[1 << 16];
    int status = run_in_child(run_case_body, (void *)c, text, sizeof text);
    bool ok;
    const char *why = "";
    if (c->death_text) {
        ok = WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT && strstr(text, c->death_text);
        why = !WIFSIGNALED(status) ? "did not die" : WTERMSIG(status) != SIGABRT ? "died of a signal other than SIGABRT" : "message missing";
    } else {
        ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        why = WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "exited with failure";
    }
    if (ok) {
        printf("ok   %s\n", c->name);
    } else {
        printf("FAIL %s (%s)\n", c->name, why);
        if (c->death_text)
            printf("     expected stderr to contain: %s\n", c->death_text);
        if (text[0])
            printf("     stderr: %.*s\n", 2000, text);
    }
    fflush(stdout);
    return ok;
}

/* Is name one of the names of list (separated by commas or spaces)? */
static bool listed(const char *list, const char *name)
{
    size_t length = strlen(name);
    for (const char *p = list; (p = strstr(p, name)) != NULL; p += length)
        if ((p == list || p[-1] == ',' || p[-1] == ' ') && (p[length] == ',' || p[length] == ' ' || p[length] == 0))
            return true;
    return false;
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        for (int i = 0; i < ncases; i++)
            if (strcmp(cases[i].name, argv[1]) == 0) {
                run_case_body(&cases[i]);
                return 0;
            }
        fprintf(stderr, "no case named %s\n", argv[1]);
        return 2;
    }
    /* HARNESS_SKIP=name,name,...: cases left out of this run (a rerun under
     * a debug mode that turns off what they test). TEST_ONLY="a b c": run
     * only the cases named (make test TSAN=1). */
    const char *skip = getenv("HARNESS_SKIP");
    const char *only = getenv("TEST_ONLY");
    int passed = 0, failed = 0;
    for (int i = 0; i < ncases; i++) {
        if (only && *only && !listed(only, cases[i].name))
            continue;
        if (skip && listed(skip, cases[i].name)) {
            printf("skip %s\n", cases[i].name);
            continue;
        }
        if (run_case(&cases[i]))
            passed++;
        else
            failed++;
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

/* No AddressSanitizer redzones: they would keep old bytes between the
 * cleared ones. */
__attribute__((noinline, no_sanitize("address"))) void scrub_stack(void)
{
    char area[32768];
    memset(area, 0, sizeof area);
    /* Without this, the compiler drops the memset of an array that is never
     * read again (GCC 12 made the function a bare ret), and every test that
     * relies on a scrubbed stack saw stale pointers. */
    __asm__ volatile("" : : "r"(area) : "memory");
}

/*
 * gc_cases.h: a small case runner for the Boehm GC layer's test programs,
 * which include only the Boehm headers, as a Boehm user's program would.
 * Each CASE runs in its own process (the program runs itself with the
 * case's name); the parent prints "ok   name" or "FAIL name".
 */
#ifndef GC_CASES_H
#define GC_CASES_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);    \
            exit(1);                                                                   \
        }                                                                              \
    } while (0)

typedef void (*case_fn)(void);
static struct { const char *name; case_fn fn; } cases[64];
static int case_count;

#define CASE(case_name)                                                                \
    static void case_name(void);                                                       \
    __attribute__((constructor)) static void register_##case_name(void)                \
    {                                                                                  \
        cases[case_count].name = #case_name;                                           \
        cases[case_count++].fn = case_name;                                            \
    }                                                                                  \
    static void case_name(void)

/* Wipe the stack below the caller, so that no stale copy of a pointer in a
 * dead frame keeps an object alive. */
static void __attribute__((noinline, unused)) clear_stack_below(void)
{
    volatile char buffer[16384];
    memset((char *)buffer, 0, sizeof buffer);
    __asm__ __volatile__("" : : "r"(buffer) : "memory");
}

/* Run fn on a thread of its own that then exits: whatever it leaves in
 * registers and on its stack is gone, so only what it stored elsewhere
 * keeps objects alive. */
#ifndef GC_PTHREADS
# error "build the tests with -DGC_THREADS"
#endif
static void *run_body_(void *fn)
{
    ((void (*)(void))fn)();
    return NULL;
}
static void __attribute__((unused)) on_own_thread(void (*fn)(void))
{
    pthread_t thread;
    CHECK(GC_pthread_create(&thread, NULL, run_body_, (void *)fn) == 0);
    CHECK(GC_pthread_join(thread, NULL) == 0);
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        for (int i = 0; i < case_count; i++)
            if (strcmp(argv[1], cases[i].name) == 0) {
                cases[i].fn();
                return 0;
            }
        fprintf(stderr, "no case %s\n", argv[1]);
        return 2;
    }
    int failed = 0;
    for (int i = 0; i < case_count; i++) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            execl("/proc/self/exe", argv[0], cases[i].name, (char *)NULL);
            _exit(127);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        printf("%s %s\n", ok ? "ok  " : "FAIL", cases[i].name);
        failed += !ok;
    }
    return failed ? 1 : 0;
}

#endif

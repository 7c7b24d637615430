/*
 * test_environment.c: MGC_GCPERCENT, MGC_MEMLIMIT and MGC_SUSPEND_SIGNAL are
 * parsed strictly (digits, then a unit or nothing: no sign, no spaces).
 * A bad value is reported once on stderr and the default stays; it never
 * stops the program.
 */
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "harness.h"
#include "mgc.h"

/* In a child: set one variable ("NAME=value"), start mgc, and report what
 * it chose on stderr, after whatever mgc said. */
static void start_with(void *setting)
{
    char name[64];
    const char *text = setting;
    const char *equals = strchr(text, '=');
    snprintf(name, sizeof name, "%.*s", (int)(equals - text), text);
    setenv(name, equals + 1, 1);
    mgc_init();
    int percent = mgc_set_gc_percent(100);
    size_t limit = mgc_set_memory_limit(SIZE_MAX);
    int handled = 0;
    for (int s = 1; s <= SIGRTMAX; s++) {
        struct sigaction action;
        if (s != SIGCHLD && s != SIGALRM && sigaction(s, NULL, &action) == 0 && (action.sa_flags & SA_SIGINFO))
            handled = s;
    }
    fprintf(stderr, "RESULT percent=%d limit=%zu signal=%d\n", percent, limit, handled);
}

/* warning: text the message must contain, or NULL for no message at all. */
static void expect(const char *setting, const char *warning, const char *result)
{
    char text[4096];
    int status = run_in_child(start_with, (void *)setting, text, sizeof text);
    bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0 && strstr(text, result);
    if (warning) {
        const char *first = strstr(text, warning);
        ok = ok && first && !strstr(first + 1, warning); /* once */
    } else {
        ok = ok && strncmp(text, "RESULT", 6) == 0;
    }
    if (!ok) {
        fprintf(stderr, "%s: wanted %s%s%s, got status %#x, stderr: %s\n", setting,
                warning ? "a message with \"" : "no message", warning ? warning : "", warning ? "\"" : "",
                status, text);
        CHECK(0);
    }
    fprintf(stderr, "ok: %s -> %s", setting, strstr(text, "RESULT"));
}

#define NO_LIMIT "limit=18446744073709551615 "

TEST(memory_limit_good_values)
{
    expect("MGC_MEMLIMIT=5", NULL, "limit=5 ");
    expect("MGC_MEMLIMIT=0", NULL, "limit=0 ");
    expect("MGC_MEMLIMIT=7B", NULL, "limit=7 ");
    expect("MGC_MEMLIMIT=3KiB", NULL, "limit=3072 ");
    expect("MGC_MEMLIMIT=48MiB", NULL, "limit=50331648 ");
    expect("MGC_MEMLIMIT=2GiB", NULL, "limit=2147483648 ");
    expect("MGC_MEMLIMIT=1TiB", NULL, "limit=1099511627776 ");
    expect("MGC_MEMLIMIT=007KiB", NULL, "limit=7168 ");
}

/* Before the strict parser, " -5" became a limit of 2^64 - 5 without a word,
 * and "+5MiB" and " 5MiB" were taken as 5 MiB. */
TEST(memory_limit_bad_values_are_reported)
{
    static const char *const bad[] = {
        "MGC_MEMLIMIT= -5", "MGC_MEMLIMIT=-5", "MGC_MEMLIMIT=+5MiB", "MGC_MEMLIMIT= 5MiB", "MGC_MEMLIMIT=5 MiB",
        "MGC_MEMLIMIT=5MiB ", "MGC_MEMLIMIT=", "MGC_MEMLIMIT=MiB", "MGC_MEMLIMIT=0x10", "MGC_MEMLIMIT=5mib",
        "MGC_MEMLIMIT=5KB", "MGC_MEMLIMIT=5M", "MGC_MEMLIMIT=1.5GiB", "MGC_MEMLIMIT=5e9",
        "MGC_MEMLIMIT=99999999999999999999999", "MGC_MEMLIMIT=20000000TiB",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect(bad[i], "mgc: MGC_MEMLIMIT: bad value", NO_LIMIT);
}

TEST(gc_percent_good_values)
{
    expect("MGC_GCPERCENT=off", NULL, "percent=-1 ");
    expect("MGC_GCPERCENT=-1", NULL, "percent=-1 ");
    expect("MGC_GCPERCENT=0", NULL, "percent=0 ");
    expect("MGC_GCPERCENT=250", NULL, "percent=250 ");
    expect("MGC_GCPERCENT=1000000", NULL, "percent=1000000 ");
}

/* Before: " 50" and "+50" were taken as 50, silently. */
TEST(gc_percent_bad_values_are_reported)
{
    static const char *const bad[] = {
        "MGC_GCPERCENT= 50",     "MGC_GCPERCENT=+50", "MGC_GCPERCENT=50 ",  "MGC_GCPERCENT=",
        "MGC_GCPERCENT=-2",      "MGC_GCPERCENT=-0",  "MGC_GCPERCENT=OFF",  "MGC_GCPERCENT=1000001",
        "MGC_GCPERCENT=0x10",    "MGC_GCPERCENT=5%",  "MGC_GCPERCENT=99999999999999999999999",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect(bad[i], "mgc: MGC_GCPERCENT: bad value", "percent=100 ");
}

/* ---- MGC_SUSPEND_SIGNAL ---------------------------------------------------------------------- */

#define USING_SIGPWR "signal=30\n"
_Static_assert(SIGPWR == 30, "USING_SIGPWR assumes Linux's SIGPWR");

TEST(suspend_signal_good_values)
{
    char setting[64], result[64];
    expect("MGC_SUSPEND_SIGNAL=SIGUSR2", NULL, "signal=12\n");
    expect("MGC_SUSPEND_SIGNAL=XCPU", NULL, "signal=24\n");
    expect("MGC_SUSPEND_SIGNAL=31", NULL, "signal=31\n");
    snprintf(setting, sizeof setting, "MGC_SUSPEND_SIGNAL=%d", SIGRTMIN);
    snprintf(result, sizeof result, "signal=%d\n", SIGRTMIN);
    expect(setting, NULL, result);
    snprintf(result, sizeof result, "signal=%d\n", SIGRTMIN + 3);
    expect("MGC_SUSPEND_SIGNAL=SIGRTMIN+3", NULL, result);
    snprintf(setting, sizeof setting, "MGC_SUSPEND_SIGNAL=%d", SIGRTMAX);
    snprintf(result, sizeof result, "signal=%d\n", SIGRTMAX);
    expect(setting, NULL, result);
}

/* 32 and 33 lie below SIGRTMIN and are the C library's own (thread
 * cancellation, set*id): sigaction and pthread_kill refuse them. Before,
 * they were accepted, no handler was installed, pthread_kill failed
 * unchecked, and collections marked while other threads ran on. */
TEST(suspend_signal_reserved_by_the_c_library_is_refused)
{
    expect("MGC_SUSPEND_SIGNAL=32", "mgc: MGC_SUSPEND_SIGNAL: bad signal \"32\"", USING_SIGPWR);
    expect("MGC_SUSPEND_SIGNAL=33", "reserved", USING_SIGPWR);
}

TEST(suspend_signal_bad_values_are_reported)
{
    static const char *const bad[] = {
        "MGC_SUSPEND_SIGNAL=SIGKILL", "MGC_SUSPEND_SIGNAL=9",         "MGC_SUSPEND_SIGNAL=19",
        "MGC_SUSPEND_SIGNAL=11",      "MGC_SUSPEND_SIGNAL=5",         "MGC_SUSPEND_SIGNAL=0",
        "MGC_SUSPEND_SIGNAL=-10",     "MGC_SUSPEND_SIGNAL=+10",       "MGC_SUSPEND_SIGNAL= 10",
        "MGC_SUSPEND_SIGNAL=10 ",     "MGC_SUSPEND_SIGNAL=",          "MGC_SUSPEND_SIGNAL=65",
        "MGC_SUSPEND_SIGNAL=SIGFOO",  "MGC_SUSPEND_SIGNAL=SIGRTMIN+", "MGC_SUSPEND_SIGNAL=SIGRTMIN+ 1",
        "MGC_SUSPEND_SIGNAL=RTMIN+-0", "MGC_SUSPEND_SIGNAL=SIGRTMIN+99",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect(bad[i], "mgc: MGC_SUSPEND_SIGNAL: bad signal", USING_SIGPWR);
}

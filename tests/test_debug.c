/*
 * test_debug.c: MGC_DEBUG parsing. A bad entry is reported once, clearly,
 * and ignored; it never stops the program.
 */
#include <string.h>
#include <sys/wait.h>

#include "harness.h"
#include "mgc_internal.h"

static void parse_and_report(void *text)
{
    struct debug_settings s = {.tinyalloc = 1, .hugepages = 1};
    debug_parse(text, &s);
    printf("gctrace=%d tinyalloc=%d efence=%d hugepages=%d\n", s.gctrace, s.tinyalloc, s.efence, s.hugepages);
    fprintf(stderr, "RESULT gctrace=%d tinyalloc=%d efence=%d hugepages=%d\n", s.gctrace, s.tinyalloc, s.efence,
            s.hugepages);
}

static void expect(const char *input, const char *stderr_part, const char *result)
{
    char text[2048];
    int status = run_in_child(parse_and_report, (void *)input, text, sizeof text);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    if (stderr_part && !strstr(text, stderr_part)) {
        fprintf(stderr, "input \"%s\": wanted \"%s\" in: %s\n", input, stderr_part, text);
        CHECK(0);
    }
    if (!strstr(text, result)) {
        fprintf(stderr, "input \"%s\": wanted \"%s\" in: %s\n", input, result, text);
        CHECK(0);
    }
    if (!stderr_part) /* no warning at all */
        CHECK(strncmp(text, "RESULT", 6) == 0);
}

TEST(valid_settings)
{
    expect("gctrace=1", NULL, "gctrace=1 tinyalloc=1 efence=0");
    expect("tinyalloc=0,efence=1", NULL, "gctrace=0 tinyalloc=0 efence=1");
    expect("", NULL, "gctrace=0 tinyalloc=1 efence=0");
    expect("gctrace=1,,", NULL, "gctrace=1 tinyalloc=1");
    expect("hugepages=0", NULL, "efence=0 hugepages=0");
    expect("hugepages=2", "hugepages", "efence=0 hugepages=1");
}

TEST(unknown_key_is_reported_and_ignored)
{
    expect("x=1", "mgc: MGC_DEBUG: unknown key \"x\"", "gctrace=0 tinyalloc=1 efence=0");
    expect("gctrace=1,bogus=7,efence=1", "unknown key \"bogus\"", "gctrace=1 tinyalloc=1 efence=1");
}

TEST(bad_values_are_reported_and_ignored)
{
    expect("tinyalloc=yes", "bad value \"yes\" for key \"tinyalloc\"", "tinyalloc=1");
    expect("tinyalloc=2", "bad value \"2\" for key \"tinyalloc\"", "tinyalloc=1");
    expect("efence=", "bad value \"\" for key \"efence\"", "efence=0");
    expect("gctrace=-1", "bad value \"-1\"", "gctrace=0");
    expect("gctrace=+1", "bad value \"+1\"", "gctrace=0");
    expect("gctrace= 1", "bad value \" 1\"", "gctrace=0");
    expect("gctrace=1 ", "bad value \"1 \"", "gctrace=0");
    expect("gctrace=99999999999999999999999", "bad value", "gctrace=0");
    expect("efence", "\"efence\" has no value", "efence=0");
    expect("=1", "unknown key \"\"", "gctrace=0");
}

TEST(each_problem_reported_once)
{
    char text[2048];
    int status = run_in_child(parse_and_report, (void *)"x=1,y=2", text, sizeof text);
    CHECK(WIFEXITED(status));
    const char *first = strstr(text, "unknown key \"x\"");
    CHECK(first && !strstr(first + 1, "unknown key \"x\""));
    CHECK(strstr(text, "unknown key \"y\""));
}

ENV_TEST(bad_environment_does_not_stop_the_program, "MGC_DEBUG=tinyalloc=maybe,what=ever,efence")
{
    void *p = mgc_alloc_noscan(3);
    CHECK(p != NULL);
    CHECK(debug.tinyalloc == 1);
}

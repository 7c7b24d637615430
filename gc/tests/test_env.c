/*
 * test_env.c: Boehm's environment variables that have a meaning in mgc,
 * read once when the layer starts (each case sets them before GC_INIT).
 */
#include <gc.h>
#include <fcntl.h>
#include <stdint.h>

#include "gc_cases.h"

CASE(gc_dont_gc_turns_collection_off)
{
    setenv("GC_DONT_GC", "1", 1);
    GC_INIT();
    CHECK(GC_is_disabled());
    for (int i = 0; i < 50000; i++)
        GC_MALLOC(1000);
    GC_gcollect();
    CHECK(GC_get_gc_no() == 0);
}

CASE(gc_maximum_heap_size_limits_the_heap)
{
    setenv("GC_MAXIMUM_HEAP_SIZE", "48M", 1);
    GC_INIT();
    GC_set_warn_proc(GC_ignore_warn_proc);
    static void *volatile kept[32];
    int got = 0;
    for (int i = 0; i < 32; i++) {
        kept[i] = GC_MALLOC_ATOMIC(4 << 20);
        if (!kept[i])
            break;
        got++;
    }
    CHECK(got >= 4 && got < 16);
}

void *volatile live_block;
CASE(gc_free_space_divisor_sets_the_pace)
{
    setenv("GC_FREE_SPACE_DIVISOR", "20", 1); /* gc percent 10 */
    GC_INIT();
    CHECK(GC_get_free_space_divisor() == 20);
    live_block = GC_MALLOC(64 << 20); /* 64 MiB live */
    GC_gcollect();
    GC_word before = GC_get_gc_no();
    /* 40 MiB more: past a 10 % goal, well short of the default 100 %. */
    for (int i = 0; i < 40 * 1024; i++)
        GC_MALLOC(1000);
    CHECK(GC_get_gc_no() > before);
}

CASE(gc_print_stats_traces_collections)
{
    setenv("GC_PRINT_STATS", "1", 1);
    char path[] = "/tmp/gc_env_trace_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    GC_INIT();
    GC_gcollect();
    fflush(stderr);
    dup2(saved, 2);
    char text[4096] = {0};
    CHECK(pread(fd, text, sizeof text - 1, 0) > 0);
    unlink(path);
    CHECK(strstr(text, "gc 1 @") != NULL);
}

CASE(gc_markers_is_accepted)
{
    setenv("GC_MARKERS", "1", 1);
    GC_INIT();
    void *p = GC_MALLOC(10);
    GC_gcollect();
    CHECK(GC_base(p) == p);
}

/*
 * test_stats.c: mgc_read_stats adds up after known sequences.
 */
#include <string.h>

#include "harness.h"
#include "mgc_internal.h"

TEST(counts_after_a_known_sequence)
{
    mgc_init();
    struct mgc_stats s0, s1, s2;
    mgc_read_stats(&s0);
    CHECK_EQ(s0.mallocs, 0);
    CHECK_EQ(s0.heap_objects, 0);

    void *small[100];
    for (int i = 0; i < 100; i++)
        small[i] = mgc_alloc(100); /* class 104 */
    void *large = mgc_alloc(100000);    /* 13 pages */
    mgc_read_stats(&s1);
    CHECK_EQ(s1.mallocs, 101);
    CHECK_EQ(s1.frees, 0);
    CHECK_EQ(s1.heap_objects, 101);
    CHECK_EQ(s1.total_alloc, 100 * 104 + 13 * 8192);
    CHECK_EQ(s1.heap_alloc, s1.total_alloc);
    CHECK(s1.heap_inuse >= 100 * 104 + 13 * 8192);
    CHECK(s1.heap_sys >= s1.heap_inuse);
    CHECK(s1.sys == s1.heap_sys + s1.gc_sys + s1.other_sys);
    CHECK(s1.other_sys > 0);

    for (int i = 0; i < 50; i++)
        mgc_free(small[i]);
    mgc_free(large);
    mgc_read_stats(&s2);
    CHECK_EQ(s2.frees, 51);
    CHECK_EQ(s2.heap_objects, 50);
    CHECK_EQ(s2.mallocs - s2.frees, s2.heap_objects);
    CHECK_EQ(s2.heap_alloc, 50 * 104);
    CHECK_EQ(s2.total_alloc, s1.total_alloc);
}

TEST(tiny_counts_like_go)
{
    mgc_init();
    for (int i = 0; i < 400; i++)
        mgc_alloc_noscan(4); /* four to a block: 100 blocks */
    struct mgc_stats s;
    mgc_read_stats(&s);
    CHECK_EQ(s.mallocs, 400);
    CHECK_EQ(s.tiny_allocs, 300);
    CHECK_EQ(s.mallocs - s.tiny_allocs, 100); /* heap blocks allocated */
    CHECK_EQ(s.frees, 300);                   /* packed objects count as freed at once */
    CHECK_EQ(s.heap_objects, 100);
    CHECK_EQ(s.total_alloc, 100 * 16);
    CHECK_EQ(s.heap_alloc, 100 * 16);
}

ENV_TEST(tiny_off_counts, "MGC_DEBUG=tinyalloc=0")
{
    for (int i = 0; i < 400; i++)
        mgc_alloc_noscan(4);
    struct mgc_stats s;
    mgc_read_stats(&s);
    CHECK_EQ(s.mallocs, 400);
    CHECK_EQ(s.tiny_allocs, 0);
    CHECK_EQ(s.heap_objects, 400);
    CHECK_EQ(s.total_alloc, 400 * 8);
}

TEST(released_pages_are_counted)
{
    mgc_init();
    char *big = mgc_alloc(40 << 20);
    CHECK(big != NULL);
    memset(big, 0x77, 40 << 20);
    struct mgc_stats s1, s2;
    mgc_read_stats(&s1);
    mgc_free(big);
    mgc_read_stats(&s2);
    /* Freeing 40 MiB leaves far more free than the heap keeps: most of it
     * goes back to the OS. */
    CHECK(s2.heap_released >= s1.heap_released + (24 << 20));
    CHECK_EQ(s2.heap_sys, s1.heap_sys);
    CHECK(s2.heap_inuse + (40 << 20) == s1.heap_inuse);
    /* Released or not, the pages come back zeroed. */
    char *again = mgc_alloc(40 << 20);
    CHECK(all_zero(again, 40 << 20));
}

TEST(huge_objects_go_back_to_the_os)
{
    mgc_init();
    struct mgc_stats s0, s1, s2;
    mgc_read_stats(&s0);
    char *huge = mgc_alloc(300 << 20);
    CHECK(huge != NULL);
    huge[0] = 1;
    huge[(300 << 20) - 1] = 2;
    CHECK(mgc_base(huge + (200 << 20)) == huge);
    CHECK(mgc_usable_size(huge) >= (300 << 20));
    mgc_read_stats(&s1);
    CHECK_EQ(s1.heap_sys - s0.heap_sys, 300 << 20);
    CHECK_EQ(s1.heap_inuse - s0.heap_inuse, 300 << 20);
    mgc_free(huge);
    mgc_read_stats(&s2);
    CHECK_EQ(s2.heap_sys, s0.heap_sys);
    CHECK_EQ(s2.heap_inuse, s0.heap_inuse);
    CHECK(mgc_base(huge + 5) == NULL);
}

/*
 * test_sizeclasses.c: the size-class table has the properties the allocator
 * relies on, checked independently of the generator that made it.
 */
#include "harness.h"
#include "mgc_internal.h"

TEST(classes_are_monotonic_and_aligned)
{
    CHECK_EQ(class_to_size[0], 0);
    CHECK_EQ(class_to_size[1], 8);
    CHECK_EQ(class_to_size[TINY_SIZE_CLASS], TINY_SIZE);
    CHECK_EQ(class_to_size[NUM_SIZE_CLASSES - 1], MAX_SMALL_SIZE);
    for (unsigned c = 1; c < NUM_SIZE_CLASSES; c++) {
        CHECK(class_to_size[c] % 8 == 0);
        if (c > 1)
            CHECK(class_to_size[c] > class_to_size[c - 1]);
        /* 8-byte steps at the bottom. */
        if (class_to_size[c] <= 128)
            CHECK_EQ(class_to_size[c], 8 * c);
    }
}

TEST(internal_waste_at_most_an_eighth)
{
    /* The worst request for a class is one byte over the previous class.
     * Above the 8-byte steps (where 7 bytes of slack is the best possible),
     * it wastes at most an eighth of the slot. */
    for (unsigned c = 2; c < NUM_SIZE_CLASSES; c++) {
        size_t worst = class_to_size[c - 1] + 1;
        if (class_to_size[c] >= 56)
            CHECK((class_to_size[c] - worst) * 8 <= class_to_size[c]);
    }
}

TEST(span_tail_waste_at_most_an_eighth)
{
    for (unsigned c = 1; c < NUM_SIZE_CLASSES; c++) {
        size_t span = (size_t)class_to_pages[c] * PAGE_SIZE;
        CHECK(class_to_pages[c] >= 1);
        CHECK(span / class_to_size[c] >= 1);
        CHECK((span % class_to_size[c]) * 8 <= span);
        /* Bitmaps are sized for at most 32 words. */
        CHECK(span / class_to_size[c] <= 32 * 64);
    }
}

TEST(spans_are_at_least_32_kib_or_full_bitmaps)
{
    /* A span of one page would cost a page-heap round trip every 512
     * objects of 16 bytes; the table gives every class at least 32 KiB,
     * unless one page more would hold more objects than the bitmaps do. */
    for (unsigned c = 1; c < NUM_SIZE_CLASSES; c++) {
        size_t span = (size_t)class_to_pages[c] * PAGE_SIZE;
        CHECK(span >= 32768 || (span + PAGE_SIZE) / class_to_size[c] > 32 * 64);
    }
    /* Tiny blocks use the 16-byte class's spans: 2048 blocks of 4 pages. */
    CHECK_EQ((size_t)class_to_pages[TINY_SIZE_CLASS] * PAGE_SIZE / TINY_SIZE, 2048);
}

TEST(every_size_maps_to_the_smallest_class_that_fits)
{
    CHECK_EQ(size_to_class(0), 0);
    for (size_t size = 1; size <= MAX_SMALL_SIZE; size++) {
        unsigned c = size_to_class(size);
        CHECK(c >= 1 && c < NUM_SIZE_CLASSES);
        CHECK(class_to_size[c] >= size);
        CHECK(class_to_size[c - 1] < size);
    }
}

TEST(reciprocal_division_is_exact)
{
    for (unsigned c = 1; c < NUM_SIZE_CLASSES; c++) {
        size_t span = (size_t)class_to_pages[c] * PAGE_SIZE;
        for (uint64_t offset = 0; offset < span; offset++)
            CHECK_EQ((offset * class_to_reciprocal[c]) >> 32, offset / class_to_size[c]);
    }
}

TEST(class_count_is_about_go)
{
    /* Go has 67; the strict waste bound here costs a few more. */
    CHECK(NUM_SIZE_CLASSES - 1 >= 60 && NUM_SIZE_CLASSES - 1 <= 90);
}

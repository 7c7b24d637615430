/*
 * test_alloc.c: the allocation API: alignment, no overlap, zeroing, the tiny
 * allocator, large objects, realloc/calloc/strdup, flags, mgc_base and
 * mgc_usable_size, out-of-memory paths.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "mgc_internal.h"

/* The alignment the API promises for a request of size bytes. */
static size_t promised_alignment(size_t size)
{
    size_t a = 1;
    while (a < 16 && size % (a * 2) == 0)
        a *= 2;
    return size == 0 ? 1 : a;
}

static void check_alignment_of_sizes(void *(*alloc)(size_t))
{
    for (size_t size = 1; size <= 4096; size++) {
        for (int k = 0; k < 3; k++) {
            void *p = alloc(size);
            CHECK(p != NULL);
            if ((uintptr_t)p % promised_alignment(size) != 0) {
                fprintf(stderr, "size %zu at %p\n", size, p);
                CHECK(0);
            }
        }
    }
    size_t larger[] = {4097, 5000, 8191, 8192, 12345, 32767, 32768, 32769, 65536, 100000, 1 << 20, (1 << 20) + 3};
    for (size_t i = 0; i < sizeof larger / sizeof larger[0]; i++) {
        void *p = alloc(larger[i]);
        CHECK(p != NULL);
        CHECK((uintptr_t)p % promised_alignment(larger[i]) == 0);
    }
}

TEST(alignment_scan) { check_alignment_of_sizes(mgc_alloc); }
TEST(alignment_noscan) { check_alignment_of_sizes(mgc_alloc_noscan); }
ENV_TEST(alignment_noscan_without_tiny, "MGC_DEBUG=tinyalloc=0") { check_alignment_of_sizes(mgc_alloc_noscan); }

/* Many live objects of mixed sizes and kinds, each filled with a pattern of
 * its own addresses: any overlap breaks some pattern. */
TEST(no_two_live_objects_overlap)
{
    enum { N = 20000 };
    static void *objects[N];
    static size_t sizes[N];
    uint64_t rng = 12345;
    for (int i = 0; i < N; i++) {
        size_t size = (random_next(&rng) >> 33) % (i % 100 == 0 ? 70000 : 600) + 1;
        sizes[i] = size;
        objects[i] = (i & 1) ? mgc_alloc(size) : mgc_alloc_noscan(size);
        CHECK(objects[i] != NULL);
        CHECK(all_zero(objects[i], size));
        fill_pattern(objects[i], size, 7);
    }
    for (int i = 0; i < N; i++)
        CHECK(check_pattern(objects[i], sizes[i], 7));
}

TEST(fresh_objects_are_zero_after_reuse)
{
    /* Dirty every slot, free it, and check that reuse hands out zeros, for
     * small classes and for large objects whose pages come back. */
    for (int round = 0; round < 3; round++) {
        enum { N = 2000 };
        static void *p[N];
        for (int i = 0; i < N; i++) {
            size_t size = (size_t)(i % 50) * 24 + 16;
            p[i] = mgc_alloc(size);
            CHECK(all_zero(p[i], size));
            memset(p[i], 0xAB, size);
        }
        for (int i = 0; i < N; i++)
            mgc_free(p[i]);
        void *big = mgc_alloc(300000);
        CHECK(all_zero(big, 300000));
        memset(big, 0xCD, 300000);
        mgc_free(big);
    }
}

TEST(tiny_sixteen_bytes_share_blocks)
{
    char *p[16];
    for (int i = 0; i < 16; i++) {
        p[i] = mgc_alloc_noscan(1);
        CHECK(p[i] != NULL);
    }
    /* Sixteen 1-byte objects fall in one or two 16-byte blocks. */
    uintptr_t blocks[16];
    int nblocks = 0;
    for (int i = 0; i < 16; i++) {
        uintptr_t b = (uintptr_t)p[i] & ~(uintptr_t)15;
        bool seen = false;
        for (int j = 0; j < nblocks; j++)
            seen |= blocks[j] == b;
        if (!seen)
            blocks[nblocks++] = b;
        CHECK(mgc_base(p[i]) == (void *)b);
    }
    CHECK(nblocks >= 1 && nblocks <= 2);
    for (int i = 0; i < 16; i++)
        *p[i] = (char)i;
    for (int i = 0; i < 16; i++)
        CHECK(*p[i] == (char)i);
}

TEST(tiny_alignment_rule)
{
    /* 2-, 4- and 8-byte requests after odd ones are aligned by the rule,
     * and land in the same block while they fit. */
    char *a = mgc_alloc_noscan(1);
    short *b = mgc_alloc_noscan(2);
    CHECK((uintptr_t)b % 2 == 0);
    CHECK((uintptr_t)b == (uintptr_t)a + 2 || ((uintptr_t)b & 15) == 0);
    int *c = mgc_alloc_noscan(4);
    CHECK((uintptr_t)c % 4 == 0);
    double *d = mgc_alloc_noscan(8);
    CHECK((uintptr_t)d % 8 == 0);
    char *e = mgc_alloc_noscan(12);
    CHECK((uintptr_t)e % 4 == 0);
    char *f = mgc_alloc_noscan(6);
    CHECK((uintptr_t)f % 2 == 0);
    struct mgc_stats st;
    mgc_read_stats(&st);
    CHECK(st.tiny_allocs >= 2);
}

TEST(tiny_keeps_the_block_with_more_room)
{
    char *a = mgc_alloc_noscan(2);  /* block A: 2 used */
    char *b = mgc_alloc_noscan(15); /* does not fit: new block B (15 used); A has more room */
    CHECK(((uintptr_t)b & ~(uintptr_t)15) != ((uintptr_t)a & ~(uintptr_t)15));
    char *c = mgc_alloc_noscan(8); /* fits in A at offset 8 */
    CHECK(((uintptr_t)c & ~(uintptr_t)15) == ((uintptr_t)a & ~(uintptr_t)15));
    CHECK(((uintptr_t)c & 15) == 8);
}

TEST(tiny_objects_hold_their_values)
{
    enum { N = 100000 };
    static uint32_t *p[N];
    for (uint32_t i = 0; i < N; i++) {
        p[i] = mgc_alloc_noscan(4);
        *p[i] = i * 2654435761u;
    }
    for (uint32_t i = 0; i < N; i++)
        CHECK(*p[i] == i * 2654435761u);
    struct mgc_stats st;
    mgc_read_stats(&st);
    /* Four 4-byte objects per block: three of every four are packed. */
    CHECK(st.tiny_allocs >= (uint64_t)N * 3 / 4 - 4);
}

ENV_TEST(tinyalloc_off_gives_each_object_its_own_slot, "MGC_DEBUG=tinyalloc=0")
{
    char *prev = NULL;
    for (int i = 0; i < 64; i++) {
        char *p = mgc_alloc_noscan(1);
        CHECK(mgc_base(p) == p); /* an object start, not a spot in a block */
        CHECK(mgc_usable_size(p) == 8);
        CHECK(p != prev);
        prev = p;
    }
    struct mgc_stats st;
    mgc_read_stats(&st);
    CHECK_EQ(st.tiny_allocs, 0);
    CHECK_EQ(st.mallocs, 64);
}

TEST(zero_size)
{
    void *a = mgc_alloc(0), *b = mgc_alloc_noscan(0), *c = mgc_calloc(0, 10);
    CHECK(a != NULL && b != NULL && c != NULL);
    CHECK(mgc_usable_size(a) == 0);
    mgc_free(a);
    mgc_free(b);
    void *d = mgc_realloc(c, 100);
    CHECK(d != NULL && mgc_usable_size(d) >= 100);
    mgc_free(NULL);
}

TEST(large_objects)
{
    size_t sizes[] = {32769, 40000, 100 << 10, 1 << 20, 50 << 20, 200 << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        unsigned char *p = mgc_alloc(sizes[i]);
        CHECK(p != NULL);
        CHECK((uintptr_t)p % 8192 == 0);
        CHECK(mgc_usable_size(p) >= sizes[i]);
        CHECK(mgc_base(p + sizes[i] - 1) == p);
        CHECK(all_zero(p, sizes[i]));
        p[0] = 1;
        p[sizes[i] - 1] = 2;
        mgc_free(p);
    }
}

TEST(calloc_and_overflow)
{
    int *p = mgc_calloc(1000, sizeof(int));
    CHECK(p != NULL);
    CHECK(all_zero(p, 1000 * sizeof(int)));
    errno = 0;
    CHECK(mgc_calloc(SIZE_MAX / 2, 3) == NULL);
    CHECK(errno == ENOMEM);
    errno = 0;
    CHECK(mgc_calloc((size_t)1 << 33, (size_t)1 << 33) == NULL);
    CHECK(errno == ENOMEM);
}

TEST(impossible_sizes_return_enomem)
{
    size_t sizes[] = {SIZE_MAX, SIZE_MAX / 2, SIZE_MAX - 8191, (size_t)1 << 50};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        errno = 0;
        CHECK(mgc_alloc(sizes[i]) == NULL);
        CHECK(errno == ENOMEM);
        errno = 0;
        CHECK(mgc_alloc_noscan(sizes[i]) == NULL);
        CHECK(errno == ENOMEM);
    }
    /* The heap still works afterwards. */
    CHECK(mgc_alloc(100) != NULL);
}

TEST(os_refusal_returns_enomem_everywhere)
{
    /* Let the OS refuse from the n-th request on, for every n up to where
     * the sequence no longer needs the OS: every call either succeeds with
     * zeroed memory or fails with ENOMEM, never crashes. */
    for (long n = 0; n < 40; n++) {
        pid_t pid = fork();
        if (pid == 0) {
            os_fail_after(n);
            size_t sizes[] = {8, 100, 3000, 20000, 40000, 5 << 20, 100 << 20, 12, 3};
            for (int round = 0; round < 50; round++) {
                for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
                    errno = 0;
                    void *p = (i & 1) ? mgc_alloc(sizes[i]) : mgc_alloc_noscan(sizes[i]);
                    if (p) {
                        /* Sampled for big objects: the first 64 KiB and the last page. */
                        size_t head = sizes[i] < 65536 ? sizes[i] : 65536;
                        if (!all_zero(p, head) || !all_zero((char *)p + sizes[i] - 4096 * (sizes[i] > 65536), 4096 * (sizes[i] > 65536)))
                            _exit(3);
                    } else if (errno != ENOMEM) {
                        _exit(4);
                    }
                }
            }
            struct mgc_stats st;
            mgc_read_stats(&st);
            _exit(0);
        }
        int status;
        waitpid(pid, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            fprintf(stderr, "failing after %ld OS requests: status %d\n", n, status);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
}

TEST(base_of_interior_and_foreign_pointers)
{
    char *p = mgc_alloc(100); /* class 104 */
    CHECK(mgc_base(p) == p);
    CHECK(mgc_base(p + 1) == p);
    CHECK(mgc_base(p + 99) == p);
    CHECK(mgc_base(p + mgc_usable_size(p) - 1) == p);
    char *big = mgc_alloc(100000);
    CHECK(mgc_base(big + 54321) == big);
    int local;
    static int global;
    void *m = malloc(64);
    CHECK(mgc_base(&local) == NULL);
    CHECK(mgc_base(&global) == NULL);
    CHECK(mgc_base(m) == NULL);
    CHECK(mgc_base(NULL) == NULL);
    CHECK(mgc_base((void *)(uintptr_t)-1) == NULL);
    CHECK(mgc_base((void *)((uintptr_t)1 << 47)) == NULL);
    free(m);
    /* A freed object has no base any more. */
    mgc_free(p);
    CHECK(mgc_base(p + 1) == NULL);
    CHECK(mgc_usable_size(p) == 0);
}

TEST(usable_size)
{
    CHECK(mgc_usable_size(mgc_alloc(1)) == 8);
    CHECK(mgc_usable_size(mgc_alloc(17)) == 24);
    CHECK(mgc_usable_size(mgc_alloc(1000)) == 1024);
    CHECK(mgc_usable_size(mgc_alloc(40000)) == 40960);
    char *p = mgc_alloc(64);
    CHECK(mgc_usable_size(p + 8) == 0); /* not an object start */
    CHECK(mgc_usable_size(NULL) == 0);
    char *t = mgc_alloc_noscan(3);
    size_t u = mgc_usable_size(t);
    CHECK(u >= 3 && u <= 16);
}

TEST(realloc_keeps_contents_and_kind)
{
    char *p = mgc_realloc(NULL, 10);
    CHECK(p != NULL);
    memcpy(p, "abcdefghi", 10);
    p = mgc_realloc(p, 5000);
    CHECK(p != NULL && memcmp(p, "abcdefghi", 10) == 0);
    CHECK(all_zero(p + 16, 5000 - 16));
    p = mgc_realloc(p, 100000);
    CHECK(p != NULL && memcmp(p, "abcdefghi", 10) == 0);
    p = mgc_realloc(p, 20);
    CHECK(p != NULL && memcmp(p, "abcdefghi", 10) == 0);
    CHECK(mgc_usable_size(p) < 1000);
    CHECK(mgc_realloc(p, 0) == NULL);

    char *n = mgc_alloc_noscan(100);
    strcpy(n, "noscan");
    n = mgc_realloc(n, 3000);
    CHECK(strcmp(n, "noscan") == 0);
    struct object_ref ref;
    CHECK(object_find((uintptr_t)n, &ref) == OBJECT_START);
    CHECK(ref.span->noscan);

    char *u = mgc_alloc_flags(50, MGC_UNCOLLECTABLE);
    strcpy(u, "uncollectable");
    u = mgc_realloc(u, 70000);
    CHECK(strcmp(u, "uncollectable") == 0);
    CHECK(object_find((uintptr_t)u, &ref) == OBJECT_START);
    CHECK(ref.span->uncollectable && !ref.span->noscan);

    /* From the tiny allocator: contents move, the block is left alone. */
    char *t = mgc_alloc_noscan(6);
    memcpy(t, "tiny!", 6);
    char *t2 = mgc_realloc(t, 40);
    CHECK(memcmp(t2, "tiny!", 6) == 0);
    CHECK(memcmp(t, "tiny!", 6) == 0);
}

/* A tiny object at the start of a fresh block (the thread's current one). */
static char *tiny_at_block_start(size_t size)
{
    for (int i = 0; i < 64; i++) {
        char *p = mgc_alloc_noscan(size);
        if (mgc_base(p) == p)
            return p;
    }
    return NULL;
}

/* Growing a tiny object can land the new object in the same 16-byte block,
 * overlapping the bytes copied from the old one (3 bytes at offset 0, grown
 * to 5: the new object is at offset 3, and the copy reads offsets 0 to 4).
 * Before, that copy was a memcpy: under make test SANITIZE=1 AddressSanitizer
 * stopped this case with memcpy-param-overlap. */
TEST(realloc_between_tiny_sizes_in_one_block)
{
    char *p = tiny_at_block_start(3);
    CHECK(p != NULL);
    memcpy(p, "ab", 3);
    char *q = mgc_realloc(p, 5);
    CHECK(q != NULL);
    CHECK(mgc_base(q) == p); /* the case this test is about */
    CHECK(memcmp(q, "ab", 3) == 0);
    memcpy(q, "abcd", 5);
    char *r = mgc_realloc(q, 9);
    CHECK(r != NULL && strcmp(r, "abcd") == 0);
}

/* mgc cannot tell how long a packed object is, and the bytes after it in
 * its block (which mgc_usable_size counts) may belong to neighbours: a tiny
 * object that grows moves, even when the new size would fit in its block,
 * and its neighbours are never overwritten. */
TEST(realloc_of_tiny_object_never_grows_into_its_neighbours)
{
    char *p = tiny_at_block_start(4);
    CHECK(p != NULL);
    char *neighbour = mgc_alloc_noscan(4);
    CHECK(neighbour == p + 4);
    memcpy(p, "AAA", 4);
    memcpy(neighbour, "BBB", 4);
    CHECK(mgc_usable_size(p) == 16);
    char *q = mgc_realloc(p, 12);
    CHECK(q != NULL && q != p);
    CHECK(memcmp(q, "AAA", 4) == 0);
    memset(q, 'x', 12);
    CHECK(memcmp(neighbour, "BBB", 4) == 0);
    CHECK(memcmp(p, "AAA", 4) == 0);
}

/* A tiny object reallocated to another tiny size may get a place in its
 * own block that overlaps the old one: the copy must be a move. (With a
 * plain memcpy, make test SANITIZE=1 failed here: AddressSanitizer
 * memcpy-param-overlap in mgc_realloc, found by the fuzz target.) */
TEST(realloc_tiny_into_its_own_block)
{
    int overlapping = 0;
    for (int i = 0; i < 64; i++) {
        unsigned char *p = mgc_alloc_noscan(1 + i % 3);
        for (int k = 0; k < 1 + i % 3; k++)
            p[k] = (unsigned char)(0xC0 + k);
        unsigned char *q = mgc_realloc(p, 4 + i % 3);
        CHECK(q != NULL);
        for (int k = 0; k < 1 + i % 3; k++)
            CHECK_EQ(q[k], 0xC0 + k);
        if (q > p && q < p + 4 + i % 3)
            overlapping++;
    }
    CHECK(overlapping > 0);
}

TEST(strdup_copies)
{
    char *s = mgc_strdup("hello, heap");
    CHECK(s && strcmp(s, "hello, heap") == 0);
    char *e = mgc_strdup("");
    CHECK(e && e[0] == 0);
    errno = 0;
    CHECK(mgc_strdup(NULL) == NULL && errno == EINVAL);
    static char longer[10000];
    memset(longer, 'x', sizeof longer - 1);
    char *l = mgc_strdup(longer);
    CHECK(l && strlen(l) == sizeof longer - 1);
}

TEST(flags)
{
    errno = 0;
    CHECK(mgc_alloc_flags(10, 0x100) == NULL && errno == EINVAL);
    errno = 0;
    CHECK(mgc_alloc_flags(10, MGC_NOZERO) == NULL && errno == EINVAL);
    void *a = mgc_alloc_flags(10, MGC_NOSCAN | MGC_NOZERO);
    CHECK(a != NULL);
    void *b = mgc_alloc_flags(100000, MGC_NOSCAN | MGC_NOZERO);
    CHECK(b != NULL);
    struct object_ref ref;
    void *u = mgc_alloc_flags(10, MGC_UNCOLLECTABLE | MGC_NOSCAN);
    CHECK(object_find((uintptr_t)u, &ref) == OBJECT_START); /* not tiny-packed */
    CHECK(ref.span->uncollectable && ref.span->noscan);
    void *s = mgc_alloc_flags(24, 0);
    CHECK(object_find((uintptr_t)s, &ref) == OBJECT_START && !ref.span->noscan);
    for (int i = 0; i < 1000; i++) {
        void *x = mgc_alloc_flags((size_t)i * 7 + 1, MGC_UNCOLLECTABLE);
        CHECK(x && all_zero(x, (size_t)i * 7 + 1));
        if (i % 3)
            mgc_free(x);
    }
}

ENV_TEST(efence_gives_each_object_its_own_pages, "MGC_DEBUG=efence=1")
{
    char *a = mgc_alloc(10), *b = mgc_alloc_noscan(3), *c = mgc_alloc(50000);
    CHECK((uintptr_t)a % 8192 == 0 && (uintptr_t)b % 8192 == 0 && (uintptr_t)c % 8192 == 0);
    CHECK(a != b && (uintptr_t)b - (uintptr_t)a >= 8192);
    mgc_free(a);
    char *d = mgc_alloc(10);
    CHECK(d != a); /* never reused */
}

static void touch_after_free(void *unused)
{
    (void)unused;
    volatile char *a = mgc_alloc(10);
    a[0] = 1;
    mgc_free((void *)a);
    a[0] = 2; /* must fault */
}

ENV_TEST(efence_catches_use_after_free, "MGC_DEBUG=efence=1")
{
    char text[256];
    int status = run_in_child(touch_after_free, NULL, text, sizeof text);
    /* Under AddressSanitizer the fault is reported and the process exits. */
    CHECK((WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV) || strstr(text, "SEGV"));
}

/* The VmFlags line of the mapping that holds p, from /proc/self/smaps ("" if
 * none was found). */
static void mapping_flags(const void *p, char *flags, size_t size)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    char line[512];
    bool inside = false;
    flags[0] = 0;
    while (f && fgets(line, sizeof line, f)) {
        unsigned long low, high;
        if (sscanf(line, "%lx-%lx ", &low, &high) == 2)
            inside = (uintptr_t)p >= low && (uintptr_t)p < high;
        else if (inside && strncmp(line, "VmFlags:", 8) == 0)
            snprintf(flags, size, "%s", line + 8);
    }
    if (f)
        fclose(f);
}

TEST(heap_asks_for_huge_pages)
{
    char flags[512];
    mapping_flags(mgc_alloc(64), flags, sizeof flags);
    CHECK(flags[0] != 0);
    /* A kernel built without transparent huge pages refuses the advice. */
    if (access("/sys/kernel/mm/transparent_hugepage/enabled", F_OK) == 0)
        CHECK(strstr(flags, " hg") != NULL);
}

ENV_TEST(hugepages_off_leaves_heap_to_the_system_default, "MGC_DEBUG=hugepages=0")
{
    char flags[512];
    mapping_flags(mgc_alloc(64), flags, sizeof flags);
    CHECK(flags[0] != 0);
    CHECK(strstr(flags, " hg") == NULL);
}

/* A request no heap could ever hold fails at once: it used to run a full
 * collection first, every time (100 such calls, 100 collections). */
TEST(impossible_sizes_fail_without_collecting)
{
    mgc_init();
    struct mgc_stats before, after;
    mgc_read_stats(&before);
    for (int i = 0; i < 100; i++) {
        errno = 0;
        CHECK(mgc_alloc((size_t)1 << 47) == NULL && errno == ENOMEM);
        CHECK(mgc_alloc(SIZE_MAX - 4096) == NULL && errno == ENOMEM);
    }
    mgc_read_stats(&after);
    CHECK_EQ(after.num_gc, before.num_gc);
}

/* Bytes past the old size are zero after a realloc, also when an earlier
 * realloc shrank the object in place: 100 -> 51 -> 102 bytes left the old
 * bytes 51 to 101 in place (found by the fuzz target's strict mode). */
TEST(realloc_shrink_in_place_then_grow_reads_zeros)
{
    unsigned char *p = mgc_alloc(100);
    CHECK(p != NULL);
    memset(p, 0xab, 100);
    unsigned char *q = mgc_realloc(p, 51);
    CHECK(q == p);
    unsigned char *r = mgc_realloc(q, 102);
    CHECK(r != NULL);
    for (int i = 0; i < 51; i++)
        CHECK_EQ(r[i], 0xab);
    for (int i = 51; i < 102; i++)
        CHECK_EQ(r[i], 0);
}

/*
 * test_alloc.c: Boehm's allocation rules on mgc, through gc.h and -lgc.
 */
#include <gc.h>
#include <gc/gc_inline.h>
#include <gc/gc_typed.h>
#include <gc/gc_mark.h>
#include <errno.h>
#include <stdint.h>

#include "gc_cases.h"

CASE(every_object_16_aligned_with_room_past_the_end)
{
    GC_INIT();
    for (size_t n = 0; n < 70000; n += (n < 1100 ? 1 : n / 7)) {
        unsigned char *p = GC_MALLOC(n);
        CHECK(p != NULL);
        CHECK(((uintptr_t)p & 15) == 0);
        CHECK(GC_size(p) >= n + 1);
        CHECK(GC_base(p) == p);
        CHECK(GC_base(p + n) == p); /* one past the end is still inside */
        for (size_t i = 0; i < n; i++)
            CHECK(p[i] == 0);
        unsigned char *q = GC_MALLOC_ATOMIC(n);
        CHECK(q != NULL && ((uintptr_t)q & 15) == 0 && GC_base(q + n) == q);
    }
}

CASE(malloc_zero_gives_distinct_objects)
{
    void *seen[100];
    for (int i = 0; i < 100; i++) {
        seen[i] = GC_MALLOC(0);
        CHECK(seen[i] != NULL);
        for (int j = 0; j < i; j++)
            CHECK(seen[j] != seen[i]);
        void *atomic = GC_MALLOC_ATOMIC(0);
        CHECK(atomic != NULL && atomic != seen[i]);
    }
}

/* A pointer one past the end is all that remains of these objects. */
#define PAST_END_OBJECTS 64
static char *past_end[PAST_END_OBJECTS];
static void __attribute__((noinline)) make_past_end_objects(void)
{
    for (int i = 0; i < PAST_END_OBJECTS; i++) {
        size_t n = 16 * (size_t)(i + 1);
        char *p = GC_MALLOC_ATOMIC(n);
        memset(p, 'a' + i % 26, n);
        past_end[i] = p + n;
    }
}

CASE(pointer_past_the_end_keeps_object_alive)
{
    make_past_end_objects();
    clear_stack_below();
    for (int round = 0; round < 3; round++) {
        GC_gcollect();
        for (int i = 0; i < 20000; i++)
            memset(GC_MALLOC_ATOMIC(16 * (size_t)(i % 64 + 1)), 0x55, 16);
    }
    for (int i = 0; i < PAST_END_OBJECTS; i++) {
        size_t n = 16 * (size_t)(i + 1);
        char *p = past_end[i] - n;
        CHECK(GC_base(past_end[i]) == p);
        for (size_t k = 0; k < n; k++)
            CHECK(p[k] == 'a' + i % 26);
    }
}

static void *hidden[4];
static void __attribute__((noinline)) make_hidden(void)
{
    hidden[0] = (void *)GC_HIDE_POINTER(GC_MALLOC(100));
    hidden[1] = (void *)GC_HIDE_POINTER(GC_MALLOC_UNCOLLECTABLE(100));
    hidden[2] = (void *)GC_HIDE_POINTER(GC_MALLOC_ATOMIC_UNCOLLECTABLE(100));
    /* Only an atomic object points to hidden[3]'s object: it is not scanned. */
    void **atomic = GC_MALLOC_ATOMIC(sizeof(void *));
    *atomic = GC_MALLOC(100);
    hidden[3] = (void *)GC_HIDE_POINTER(*atomic);
    hidden[3] = (void *)((uintptr_t)hidden[3]);
    static void **keep_atomic;
    keep_atomic = atomic;
    (void)keep_atomic;
}

CASE(uncollectable_stay_collectable_go_atomic_not_scanned)
{
    make_hidden();
    clear_stack_below();
    GC_gcollect();
    GC_gcollect();
    CHECK(GC_base(GC_REVEAL_POINTER((GC_word)hidden[0])) == NULL);
    void *u = GC_REVEAL_POINTER((GC_word)hidden[1]);
    CHECK(GC_base(u) == u);
    void *au = GC_REVEAL_POINTER((GC_word)hidden[2]);
    CHECK(GC_base(au) == au);
    CHECK(GC_base(GC_REVEAL_POINTER((GC_word)hidden[3])) == NULL);
    int kind = GC_get_kind_and_size(u, NULL);
    CHECK(kind == 2);
    CHECK(GC_get_kind_and_size(au, NULL) == 3);
    GC_FREE(u);
    GC_FREE(au);
    CHECK(GC_base(u) == NULL && GC_base(au) == NULL);
}

CASE(base_size_and_heap_pointer_queries)
{
    static int not_heap;
    char *p = GC_MALLOC(1000);
    CHECK(GC_base(p + 500) == p);
    CHECK(GC_size(p + 500) == GC_size(p));
    CHECK(GC_base(&not_heap) == NULL);
    CHECK(GC_size(&not_heap) == 0);
    CHECK(GC_is_heap_ptr(p + 10) && !GC_is_heap_ptr(&not_heap));
    size_t size;
    CHECK(GC_get_kind_and_size(p, &size) == GC_I_NORMAL && size == GC_size(p));
    CHECK(GC_get_kind_and_size(GC_MALLOC_ATOMIC(10), NULL) == GC_I_PTRFREE);
}

CASE(free_and_strings)
{
    char *p = GC_MALLOC(64);
    GC_FREE(p);
    GC_FREE(NULL);
    CHECK(GC_base(p) == NULL);
    char *s = GC_STRDUP("collected");
    CHECK(strcmp(s, "collected") == 0 && GC_base(s) == s);
    char *t = GC_STRNDUP("collected", 4);
    CHECK(strcmp(t, "coll") == 0);
    CHECK(GC_strdup(NULL) == NULL);
}

CASE(memalign_and_posix_memalign)
{
    for (size_t align = 1; align <= 65536; align *= 2) {
        for (size_t n = 0; n < 40000; n = n * 3 + 7) {
            char *p = GC_memalign(align, n);
            CHECK(p != NULL);
            CHECK(((uintptr_t)p & (align - 1)) == 0);
            void *base = GC_base(p);
            CHECK(base != NULL && (char *)base <= p);
            CHECK(GC_base(p + n) == base); /* past the end still inside */
            memset(p, 1, n);
            GC_FREE(p); /* accepted even where p is inside its object */
            CHECK(GC_base(base) == NULL);
        }
    }
    void *q = NULL;
    CHECK(GC_posix_memalign(&q, 256, 100) == 0 && ((uintptr_t)q & 255) == 0);
    CHECK(GC_posix_memalign(&q, 24, 100) == EINVAL);
    CHECK(GC_posix_memalign(&q, 2, 100) == EINVAL);
    CHECK(GC_memalign(48, 10) == NULL);
}

CASE(realloc_follows_boehm_rules)
{
    /* NULL allocates; the contents follow through growth. */
    long *p = GC_REALLOC(NULL, 8 * sizeof(long));
    CHECK(p != NULL && GC_base(p) == p);
    for (int i = 0; i < 8; i++)
        p[i] = i * 11;
    for (size_t n = 16; n < 200000; n = n * 2 + 8) {
        long *q = GC_REALLOC(p, n * sizeof(long));
        CHECK(q != NULL);
        for (int i = 0; i < 8; i++)
            CHECK(q[i] == i * 11);
        p = q;
    }
    /* Shrinking stays in place and clears what lies past the new end. */
    size_t big = GC_size(p);
    memset(p, 0x7f, big);
    char *same = GC_REALLOC(p, 100);
    CHECK(same == (char *)p);
    const char *whole = GC_base(same); /* the whole object, past the 100 asked */
    for (size_t i = 100; i < big; i++)
        CHECK(whole[i] == 0);
    /* Size 0 frees and returns NULL. */
    CHECK(GC_REALLOC(same, 0) == NULL);
    CHECK(GC_base(same) == NULL);
    /* The kind is kept. */
    char *atomic = GC_MALLOC_ATOMIC(10);
    atomic = GC_REALLOC(atomic, 100000);
    CHECK(GC_get_kind_and_size(atomic, NULL) == GC_I_PTRFREE);
    char *unc = GC_MALLOC_UNCOLLECTABLE(10);
    unc = GC_REALLOC(unc, 5000);
    CHECK(GC_get_kind_and_size(unc, NULL) == 2);
}

static size_t oom_calls, oom_last;
static void *GC_CALLBACK counting_oom(size_t n)
{
    oom_calls++;
    oom_last = n;
    return NULL;
}

static int warnings;
static void GC_CALLBACK counting_warn(char *msg, GC_word arg)
{
    (void)msg;
    (void)arg;
    warnings++;
}

CASE(absurd_sizes_go_through_the_oom_function)
{
    GC_INIT();
    CHECK(GC_get_oom_fn() != NULL);
    volatile size_t all_ones = (size_t)-1;
    CHECK(GC_MALLOC(all_ones) == NULL);
    GC_set_oom_fn(counting_oom);
    CHECK(GC_get_oom_fn() == counting_oom);
    GC_set_warn_proc(counting_warn);
    volatile size_t absurd[] = {(size_t)-1, (size_t)-16, (size_t)1 << 62, (size_t)1 << 50, SIZE_MAX / 2};
    for (size_t i = 0; i < sizeof absurd / sizeof absurd[0]; i++) {
        size_t before = oom_calls;
        CHECK(GC_MALLOC(absurd[i]) == NULL);
        CHECK(GC_MALLOC_ATOMIC(absurd[i]) == NULL);
        CHECK(GC_MALLOC_UNCOLLECTABLE(absurd[i]) == NULL);
        CHECK(oom_calls == before + 3 && oom_last == absurd[i]);
    }
    volatile size_t half = (size_t)1 << 40;
    CHECK(GC_calloc_explicitly_typed(half, half, 0) == NULL);
    CHECK(warnings == 0); /* absurd requests fail quietly */
    void *p = GC_MALLOC(100);
    CHECK(GC_REALLOC(p, all_ones) == NULL && GC_base(p) == p);
    /* The collector still works. */
    CHECK(GC_MALLOC(1 << 20) != NULL);
}

static void *GC_CALLBACK replacement_oom(size_t n)
{
    static char spare[64];
    (void)n;
    return spare;
}

CASE(heap_limit_warns_and_returns_the_oom_result)
{
    GC_INIT();
    GC_set_warn_proc(counting_warn);
    GC_set_max_heap_size(64 << 20);
    GC_set_oom_fn(counting_oom);
    static void *volatile kept[64];
    int got = 0;
    for (int i = 0; i < 64; i++) {
        kept[i] = GC_MALLOC_ATOMIC(4 << 20);
        if (!kept[i])
            break;
        got++;
    }
    CHECK(got < 64);         /* the limit was met */
    CHECK(oom_calls >= 1);   /* through the oom function */
    CHECK(warnings >= 1);    /* after a warning */
    GC_set_oom_fn(replacement_oom);
    CHECK(GC_MALLOC_ATOMIC(256 << 20) != NULL); /* what the oom function gave */
}

CASE(malloc_many_and_inline_free_lists)
{
    void *list = GC_malloc_many(48);
    CHECK(list != NULL);
    int count = 0;
    for (void *p = list; p; p = GC_NEXT(p)) {
        CHECK(GC_size(p) >= 48 && ((uintptr_t)p & 15) == 0);
        count++;
    }
    CHECK(count >= 1);
    static void *lists[GC_TINY_FREELISTS];
    static void *atomic_lists[GC_TINY_FREELISTS];
    void **chain = NULL;
    for (int i = 0; i < 20000; i++) {
        void **cell;
        GC_MALLOC_WORDS(cell, 3, lists);
        CHECK(cell != NULL && cell[0] == NULL && cell[1] == NULL && cell[2] == NULL);
        cell[0] = chain;
        cell[1] = (void *)(uintptr_t)i;
        chain = cell;
        char *bytes;
        GC_MALLOC_ATOMIC_WORDS(bytes, 5, atomic_lists);
        CHECK(bytes != NULL && GC_size(bytes) >= 5 * sizeof(void *));
        memset(bytes, 0xee, 5 * sizeof(void *));
        if (i % 5000 == 0)
            GC_gcollect();
    }
    int length = 0;
    for (void **c = chain; c; c = c[0]) {
        CHECK((uintptr_t)c[1] == (uintptr_t)(19999 - length));
        length++;
    }
    CHECK(length == 20000);
    void *pair;
    GC_CONS(pair, chain, NULL, lists);
    CHECK(((void **)pair)[0] == chain && ((void **)pair)[1] == NULL);
}

CASE(typed_and_gcj_allocation_are_conservative)
{
    struct three { void *a; long b; void *c; };
    GC_word bitmap[GC_BITMAP_SIZE(struct three)] = {0};
    GC_set_bit(bitmap, GC_WORD_OFFSET(struct three, a));
    GC_set_bit(bitmap, GC_WORD_OFFSET(struct three, c));
    GC_descr d = GC_make_descriptor(bitmap, GC_WORD_LEN(struct three));
    struct three *t = GC_MALLOC_EXPLICITLY_TYPED(sizeof *t, d);
    CHECK(t && t->a == NULL && t->b == 0);
    t->a = GC_STRDUP("typed");
    struct three *arr = GC_CALLOC_EXPLICITLY_TYPED(100, sizeof *arr, d);
    CHECK(arr && GC_size(arr) >= 100 * sizeof *arr);
    arr[99].c = GC_STRDUP("element");
    GC_gcollect();
    CHECK(strcmp(t->a, "typed") == 0 && strcmp(arr[99].c, "element") == 0);
    unsigned kind = GC_new_kind(GC_new_free_list(), GC_DS_LENGTH, 1, 1);
    void *k = GC_generic_malloc(64, (int)kind);
    CHECK(k && GC_get_kind_and_size(k, NULL) == GC_I_NORMAL);
}

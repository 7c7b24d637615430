/*
 * test_boehm_style.c: small programs in the manner of Boehm GC's own test
 * suite, run on mgc through the layer: trees built top-down and bottom-up,
 * lists reversed many times, realloc chains, huge and absurd sizes, and
 * the GC_DEBUG macro set (leak_detector.h included).
 */
#define GC_DEBUG
#include <gc.h>
#include <gc/leak_detector.h>
#include <gc/gc_mark.h>
#include <stdint.h>

#include "gc_cases.h"

struct tree { struct tree *left, *right; long value; };

static struct tree *make_tree(int depth)
{
    struct tree *t = GC_NEW(struct tree);
    CHECK(t != NULL);
    if (depth > 0) {
        t->left = make_tree(depth - 1);
        t->right = make_tree(depth - 1);
    }
    t->value = depth;
    return t;
}

static void populate(int depth, struct tree *t)
{
    if (depth <= 0)
        return;
    t->left = GC_NEW(struct tree);
    t->right = GC_NEW(struct tree);
    t->left->value = t->right->value = depth - 1;
    populate(depth - 1, t->left);
    populate(depth - 1, t->right);
}

static long check_tree(const struct tree *t, int depth)
{
    CHECK(t->value == depth);
    if (depth == 0)
        return 1;
    return 1 + check_tree(t->left, depth - 1) + check_tree(t->right, depth - 1);
}

CASE(trees_top_down_and_bottom_up)
{
    GC_INIT();
    struct tree *long_lived = GC_NEW(struct tree);
    long_lived->value = 16;
    populate(16, long_lived);
    for (int depth = 4; depth <= 14; depth += 2) {
        int iterations = 1 << (16 - depth);
        for (int i = 0; i < iterations; i++) {
            struct tree *a = GC_NEW(struct tree);
            a->value = depth;
            populate(depth, a);
            struct tree *b = make_tree(depth);
            CHECK(check_tree(a, depth) == check_tree(b, depth));
        }
    }
    CHECK(check_tree(long_lived, 16) == (1L << 17) - 1);
    CHECK(GC_get_gc_no() > 0);
}

struct cons { struct cons *next; long car; };

static struct cons *range(long n)
{
    struct cons *list = NULL;
    for (long i = n - 1; i >= 0; i--) {
        struct cons *c = GC_NEW(struct cons);
        c->car = i;
        c->next = list;
        list = c;
    }
    return list;
}

/* A fresh reversed copy, as Boehm's gctest does: the old list becomes
 * garbage. */
static struct cons *reversed(const struct cons *list)
{
    struct cons *out = NULL;
    for (; list; list = list->next) {
        struct cons *c = GC_NEW(struct cons);
        c->car = list->car;
        c->next = out;
        out = c;
    }
    return out;
}

CASE(lists_reversed_many_times)
{
    GC_INIT();
    struct cons *list = range(5000);
    for (int round = 0; round < 200; round++)
        list = reversed(list);
    long expect = 0;
    for (struct cons *c = list; c; c = c->next)
        CHECK(c->car == expect++);
    CHECK(expect == 5000);
}

CASE(realloc_chains_keep_their_bytes)
{
    GC_INIT();
    char *strings[16] = {0};
    size_t lengths[16] = {0};
    for (int step = 0; step < 3000; step++) {
        int k = step % 16;
        size_t grow = (size_t)(step % 97) + 1;
        strings[k] = GC_REALLOC(strings[k], lengths[k] + grow + 1);
        CHECK(strings[k] != NULL);
        memset(strings[k] + lengths[k], 'a' + k, grow);
        lengths[k] += grow;
        strings[k][lengths[k]] = 0;
        if (step % 500 == 0)
            GC_gcollect();
    }
    for (int k = 0; k < 16; k++) {
        CHECK(strlen(strings[k]) == lengths[k]);
        for (size_t i = 0; i < lengths[k]; i++)
            CHECK(strings[k][i] == 'a' + k);
    }
    /* leak_detector.h's names go to the collector too. */
    char *m = malloc(100);
    CHECK(GC_base(m) == m);
    m = realloc(m, 1000);
    char *d = strdup("dup");
    CHECK(GC_base(d) == d && strcmp(d, "dup") == 0);
    free(m);
    free(d);
    CHECK_LEAKS();
}

CASE(huge_and_absurd_sizes)
{
    GC_INIT();
    GC_set_warn_proc(GC_ignore_warn_proc);
    size_t huge = (size_t)200 << 20;
    char *p = GC_MALLOC_ATOMIC(huge);
    CHECK(p != NULL && GC_size(p) >= huge + 1 && ((uintptr_t)p & 15) == 0);
    p[0] = 1;
    p[huge - 1] = 2;
    CHECK(GC_base(p + huge) == p);
    GC_FREE(p);
    volatile size_t absurd = (size_t)1 << 60;
    CHECK(GC_MALLOC(absurd) == NULL);
    CHECK(GC_MALLOC_ATOMIC(absurd) == NULL);
    CHECK(GC_MALLOC(1000) != NULL);
}

CASE(debug_macros_are_plain_allocation)
{
    GC_INIT();
    void *p = GC_MALLOC(40);
    CHECK(p != NULL && GC_base(p) == p && GC_size(p) >= 41);
    CHECK(GC_USR_PTR_FROM_BASE(p) == p);
    void *u = GC_MALLOC_UNCOLLECTABLE(40);
    GC_FREE(u);
    char *s = GC_STRNDUP("abcdef", 3);
    CHECK(strcmp(s, "abc") == 0);
    int *q = GC_NEW(int);
    q = GC_PTR_ADD(q, 0);
    GC_PTR_STORE(&p, q);
    CHECK(p == q);
    GC_REGISTER_FINALIZER(q, NULL, NULL, NULL, NULL);
    CHECK(GC_get_debug_header_size() == 0);
}

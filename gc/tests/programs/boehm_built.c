/*
 * boehm_built.c: a Boehm GC program built against Debian's libgc-dev (its
 * headers, its libgc.so.1), then run both on Boehm and, through
 * LD_LIBRARY_PATH, on mgc's libgc.so.1. It uses the exported variables,
 * the inline free-list macros, the thread redirects, finalizers and weak
 * links, with checks that hold on both collectors.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <gc.h>
#include <gc/gc_inline.h>
#include <gc/gc_typed.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(c) do { if (!(c)) { printf("check failed at line %d: %s\n", __LINE__, #c); exit(1); } } while (0)

struct node {
    struct node *next;
    long value;
};

static int finalized;
static void GC_CALLBACK count_finalized(void *obj, void *cd)
{
    (void)obj;
    (void)cd;
    __atomic_add_fetch(&finalized, 1, __ATOMIC_RELAXED);
}

static void *thread_body(void *arg)
{
    long id = (long)arg;
    struct node *list = NULL;
    for (long i = 0; i < 20000; i++) {
        struct node *n = GC_NEW(struct node);
        n->value = id * 100000 + i;
        n->next = i % 1000 == 0 ? NULL : list;
        if (i % 1000 == 0)
            list = NULL;
        list = n;
    }
    long count = 0;
    for (struct node *n = list; n; n = n->next)
        count++;
    return (void *)count;
}

/* Built away from the checking frame so no stale copy of obj stays there. */
/* Weak links to 32 objects, hidden: a conservative collector (Boehm's as
 * much as mgc's) may keep one or two through a stale word, so most, not
 * all, must be cleared. */
enum { LINKS = 32 };
static void *hidden_links[LINKS];
static void __attribute__((noinline)) make_linked_garbage(void)
{
    for (int i = 0; i < LINKS; i++) {
        void *obj = GC_MALLOC(64);
        hidden_links[i] = obj;
        CHECK(GC_general_register_disappearing_link(&hidden_links[i], obj) == GC_SUCCESS);
        CHECK(GC_general_register_disappearing_link(&hidden_links[i], obj) == GC_DUPLICATE);
        hidden_links[i] = (void *)GC_HIDE_POINTER(obj);
    }
    for (int i = 0; i < 8; i++)
        GC_REGISTER_FINALIZER(GC_MALLOC(32), count_finalized, NULL, NULL, NULL);
}

static int links_left(void)
{
    int left = 0;
    for (int i = 0; i < LINKS; i++)
        left += hidden_links[i] != NULL;
    return left;
}

static void __attribute__((noinline)) clear_stack(void)
{
    char buffer[8192];
    memset(buffer, 0, sizeof buffer);
    __asm__ volatile("" : : "r"(buffer) : "memory"); /* or the memset is dropped */
}

int main(void)
{
    GC_INIT();
    GC_set_warn_proc(GC_ignore_warn_proc);

    /* Allocation rules. */
    for (size_t n = 0; n < 300; n++) {
        char *p = GC_MALLOC(n);
        CHECK(p && ((unsigned long)p & 15) == 0);
        CHECK(GC_size(p) > n);
        CHECK(GC_base(p + n) == p);
    }
    char *a = GC_MALLOC(0), *b = GC_MALLOC(0);
    CHECK(a && b && a != b);
    char *s = GC_STRDUP("boehm");
    CHECK(strcmp(s, "boehm") == 0);
    long *grow = GC_MALLOC(8);
    grow[0] = 42;
    for (size_t n = 16; n < 100000; n *= 3) {
        grow = GC_REALLOC(grow, n);
        CHECK(grow[0] == 42);
    }
    CHECK(GC_REALLOC(grow, 0) == NULL);

    /* Typed allocation. */
    GC_word bitmap[GC_BITMAP_SIZE(struct node)] = {0};
    GC_set_bit(bitmap, GC_WORD_OFFSET(struct node, next));
    GC_descr d = GC_make_descriptor(bitmap, GC_WORD_LEN(struct node));
    struct node *typed = GC_MALLOC_EXPLICITLY_TYPED(sizeof(struct node), d);
    typed->next = GC_NEW(struct node);
    typed->next->value = 7;

    /* gc_inline.h's free lists. */
    static void *free_lists[GC_TINY_FREELISTS];
    void *cell = NULL;
    for (int i = 0; i < 1000; i++) {
        void *first = cell;
        GC_CONS(cell, first, GC_NEW(struct node), free_lists);
        CHECK(cell && ((void **)cell)[0] == first);
    }

    /* Exported variables. */
    GC_word before = GC_gc_no;
    GC_gcollect();
    CHECK(GC_gc_no > before || GC_get_gc_no() > before);
    GC_dont_gc = 1;
    GC_word frozen = GC_get_gc_no();
    GC_gcollect();
    CHECK(GC_get_gc_no() == frozen);
    GC_dont_gc = 0;
    CHECK(GC_all_interior_pointers == 1);

    /* Threads through the redirected pthread_create. */
    pthread_t threads[4];
    for (long i = 0; i < 4; i++)
        CHECK(pthread_create(&threads[i], NULL, thread_body, (void *)i) == 0);
    for (int i = 0; i < 4; i++) {
        void *count;
        CHECK(pthread_join(threads[i], &count) == 0);
        CHECK((long)count == 1000);
    }

    /* Finalizers and a weak link. */
    make_linked_garbage();
    clear_stack();
    for (int i = 0; i < 5 && (finalized < 8 || links_left() > 0); i++) {
        GC_gcollect();
        GC_invoke_finalizers();
    }
    CHECK(links_left() <= LINKS / 4);
    CHECK(finalized >= 6);
    CHECK(typed->next->value == 7);
    CHECK(strcmp(s, "boehm") == 0);

    Dl_info info;
    CHECK(dladdr((void *)GC_malloc, &info) && info.dli_fname);
    printf("all checks passed on %s\n", strstr(info.dli_fname, "x86_64-linux-gnu") ? "Boehm" : "mgc");
    return 0;
}

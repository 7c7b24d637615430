/*
 * test_finalize.c: finalization and disappearing links through the Boehm
 * GC layer: replacement, the no-order and ignore-self variants, where
 * finalizers run (the program's threads, or on demand), and links cleared
 * exactly when their object dies.
 */
#include <gc.h>
#include <pthread.h>
#include <stdint.h>

#include "gc_cases.h"

static int runs;
static void *last_obj, *last_cd;
static pthread_t ran_on;
static int depth, max_depth;

static void GC_CALLBACK count_run(void *obj, void *cd)
{
    depth++;
    if (depth > max_depth)
        max_depth = depth;
    runs++;
    last_obj = obj;
    last_cd = cd;
    ran_on = pthread_self();
    GC_MALLOC(64); /* a finalizer may allocate; no finalizer nests inside it */
    depth--;
}

static void GC_CALLBACK other_run(void *obj, void *cd)
{
    (void)obj;
    (void)cd;
}

static void collect_until(int *counter, int target)
{
    for (int i = 0; i < 10 && *counter < target; i++) {
        clear_stack_below();
        GC_gcollect();
        GC_invoke_finalizers();
    }
}

CASE(register_replaces_and_returns_the_old_finalizer)
{
    GC_INIT();
    void *p = GC_MALLOC(32);
    GC_finalization_proc old_fn = other_run;
    void *old_cd = &old_fn;
    GC_REGISTER_FINALIZER(p, count_run, (void *)1, &old_fn, &old_cd);
    CHECK(old_fn == NULL && old_cd == NULL);
    GC_REGISTER_FINALIZER(p, other_run, (void *)2, &old_fn, &old_cd);
    CHECK(old_fn == count_run && old_cd == (void *)1);
    GC_REGISTER_FINALIZER_NO_ORDER(p, count_run, (void *)3, &old_fn, &old_cd);
    CHECK(old_fn == other_run && old_cd == (void *)2);
    GC_REGISTER_FINALIZER(p, NULL, NULL, &old_fn, &old_cd);
    CHECK(old_fn == count_run && old_cd == (void *)3);
    GC_REGISTER_FINALIZER(p, NULL, NULL, &old_fn, &old_cd);
    CHECK(old_fn == NULL);
    /* Outside the heap: ignored, as Boehm does. */
    static int outside;
    GC_REGISTER_FINALIZER(&outside, count_run, NULL, &old_fn, &old_cd);
    CHECK(old_fn == NULL && old_cd == NULL);
}

static void *hidden;
static void __attribute__((noinline)) make_finalizable(int how)
{
    void **p = GC_MALLOC(64);
    hidden = (void *)GC_HIDE_POINTER(p);
    if (how == 1)
        p[0] = p; /* points to itself */
    if (how == 0)
        GC_REGISTER_FINALIZER(p, count_run, (void *)7, NULL, NULL);
    else
        GC_REGISTER_FINALIZER_IGNORE_SELF(p, count_run, (void *)7, NULL, NULL);
}

CASE(finalizers_run_in_the_collecting_program_thread)
{
    GC_INIT();
    make_finalizable(0);
    collect_until(&runs, 1);
    CHECK(runs == 1 && last_cd == (void *)7);
    CHECK(last_obj == GC_REVEAL_POINTER((GC_word)hidden));
    CHECK(pthread_equal(ran_on, pthread_self()));
    CHECK(max_depth == 1);
    /* Automatic collections: they run at a later allocation. */
    for (int i = 0; i < 2000; i++)
        GC_REGISTER_FINALIZER(GC_MALLOC(100), count_run, NULL, NULL, NULL);
    for (int i = 0; i < 300000 && runs < 1000; i++)
        GC_MALLOC(200);
    CHECK(runs >= 1000);
    CHECK(pthread_equal(ran_on, pthread_self()));
    CHECK(max_depth == 1);
}

static int notified;
static void GC_CALLBACK notifier(void)
{
    notified++;
}

CASE(finalize_on_demand_waits_for_invoke)
{
    GC_INIT();
    GC_set_finalize_on_demand(1);
    GC_set_finalizer_notifier(notifier);
    CHECK(GC_get_finalizer_notifier() == notifier);
    make_finalizable(0);
    clear_stack_below();
    GC_gcollect();
    for (int i = 0; i < 10000; i++)
        GC_MALLOC(100);
    CHECK(runs == 0);
    CHECK(notified >= 1);
    CHECK(GC_should_invoke_finalizers());
    CHECK(GC_invoke_finalizers() == 1);
    CHECK(runs == 1 && !GC_should_invoke_finalizers());
}

CASE(self_pointer_blocks_plain_but_not_ignore_self)
{
    GC_INIT();
    make_finalizable(0);
    collect_until(&runs, 1);
    CHECK(runs == 1);
    runs = 0;
    make_finalizable(2); /* ignore-self, no self pointer: finalized */
    collect_until(&runs, 1);
    CHECK(runs == 1);
    runs = 0;
    make_finalizable(1); /* ignore-self with a self pointer: finalized too */
    collect_until(&runs, 1);
    CHECK(runs == 1);
}

struct pair { struct pair *other; long tag; };
static int chain_order[4], chain_count;
static void GC_CALLBACK record_tag(void *obj, void *cd)
{
    (void)cd;
    chain_order[chain_count++ & 3] = (int)((struct pair *)obj)->tag;
}

static int pair_cyclic, pair_no_order;
static void make_pair_here(void)
{
    int cyclic = pair_cyclic, no_order = pair_no_order;
    struct pair *a = GC_NEW(struct pair), *b = GC_NEW(struct pair);
    a->tag = 1;
    b->tag = 2;
    a->other = b;
    if (cyclic)
        b->other = a;
    if (no_order) {
        GC_REGISTER_FINALIZER_NO_ORDER(a, record_tag, NULL, NULL, NULL);
        GC_REGISTER_FINALIZER_NO_ORDER(b, record_tag, NULL, NULL, NULL);
    } else {
        GC_REGISTER_FINALIZER(a, record_tag, NULL, NULL, NULL);
        GC_REGISTER_FINALIZER(b, record_tag, NULL, NULL, NULL);
    }
}

static void make_pair(int cyclic, int no_order)
{
    pair_cyclic = cyclic;
    pair_no_order = no_order;
    on_own_thread(make_pair_here);
}

CASE(ordered_chain_cycle_and_no_order)
{
    GC_INIT();
    make_pair(0, 0); /* a reaches b: a first, b in a later collection */
    collect_until(&chain_count, 2);
    CHECK(chain_count == 2 && chain_order[0] == 1 && chain_order[1] == 2);
    chain_count = 0;
    make_pair(1, 0); /* a cycle of ordered finalizers: never finalized */
    collect_until(&chain_count, 1);
    CHECK(chain_count == 0);
    make_pair(1, 1); /* the same cycle without order: both run */
    collect_until(&chain_count, 2);
    CHECK(chain_count == 2);
}

/* Disappearing links. */
static void *short_link, *long_link, *moved_link;
static int link_seen_in_finalizer = -1;
static void GC_CALLBACK check_links(void *obj, void *cd)
{
    (void)obj;
    (void)cd;
    link_seen_in_finalizer = (short_link == NULL) + 2 * (long_link == NULL);
    runs++;
}

static int link_with_finalizer;
static void make_linked_here(void)
{
    int with_finalizer = link_with_finalizer;
    void *obj = GC_MALLOC(48);
    short_link = (void *)GC_HIDE_POINTER(obj);
    long_link = (void *)GC_HIDE_POINTER(obj);
    CHECK(GC_GENERAL_REGISTER_DISAPPEARING_LINK(&short_link, obj) == GC_SUCCESS);
    CHECK(GC_GENERAL_REGISTER_DISAPPEARING_LINK(&short_link, obj) == GC_DUPLICATE);
    CHECK(GC_REGISTER_LONG_LINK(&long_link, obj) == GC_SUCCESS);
    if (with_finalizer)
        GC_REGISTER_FINALIZER(obj, check_links, NULL, NULL, NULL);
}

static void make_linked(int with_finalizer)
{
    link_with_finalizer = with_finalizer;
    on_own_thread(make_linked_here);
}

void *volatile keep_alive;
CASE(links_clear_when_the_object_dies)
{
    GC_INIT();
    make_linked(0);
    keep_alive = GC_REVEAL_POINTER((GC_word)short_link); /* alive: links stay */
    clear_stack_below();
    GC_gcollect();
    CHECK(short_link != NULL && long_link != NULL);
    keep_alive = NULL;
    GC_gcollect();
    CHECK(short_link == NULL && long_link == NULL);
}

CASE(short_link_clears_before_finalizer_long_link_after)
{
    GC_INIT();
    make_linked(1);
    clear_stack_below();
    GC_gcollect();
    CHECK(short_link == NULL);
    GC_invoke_finalizers();
    CHECK(runs == 1);
    CHECK(link_seen_in_finalizer == 1); /* short cleared, long not yet */
    collect_until(&runs, 2);
    CHECK(long_link == NULL);
}

CASE(unregister_move_and_register_by_contents)
{
    GC_INIT();
    void *obj = GC_MALLOC(16);
    short_link = obj;
    CHECK(GC_register_disappearing_link(&short_link) == GC_SUCCESS);
    CHECK(GC_move_disappearing_link(&short_link, &moved_link) == GC_SUCCESS);
    CHECK(GC_move_disappearing_link(&short_link, &moved_link) == GC_NOT_FOUND);
    CHECK(GC_move_disappearing_link(&moved_link, &moved_link) == GC_SUCCESS);
    CHECK(GC_register_disappearing_link(&short_link) == GC_SUCCESS);
    CHECK(GC_move_disappearing_link(&short_link, &moved_link) == GC_DUPLICATE);
    CHECK(GC_unregister_disappearing_link(&short_link) == 1);
    CHECK(GC_unregister_disappearing_link(&short_link) == 0);
    CHECK(GC_unregister_disappearing_link(&moved_link) == 1);
    CHECK(GC_register_long_link(&long_link, obj) == GC_SUCCESS);
    CHECK(GC_move_long_link(&long_link, &moved_link) == GC_SUCCESS);
    CHECK(GC_unregister_long_link(&moved_link) == 1);
    CHECK(GC_unregister_long_link(&moved_link) == 0);
    /* Unregistered links are left alone when the object dies. */
    moved_link = (void *)GC_HIDE_POINTER(obj);
    obj = NULL;
    clear_stack_below();
    GC_gcollect();
    CHECK(moved_link != NULL);
}

/* Boehm's test programs check the count of finalized objects in a band. */
static int band_runs;
static void GC_CALLBACK band_count(void *obj, void *cd)
{
    (void)obj;
    (void)cd;
    band_runs++;
}

static void __attribute__((noinline)) make_many_finalizable(int n)
{
    for (int i = 0; i < n; i++) {
        void **p = GC_MALLOC(24 + i % 200);
        p[0] = GC_MALLOC_ATOMIC(8);
        GC_REGISTER_FINALIZER(p, band_count, NULL, NULL, NULL);
    }
}

CASE(finalizer_count_within_bounds)
{
    GC_INIT();
    make_many_finalizable(10000);
    collect_until(&band_runs, 10000);
    CHECK(band_runs >= 9900 && band_runs <= 10000);
}

/*
 * test_weak.c: weak handles and weak links (short and long) read the object
 * while it is reachable, NULL once a collection finds it unreachable, before
 * its finalizer runs and for good; registrations end with the memory of
 * their link word; mgc_free clears and drops them; nothing reachable is
 * ever cleared or freed under pressure.
 *
 * The collector is conservative: objects meant to die are made in NOINLINE
 * functions that return before collecting, their addresses kept XORed with
 * HIDE, and the stack is scrubbed before each collection. Link words live
 * in malloc(3) memory, which is never scanned, so they keep nothing alive.
 */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "mgc_internal.h"
#include "weak.h"

/* Collect a few times, with the stack scrubbed, and run what got queued. */
static void collect(int times)
{
    for (int i = 0; i < times; i++) {
        scrub_stack();
        mgc_collect();
        mgc_run_finalizers();
    }
}

static void *unhide(uintptr_t hidden) { return (void *)(hidden ^ HIDE); }
static uintptr_t hide(const void *p) { return (uintptr_t)p ^ HIDE; }

/* ---- Weak handles -------------------------------------------------------------------------- */

static void *kept_objects[4];
static mgc_weak *kept_handles[4];
static const size_t kept_sizes[4] = {64, 8, 100000, 16};

TEST(weak_get_returns_the_object_while_it_is_reachable)
{
    for (int i = 0; i < 4; i++) {
        /* i == 1: a tiny object packed in a shared block. */
        kept_objects[i] = i == 1 ? mgc_alloc_noscan(kept_sizes[i]) : mgc_alloc(kept_sizes[i]);
        fill_pattern(kept_objects[i], kept_sizes[i], (unsigned)i);
        kept_handles[i] = mgc_weak_new(kept_objects[i]);
        CHECK(kept_handles[i] != NULL);
    }
    for (int round = 0; round < 5; round++) {
        for (int j = 0; j < 20000; j++)
            mgc_alloc(64);
        collect(1);
        for (int i = 0; i < 4; i++) {
            unsigned char *p = mgc_weak_get(kept_handles[i]);
            CHECK(p == kept_objects[i]);
            CHECK(check_pattern(p, kept_sizes[i], (unsigned)i));
        }
    }
    CHECK(mgc_weak_get(NULL) == NULL);
}

enum { DROPPED = 200 };
static mgc_weak *dropped_handles[DROPPED];

static NOINLINE void make_dropped_objects(void)
{
    for (int i = 0; i < DROPPED; i++) {
        size_t size = (i % 4 == 0) ? 40000 : 16 + (size_t)(i % 7) * 24;
        void *p = (i % 3 == 0) ? mgc_alloc_noscan(size) : mgc_alloc(size);
        dropped_handles[i] = mgc_weak_new(p);
        CHECK(dropped_handles[i] != NULL);
        CHECK(mgc_weak_get(dropped_handles[i]) == p);
    }
}

static NOINLINE int count_cleared_handles(mgc_weak **handles, int n)
{
    int cleared = 0;
    for (int i = 0; i < n; i++)
        cleared += mgc_weak_get(handles[i]) == NULL;
    return cleared;
}

TEST(weak_get_reads_null_once_the_object_is_collected)
{
    make_dropped_objects();
    collect(4);
    int cleared = count_cleared_handles(dropped_handles, DROPPED);
    if (cleared < DROPPED * 9 / 10)
        fprintf(stderr, "only %d of %d cleared\n", cleared, DROPPED);
    CHECK(cleared >= DROPPED * 9 / 10);
    /* For good: once NULL, always NULL. */
    bool was_null[DROPPED];
    for (int i = 0; i < DROPPED; i++)
        was_null[i] = mgc_weak_get(dropped_handles[i]) == NULL;
    collect(2);
    for (int i = 0; i < DROPPED; i++)
        if (was_null[i])
            CHECK(mgc_weak_get(dropped_handles[i]) == NULL);
}

TEST(weak_new_refuses_what_is_not_an_object)
{
    static char global[32];
    char *p = mgc_alloc(64);
    char *m = malloc(16);
    errno = 0;
    CHECK(mgc_weak_new(NULL) == NULL && errno == EINVAL);
    CHECK(mgc_weak_new(global) == NULL && errno == EINVAL);
    CHECK(mgc_weak_new(m) == NULL && errno == EINVAL);
    CHECK(mgc_weak_new(p + 8) == NULL && errno == EINVAL);
    /* Inside a tiny block, as mgc_set_finalizer accepts. */
    char *t1 = mgc_alloc_noscan(4), *t2 = mgc_alloc_noscan(4);
    CHECK(mgc_weak_new(t1) != NULL);
    CHECK(mgc_weak_new(t2) != NULL);
    mgc_free(p);
    CHECK(mgc_weak_new(p) == NULL && errno == EINVAL);
    free(m);
}

/* Handles checked from inside finalizers. */
enum { FINALIZED = 100 };
static mgc_weak *finalized_handles[FINALIZED];
static int finalizer_saw[FINALIZED]; /* 1: handle read NULL, -1: it did not */
static uintptr_t resurrected[FINALIZED]; /* not hidden: a root once set */

static void check_handle_in_finalizer(void *obj, void *arg)
{
    uintptr_t i = (uintptr_t)arg;
    finalizer_saw[i] = mgc_weak_get(finalized_handles[i]) == NULL ? 1 : -1;
    if (*(uint64_t *)obj != 0xABCD0000u + i)
        finalizer_saw[i] = -2;
    if (i % 2 == 0)
        resurrected[i] = (uintptr_t)obj; /* made reachable again */
}

static NOINLINE void make_finalized_with_handles(void)
{
    for (uintptr_t i = 0; i < FINALIZED; i++) {
        uint64_t *p = mgc_alloc(32 + (i % 3) * 16);
        *p = 0xABCD0000u + i;
        finalized_handles[i] = mgc_weak_new(p);
        CHECK(mgc_set_finalizer(p, check_handle_in_finalizer, (void *)i) == 0);
    }
}

TEST(handles_read_null_before_the_finalizer_runs_and_never_again_after_resurrection)
{
    mgc_set_finalizer_mode(MGC_FINALIZE_MANUAL);
    make_finalized_with_handles();
    collect(4);
    int ran = 0;
    for (int i = 0; i < FINALIZED; i++) {
        CHECK(finalizer_saw[i] >= 0);
        ran += finalizer_saw[i];
    }
    CHECK(ran >= FINALIZED * 9 / 10);
    /* The resurrected ones stay alive and intact, and no handle gives them out. */
    for (int round = 0; round < 3; round++) {
        for (int j = 0; j < 20000; j++)
            mgc_alloc(48);
        collect(1);
        for (int i = 0; i < FINALIZED; i += 2) {
            if (!resurrected[i])
                continue;
            CHECK(*(uint64_t *)resurrected[i] == 0xABCD0000u + (unsigned)i);
            CHECK(mgc_weak_get(finalized_handles[i]) == NULL);
        }
    }
}

/* The handles themselves are collected, with their registrations. */
static void *handle_target;

static NOINLINE void make_many_handles(int n)
{
    for (int i = 0; i < n; i++)
        CHECK(mgc_weak_new(handle_target) != NULL);
    for (int i = 0; i < n / 10; i++) /* and some to objects that die too */
        CHECK(mgc_weak_new(mgc_alloc(24)) != NULL);
}

TEST(dropped_handles_are_collected_with_their_registrations)
{
    handle_target = mgc_alloc(64);
    collect(2);
    struct mgc_stats before, after;
    mgc_read_stats(&before);
    size_t links_before = weak_links_count();
    for (int round = 0; round < 5; round++)
        make_many_handles(20000);
    CHECK(weak_links_count() >= links_before + 20000);
    collect(4);
    mgc_read_stats(&after);
    size_t links_after = weak_links_count();
    if (links_after > links_before + 1000)
        fprintf(stderr, "registrations: %zu before, %zu after\n", links_before, links_after);
    CHECK(links_after <= links_before + 1000);
    CHECK(after.heap_objects <= before.heap_objects + 2000);
    CHECK(after.heap_alloc <= before.heap_alloc + 256 * 1024);
}

/* ---- Weak links -------------------------------------------------------------------------------- */

/* Link words in malloc(3) memory: never scanned. */
static void **links;
static void **new_links(size_t n)
{
    links = calloc(n, sizeof *links);
    CHECK(links != NULL);
    return links;
}

static void *live_object; /* a root */

/* Instances of one scenario, each with its own links: a conservative scan
 * may keep one object or another alive through a stale word, so the tests
 * check every rule on each instance and ask that most of them die. */
enum { INSTANCES = 32, LINKS_EACH = 4 };
static void **instance_links(int i) { return links + LINKS_EACH * i; }

/* Instance i: an object of 48 bytes (0x5A) with a short link (word 0) and a
 * long link to byte 20 (word 1), and short and long links to live_object
 * (words 2 and 3), which must stay. */
static NOINLINE void register_short_and_long(mgc_finalizer_fn fn)
{
    for (uintptr_t i = 0; i < INSTANCES; i++) {
        void **l = instance_links((int)i);
        void *p = mgc_alloc(48);
        memset(p, 0x5A, 48);
        if (fn)
            CHECK(mgc_set_finalizer(p, fn, (void *)i) == 0);
        l[0] = p;
        l[1] = (char *)p + 20;
        CHECK(mgc_weak_link_register(&l[0], p, 0) == 0);
        CHECK(mgc_weak_link_register(&l[1], (char *)p + 20, MGC_WEAK_LINK_LONG) == 0);
        l[2] = l[3] = live_object;
        CHECK(mgc_weak_link_register(&l[2], live_object, 0) == 0);
        CHECK(mgc_weak_link_register(&l[3], live_object, MGC_WEAK_LINK_LONG) == 0);
    }
}

static void check_live_links(void)
{
    for (int i = 0; i < INSTANCES; i++)
        CHECK(instance_links(i)[2] == live_object && instance_links(i)[3] == live_object);
}

TEST(short_and_long_links_are_cleared_when_the_object_dies)
{
    new_links(LINKS_EACH * INSTANCES);
    live_object = mgc_alloc(32);
    register_short_and_long(NULL);
    collect(3);
    int cleared = 0;
    for (int i = 0; i < INSTANCES; i++) {
        void **l = instance_links(i);
        /* Without a finalizer, both go in the same collection. */
        CHECK((l[0] == NULL) == (l[1] == NULL));
        if (l[0])
            CHECK(((unsigned char *)l[0])[47] == 0x5A);
        cleared += l[0] == NULL;
    }
    CHECK(cleared >= INSTANCES * 3 / 4);
    check_live_links();
    CHECK_EQ(weak_links_count(), (size_t)(2 * INSTANCES + 2 * (INSTANCES - cleared)));
    /* A cleared link's registration ended with the clearing. */
    for (int i = 0; i < INSTANCES; i++) {
        void **l = instance_links(i);
        CHECK(mgc_weak_link_unregister(&l[0]) == (l[0] ? 0 : MGC_EINVAL));
        CHECK(mgc_weak_link_unregister(&l[2]) == 0);
    }
}

static int link_finalizer_ran[INSTANCES]; /* 1 ran as expected, -1 saw wrong links */
static void check_links_in_finalizer(void *obj, void *arg)
{
    uintptr_t i = (uintptr_t)arg;
    void **l = instance_links((int)i);
    /* The short link is gone, the long one still names the object. */
    bool right = l[0] == NULL && l[1] == (char *)obj + 20 && ((unsigned char *)obj)[47] == 0x5A;
    link_finalizer_ran[i] = right ? 1 : -1;
}

TEST(long_links_stay_while_the_object_waits_for_its_finalizer)
{
    mgc_set_finalizer_mode(MGC_FINALIZE_MANUAL);
    new_links(LINKS_EACH * INSTANCES);
    live_object = mgc_alloc(32);
    register_short_and_long(check_links_in_finalizer);
    for (int round = 0; round < 4; round++) {
        scrub_stack();
        mgc_collect();
        size_t waiting = 0;
        for (int i = 0; i < INSTANCES; i++) {
            void **l = instance_links(i);
            if (link_finalizer_ran[i]) {
                CHECK(l[0] == NULL);
            } else if (l[0] == NULL) {
                CHECK(l[1] != NULL); /* kept for its finalizer: not cleared */
                waiting++;
            } else {
                CHECK(l[1] != NULL);
            }
        }
        CHECK_EQ(mgc_finalizers_pending(), waiting);
        CHECK_EQ(mgc_run_finalizers(), waiting);
        CHECK_EQ(mgc_finalizers_pending(), 0);
    }
    int ran = 0;
    for (int i = 0; i < INSTANCES; i++) {
        CHECK(link_finalizer_ran[i] >= 0);
        ran += link_finalizer_ran[i];
    }
    CHECK(ran >= INSTANCES * 3 / 4);
    /* Finalized and left unreachable: freed, long link cleared. */
    collect(2);
    int cleared = 0;
    for (int i = 0; i < INSTANCES; i++)
        cleared += link_finalizer_ran[i] && instance_links(i)[1] == NULL;
    CHECK(cleared >= ran * 3 / 4);
    check_live_links();
}

static void *resurrected_objects[INSTANCES];
static void resurrect(void *obj, void *arg)
{
    resurrected_objects[(uintptr_t)arg] = obj;
}

TEST(a_long_link_follows_a_resurrected_object_and_a_short_one_does_not)
{
    mgc_set_finalizer_mode(MGC_FINALIZE_MANUAL);
    new_links(LINKS_EACH * INSTANCES);
    live_object = mgc_alloc(32);
    register_short_and_long(resurrect);
    collect(4);
    int resurrected = 0;
    for (int round = 0; round < 3; round++) {
        resurrected = 0;
        for (int i = 0; i < INSTANCES; i++) {
            void **l = instance_links(i);
            if (!resurrected_objects[i])
                continue;
            resurrected++;
            CHECK(l[0] == NULL);
            CHECK(l[1] == (char *)resurrected_objects[i] + 20);
            CHECK(((unsigned char *)resurrected_objects[i])[47] == 0x5A);
        }
        collect(1);
    }
    CHECK(resurrected >= INSTANCES * 3 / 4);
    /* Dropped again (their finalizers are gone): now the long links go. */
    uintptr_t hidden[INSTANCES];
    for (int i = 0; i < INSTANCES; i++) {
        hidden[i] = hide(resurrected_objects[i]);
        resurrected_objects[i] = NULL;
    }
    collect(3);
    int cleared = 0;
    for (int i = 0; i < INSTANCES; i++)
        if (unhide(hidden[i]))
            cleared += instance_links(i)[1] == NULL;
    CHECK(cleared >= resurrected * 3 / 4);
    check_live_links();
}

/* ---- A link word inside an object that dies ---------------------------------------------------- */

enum { HOLDER_SIZE = 96, REUSE = 4000 };
static uintptr_t holder_hidden;
static void *link_target; /* a root until the test drops it */

static NOINLINE void make_holder(void)
{
    void **holder = mgc_alloc_noscan(HOLDER_SIZE);
    holder_hidden = hide(holder);
    holder[3] = link_target;
    CHECK(mgc_weak_link_register(&holder[3], link_target, 0) == 0);
    CHECK(mgc_weak_link_register(&holder[5], link_target, MGC_WEAK_LINK_LONG) == 0);
}

static unsigned char *reused[REUSE];

/* Fill REUSE objects of the holder's class with patterns; true when one of
 * them took the holder's slot. */
static NOINLINE bool reuse_holder_class(void)
{
    bool took_slot = false;
    for (int i = 0; i < REUSE; i++) {
        reused[i] = mgc_alloc_noscan(HOLDER_SIZE);
        fill_pattern(reused[i], HOLDER_SIZE, 7);
        took_slot |= reused[i] == unhide(holder_hidden);
    }
    return took_slot;
}

static NOINLINE void drop_target_and_check_reused(void)
{
    link_target = NULL;
    collect(3);
    for (int i = 0; i < REUSE; i++)
        CHECK(check_pattern(reused[i], HOLDER_SIZE, 7));
}

static void never_runs(void *obj, void *arg) { (void)obj, (void)arg; abort(); }
static void *volatile finalizable_and_live; /* volatile: the store must happen */

/* The same with a finalizer set somewhere: the collector then settles
 * registrations in two walks, around the queueing of finalizers. */
TEST(a_registration_goes_with_the_object_holding_its_link_with_finalizers_about)
{
    finalizable_and_live = mgc_alloc(24);
    CHECK(mgc_set_finalizer(finalizable_and_live, never_runs, NULL) == 0);
    link_target = mgc_alloc(40);
    make_holder();
    CHECK_EQ(weak_links_count(), 2);
    collect(3);
    CHECK_EQ(weak_links_count(), 0);
    CHECK(reuse_holder_class());
    drop_target_and_check_reused();
}

TEST(a_registration_goes_with_the_object_holding_its_link)
{
    link_target = mgc_alloc(40);
    make_holder();
    CHECK_EQ(weak_links_count(), 2);
    collect(3);
    CHECK_EQ(weak_links_count(), 0);
    CHECK(reuse_holder_class());
    /* Had the registrations stayed, clearing them now would write into a
     * reused slot. */
    drop_target_and_check_reused();
}

TEST(mgc_free_drops_registrations_whose_link_lies_in_the_object)
{
    link_target = mgc_alloc(40);
    make_holder();
    mgc_free(unhide(holder_hidden));
    CHECK_EQ(weak_links_count(), 0);
    CHECK(reuse_holder_class());
    drop_target_and_check_reused();
}

TEST(mgc_free_clears_links_and_handles_to_the_object)
{
    new_links(3);
    char *p = mgc_alloc(200), *large = mgc_alloc(60000);
    CHECK(mgc_weak_link_register(&links[0], p + 100, 0) == 0);
    CHECK(mgc_weak_link_register(&links[1], large + 50000, MGC_WEAK_LINK_LONG) == 0);
    mgc_weak *w = mgc_weak_new(p);
    links[0] = p + 100;
    links[1] = large + 50000;
    mgc_free(p);
    CHECK(links[0] == NULL);
    CHECK(mgc_weak_get(w) == NULL);
    CHECK(links[1] == large + 50000);
    mgc_free(large);
    CHECK(links[1] == NULL);
    CHECK_EQ(weak_links_count(), 0);
    /* A packed tiny object: links to exactly it are cleared, a neighbour's stay. */
    char *t1 = mgc_alloc_noscan(4), *t2 = mgc_alloc_noscan(4);
    CHECK(mgc_base(t1) == mgc_base(t2));
    links[0] = t1;
    links[2] = t2;
    CHECK(mgc_weak_link_register(&links[0], t1, 0) == 0);
    CHECK(mgc_weak_link_register(&links[2], t2, 0) == 0);
    mgc_free(t1);
    CHECK(links[0] == NULL && links[2] == t2);
    CHECK_EQ(weak_links_count(), 1);
}

/* ---- Registering, unregistering, moving ---------------------------------------------------------- */

TEST(register_unregister_and_move_check_their_arguments)
{
    new_links(8);
    void *obj = mgc_alloc(64);
    static void *global_word;
    char *m = malloc(64);
    CHECK(mgc_weak_link_register(&links[0], obj, 0) == 0);
    CHECK(mgc_weak_link_register(&links[0], obj, 0) == MGC_EEXIST);
    CHECK(mgc_weak_link_register(NULL, obj, 0) == MGC_EINVAL);
    CHECK(mgc_weak_link_register((void **)((char *)&links[1] + 4), obj, 0) == MGC_EINVAL);
    CHECK(mgc_weak_link_register(&links[1], obj, 4) == MGC_EINVAL);
    CHECK(mgc_weak_link_register(&links[1], m, 0) == MGC_EINVAL);
    CHECK(mgc_weak_link_register(&links[1], &global_word, 0) == MGC_EINVAL);
    CHECK(mgc_weak_link_register(&links[1], NULL, 0) == MGC_EINVAL);
    CHECK(mgc_weak_link_register(&global_word, (char *)obj + 63, 0) == 0); /* interior: fine */
    /* A link word in heap memory that holds no object. */
    void **freed = mgc_alloc_noscan(64);
    mgc_free(freed);
    CHECK(mgc_weak_link_register(&freed[1], obj, 0) == MGC_EINVAL);

    CHECK(mgc_weak_link_unregister(&links[1]) == MGC_EINVAL);
    CHECK(mgc_weak_link_unregister(NULL) == MGC_EINVAL);
    CHECK(mgc_weak_link_move(&links[1], &links[2]) == MGC_EINVAL); /* not registered */
    CHECK(mgc_weak_link_move(&links[0], NULL) == MGC_EINVAL);
    CHECK(mgc_weak_link_move(&links[0], &global_word) == MGC_EEXIST);
    CHECK(mgc_weak_link_move(&links[0], &links[0]) == 0);
    CHECK(mgc_weak_link_move(&links[0], &freed[1]) == MGC_EINVAL);
    CHECK(mgc_weak_link_move(&links[0], &links[4]) == 0);
    CHECK(mgc_weak_link_unregister(&links[0]) == MGC_EINVAL);
    CHECK(mgc_weak_link_unregister(&global_word) == 0);
    CHECK_EQ(weak_links_count(), 1);
    free(m);
}

static NOINLINE void make_moved_and_unregistered(void)
{
    void *a = mgc_alloc(64), *b = mgc_alloc(64);
    links[0] = a;
    links[1] = b;
    links[3] = live_object;
    CHECK(mgc_weak_link_register(&links[0], a, 0) == 0);
    CHECK(mgc_weak_link_register(&links[1], b, MGC_WEAK_LINK_LONG) == 0);
    CHECK(mgc_weak_link_register(&links[3], live_object, 0) == 0);
    CHECK(mgc_weak_link_unregister(&links[0]) == 0);
    links[2] = links[1];
    CHECK(mgc_weak_link_move(&links[1], &links[2]) == 0);
    /* Moved into a heap object (noscan) that dies later. */
    void **holder = mgc_alloc_noscan(32);
    holder[0] = live_object;
    CHECK(mgc_weak_link_move(&links[3], &holder[0]) == 0);
}

TEST(unregistered_links_stay_and_moved_links_clear_their_new_word)
{
    new_links(4);
    live_object = mgc_alloc(32);
    make_moved_and_unregistered();
    collect(3);
    CHECK(links[0] != NULL); /* unregistered: never written */
    CHECK(links[1] != NULL); /* moved away: not written */
    CHECK(links[2] == NULL); /* its new word, cleared */
    CHECK(links[3] == live_object);
    CHECK_EQ(weak_links_count(), 0); /* the holder of the moved link died */
}

/* ---- Tiny objects: the whole block decides ---------------------------------------------------- */

static void *tiny_keepers[INSTANCES];

/* Pairs a, b of 4-byte objects in one block; links to both; b kept. */
static NOINLINE void make_tiny_pairs(void)
{
    for (int i = 0; i < INSTANCES; i++) {
        char *a = mgc_alloc_noscan(4), *b = mgc_alloc_noscan(4);
        CHECK(mgc_base(a) == mgc_base(b));
        void **l = instance_links(i);
        l[0] = a;
        l[1] = b;
        CHECK(mgc_weak_link_register(&l[0], a, 0) == 0);
        CHECK(mgc_weak_link_register(&l[1], b, MGC_WEAK_LINK_LONG) == 0);
        tiny_keepers[i] = b;
    }
}

TEST(a_link_to_a_tiny_object_is_cleared_only_with_its_whole_block)
{
    new_links(LINKS_EACH * INSTANCES);
    make_tiny_pairs();
    collect(3);
    /* b's pointer keeps the block, and with it a. */
    for (int i = 0; i < INSTANCES; i++) {
        void **l = instance_links(i);
        CHECK(l[1] == tiny_keepers[i]);
        CHECK(l[0] != NULL && mgc_base(l[0]) == mgc_base(l[1]));
    }
    for (int i = 0; i < INSTANCES; i++)
        tiny_keepers[i] = NULL;
    collect(3);
    int cleared = 0;
    for (int i = 0; i < INSTANCES; i++) {
        void **l = instance_links(i);
        CHECK((l[0] == NULL) == (l[1] == NULL));
        cleared += l[0] == NULL;
    }
    CHECK(cleared >= INSTANCES * 3 / 4);
}

/* ---- Uncollectable objects are never cleared ----------------------------------------------------- */

TEST(links_to_uncollectable_objects_stay_until_mgc_free)
{
    new_links(2);
    uintptr_t hidden = hide(mgc_alloc_flags(80, MGC_UNCOLLECTABLE));
    links[0] = unhide(hidden);
    CHECK(mgc_weak_link_register(&links[0], unhide(hidden), 0) == 0);
    mgc_weak *w = mgc_weak_new(unhide(hidden));
    collect(3);
    CHECK(links[0] == unhide(hidden));
    CHECK(mgc_weak_get(w) == unhide(hidden));
    mgc_free(unhide(hidden));
    CHECK(links[0] == NULL && mgc_weak_get(w) == NULL);
}

/* ---- Under pressure ---------------------------------------------------------------------------- */

enum { PRESSURE = 6000 };
static void *pressure_live[PRESSURE];   /* even indices: kept reachable */
static mgc_weak *pressure_handles[PRESSURE];
static size_t pressure_size[PRESSURE];

static NOINLINE void make_pressure_objects(void)
{
    uint64_t rng = 12345;
    for (int i = 0; i < PRESSURE; i++) {
        size_t size = (random_next(&rng) >> 60) == 0 ? 33000 + (size_t)(i % 5) * 1000 : 8 + (random_next(&rng) >> 56);
        bool tiny = size < 16 && (i % 2);
        unsigned char *p = tiny ? mgc_alloc_noscan(size) : mgc_alloc(size);
        CHECK(p != NULL);
        pressure_size[i] = size;
        fill_pattern(p, size, (unsigned)i);
        links[i] = p;
        CHECK(mgc_weak_link_register(&links[i], p, (i % 3 == 0) ? MGC_WEAK_LINK_LONG : 0) == 0);
        pressure_handles[i] = mgc_weak_new(p);
        CHECK(pressure_handles[i] != NULL);
        if (i % 2 == 0)
            pressure_live[i] = p;
    }
}

static NOINLINE void churn(int n)
{
    for (int j = 0; j < n; j++) {
        void **q = mgc_alloc(16 + (size_t)(j % 10) * 16);
        q[0] = q; /* some structure, so that marking has work */
    }
}

TEST(under_pressure_reachable_objects_keep_their_links_and_bytes)
{
    new_links(PRESSURE);
    make_pressure_objects();
    bool cleared[PRESSURE] = {false};
    for (int round = 0; round < 12; round++) {
        churn(30000);
        scrub_stack();
        mgc_collect();
        for (int i = 0; i < PRESSURE; i++) {
            void *h = mgc_weak_get(pressure_handles[i]);
            if (i % 2 == 0) {
                /* Reachable: never cleared, never freed. */
                CHECK(links[i] == pressure_live[i]);
                CHECK(h == pressure_live[i]);
                CHECK(check_pattern(pressure_live[i], pressure_size[i], (unsigned)i));
            } else {
                if (cleared[i])
                    CHECK(links[i] == NULL && h == NULL);
                /* A handle reads NULL exactly when the short link is cleared. */
                if (i % 3 != 0)
                    CHECK((links[i] == NULL) == (h == NULL));
                cleared[i] = links[i] == NULL;
            }
        }
    }
    int dead = 0;
    for (int i = 1; i < PRESSURE; i += 2)
        dead += cleared[i];
    if (dead < PRESSURE / 2 * 9 / 10)
        fprintf(stderr, "only %d of %d cleared\n", dead, PRESSURE / 2);
    CHECK(dead >= PRESSURE / 2 * 9 / 10);
}

/* ---- Threads: handles and links made and read while others collect ----------------------------- */

enum { THREAD_OBJECTS = 3000 };

struct thread_work {
    unsigned seed;
    volatile int bad;
};

/* Keeps every other object in a scanned mgc array (reached from this
 * thread's stack), registers a handle and a link for each, and checks the
 * kept ones as it goes, while the main thread collects. */
static void *handles_under_collections(void *arg)
{
    struct thread_work *work = arg;
    void **kept = mgc_alloc(THREAD_OBJECTS * sizeof *kept);
    mgc_weak **handles = mgc_alloc(THREAD_OBJECTS * sizeof *handles);
    void **thread_links = calloc(THREAD_OBJECTS, sizeof *thread_links);
    size_t *sizes = calloc(THREAD_OBJECTS, sizeof *sizes);
    uint64_t rng = work->seed;
    for (int i = 0; i < THREAD_OBJECTS; i++) {
        sizes[i] = 8 + (random_next(&rng) >> 57);
        unsigned char *p = (i % 5 == 0) ? mgc_alloc_noscan(sizes[i]) : mgc_alloc(sizes[i]);
        fill_pattern(p, sizes[i], work->seed + (unsigned)i);
        handles[i] = mgc_weak_new(p);
        thread_links[i] = p;
        if (!handles[i])
            work->bad = 1;
        int result = mgc_weak_link_register(&thread_links[i], p, 0);
        if (result != 0) {
            fprintf(stderr, "register: %d\n", result);
            work->bad = 3;
        }
        if (i % 2 == 0)
            kept[i] = p;
        if (i % 100 == 99) {
            for (int k = 0; k <= i; k += 2) {
                unsigned char *q = mgc_weak_get(handles[k]);
                if (q != kept[k] || thread_links[k] != kept[k] ||
                    !check_pattern(q, sizes[k], work->seed + (unsigned)k))
                    work->bad = 2;
            }
            for (int j = 0; j < 500; j++)
                mgc_alloc(32); /* garbage, so that automatic collections come too */
        }
    }
    /* Before the words go back to malloc: the kept ones are still
     * registered, the others unless a collection cleared them. */
    for (int k = 0; k < THREAD_OBJECTS; k++) {
        int result = mgc_weak_link_unregister(&thread_links[k]);
        if (k % 2 == 0 ? result != 0 : (result != 0) != (thread_links[k] == NULL))
            work->bad = 4;
    }
    free(thread_links);
    free(sizes);
    return NULL;
}

TEST(handles_and_links_made_on_two_threads_while_a_third_collects)
{
    pthread_t threads[2];
    struct thread_work work[2] = {{.seed = 11}, {.seed = 5000}};
    for (int t = 0; t < 2; t++)
        CHECK(pthread_create(&threads[t], NULL, handles_under_collections, &work[t]) == 0);
    for (int i = 0; i < 30; i++) {
        mgc_collect();
        usleep(2000);
    }
    for (int t = 0; t < 2; t++) {
        pthread_join(threads[t], NULL);
        CHECK_EQ(work[t].bad, 0);
    }
}

/* ---- Reading a hidden link with collections held off ------------------------------------------
 *
 * A link stored inverted (Boehm's GC_HIDE_POINTER) keeps nothing alive,
 * and a thread that has read it holds no pointer until it inverts the
 * value again. Inside mgc_call_without_collection, no collection can
 * clear the link and free the object between the read and the use: every
 * object read there still holds its pattern. Without it (the reader's
 * loop body called directly: hidden_links_broken_reads(false)), a
 * collection stops the reader between the two, frees the object, and the
 * main thread's garbage takes its slot: the reader saw a broken pattern in
 * 5 runs out of 5. */
enum { HIDDEN_OBJECTS = 64, HIDDEN_SIZE = 48 };
static uintptr_t hidden_words[HIDDEN_OBJECTS]; /* ~object, or 0 once cleared */
static volatile int hidden_stop;
static volatile long hidden_broken, hidden_reads;

static void *read_one_hidden(void *arg)
{
    uintptr_t *word = arg;
    uintptr_t hidden = __atomic_load_n(word, __ATOMIC_RELAXED);
    for (volatile int spin = 0; spin < 200; spin++) {
    }
    if (hidden == 0)
        return NULL;
    unsigned char *object = (unsigned char *)~hidden;
    if (!check_pattern(object, HIDDEN_SIZE, 77))
        hidden_broken++;
    hidden_reads++;
    return object;
}

static void *hidden_reader(void *use_call)
{
    for (unsigned i = 0; !hidden_stop; i++) {
        uintptr_t *word = &hidden_words[i % HIDDEN_OBJECTS];
        if (use_call)
            mgc_call_without_collection(read_one_hidden, word);
        else
            read_one_hidden(word);
    }
    return NULL;
}

static NOINLINE void make_hidden_objects(void)
{
    for (int i = 0; i < HIDDEN_OBJECTS; i++) {
        unsigned char *object = mgc_alloc_noscan(HIDDEN_SIZE);
        CHECK(object != NULL);
        fill_pattern(object, HIDDEN_SIZE, 77);
        /* A link whose object a stale word kept alive is still registered. */
        mgc_weak_link_unregister((void **)&hidden_words[i]);
        __atomic_store_n(&hidden_words[i], ~(uintptr_t)object, __ATOMIC_RELAXED);
        CHECK(mgc_weak_link_register((void **)&hidden_words[i], object, 0) == 0);
    }
}

static long hidden_links_broken_reads(bool use_call)
{
    mgc_register_thread();
    hidden_stop = 0;
    hidden_broken = hidden_reads = 0;
    pthread_t reader;
    CHECK(pthread_create(&reader, NULL, hidden_reader, use_call ? (void *)1 : NULL) == 0);
    for (int round = 0; round < 2000 && hidden_broken == 0; round++) {
        make_hidden_objects();
        scrub_stack();
        mgc_collect(); /* clears the links of the objects and frees them */
        for (int i = 0; i < 2 * HIDDEN_OBJECTS; i++)
            memset(mgc_alloc_noscan(HIDDEN_SIZE), 0xee, HIDDEN_SIZE);
    }
    hidden_stop = 1;
    CHECK(pthread_join(reader, NULL) == 0);
    CHECK(hidden_reads > 0);
    return hidden_broken;
}

TEST(hidden_links_read_without_collection_never_yield_a_freed_object)
{
    CHECK_EQ(hidden_links_broken_reads(true), 0);
}

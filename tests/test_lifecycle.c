/*
 * test_lifecycle.c: a thread's life as mgc sees it: registered by its first
 * call into mgc, whatever the call.
 */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "mgc_internal.h"

/* ---- Every call registers the thread --------------------------------------------------------
 *
 * A new thread makes one call into mgc, and holds an object (handed over
 * through a global it then clears) only on its stack, while the main thread
 * allocates garbage and collects. The object must keep its pattern: the
 * thread's stack was a root. Before, mgc_init, mgc_base, mgc_usable_size,
 * mgc_realloc in place, mgc_free of a tiny object and mgc_free(NULL) left the
 * thread unregistered: the object was freed and reused (its pattern gone). */

enum { HELD_SIZE = 4096, HELD_SEED = 77 };

enum entry { ENTRY_INIT, ENTRY_BASE, ENTRY_USABLE_SIZE, ENTRY_REALLOC, ENTRY_FREE_TINY, ENTRY_FREE_NULL };

static void *volatile handoff;
static void *tiny_object;
static volatile int holder_ready, collections_done;

static NOINLINE void *take_handoff(void)
{
    void *p = handoff;
    handoff = NULL;
    return p;
}

static void *holder(void *arg)
{
    enum entry entry = (enum entry)(intptr_t)arg;
    unsigned char *volatile held = take_handoff();
    bool registered_before = mgc_tls.record != NULL;
    switch (entry) {
    case ENTRY_INIT:
        mgc_init();
        break;
    case ENTRY_BASE:
        CHECK(mgc_base(held + 10) == held);
        break;
    case ENTRY_USABLE_SIZE:
        CHECK(mgc_usable_size(held) >= HELD_SIZE);
        break;
    case ENTRY_REALLOC:
        CHECK(mgc_realloc(held, 100) == held); /* fits: kept in place */
        break;
    case ENTRY_FREE_TINY:
        mgc_free(tiny_object);
        break;
    case ENTRY_FREE_NULL:
        mgc_free(NULL);
        break;
    }
    CHECK(!registered_before);
    CHECK(mgc_tls.record != NULL);
    __atomic_store_n(&holder_ready, 1, __ATOMIC_RELEASE);
    while (!__atomic_load_n(&collections_done, __ATOMIC_ACQUIRE))
        usleep(1000);
    return (void *)(intptr_t)check_pattern(held, HELD_SIZE, HELD_SEED);
}

static NOINLINE void hand_over_object(void)
{
    void *p = mgc_alloc(HELD_SIZE);
    CHECK(p != NULL);
    fill_pattern(p, HELD_SIZE, HELD_SEED);
    handoff = p;
}

static void garbage_and_collections(void)
{
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 5000; i++)
            memset(mgc_alloc(HELD_SIZE), 0xEE, HELD_SIZE);
        mgc_collect();
    }
}

static void one_call_registers(enum entry entry)
{
    hand_over_object();
    tiny_object = mgc_alloc_noscan(4);
    scrub_stack(); /* no copy of the object's address on this stack */
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, holder, (void *)(intptr_t)entry) == 0);
    while (!__atomic_load_n(&holder_ready, __ATOMIC_ACQUIRE))
        usleep(1000);
    garbage_and_collections();
    __atomic_store_n(&collections_done, 1, __ATOMIC_RELEASE);
    void *kept;
    CHECK(pthread_join(thread, &kept) == 0);
    CHECK(kept == (void *)1);
}

TEST(mgc_init_registers_the_thread) { one_call_registers(ENTRY_INIT); }
TEST(mgc_base_registers_the_thread) { one_call_registers(ENTRY_BASE); }
TEST(mgc_usable_size_registers_the_thread) { one_call_registers(ENTRY_USABLE_SIZE); }
TEST(mgc_realloc_in_place_registers_the_thread) { one_call_registers(ENTRY_REALLOC); }
TEST(mgc_free_of_a_tiny_object_registers_the_thread) { one_call_registers(ENTRY_FREE_TINY); }
TEST(mgc_free_null_registers_the_thread) { one_call_registers(ENTRY_FREE_NULL); }

/*
 * test_collect.c: collection control, statistics, roots and callbacks of
 * the Boehm GC layer.
 */
#include <gc.h>
#include <gc/gc_mark.h>
#include <stdint.h>

#include "gc_cases.h"

static void *hidden_object;
static void __attribute__((noinline)) make_garbage_object(void)
{
    hidden_object = (void *)GC_HIDE_POINTER(GC_MALLOC(256));
}

static int __attribute__((noinline)) object_alive(void)
{
    void *p = GC_REVEAL_POINTER((GC_word)hidden_object);
    return GC_base(p) == p;
}

CASE(disable_stops_gcollect_and_nests)
{
    GC_INIT();
    CHECK(!GC_is_disabled());
    GC_disable();
    GC_disable();
    CHECK(GC_is_disabled());
    make_garbage_object();
    clear_stack_below();
    GC_word before = GC_get_gc_no();
    GC_gcollect();
    CHECK(GC_get_gc_no() == before);
    CHECK(GC_try_to_collect(GC_get_stop_func()) == 0);
    /* No automatic collection either, however much is allocated. */
    for (int i = 0; i < 20000; i++)
        GC_MALLOC(1024);
    CHECK(GC_get_gc_no() == before);
    CHECK(object_alive());
    GC_enable();
    CHECK(GC_is_disabled());
    GC_gcollect();
    CHECK(GC_get_gc_no() == before);
    GC_enable();
    CHECK(!GC_is_disabled());
    GC_gcollect();
    CHECK(GC_get_gc_no() > before);
    CHECK(!object_alive());
}

CASE(dont_gc_variable_and_automatic_switch)
{
    GC_INIT();
    GC_dont_gc = 1;
    GC_word before = GC_get_gc_no();
    for (int i = 0; i < 20000; i++)
        GC_MALLOC(1024);
    GC_gcollect();
    CHECK(GC_get_gc_no() == before);
    CHECK(GC_is_disabled());
    GC_dont_gc = 0;
    GC_gcollect();
    CHECK(GC_get_gc_no() > before);
    /* Automatic collection off, explicit collection on. */
    GC_set_disable_automatic_collection(1);
    CHECK(GC_get_disable_automatic_collection());
    before = GC_get_gc_no();
    for (int i = 0; i < 40000; i++)
        GC_MALLOC(1024);
    CHECK(GC_get_gc_no() == before);
    GC_gcollect();
    CHECK(GC_get_gc_no() == before + 1);
    GC_set_disable_automatic_collection(0);
    for (int i = 0; i < 200000; i++)
        GC_MALLOC(1024);
    CHECK(GC_get_gc_no() > before + 1);
}

static int stop_now(void)
{
    return 1;
}

CASE(statistics_follow_allocation)
{
    GC_INIT();
    GC_gcollect();
    size_t total = GC_get_total_bytes();
    CHECK(GC_get_bytes_since_gc() < 4096);
    for (int i = 0; i < 1000; i++)
        GC_MALLOC(1000);
    CHECK(GC_get_total_bytes() >= total + 1000 * 1000);
    CHECK(GC_get_bytes_since_gc() >= 1000 * 1000);
    CHECK(GC_get_heap_size() >= 1000 * 1000);
    CHECK(GC_get_heap_size() >= GC_get_free_bytes());
    CHECK(GC_get_memory_use() >= 1000 * 1000 / 2);
    CHECK(GC_get_obtained_from_os_bytes() >= GC_get_heap_size());
    GC_word heap, free_bytes, unmapped, since, all;
    GC_get_heap_usage_safe(&heap, &free_bytes, &unmapped, &since, &all);
    CHECK(heap >= free_bytes && since >= 1000 * 1000 && all >= since);
    GC_word gc_no = GC_get_gc_no();
    GC_gcollect();
    CHECK(GC_get_gc_no() == gc_no + 1 && GC_gc_no == gc_no + 1);
    CHECK(GC_get_bytes_since_gc() < 4096);
    struct GC_prof_stats_s stats;
    CHECK(GC_get_prof_stats(&stats, sizeof stats) == sizeof stats);
    CHECK(stats.gc_no == gc_no + 1 && stats.heapsize_full == GC_get_heap_size());
    /* A smaller caller's struct is filled only as far as it goes. */
    GC_word two[3] = {0, 0, 12345};
    CHECK(GC_get_prof_stats((struct GC_prof_stats_s *)two, 2 * sizeof(GC_word)) == 2 * sizeof(GC_word));
    CHECK(two[0] != 0 && two[2] == 12345);
    CHECK(GC_try_to_collect(stop_now) == 0);
    CHECK(GC_get_gc_no() == gc_no + 1);
    GC_start_performance_measurement();
    GC_gcollect();
    (void)GC_get_full_gc_total_time();
    GC_dump();
    CHECK(GC_get_version() == ((8u << 16) | (2u << 8) | 2u));
}

/* Roots: malloc(3) memory is not scanned unless registered. */
static void **outside;
static void hang_object_outside(void)
{
    outside[0] = GC_MALLOC(128);
    memset(outside[0], 0x33, 128);
    hidden_object = (void *)GC_HIDE_POINTER(outside[0]);
}

/* Collections with some allocation between them until the hidden object
 * is gone (at most 5): a stale copy of its address in a dead stack slot or
 * an allocator register may survive one collection, never this many. */
static int dies_within_a_few_collections(void)
{
    for (int round = 0; round < 5; round++) {
        for (int i = 0; i < 1000; i++)
            GC_MALLOC(128);
        clear_stack_below();
        GC_gcollect();
        if (!object_alive())
            return 1;
    }
    return 0;
}

static void check_outside_object(void)
{
    for (int i = 0; i < 128; i++)
        CHECK(((unsigned char *)outside[0])[i] == 0x33);
}

CASE(added_roots_keep_objects_and_clear_roots_drops_them)
{
    GC_INIT();
    outside = malloc(4 * sizeof(void *));
    GC_add_roots(outside, outside + 4);
    on_own_thread(hang_object_outside);
    clear_stack_below();
    GC_gcollect();
    GC_gcollect();
    CHECK(object_alive());
    on_own_thread(check_outside_object);
    GC_remove_roots(outside, outside + 4);
    CHECK(dies_within_a_few_collections());

    GC_add_roots(outside, outside + 4);
    on_own_thread(hang_object_outside);
    clear_stack_below();
    GC_gcollect();
    CHECK(object_alive());
    GC_clear_roots();
    CHECK(dies_within_a_few_collections());
    GC_exclude_static_roots(outside, outside + 4); /* accepted */
}

static int events[16];
static void GC_CALLBACK count_event(GC_EventType e)
{
    if ((unsigned)e < 16)
        __atomic_add_fetch(&events[e], 1, __ATOMIC_RELAXED);
}

static int starts;
static void GC_CALLBACK count_start(void)
{
    starts++;
}

CASE(collection_events_and_start_callback)
{
    GC_INIT();
    GC_set_on_collection_event(count_event);
    CHECK(GC_get_on_collection_event() == count_event);
    GC_set_start_callback(count_start);
    GC_gcollect();
    GC_gcollect();
    CHECK(events[GC_EVENT_START] == 2 && events[GC_EVENT_END] == 2);
    CHECK(events[GC_EVENT_MARK_START] == 2 && events[GC_EVENT_MARK_END] == 2);
    CHECK(events[GC_EVENT_POST_STOP_WORLD] == 2 && events[GC_EVENT_PRE_START_WORLD] == 2);
    CHECK(starts == 2);
}

static const char *last_warning;
static void GC_CALLBACK remember_warning(char *msg, GC_word arg)
{
    (void)arg;
    last_warning = msg;
}

CASE(warn_proc_settings_and_no_op_modes)
{
    GC_INIT();
    CHECK(GC_get_warn_proc() != NULL);
    GC_set_warn_proc(remember_warning);
    CHECK(GC_get_warn_proc() == remember_warning);
    GC_set_find_leak(1); /* not supported: warns */
    CHECK(last_warning != NULL);
    GC_set_warn_proc(GC_ignore_warn_proc);
    GC_enable_incremental();
    CHECK(!GC_is_incremental_mode());
    CHECK(GC_collect_a_little() == 0);
    GC_set_all_interior_pointers(0);
    CHECK(GC_get_all_interior_pointers() == 0);
    GC_set_free_space_divisor(4);
    CHECK(GC_get_free_space_divisor() == 4);
    GC_set_max_heap_size(0);
    CHECK(GC_expand_hp(1 << 20) == 1);
    GC_set_no_dls(1);
    CHECK(GC_get_no_dls() == 1);
    GC_set_full_freq(5);
    CHECK(GC_get_full_freq() == 5);
    char *p = GC_MALLOC(64);
    GC_end_stubborn_change(p);
    GC_ptr_store_and_dirty(p, p);
    CHECK(*(void **)p == p);
    GC_noop1((GC_word)p);
    GC_reachable_here(p);
    GC_register_displacement(8);
    CHECK(GC_is_init_called());
    GC_start_mark_threads();
    GC_gcollect_and_unmap();
}

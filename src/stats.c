/*
 * stats.c: mgc_read_stats. The counters live where they change (per thread
 * cache, page heap, persistent allocator) and are folded together here.
 */
#include "mgc_internal.h"

void mgc_read_stats(struct mgc_stats *out)
{
    runtime_ensure_init();
    struct cache_counters caches;
    struct heap_counters heap;
    uint64_t gc_sys, other_sys, cacheless_frees, cacheless_freed, swept, swept_bytes;
    cache_sum_counters(&caches);
    free_read_cacheless_counters(&cacheless_frees, &cacheless_freed);
    sweep_read_counters(&swept, &swept_bytes);
    /* Busy while holding locks the collector takes with the world stopped. */
    busy_begin();
    heap_read_counters(&heap);
    persistent_read_counters(&gc_sys, &other_sys);
    busy_end();

    memset(out, 0, sizeof *out);
    out->total_alloc = caches.total_alloc;
    out->mallocs = caches.mallocs;
    out->tiny_allocs = caches.tiny_allocs;
    out->frees = caches.frees + cacheless_frees + swept;
    out->heap_alloc = caches.total_alloc - caches.freed_bytes - cacheless_freed - swept_bytes;
    out->heap_objects = out->mallocs - out->frees;
    out->heap_sys = heap.heap_sys;
    out->heap_inuse = heap.heap_inuse;
    out->heap_released = heap.heap_released;
    out->gc_sys = gc_sys;
    out->other_sys = other_sys;
    out->sys = heap.heap_sys + gc_sys + other_sys;
    out->finalizers_run = finalizers_run_count();
    gc_read_stats(out);
}

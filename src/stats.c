/*
 * stats.c: mgc_read_stats. The counters live where they change (per thread
 * cache, page heap, persistent allocator) and are folded together here.
 */
#include "mgc_internal.h"

/* Bytes and objects allocated and not yet freed (heap_alloc, heap_objects),
 * from the caches' summed counters and the frees made without a cache. */
static void fold_in_use(const struct cache_counters *caches, uint64_t *bytes, uint64_t *objects)
{
    uint64_t swept, swept_bytes, cacheless, cacheless_bytes;
    sweep_read_counters(&swept, &swept_bytes);
    free_read_cacheless_counters(&cacheless, &cacheless_bytes);
    *bytes = caches->total_alloc - caches->freed_bytes - swept_bytes - cacheless_bytes;
    *objects = caches->mallocs - caches->frees - swept - cacheless;
}

void stats_heap_in_use_locked(uint64_t *bytes, uint64_t *objects)
{
    struct cache_counters caches;
    cache_sum_counters_locked(&caches);
    fold_in_use(&caches, bytes, objects);
}

void mgc_read_stats(struct mgc_stats *out)
{
    runtime_ensure_init();
    struct cache_counters caches;
    struct heap_counters heap;
    uint64_t gc_sys, other_sys, heap_alloc, heap_objects;
    cache_sum_counters(&caches);
    fold_in_use(&caches, &heap_alloc, &heap_objects);
    /* Busy while holding locks the collector takes with the world stopped. */
    busy_begin();
    heap_read_counters(&heap);
    persistent_read_counters(&gc_sys, &other_sys);
    busy_end();

    memset(out, 0, sizeof *out);
    out->total_alloc = caches.total_alloc;
    out->mallocs = caches.mallocs;
    out->tiny_allocs = caches.tiny_allocs;
    out->heap_alloc = heap_alloc;
    out->heap_objects = heap_objects;
    out->frees = out->mallocs - heap_objects;
    out->heap_sys = heap.heap_sys;
    out->heap_inuse = heap.heap_inuse;
    out->heap_released = heap.heap_released;
    out->gc_sys = gc_sys;
    out->other_sys = other_sys;
    out->sys = heap.heap_sys + gc_sys + other_sys;
    out->finalizers_run = finalizers_run_count();
    gc_read_stats(out);
}

/*
 * gc.h: Boehm GC 8.2's programming interface, served by mgc.
 *
 * Programs written for Boehm GC compile against this header unchanged and
 * link with -lgc (this directory's libgc, which carries mgc inside it). The
 * semantics are Boehm's wherever a program could notice; where mgc cannot
 * do what Boehm does, the call is accepted and the comment says what
 * happens instead. The full table is in the README, "Coming from Boehm GC".
 *
 * The usual set-up: define GC_THREADS before including this header in a
 * threaded program, call GC_INIT() early in main, allocate with GC_MALLOC.
 */
#ifndef GC_H
#define GC_H

#include "gc_version.h"
#include "gc_config_macros.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef void *GC_PTR; /* old spelling, kept for old programs */
typedef unsigned long GC_word;
typedef long GC_signed_word;

/* Packed as major << 16 | minor << 8 | micro: the Boehm release mimicked. */
GC_API unsigned GC_CALL GC_get_version(void);

/* ---- Settings exported as variables --------------------------------------------------
 * Boehm exports these as data; they exist here too, so that old programs
 * that assign them still link and run. Prefer the setters: a value written
 * straight into a variable is only noticed where the comment says so. */

/* Completed collections (kept up to date at every collection's end). */
GC_API GC_ATTR_DEPRECATED GC_word GC_gc_no;
GC_API GC_word GC_CALL GC_get_gc_no(void);

#ifdef GC_THREADS
/* Nonzero once collections mark with more than one thread. */
GC_API GC_ATTR_DEPRECATED int GC_parallel;
GC_API int GC_CALL GC_get_parallel(void);
/* Marker threads; honoured before the collector is initialised. */
GC_API void GC_CALL GC_set_markers_count(unsigned);
#endif

/* Called with the size of a request that cannot be met; its result is what
 * the allocation returns. The default returns NULL. */
typedef void *(GC_CALLBACK *GC_oom_func)(size_t);
GC_API GC_ATTR_DEPRECATED GC_oom_func GC_oom_fn;
GC_API void GC_CALL GC_set_oom_fn(GC_oom_func) GC_ATTR_NONNULL(1);
GC_API GC_oom_func GC_CALL GC_get_oom_fn(void);

/* Called at the end of a collection after which the heap's size changed. */
typedef void (GC_CALLBACK *GC_on_heap_resize_proc)(GC_word);
GC_API GC_ATTR_DEPRECATED GC_on_heap_resize_proc GC_on_heap_resize;
GC_API void GC_CALL GC_set_on_heap_resize(GC_on_heap_resize_proc);
GC_API GC_on_heap_resize_proc GC_CALL GC_get_on_heap_resize(void);

/* Collection events. mgc reports, in order: START; POST_STOP_WORLD and
 * MARK_START, MARK_END and PRE_START_WORLD (these four with every other
 * thread stopped: the callback must not allocate or lock); END. mgc sweeps
 * lazily and stops threads all at once, so RECLAIM_*, PRE_STOP_WORLD,
 * POST_START_WORLD and the per-thread events are never reported. */
typedef enum {
    GC_EVENT_START,
    GC_EVENT_MARK_START,
    GC_EVENT_MARK_END,
    GC_EVENT_RECLAIM_START,
    GC_EVENT_RECLAIM_END,
    GC_EVENT_END,
    GC_EVENT_PRE_STOP_WORLD,
    GC_EVENT_POST_STOP_WORLD,
    GC_EVENT_PRE_START_WORLD,
    GC_EVENT_POST_START_WORLD,
    GC_EVENT_THREAD_SUSPENDED,
    GC_EVENT_THREAD_UNSUSPENDED
} GC_EventType;
typedef void (GC_CALLBACK *GC_on_collection_event_proc)(GC_EventType);
GC_API void GC_CALL GC_set_on_collection_event(GC_on_collection_event_proc);
GC_API GC_on_collection_event_proc GC_CALL GC_get_on_collection_event(void);

#ifdef GC_THREADS
/* Accepted and kept; never called (mgc reports no per-thread events). */
typedef void (GC_CALLBACK *GC_on_thread_event_proc)(GC_EventType, void *);
GC_API void GC_CALL GC_set_on_thread_event(GC_on_thread_event_proc);
GC_API GC_on_thread_event_proc GC_CALL GC_get_on_thread_event(void);
#endif

/* Leak-detection mode does not exist in mgc: setting it warns once and
 * changes nothing (objects are collected as usual). */
GC_API GC_ATTR_DEPRECATED int GC_find_leak;
GC_API void GC_CALL GC_set_find_leak(int);
GC_API int GC_CALL GC_get_find_leak(void);

/* mgc always honours interior pointers; setting 0 is remembered and read
 * back, and only means that more objects may be kept than asked. */
GC_API GC_ATTR_DEPRECATED int GC_all_interior_pointers;
GC_API void GC_CALL GC_set_all_interior_pointers(int);
GC_API int GC_CALL GC_get_all_interior_pointers(void);

/* Nonzero: finalizers wait for GC_invoke_finalizers, and the notifier
 * (below) is called when some are ready. Zero (the default): they run in
 * the program's own threads, from allocation calls and GC_gcollect. The
 * variable is read at every allocation, so assigning it works too. */
GC_API GC_ATTR_DEPRECATED int GC_finalize_on_demand;
GC_API void GC_CALL GC_set_finalize_on_demand(int);
GC_API int GC_CALL GC_get_finalize_on_demand(void);

/* Accepted and kept: mgc always keeps what a finalizable object reaches
 * intact until its finalizer ran, which is what Java finalization asks. */
GC_API GC_ATTR_DEPRECATED int GC_java_finalization;
GC_API void GC_CALL GC_set_java_finalization(int);
GC_API int GC_CALL GC_get_java_finalization(void);

/* Called (finalize-on-demand only) after a collection queued finalizers. */
typedef void (GC_CALLBACK *GC_finalizer_notifier_proc)(void);
GC_API GC_ATTR_DEPRECATED GC_finalizer_notifier_proc GC_finalizer_notifier;
GC_API void GC_CALL GC_set_finalizer_notifier(GC_finalizer_notifier_proc);
GC_API GC_finalizer_notifier_proc GC_CALL GC_get_finalizer_notifier(void);

/* Nonzero: no collection at all, neither automatic nor GC_gcollect (read at
 * every allocation and collection request, so assigning it works). */
GC_API
#ifndef GC_DONT_GC
    GC_ATTR_DEPRECATED
#endif
    int GC_dont_gc;

/* Accepted and kept; mgc grows the heap when it must (use
 * GC_set_max_heap_size for a bound). */
GC_API GC_ATTR_DEPRECATED int GC_dont_expand;
GC_API void GC_CALL GC_set_dont_expand(int);
GC_API int GC_CALL GC_get_dont_expand(void);
GC_API GC_ATTR_DEPRECATED int GC_use_entire_heap;

/* Generational settings have no meaning in mgc (every collection is
 * full); accepted and kept. */
GC_API GC_ATTR_DEPRECATED int GC_full_freq;
GC_API void GC_CALL GC_set_full_freq(int);
GC_API int GC_CALL GC_get_full_freq(void);

/* Bytes the program says it holds outside the collector; kept and
 * reported, not used for pacing. */
GC_API GC_ATTR_DEPRECATED GC_word GC_non_gc_bytes;
GC_API void GC_CALL GC_set_non_gc_bytes(GC_word);
GC_API GC_word GC_CALL GC_get_non_gc_bytes(void);

/* Nonzero asks not to scan shared libraries' data. mgc keeps scanning
 * them (scanning more never frees anything reachable); kept and read back. */
GC_API GC_ATTR_DEPRECATED int GC_no_dls;
GC_API void GC_CALL GC_set_no_dls(int);
GC_API int GC_CALL GC_get_no_dls(void);

/* Pacing: a collection after allocating about 2/N of the live heap, that
 * is mgc's gc percent 200/N. Set through the setter, GC_INIT's
 * GC_FREE_SPACE_DIVISOR, the environment variable of that name, or by
 * assigning the variable (read at allocation). Left alone, mgc's own
 * pacing applies (gc percent 100, MGC_GCPERCENT). */
GC_API GC_ATTR_DEPRECATED GC_word GC_free_space_divisor;
GC_API void GC_CALL GC_set_free_space_divisor(GC_word);
GC_API GC_word GC_CALL GC_get_free_space_divisor(void);

/* Accepted and kept: mgc always makes one full collection before giving
 * up on an allocation. */
GC_API GC_ATTR_DEPRECATED GC_word GC_max_retries;
GC_API void GC_CALL GC_set_max_retries(GC_word);
GC_API GC_word GC_CALL GC_get_max_retries(void);

/* mgc finds every thread's stack itself; this is set for information at
 * initialisation (the main thread's stack base) and not read back. */
GC_API GC_ATTR_DEPRECATED char *GC_stackbottom;

/* Accepted and kept (mgc has no initial collection). */
GC_API GC_ATTR_DEPRECATED int GC_dont_precollect;
GC_API void GC_CALL GC_set_dont_precollect(int);
GC_API int GC_CALL GC_get_dont_precollect(void);

/* Incremental-mode time limits: kept, without effect. */
GC_API GC_ATTR_DEPRECATED unsigned long GC_time_limit;
#define GC_TIME_UNLIMITED 999999
GC_API void GC_CALL GC_set_time_limit(unsigned long);
GC_API unsigned long GC_CALL GC_get_time_limit(void);
struct GC_timeval_s {
    unsigned long tv_ms;
    unsigned long tv_nsec;
};
GC_API void GC_CALL GC_set_time_limit_tv(struct GC_timeval_s);
GC_API struct GC_timeval_s GC_CALL GC_get_time_limit_tv(void);

/* Pacing knobs without a counterpart in mgc: kept and read back. */
GC_API void GC_CALL GC_set_allocd_bytes_per_finalizer(GC_word);
GC_API GC_word GC_CALL GC_get_allocd_bytes_per_finalizer(void);
GC_API void GC_CALL GC_set_min_bytes_allocd(size_t);
GC_API size_t GC_CALL GC_get_min_bytes_allocd(void);
GC_API void GC_CALL GC_set_rate(int);
GC_API int GC_CALL GC_get_rate(void);
GC_API void GC_CALL GC_set_max_prior_attempts(int);
GC_API int GC_CALL GC_get_max_prior_attempts(void);

/* Total time of full collections, in milliseconds, once measurement has
 * started (mgc's stop-the-world time). */
GC_API void GC_CALL GC_start_performance_measurement(void);
GC_API unsigned long GC_CALL GC_get_full_gc_total_time(void);

/* mgc's heap is never executable; kept and read back. */
GC_API void GC_CALL GC_set_pages_executable(int);
GC_API int GC_CALL GC_get_pages_executable(void);

/* Nonzero: no automatic collection; GC_gcollect still collects. */
GC_API void GC_CALL GC_set_disable_automatic_collection(int);
GC_API int GC_CALL GC_get_disable_automatic_collection(void);

/* mgc makes fork() safe by itself; these are accepted and do nothing. */
GC_API void GC_CALL GC_set_handle_fork(int);
GC_API void GC_CALL GC_atfork_prepare(void);
GC_API void GC_CALL GC_atfork_parent(void);
GC_API void GC_CALL GC_atfork_child(void);

/* ---- Start-up ----------------------------------------------------------------------- */

/* Initialise (optional: the first allocation does it). Any thread may call
 * it, any number of times. Reads Boehm's environment variables. */
GC_API void GC_CALL GC_init(void);
GC_API int GC_CALL GC_is_init_called(void);
/* Accepted; mgc's heap lives until the process ends. */
GC_API void GC_CALL GC_deinit(void);

/* ---- Allocation ----------------------------------------------------------------------
 * Every object is 16-byte aligned and has room for one byte more than asked,
 * so that a pointer just past the end still keeps it alive (Boehm's extra
 * byte). Size 0 gives a distinct small object. A request that cannot be met
 * returns what the out-of-memory function returns (NULL by default). */

/* Zeroed; scanned for pointers. */
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL GC_malloc(size_t);
/* Must hold no pointers to collected objects: never scanned. Zeroed too. */
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL GC_malloc_atomic(size_t);
GC_API GC_ATTR_MALLOC char *GC_CALL GC_strdup(const char *);
GC_API GC_ATTR_MALLOC char *GC_CALL GC_strndup(const char *, size_t) GC_ATTR_NONNULL(1);
/* Scanned, never collected: GC_free releases it. */
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL GC_malloc_uncollectable(size_t);
/* Stubborn objects are ordinary objects. */
GC_API GC_ATTR_DEPRECATED void *GC_CALL GC_malloc_stubborn(size_t);
/* Aligned to align (a power of two). Above 16, the result may lie inside a
 * larger object: GC_base maps it back, and GC_free accepts it. */
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(2) void *GC_CALL GC_memalign(size_t, size_t);
/* 0, EINVAL (align not a power of two multiple of sizeof(void *)), ENOMEM. */
GC_API int GC_CALL GC_posix_memalign(void **, size_t, size_t) GC_ATTR_NONNULL(1);
/* Free now. NULL does nothing; a pointer GC_base maps to an object frees
 * that object; anything else is reported on stderr and aborts. */
GC_API void GC_CALL GC_free(void *);

#define GC_MALLOC_STUBBORN(sz) GC_MALLOC(sz)
#define GC_NEW_STUBBORN(t) GC_NEW(t)
#define GC_CHANGE_STUBBORN(p) GC_change_stubborn(p)
/* No write barrier exists: these do nothing. */
GC_API GC_ATTR_DEPRECATED void GC_CALL GC_change_stubborn(const void *);
GC_API void GC_CALL GC_end_stubborn_change(const void *) GC_ATTR_NONNULL(1);

/* The start of the object holding p (interior and one-past-the-end
 * pointers included), or NULL if p is in no collected object. */
GC_API void *GC_CALL GC_base(void *);
/* Nonzero if p points into the collected heap. */
GC_API int GC_CALL GC_is_heap_ptr(const void *);
/* Bytes usable in the object holding p (at least one more than asked). */
GC_API size_t GC_CALL GC_size(const void *) GC_ATTR_NONNULL(1);
/* Boehm's rules: NULL allocates; size 0 frees and returns NULL; a size that
 * still fits keeps the object (the bytes past it are cleared); otherwise a
 * new object of the same kind gets the contents and the old one is freed. */
GC_API void *GC_CALL GC_realloc(void *, size_t) GC_ATTR_ALLOC_SIZE(2);

/* mgc grows the heap on demand: GC_expand_hp succeeds without doing
 * anything. GC_set_max_heap_size is mgc's memory limit (0: none). */
GC_API int GC_CALL GC_expand_hp(size_t);
GC_API void GC_CALL GC_set_max_heap_size(GC_word);

/* ---- Roots -------------------------------------------------------------------------- */

/* Static data of the program and its libraries is always scanned;
 * exclusions are accepted and ignored (scanning more is safe). */
GC_API void GC_CALL GC_exclude_static_roots(void *, void *);
GC_API void GC_CALL GC_clear_exclusion_table(void);
/* Ranges [low, high_plus_1) scanned at every collection. GC_clear_roots
 * drops every range added with GC_add_roots. */
GC_API void GC_CALL GC_clear_roots(void);
GC_API void GC_CALL GC_add_roots(void *, void *);
GC_API void GC_CALL GC_remove_roots(void *, void *);

/* Every displacement is valid in mgc: accepted, nothing to do. */
GC_API void GC_CALL GC_register_displacement(size_t);
GC_API void GC_CALL GC_debug_register_displacement(size_t);

/* ---- Collection ------------------------------------------------------------------------ */

/* A full collection, then (unless finalize-on-demand) the finalizers it made
 * ready, on this thread. Nothing while collection is disabled. */
GC_API void GC_CALL GC_gcollect(void);
GC_API void GC_CALL GC_gcollect_and_unmap(void);
/* stop_func is asked once before the collection starts (mgc cannot stop a
 * collection half-way). 1 if a collection ran, 0 if not. */
typedef int (GC_CALLBACK *GC_stop_func)(void);
GC_API int GC_CALL GC_try_to_collect(GC_stop_func) GC_ATTR_NONNULL(1);
GC_API void GC_CALL GC_set_stop_func(GC_stop_func) GC_ATTR_NONNULL(1);
GC_API GC_stop_func GC_CALL GC_get_stop_func(void);

/* ---- Statistics ---------------------------------------------------------------------- */
GC_API size_t GC_CALL GC_get_heap_size(void);
GC_API size_t GC_CALL GC_get_free_bytes(void);
GC_API size_t GC_CALL GC_get_unmapped_bytes(void);
GC_API size_t GC_CALL GC_get_bytes_since_gc(void);
GC_API size_t GC_CALL GC_get_expl_freed_bytes_since_gc(void);
GC_API size_t GC_CALL GC_get_total_bytes(void);
GC_API size_t GC_CALL GC_get_obtained_from_os_bytes(void);
GC_API void GC_CALL GC_get_heap_usage_safe(GC_word *, GC_word *, GC_word *, GC_word *,
                                           GC_word *);
/* Filled up to the size given; a field mgc has no figure for is ~0. */
struct GC_prof_stats_s {
    GC_word heapsize_full;
    GC_word free_bytes_full;
    GC_word unmapped_bytes;
    GC_word bytes_allocd_since_gc;
    GC_word allocd_bytes_before_gc;
    GC_word non_gc_bytes;
    GC_word gc_no;
    GC_word markers_m1;
    GC_word bytes_reclaimed_since_gc;
    GC_word reclaimed_bytes_before_gc;
    GC_word expl_freed_bytes_since_gc;
    GC_word obtained_from_os_bytes;
};
GC_API size_t GC_CALL GC_get_prof_stats(struct GC_prof_stats_s *, size_t);
#ifdef GC_THREADS
GC_API size_t GC_CALL GC_get_prof_stats_unsafe(struct GC_prof_stats_s *, size_t);
#endif
/* The object size a request of i granules gets. */
GC_API size_t GC_CALL GC_get_size_map_at(int);
GC_API size_t GC_CALL GC_get_memory_use(void);

/* Nestable: collection (automatic and GC_gcollect) is off while the count
 * of GC_disable calls exceeds that of GC_enable calls. */
GC_API void GC_CALL GC_disable(void);
GC_API int GC_CALL GC_is_disabled(void);
GC_API void GC_CALL GC_enable(void);

/* Incremental and generational modes do not exist in mgc: these are
 * accepted and leave the collector stop-the-world (mode reads 0). */
GC_API void GC_CALL GC_set_manual_vdb_allowed(int);
GC_API int GC_CALL GC_get_manual_vdb_allowed(void);
GC_API void GC_CALL GC_enable_incremental(void);
GC_API int GC_CALL GC_is_incremental_mode(void);
#define GC_PROTECTS_POINTER_HEAP 1
#define GC_PROTECTS_PTRFREE_HEAP 2
#define GC_PROTECTS_STATIC_DATA 4
#define GC_PROTECTS_STACK 8
#define GC_PROTECTS_NONE 0
GC_API int GC_CALL GC_incremental_protection_needs(void);
GC_API void GC_CALL GC_start_incremental_collection(void);
/* Runs ready finalizers (unless on demand); 0: no collection work pending. */
GC_API int GC_CALL GC_collect_a_little(void);

/* Interior pointers always count, so these are GC_malloc and
 * GC_malloc_atomic. */
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL GC_malloc_ignore_off_page(size_t);
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL
    GC_malloc_atomic_ignore_off_page(size_t);

/* ---- Debugging allocation ---------------------------------------------------------------
 * The GC_debug_* functions allocate plain objects (no header, no checks):
 * GC_DEBUG builds work and behave as the others do. */
#ifdef GC_ADD_CALLER
# define GC_EXTRAS GC_RETURN_ADDR, __FILE__, __LINE__
# define GC_EXTRA_PARAMS GC_word ra, const char *s, int i
#else
# define GC_EXTRAS __FILE__, __LINE__
# define GC_EXTRA_PARAMS const char *s, int i
#endif

/* Never scanned, never collected. */
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL GC_malloc_atomic_uncollectable(size_t);
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL
    GC_debug_malloc_atomic_uncollectable(size_t, GC_EXTRA_PARAMS);
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL GC_debug_malloc(size_t, GC_EXTRA_PARAMS);
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL
    GC_debug_malloc_atomic(size_t, GC_EXTRA_PARAMS);
GC_API GC_ATTR_MALLOC char *GC_CALL GC_debug_strdup(const char *, GC_EXTRA_PARAMS);
GC_API GC_ATTR_MALLOC char *GC_CALL GC_debug_strndup(const char *, size_t, GC_EXTRA_PARAMS)
    GC_ATTR_NONNULL(1);
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL
    GC_debug_malloc_uncollectable(size_t, GC_EXTRA_PARAMS);
GC_API GC_ATTR_DEPRECATED void *GC_CALL GC_debug_malloc_stubborn(size_t, GC_EXTRA_PARAMS);
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL
    GC_debug_malloc_ignore_off_page(size_t, GC_EXTRA_PARAMS);
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL
    GC_debug_malloc_atomic_ignore_off_page(size_t, GC_EXTRA_PARAMS);
GC_API void GC_CALL GC_debug_free(void *);
GC_API void *GC_CALL GC_debug_realloc(void *, size_t, GC_EXTRA_PARAMS) GC_ATTR_ALLOC_SIZE(2);
GC_API GC_ATTR_DEPRECATED void GC_CALL GC_debug_change_stubborn(const void *);
GC_API void GC_CALL GC_debug_end_stubborn_change(const void *) GC_ATTR_NONNULL(1);
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL GC_debug_malloc_replacement(size_t);
GC_API GC_ATTR_ALLOC_SIZE(2) void *GC_CALL GC_debug_realloc_replacement(void *, size_t);

#ifdef GC_DEBUG_REPLACEMENT
# define GC_MALLOC(sz) GC_debug_malloc_replacement(sz)
# define GC_REALLOC(old, sz) GC_debug_realloc_replacement(old, sz)
#elif defined(GC_DEBUG)
# define GC_MALLOC(sz) GC_debug_malloc(sz, GC_EXTRAS)
# define GC_REALLOC(old, sz) GC_debug_realloc(old, sz, GC_EXTRAS)
#else
# define GC_MALLOC(sz) GC_malloc(sz)
# define GC_REALLOC(old, sz) GC_realloc(old, sz)
#endif

#ifdef GC_DEBUG
# define GC_MALLOC_ATOMIC(sz) GC_debug_malloc_atomic(sz, GC_EXTRAS)
# define GC_STRDUP(s) GC_debug_strdup(s, GC_EXTRAS)
# define GC_STRNDUP(s, sz) GC_debug_strndup(s, sz, GC_EXTRAS)
# define GC_MALLOC_ATOMIC_UNCOLLECTABLE(sz) GC_debug_malloc_atomic_uncollectable(sz, GC_EXTRAS)
# define GC_MALLOC_UNCOLLECTABLE(sz) GC_debug_malloc_uncollectable(sz, GC_EXTRAS)
# define GC_MALLOC_IGNORE_OFF_PAGE(sz) GC_debug_malloc_ignore_off_page(sz, GC_EXTRAS)
# define GC_MALLOC_ATOMIC_IGNORE_OFF_PAGE(sz) GC_debug_malloc_atomic_ignore_off_page(sz, GC_EXTRAS)
# define GC_FREE(p) GC_debug_free(p)
# define GC_REGISTER_FINALIZER(p, f, d, of, od) GC_debug_register_finalizer(p, f, d, of, od)
# define GC_REGISTER_FINALIZER_IGNORE_SELF(p, f, d, of, od) \
    GC_debug_register_finalizer_ignore_self(p, f, d, of, od)
# define GC_REGISTER_FINALIZER_NO_ORDER(p, f, d, of, od) \
    GC_debug_register_finalizer_no_order(p, f, d, of, od)
# define GC_REGISTER_FINALIZER_UNREACHABLE(p, f, d, of, od) \
    GC_debug_register_finalizer_unreachable(p, f, d, of, od)
# define GC_END_STUBBORN_CHANGE(p) GC_debug_end_stubborn_change(p)
# define GC_PTR_STORE_AND_DIRTY(p, q) GC_debug_ptr_store_and_dirty(p, q)
# define GC_GENERAL_REGISTER_DISAPPEARING_LINK(link, obj) \
    GC_general_register_disappearing_link(link, GC_base((void *)(obj)))
# define GC_REGISTER_LONG_LINK(link, obj) GC_register_long_link(link, GC_base((void *)(obj)))
# define GC_REGISTER_DISPLACEMENT(n) GC_debug_register_displacement(n)
#else
# define GC_MALLOC_ATOMIC(sz) GC_malloc_atomic(sz)
# define GC_STRDUP(s) GC_strdup(s)
# define GC_STRNDUP(s, sz) GC_strndup(s, sz)
# define GC_MALLOC_ATOMIC_UNCOLLECTABLE(sz) GC_malloc_atomic_uncollectable(sz)
# define GC_MALLOC_UNCOLLECTABLE(sz) GC_malloc_uncollectable(sz)
# define GC_MALLOC_IGNORE_OFF_PAGE(sz) GC_malloc_ignore_off_page(sz)
# define GC_MALLOC_ATOMIC_IGNORE_OFF_PAGE(sz) GC_malloc_atomic_ignore_off_page(sz)
# define GC_FREE(p) GC_free(p)
# define GC_REGISTER_FINALIZER(p, f, d, of, od) GC_register_finalizer(p, f, d, of, od)
# define GC_REGISTER_FINALIZER_IGNORE_SELF(p, f, d, of, od) \
    GC_register_finalizer_ignore_self(p, f, d, of, od)
# define GC_REGISTER_FINALIZER_NO_ORDER(p, f, d, of, od) \
    GC_register_finalizer_no_order(p, f, d, of, od)
# define GC_REGISTER_FINALIZER_UNREACHABLE(p, f, d, of, od) \
    GC_register_finalizer_unreachable(p, f, d, of, od)
# define GC_END_STUBBORN_CHANGE(p) GC_end_stubborn_change(p)
# define GC_PTR_STORE_AND_DIRTY(p, q) GC_ptr_store_and_dirty(p, q)
# define GC_GENERAL_REGISTER_DISAPPEARING_LINK(link, obj) \
    GC_general_register_disappearing_link(link, obj)
# define GC_REGISTER_LONG_LINK(link, obj) GC_register_long_link(link, obj)
# define GC_REGISTER_DISPLACEMENT(n) GC_register_displacement(n)
#endif

#define GC_NEW(t) ((t *)GC_MALLOC(sizeof(t)))
#define GC_NEW_ATOMIC(t) ((t *)GC_MALLOC_ATOMIC(sizeof(t)))
#define GC_NEW_UNCOLLECTABLE(t) ((t *)GC_MALLOC_UNCOLLECTABLE(sizeof(t)))

#ifdef GC_REQUIRE_WCSDUP
# include <wchar.h>
GC_API GC_ATTR_MALLOC wchar_t *GC_CALL GC_wcsdup(const wchar_t *) GC_ATTR_NONNULL(1);
GC_API GC_ATTR_MALLOC wchar_t *GC_CALL GC_debug_wcsdup(const wchar_t *, GC_EXTRA_PARAMS)
    GC_ATTR_NONNULL(1);
# ifdef GC_DEBUG
#  define GC_WCSDUP(s) GC_debug_wcsdup(s, GC_EXTRAS)
# else
#  define GC_WCSDUP(s) GC_wcsdup(s)
# endif
#endif

/* ---- Finalization -----------------------------------------------------------------------
 * fn(obj, cd) runs once obj is unreachable, in one of the program's threads:
 * at an allocation or GC_gcollect, or in GC_invoke_finalizers when
 * finalize-on-demand is set. Registering replaces the finalizer obj had
 * (returned in *ofn and *ocd when those are not NULL); fn NULL removes it.
 * obj must be an object's start; a pointer outside the collected heap is
 * ignored (*ofn and *ocd become NULL), as in Boehm.
 * Plain: if A reaches B, A's finalizer runs first; cycles through a
 * finalizable object are never finalized. _ignore_self: a pointer from obj
 * to itself does not count. _no_order: obj is finalized regardless of who
 * else reaches it. _unreachable is registered as the plain (ordered) kind. */
typedef void (GC_CALLBACK *GC_finalization_proc)(void *, void *);
#define GC_REGISTRATION_DECL_(name) \
    GC_API void GC_CALL name(void *, GC_finalization_proc, void *, GC_finalization_proc *, void **) \
        GC_ATTR_NONNULL(1)
GC_REGISTRATION_DECL_(GC_register_finalizer);
GC_REGISTRATION_DECL_(GC_debug_register_finalizer);
GC_REGISTRATION_DECL_(GC_register_finalizer_ignore_self);
GC_REGISTRATION_DECL_(GC_debug_register_finalizer_ignore_self);
GC_REGISTRATION_DECL_(GC_register_finalizer_no_order);
GC_REGISTRATION_DECL_(GC_debug_register_finalizer_no_order);
GC_REGISTRATION_DECL_(GC_register_finalizer_unreachable);
GC_REGISTRATION_DECL_(GC_debug_register_finalizer_unreachable);
#undef GC_REGISTRATION_DECL_

/* ---- Disappearing links (weak links) ------------------------------------------------------
 * The word at link (which the program hides from the collector, for example
 * with GC_HIDE_POINTER or in atomic memory) is set to NULL once obj is
 * found unreachable: before its finalizer runs (short links), or only once
 * it is reclaimed after any finalizer (long links). */
#define GC_NO_MEMORY 2
/* obj is GC_base(*link). */
GC_API int GC_CALL GC_register_disappearing_link(void **) GC_ATTR_NONNULL(1);
/* GC_SUCCESS, GC_DUPLICATE (link already registered, unchanged) or
 * GC_NO_MEMORY. An obj outside the collected heap is never collected: its
 * link is accepted and never cleared. A NULL or misaligned link aborts. */
GC_API int GC_CALL GC_general_register_disappearing_link(void **, const void *)
    GC_ATTR_NONNULL(1) GC_ATTR_NONNULL(2);
/* GC_SUCCESS, GC_NOT_FOUND (link not registered), GC_DUPLICATE (new_link
 * is registered already). */
GC_API int GC_CALL GC_move_disappearing_link(void **, void **) GC_ATTR_NONNULL(2);
/* 1 if link was registered (now no longer), else 0. */
GC_API int GC_CALL GC_unregister_disappearing_link(void **);
GC_API int GC_CALL GC_register_long_link(void **, const void *) GC_ATTR_NONNULL(1)
    GC_ATTR_NONNULL(2);
GC_API int GC_CALL GC_move_long_link(void **, void **) GC_ATTR_NONNULL(2);
GC_API int GC_CALL GC_unregister_long_link(void **);

/* Toggle references are not supported: GC_toggleref_add returns
 * GC_UNIMPLEMENTED and keeps nothing. */
typedef enum { GC_TOGGLE_REF_DROP, GC_TOGGLE_REF_STRONG, GC_TOGGLE_REF_WEAK } GC_ToggleRefStatus;
typedef GC_ToggleRefStatus (GC_CALLBACK *GC_toggleref_func)(void *);
GC_API void GC_CALL GC_set_toggleref_func(GC_toggleref_func);
GC_API GC_toggleref_func GC_CALL GC_get_toggleref_func(void);
GC_API int GC_CALL GC_toggleref_add(void *, int) GC_ATTR_NONNULL(1);

/* Kept, never called (mgc does not report objects entering the queue). */
typedef void (GC_CALLBACK *GC_await_finalize_proc)(void *);
GC_API void GC_CALL GC_set_await_finalize_proc(GC_await_finalize_proc);
GC_API GC_await_finalize_proc GC_CALL GC_get_await_finalize_proc(void);

/* Nonzero when finalizers are ready to run. */
GC_API int GC_CALL GC_should_invoke_finalizers(void);
/* Run the ready finalizers on this thread; how many ran. */
GC_API int GC_CALL GC_invoke_finalizers(void);

/* Keep ptr visibly in use up to this point. */
GC_API void GC_CALL GC_noop1(GC_word);
#if defined(__GNUC__)
# define GC_reachable_here(ptr) __asm__ __volatile__(" " : : "X"(ptr) : "memory")
#else
# define GC_reachable_here(ptr) GC_noop1((GC_word)(ptr))
#endif

/* ---- Messages ----------------------------------------------------------------------------
 * Warnings go to the warn procedure as a printf format with one GC_word
 * argument; the default prints "GC Warning: ..." on stderr. */
typedef void (GC_CALLBACK *GC_warn_proc)(char *, GC_word);
GC_API void GC_CALL GC_set_warn_proc(GC_warn_proc) GC_ATTR_NONNULL(1);
GC_API GC_warn_proc GC_CALL GC_get_warn_proc(void);
GC_API void GC_CALLBACK GC_ignore_warn_proc(char *, GC_word);
/* Where GC_printf and the statistics printers write (default stdout). */
GC_API void GC_CALL GC_set_log_fd(int);
typedef void (GC_CALLBACK *GC_abort_func)(const char *);
GC_API void GC_CALL GC_set_abort_func(GC_abort_func) GC_ATTR_NONNULL(1);
GC_API GC_abort_func GC_CALL GC_get_abort_func(void);
/* Reports the failure and aborts: an out-of-memory function for programs
 * that want no NULL results. */
GC_API void GC_CALL GC_abort_on_oom(void);

typedef GC_word GC_hidden_pointer;
#define GC_HIDE_POINTER(p) (~(GC_hidden_pointer)(p))
#define GC_REVEAL_POINTER(p) ((void *)GC_HIDE_POINTER(p))
#if defined(I_HIDE_POINTERS) || defined(GC_I_HIDE_POINTERS)
# define HIDE_POINTER(p) GC_HIDE_POINTER(p)
# define REVEAL_POINTER(p) GC_REVEAL_POINTER(p)
#endif

/* ---- Threads ------------------------------------------------------------------------------ */

/* A lock of the layer's own: fn runs holding it, other callers of
 * GC_call_with_alloc_lock wait; mgc's allocation does not take it. */
#ifdef GC_THREADS
GC_API void GC_CALL GC_alloc_lock(void);
GC_API void GC_CALL GC_alloc_unlock(void);
#else
# define GC_alloc_lock() (void)0
# define GC_alloc_unlock() (void)0
#endif
typedef void *(GC_CALLBACK *GC_fn_type)(void *);
GC_API void *GC_CALL GC_call_with_alloc_lock(GC_fn_type, void *) GC_ATTR_NONNULL(1);

struct GC_stack_base {
    void *mem_base; /* the stack's highest address (stacks grow down) */
};
typedef void *(GC_CALLBACK *GC_stack_base_func)(struct GC_stack_base *, void *);
GC_API void *GC_CALL GC_call_with_stack_base(GC_stack_base_func, void *) GC_ATTR_NONNULL(1);

#define GC_SUCCESS 0
#define GC_DUPLICATE 1
#define GC_NO_THREADS 2
#define GC_UNIMPLEMENTED 3
#define GC_NOT_FOUND 4

/* mgc starts its marking threads itself: nothing to do. */
GC_API void GC_CALL GC_start_mark_threads(void);

#ifdef GC_THREADS
/* mgc's suspend signal is chosen with MGC_SUSPEND_SIGNAL before start-up
 * (default SIGPWR); the setters are accepted and ignored, the getter tells
 * the signal in use. mgc needs no restart signal: its getter returns -1. */
GC_API void GC_CALL GC_set_suspend_signal(int);
GC_API void GC_CALL GC_set_thr_restart_signal(int);
GC_API int GC_CALL GC_get_suspend_signal(void);
GC_API int GC_CALL GC_get_thr_restart_signal(void);
/* Threads may always register (mgc even registers a thread by itself at
 * its first call into the collector). */
GC_API void GC_CALL GC_allow_register_threads(void);
/* GC_SUCCESS, or GC_DUPLICATE if the thread was registered already. The
 * stack base given is not needed: mgc finds the stack itself. */
GC_API int GC_CALL GC_register_my_thread(const struct GC_stack_base *) GC_ATTR_NONNULL(1);
GC_API int GC_CALL GC_thread_is_registered(void);
/* Accepted; alternate signal stacks are not scanned. */
GC_API void GC_CALL GC_register_altstack(void *, GC_word, void *, GC_word);
/* GC_SUCCESS. */
GC_API int GC_CALL GC_unregister_my_thread(void);
/* Not supported: they do nothing. */
GC_API void GC_CALL GC_stop_world_external(void);
GC_API void GC_CALL GC_start_world_external(void);
#endif

/* Both call fn(client_data): mgc stops threads wherever they are, so no
 * special state is needed around blocking calls. */
GC_API void *GC_CALL GC_do_blocking(GC_fn_type, void *) GC_ATTR_NONNULL(1);
GC_API void *GC_CALL GC_call_with_gc_active(GC_fn_type, void *) GC_ATTR_NONNULL(1);

/* The calling thread's stack base: GC_SUCCESS or GC_UNIMPLEMENTED. */
GC_API int GC_CALL GC_get_stack_base(struct GC_stack_base *) GC_ATTR_NONNULL(1);
/* Fills in the stack base; returns an opaque handle on the thread. */
GC_API void *GC_CALL GC_get_my_stackbottom(struct GC_stack_base *) GC_ATTR_NONNULL(1);
/* Accepted and ignored: mgc reads stack bounds itself. */
GC_API void GC_CALL GC_set_stackbottom(void *, const struct GC_stack_base *) GC_ATTR_NONNULL(2);

/* ---- Pointer checks (GC_DEBUG builds) ------------------------------------------------------ */
/* p, after warning through GC_same_obj_print_proc if p and q lie in
 * different objects. */
GC_API void *GC_CALL GC_same_obj(void *, void *);
GC_API void *GC_CALL GC_pre_incr(void **, ptrdiff_t) GC_ATTR_NONNULL(1);
GC_API void *GC_CALL GC_post_incr(void **, ptrdiff_t) GC_ATTR_NONNULL(1);
/* Return p unchanged (every address is visible to mgc's scan). */
GC_API void *GC_CALL GC_is_visible(void *);
GC_API void *GC_CALL GC_is_valid_displacement(void *);

/* Print statistics on the log (GC_set_log_fd). */
GC_API void GC_CALL GC_dump(void);
GC_API void GC_CALL GC_dump_named(const char *);
GC_API void GC_CALL GC_dump_regions(void);
GC_API void GC_CALL GC_dump_finalization(void);

#if defined(GC_DEBUG) && defined(__GNUC__)
# define GC_PTR_ADD3(x, n, type_of_result) ((type_of_result)GC_same_obj((x) + (n), (x)))
# define GC_PRE_INCR3(x, n, type_of_result) \
    ((type_of_result)GC_pre_incr((void **)(&(x)), (n) * sizeof(*x)))
# define GC_POST_INCR3(x, n, type_of_result) \
    ((type_of_result)GC_post_incr((void **)(&(x)), (n) * sizeof(*x)))
# define GC_PTR_ADD(x, n) GC_PTR_ADD3(x, n, __typeof__(x))
# define GC_PRE_INCR(x, n) GC_PRE_INCR3(x, n, __typeof__(x))
# define GC_POST_INCR(x) GC_POST_INCR3(x, 1, __typeof__(x))
# define GC_POST_DECR(x) GC_POST_INCR3(x, -1, __typeof__(x))
#else
# define GC_PTR_ADD(x, n) ((x) + (n))
# define GC_PRE_INCR(x, n) ((x) += (n))
# define GC_POST_INCR(x) ((x)++)
# define GC_POST_DECR(x) ((x)--)
#endif

#ifdef GC_DEBUG
# define GC_PTR_STORE(p, q) (*(void **)GC_is_visible((void *)(p)) = GC_is_valid_displacement((void *)(q)))
#else
# define GC_PTR_STORE(p, q) (*(void **)(p) = (void *)(q))
#endif

/* *p = q (no write barrier is needed). */
GC_API void GC_CALL GC_ptr_store_and_dirty(void *, const void *);
GC_API void GC_CALL GC_debug_ptr_store_and_dirty(void *, const void *);

GC_API void(GC_CALLBACK *GC_same_obj_print_proc)(void *, void *);
GC_API void(GC_CALLBACK *GC_is_valid_displacement_print_proc)(void *);
GC_API void(GC_CALLBACK *GC_is_visible_print_proc)(void *);

#ifdef GC_PTHREADS
# ifdef __cplusplus
}
# endif
# include "gc_pthread_redirects.h"
# ifdef __cplusplus
extern "C" {
# endif
#endif

/* A list of objects of lb bytes linked through their first word (GC_NEXT);
 * NULL if none could be had. The objects are scanned, so the list keeps
 * itself alive while the program holds its head. */
GC_API GC_ATTR_MALLOC void *GC_CALL GC_malloc_many(size_t);
#define GC_NEXT(p) (*(void **)(p))

/* Kept; libraries' data is always scanned whole (the callback cannot
 * exclude anything: scanning more is safe). */
typedef int(GC_CALLBACK *GC_has_static_roots_func)(const char *, void *, size_t);
GC_API void GC_CALL GC_register_has_static_roots_callback(GC_has_static_roots_func);

/* Accepted, nothing to unmap on demand. */
GC_API void GC_CALL GC_set_force_unmap_on_gcollect(int);
GC_API int GC_CALL GC_get_force_unmap_on_gcollect(void);

/* ---- GC_INIT: compile-time settings, then initialisation ------------------------------------ */
#define GC_INIT_CONF_ROOTS
#ifdef GC_DONT_EXPAND
# define GC_INIT_CONF_DONT_EXPAND GC_set_dont_expand(1)
#else
# define GC_INIT_CONF_DONT_EXPAND
#endif
#ifdef GC_FORCE_UNMAP_ON_GCOLLECT
# define GC_INIT_CONF_FORCE_UNMAP_ON_GCOLLECT GC_set_force_unmap_on_gcollect(1)
#else
# define GC_INIT_CONF_FORCE_UNMAP_ON_GCOLLECT
#endif
#ifdef GC_DONT_GC
# define GC_INIT_CONF_MAX_RETRIES (void)(GC_dont_gc = 1)
#elif defined(GC_MAX_RETRIES)
# define GC_INIT_CONF_MAX_RETRIES GC_set_max_retries(GC_MAX_RETRIES)
#else
# define GC_INIT_CONF_MAX_RETRIES
#endif
#ifdef GC_ALLOCD_BYTES_PER_FINALIZER
# define GC_INIT_CONF_ALLOCD_BYTES_PER_FINALIZER \
    GC_set_allocd_bytes_per_finalizer(GC_ALLOCD_BYTES_PER_FINALIZER)
#else
# define GC_INIT_CONF_ALLOCD_BYTES_PER_FINALIZER
#endif
#ifdef GC_FREE_SPACE_DIVISOR
# define GC_INIT_CONF_FREE_SPACE_DIVISOR GC_set_free_space_divisor(GC_FREE_SPACE_DIVISOR)
#else
# define GC_INIT_CONF_FREE_SPACE_DIVISOR
#endif
#ifdef GC_FULL_FREQ
# define GC_INIT_CONF_FULL_FREQ GC_set_full_freq(GC_FULL_FREQ)
#else
# define GC_INIT_CONF_FULL_FREQ
#endif
#ifdef GC_TIME_LIMIT
# define GC_INIT_CONF_TIME_LIMIT GC_set_time_limit(GC_TIME_LIMIT)
#else
# define GC_INIT_CONF_TIME_LIMIT
#endif
#if defined(GC_MARKERS) && defined(GC_THREADS)
# define GC_INIT_CONF_MARKERS GC_set_markers_count(GC_MARKERS)
#else
# define GC_INIT_CONF_MARKERS
#endif
#if defined(GC_SIG_SUSPEND) && defined(GC_THREADS)
# define GC_INIT_CONF_SUSPEND_SIGNAL GC_set_suspend_signal(GC_SIG_SUSPEND)
#else
# define GC_INIT_CONF_SUSPEND_SIGNAL
#endif
#if defined(GC_SIG_THR_RESTART) && defined(GC_THREADS)
# define GC_INIT_CONF_THR_RESTART_SIGNAL GC_set_thr_restart_signal(GC_SIG_THR_RESTART)
#else
# define GC_INIT_CONF_THR_RESTART_SIGNAL
#endif
#ifdef GC_MAXIMUM_HEAP_SIZE
# define GC_INIT_CONF_MAXIMUM_HEAP_SIZE GC_set_max_heap_size(GC_MAXIMUM_HEAP_SIZE)
#else
# define GC_INIT_CONF_MAXIMUM_HEAP_SIZE
#endif
#ifdef GC_IGNORE_WARN
# define GC_INIT_CONF_IGNORE_WARN GC_set_warn_proc(GC_ignore_warn_proc)
#else
# define GC_INIT_CONF_IGNORE_WARN
#endif
#ifdef GC_INITIAL_HEAP_SIZE
# define GC_INIT_CONF_INITIAL_HEAP_SIZE (void)GC_expand_hp(GC_INITIAL_HEAP_SIZE)
#else
# define GC_INIT_CONF_INITIAL_HEAP_SIZE
#endif

#define GC_INIT()                                                                          \
    {                                                                                      \
        GC_INIT_CONF_DONT_EXPAND; GC_INIT_CONF_FORCE_UNMAP_ON_GCOLLECT;                    \
        GC_INIT_CONF_MAX_RETRIES; GC_INIT_CONF_ALLOCD_BYTES_PER_FINALIZER;                 \
        GC_INIT_CONF_FREE_SPACE_DIVISOR; GC_INIT_CONF_FULL_FREQ; GC_INIT_CONF_TIME_LIMIT;  \
        GC_INIT_CONF_MARKERS; GC_INIT_CONF_SUSPEND_SIGNAL; GC_INIT_CONF_THR_RESTART_SIGNAL; \
        GC_INIT_CONF_MAXIMUM_HEAP_SIZE;                                                    \
        GC_init();                                                                         \
        GC_INIT_CONF_ROOTS; GC_INIT_CONF_IGNORE_WARN; GC_INIT_CONF_INITIAL_HEAP_SIZE;      \
    }

#ifdef __cplusplus
}
#endif

#endif /* GC_H */

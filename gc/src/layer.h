/*
 * layer.h: shared state of the Boehm GC compatibility layer, a library of
 * its own built over mgc's public API (mgc.h) and its hooks (src/hooks.h).
 * Nothing in mgc knows about this layer.
 *
 * The layer's rules, which every file keeps:
 *   - every object is asked of mgc with room for one byte more than the
 *     program asked, rounded up to 16 bytes: mgc then gives a size class
 *     that is a multiple of 16, hence 16-byte alignment, and a pointer just
 *     past the program's bytes still lies inside the object (Boehm's extra
 *     byte, which keeps such pointers alive);
 *   - mgc runs finalizers in manual mode; the layer runs them in the
 *     program's threads from allocation calls and GC_gcollect, unless the
 *     program asked for finalize-on-demand (layer_enter);
 *   - Boehm's settings variables may be written by the program at any
 *     time, so the layer compares them with what it last applied to mgc at
 *     each allocation (a few loads) and applies changes then.
 */
#ifndef GC_LAYER_H
#define GC_LAYER_H

#define GC_BUILD 1
#ifndef GC_THREADS
# define GC_THREADS 1
#endif
#define GC_NO_THREAD_REDIRECTS 1
#define GC_REQUIRE_WCSDUP 1
/* The layer checks its pointer arguments itself. */
#define GC_ATTR_NONNULL(argnum)
#include "gc.h"
#include "gc_mark.h"
#include "gc_inline.h"

#include <mgc.h>
#include <stdbool.h>
#include <stdint.h>


#define LAYER_INTERNAL __attribute__((visibility("hidden")))
#define layer_unlikely(x) __builtin_expect(!!(x), 0)

/* Bytes asked of mgc for a request of n (0 when n is absurd). */
static inline size_t layer_padded_size(size_t n)
{
    if (n > SIZE_MAX - 64)
        return 0;
    return (n + 1 + 15) & ~(size_t)15;
}

/* ---- state.c ---- */
extern bool layer_ready LAYER_INTERNAL;
extern int layer_sync_needed LAYER_INTERNAL;
void layer_init(void) LAYER_INTERNAL;
/* Bring mgc's pacing in line with GC_dont_gc, GC_disable and the divisor. */
void layer_sync_settings(void) LAYER_INTERNAL;
/* Whether collection is off now (GC_dont_gc or GC_disable). */
bool layer_collection_disabled(void) LAYER_INTERNAL;
extern int layer_disable_count LAYER_INTERNAL;
extern int layer_automatic_off LAYER_INTERNAL;
extern GC_word layer_applied_divisor LAYER_INTERNAL;
extern int layer_applied_dont_gc LAYER_INTERNAL;

/* ---- finalize.c ---- */
/* Run ready finalizers on this thread if the program lets the layer do so
 * (not on demand, not already inside one on this thread). */
void layer_run_finalizers_if_due(void) LAYER_INTERNAL;
void layer_finalize_init(void) LAYER_INTERNAL;
/* Set by mgc's notifier when a collection queued finalizers: one load on
 * the allocation path instead of a call. */
extern int layer_finalizers_ready LAYER_INTERNAL;

/* ---- collect.c ---- */
void layer_collect_init(void) LAYER_INTERNAL;
/* Note a completed collection in GC_gc_no and the since-gc counters. */
void layer_note_collections(void) LAYER_INTERNAL;
extern int layer_collection_ended LAYER_INTERNAL; /* set by the event hook */

/* ---- messages.c ---- */
void layer_warn(const char *format, GC_word arg) LAYER_INTERNAL;
_Noreturn void layer_abort(const char *message) LAYER_INTERNAL;
extern int layer_log_fd LAYER_INTERNAL;
/* Exported by Boehm's library though in no public header. */
void GC_printf(const char *format, ...) __attribute__((format(printf, 1, 2)));
void GC_err_printf(const char *format, ...) __attribute__((format(printf, 1, 2)));
void GC_log_printf(const char *format, ...) __attribute__((format(printf, 1, 2)));

/* ---- alloc.c ---- */
/* The layer's allocation: padded, through the out-of-memory function. */
void *layer_alloc(size_t n, unsigned flags) LAYER_INTERNAL;

/* Every entry point that allocates starts here. */
static inline void layer_enter(void)
{
    if (layer_unlikely(!__atomic_load_n(&layer_ready, __ATOMIC_ACQUIRE)))
        layer_init();
    if (layer_unlikely(__atomic_load_n(&GC_dont_gc, __ATOMIC_RELAXED) != layer_applied_dont_gc ||
                       __atomic_load_n(&GC_free_space_divisor, __ATOMIC_RELAXED) !=
                           layer_applied_divisor))
        layer_sync_settings();
    if (layer_unlikely(__atomic_load_n(&layer_collection_ended, __ATOMIC_RELAXED)))
        layer_note_collections();
    if (layer_unlikely(__atomic_load_n(&layer_finalizers_ready, __ATOMIC_RELAXED)))
        layer_run_finalizers_if_due();
}

#endif

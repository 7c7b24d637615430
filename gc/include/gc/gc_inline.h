/*
 * gc_inline.h: allocation from free lists the program keeps itself, as in
 * Boehm GC. The program owns an array of GC_TINY_FREELISTS list heads
 * (zeroed at first), indexed by size in granules; an empty head is refilled
 * with GC_generic_malloc_many. A head that holds a small number instead of
 * a pointer counts the allocations still to be made the ordinary way
 * (num_direct) before the lists are used.
 *
 * The array must live where the collector scans it (a global, the stack,
 * or a scanned object): the objects waiting on the lists are only kept by
 * it. Objects handed out are zeroed except as init says (the first word,
 * which held the link, for pointer-holding kinds).
 */
#ifndef GC_INLINE_H
#define GC_INLINE_H

#include "gc.h"
#include "gc_tiny_fl.h"

#if GC_GNUC_PREREQ(3, 0)
# define GC_EXPECT(expr, outcome) __builtin_expect(expr, outcome)
#else
# define GC_EXPECT(expr, outcome) (expr)
#endif

#ifndef GC_ASSERT
# ifdef NDEBUG
#  define GC_ASSERT(expr)
# else
#  include <assert.h>
#  define GC_ASSERT(expr) assert(expr)
# endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

#ifndef GC_PREFETCH_FOR_WRITE
# if GC_GNUC_PREREQ(3, 0) && !defined(GC_NO_PREFETCH_FOR_WRITE)
#  define GC_PREFETCH_FOR_WRITE(x) __builtin_prefetch((x), 1)
# else
#  define GC_PREFETCH_FOR_WRITE(x) (void)0
# endif
#endif

/* Object kinds: pointer-free and ordinary (scanned). */
#define GC_I_PTRFREE 0
#define GC_I_NORMAL 1

/* Store in *result a list of objects of lb bytes of kind k, linked through
 * their first words (NULL if none could be had). */
GC_API void GC_CALL GC_generic_malloc_many(size_t, int, void **);
/* One object of kind k. */
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL GC_malloc_kind(size_t, int);
#ifdef GC_THREADS
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL GC_malloc_kind_global(size_t, int);
#else
# define GC_malloc_kind_global GC_malloc_kind
#endif

#define GC_FAST_M_AO_STORE(my_fl, next) (void)(*(my_fl) = (next))

/* result = an object of granules granules from tiny_fl, or default_expr for
 * sizes past the lists and during the first num_direct allocations. */
#define GC_FAST_MALLOC_GRANS(result, granules, tiny_fl, num_direct, kind, default_expr, init) \
    do {                                                                                   \
        if (GC_EXPECT((granules) >= GC_TINY_FREELISTS, 0)) {                               \
            result = (default_expr);                                                       \
        } else {                                                                           \
            void **gc_head_ = (tiny_fl) + (granules);                                      \
            void *gc_entry_ = *gc_head_;                                                   \
            for (;;) {                                                                     \
                if (GC_EXPECT((GC_word)gc_entry_ > (num_direct) + GC_TINY_FREELISTS + 1, 1)) { \
                    void *gc_next_ = *(void **)gc_entry_;                                  \
                    result = gc_entry_;                                                    \
                    GC_FAST_M_AO_STORE(gc_head_, gc_next_);                                \
                    init;                                                                  \
                    GC_PREFETCH_FOR_WRITE(gc_next_);                                       \
                    if ((kind) != GC_I_PTRFREE)                                            \
                        GC_reachable_here(gc_next_);                                       \
                    break;                                                                 \
                }                                                                          \
                if (gc_entry_ != 0 && (GC_signed_word)gc_entry_ <= (GC_signed_word)(num_direct)) { \
                    /* still counting direct allocations */                                \
                    GC_FAST_M_AO_STORE(gc_head_, (char *)gc_entry_ + (granules) + 1);      \
                    result = (default_expr);                                               \
                    break;                                                                 \
                }                                                                          \
                GC_generic_malloc_many((granules) == 0 ? GC_GRANULE_BYTES                  \
                                                       : GC_RAW_BYTES_FROM_INDEX(granules), \
                                       kind, gc_head_);                                    \
                gc_entry_ = *gc_head_;                                                     \
                if (gc_entry_ == 0) {                                                      \
                    result = (*GC_get_oom_fn())((granules) * GC_GRANULE_BYTES);            \
                    break;                                                                 \
                }                                                                          \
            }                                                                              \
        }                                                                                  \
    } while (0)

#define GC_WORDS_TO_WHOLE_GRANULES(n) GC_WORDS_TO_GRANULES((n) + GC_GRANULE_WORDS - 1)

/* result = an object of n words of kind k from tiny_fl. */
#define GC_MALLOC_WORDS_KIND(result, n, tiny_fl, kind, init)                               \
    do {                                                                                   \
        size_t gc_granules_ = GC_WORDS_TO_WHOLE_GRANULES(n);                               \
        GC_FAST_MALLOC_GRANS(result, gc_granules_, tiny_fl, 0, kind,                       \
                             GC_malloc_kind(gc_granules_ * GC_GRANULE_BYTES, kind), init); \
    } while (0)

#define GC_MALLOC_WORDS(result, n, tiny_fl)                                                \
    GC_MALLOC_WORDS_KIND(result, n, tiny_fl, GC_I_NORMAL, *(void **)(result) = 0)
#define GC_MALLOC_ATOMIC_WORDS(result, n, tiny_fl)                                         \
    GC_MALLOC_WORDS_KIND(result, n, tiny_fl, GC_I_PTRFREE, (void)0)

/* A two-word pair (first, second) from tiny_fl. */
#define GC_CONS(result, first, second, tiny_fl)                                            \
    do {                                                                                   \
        void *gc_left_ = (void *)(first);                                                  \
        void *gc_right_ = (void *)(second);                                                \
        GC_MALLOC_WORDS_KIND(result, 2, tiny_fl, GC_I_NORMAL, (void)0);                    \
        if ((result) != 0) {                                                               \
            *(void **)(result) = gc_left_;                                                 \
            GC_PTR_STORE_AND_DIRTY((void **)(result) + 1, gc_right_);                      \
            GC_reachable_here(gc_left_);                                                   \
        }                                                                                  \
    } while (0)

/* Prints the lengths of the collector's free lists: mgc keeps none that
 * the program could see, so it prints a line saying so. */
GC_API void GC_CALL GC_print_free_list(int, size_t);

#ifdef __cplusplus
}
#endif

#endif

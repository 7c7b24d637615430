/*
 * gc_mark.h: Boehm GC's interface for custom object kinds and mark
 * procedures. mgc scans every object conservatively and has no mark
 * procedures: new kinds and procedures are handed out (so programs that
 * set them up run), objects of a new kind are allocated scanned, and the
 * procedures are never called. The push functions, only meaningful inside
 * them, do nothing.
 */
#ifndef GC_MARK_H
#define GC_MARK_H

#ifndef GC_H
# include "gc.h"
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define GC_PROC_BYTES 100

#if defined(GC_BUILD) || defined(NOT_GCBUILD)
struct GC_ms_entry;
#else
struct GC_ms_entry {
    void *opaque;
};
#endif

typedef struct GC_ms_entry *(*GC_mark_proc)(GC_word *, struct GC_ms_entry *,
                                            struct GC_ms_entry *, GC_word);

#define GC_LOG_MAX_MARK_PROCS 6
#define GC_MAX_MARK_PROCS (1 << GC_LOG_MAX_MARK_PROCS)
#define GC_RESERVED_MARK_PROCS 8
#define GC_GCJ_RESERVED_MARK_PROC_INDEX 0

/* Descriptor encoding (kept for programs that build descriptors). */
#define GC_DS_TAG_BITS 2
#define GC_DS_TAGS ((1 << GC_DS_TAG_BITS) - 1)
#define GC_DS_LENGTH 0
#define GC_DS_BITMAP 1
#define GC_DS_PROC 2
#define GC_MAKE_PROC(proc_index, env) \
    (((((env) << GC_LOG_MAX_MARK_PROCS) | (proc_index)) << GC_DS_TAG_BITS) | GC_DS_PROC)
#define GC_DS_PER_OBJECT 3
#define GC_INDIR_PER_OBJ_BIAS 0x10

/* Bounds of the heap's address range as far as mgc knows (a hint only). */
GC_API void *GC_least_plausible_heap_addr;
GC_API void *GC_greatest_plausible_heap_addr;

/* Returns mark_stack_ptr unchanged: never called by mgc. */
GC_API struct GC_ms_entry *GC_CALL GC_mark_and_push(void *, struct GC_ms_entry *,
                                                   struct GC_ms_entry *, void **);
#define GC_MARK_AND_PUSH(obj, msp, lim, src)                                    \
    ((GC_word)(obj) >= (GC_word)GC_least_plausible_heap_addr &&                 \
             (GC_word)(obj) <= (GC_word)GC_greatest_plausible_heap_addr         \
         ? GC_mark_and_push(obj, msp, lim, src)                                 \
         : (msp))

/* Debug allocation adds no header in mgc: 0. */
GC_API GC_ATTR_CONST size_t GC_CALL GC_get_debug_header_size(void);
#define GC_USR_PTR_FROM_BASE(p) ((void *)((char *)(p) + GC_get_debug_header_size()))
GC_API GC_ATTR_DEPRECATED
#ifdef GC_BUILD
    const
#endif
    size_t GC_debug_header_size;

/* A fresh free-list head (a scanned, uncollectable array of
 * GC_MAXOBJGRANULES + 1 entries), and kinds and procedure indices. */
GC_API void **GC_CALL GC_new_free_list(void);
GC_API void **GC_CALL GC_new_free_list_inner(void);
GC_API unsigned GC_CALL GC_new_kind(void **, GC_word, int, int) GC_ATTR_NONNULL(1);
GC_API unsigned GC_CALL GC_new_kind_inner(void **, GC_word, int, int) GC_ATTR_NONNULL(1);
GC_API unsigned GC_CALL GC_new_proc(GC_mark_proc);
GC_API unsigned GC_CALL GC_new_proc_inner(GC_mark_proc);

/* Allocation by kind: 0 pointer-free, 1 ordinary, 2 uncollectable, 3
 * pointer-free uncollectable; kinds from GC_new_kind are ordinary. */
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL GC_generic_malloc(size_t, int);
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL
    GC_generic_malloc_ignore_off_page(size_t, int);
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL
    GC_generic_malloc_uncollectable(size_t, int);
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL GC_generic_or_special_malloc(size_t, int);
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL
    GC_debug_generic_or_special_malloc(size_t, int, GC_EXTRA_PARAMS);
#ifdef GC_DEBUG
# define GC_GENERIC_OR_SPECIAL_MALLOC(sz, knd) GC_debug_generic_or_special_malloc(sz, knd, GC_EXTRAS)
#else
# define GC_GENERIC_OR_SPECIAL_MALLOC(sz, knd) GC_generic_or_special_malloc(sz, knd)
#endif

/* The kind (0 pointer-free, 1 ordinary, 2 uncollectable; 3 pointer-free
 * uncollectable) and, if psize is not NULL, the size of the object at p. */
GC_API int GC_CALL GC_get_kind_and_size(const void *, size_t *) GC_ATTR_NONNULL(1);

typedef void(GC_CALLBACK *GC_describe_type_fn)(void *, char *);
#define GC_TYPE_DESCR_LEN 40
/* Kept; mgc prints no object descriptions. */
GC_API void GC_CALL GC_register_describe_type_fn(int, GC_describe_type_fn);

/* Returns its argument. */
GC_API void *GC_CALL GC_clear_stack(void *);

/* Called at the start of every collection (with no allocation allowed). */
typedef void(GC_CALLBACK *GC_start_callback_proc)(void);
GC_API void GC_CALL GC_set_start_callback(GC_start_callback_proc);
GC_API GC_start_callback_proc GC_CALL GC_get_start_callback(void);

/* Mark bits are mgc's own business: GC_is_marked answers 1 for any object
 * in the heap (it is not known to be garbage), the setters do nothing. */
GC_API int GC_CALL GC_is_marked(const void *) GC_ATTR_NONNULL(1);
GC_API void GC_CALL GC_clear_mark_bit(const void *) GC_ATTR_NONNULL(1);
GC_API void GC_CALL GC_set_mark_bit(const void *) GC_ATTR_NONNULL(1);

GC_API void GC_CALL GC_push_all(void *, void *);
GC_API void GC_CALL GC_push_all_eager(void *, void *);
GC_API void GC_CALL GC_push_conditional(void *, void *, int);
GC_API void GC_CALL GC_push_finalizer_structures(void);

/* Kept, never called: register extra roots with GC_add_roots instead. */
typedef void(GC_CALLBACK *GC_push_other_roots_proc)(void);
GC_API void GC_CALL GC_set_push_other_roots(GC_push_other_roots_proc);
GC_API GC_push_other_roots_proc GC_CALL GC_get_push_other_roots(void);

/* Not supported: calls nothing. */
typedef void(GC_CALLBACK *GC_reachable_object_proc)(void *, size_t, void *);
GC_API void GC_CALL GC_enumerate_reachable_objects_inner(GC_reachable_object_proc, void *)
    GC_ATTR_NONNULL(1);

/* 0: mgc has no temporary roots. */
GC_API int GC_CALL GC_is_tmp_root(void *);

GC_API void GC_CALL GC_print_trace(GC_word);
GC_API void GC_CALL GC_print_trace_inner(GC_word);

#ifdef __cplusplus
}
#endif

#endif

/*
 * gc_disclaim.h: objects with a closure run when they are reclaimed. In
 * mgc, GC_finalized_malloc gives the object an unordered finalizer calling
 * the closure (it runs as other finalizers do, in the program's threads).
 * Per-kind disclaim procedures are kept and never called.
 */
#ifndef GC_DISCLAIM_H
#define GC_DISCLAIM_H

#include "gc.h"

#ifdef __cplusplus
extern "C" {
#endif

GC_API void GC_CALL GC_init_finalized_malloc(void);

typedef int(GC_CALLBACK *GC_disclaim_proc)(void *);
GC_API void GC_CALL GC_register_disclaim_proc(int, GC_disclaim_proc, int) GC_ATTR_NONNULL(2);

struct GC_finalizer_closure {
    GC_finalization_proc proc;
    void *cd;
};

/* A scanned object of size bytes whose closure fc (which must stay valid)
 * runs once it is unreachable. */
GC_API GC_ATTR_MALLOC GC_ATTR_ALLOC_SIZE(1) void *GC_CALL
    GC_finalized_malloc(size_t, const struct GC_finalizer_closure *) GC_ATTR_NONNULL(2);

#ifdef __cplusplus
}
#endif

#endif

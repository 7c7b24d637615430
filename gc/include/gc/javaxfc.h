/*
 * javaxfc.h: Java-style shutdown finalization and thread suspension.
 */
#ifndef GC_JAVAXFC_H
#define GC_JAVAXFC_H

#ifndef GC_H
# include "gc.h"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Runs every finalizer that is ready now (after a collection), in this
 * thread. mgc cannot finalize objects that are still reachable, which
 * Boehm's version does at shutdown: those finalizers do not run. */
GC_API void GC_CALL GC_finalize_all(void);

#ifdef GC_THREADS
# ifndef GC_SUSPEND_THREAD_ID
#  define GC_SUSPEND_THREAD_ID void *
# endif
/* Not supported: suspending does nothing and GC_is_thread_suspended is 0. */
GC_API void GC_CALL GC_suspend_thread(GC_SUSPEND_THREAD_ID);
GC_API void GC_CALL GC_resume_thread(GC_SUSPEND_THREAD_ID);
GC_API int GC_CALL GC_is_thread_suspended(GC_SUSPEND_THREAD_ID);
#endif

#ifdef __cplusplus
}
#endif

#endif

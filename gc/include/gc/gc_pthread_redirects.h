/*
 * gc_pthread_redirects.h: with GC_THREADS, pthread_create and friends are
 * renamed to the GC_pthread_* wrappers, which register each new thread with
 * the collector before it runs and keep the start argument alive until
 * then. Define GC_NO_THREAD_REDIRECTS to call the wrappers by name only.
 * Read through gc.h.
 */
#ifndef GC_PTHREAD_REDIRECTS_H
#define GC_PTHREAD_REDIRECTS_H

#if defined(GC_H) && defined(GC_PTHREADS)

#ifndef GC_PTHREAD_REDIRECTS_ONLY
# include <pthread.h>
# ifndef GC_NO_DLOPEN
#  include <dlfcn.h>
# endif
# ifndef GC_NO_PTHREAD_SIGMASK
#  include <signal.h>
# endif
# ifdef __cplusplus
extern "C" {
# endif
# ifndef GC_SUSPEND_THREAD_ID
#  define GC_SUSPEND_THREAD_ID pthread_t
# endif
# ifndef GC_NO_DLOPEN
/* dlopen; the library's data is scanned from the next collection on. */
GC_API void *GC_dlopen(const char *, int);
# endif
# ifndef GC_NO_PTHREAD_SIGMASK
/* pthread_sigmask, except that the collector's suspend signal is never
 * blocked (a thread that blocked it would hang every collection). */
GC_API int GC_pthread_sigmask(int, const sigset_t *, sigset_t *);
# endif
GC_API int GC_pthread_create(pthread_t *, GC_PTHREAD_CREATE_CONST pthread_attr_t *,
                             void *(*)(void *), void *);
GC_API int GC_pthread_join(pthread_t, void **);
GC_API int GC_pthread_detach(pthread_t);
# ifndef GC_NO_PTHREAD_CANCEL
GC_API int GC_pthread_cancel(pthread_t);
# endif
# if defined(GC_HAVE_PTHREAD_EXIT) && !defined(GC_PTHREAD_EXIT_DECLARED)
#  define GC_PTHREAD_EXIT_DECLARED
GC_API void GC_pthread_exit(void *) GC_PTHREAD_EXIT_ATTRIBUTE;
# endif
# ifdef __cplusplus
}
# endif
#endif /* !GC_PTHREAD_REDIRECTS_ONLY */

#if !defined(GC_NO_THREAD_REDIRECTS) && !defined(GC_USE_LD_WRAP)
# undef pthread_create
# undef pthread_join
# undef pthread_detach
# define pthread_create GC_pthread_create
# define pthread_join GC_pthread_join
# define pthread_detach GC_pthread_detach
# ifndef GC_NO_PTHREAD_SIGMASK
#  undef pthread_sigmask
#  define pthread_sigmask GC_pthread_sigmask
# endif
# ifndef GC_NO_DLOPEN
#  undef dlopen
#  define dlopen GC_dlopen
# endif
# ifndef GC_NO_PTHREAD_CANCEL
#  undef pthread_cancel
#  define pthread_cancel GC_pthread_cancel
# endif
# ifdef GC_HAVE_PTHREAD_EXIT
#  undef pthread_exit
#  define pthread_exit GC_pthread_exit
# endif
#endif

#endif /* GC_H && GC_PTHREADS */
#endif

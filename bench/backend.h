/*
 * backend.h: the thin layer every benchmark allocates through, so that the
 * same workload runs on mgc, Boehm GC, glibc malloc and mimalloc. Each
 * backend is its own binary (mimalloc replaces malloc in any program that
 * links it), chosen at compile time with -DBACKEND_<NAME>.
 *
 * backend_alloc: may hold pointers (mgc_alloc, GC_MALLOC, malloc)
 * backend_alloc_noscan: holds no pointers (mgc_alloc_noscan, GC_MALLOC_ATOMIC)
 * backend_free: explicit free (mgc_free, GC_FREE, free)
 * backend_thread_begin / backend_thread_end: bracket the body of every thread
 *     the benchmark starts, so a collector scans its stack. Only Boehm needs
 *     them: mgc registers a thread at its first call and unregisters it at
 *     exit, and the malloc backends have nothing to scan.
 *
 * mgc and GC_MALLOC return zeroed memory; GC_MALLOC_ATOMIC and malloc do not.
 */
#ifndef MGC_BENCH_BACKEND_H
#define MGC_BENCH_BACKEND_H

#include <stddef.h>

#if defined(BACKEND_MGC)
#include <mgc.h>
#define BACKEND_NAME "mgc"
#define BACKEND_IS_GC 1
static inline void backend_init(void) { mgc_init(); }
static inline void *backend_alloc(size_t n) { return mgc_alloc(n); }
static inline void *backend_alloc_noscan(size_t n) { return mgc_alloc_noscan(n); }
static inline void backend_free(void *p) { mgc_free(p); }
static inline void backend_collect(void) { mgc_collect(); }
static inline void backend_thread_begin(void) {}
static inline void backend_thread_end(void) {}

#elif defined(BACKEND_BOEHM) || defined(BACKEND_BOEHM_NOINTERIOR)
#define GC_THREADS
/* Threads register themselves (backend_thread_begin) instead of going
 * through Boehm's pthread_create wrapper, which would register them a second
 * time. */
#define GC_NO_THREAD_REDIRECTS
#include <gc/gc.h>
#include <stdio.h>
#include <stdlib.h>
#ifdef BACKEND_BOEHM_NOINTERIOR
#define BACKEND_NAME "boehm-nointerior"
#else
#define BACKEND_NAME "boehm"
#endif
#define BACKEND_IS_GC 1
static inline void backend_init(void)
{
#ifdef BACKEND_BOEHM_NOINTERIOR
    GC_set_all_interior_pointers(0);
#endif
    GC_INIT();
    GC_allow_register_threads();
}
static inline void *backend_alloc(size_t n) { return GC_MALLOC(n); }
static inline void *backend_alloc_noscan(size_t n) { return GC_MALLOC_ATOMIC(n); }
static inline void backend_free(void *p) { GC_FREE(p); }
static inline void backend_collect(void) { GC_gcollect(); }
/* Allowed by GC_allow_register_threads in backend_init. */
static inline void backend_thread_begin(void)
{
    struct GC_stack_base stack_base;
    if (GC_get_stack_base(&stack_base) != GC_SUCCESS ||
        GC_register_my_thread(&stack_base) != GC_SUCCESS) {
        fprintf(stderr, "boehm: cannot register a thread\n");
        abort();
    }
}
static inline void backend_thread_end(void) { GC_unregister_my_thread(); }

#elif defined(BACKEND_MIMALLOC)
#include <mimalloc.h>
#define BACKEND_NAME "mimalloc"
#define BACKEND_IS_GC 0
static inline void backend_init(void) {}
static inline void *backend_alloc(size_t n) { return mi_malloc(n); }
static inline void *backend_alloc_noscan(size_t n) { return mi_malloc(n); }
static inline void backend_free(void *p) { mi_free(p); }
static inline void backend_collect(void) {}
static inline void backend_thread_begin(void) {}
static inline void backend_thread_end(void) {}

#elif defined(BACKEND_GLIBC)
#include <stdlib.h>
#define BACKEND_NAME "glibc"
#define BACKEND_IS_GC 0
static inline void backend_init(void) {}
static inline void *backend_alloc(size_t n) { return malloc(n); }
static inline void *backend_alloc_noscan(size_t n) { return malloc(n); }
static inline void backend_free(void *p) { free(p); }
static inline void backend_collect(void) {}
static inline void backend_thread_begin(void) {}
static inline void backend_thread_end(void) {}

#else
#error "define one of BACKEND_MGC, BACKEND_BOEHM, BACKEND_BOEHM_NOINTERIOR, BACKEND_MIMALLOC, BACKEND_GLIBC"
#endif

#endif

/*
 * mgc.h: a garbage-collected heap for C programs.
 *
 * mgc follows the design of the Go runtime's allocator: size classes,
 * per-thread caches, central lists, a page heap, and a tiny allocator that
 * packs pointer-free allocations under 16 bytes into shared 16-byte blocks.
 * A conservative mark-sweep collector stops every registered thread, marks
 * in parallel from the roots, and sweeps lazily.
 *
 * Link with -lmgc -lpthread -ldl, or use `pkg-config --cflags --libs mgc`.
 * Every function is thread-safe. The first call into mgc initialises it.
 */
#ifndef MGC_H
#define MGC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MGC_VERSION_MAJOR 0
#define MGC_VERSION_MINOR 1
#define MGC_VERSION_PATCH 0

/* Error codes returned by the functions that return int (errno values). */
#define MGC_ENOMEM 12 /* out of memory */
#define MGC_EEXIST 17 /* a finalizer is already set */
#define MGC_EINVAL 22 /* invalid argument */

/* ---- Allocation --------------------------------------------------------------
 *
 * Every object is aligned to the largest power of two that divides its size,
 * up to 16: a 12-byte object is 4-aligned, a 24-byte one 8-aligned, a 48-byte
 * one 16-aligned. That is all any C type of that size can need.
 *
 * Size 0 returns a valid non-NULL pointer, shared by every zero-size
 * allocation; it may be passed to mgc_free and mgc_realloc.
 *
 * Out of memory (the OS refuses): NULL with errno = ENOMEM. mgc never aborts
 * for lack of memory.
 */

/* Zeroed; may hold pointers to mgc objects. */
void *mgc_alloc(size_t size);

/* Zeroed; must hold no pointers to mgc objects. Requests under 16 bytes are
 * packed by the tiny allocator into 16-byte blocks shared with other such
 * objects (alignment 8, 4 or 2 by size, as above). */
void *mgc_alloc_noscan(size_t size);

#define MGC_NOSCAN 0x1u        /* the object holds no mgc pointers */
#define MGC_NOZERO 0x2u        /* contents undefined; only together with MGC_NOSCAN */
#define MGC_UNCOLLECTABLE 0x4u /* never collected; only mgc_free releases it */

/* mgc_alloc with flags. Unknown flag bits, or MGC_NOZERO without MGC_NOSCAN:
 * NULL with errno = EINVAL. MGC_NOSCAN with a size under 16 uses the tiny
 * allocator, as mgc_alloc_noscan does, unless MGC_UNCOLLECTABLE is given. */
void *mgc_alloc_flags(size_t size, unsigned flags);

/* n * size zeroed bytes that may hold pointers. NULL with errno = ENOMEM when
 * n * size overflows. */
void *mgc_calloc(size_t n, size_t size);

/* Resize p, keeping its kind (scanned or noscan, uncollectable or not).
 * p == NULL: mgc_alloc(size). size == 0: frees p (as mgc_free) and returns
 * NULL, as glibc does. When p's object already has room for size bytes, p is
 * returned; otherwise a new object receives the old contents and p is freed.
 * Bytes past the old size are zero, except after an object packed by the tiny
 * allocator, whose block neighbours may be copied along (p itself is then not
 * freed: see mgc_free). On failure, NULL with errno = ENOMEM and p unchanged.
 * A p that mgc_free would refuse aborts the same way, naming realloc. */
void *mgc_realloc(void *p, size_t size);

/* A noscan copy of s. s == NULL: NULL with errno = EINVAL. */
char *mgc_strdup(const char *s);

/* Free p now. p must be the start of an object that is not freed yet.
 * mgc_free(NULL) and freeing the zero-size pointer do nothing. Freeing an
 * object that the tiny allocator packed into a shared block does nothing: the
 * block is reclaimed once every object in it is unreachable.
 * Any other pointer (not from mgc, not an object start, already freed) prints
 * "mgc: free of <address>: <reason>" on stderr and aborts, as glibc does. */
void mgc_free(void *p);

/* Bytes usable at p, an object start (at least the size asked for): the
 * object's size class. For an object packed by the tiny allocator, the bytes
 * from p to the end of its 16-byte block, which it shares with its
 * neighbours: only the size asked for is yours. 0 for NULL, the zero-size
 * pointer, and anything that is not the start of an allocated object. */
size_t mgc_usable_size(const void *p);

/* The start of the allocated object holding p (interior pointers included),
 * or NULL when p lies in no allocated mgc object. Inside a tiny block: the
 * block's start. */
void *mgc_base(const void *p);

/* ---- Finalizers ------------------------------------------------------------------------
 *
 * A finalizer runs once, after its object became unreachable; fn receives
 * the pointer it was set on and arg. Until it has run, the object and
 * everything reachable from it stay intact; the object is freed by a later
 * collection if it is still unreachable then (a finalizer may make it
 * reachable again by storing it somewhere; its finalizer is then gone).
 *
 * Order: if A reaches B and both have finalizers, A's runs first, and B's
 * in a later collection. Objects on a cycle through a finalizable object
 * (including an object that reaches itself) keep each other alive and are
 * never finalized, as in Go and Boehm GC.
 *
 * Tiny objects: any pointer returned by mgc_alloc_noscan(n) with n < 16 is
 * accepted, though it may lie inside a 16-byte block shared with other
 * objects. Such a finalizer runs only when the whole block is unreachable:
 * a pointer to a neighbour in the same block keeps it from running.
 *
 * mgc_free of an object drops its finalizer (so does mgc_realloc when it
 * moves the object). Finalizers on uncollectable objects never run.
 *
 * Where they run: by default on one background thread that mgc starts on
 * the first mgc_set_finalizer. In manual mode they wait in a queue until the
 * program calls mgc_run_finalizers. No mgc lock is held while a finalizer
 * runs: it may allocate, set finalizers, call mgc_collect and
 * mgc_run_finalizers.
 */
typedef void (*mgc_finalizer_fn)(void *obj, void *arg);

#define MGC_FINALIZE_THREAD 0 /* run on mgc's finalizer thread (default) */
#define MGC_FINALIZE_MANUAL 1 /* queue until mgc_run_finalizers() */

/* Set (fn non-NULL) or remove (fn NULL) the finalizer of obj, which must be
 * an object start, or a pointer into a tiny block (above). 0; MGC_EINVAL if
 * obj is not such a pointer; MGC_EEXIST if obj has a finalizer already
 * (remove it first); MGC_ENOMEM if no memory is left for the record.
 * Removing where none is set returns 0. */
int mgc_set_finalizer(void *obj, mgc_finalizer_fn fn, void *arg);
/* Run the queued finalizers now, on the calling thread; returns how many
 * ran (including any queued by collections while it ran). */
size_t mgc_run_finalizers(void);
/* MGC_FINALIZE_THREAD or MGC_FINALIZE_MANUAL; other values are ignored. */
void mgc_set_finalizer_mode(int mode);

/* ---- Roots and threads ----------------------------------------------------------------
 *
 * An object is reachable when a pointer to any byte inside it (interior
 * pointers count) is found in a root or in a reachable scanned object. A
 * pointer just past the end of an object does not keep it alive.
 *
 * Roots, scanned at every collection:
 *   - the stack and registers of every registered thread;
 *   - the writable data and bss of the executable and of every shared
 *     library loaded at the time of the collection (libraries opened with
 *     dlopen later are covered; closed ones are no longer read);
 *   - ranges given to mgc_add_roots;
 *   - uncollectable objects (MGC_UNCOLLECTABLE).
 * Not roots: memory from malloc(3), thread-local variables (__thread), and
 * stacks a program switches to itself (makecontext, coroutines): a pointer
 * held only there does not keep an object alive. Register such memory with
 * mgc_add_roots.
 *
 * A thread is registered automatically the first time it calls into mgc
 * (any allocation or free, or mgc_init, mgc_collect, mgc_base,
 * mgc_usable_size), and
 * unregistered automatically when it exits. A thread that holds mgc pointers
 * but never calls mgc must call mgc_register_thread().
 *
 * Collections stop every registered thread with a signal, as Boehm GC does:
 * SIGPWR by default, or the signal named by MGC_SUSPEND_SIGNAL (a number, or
 * SIGPWR, SIGXCPU, SIGUSR1, SIGUSR2, SIGXFSZ, SIGSYS, SIGRTMIN+n). Do not
 * block that signal in a registered thread, or install another handler for
 * it. System calls the kernel restarts after a handler (read, write, waits
 * on locks) are not disturbed; those that never restart (sleep, nanosleep,
 * poll, select, epoll_wait, ...) may return early with EINTR while a
 * collection runs. fork() is safe: the child keeps only the calling thread.
 */

/* Make the calling thread's stack and registers roots. 0, or MGC_ENOMEM. */
int mgc_register_thread(void);
/* Stop treating the calling thread's stack as a root (done at thread exit
 * anyway). 0, or MGC_EINVAL if it was not registered. */
int mgc_unregister_thread(void);
/* Scan [start, start + size) as a root at every collection. */
void mgc_add_roots(void *start, size_t size);
/* Stop scanning [start, start + size): the part of any added range inside
 * it is removed (an added range may be split in two). */
void mgc_remove_roots(void *start, size_t size);

/* ---- Collection control ------------------------------------------------------------------
 *
 * A collection starts when the heap has grown by percent % over the heap
 * found live by the last one (Go's GOGC rule: default 100, and never before
 * 4 MiB), or earlier when a memory limit requires it. An allocation that
 * would take the heap to that goal starts the collection before it is made,
 * so a large object can reuse what the collection frees.
 */

/* Optional: the first call into mgc initialises it. Reads the environment
 * (below) once. Safe to call more than once, from any thread. */
void mgc_init(void);
/* A full, blocking collection: mark, then sweep everything, before returning. */
void mgc_collect(void);
/* Returns the previous percent; a negative percent (-1) turns automatic
 * collection off (the memory limit still collects). */
int mgc_set_gc_percent(int percent);
/* A soft limit on the memory mgc holds from the OS (heap and metadata).
 * Collections start earlier as the limit nears; an allocation that cannot
 * fit under it even after a full collection returns NULL with ENOMEM.
 * Returns the previous limit; SIZE_MAX means none. */
size_t mgc_set_memory_limit(size_t bytes);

/* ---- Statistics ----------------------------------------------------------------------
 *
 * Counters are kept per thread and folded in when read, so a read while other
 * threads allocate is a close, not an instantaneous, picture.
 * Heap blocks allocated (the seed's "allocs") = mallocs - tiny_allocs.
 */
struct mgc_stats {
    uint64_t total_alloc;    /* bytes allocated, cumulative (size-class rounded; a
                                tiny block counts its 16 bytes once) */
    uint64_t mallocs;        /* objects allocated, cumulative, tiny-packed ones included */
    uint64_t tiny_allocs;    /* of mallocs: those packed into an existing tiny block */
    uint64_t frees;          /* objects freed, cumulative; tiny-packed objects count as
                                freed at once, as in Go */
    uint64_t heap_alloc;     /* bytes in allocated heap objects */
    uint64_t heap_objects;   /* mallocs - frees: heap blocks allocated and not yet freed */
    uint64_t heap_sys;       /* heap bytes obtained from the OS */
    uint64_t heap_inuse;     /* bytes in spans holding at least one object */
    uint64_t heap_released;  /* heap bytes returned to the OS */
    uint64_t gc_sys;         /* collector metadata bytes (bitmaps) */
    uint64_t other_sys;      /* other off-heap metadata bytes */
    uint64_t sys;            /* all bytes obtained from the OS */
    uint64_t next_gc;        /* heap_alloc at which the next collection starts */
    uint64_t num_gc;         /* completed collections */
    uint64_t pause_total_ns; /* stop-the-world time, cumulative */
    uint64_t last_pause_ns;
    uint64_t max_pause_ns;
    uint64_t finalizers_run; /* finalizers that have run, cumulative */
};

void mgc_read_stats(struct mgc_stats *out);

/* ---- Environment (read once, at initialisation) ---------------------------------------
 *
 * MGC_GCPERCENT=N|off      initial gc percent (off = -1)
 * MGC_MEMLIMIT=N[KiB|MiB|GiB]  initial memory limit
 * MGC_SUSPEND_SIGNAL=SIG   the signal that stops threads (default SIGPWR)
 * MGC_DEBUG=key=value,...
 *   gctrace=1        one line per collection on stderr:
 *                    gc N @T s P%: pause X ms (mark Y ms, W threads),
 *                    heap A->B MiB goal G MiB, K objects freed, F finalizers queued
 *                    (T: since start; P: share of time spent stopped; A: heap
 *                    allocated before, B: found live; K: objects not marked;
 *                    F: finalizers found due in this collection)
 *   tinyalloc=0      turn the tiny allocator off: every request gets its own slot
 *   efence=1         every object on its own pages, never reused; freed objects'
 *                    pages become inaccessible (catches use after free)
 *   gcprocs=N        threads that mark (default: one per core)
 *   collectevery=N   collect at every Nth slow-path allocation (for testing)
 *   hugepages=0      heap arenas do not ask for transparent huge pages; by
 *                    default they do (MADV_HUGEPAGE), which makes allocation
 *                    and marking faster and may hold a few MiB more memory
 * An unknown key or malformed value is reported once on stderr and ignored.
 */

#ifdef __cplusplus
}
#endif

#endif

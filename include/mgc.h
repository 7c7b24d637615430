/*
 * mgc.h: a garbage-collected heap for C programs.
 *
 * mgc follows the design of the Go runtime's allocator: size classes,
 * per-thread caches, central lists, a page heap, and a tiny allocator that
 * packs pointer-free allocations under 16 bytes into shared 16-byte blocks.
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

/* ---- Initialisation ----------------------------------------------------------------- */

/* Optional: the first call into mgc initialises it. Reads the environment
 * (below) once. Safe to call more than once, from any thread. */
void mgc_init(void);

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
    uint64_t finalizers_run;
};

void mgc_read_stats(struct mgc_stats *out);

/* ---- Environment (read once, at initialisation) ---------------------------------------
 *
 * MGC_DEBUG=key=value,...
 *   tinyalloc=0   turn the tiny allocator off: every request gets its own slot
 *   efence=1      every object on its own pages, never reused; freed objects'
 *                 pages become inaccessible (catches use after free)
 *   gctrace=1     one line per collection on stderr
 * An unknown key or malformed value is reported once on stderr and ignored.
 */

#ifdef __cplusplus
}
#endif

#endif

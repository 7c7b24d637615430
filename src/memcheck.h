/*
 * memcheck.h: telling Valgrind's memcheck which heap bytes a program may
 * touch, so that a read or write of an object after mgc_free (or after the
 * collector freed it) is reported where it happens.
 *
 * Built in when the Makefile finds <valgrind/memcheck.h> (MGC_VALGRIND);
 * every request is skipped unless the program runs under Valgrind
 * (memcheck_running, set once at start-up), and none sits on an allocation
 * fast path. Outside Valgrind the cost is a test of one global on mgc_free
 * and on slow paths; without the header, nothing at all.
 *
 * The states a heap slot goes through:
 *
 *   free              no access: the program holds no object there
 *   in a window       defined (zero): the allocation fast path may hand it
 *                     out without telling memcheck, so it is made
 *                     accessible when the cache's window takes it in
 *                     (cache.c) and inaccessible again if the window drops it
 *   allocated         defined (zeroed), or undefined for MGC_NOZERO
 *
 * mgc's own writes to free memory (zeroing freed slots, dirty pages) make it
 * writable first and inaccessible again after. The marker reads stacks, data
 * segments and whole slots on purpose, partly uninitialised; it runs with
 * memcheck's error reporting off (mark.c), which costs one request per
 * marking thread per collection.
 */
#ifndef MGC_MEMCHECK_H
#define MGC_MEMCHECK_H

#include "mgc_internal.h"

#ifdef MGC_VALGRIND
#include <valgrind/memcheck.h>

extern bool memcheck_running INTERNAL;
#define memcheck_active() unlikely(memcheck_running)

static inline void memcheck_no_access(uintptr_t p, size_t n)
{
    if (memcheck_active())
        (void)VALGRIND_MAKE_MEM_NOACCESS(p, n);
}

/* Writable, contents unknown: before mgc writes to free memory, or for an
 * object handed out without zeroing. */
static inline void memcheck_writable(uintptr_t p, size_t n)
{
    if (memcheck_active())
        (void)VALGRIND_MAKE_MEM_UNDEFINED(p, n);
}

static inline void memcheck_defined(uintptr_t p, size_t n)
{
    if (memcheck_active())
        (void)VALGRIND_MAKE_MEM_DEFINED(p, n);
}

static inline void memcheck_reports_off(void)
{
    if (memcheck_active())
        VALGRIND_DISABLE_ERROR_REPORTING;
}

static inline void memcheck_reports_on(void)
{
    if (memcheck_active())
        VALGRIND_ENABLE_ERROR_REPORTING;
}

static inline void memcheck_detect(void)
{
    memcheck_running = RUNNING_ON_VALGRIND != 0;
}
#else
#define memcheck_active() false
static inline void memcheck_no_access(uintptr_t p, size_t n) { (void)p, (void)n; }
static inline void memcheck_writable(uintptr_t p, size_t n) { (void)p, (void)n; }
static inline void memcheck_defined(uintptr_t p, size_t n) { (void)p, (void)n; }
static inline void memcheck_reports_off(void) {}
static inline void memcheck_reports_on(void) {}
static inline void memcheck_detect(void) {}
#endif

/* Each slot of span s whose bit is set in word w of a bitmap. */
static inline void memcheck_slots_no_access(const struct span *s, size_t w, uint64_t bits)
{
    if (memcheck_active())
        for (; bits; bits &= bits - 1)
            memcheck_no_access(s->start + (w * 64 + (size_t)__builtin_ctzll(bits)) * (uintptr_t)s->elem_size,
                               s->elem_size);
}

#endif

/*
 * os.c: the only place mgc asks the operating system for memory.
 *
 * Heap arenas and persistent metadata are reserved read-write with
 * MAP_NORESERVE: Linux backs a page only when it is first touched, so a
 * reservation costs address space, not memory. Free heap pages go back with
 * MADV_DONTNEED, after which they read as zero (the page heap relies on that
 * to skip zeroing them again). Heap arenas ask for transparent huge pages
 * (MADV_HUGEPAGE; MGC_DEBUG=hugepages=0 turns that off): where the system
 * grants them only on request, the default on Debian, a heap of 4 KiB pages
 * spends a good share of its time in page faults and TLB misses.
 *
 * Tests make requests fail on purpose, every one from the n-th on
 * (os_fail_after) or the n-th alone (os_fail_once), so that every
 * out-of-memory path is exercised. A request is every os_reserve and every
 * persistent_alloc (persistent.c), whether or not it needs a new chunk:
 * each metadata allocation (span records, bitmaps, thread records, caches,
 * mark work blocks, root arrays, finalizer records) can fail on its own.
 */
#include <sys/mman.h>

#include "mgc_internal.h"

static long fail_countdown = -1; /* requests left before failing; -1 = never */
static bool fail_once;           /* the failing request turns the countdown off */
static long requests;            /* requests made, for tests that walk them all */

void os_fail_after(long n)
{
    store_relaxed(&fail_once, false);
    store_relaxed(&fail_countdown, n);
}

void os_fail_once(long n)
{
    store_relaxed(&fail_once, true);
    store_relaxed(&fail_countdown, n);
}

long os_request_count(void)
{
    return load_relaxed(&requests);
}

bool os_injected_failure(void)
{
    __atomic_fetch_add(&requests, 1, __ATOMIC_RELAXED);
    long left = load_relaxed(&fail_countdown);
    while (left >= 0) {
        long next = left > 0 ? left - 1 : load_relaxed(&fail_once) ? -1 : 0;
        if (__atomic_compare_exchange_n(&fail_countdown, &left, next, false,
                                        __ATOMIC_RELAXED, __ATOMIC_RELAXED))
            return left == 0;
    }
    return false;
}

void *os_reserve(size_t size, uintptr_t hint)
{
    if (os_injected_failure()) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = mmap((void *)hint, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        errno = ENOMEM;
        return NULL;
    }
    return p;
}

void os_advise_huge_pages(void *p, size_t size)
{
    madvise(p, size, MADV_HUGEPAGE);
}

void os_unmap(void *p, size_t size)
{
    munmap(p, size);
}

void os_release(void *p, size_t size)
{
    madvise(p, size, MADV_DONTNEED);
}

void os_protect_none(void *p, size_t size)
{
    madvise(p, size, MADV_DONTNEED);
    mprotect(p, size, PROT_NONE);
}

/*
 * roots.c: where marking starts, besides thread stacks (world.c) and
 * uncollectable objects (mark.c).
 *
 * The writable data and bss of the executable and of every shared library
 * loaded at the time of the collection: dl_iterate_phdr is walked at every
 * collection, so a library opened with dlopen after start-up is covered and
 * one closed with dlclose is no longer read. The world is stopped from inside
 * the walk's first callback: the walk holds the dynamic loader's lock, so no
 * other thread can be half way through dlopen or dlclose while the segments
 * are read, and none can start one until marking is over.
 *
 * Ranges given to mgc_add_roots are kept in an array that only grows;
 * mgc_remove_roots cuts a range out of whatever was added.
 *
 * Lock order: gc_lock, then the loader's lock, then roots_lock, then
 * threads_lock. A library constructor that calls mgc_add_roots from inside
 * dlopen takes them in that same order.
 */
#include <link.h>

#include "mgc_internal.h"

pthread_mutex_t roots_lock = PTHREAD_MUTEX_INITIALIZER;

static struct root_range *registered;
static size_t registered_count, registered_capacity;

static struct root_range *segments;
static size_t segment_count, segment_capacity;

size_t roots_registered(const struct root_range **out)
{
    *out = registered;
    return registered_count;
}

/* Make room for one more range in an array that only grows; the old array
 * is persistent memory and is left behind (at most half of what is used).
 * false when out of memory. */
static bool reserve_one(struct root_range **array, size_t count, size_t *capacity)
{
    if (count < *capacity)
        return true;
    size_t larger = *capacity ? *capacity * 2 : 64;
    struct root_range *grown = persistent_alloc(larger * sizeof *grown, 8, SYS_OTHER);
    if (!grown)
        return false;
    if (count)
        memcpy(grown, *array, count * sizeof *grown);
    *array = grown;
    *capacity = larger;
    return true;
}

/* ---- The walk ------------------------------------------------------------------------------ */

struct walk {
    bool stopped;
    bool complete; /* every writable segment was recorded */
};

static void stop_the_world_locked(struct walk *walk)
{
    if (walk->stopped)
        return;
    lock_stoppable(&roots_lock);
    lock_stoppable(&threads_lock);
    world_stop();
    walk->stopped = true;
    segment_count = 0;
}

static int each_object(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    struct walk *walk = data;
    stop_the_world_locked(walk);
    for (size_t i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_W) || ph->p_memsz == 0)
            continue;
        if (!reserve_one(&segments, segment_count, &segment_capacity)) {
            walk->complete = false; /* a cycle that did not see a root must not free anything */
            continue;
        }
        uintptr_t start = info->dlpi_addr + ph->p_vaddr;
        segments[segment_count++] = (struct root_range){start, start + ph->p_memsz};
    }
    return 0;
}

bool roots_with_world_stopped(void (*fn)(const struct root_range *segments, size_t n, void *arg), void *arg)
{
    struct walk walk = {false, true};
    dl_iterate_phdr(each_object, &walk);
    stop_the_world_locked(&walk); /* in case the walk saw no object at all */
    if (walk.complete)
        fn(segments, segment_count, arg);
    world_start();
    pthread_mutex_unlock(&threads_lock);
    pthread_mutex_unlock(&roots_lock);
    return walk.complete;
}

/* ---- Registered ranges ------------------------------------------------------------------------- */

/* The end of [start, start + size), clamped at the top of the address space. */
static uintptr_t range_end(uintptr_t start, size_t size)
{
    uintptr_t end;
    return __builtin_add_overflow(start, size, &end) ? UINTPTR_MAX : end;
}

void mgc_add_roots(void *start, size_t size)
{
    if (!start || size == 0)
        return;
    /* Every collection reads the whole range: one that wraps past the top of
     * the address space, or reaches beyond user space, can never be read,
     * and would bring down the first collection far from the faulty call. */
    uintptr_t s = (uintptr_t)start, e;
    if (__builtin_add_overflow(s, size, &e) || (e - 1) >> ADDRESS_BITS) {
        write_stderr("mgc: mgc_add_roots: range %p+%zu goes past the user address space; "
                     "it is not a root\n", start, size);
        return;
    }
    runtime_ensure_init();
    lock_stoppable(&roots_lock);
    if (reserve_one(&registered, registered_count, &registered_capacity))
        registered[registered_count++] = (struct root_range){s, e};
    else
        write_stderr("mgc: mgc_add_roots: out of memory; range %p+%zu is not a root\n", start, size);
    pthread_mutex_unlock(&roots_lock);
}

void mgc_remove_roots(void *start, size_t size)
{
    if (!start || size == 0)
        return;
    uintptr_t s = (uintptr_t)start, e = range_end(s, size);
    lock_stoppable(&roots_lock);
    for (size_t i = 0; i < registered_count;) {
        struct root_range *r = &registered[i];
        if (r->end <= s || r->start >= e) {
            i++;
        } else if (r->start >= s && r->end <= e) {
            registered[i] = registered[--registered_count]; /* wholly removed */
        } else if (r->start < s && r->end > e) {
            /* The removed range is inside: split in two. Room for the tail
             * first: without it, the range stays whole, since a root too
             * many keeps garbage, while a root lost would free live data. */
            if (!reserve_one(&registered, registered_count, &registered_capacity)) {
                write_stderr("mgc: mgc_remove_roots: out of memory; range %p+%zu stays a root\n", start, size);
                i++;
                continue;
            }
            r = &registered[i]; /* the array may have moved */
            uintptr_t tail_end = r->end;
            r->end = s;
            registered[registered_count++] = (struct root_range){e, tail_end};
            i++;
        } else if (r->start < s) {
            r->end = s;
            i++;
        } else {
            r->start = e;
            i++;
        }
    }
    pthread_mutex_unlock(&roots_lock);
}

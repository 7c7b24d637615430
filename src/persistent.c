/*
 * persistent.c: off-heap metadata that is never given back.
 *
 * Spans, arena maps, thread caches and bitmaps live outside the garbage-
 * collected heap, so the collector never scans or frees them. They are carved
 * from large chunks obtained from the OS. The current chunk is kept as
 * (base, offset), as the 2015 seed change does: the state never holds a
 * pointer past the end of the chunk, which would lie in some other mapping.
 *
 * Every byte obtained is charged to gc_sys or other_sys: a request to the kind
 * it names, alignment padding and the unused rest of a chunk to other_sys.
 *
 * fixed_alloc recycles records of one size through a free list on top of it.
 */
#include "mgc_internal.h"

#define CHUNK_SIZE ((size_t)256 << 10)

static pthread_mutex_t persistent_lock = PTHREAD_MUTEX_INITIALIZER;
static uintptr_t chunk_base;   /* current chunk, or 0 */
static size_t chunk_offset;    /* its first free byte; <= CHUNK_SIZE */
static uint64_t sys_bytes[2];  /* by enum sys_kind */

static size_t align_up(size_t n, size_t align)
{
    return (n + align - 1) & ~(align - 1);
}

void *persistent_alloc(size_t size, size_t align, enum sys_kind kind)
{
    if (os_injected_failure()) {
        errno = ENOMEM;
        return NULL;
    }
    size = align_up(size ? size : 1, 8);
    if (size >= CHUNK_SIZE / 4) {
        /* Large requests get a mapping of their own rather than wasting the
         * rest of the current chunk. */
        size_t rounded = align_up(size, PAGE_SIZE);
        void *p = os_reserve(rounded, 0);
        if (p) {
            pthread_mutex_lock(&persistent_lock);
            sys_bytes[kind] += rounded;
            pthread_mutex_unlock(&persistent_lock);
        }
        return p;
    }

    pthread_mutex_lock(&persistent_lock);
    size_t offset = align_up(chunk_offset, align);
    if (chunk_base == 0 || offset > CHUNK_SIZE || CHUNK_SIZE - offset < size) {
        void *chunk = os_reserve(CHUNK_SIZE, 0);
        if (!chunk) {
            pthread_mutex_unlock(&persistent_lock);
            return NULL;
        }
        if (chunk_base)
            sys_bytes[SYS_OTHER] += CHUNK_SIZE - chunk_offset;
        chunk_base = (uintptr_t)chunk;
        chunk_offset = 0;
        offset = 0;
    }
    sys_bytes[SYS_OTHER] += offset - chunk_offset;
    sys_bytes[kind] += size;
    void *p = (void *)(chunk_base + offset);
    chunk_offset = offset + size;
    pthread_mutex_unlock(&persistent_lock);
    return p;
}

void persistent_lock_all(void)
{
    pthread_mutex_lock(&persistent_lock);
}

void persistent_unlock_all(void)
{
    pthread_mutex_unlock(&persistent_lock);
}

void sys_account(enum sys_kind kind, int64_t bytes)
{
    pthread_mutex_lock(&persistent_lock);
    sys_bytes[kind] += (uint64_t)bytes;
    pthread_mutex_unlock(&persistent_lock);
}

void persistent_read_counters(uint64_t *gc_sys, uint64_t *other_sys)
{
    pthread_mutex_lock(&persistent_lock);
    *gc_sys = sys_bytes[SYS_GC];
    *other_sys = sys_bytes[SYS_OTHER] + (chunk_base ? CHUNK_SIZE - chunk_offset : 0);
    pthread_mutex_unlock(&persistent_lock);
}

void *fixed_alloc(struct fixed_alloc *f)
{
    void *p = f->free_list;
    if (p) {
        f->free_list = *(void **)p;
        memset(p, 0, f->size);
    } else {
        p = persistent_alloc(f->size, 8, f->kind);
        if (!p)
            return NULL;
    }
    f->in_use++;
    return p;
}

void fixed_free(struct fixed_alloc *f, void *p)
{
    *(void **)p = f->free_list;
    f->free_list = p;
    f->in_use--;
}

/*
 * alloc.c: Boehm's allocation calls on mgc's heap.
 *
 * Each request n becomes an mgc object of n + 1 bytes rounded up to 16
 * (layer.h): 16-byte alignment, distinct objects for size 0, and a pointer
 * one past the program's bytes that still keeps the object alive. Kinds map
 * to mgc flags: pointer-free is MGC_NOSCAN, uncollectable is
 * MGC_UNCOLLECTABLE; every other kind (gcj, typed, custom kinds) is an
 * ordinary scanned object, which is conservative and therefore safe.
 * A request mgc cannot meet returns what the out-of-memory function
 * returns (NULL by default), after a warning unless the size is absurd.
 */
#include "layer.h"
#include "../../src/hooks.h"

#include <errno.h>
#include <string.h>
#include <wchar.h>

static void *GC_CALLBACK default_oom_fn(size_t bytes)
{
    (void)bytes;
    return NULL;
}

GC_oom_func GC_oom_fn = default_oom_fn;

void GC_CALL GC_set_oom_fn(GC_oom_func fn)
{
    if (fn)
        __atomic_store_n(&GC_oom_fn, fn, __ATOMIC_RELEASE);
}

GC_oom_func GC_CALL GC_get_oom_fn(void)
{
    return __atomic_load_n(&GC_oom_fn, __ATOMIC_ACQUIRE);
}

/* Larger than any heap mgc could get: fail without a warning. */
#define ABSURD_SIZE ((size_t)1 << 46)

static void *out_of_memory(size_t n)
{
    if (n < ABSURD_SIZE) {
        struct mgc_stats stats;
        mgc_read_stats(&stats);
        layer_warn("Out of Memory! Heap size: %lu MiB. Returning NULL!\n",
                   (GC_word)(stats.heap_sys >> 20));
    }
    return GC_get_oom_fn()(n);
}

static inline __attribute__((always_inline)) void *allocate(size_t n, unsigned flags)
{
    layer_enter();
    size_t size = layer_padded_size(n);
    if (layer_unlikely(size == 0 || size >= ABSURD_SIZE))
        return GC_get_oom_fn()(n);
    void *p;
    if (flags == 0)
        p = mgc_alloc(size);
    else if (flags == MGC_NOSCAN)
        p = mgc_alloc_noscan(size);
    else
        p = mgc_alloc_flags(size, flags);
    if (layer_unlikely(!p))
        return out_of_memory(n);
    return p;
}

void *layer_alloc(size_t n, unsigned flags)
{
    return allocate(n, flags);
}

void *GC_CALL GC_malloc(size_t n)
{
    return allocate(n, 0);
}

void *GC_CALL GC_malloc_atomic(size_t n)
{
    return allocate(n, MGC_NOSCAN);
}

void *GC_CALL GC_malloc_uncollectable(size_t n)
{
    return layer_alloc(n, MGC_UNCOLLECTABLE);
}

void *GC_CALL GC_malloc_atomic_uncollectable(size_t n)
{
    return layer_alloc(n, MGC_NOSCAN | MGC_UNCOLLECTABLE);
}

void *GC_CALL GC_malloc_ignore_off_page(size_t n)
{
    return layer_alloc(n, 0);
}

void *GC_CALL GC_malloc_atomic_ignore_off_page(size_t n)
{
    return layer_alloc(n, MGC_NOSCAN);
}

void *GC_CALL GC_malloc_stubborn(size_t n)
{
    return layer_alloc(n, 0);
}

char *GC_CALL GC_strdup(const char *s)
{
    if (!s)
        return NULL;
    size_t length = strlen(s);
    char *copy = layer_alloc(length + 1, MGC_NOSCAN);
    if (copy)
        memcpy(copy, s, length + 1);
    return copy;
}

char *GC_CALL GC_strndup(const char *s, size_t limit)
{
    size_t length = strnlen(s, limit);
    char *copy = layer_alloc(length + 1, MGC_NOSCAN);
    if (copy) {
        memcpy(copy, s, length);
        copy[length] = '\0';
    }
    return copy;
}

wchar_t *GC_CALL GC_wcsdup(const wchar_t *s)
{
    size_t bytes = (wcslen(s) + 1) * sizeof(wchar_t);
    wchar_t *copy = layer_alloc(bytes, MGC_NOSCAN);
    if (copy)
        memcpy(copy, s, bytes);
    return copy;
}

/* Alignments above 16: an object align - 1 bytes longer, and the aligned
 * address inside it (GC_base maps it back; GC_free accepts it). */
void *GC_CALL GC_memalign(size_t align, size_t n)
{
    if (align == 0 || (align & (align - 1)) != 0) {
        errno = EINVAL;
        return NULL;
    }
    if (align <= 16)
        return layer_alloc(n, 0);
    if (n > SIZE_MAX - align - 64 || align >= ABSURD_SIZE)
        return GC_get_oom_fn()(n);
    char *base = layer_alloc(n + align - 1, 0);
    if (!base)
        return NULL;
    uintptr_t aligned = ((uintptr_t)base + align - 1) & ~(uintptr_t)(align - 1);
    return (void *)aligned;
}

int GC_CALL GC_posix_memalign(void **out, size_t align, size_t n)
{
    if (align < sizeof(void *) || (align & (align - 1)) != 0)
        return EINVAL;
    void *p = GC_memalign(align, n);
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}

void GC_CALL GC_free(void *p)
{
    if (!p)
        return;
    void *base = mgc_base(p);
    /* An interior pointer GC_base maps back comes from GC_memalign. */
    mgc_free(base ? base : p);
}

void *GC_CALL GC_realloc(void *p, size_t n)
{
    if (!p)
        return layer_alloc(n, 0);
    if (n == 0) {
        GC_free(p);
        return NULL;
    }
    layer_enter();
    void *base = mgc_base(p);
    if (base && base != p)
        layer_abort("GC_realloc: the pointer is inside an object, not its start");
    size_t have = base ? mgc_usable_size(p) : 0;
    size_t need = layer_padded_size(n);
    if (need == 0 || need >= ABSURD_SIZE)
        return GC_get_oom_fn()(n);
    if (base && need <= have) {
        /* Stays in place; what lay past the new end must not keep anything. */
        memset((char *)p + n, 0, have - n);
        return p;
    }
    void *q = mgc_realloc(p, need); /* mgc reports a foreign pointer and aborts */
    if (!q)
        return out_of_memory(n);
    return q;
}

void *GC_CALL GC_base(void *p)
{
    return mgc_base(p);
}

int GC_CALL GC_is_heap_ptr(const void *p)
{
    return mgc_base(p) != NULL;
}

size_t GC_CALL GC_size(const void *p)
{
    void *base = mgc_base(p);
    return base ? mgc_usable_size(base) : 0;
}

/* ---- kinds ---- */

static unsigned kind_flags(int kind)
{
    switch (kind) {
    case 0: return MGC_NOSCAN;
    case 2: return MGC_UNCOLLECTABLE;
    case 3: return MGC_NOSCAN | MGC_UNCOLLECTABLE;
    default: return 0;
    }
}

void *GC_CALL GC_malloc_kind(size_t n, int kind)
{
    return layer_alloc(n, kind_flags(kind));
}

void *GC_CALL GC_malloc_kind_global(size_t n, int kind)
{
    return layer_alloc(n, kind_flags(kind));
}

void *GC_CALL GC_generic_malloc(size_t n, int kind)
{
    return layer_alloc(n, kind_flags(kind));
}

void *GC_CALL GC_generic_malloc_ignore_off_page(size_t n, int kind)
{
    return layer_alloc(n, kind_flags(kind));
}

void *GC_CALL GC_generic_malloc_uncollectable(size_t n, int kind)
{
    return layer_alloc(n, kind_flags(kind) | MGC_UNCOLLECTABLE);
}

void *GC_CALL GC_generic_or_special_malloc(size_t n, int kind)
{
    return layer_alloc(n, kind_flags(kind));
}

int GC_CALL GC_get_kind_and_size(const void *p, size_t *size)
{
    int flags = mgc_hook_object_kind(p);
    if (size)
        *size = GC_size(p);
    if (flags < 0)
        return GC_I_NORMAL;
    if (flags & MGC_UNCOLLECTABLE)
        return flags & MGC_NOSCAN ? 3 : 2;
    return flags & MGC_NOSCAN ? GC_I_PTRFREE : GC_I_NORMAL;
}

size_t GC_CALL GC_get_size_map_at(int granules)
{
    if (granules < 0 || granules > 256)
        return (size_t)-1;
    return layer_padded_size((size_t)granules * 16);
}

/* A list of objects linked through their first word. The objects are
 * scanned even for the pointer-free kind: the links are then what keeps
 * the rest of the list alive while the program holds only its head. */
void GC_CALL GC_generic_malloc_many(size_t n, int kind, void **result)
{
    *result = NULL;
    layer_enter();
    size_t size = layer_padded_size(n);
    if (size == 0 || size >= ABSURD_SIZE)
        return;
    unsigned flags = kind_flags(kind) & ~MGC_NOSCAN;
    size_t count = size < 4096 ? 4096 / size : 1;
    void *head = NULL;
    for (size_t i = 0; i < count; i++) {
        void *object = flags ? mgc_alloc_flags(size, flags) : mgc_alloc(size);
        if (!object)
            break;
        *(void **)object = head;
        head = object;
    }
    *result = head;
}

void *GC_CALL GC_malloc_many(size_t n)
{
    void *list;
    GC_generic_malloc_many(n, GC_I_NORMAL, &list);
    return list;
}

/* ---- no write barrier ---- */

void GC_CALL GC_change_stubborn(const void *p)
{
    (void)p;
}

void GC_CALL GC_end_stubborn_change(const void *p)
{
    (void)p;
}

void GC_CALL GC_ptr_store_and_dirty(void *p, const void *q)
{
    *(const void **)p = q;
}

void GC_CALL GC_noop1(GC_word x)
{
    __asm__ __volatile__("" : : "r"(x) : "memory");
}

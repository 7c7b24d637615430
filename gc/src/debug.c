/*
 * debug.c: Boehm's GC_DEBUG interface. mgc adds no debugging header to
 * objects, so each GC_debug_* call is its plain counterpart (the caller's
 * address, file and line are accepted and not kept), and a GC_DEBUG build
 * behaves as any other. The pointer-arithmetic checks (GC_same_obj and
 * friends) do check, through the print procedures Boehm exports.
 */
#include "layer.h"

#include <stdio.h>
#include <wchar.h>

#define UNUSED_EXTRAS (void)ra, (void)s, (void)i

void *GC_CALL GC_debug_malloc(size_t n, GC_EXTRA_PARAMS)
{
    UNUSED_EXTRAS;
    return GC_malloc(n);
}

void *GC_CALL GC_debug_malloc_atomic(size_t n, GC_EXTRA_PARAMS)
{
    UNUSED_EXTRAS;
    return GC_malloc_atomic(n);
}

void *GC_CALL GC_debug_malloc_uncollectable(size_t n, GC_EXTRA_PARAMS)
{
    UNUSED_EXTRAS;
    return GC_malloc_uncollectable(n);
}

void *GC_CALL GC_debug_malloc_atomic_uncollectable(size_t n, GC_EXTRA_PARAMS)
{
    UNUSED_EXTRAS;
    return GC_malloc_atomic_uncollectable(n);
}

void *GC_CALL GC_debug_malloc_stubborn(size_t n, GC_EXTRA_PARAMS)
{
    UNUSED_EXTRAS;
    return GC_malloc(n);
}

void *GC_CALL GC_debug_malloc_ignore_off_page(size_t n, GC_EXTRA_PARAMS)
{
    UNUSED_EXTRAS;
    return GC_malloc(n);
}

void *GC_CALL GC_debug_malloc_atomic_ignore_off_page(size_t n, GC_EXTRA_PARAMS)
{
    UNUSED_EXTRAS;
    return GC_malloc_atomic(n);
}

char *GC_CALL GC_debug_strdup(const char *str, GC_EXTRA_PARAMS)
{
    UNUSED_EXTRAS;
    return GC_strdup(str);
}

char *GC_CALL GC_debug_strndup(const char *str, size_t n, GC_EXTRA_PARAMS)
{
    UNUSED_EXTRAS;
    return GC_strndup(str, n);
}

wchar_t *GC_CALL GC_debug_wcsdup(const wchar_t *str, GC_EXTRA_PARAMS)
{
    UNUSED_EXTRAS;
    return GC_wcsdup(str);
}

void GC_CALL GC_debug_free(void *p)
{
    GC_free(p);
}

void *GC_CALL GC_debug_realloc(void *p, size_t n, GC_EXTRA_PARAMS)
{
    UNUSED_EXTRAS;
    return GC_realloc(p, n);
}

void *GC_CALL GC_debug_malloc_replacement(size_t n)
{
    return GC_malloc(n);
}

void *GC_CALL GC_debug_realloc_replacement(void *p, size_t n)
{
    return GC_realloc(p, n);
}

void *GC_CALL GC_debug_generic_or_special_malloc(size_t n, int kind, GC_EXTRA_PARAMS)
{
    UNUSED_EXTRAS;
    return GC_generic_or_special_malloc(n, kind);
}

void *GC_CALL GC_debug_gcj_malloc(size_t n, void *descriptor, GC_EXTRA_PARAMS);
void *GC_CALL GC_gcj_malloc(size_t n, void *descriptor);
void *GC_CALL GC_debug_gcj_malloc(size_t n, void *descriptor, GC_EXTRA_PARAMS)
{
    UNUSED_EXTRAS;
    return GC_gcj_malloc(n, descriptor);
}

void GC_CALL GC_debug_change_stubborn(const void *p)
{
    (void)p;
}

void GC_CALL GC_debug_end_stubborn_change(const void *p)
{
    (void)p;
}

void GC_CALL GC_debug_ptr_store_and_dirty(void *p, const void *q)
{
    *(const void **)p = q;
}

void GC_CALL GC_debug_register_displacement(size_t n)
{
    (void)n;
}

void GC_CALL GC_register_displacement(size_t n)
{
    (void)n;
}

size_t GC_CALL GC_get_debug_header_size(void)
{
    return 0;
}

const size_t GC_debug_header_size = 0;

/* ---- pointer checks ---- */

static void GC_CALLBACK default_same_obj_print(void *p, void *q)
{
    fprintf(stderr, "GC_same_obj: %p and %p are in different objects\n", p, q);
}

static void GC_CALLBACK default_displacement_print(void *p)
{
    fprintf(stderr, "GC_is_valid_displacement: %p is not a valid pointer\n", p);
}

static void GC_CALLBACK default_visible_print(void *p)
{
    fprintf(stderr, "GC_is_visible: %p is not visible to the collector\n", p);
}

void(GC_CALLBACK *GC_same_obj_print_proc)(void *, void *) = default_same_obj_print;
void(GC_CALLBACK *GC_is_valid_displacement_print_proc)(void *) = default_displacement_print;
void(GC_CALLBACK *GC_is_visible_print_proc)(void *) = default_visible_print;

void *GC_CALL GC_same_obj(void *p, void *q)
{
    void *base = GC_base(q);
    if (base) {
        size_t size = GC_size(base);
        if ((char *)p < (char *)base || (char *)p > (char *)base + size)
            GC_same_obj_print_proc(p, q);
    } else if (GC_base(p)) {
        GC_same_obj_print_proc(p, q);
    }
    return p;
}

void *GC_CALL GC_pre_incr(void **p, ptrdiff_t how_much)
{
    void *initial = *p;
    void *result = GC_same_obj((char *)initial + how_much, initial);
    *p = result;
    return result;
}

void *GC_CALL GC_post_incr(void **p, ptrdiff_t how_much)
{
    void *initial = *p;
    *p = GC_same_obj((char *)initial + how_much, initial);
    return initial;
}

void *GC_CALL GC_is_visible(void *p)
{
    return p;
}

void *GC_CALL GC_is_valid_displacement(void *p)
{
    return p;
}

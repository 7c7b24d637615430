/*
 * kinds.c: Boehm's typed, gcj and custom-kind interfaces, and the marking
 * internals gc_mark.h exposes. mgc scans every object conservatively and
 * owns its mark bits, so: descriptors are accepted and the objects scanned
 * whole; new kinds and mark procedures get numbers (their objects are
 * ordinary scanned objects) and the procedures are never called; the push
 * and mark-bit calls, which only make sense inside such procedures, do
 * nothing. Back-pointer queries answer "no information".
 */
#include "layer.h"
#include "gc_backptr.h"
#include "gc_gcj.h"
#include "gc_typed.h"

#include <stdio.h>

/* Boehm exports its internal state block and free-list heads; programs
 * built against Boehm's library may carry references to them. They are
 * sized as Debian's so that copy relocations match, and hold nothing. */
#define BOEHM_ARRAYS_BYTES 0x2c9f0
#define FREE_LIST_ENTRIES 257
char GC_arrays[BOEHM_ARRAYS_BYTES] __attribute__((aligned(64)));
static void *normal_lists[FREE_LIST_ENTRIES], *atomic_lists[FREE_LIST_ENTRIES];
static void *uncollectable_lists[FREE_LIST_ENTRIES], *atomic_uncollectable_lists[FREE_LIST_ENTRIES];
void **GC_objfreelist_ptr = normal_lists;
void **GC_aobjfreelist_ptr = atomic_lists;
void **GC_uobjfreelist_ptr = uncollectable_lists;
void **GC_auobjfreelist_ptr = atomic_uncollectable_lists;

void *GC_least_plausible_heap_addr = (void *)4096;
void *GC_greatest_plausible_heap_addr = (void *)~(uintptr_t)0;

int GC_gcj_kind = GC_I_NORMAL;
int GC_gcj_debug_kind = GC_I_NORMAL;

static pthread_mutex_t kinds_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned next_kind = 4;
static unsigned next_proc = GC_RESERVED_MARK_PROCS;

void **GC_CALL GC_new_free_list_inner(void)
{
    void **list = GC_malloc_uncollectable(FREE_LIST_ENTRIES * sizeof(void *));
    if (!list)
        layer_abort("GC_new_free_list: out of memory");
    return list;
}

void **GC_CALL GC_new_free_list(void)
{
    return GC_new_free_list_inner();
}

unsigned GC_CALL GC_new_kind_inner(void **free_list, GC_word descriptor, int add_size, int clear)
{
    (void)free_list, (void)descriptor, (void)add_size, (void)clear;
    return next_kind++;
}

unsigned GC_CALL GC_new_kind(void **free_list, GC_word descriptor, int add_size, int clear)
{
    pthread_mutex_lock(&kinds_lock);
    unsigned kind = GC_new_kind_inner(free_list, descriptor, add_size, clear);
    pthread_mutex_unlock(&kinds_lock);
    return kind;
}

unsigned GC_CALL GC_new_proc_inner(GC_mark_proc proc)
{
    (void)proc;
    if (next_proc >= GC_MAX_MARK_PROCS)
        layer_abort("GC_new_proc: too many mark procedures");
    return next_proc++;
}

unsigned GC_CALL GC_new_proc(GC_mark_proc proc)
{
    pthread_mutex_lock(&kinds_lock);
    unsigned index = GC_new_proc_inner(proc);
    pthread_mutex_unlock(&kinds_lock);
    return index;
}

struct GC_ms_entry *GC_CALL GC_mark_and_push(void *obj, struct GC_ms_entry *top,
                                            struct GC_ms_entry *limit, void **src)
{
    (void)obj, (void)limit, (void)src;
    return top;
}

int GC_CALL GC_is_marked(const void *p)
{
    return GC_base((void *)p) != NULL;
}

void GC_CALL GC_clear_mark_bit(const void *p)
{
    (void)p;
}

void GC_CALL GC_set_mark_bit(const void *p)
{
    (void)p;
}

void GC_CALL GC_push_all(void *bottom, void *top)
{
    (void)bottom, (void)top;
}

void GC_CALL GC_push_all_eager(void *bottom, void *top)
{
    (void)bottom, (void)top;
}

void GC_CALL GC_push_conditional(void *bottom, void *top, int all)
{
    (void)bottom, (void)top, (void)all;
}

void GC_CALL GC_push_finalizer_structures(void) {}

static void GC_CALLBACK no_other_roots(void) {}
GC_push_other_roots_proc GC_push_other_roots = no_other_roots;

void GC_CALL GC_set_push_other_roots(GC_push_other_roots_proc fn)
{
    GC_push_other_roots = fn;
}

GC_push_other_roots_proc GC_CALL GC_get_push_other_roots(void)
{
    return GC_push_other_roots;
}

void GC_CALL GC_enumerate_reachable_objects_inner(GC_reachable_object_proc fn, void *data)
{
    (void)fn, (void)data;
}

int GC_CALL GC_is_tmp_root(void *p)
{
    (void)p;
    return 0;
}

void GC_CALL GC_print_trace(GC_word gc_no)
{
    (void)gc_no;
}

void GC_CALL GC_print_trace_inner(GC_word gc_no)
{
    (void)gc_no;
}

void *GC_CALL GC_clear_stack(void *p)
{
    return p;
}

void GC_CALL GC_register_describe_type_fn(int kind, GC_describe_type_fn fn)
{
    (void)kind, (void)fn;
}

#ifdef GC_THREADS
static GC_on_thread_event_proc thread_event_proc;

void GC_CALL GC_set_on_thread_event(GC_on_thread_event_proc fn)
{
    thread_event_proc = fn;
}

GC_on_thread_event_proc GC_CALL GC_get_on_thread_event(void)
{
    return thread_event_proc;
}
#endif

/* ---- typed allocation ---- */

GC_descr GC_CALL GC_make_descriptor(const GC_word *bitmap, size_t bits)
{
    (void)bitmap;
    /* A length descriptor: the whole object may hold pointers. */
    return (GC_descr)(bits * sizeof(GC_word)) | GC_DS_LENGTH;
}

void *GC_CALL GC_malloc_explicitly_typed(size_t n, GC_descr descriptor)
{
    (void)descriptor;
    return GC_malloc(n);
}

void *GC_CALL GC_malloc_explicitly_typed_ignore_off_page(size_t n, GC_descr descriptor)
{
    (void)descriptor;
    return GC_malloc(n);
}

void *GC_CALL GC_calloc_explicitly_typed(size_t count, size_t size, GC_descr descriptor)
{
    (void)descriptor;
    size_t total;
    if (__builtin_mul_overflow(count, size, &total))
        return GC_get_oom_fn()(SIZE_MAX);
    return GC_malloc(total);
}

/* ---- gcj ---- */

void GC_CALL GC_init_gcj_malloc(int mark_proc_index, void *mark_proc)
{
    (void)mark_proc_index, (void)mark_proc;
    GC_init();
}

static void *gcj_object(size_t n, void *descriptor)
{
    void **p = GC_malloc(n < sizeof(void *) ? sizeof(void *) : n);
    if (p)
        *p = descriptor;
    return p;
}

void *GC_CALL GC_gcj_malloc(size_t n, void *descriptor)
{
    return gcj_object(n, descriptor);
}

void *GC_CALL GC_gcj_malloc_ignore_off_page(size_t n, void *descriptor)
{
    return gcj_object(n, descriptor);
}

/* ---- back pointers ---- */

GC_ref_kind GC_CALL GC_get_back_ptr_info(void *dest, void **base, size_t *offset)
{
    (void)dest;
    if (base)
        *base = NULL;
    if (offset)
        *offset = 0;
    return GC_NO_SPACE;
}

void *GC_CALL GC_generate_random_heap_address(void)
{
    return NULL;
}

void *GC_CALL GC_generate_random_valid_address(void)
{
    return NULL;
}

void GC_CALL GC_generate_random_backtrace(void)
{
    GC_err_printf("GC_generate_random_backtrace: mgc keeps no back pointers\n");
}

void GC_CALL GC_print_backtrace(void *p)
{
    GC_err_printf("GC_print_backtrace(%p): mgc keeps no back pointers\n", p);
}

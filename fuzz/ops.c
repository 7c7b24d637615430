/*
 * ops.c: the operations a fuzz input is made of (ops.h), each done on mgc
 * and on the model together, under the model's lock, then checked.
 *
 * Operations pick their objects among the live ones only: a dead object
 * (unreachable in the model) may already be freed and reused, so it is
 * never touched again. Explicit frees and reallocs are done only on objects
 * that nothing but live places names; those places are cleared or updated
 * with them.
 */
#include "ops.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mgc.h"
#include "model.h"

/* Check every live object after this many operations, and after every
 * operation that could have moved or freed anything behind the model. */
#define VERIFY_EVERY 16
#define MAX_PLACES 64

bool allocations_may_fail;
/* Whether noscan requests under 16 bytes share blocks (MGC_DEBUG=tinyalloc=0
 * turns that off). */
static bool tiny_allocator_on = true;
static unsigned operations_since_check;

/* ---- Choosing ---------------------------------------------------------------------------- */

int pick_live(struct input *in)
{
    if (model->live_count == 0)
        return -1;
    unsigned k = next_byte(in);
    if (model->live_count > 256)
        k = k << 8 | next_byte(in);
    return model->live[k % (unsigned)model->live_count];
}

/* A live object with at least one field, starting the search at a chosen
 * place in the live list; -1 when there is none. */
static int pick_live_with_fields(struct input *in)
{
    if (model->live_count == 0)
        return -1;
    int start = (int)(next_byte(in) % (unsigned)model->live_count);
    for (int k = 0; k < model->live_count; k++) {
        int id = model->live[(start + k) % model->live_count];
        if (object_field_count(&model->objects[id]) > 0)
            return id;
    }
    return -1;
}

/* A place to store a pointer: a root slot, or a field of a live object. */
static struct place pick_place(struct input *in)
{
    uint8_t b = next_byte(in);
    if (b & 1) {
        int a = pick_live_with_fields(in);
        if (a >= 0)
            return (struct place){a, (int)(b >> 1) % object_field_count(&model->objects[a])};
    }
    return (struct place){-1, (int)(b >> 1) % ROOT_SLOTS};
}

/* Where a new object goes: false to drop it at once (garbage). */
static bool pick_destination(struct input *in, struct place *out)
{
    if ((next_byte(in) & 3) == 0 || model->live_bytes > MODEL_MAX_LIVE_BYTES)
        return false;
    *out = pick_place(in);
    return true;
}

/* Mostly the start; otherwise an interior byte (never one past the end). */
static uint32_t pick_offset(struct input *in, uint32_t size)
{
    uint8_t b = next_byte(in);
    return (b & 1) ? (uint32_t)((uint64_t)(b >> 1) * size / 128) : 0;
}

/* ---- Allocation --------------------------------------------------------------------------- */

/* The alignment the contract promises an object of this size. */
static size_t promised_alignment(size_t size)
{
    size_t a = size & (0 - size);
    return a > 16 || a == 0 ? 16 : a;
}

/* Check a new object; false if it is NULL (allowed only under a limit). */
static bool check_new(const char *what, void *p, size_t size, bool zeroed, bool tiny)
{
    if (!p) {
        if (allocations_may_fail && errno == ENOMEM)
            return false;
        model_fail("%s(%zu) returned NULL (errno %d) with no memory limit set", what, size, errno);
    }
    if ((uintptr_t)p % promised_alignment(size))
        model_fail("%s(%zu) returned %p, not %zu-aligned", what, size, p, promised_alignment(size));
    long nonzero = zeroed ? first_nonzero_byte(p, size) : -1;
    if (nonzero >= 0)
        model_fail("%s(%zu) returned %p whose byte %ld is %#x, not 0", what, size, p, nonzero,
                   ((unsigned char *)p)[nonzero]);
    void *base = mgc_base((char *)p + size - 1);
    size_t usable = mgc_usable_size(p);
    if (tiny ? base != (void *)((uintptr_t)p & ~(uintptr_t)15) || usable < size || usable > 16
             : base != p || usable < size)
        model_fail("%s(%zu) returned %p: mgc_base of its last byte %p, mgc_usable_size %zu", what, size, p, base,
                   usable);
    return true;
}

/* Model a new object at p, fill it and put it where the input says. */
static void place_new_object(struct input *in, void *p, uint32_t size, enum layout layout, bool tiny,
                             bool uncollectable, bool tail_is_zero)
{
    int id = model_add_object(p, size, layout, tiny, uncollectable, tail_is_zero);
    if (id < 0)
        return; /* the model is full: p is garbage */
    object_fill(id);
    struct place destination;
    if (pick_destination(in, &destination))
        place_set(destination, id, pick_offset(in, size));
    model_release_held();
    if (model->objects[id].life == LIFE_LIVE)
        verify_object(id, "after allocation");
}

static uint32_t small_scan_size(uint8_t b)
{
    return b < 192 ? 8u * (1 + b % 48) : 8u * (48 + (uint32_t)(b - 192) * 64);
}

static uint32_t small_noscan_size(uint8_t b)
{
    return b < 192 ? 16u + b * 3u : 16u + (uint32_t)(b - 192) * 512;
}

static void op_alloc(struct input *in, enum operation op)
{
    if (model->count >= MODEL_MAX_OBJECTS)
        return;
    uint8_t size_byte = next_byte(in), variant = next_byte(in);
    uint32_t size;
    bool noscan, tiny = false, nozero = false, uncollectable = false;
    void *p;
    const char *what;
    unsigned choice = variant % 3;
    switch (op) {
    case OP_ALLOC_SCAN:
        size = small_scan_size(size_byte);
        noscan = false;
        what = choice == 0 ? "mgc_alloc" : choice == 1 ? "mgc_alloc_flags" : "mgc_realloc(NULL)";
        p = choice == 0 ? mgc_alloc(size) : choice == 1 ? mgc_alloc_flags(size, 0) : mgc_realloc(NULL, size);
        break;
    case OP_ALLOC_NOSCAN:
    case OP_ALLOC_TINY:
        size = op == OP_ALLOC_TINY ? 1u + size_byte % 15 : small_noscan_size(size_byte);
        noscan = true;
        tiny = size < 16 && tiny_allocator_on;
        nozero = choice == 2;
        what = choice == 0 ? "mgc_alloc_noscan" : "mgc_alloc_flags(NOSCAN)";
        p = choice == 0 ? mgc_alloc_noscan(size) : mgc_alloc_flags(size, MGC_NOSCAN | (nozero ? MGC_NOZERO : 0));
        break;
    case OP_ALLOC_LARGE: /* sizes a multiple of 8, so that scanned ones have fields */
        size = 32776u + size_byte * 512u;
        noscan = variant & 1;
        nozero = noscan && (variant & 2);
        what = "mgc_alloc_flags(large)";
        p = mgc_alloc_flags(size, noscan ? MGC_NOSCAN | (nozero ? MGC_NOZERO : 0) : 0);
        break;
    default: /* OP_ALLOC_UNCOLLECTABLE */
        size = 8u + size_byte * 16u;
        noscan = variant & 1;
        uncollectable = true;
        what = "mgc_alloc_flags(UNCOLLECTABLE)";
        p = mgc_alloc_flags(size, MGC_UNCOLLECTABLE | (noscan ? MGC_NOSCAN : 0));
        break;
    }
    if (!check_new(what, p, size, !nozero, tiny))
        return;
    place_new_object(in, p, size, noscan ? LAYOUT_NOSCAN : LAYOUT_SCAN, tiny, uncollectable, !nozero);
}

static void op_calloc(struct input *in)
{
    if (model->count >= MODEL_MAX_OBJECTS)
        return;
    uint8_t count_byte = next_byte(in), size_byte = next_byte(in);
    if (count_byte == 255) {
        errno = 0;
        void *p = mgc_calloc(SIZE_MAX / 2 + 1, 2 + size_byte);
        if (p || errno != ENOMEM)
            model_fail("mgc_calloc of an overflowing size returned %p, errno %d", p, errno);
        return;
    }
    size_t count = 1 + count_byte % 16, size = 1 + size_byte;
    void *p = mgc_calloc(count, size);
    if (check_new("mgc_calloc", p, count * size, true, false))
        place_new_object(in, p, (uint32_t)(count * size), LAYOUT_SCAN, false, false, true);
}

static void op_strdup(struct input *in)
{
    if (model->count >= MODEL_MAX_OBJECTS)
        return;
    uint8_t length_byte = next_byte(in);
    if (length_byte == 255) {
        errno = 0;
        if (mgc_strdup(NULL) || errno != EINVAL)
            model_fail("mgc_strdup(NULL) did not fail with EINVAL");
        return;
    }
    /* The pattern the new object will get, so that the copy is checked by
     * the usual verification. */
    char source[200];
    size_t length = length_byte % sizeof source;
    uint32_t seed = pattern_seed(model->generation, model->count);
    for (size_t i = 0; i < length; i++)
        source[i] = (char)pattern_byte(seed, i);
    source[length] = 0;
    char *copy = mgc_strdup(source);
    if (check_new("mgc_strdup", copy, length + 1, false, length + 1 < 16 && tiny_allocator_on))
        place_new_object(in, copy, (uint32_t)length + 1, LAYOUT_STRING, length + 1 < 16 && tiny_allocator_on, false,
                         false);
}

/* ---- Links ---------------------------------------------------------------------------------- */

static void op_link(struct input *in)
{
    struct place p = pick_place(in);
    int target = pick_live(in);
    if (target < 0)
        return;
    place_set(p, target, pick_offset(in, model->objects[target].size));
    if (p.object >= 0 && model->objects[p.object].life == LIFE_LIVE)
        verify_object(p.object, "after a link");
}

static void op_unlink(struct input *in) { place_set(pick_place(in), -1, 0); }

/* ---- Free and realloc ------------------------------------------------------------------------ */

/* The places that name id, when they are all live places (no dead object
 * names it) and few enough; else -1. */
static int live_places_only(int id, struct place *places)
{
    int n = places_naming(id, places, MAX_PLACES);
    if (n > MAX_PLACES || (uint32_t)n != model->objects[id].referrers)
        return -1;
    for (int k = 0; k < n; k++)
        if (places[k].object == id)
            return -1; /* it names itself: keep the bookkeeping simple */
    return n;
}

/* id is gone (freed, or replaced by a reallocated copy): out of the live
 * list, its edges dropped, its finalizer record gone with it. */
static void forget_object(int id)
{
    struct model_object *o = &model->objects[id];
    for (int j = 0; j < MODEL_FIELDS; j++)
        if (o->target[j] >= 0) {
            model->objects[o->target[j]].referrers--;
            o->target[j] = -1;
        }
    o->life = LIFE_FREED;
    o->finalizer = FINALIZER_NONE;
    o->referrers = 0;
    for (int k = 0; k < model->live_count; k++)
        if (model->live[k] == id) {
            model->live[k] = model->live[--model->live_count];
            model->live_bytes -= o->size;
            break;
        }
}

static void free_object(int id, struct place *places, int n, bool by_realloc)
{
    void *p = object_address(&model->objects[id]);
    /* Held while its places are cleared, so that what only it reaches
     * stays live meanwhile (a place may be a field of such an object). */
    model_hold(id);
    for (int k = 0; k < n; k++)
        place_set(places[k], -1, 0);
    if (by_realloc) {
        errno = 0;
        void *q = mgc_realloc(p, 0);
        if (q)
            model_fail("mgc_realloc(%p, 0) returned %p, not NULL", p, q);
    } else {
        mgc_free(p);
    }
    forget_object(id);
    model_release_held();
}

static void op_free(struct input *in)
{
    int id = pick_live(in);
    struct place places[MAX_PLACES];
    int n = id < 0 ? -1 : live_places_only(id, places);
    if (n >= 0)
        free_object(id, places, n, false);
}

static uint32_t realloc_size(uint8_t b, uint32_t old)
{
    uint64_t size;
    switch (b & 7) {
    case 0: size = 1 + old / 4; break;
    case 1: size = old / 2 + 1; break;
    case 2: size = old > 1 ? old - 1 : 1; break;
    case 3: size = old; break;
    case 4: size = old + 1; break;
    case 5: size = old + old / 2 + 1; break;
    case 6: size = 2 * (uint64_t)old; break;
    default: size = (uint64_t)(b >> 3) * 2048 + 1; break;
    }
    return size > 200000 ? 200000 : (uint32_t)size;
}

static void op_realloc(struct input *in)
{
    int x_id = pick_live(in);
    uint8_t size_byte = next_byte(in);
    struct place places[MAX_PLACES];
    int n = x_id < 0 ? -1 : live_places_only(x_id, places);
    if (n < 0 || model->count >= MODEL_MAX_OBJECTS)
        return;
    struct model_object *x = &model->objects[x_id];
    void *p = object_address(x);
    if (x->finalizer == FINALIZER_PENDING) {
        /* A record that stays when realloc keeps p would carry the old
         * size in its argument: remove it first. */
        if (mgc_set_finalizer(p, NULL, NULL) != 0)
            model_fail("removing the finalizer of object %d failed", x_id);
        x->finalizer = FINALIZER_NONE;
    }
    if (size_byte == 0) {
        free_object(x_id, places, n, true);
        return;
    }
    uint32_t old_size = x->size, new_size = realloc_size(size_byte, old_size);
    errno = 0;
    unsigned char *q = mgc_realloc(p, new_size);
    if (!q) {
        if (!allocations_may_fail || errno != ENOMEM)
            model_fail("mgc_realloc(%p, %u) returned NULL, errno %d", p, new_size, errno);
        verify_object(x_id, "after a failed realloc");
        return;
    }
    bool moved = q != p;
    /* What was there is there still, and what is new reads zero, unless
     * the old bytes past the old size were not zero (NOZERO, or a shrink
     * in place left them) or the tiny block's neighbours came along. */
    size_t kept = old_size < new_size ? old_size : new_size;
    long wrong = first_wrong_copied_byte(x, q, kept);
    if (wrong >= 0)
        model_fail("mgc_realloc(%p, %u) of object %d (%u bytes) to %p: byte %ld is %#x, not %#x", p, new_size, x_id,
                   old_size, (void *)q, wrong, q[wrong], expected_byte(x, (size_t)wrong));
#ifdef FUZZ_STRICT_REALLOC_ZERO
    bool tail_checked = !x->tiny; /* the header's promise, word for word */
#else
    bool tail_checked = !x->tiny && x->tail_is_zero;
#endif
    long nonzero = tail_checked && new_size > old_size ? first_nonzero_byte(q + old_size, new_size - old_size) : -1;
    if (nonzero >= 0)
        model_fail("mgc_realloc(%p, %u) of object %d (%u bytes) to %p: new byte %ld is %#x, not 0", p, new_size, x_id,
                   old_size, (void *)q, old_size + nonzero, q[old_size + nonzero]);
    bool noscan = x->layout != LAYOUT_SCAN;
    bool tiny = moved ? noscan && !x->uncollectable && new_size < 16 && tiny_allocator_on : x->tiny;
    bool tail_is_zero = moved || (new_size >= old_size && x->tail_is_zero);
    if (moved && !check_new("mgc_realloc", q, new_size, false, tiny))
        return;
    int y_id = model_add_object(q, new_size, noscan ? LAYOUT_NOSCAN : LAYOUT_SCAN, tiny, x->uncollectable,
                                tail_is_zero);
    struct model_object *y = &model->objects[y_id];
    x = &model->objects[x_id];
    /* The fields the copy still has keep their targets. */
    for (int j = 0; j < object_field_count(y) && j < object_field_count(x); j++) {
        y->target[j] = x->target[j];
        y->target_offset[j] = x->target_offset[j];
        if (x->target[j] >= 0)
            model->objects[x->target[j]].referrers++;
    }
    object_fill(y_id);
    /* Every place that named the old object names the new one; the old one
     * is held meanwhile, so that what it alone reaches stays live. */
    model_hold(x_id);
    for (int k = 0; k < n; k++) {
        uint32_t offset = places[k].object < 0 ? model->root_offset[places[k].index]
                                               : model->objects[places[k].object].target_offset[places[k].index];
        place_set(places[k], y_id, offset < new_size ? offset : 0);
    }
    forget_object(x_id);
    model_release_held();
    if (y->life == LIFE_LIVE)
        verify_object(y_id, "after realloc");
}

/* ---- Finalizers -------------------------------------------------------------------------------- */

static bool finalizer_result_ok(int result, int expected)
{
    return result == expected || (allocations_may_fail && result == MGC_ENOMEM);
}

static void op_set_finalizer(struct input *in)
{
    int id = pick_live(in);
    uint8_t variant = next_byte(in);
    if (id < 0)
        return;
    struct model_object *o = &model->objects[id];
    char *p = object_address(o);
    if (o->finalizer == FINALIZER_PENDING) {
        int result = mgc_set_finalizer(p, model_finalizer, model_finalizer_arg(id));
        if (result != MGC_EEXIST)
            model_fail("a second finalizer on object %d: %d, not MGC_EEXIST", id, result);
        return;
    }
    if ((variant & 1) && !o->tiny && o->size > 1) {
        int result = mgc_set_finalizer(p + 1, model_finalizer, model_finalizer_arg(id));
        if (result != MGC_EINVAL)
            model_fail("a finalizer on byte 1 of object %d: %d, not MGC_EINVAL", id, result);
    }
    int result = mgc_set_finalizer(p, model_finalizer, model_finalizer_arg(id));
    if (!finalizer_result_ok(result, 0))
        model_fail("setting the finalizer of object %d failed: %d", id, result);
    if (result == 0)
        o->finalizer = FINALIZER_PENDING;
}

static void op_remove_finalizer(struct input *in)
{
    if (model->live_count == 0)
        return;
    /* The first live object with a finalizer from a chosen start, or the
     * start itself (removing where none is set returns 0 too). */
    int start = (int)(next_byte(in) % (unsigned)model->live_count), id = model->live[start];
    for (int k = 0; k < model->live_count; k++) {
        int candidate = model->live[(start + k) % model->live_count];
        if (model->objects[candidate].finalizer == FINALIZER_PENDING) {
            id = candidate;
            break;
        }
    }
    int result = mgc_set_finalizer(object_address(&model->objects[id]), NULL, NULL);
    if (result != 0)
        model_fail("removing the finalizer of object %d: %d", id, result);
    model->objects[id].finalizer = FINALIZER_NONE;
}

static void op_run_finalizers(void)
{
    /* The lock is held and recursive: finalizers running here check
     * themselves against a model that stands still. */
    uint64_t before = model->finalizer_calls;
    size_t ran = mgc_run_finalizers();
    if (model->finalizer_calls - before != ran)
        model_fail("mgc_run_finalizers says %zu ran; %llu did", ran,
                   (unsigned long long)(model->finalizer_calls - before));
}

/* ---- Garbage ------------------------------------------------------------------------------------ */

/* Unmodelled objects of mixed sizes, scribbled over: a slot freed while its
 * object was reachable gets reused and overwritten. */
static void churn(unsigned count, uint8_t salt)
{
    for (unsigned i = 0; i < count; i++) {
        size_t size = 1 + (size_t)((i * 37u + salt) % 600);
        unsigned char *q = (i + salt) % 3 ? mgc_alloc_noscan(size) : mgc_alloc(size);
        if (q)
            memset(q, 0xA5, size);
    }
}

/* A chain of new objects, newest first, each pointing at the one before,
 * with finalizers on some, maybe closed into a cycle, and maybe kept: the
 * order of finalizers along a chain, and no finalizer on a cycle. */
static void garbage_chain(struct input *in, uint8_t shape)
{
    int length = 2 + shape % 4, previous = -1, first = -1;
    if (model->count + length > MODEL_MAX_OBJECTS)
        return;
    for (int i = 0; i < length; i++) {
        void *p = mgc_alloc(32);
        if (!check_new("mgc_alloc", p, 32, true, false))
            break;
        int id = model_add_object(p, 32, LAYOUT_SCAN, false, false, true);
        object_fill(id);
        if (previous >= 0)
            place_set((struct place){id, 0}, previous, 0);
        else
            first = id;
        if (shape >> (2 + i) & 1) {
            int result = mgc_set_finalizer(p, model_finalizer, model_finalizer_arg(id));
            if (!finalizer_result_ok(result, 0))
                model_fail("setting the finalizer of object %d failed: %d", id, result);
            if (result == 0)
                model->objects[id].finalizer = FINALIZER_PENDING;
        }
        previous = id;
    }
    if (previous >= 0 && (shape & 0x80) && previous != first)
        place_set((struct place){first, 1}, previous, 0);
    struct place destination;
    if (previous >= 0 && (shape & 0x40) && pick_destination(in, &destination))
        place_set(destination, previous, 0);
    model_release_held();
}

static void op_garbage(struct input *in)
{
    uint8_t variant = next_byte(in), argument = next_byte(in);
    if (variant & 1)
        garbage_chain(in, argument);
    else
        churn(1u + argument % 64, variant);
    if (variant == 2) { /* zero-size objects while at it */
        void *z = mgc_alloc(0);
        if (!z || mgc_realloc(z, 0) != NULL)
            model_fail("size 0: mgc_alloc gave %p, or realloc to 0 did not give NULL", z);
        mgc_free(mgc_alloc_noscan(0));
    }
}

/* ---- Threads ---------------------------------------------------------------------------------- */

static void run_operation(struct input *in, bool on_helper);

struct helper {
    struct input *in;
    unsigned operations;
    volatile int done;
};

static void *helper_main(void *arg)
{
    struct helper *h = arg;
    mgc_register_thread(); /* before it holds any pointer (mgc.h) */
    for (unsigned i = 0; i < h->operations; i++)
        run_operation(h->in, true);
    __atomic_store_n(&h->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

/* A thread does the next few operations and exits, while this one waits,
 * or allocates garbage meanwhile so that collections stop both. Runs
 * without the model's lock: the helper takes it for each operation. */
static void op_thread(struct input *in)
{
    uint8_t b = next_byte(in);
    struct helper h = {in, 1u + b % 8, 0};
    pthread_t thread;
    if (pthread_create(&thread, NULL, helper_main, &h) != 0) {
        helper_main(&h);
        return;
    }
    for (int i = 0; (b & 0x80) && i < 200 && !__atomic_load_n(&h.done, __ATOMIC_ACQUIRE); i++)
        churn(4, (uint8_t)i);
    pthread_join(thread, NULL);
}

/* ---- Settings ------------------------------------------------------------------------------------ */

static void op_settings(struct input *in)
{
    uint8_t which = next_byte(in), value = next_byte(in);
    static const int percents[] = {-1, 10, 100, 400};
    switch (which % 6) {
    case 0:
        mgc_set_gc_percent(percents[value % 4]);
        break;
    case 1: { /* a limit near what is in use: limit collections, maybe ENOMEM */
        struct mgc_stats s;
        mgc_read_stats(&s);
        mgc_set_memory_limit((size_t)s.sys + (size_t)value * 65536);
        allocations_may_fail = true;
        break;
    }
    case 2:
        mgc_set_memory_limit(SIZE_MAX);
        break;
    case 3:
        mgc_set_finalizer_mode(MGC_FINALIZE_MANUAL);
        break;
    case 4:
        mgc_set_finalizer_mode(MGC_FINALIZE_THREAD);
        break;
    default:
        mgc_collect();
        op_run_finalizers();
        break;
    }
}

/* ---- The loop ------------------------------------------------------------------------------------ */

static void run_operation(struct input *in, bool on_helper)
{
    enum operation op = (enum operation)(next_byte(in) % OP_COUNT);
    if (op == OP_THREAD) {
        if (on_helper)
            return; /* no threads within threads */
        op_thread(in);
        model_lock();
        verify_all("after a thread's operations");
        model_unlock();
        return;
    }
    model_lock();
    bool check_all = false;
    switch (op) {
    case OP_ALLOC_SCAN:
    case OP_ALLOC_NOSCAN:
    case OP_ALLOC_TINY:
    case OP_ALLOC_LARGE:
    case OP_ALLOC_UNCOLLECTABLE: op_alloc(in, op); break;
    case OP_CALLOC: op_calloc(in); break;
    case OP_STRDUP: op_strdup(in); break;
    case OP_LINK: op_link(in); break;
    case OP_UNLINK: op_unlink(in); break;
    case OP_FREE: op_free(in); break;
    case OP_REALLOC: op_realloc(in); break;
    case OP_SET_FINALIZER: op_set_finalizer(in); break;
    case OP_REMOVE_FINALIZER: op_remove_finalizer(in); break;
    case OP_COLLECT:
        mgc_collect();
        check_all = true;
        break;
    case OP_RUN_FINALIZERS:
        op_run_finalizers();
        check_all = true;
        break;
    case OP_GARBAGE: op_garbage(in); break;
    case OP_SETTINGS:
        op_settings(in);
        check_all = true;
        break;
    case OP_WEAK:
#ifdef MGC_FUZZ_WEAK
        op_weak(in);
        break;
#endif
    case OP_VERIFY:
    default: check_all = true; break;
    }
    if (check_all || ++operations_since_check >= VERIFY_EVERY) {
        verify_all(op == OP_COLLECT ? "after mgc_collect" : "in a periodic check");
#ifdef MGC_FUZZ_WEAK
        weak_check_all();
#endif
        operations_since_check = 0;
    }
    model_unlock();
}

void fuzz_initialize(void)
{
    mgc_init();
    model_init();
    /* Two 1-byte noscan objects share a 16-byte block when the tiny
     * allocator is on. */
    char *a = mgc_alloc_noscan(1), *b = mgc_alloc_noscan(1);
    tiny_allocator_on = ((uintptr_t)a & ~(uintptr_t)15) == ((uintptr_t)b & ~(uintptr_t)15);
}

void fuzz_one_input(const uint8_t *data, size_t size)
{
    struct input in = {data, size, 0};
    uint8_t config = next_byte(&in);
    mgc_set_gc_percent(100);
    mgc_set_memory_limit(SIZE_MAX);
    allocations_may_fail = false;
    mgc_set_finalizer_mode(config & 1 ? MGC_FINALIZE_MANUAL : MGC_FINALIZE_THREAD);
    /* Start from a collected heap; what earlier inputs left queued runs now,
     * checked against its argument only. */
    mgc_collect();
    mgc_run_finalizers();
    model_lock();
    model_begin_generation();
    operations_since_check = 0;
    model_unlock();
    while (in.position < in.size)
        run_operation(&in, false);
    model_lock();
    verify_all("at the end of the input");
#ifdef MGC_FUZZ_WEAK
    weak_end_generation();
#endif
    model_end_generation();
    model_unlock();
}

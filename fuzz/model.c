/*
 * model.c: the shadow heap (model.h): objects, the places that point at
 * them, reachability, and the checks against real memory, including the
 * finalizer's own check of the moment it runs.
 */
#include "model.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mgc.h"

/* Patterns are written and checked a word at a time: byte k of a word is
 * byte k of memory. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the fuzz model assumes little-endian words");

struct model *model;

/* The root table. The static half is a root because it is in the data
 * segment; the other half because it is given to mgc_add_roots. */
static void *static_roots[STATIC_ROOT_SLOTS];
static void **added_roots;

void **root_slot(int i)
{
    return i < STATIC_ROOT_SLOTS ? &static_roots[i] : &added_roots[i - STATIC_ROOT_SLOTS];
}

void model_fail(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    fprintf(stderr, "fuzz_heap: ");
    vfprintf(stderr, format, args);
    fprintf(stderr, "\n");
    va_end(args);
    abort();
}

void model_init(void)
{
    model = calloc(1, sizeof *model);
    added_roots = calloc(ADDED_ROOT_SLOTS, sizeof *added_roots);
    if (!model || !added_roots)
        model_fail("no memory for the model");
    pthread_mutexattr_t attributes;
    pthread_mutexattr_init(&attributes);
    pthread_mutexattr_settype(&attributes, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&model->lock, &attributes);
    pthread_mutexattr_destroy(&attributes);
    mgc_add_roots(added_roots, ADDED_ROOT_SLOTS * sizeof *added_roots);
    for (int i = 0; i < ROOT_SLOTS; i++)
        model->root_target[i] = -1;
    model->held_count = 0;
}

void model_lock(void) { pthread_mutex_lock(&model->lock); }
void model_unlock(void) { pthread_mutex_unlock(&model->lock); }

uint32_t pattern_seed(uint32_t generation, int id)
{
    uint32_t x = generation * 0x85EBCA6Bu ^ (uint32_t)id * 0xC2B2AE35u;
    x ^= x >> 16;
    x *= 0x7FEB352Du;
    x ^= x >> 15;
    return x;
}

void model_begin_generation(void)
{
    static uint32_t generations;
    generations = generations % 0x7FFFFFFFu + 1; /* 31 bits, never 0 */
    model->generation = generations;
    model->count = 0;
    model->live_count = 0;
    model->live_bytes = 0;
    model->held_count = 0;
    model->finalizer_log_count = 0;
    for (int i = 0; i < ROOT_SLOTS; i++)
        model->root_target[i] = -1;
}

void model_end_generation(void)
{
    for (int i = 0; i < ROOT_SLOTS; i++) {
        *root_slot(i) = NULL;
        model->root_target[i] = -1;
    }
    /* Uncollectable objects are roots until freed: free them all, so that
     * the next input starts from nothing. */
    for (int k = 0; k < model->live_count; k++) {
        struct model_object *o = &model->objects[model->live[k]];
        if (o->uncollectable) {
            mgc_free(object_address(o));
            o->life = LIFE_FREED;
            o->finalizer = FINALIZER_NONE;
        }
    }
    model->live_count = 0;
    model->live_bytes = 0;
    model->held_count = 0;
    model->generation = 0; /* finalizers that run from now on belong to no input */
}

/* ---- Objects ----------------------------------------------------------------------------- */

int object_field_count(const struct model_object *o)
{
    /* Only objects whose size is a multiple of 8 are promised 8-byte
     * alignment, which a pointer needs to be found. */
    if (o->layout != LAYOUT_SCAN || o->size % 8)
        return 0;
    return o->size / 8 < MODEL_FIELDS ? (int)(o->size / 8) : MODEL_FIELDS;
}

bool object_is_large(const struct model_object *o) { return o->size > 32768; }

int model_add_object(void *address, uint32_t size, enum layout layout, bool tiny, bool uncollectable,
                     bool tail_is_zero)
{
    if (model->count >= MODEL_MAX_OBJECTS)
        return -1;
    int id = model->count++;
    struct model_object *o = &model->objects[id];
    memset(o, 0, sizeof *o);
    o->hidden_address = (uintptr_t)address ^ HIDE_MASK;
    o->size = size;
    o->seed = pattern_seed(model->generation, id);
    o->layout = (uint8_t)layout;
    o->life = LIFE_LIVE;
    o->finalizer = FINALIZER_NONE;
    o->tiny = tiny;
    o->uncollectable = uncollectable;
    o->tail_is_zero = tail_is_zero;
    for (int j = 0; j < MODEL_FIELDS; j++)
        o->target[j] = -1;
    model->live[model->live_count++] = id;
    model->live_bytes += size;
    model_hold(id);
    return id;
}

/* What an operation holds is kept in a root of its own: a local variable
 * the compiler no longer needs may be gone from every register and stack
 * slot while the object is still meant to be alive. */
static void *held_roots[MODEL_HELD];

void model_hold(int id)
{
    if (model->held_count >= MODEL_HELD)
        model_fail("model: an operation holds more than %d objects", MODEL_HELD);
    held_roots[model->held_count] = object_address(&model->objects[id]);
    model->held[model->held_count++] = id;
}

void model_release_held(void)
{
    for (int k = 0; k < model->held_count; k++)
        held_roots[k] = NULL;
    model->held_count = 0;
    model_recompute();
}


static uintptr_t place_value(int target, uint32_t offset)
{
    return target < 0 ? 0 : (uintptr_t)object_address(&model->objects[target]) + offset;
}

void object_fill_pattern(int id)
{
    struct model_object *o = &model->objects[id];
    unsigned char *p = object_address(o);
    size_t end = o->layout == LAYOUT_STRING ? o->size - 1 : o->size;
    size_t i = (size_t)object_field_count(o) * 8;
    for (; i < end && i % 8; i++)
        p[i] = pattern_byte(o->seed, i);
    for (; i + 8 <= end; i += 8) {
        uint64_t word = pattern_word(o->seed, i / 8);
        memcpy(p + i, &word, 8); /* little-endian: byte k of the word is byte i + k */
    }
    for (; i < end; i++)
        p[i] = pattern_byte(o->seed, i);
    if (o->layout == LAYOUT_STRING)
        p[o->size - 1] = 0;
}

void object_fill(int id)
{
    struct model_object *o = &model->objects[id];
    unsigned char *p = object_address(o);
    for (int j = 0; j < object_field_count(o); j++) {
        uintptr_t value = place_value(o->target[j], o->target_offset[j]);
        memcpy(p + 8 * j, &value, sizeof value);
    }
    object_fill_pattern(id);
}

/* ---- Places ------------------------------------------------------------------------------ */

int place_target(struct place p)
{
    return p.object < 0 ? model->root_target[p.index] : model->objects[p.object].target[p.index];
}

void place_set(struct place p, int target, uint32_t offset)
{
    if (target >= 0 && model->objects[target].life != LIFE_LIVE)
        model_fail("model: linking dead object %d", target);
    int old = place_target(p);
    uintptr_t value = place_value(target, offset);
    if (p.object < 0) {
        model->root_target[p.index] = target;
        model->root_offset[p.index] = offset;
        *root_slot(p.index) = (void *)value;
    } else {
        struct model_object *o = &model->objects[p.object];
        if (o->life != LIFE_LIVE || p.index >= object_field_count(o))
            model_fail("model: writing field %d of object %d, not live or no such field", p.index, p.object);
        o->target[p.index] = target;
        o->target_offset[p.index] = offset;
        memcpy((char *)object_address(o) + 8 * p.index, &value, sizeof value);
    }
    if (target >= 0)
        model->objects[target].referrers++;
    if (old >= 0) {
        model->objects[old].referrers--;
        model_recompute();
    }
}

int places_naming(int id, struct place *out, int max)
{
    int n = 0;
    for (int i = 0; i < ROOT_SLOTS; i++)
        if (model->root_target[i] == id) {
            if (n < max)
                out[n] = (struct place){-1, i};
            n++;
        }
    for (int k = 0; k < model->live_count; k++) {
        int a = model->live[k];
        const struct model_object *o = &model->objects[a];
        for (int j = 0; j < object_field_count(o); j++)
            if (o->target[j] == id) {
                if (n < max)
                    out[n] = (struct place){a, j};
                n++;
            }
    }
    return n;
}

/* ---- Reachability ------------------------------------------------------------------------ */

void model_recompute(void)
{
    static bool reached[MODEL_MAX_OBJECTS];
    static int stack[MODEL_MAX_OBJECTS];
    int top = 0;
    memset(reached, 0, (size_t)model->count * sizeof reached[0]);
#define REACH(id)                                                                                   \
    do {                                                                                            \
        int reach_id = (id);                                                                        \
        if (reach_id >= 0 && !reached[reach_id]) {                                                  \
            if (model->objects[reach_id].life != LIFE_LIVE)                                         \
                model_fail("model: dead object %d is reachable", reach_id);                         \
            reached[reach_id] = true;                                                               \
            stack[top++] = reach_id;                                                                \
        }                                                                                           \
    } while (0)
    for (int i = 0; i < ROOT_SLOTS; i++)
        REACH(model->root_target[i]);
    for (int k = 0; k < model->held_count; k++)
        REACH(model->held[k]);
    for (int k = 0; k < model->live_count; k++)
        if (model->objects[model->live[k]].uncollectable)
            REACH(model->live[k]);
    while (top > 0) {
        const struct model_object *o = &model->objects[stack[--top]];
        for (int j = 0; j < object_field_count(o); j++)
            REACH(o->target[j]);
    }
#undef REACH
    int kept = 0;
    for (int k = 0; k < model->live_count; k++) {
        int id = model->live[k];
        if (reached[id]) {
            model->live[kept++] = id;
        } else {
            model->objects[id].life = LIFE_DEAD;
            model->live_bytes -= model->objects[id].size;
        }
    }
    model->live_count = kept;
}

/* ---- Checks ------------------------------------------------------------------------------ */

static const char *layout_name(int layout)
{
    return layout == LAYOUT_SCAN ? "scan" : layout == LAYOUT_NOSCAN ? "noscan" : "string";
}

/* Check the pattern part of an object of this shape at p; the index of the
 * first wrong byte, or -1. */
static long find_wrong_pattern_byte(const unsigned char *p, uint32_t size, int layout, int fields, uint32_t seed)
{
    size_t end = layout == LAYOUT_STRING ? size - 1 : size;
    size_t i = (size_t)fields * 8;
    for (; i + 8 <= end; i += 8) {
        uint64_t word;
        memcpy(&word, p + i, 8);
        if (word != pattern_word(seed, i / 8))
            break; /* the byte loop below names the byte */
    }
    for (; i < end; i++)
        if (p[i] != pattern_byte(seed, i))
            return (long)i;
    if (layout == LAYOUT_STRING && p[size - 1] != 0)
        return (long)size - 1;
    return -1;
}

void verify_object(int id, const char *when)
{
    const struct model_object *o = &model->objects[id];
    const unsigned char *p = object_address(o);
    for (int j = 0; j < object_field_count(o); j++) {
        uintptr_t value, expected = place_value(o->target[j], o->target_offset[j]);
        memcpy(&value, p + 8 * j, sizeof value);
        if (value != expected)
            model_fail("%s: object %d (%s, %u bytes at %p) field %d holds %#lx, not %#lx (object %d + %u)", when,
                       id, layout_name(o->layout), o->size, (const void *)p, j, (unsigned long)value,
                       (unsigned long)expected, o->target[j], o->target_offset[j]);
    }
    long wrong = find_wrong_pattern_byte(p, o->size, o->layout, object_field_count(o), o->seed);
    if (wrong >= 0)
        model_fail("%s: object %d (%s%s%s, %u bytes at %p) byte %ld is %#x, not %#x", when, id,
                   layout_name(o->layout), o->tiny ? ", tiny" : "", o->uncollectable ? ", uncollectable" : "",
                   o->size, (const void *)p, wrong, p[wrong],
                   o->layout == LAYOUT_STRING && wrong == (long)o->size - 1 ? 0 : pattern_byte(o->seed, (size_t)wrong));
}

long first_nonzero_byte(const void *p, size_t size)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < size; i++)
        if (b[i])
            return (long)i;
    return -1;
}

uint8_t expected_byte(const struct model_object *x, size_t i)
{
    if (i < (size_t)object_field_count(x) * 8) {
        int j = (int)(i / 8);
        return (uint8_t)(place_value(x->target[j], x->target_offset[j]) >> (8 * (i % 8)));
    }
    if (x->layout == LAYOUT_STRING && i == x->size - 1)
        return 0;
    return pattern_byte(x->seed, i);
}

long first_wrong_copied_byte(const struct model_object *x, const void *copy, size_t size)
{
    const unsigned char *b = copy;
    for (size_t i = 0; i < size; i++)
        if (b[i] != expected_byte(x, i))
            return (long)i;
    return -1;
}

void verify_all(const char *when)
{
    for (int k = 0; k < model->live_count; k++)
        verify_object(model->live[k], when);
}

/* ---- Finalizers --------------------------------------------------------------------------- */

/* The argument carries what the finalizer needs to check its object even
 * after the model has moved on to another input: generation (31 bits), id
 * (13), layout (2), size (18). */
void *model_finalizer_arg(int id)
{
    const struct model_object *o = &model->objects[id];
    uint64_t arg = (uint64_t)model->generation << 33 | (uint64_t)id << 20 | (uint64_t)o->layout << 18 | o->size;
    return (void *)(uintptr_t)arg;
}

/* True when id is reachable from what a finalizer not yet run keeps alive:
 * the contents of every object whose finalizer is pending. */
static bool kept_by_pending_finalizer(int id, int *keeper)
{
    static bool reached[MODEL_MAX_OBJECTS];
    static int stack[MODEL_MAX_OBJECTS];
    static int from[MODEL_MAX_OBJECTS];
    int top = 0;
    memset(reached, 0, (size_t)model->count * sizeof reached[0]);
    for (int a = 0; a < model->count; a++) {
        const struct model_object *o = &model->objects[a];
        if (o->finalizer != FINALIZER_PENDING || o->life == LIFE_FREED)
            continue;
        for (int j = 0; j < object_field_count(o); j++) {
            int t = o->target[j];
            if (t >= 0 && !reached[t]) {
                reached[t] = true;
                from[t] = a;
                stack[top++] = t;
            }
        }
    }
    while (top > 0) {
        int b = stack[--top];
        const struct model_object *o = &model->objects[b];
        if (b == id) {
            *keeper = from[b];
            return true;
        }
        for (int j = 0; j < object_field_count(o); j++) {
            int t = o->target[j];
            if (t >= 0 && !reached[t]) {
                reached[t] = true;
                from[t] = from[b];
                stack[top++] = t;
            }
        }
    }
    return false;
}

/* Everything id reaches must be intact while its finalizer runs. */
static void verify_reached_from(int id)
{
    static bool reached[MODEL_MAX_OBJECTS];
    static int stack[MODEL_MAX_OBJECTS];
    int top = 0;
    memset(reached, 0, (size_t)model->count * sizeof reached[0]);
    reached[id] = true;
    stack[top++] = id;
    while (top > 0) {
        int b = stack[--top];
        verify_object(b, "while its finalizer (or one reaching it) runs");
        const struct model_object *o = &model->objects[b];
        for (int j = 0; j < object_field_count(o); j++) {
            int t = o->target[j];
            if (t >= 0 && !reached[t]) {
                reached[t] = true;
                stack[top++] = t;
            }
        }
    }
}

void model_finalizer(void *obj, void *arg)
{
    uint64_t bits = (uintptr_t)arg;
    uint32_t generation = (uint32_t)(bits >> 33);
    int id = (int)(bits >> 20 & 0x1FFF);
    int layout = (int)(bits >> 18 & 3);
    uint32_t size = (uint32_t)(bits & MODEL_MAX_SIZE);
    /* The object itself is intact, whichever input it came from. Its
     * fields are checked below when the model still knows them. */
    struct model_object shape = {.layout = (uint8_t)layout, .size = size};
    long wrong = find_wrong_pattern_byte(obj, size, layout, object_field_count(&shape), pattern_seed(generation, id));
    if (wrong >= 0)
        model_fail("finalizer of object %d of input %u (%s, %u bytes at %p): byte %ld is %#x", id, generation,
                   layout_name(layout), size, obj, wrong, ((unsigned char *)obj)[wrong]);
    model_lock();
    model->finalizer_calls++;
    if (generation == model->generation) {
        struct model_object *o = &model->objects[id];
        if (obj != object_address(o))
            model_fail("finalizer of object %d got %p, set on %p", id, obj, object_address(o));
        if (o->finalizer != FINALIZER_PENDING)
            model_fail("finalizer of object %d ran %s", id,
                       o->finalizer == FINALIZER_RAN ? "twice"
                       : o->life == LIFE_FREED       ? "after the object was freed"
                                                     : "after it was removed");
        if (o->life == LIFE_LIVE)
            model_fail("finalizer of object %d ran while the object is reachable", id);
        if (o->tiny)
            for (int k = 0; k < model->live_count; k++) {
                const struct model_object *t = &model->objects[model->live[k]];
                if (t->tiny && ((t->hidden_address ^ HIDE_MASK) & ~(uintptr_t)15) ==
                                   ((uintptr_t)obj & ~(uintptr_t)15))
                    model_fail("finalizer of tiny object %d ran while object %d in its block is reachable", id,
                               model->live[k]);
            }
        int keeper;
        if (kept_by_pending_finalizer(id, &keeper))
            model_fail("finalizer of object %d ran while object %d, whose finalizer has not run, reaches it", id,
                       keeper);
        verify_reached_from(id);
#ifdef MGC_FUZZ_WEAK
        weak_check_finalized(id);
#endif
        o->finalizer = FINALIZER_RAN;
        model->finalizer_log[model->finalizer_log_count++] = id;
    }
    model_unlock();
}

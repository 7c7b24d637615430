/*
 * weak.c: weak references in the fuzz target (OP_WEAK), compiled in with
 * MGC_FUZZ_WEAK (make fuzz FUZZ_WEAK=1) once mgc_weak_new and
 * mgc_weak_get exist (API.md, "Weak references"). Without it, OP_WEAK is
 * a plain check of every live object, so that inputs keep their meaning.
 *
 * What it checks, against the model:
 *   - a handle to a live object returns that object;
 *   - a handle to an unreachable object returns it (the collector is
 *     conservative) or NULL; once NULL, always NULL; what it returns is
 *     intact;
 *   - when an object's finalizer runs, every handle to it reads NULL
 *     already (called from model_finalizer).
 * Objects freed explicitly are not checked: API.md does not say what their
 * handles return.
 */
#ifdef MGC_FUZZ_WEAK

#include <errno.h>

#include "mgc.h"
#include "model.h"
#include "ops.h"

#define WEAK_SLOTS 16

/* The handles are collected objects themselves: this static table, a root,
 * keeps them alive. */
static mgc_weak *weak_handles[WEAK_SLOTS];
static struct {
    int target;
    uint32_t generation;
    bool cleared;
} weak_model[WEAK_SLOTS];

static void check_slot(int slot)
{
    mgc_weak *w = weak_handles[slot];
    if (!w || weak_model[slot].generation != model->generation)
        return;
    int id = weak_model[slot].target;
    const struct model_object *o = &model->objects[id];
    void *got = mgc_weak_get(w);
    if (o->life == LIFE_LIVE) {
        if (got != object_address(o))
            model_fail("weak handle %d to live object %d returned %p, not %p", slot, id, got, object_address(o));
        return;
    }
    if (o->life == LIFE_FREED)
        return;
    if (!got) {
        weak_model[slot].cleared = true;
        return;
    }
    if (weak_model[slot].cleared)
        model_fail("weak handle %d to object %d returned NULL, then %p", slot, id, got);
    if (got != object_address(o))
        model_fail("weak handle %d to unreachable object %d returned %p, not %p", slot, id, got, object_address(o));
    if (o->finalizer == FINALIZER_RAN)
        model_fail("weak handle %d still returns object %d after its finalizer ran", slot, id);
    verify_object(id, "returned by mgc_weak_get");
}

void op_weak(struct input *in)
{
    uint8_t b = next_byte(in);
    int slot = (b >> 1) % WEAK_SLOTS;
    if (!(b & 1)) {
        check_slot(slot);
        return;
    }
    int id = pick_live(in);
    if (id < 0)
        return;
    void *p = object_address(&model->objects[id]);
    errno = 0;
    mgc_weak *w = mgc_weak_new(p);
    if (!w) {
        if (allocations_may_fail && errno == ENOMEM)
            return;
        model_fail("mgc_weak_new(%p) of live object %d failed, errno %d", p, id, errno);
    }
    weak_handles[slot] = w;
    weak_model[slot].target = id;
    weak_model[slot].generation = model->generation;
    weak_model[slot].cleared = false;
    check_slot(slot);
}

void weak_check_all(void)
{
    for (int slot = 0; slot < WEAK_SLOTS; slot++)
        check_slot(slot);
}

void weak_check_finalized(int id)
{
    for (int slot = 0; slot < WEAK_SLOTS; slot++)
        if (weak_handles[slot] && weak_model[slot].generation == model->generation && weak_model[slot].target == id &&
            mgc_weak_get(weak_handles[slot]) != NULL)
            model_fail("finalizer of object %d runs while weak handle %d still returns it", id, slot);
}

void weak_end_generation(void)
{
    for (int slot = 0; slot < WEAK_SLOTS; slot++)
        weak_handles[slot] = NULL;
}

#else

/* Weak references are not compiled in: nothing here. */
typedef int weak_references_not_compiled_in;

#endif

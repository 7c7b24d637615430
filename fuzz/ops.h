/*
 * ops.h: the fuzz target's operations, each read from the input as one
 * operation byte and the few argument bytes it needs (0 past the end).
 */
#ifndef FUZZ_OPS_H
#define FUZZ_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct input {
    const uint8_t *data;
    size_t size;
    size_t position;
};

static inline uint8_t next_byte(struct input *in)
{
    return in->position < in->size ? in->data[in->position++] : 0;
}

/* Operation codes: the first byte of an operation, modulo OP_COUNT. Append
 * new ones at the end, so that the seed corpus keeps its meaning. */
enum operation {
    OP_ALLOC_SCAN,          /* size, variant, destination */
    OP_ALLOC_NOSCAN,        /* size, variant, destination */
    OP_ALLOC_TINY,          /* size, variant, destination */
    OP_ALLOC_LARGE,         /* size, variant, destination */
    OP_ALLOC_UNCOLLECTABLE, /* size, variant, destination */
    OP_CALLOC,              /* count, size, destination */
    OP_STRDUP,              /* length, destination */
    OP_LINK,                /* place, object, offset */
    OP_UNLINK,              /* place */
    OP_FREE,                /* object */
    OP_REALLOC,             /* object, size */
    OP_SET_FINALIZER,       /* object, variant */
    OP_REMOVE_FINALIZER,    /* object */
    OP_COLLECT,
    OP_RUN_FINALIZERS,
    OP_THREAD,   /* count and variant; then that many operations run on a new thread */
    OP_GARBAGE,  /* variant, then count or chain shape, destination */
    OP_VERIFY,
    OP_SETTINGS, /* which, value */
    OP_WEAK,     /* reserved for weak references: compiled in with MGC_FUZZ_WEAK */
    OP_COUNT
};

/* True once a memory limit is set in this input: allocations may then
 * return NULL with ENOMEM. */
extern bool allocations_may_fail;

/* A live object chosen by the input, or -1 when there is none. */
int pick_live(struct input *in);

#ifdef MGC_FUZZ_WEAK
/* weak.c */
void op_weak(struct input *in);
void weak_check_all(void);
void weak_end_generation(void);
#endif

/* Set up mgc and the model for one input (reads its configuration byte),
 * run its operations, check everything, and clear up. */
void fuzz_one_input(const uint8_t *data, size_t size);
/* Once per process, before the first input. */
void fuzz_initialize(void);

#endif

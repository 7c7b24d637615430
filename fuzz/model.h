/*
 * model.h: the fuzz target's shadow of the heap.
 *
 * The fuzz target (fuzz_heap.c, ops.c) turns its input into operations on
 * mgc and keeps, beside the real heap, a model of what it built: every
 * object it allocated, which root slot or field of which object points into
 * which object, and which finalizers are set. From the model it knows which
 * objects are reachable, and checks the one promise a conservative collector
 * can keep exactly: a reachable object holds its bytes. It never asserts the
 * converse (an unreachable object may live on, held by a stale word).
 *
 * The model lives in malloc'd memory and holds addresses only XOR-hidden, so
 * that it keeps nothing alive itself: the root table (a static array in the
 * data segment, and a malloc'd one given to mgc_add_roots) and the fields of
 * scanned objects are the only places the collector finds them.
 *
 * Objects have an id, unique within one fuzz input (a generation). Their
 * bytes follow a pattern seeded by (generation, id); a scanned object
 * starts with up to MODEL_FIELDS pointer fields, which hold either NULL or
 * the address of a byte inside another object.
 *
 * One recursive mutex guards the model: operations hold it from start to
 * end, and finalizers (on mgc's finalizer thread, or on the thread that
 * calls mgc_run_finalizers) take it to check themselves against the model.
 */
#ifndef FUZZ_MODEL_H
#define FUZZ_MODEL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MODEL_MAX_OBJECTS 4096 /* ids fit in the 13 bits a finalizer's arg has for them */
#define MODEL_FIELDS 4
#define STATIC_ROOT_SLOTS 16
#define ADDED_ROOT_SLOTS 16
#define ROOT_SLOTS (STATIC_ROOT_SLOTS + ADDED_ROOT_SLOTS)
#define MODEL_MAX_SIZE ((1u << 18) - 1) /* object sizes fit in a finalizer's arg */
#define MODEL_MAX_LIVE_BYTES ((size_t)16 << 20)
#define MODEL_HELD 8

/* XOR an address with this to hide it from the conservative scan. */
#define HIDE_MASK ((uintptr_t)0x5A5A5A5A5A5A5A5Aull)

enum layout {
    LAYOUT_SCAN,   /* pointer fields, then the pattern */
    LAYOUT_NOSCAN, /* the pattern only */
    LAYOUT_STRING, /* the pattern (no zero byte in it), then one zero byte */
};

enum life {
    LIFE_LIVE,  /* reachable from the root table or an uncollectable object */
    LIFE_DEAD,  /* unreachable, for good: the model never touches it again */
    LIFE_FREED, /* given to mgc_free, or replaced by mgc_realloc */
};

enum finalizer_state {
    FINALIZER_NONE,    /* none set, or removed (or dropped by mgc_free) */
    FINALIZER_PENDING, /* set, not run yet */
    FINALIZER_RAN,
};

struct model_object {
    uintptr_t hidden_address; /* address ^ HIDE_MASK */
    uint32_t size;
    uint32_t seed;
    uint8_t layout, life, finalizer;
    bool tiny;          /* packed by the tiny allocator into a shared block */
    bool uncollectable; /* a root itself until freed */
    bool tail_is_zero;  /* the slot's bytes past size still read zero */
    int32_t target[MODEL_FIELDS]; /* the object each field points into, or -1 */
    uint32_t target_offset[MODEL_FIELDS];
    uint32_t referrers; /* root slots and fields of unfreed objects naming it */
};

/* Where a pointer is kept: a root slot (object -1) or a field of an object. */
struct place {
    int object;
    int index;
};

struct model {
    pthread_mutex_t lock; /* recursive */
    uint32_t generation;  /* the fuzz input being run; 0 between inputs */
    int count;            /* ids handed out in this generation */
    struct model_object objects[MODEL_MAX_OBJECTS];
    int root_target[ROOT_SLOTS];
    uint32_t root_offset[ROOT_SLOTS];
    int held[MODEL_HELD];        /* objects an operation holds in its own variables */
    int held_count;
    int live[MODEL_MAX_OBJECTS]; /* ids of the live objects, any order */
    int live_count;
    size_t live_bytes;
    uint64_t finalizer_calls; /* finalizers of this target that have run, any generation */
    int finalizer_log[MODEL_MAX_OBJECTS]; /* ids whose finalizers ran, in order */
    int finalizer_log_count;
};

extern struct model *model;

/* Report a broken promise and abort (libFuzzer keeps the input). */
_Noreturn void model_fail(const char *format, ...) __attribute__((format(printf, 1, 2)));

void model_init(void);
void model_lock(void);
void model_unlock(void);
/* Start the next generation: empty root table, no objects. Lock held. */
void model_begin_generation(void);
/* End this generation: free uncollectable objects, clear the root table.
 * Lock held. */
void model_end_generation(void);

static inline void *object_address(const struct model_object *o) { return (void *)(o->hidden_address ^ HIDE_MASK); }
int object_field_count(const struct model_object *o);
bool object_is_large(const struct model_object *o);

/* A new object, held by the operation (live until model_release_held);
 * -1 when the model is full. Its seed is set; the caller fills it
 * (object_fill). */
int model_add_object(void *address, uint32_t size, enum layout layout, bool tiny, bool uncollectable,
                     bool tail_is_zero);
/* The operation keeps a live object alive in its own variables. */
void model_hold(int id);
/* The operation lets go of the objects it holds. */
void model_release_held(void);
/* Write o's fields (NULL or their targets) and its pattern. */
void object_fill(int id);
/* Write only the pattern part (not the fields). */
void object_fill_pattern(int id);

/* The pointer a place holds in the model: its target, or -1. */
int place_target(struct place p);
/* Point p at byte offset of object target (-1: NULL), in the model and in
 * memory, and recompute reachability. */
void place_set(struct place p, int target, uint32_t offset);
/* The places that name id: root slots and fields of live objects, up to
 * max. Returns how many exist (may exceed max). */
int places_naming(int id, struct place *out, int max);

/* Recompute which objects are reachable; objects that stop being live
 * become dead for good. */
void model_recompute(void);

/* Check one object's bytes against the model (fields and pattern). */
void verify_object(int id, const char *when);
/* Check every live object. */
void verify_all(const char *when);

/* Index of the first nonzero byte of [p, p + size), or -1. */
long first_nonzero_byte(const void *p, size_t size);
/* The byte a copy of x holds at offset i (i < x's size). */
uint8_t expected_byte(const struct model_object *x, size_t i);
/* Index of the first of size bytes at copy that differs from x, or -1. */
long first_wrong_copied_byte(const struct model_object *x, const void *copy, size_t size);

/* The finalizer every fuzz operation sets, and the argument it gets. */
void model_finalizer(void *obj, void *arg);
void *model_finalizer_arg(int id);

#ifdef MGC_FUZZ_WEAK
/* weak.c: every weak handle to id reads NULL (its finalizer is running). */
void weak_check_finalized(int id);
#endif

/* Pattern bytes, made 8 at a time so that checks compare words: never
 * zero, and odd, so that no word of a pattern looks like a heap address. */
static inline uint64_t pattern_word(uint32_t seed, size_t word_index)
{
    uint64_t x = ((uint64_t)seed << 32 | (uint32_t)word_index) * 0x9E3779B97F4A7C15ull;
    x ^= x >> 29;
    return x | 0x0101010101010101ull;
}
static inline uint8_t pattern_byte(uint32_t seed, size_t i)
{
    return (uint8_t)(pattern_word(seed, i / 8) >> (8 * (i % 8)));
}
uint32_t pattern_seed(uint32_t generation, int id);

/* The root table: slot i's storage (the first STATIC_ROOT_SLOTS in the data
 * segment, the rest in malloc'd memory given to mgc_add_roots). */
void **root_slot(int i);

#endif

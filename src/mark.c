/*
 * mark.c: conservative marking, in parallel.
 *
 * Any aligned word of a root or of a reachable scanned object that points
 * into an allocated object (at any byte of it: interior pointers count)
 * marks that object. A tiny block is one object, so a pointer to any byte
 * of it keeps the whole block. Noscan objects are marked but never read.
 * Uncollectable objects are roots: they are scanned up front, never marked.
 *
 * Work is a range of words to scan. Each marking thread keeps two blocks of
 * work items; when both are full, one goes to a shared pool, and a thread
 * with nothing left takes a block from the pool. Marking ends when every
 * thread is idle and the pool is empty. A range longer than MARK_CHUNK
 * (2 KiB) is scanned a chunk at a time, the next chunks queued as items of
 * their own, so that one big array is shared among threads: a chunk's
 * children (at most 256) fit in the two blocks of the thread that scans it.
 * Memory for pending work stays small even for a ten-million-node list
 * (depth first, one item per node at a time) or a huge array of pointers
 * (at most SPLIT_CHUNKS chunks queued at once, and their children).
 *
 * The collecting thread marks too; helpers (MGC_DEBUG=gcprocs=N, default one
 * per core, all told) wait on a condition variable between collections.
 * Marks are bytes set with a plain store after a plain test: two threads
 * may now and then both claim an object and scan it twice, which is
 * harmless, and no thread waits on an atomic read-modify-write.
 *
 * The reads of roots and objects are deliberate reads of memory the program
 * did not hand over (stacks, data segments, object slack); the functions
 * that scan are exempt from AddressSanitizer for that reason.
 */
#include <unistd.h>

#include "memcheck.h"

#define WORK_BLOCK_ITEMS 254
#define MARK_CHUNK ((uintptr_t)2 << 10)
#define SPLIT_CHUNKS 1024
_Static_assert(MARK_CHUNK / sizeof(uintptr_t) <= 2 * WORK_BLOCK_ITEMS,
               "a chunk's children must fit in a marker's two blocks");
#define MAX_WORKERS 64

struct work_item {
    uintptr_t start, end;
};

struct work_block {
    struct work_block *next;
    size_t count;
    struct work_item items[WORK_BLOCK_ITEMS];
};

/* A marker works from block and keeps a second block of its own, spare
 * (NULL until block first fills), before it shares any (make_room). */
struct marker {
    struct work_block *block, *spare;
    uint64_t marked_bytes, marked_objects;
};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t work_ready; /* a block was published, or marking ended */
    pthread_cond_t helpers_go; /* a marking phase began */
    pthread_cond_t helpers_done;
    struct work_block *full;   /* blocks waiting for a thread */
    struct work_block *empty;  /* recycled blocks */
    size_t full_count;
    unsigned workers;          /* threads taking part in this phase */
    unsigned idle;             /* of them, waiting for work */
    unsigned helpers_running;  /* helpers inside this phase */
    unsigned helpers_started;
    bool done;
    uint64_t phase;            /* marking phases so far */
    uint64_t marked_bytes, marked_objects;
    /* For this phase: the heap's address range, and the arena table,
     * which exists whenever that range is not empty. */
    uintptr_t heap_low, heap_high;
    const uint16_t *arena_table;
    struct fixed_alloc blocks;
} pool = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .work_ready = PTHREAD_COND_INITIALIZER,
    .helpers_go = PTHREAD_COND_INITIALIZER,
    .helpers_done = PTHREAD_COND_INITIALIZER,
    .blocks = {.size = sizeof(struct work_block), .kind = SYS_GC},
};

unsigned mark_workers_wanted(void)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned n = debug.gcprocs > 0 ? (unsigned)debug.gcprocs : cores > 0 ? (unsigned)cores : 1;
    return n > MAX_WORKERS ? MAX_WORKERS : n;
}

/* ---- Work blocks ------------------------------------------------------------------------- */

static bool refuse_new_blocks; /* tests: as if out of memory for new blocks */

void mark_refuse_new_blocks_for_testing(bool refuse)
{
    refuse_new_blocks = refuse;
}

/* Pool lock held. NULL only when out of memory. */
static struct work_block *new_block_locked(void)
{
    struct work_block *b = pool.empty;
    if (b)
        pool.empty = b->next;
    else if (!refuse_new_blocks)
        b = fixed_alloc(&pool.blocks);
    if (b) {
        b->next = NULL;
        b->count = 0;
    }
    return b;
}

static void publish_locked(struct work_block *b)
{
    b->next = pool.full;
    pool.full = b;
    store_relaxed(&pool.full_count, pool.full_count + 1); /* read unlocked by spinners */
    pthread_cond_signal(&pool.work_ready);
}

static void swap_blocks(struct marker *m)
{
    struct work_block *b = m->block;
    m->block = m->spare;
    m->spare = b;
}

/*
 * The marker's block is full. Switch to the spare block if it is empty;
 * otherwise publish the spare (the older work) to the pool, keep the full
 * block as the spare, and start a new one. Two blocks of its own let a
 * thread scan most of what it pushed itself, while its cache still holds
 * those items, instead of shipping every full block to the pool, where
 * the other thread took it, each item a cache miss on its core. Marking an
 * array of a million 16-byte objects on two threads took 2.3 ms that way,
 * and 5 to 7 ms in some runs (one thread: 3.3 ms); now 1.7 to 1.8 ms.
 */
static void make_room(struct marker *m)
{
    struct work_block *spare = m->spare;
    if (spare && spare->count == 0) {
        swap_blocks(m);
        return;
    }
    pthread_mutex_lock(&pool.lock);
    struct work_block *fresh = new_block_locked();
    if (!fresh) {
        /* Out of memory for mark blocks: keep marking from this block;
         * push_work then scans in place instead of queueing. */
        pthread_mutex_unlock(&pool.lock);
        return;
    }
    if (spare)
        publish_locked(spare);
    m->spare = m->block;
    m->block = fresh;
    pthread_mutex_unlock(&pool.lock);
}

/* Another marker waits and the pool is empty: hand it the spare block's
 * items, if there are any, taking an empty block in exchange. */
static bool share_spare(struct marker *m)
{
    if (!m->spare || m->spare->count == 0)
        return false;
    pthread_mutex_lock(&pool.lock);
    struct work_block *fresh = new_block_locked();
    if (fresh) {
        publish_locked(m->spare);
        m->spare = fresh;
    }
    pthread_mutex_unlock(&pool.lock);
    return fresh != NULL;
}

/* Copy n items forwards, a word at a time through general registers (so
 * the ranges may overlap when to lies below from). Not memcpy or memmove:
 * glibc's move them through vector registers that little else touches, so
 * the items of one collection stayed there, and when another thread later
 * collected, the stop signal saved those registers on this thread's stack,
 * where the conservative scan read them as pointers. In about half the runs
 * of binary trees on 2 threads, that kept a dead 128 MiB tree alive through
 * one more collection. The volatile stores keep the compiler from
 * vectorizing the loop. */
static void move_items(struct work_item *to, const struct work_item *from, size_t n)
{
    volatile uintptr_t *destination = (volatile uintptr_t *)to;
    const uintptr_t *source = (const uintptr_t *)from;
    for (size_t i = 0; i < 2 * n; i++)
        destination[i] = source[i];
}

/* Another marker is idle: give it the older half of our items (the ones
 * nearest the roots, which tend to lead to the most work), keep the rest.
 * Handing over whole blocks instead makes two markers pass a small block
 * back and forth, paying a wake-up each time. */
static void share_half(struct marker *m)
{
    struct work_block *b = m->block;
    size_t half = b->count / 2;
    pthread_mutex_lock(&pool.lock);
    struct work_block *given = new_block_locked();
    if (given) {
        move_items(given->items, b->items, half);
        given->count = half;
        move_items(b->items, b->items + half, b->count - half); /* downwards: safe */
        b->count -= half;
        publish_locked(given);
    }
    pthread_mutex_unlock(&pool.lock);
}

/* Reads words the program never handed over: exempt from AddressSanitizer,
 * and from ThreadSanitizer (data segments may be written by threads mgc
 * never stops, such as the sanitizer's own). scan_range has it, and so do
 * drain and push_work_slow, which inline it. */
#define READS_FOREIGN_MEMORY __attribute__((no_sanitize("address", "thread")))

/* What a marking thread counts as it marks, kept in registers while it
 * scans and added to its marker afterwards. With byte marks an object that
 * two threads claim at once counts twice: the total is exact but for such
 * races, rare enough not to matter to pacing or the trace.
 *
 * It also remembers the last small-object span a word pointed into (hint;
 * hint_extent is 0 when there is none): an array filled in a loop, or a
 * structure built in one go, mostly points into the span of the word
 * before, and then the map lookup and the span's checks can be skipped. No
 * span changes while marking runs. */
struct tally {
    uint64_t bytes, objects;
    struct span *hint;
    uintptr_t hint_start, hint_extent;
};

static void add_tally(struct marker *m, const struct tally *tally)
{
    m->marked_bytes += tally->bytes;
    m->marked_objects += tally->objects;
}

static ALWAYS_INLINE void scan_range(struct marker *m, struct tally *tally, uintptr_t start, uintptr_t end);

READS_FOREIGN_MEMORY static NOINLINE void push_work_slow(struct marker *m, uintptr_t start, uintptr_t end)
{
    struct work_block *b = m->block;
    make_room(m);
    if (m->block == b) {
        /* No memory for more blocks: scan in place. */
        struct tally tally = {0};
        scan_range(m, &tally, start, end);
        add_tally(m, &tally);
        return;
    }
    m->block->items[m->block->count++] = (struct work_item){start, end};
}

/* Queue [start, end) for scanning. Inlined for the common case, room in the
 * block: one store. */
static ALWAYS_INLINE void push_work(struct marker *m, uintptr_t start, uintptr_t end)
{
    struct work_block *b = m->block;
    if (likely(b->count < WORK_BLOCK_ITEMS)) {
        b->items[b->count++] = (struct work_item){start, end};
        return;
    }
    push_work_slow(m, start, end);
}

/* ---- Marking one word ---------------------------------------------------------------------- */

/* Mark slot index of s (its object at base, size bytes) unless it is free
 * or marked already. */
static ALWAYS_INLINE void mark_slot(struct marker *m, struct tally *tally, struct span *s, size_t index, uintptr_t base,
                                    size_t size)
{
    size_t w = index / 64;
    uint64_t bit = (uint64_t)1 << (index % 64);
    if (!(load_relaxed64(&s->alloc_bits[w]) & bit) || load_mark(&s->mark_bytes[index]))
        return;
    store_mark(&s->mark_bytes[index], true);
    tally->bytes += size;
    tally->objects++;
    if (!s->noscan)
        push_work(m, base, base + size);
}

/* p lies in the heap's address range. */
static ALWAYS_INLINE void mark_word(struct marker *m, struct tally *tally, uintptr_t p)
{
    struct span *s;
    if (p - tally->hint_start < tally->hint_extent) {
        s = tally->hint;
    } else {
        s = span_map_lookup(pool.arena_table, p);
        if (!s || load_relaxed(&s->state) != SPAN_IN_USE)
            return;
        if (p - s->start >= s->limit - s->start || s->uncollectable)
            return;
        if (s->large) {
            mark_slot(m, tally, s, 0, s->start, span_bytes(s));
            return;
        }
        tally->hint = s;
        tally->hint_start = s->start;
        tally->hint_extent = s->limit - s->start;
    }
    size_t index = span_object_index(s, p);
    mark_slot(m, tally, s, index, s->start + index * (uintptr_t)s->elem_size, s->elem_size);
}

READS_FOREIGN_MEMORY static ALWAYS_INLINE void scan_range(struct marker *m, struct tally *tally, uintptr_t start,
                                                          uintptr_t end)
{
    uintptr_t low = pool.heap_low, extent = pool.heap_high - pool.heap_low;
    for (uintptr_t a = (start + 7) & ~(uintptr_t)7; a + 8 <= end; a += 8) {
        uintptr_t word = *(const volatile uintptr_t *)a;
        if (word - low < extent)
            mark_word(m, tally, word);
    }
}

/* ---- Draining ------------------------------------------------------------------------------- */

/* The marker's own block is empty: swap it for a full one from the pool;
 * false when marking is over. */
static NOINLINE bool refill_from_pool(struct marker *m)
{
    struct work_block *b = m->block;
    pthread_mutex_lock(&pool.lock);
    for (;;) {
        if (pool.full) {
            struct work_block *got = pool.full;
            pool.full = got->next;
            store_relaxed(&pool.full_count, pool.full_count - 1);
            b->next = pool.empty; /* our empty block goes back */
            pool.empty = b;
            m->block = got;
            pthread_mutex_unlock(&pool.lock);
            return true;
        }
        if (pool.done) {
            pthread_mutex_unlock(&pool.lock);
            return false;
        }
        store_relaxed(&pool.idle, pool.idle + 1);
        if (pool.idle == pool.workers) {
            store_relaxed(&pool.done, true);
            pthread_cond_broadcast(&pool.work_ready);
            pthread_mutex_unlock(&pool.lock);
            return false;
        }
        /* Work usually comes back within microseconds: wait for it
         * spinning a while before sleeping, which costs a wake-up. */
        pthread_mutex_unlock(&pool.lock);
        for (int spin = 0; spin < 4000; spin++) {
            if (__atomic_load_n(&pool.full_count, __ATOMIC_RELAXED) || __atomic_load_n(&pool.done, __ATOMIC_RELAXED))
                break;
            cpu_relax();
        }
        pthread_mutex_lock(&pool.lock);
        if (!pool.full && !pool.done)
            pthread_cond_wait(&pool.work_ready, &pool.lock);
        store_relaxed(&pool.idle, pool.idle - 1);
    }
}

/* Take the next item; false when marking is over. */
static ALWAYS_INLINE bool next_item(struct marker *m, struct work_item *out)
{
    struct work_block *b = m->block;
    if (unlikely(!b->count)) {
        if (m->spare && m->spare->count) {
            swap_blocks(m);
        } else if (!refill_from_pool(m)) {
            return false;
        }
        b = m->block;
    }
    /* Field by field: the item was most likely stored a moment ago as two
     * words, and one wider load of it would have to wait for both stores to
     * reach the cache instead of taking them as they go. */
    const struct work_item *top = &b->items[--b->count];
    out->start = top->start;
    out->end = top->end;
    return true;
}

/* [start, end) is longer than a chunk: queue what lies past the next
 * SPLIT_CHUNKS chunks as one item (split again when taken), the rest of
 * those chunks as an item each, and return the end of the first chunk, to
 * scan now. Pending work for one range is then at most SPLIT_CHUNKS items,
 * however long the range. (Start and end go by value: with the item's
 * address taken, the compiler moved items through vector registers, and a
 * 16-byte load of an item just stored as two words stalls.) */
static NOINLINE uintptr_t split_range(struct marker *m, uintptr_t start, uintptr_t end)
{
    uintptr_t batch_end = end - start > SPLIT_CHUNKS * MARK_CHUNK ? start + SPLIT_CHUNKS * MARK_CHUNK : end;
    if (batch_end < end)
        push_work(m, batch_end, end);
    /* Highest first, so that the chunks are taken in address order. */
    uintptr_t piece_end = batch_end;
    for (uintptr_t piece = start + (batch_end - start - 1) / MARK_CHUNK * MARK_CHUNK; piece > start; piece -= MARK_CHUNK) {
        push_work(m, piece, piece_end);
        piece_end = piece;
    }
    return start + MARK_CHUNK;
}

READS_FOREIGN_MEMORY static void drain(struct marker *m)
{
    struct work_item item;
    struct tally tally = {0};
    unsigned since_share = 0;
    while (next_item(m, &item)) {
        if (item.end - item.start > MARK_CHUNK)
            item.end = split_range(m, item.start, item.end);
        scan_range(m, &tally, item.start, item.end);
        /* Keep idle threads fed: every so often, if someone waits and we
         * have work to spare, hand the spare block over, or else half of
         * our current block. */
        if (++since_share >= 16) {
            since_share = 0;
            if (__atomic_load_n(&pool.idle, __ATOMIC_RELAXED) > 0 &&
                __atomic_load_n(&pool.full_count, __ATOMIC_RELAXED) == 0 && !share_spare(m) &&
                m->block->count >= 4)
                share_half(m);
        }
    }
    add_tally(m, &tally);
}

/* A worker that has no block at all (out of memory) leaves the phase as if
 * idle for good, so that termination does not wait for it. Pool lock held. */
static void leave_without_work_locked(void)
{
    store_relaxed(&pool.idle, pool.idle + 1);
    if (pool.idle == pool.workers) {
        store_relaxed(&pool.done, true);
        pthread_cond_broadcast(&pool.work_ready);
    }
}

static void finish_marker(struct marker *m)
{
    pthread_mutex_lock(&pool.lock);
    pool.marked_bytes += m->marked_bytes;
    pool.marked_objects += m->marked_objects;
    struct work_block *blocks[2] = {m->block, m->spare};
    for (int i = 0; i < 2; i++)
        if (blocks[i]) {
            blocks[i]->next = pool.empty;
            pool.empty = blocks[i];
        }
    m->block = m->spare = NULL;
    pthread_mutex_unlock(&pool.lock);
}

/* ---- Helpers ----------------------------------------------------------------------------------- */

/* A helper's argument: its number (0 for the first) and the marking phase
 * that was current when it was created. Starting from that phase, it joins
 * exactly the phases that begin after its creation: none missed, none run
 * twice (a fork child inherits the pool's phase count from its parent). */
struct helper_start {
    unsigned index;
    uint64_t phase;
};

static void *mark_helper(void *argument)
{
    struct helper_start start;
    memcpy(&start, argument, sizeof start);
    uint64_t seen = start.phase;
    for (;;) {
        pthread_mutex_lock(&pool.lock);
        /* Only helpers counted into the phase take part in it. */
        while (pool.phase == seen || start.index + 1 >= pool.workers) {
            seen = pool.phase;
            pthread_cond_wait(&pool.helpers_go, &pool.lock);
        }
        seen = pool.phase;
        struct marker m = {.block = new_block_locked()};
        if (!m.block)
            leave_without_work_locked();
        pthread_mutex_unlock(&pool.lock);
        memcheck_reports_off();
        if (m.block)
            drain(&m);
        memcheck_reports_on();
        finish_marker(&m);
        pthread_mutex_lock(&pool.lock);
        pool.helpers_running--;
        pthread_cond_broadcast(&pool.helpers_done);
        pthread_mutex_unlock(&pool.lock);
    }
    return NULL;
}

/* Start helpers up to n - 1 (once; they persist). Called before the world
 * stops: creating a thread may need locks (the C library's allocator) that
 * a stopped thread could hold. Only the collector calls it, under gc_lock. */
void mark_start_helpers(void)
{
    unsigned wanted = mark_workers_wanted();
    while (pool.helpers_started + 1 < wanted) {
        pthread_mutex_lock(&pool.lock);
        struct helper_start start = {pool.helpers_started, pool.phase};
        pthread_mutex_unlock(&pool.lock);
        if (!start_detached_thread("mgc-mark", mark_helper, &start, sizeof start))
            break;
        pool.helpers_started++;
    }
}

/* ---- Roots --------------------------------------------------------------------------------- */

struct mark_context {
    const struct root_range *roots;
    size_t nroots;
    struct marker *m;
};

/* Uncollectable objects are live by definition: count them, and scan the
 * ones that may hold pointers. */
static void push_uncollectable_roots(struct marker *m)
{
    for (size_t i = SPAN_CLASS_UNCOLLECTABLE_BASE; i < NUM_SPAN_CLASSES; i++) {
        struct central *c = &centrals[i];
        for (int kind = 0; kind < 2; kind++) {
            struct span *s = kind ? c->full[c->phase].first : c->partial[c->phase].first;
            for (; s; s = s->next) {
                for (size_t k = 0; k < s->nelems; k++) {
                    if (!bit_is_set(s->alloc_bits, k))
                        continue;
                    uintptr_t base = s->start + k * (uintptr_t)s->elem_size;
                    m->marked_bytes += s->elem_size;
                    m->marked_objects++;
                    if (!s->noscan)
                        push_work(m, base, base + s->elem_size);
                }
            }
        }
    }
    for (struct span *s = heap_first_uncollectable_large(); s; s = s->next) {
        if (!(load_relaxed64(&s->alloc_bits[0]) & 1))
            continue;
        m->marked_bytes += span_bytes(s);
        m->marked_objects++;
        if (!s->noscan)
            push_work(m, s->start, s->start + span_bytes(s));
    }
}

/* Mark what value points to, if it points into the heap. */
static void mark_value(struct marker *m, uintptr_t value)
{
    if (value - pool.heap_low < pool.heap_high - pool.heap_low) {
        struct tally tally = {0};
        mark_word(m, &tally, value);
        add_tally(m, &tally);
    }
}

/* Mark what the words of [base, end) point to, except words pointing
 * into [base, end) itself (MGC_FINALIZER_IGNORE_SELF). */
READS_FOREIGN_MEMORY static void scan_ignoring_self(struct marker *m, uintptr_t base, uintptr_t end)
{
    for (uintptr_t a = base; a + 8 <= end; a += 8) {
        uintptr_t word = *(const volatile uintptr_t *)a;
        if (word - base >= end - base)
            mark_value(m, word);
    }
}

/* Finalizable objects are not roots, but what they reach is: scan their
 * contents without marking them (finalize.c says why), except for
 * MGC_FINALIZER_NO_ORDER ones. Queued finalizers' objects are roots until
 * the finalizer has run. Their arguments are kept alive either way. */
static void push_finalizer_roots(struct marker *m)
{
    pthread_mutex_lock(&finalizer_lock);
    for (struct span *s = spans_with_specials; s; s = s->specials_next) {
        for (struct special *r = s->specials; r; r = r->next) {
            if (!s->noscan && !(r->flags & MGC_FINALIZER_NO_ORDER)) {
                size_t index = s->large ? 0 : span_object_index(s, s->start + r->offset);
                uintptr_t base = s->start + index * (uintptr_t)s->elem_size;
                uintptr_t end = base + (s->large ? span_bytes(s) : s->elem_size);
                if (r->flags & MGC_FINALIZER_IGNORE_SELF)
                    scan_ignoring_self(m, base, end);
                else
                    push_work(m, base, end);
            }
            mark_value(m, (uintptr_t)r->arg);
        }
    }
    for (struct special *r = finalizer_queue; r; r = r->next) {
        mark_value(m, r->offset);
        mark_value(m, (uintptr_t)r->arg);
    }
    pthread_mutex_unlock(&finalizer_lock);
}

/* Queue a root range. Objects start on a word; a root range may not, and
 * chunks are cut from the start: from an unaligned one, the word across
 * each chunk boundary would belong to neither chunk. So the start is
 * rounded up to a word here, and a range with no whole word in it (or
 * inverted: a thread parked on a stack of its own above its recorded base)
 * is dropped. */
static void push_root(struct marker *m, uintptr_t start, uintptr_t end)
{
    start = (start + 7) & ~(uintptr_t)7;
    if (start < end)
        push_work(m, start, end);
}

/* Queue the roots, then mark from them alongside the helpers. Roots: data
 * segments, registered ranges, the stacks of the registered threads,
 * uncollectable objects and what finalizable objects reach. The collecting thread's stack
 * counts from the frame where it entered the collection, with its
 * registers spilled there (gc.c): the frames below, mgc's own, hold
 * nothing of the program's, and whatever they left unwritten would be
 * stale. */
static void mark_roots(struct mark_context *ctx)
{
    struct marker *m = ctx->m;
    for (size_t i = 0; i < ctx->nroots; i++)
        push_root(m, ctx->roots[i].start, ctx->roots[i].end);
    const struct root_range *registered;
    size_t nregistered = roots_registered(&registered);
    for (size_t i = 0; i < nregistered; i++)
        push_root(m, registered[i].start, registered[i].end);
    for (struct thread_record *t = thread_list; t; t = t->next) {
        if (!t->stack_pointer || t->holds_no_roots)
            continue;
        push_root(m, t->stack_pointer, t->stack_base);
        if (t->other_low)
            push_root(m, t->other_low, t->other_high);
        if (t->register_count)
            push_root(m, (uintptr_t)t->registers, (uintptr_t)(t->registers + t->register_count));
    }
    push_uncollectable_roots(m);
    push_finalizer_roots(m);

    /* Let the helpers in, and mark alongside them. */
    if (m->block->count > 1 && pool.workers > 1)
        share_half(m);
    drain(m);
}

void mark_heap(const struct root_range *roots, size_t nroots, struct mark_result *out)
{
    unsigned wanted = mark_workers_wanted();
    unsigned workers = pool.helpers_started + 1 < wanted ? pool.helpers_started + 1 : wanted;
    heap_bounds(&pool.heap_low, &pool.heap_high);
    pool.arena_table = load_relaxed(&arena_table);

    pthread_mutex_lock(&pool.lock);
    /* The collector's block first. A collection that marked nothing would
     * free every object, so when there is no memory for even one block,
     * the collector marks with one kept in reserve (and, that one full,
     * scans in place). Only the collector takes it, when the pool has no
     * block to give, so it is never in use twice. */
    static struct work_block reserve_block;
    struct marker m = {.block = new_block_locked()};
    if (!m.block) {
        m.block = &reserve_block;
        reserve_block.next = NULL;
        reserve_block.count = 0;
    }
    pool.workers = workers;
    store_relaxed(&pool.idle, 0);
    store_relaxed(&pool.done, false);
    pool.marked_bytes = pool.marked_objects = 0;
    pool.helpers_running = workers - 1;
    pool.phase++;
    pthread_cond_broadcast(&pool.helpers_go);
    pthread_mutex_unlock(&pool.lock);

    struct mark_context ctx = {roots, nroots, &m};
    memcheck_reports_off();
    mark_roots(&ctx);
    memcheck_reports_on();
    finish_marker(&m);

    pthread_mutex_lock(&pool.lock);
    while (pool.helpers_running)
        pthread_cond_wait(&pool.helpers_done, &pool.lock);
    out->marked_bytes = pool.marked_bytes;
    out->marked_objects = pool.marked_objects;
    out->workers = workers;
    pthread_mutex_unlock(&pool.lock);
}

void mark_more(const struct root_range *ranges, size_t n, uint64_t *bytes, uint64_t *objects)
{
    /* The heap's bounds and arena table are still those mark_heap set.
     * One worker and no new phase: the helpers stay asleep. */
    static struct work_block reserve_block;
    pthread_mutex_lock(&pool.lock);
    struct marker m = {.block = new_block_locked()};
    if (!m.block) {
        m.block = &reserve_block;
        reserve_block.next = NULL;
        reserve_block.count = 0;
    }
    pool.workers = 1;
    pool.idle = 0;
    pool.done = false;
    pool.marked_bytes = pool.marked_objects = 0;
    pthread_mutex_unlock(&pool.lock);
    for (size_t i = 0; i < n; i++)
        push_root(&m, ranges[i].start, ranges[i].end);
    drain(&m);
    finish_marker(&m);
    pthread_mutex_lock(&pool.lock);
    *bytes += pool.marked_bytes;
    *objects += pool.marked_objects;
    pthread_mutex_unlock(&pool.lock);
}

void mark_after_fork_child(void)
{
    /* The helpers did not survive the fork. */
    pthread_mutex_init(&pool.lock, NULL);
    pthread_cond_init(&pool.work_ready, NULL);
    pthread_cond_init(&pool.helpers_go, NULL);
    pthread_cond_init(&pool.helpers_done, NULL);
    pool.helpers_started = 0;
    pool.helpers_running = 0;
}

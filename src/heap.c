/*
 * heap.c: the page heap. It owns all heap memory, in 8 KiB pages.
 *
 * Memory is reserved from the OS in arenas of 64 MiB, aligned to 64 MiB. An
 * arena's first pages hold its header (the page -> span map and page bits,
 * see mgc_internal.h); the rest are heap pages. The heap grows into an arena
 * in steps of at least 512 KiB: heap_sys counts what it has grown into, not
 * the whole reservation. An object too big for one arena gets a reservation
 * of its own (header, then the object), unmapped when the object is freed.
 *
 * Free pages form runs, each described by a span in state SPAN_FREE, kept on
 * free lists by length (one list per length below 128 pages, one list for
 * longer runs). Allocation takes the smallest run that fits and splits it;
 * freeing merges a run with free neighbours, found through the map entries
 * of their first and last pages.
 *
 * Two bits per page track what a free page holds: dirty (old bytes; must be
 * zeroed before an object sees it) and released (returned to the OS; reads as
 * zero, costs no memory). Fresh pages are neither. So memory fresh from the
 * OS is never cleared twice.
 *
 * Large objects (over 32 KiB) get a span of their own straight from here, and
 * stay on a list of large spans for whoever needs to walk them.
 *
 * One lock guards all of it; the fast paths never come here.
 */
#include "memcheck.h"

#define FREE_LIST_PAGES 128 /* runs shorter than this have a list per length */
#define ARENA_HINT_START ((uintptr_t)0x2000 << 32)
#define HEAP_RETAIN_MIN ((size_t)8 << 20) /* free pages kept without releasing */
/* Cycles whose needs keep pages held. With 8, binary trees (whose phases
 * swing the goal between 128 and 256 MiB) gave back and faulted in again
 * about 200 huge pages per run (2 ms each here); with 32, half as many. */
#define RETAIN_CYCLES 32

uint16_t *arena_table;

static struct {
    pthread_mutex_t lock;
    struct span_list free_runs[FREE_LIST_PAGES]; /* index = npages; [0] unused */
    struct span_list free_runs_long;             /* npages >= FREE_LIST_PAGES */
    uint64_t free_runs_present[FREE_LIST_PAGES / 64];
    /* Large objects in use: large[large_phase] swept this cycle, the other
     * not yet; uncollectable ones apart, never swept. */
    struct span_list large[2];
    uint8_t large_phase;
    struct span_list large_uncollectable;
    uintptr_t grow_next, grow_end;               /* the part of the arena not grown into */
    uintptr_t next_hint;
    uintptr_t low, high;                         /* bounds of every reservation */
    uint64_t retain_total;                       /* heap bytes worth keeping; 0 = none */
    /* Pages the heap needed held (in use, or free but not released), for
     * each of the last RETAIN_CYCLES collection cycles; [0] is the current. */
    uint64_t needed_held[RETAIN_CYCLES];
    struct heap_counters counters;
    struct fixed_alloc span_records;
    /* A span's bitmaps: for nelems up to 64 << bucket, two bitmaps of
     * 1 << bucket words each, then 64 << bucket mark bytes. */
    struct fixed_alloc bitmap_blocks[6];
} heap = {
    /* Adaptive, as the central locks (central.c): mostly held briefly. */
    .lock = PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP,
    .next_hint = ARENA_HINT_START,
    .span_records = {.size = sizeof(struct span), .kind = SYS_OTHER},
    .bitmap_blocks = {{.size = 1 * 80, .kind = SYS_GC},
                      {.size = 2 * 80, .kind = SYS_GC},
                      {.size = 4 * 80, .kind = SYS_GC},
                      {.size = 8 * 80, .kind = SYS_GC},
                      {.size = 16 * 80, .kind = SYS_GC},
                      {.size = 32 * 80, .kind = SYS_GC}},
};

void heap_lock(void) { pthread_mutex_lock(&heap.lock); }
void heap_unlock(void) { pthread_mutex_unlock(&heap.lock); }

/* The arena table, made on the first growth so that a refusal is an
 * ordinary out-of-memory failure that a later call may retry. 8 MiB of
 * address space; only the pages covering arenas in use are ever touched, and
 * like Go, mgc does not count it in sys. Heap lock held. */
static bool ensure_arena_table(void)
{
    if (arena_table)
        return true;
    uint16_t *table = os_reserve(ARENA_TABLE_ENTRIES * sizeof(uint16_t), 0);
    if (!table)
        return false;
    __atomic_store_n(&arena_table, table, __ATOMIC_RELEASE);
    return true;
}

struct span *heap_first_uncollectable_large(void) { return heap.large_uncollectable.first; }

static void large_list_push(struct span *s)
{
    if (s->uncollectable) {
        span_list_push(&heap.large_uncollectable, s, LIST_LARGE);
    } else {
        span_list_push(&heap.large[heap.large_phase], s, LIST_LARGE);
        s->list_index = heap.large_phase;
    }
}

static void large_list_remove(struct span *s)
{
    if (s->list != LIST_LARGE)
        return;
    span_list_remove(s->uncollectable ? &heap.large_uncollectable : &heap.large[s->list_index], s);
}

size_t heap_flip_large_phase(void)
{
    heap.large_phase ^= 1;
    return heap.large[heap.large_phase ^ 1].count;
}

/* ---- Page bits ------------------------------------------------------------------------ */

enum page_bit { PAGE_DIRTY, PAGE_RELEASED };

static uint64_t *page_bit_words(struct arena *a, enum page_bit which)
{
    return which == PAGE_DIRTY ? a->dirty_pages : a->released_pages;
}

/* Set or clear one kind of page bit over [start, start + npages pages), a
 * run inside one arena, and return how many of those bits were set before.
 * Heap lock held. */
static size_t page_bits_assign(uintptr_t start, size_t npages, enum page_bit which, bool value)
{
    size_t was_set = 0;
    uint64_t *words = page_bit_words(arena_of(start), which);
    size_t first = arena_page_index(start);
    for (size_t i = first; i < first + npages;) {
        size_t bit = i % 64, count = 64 - bit < first + npages - i ? 64 - bit : first + npages - i;
        uint64_t mask = (count == 64 ? ~(uint64_t)0 : (((uint64_t)1 << count) - 1)) << bit;
        uint64_t word = load_relaxed64(&words[i / 64]);
        was_set += (size_t)count_bits(word & mask);
        store_relaxed64(&words[i / 64], value ? word | mask : word & ~mask);
        i += count;
    }
    return was_set;
}

static bool page_bit_test(const struct arena *a, uintptr_t addr, enum page_bit which)
{
    size_t page = arena_page_index(addr);
    const uint64_t *words = which == PAGE_DIRTY ? a->dirty_pages : a->released_pages;
    return (load_relaxed64(&words[page / 64]) >> (page % 64)) & 1;
}

/* Zero the dirty pages of a span the caller holds alone. Runs outside the
 * heap lock: nobody else changes the bits of these pages meanwhile, and the
 * word-sized relaxed accesses keep neighbours' updates intact. */
static void zero_dirty_pages(uintptr_t start, size_t npages)
{
    const struct arena *a = arena_of(start);
    uintptr_t run_start = 0;
    size_t run_pages = 0;
    for (size_t i = 0; i <= npages; i++) {
        uintptr_t addr = start + (i << PAGE_SHIFT);
        if (i < npages && page_bit_test(a, addr, PAGE_DIRTY)) {
            if (!run_pages)
                run_start = addr;
            run_pages++;
        } else if (run_pages) {
            memset((void *)run_start, 0, run_pages << PAGE_SHIFT);
            run_pages = 0;
        }
    }
}

/* ---- Span records and bitmaps ------------------------------------------------------- */

static struct span *new_span_record(void)
{
    return fixed_alloc(&heap.span_records);
}

static void free_span_record(struct span *s)
{
    store_relaxed(&s->state, 0);
    fixed_free(&heap.span_records, s);
}

static int bitmap_bucket(size_t nwords)
{
    int bucket = 0;
    while (((size_t)1 << bucket) < nwords)
        bucket++;
    return bucket;
}

/* Give a span its class, geometry and bitmaps. Heap lock held. */
static bool span_init_for_class(struct span *s, unsigned span_class)
{
    unsigned size_class = span_class_size_class(span_class);
    s->span_class = (uint16_t)span_class;
    s->size_class = (uint8_t)size_class;
    s->tiny = span_class == SPAN_CLASS_TINY;
    s->noscan = span_class_noscan(span_class);
    s->uncollectable = span_class >= SPAN_CLASS_UNCOLLECTABLE_BASE;
    s->large = size_class == 0;
    if (s->large) {
        s->elem_size = (uint32_t)(span_bytes(s) > UINT32_MAX ? 0 : span_bytes(s));
        s->nelems = 1;
        s->reciprocal = 0; /* every offset is object 0 */
        s->limit = s->start + span_bytes(s);
    } else {
        s->elem_size = class_to_size[size_class];
        s->nelems = (uint32_t)(span_bytes(s) / s->elem_size);
        s->reciprocal = class_to_reciprocal[size_class];
        s->limit = s->start + (uintptr_t)s->nelems * s->elem_size;
    }
    int bucket = bitmap_bucket(bitmap_words(s->nelems));
    uint64_t *bits = fixed_alloc(&heap.bitmap_blocks[bucket]);
    if (!bits)
        return false;
    size_t stride = (size_t)1 << bucket;
    s->alloc_bits = bits;
    s->freed_bits = bits + stride;
    s->mark_bytes = (uint8_t *)(bits + 2 * stride);
    store_relaxed(&s->owner, (struct cache *)NULL); /* read unlocked through stale free hints (free.c) */
    s->allocated_count = 0;
    s->needs_zero = false;
    return true;
}

static void span_release_bitmaps(struct span *s)
{
    fixed_free(&heap.bitmap_blocks[bitmap_bucket(bitmap_words(s->nelems))], s->alloc_bits);
    s->alloc_bits = s->freed_bits = NULL;
    s->mark_bytes = NULL;
}

/* ---- The map --------------------------------------------------------------------------- */

static void map_set(uintptr_t addr, struct span *s)
{
    store_relaxed(&arena_of(addr)->spans[arena_page_index(addr)], s);
}

static void map_span_pages(struct span *s)
{
    for (size_t i = 0; i < s->npages; i++)
        map_set(s->start + (i << PAGE_SHIFT), s);
}

static void map_free_run_ends(struct span *s)
{
    map_set(s->start, s);
    map_set(s->start + ((s->npages - 1) << PAGE_SHIFT), s);
}

/* ---- Free runs ------------------------------------------------------------------------ */

static struct span_list *free_list_for(size_t npages)
{
    return npages < FREE_LIST_PAGES ? &heap.free_runs[npages] : &heap.free_runs_long;
}

static void free_runs_push(struct span *s)
{
    span_list_push(free_list_for(s->npages), s, LIST_FREE_PAGES);
    if (s->npages < FREE_LIST_PAGES)
        heap.free_runs_present[s->npages / 64] |= (uint64_t)1 << (s->npages % 64);
}

static void free_runs_remove(struct span *s)
{
    struct span_list *l = free_list_for(s->npages);
    span_list_remove(l, s);
    if (s->npages < FREE_LIST_PAGES && !l->first)
        heap.free_runs_present[s->npages / 64] &= ~((uint64_t)1 << (s->npages % 64));
}

/* Put a run of free pages (state, start, npages set) on the free lists,
 * merged with free neighbours. */
static void free_runs_insert(struct span *s)
{
    s->state = SPAN_FREE;
    /* Runs never cross an arena: its header pages, which have no map
     * entries, separate it from the one before. */
    uintptr_t arena = s->start & ~(uintptr_t)(ARENA_SIZE - 1);
    if (arena_page_index(s->start) > ARENA_HEADER_PAGES) {
        struct span *before = span_map_entry(s->start - 1);
        if (before && before != s && before->state == SPAN_FREE &&
            before->start + span_bytes(before) == s->start) {
            free_runs_remove(before);
            s->start = before->start;
            s->npages += before->npages;
            free_span_record(before);
        }
    }
    uintptr_t end = s->start + span_bytes(s);
    if (end < arena + ARENA_SIZE) {
        struct span *after = span_map_entry(end);
        if (after && after != s && after->state == SPAN_FREE && after->start == end) {
            free_runs_remove(after);
            s->npages += after->npages;
            free_span_record(after);
        }
    }
    map_free_run_ends(s);
    free_runs_push(s);
}

/* The smallest free run of at least npages, removed from its list. */
static struct span *free_runs_take(size_t npages)
{
    if (npages < FREE_LIST_PAGES) {
        for (size_t w = npages / 64; w < FREE_LIST_PAGES / 64; w++) {
            uint64_t present = heap.free_runs_present[w];
            if (w == npages / 64)
                present &= ~(uint64_t)0 << (npages % 64);
            if (present) {
                struct span *s = heap.free_runs[w * 64 + (size_t)__builtin_ctzll(present)].first;
                free_runs_remove(s);
                return s;
            }
        }
    }
    struct span *best = NULL;
    for (struct span *s = heap.free_runs_long.first; s; s = s->next)
        if (s->npages >= npages && (!best || s->npages < best->npages ||
                                    (s->npages == best->npages && s->start < best->start)))
            best = s;
    if (best)
        free_runs_remove(best);
    return best;
}

/* ---- Growth ----------------------------------------------------------------------------- */

/* Reserve size bytes (a multiple of ARENA_SIZE) aligned to ARENA_SIZE. */
static uintptr_t reserve_blocks(size_t size)
{
    if (!ensure_arena_table())
        return 0;
    void *p = os_reserve(size, heap.next_hint);
    if (!p)
        return 0;
    uintptr_t base = (uintptr_t)p;
    if (base & (ARENA_SIZE - 1)) {
        os_unmap(p, size);
        p = os_reserve(size + ARENA_SIZE, 0);
        if (!p)
            return 0;
        uintptr_t raw = (uintptr_t)p;
        base = (raw + ARENA_SIZE - 1) & ~(uintptr_t)(ARENA_SIZE - 1);
        if (base > raw)
            os_unmap(p, base - raw);
        os_unmap((void *)(base + size), raw + ARENA_SIZE - base);
    }
    if ((base + size - 1) >> ADDRESS_BITS) {
        os_unmap((void *)base, size);
        errno = ENOMEM;
        return 0;
    }
    if (debug.hugepages)
        os_advise_huge_pages((void *)base, size);
    heap.next_hint = base + size;
    if (!heap.low || base < heap.low)
        heap.low = base;
    if (base + size > heap.high)
        heap.high = base + size;
    return base;
}

void heap_bounds(uintptr_t *low, uintptr_t *high)
{
    pthread_mutex_lock(&heap.lock);
    *low = heap.low;
    *high = heap.high;
    pthread_mutex_unlock(&heap.lock);
}

static void table_set(uintptr_t base, size_t nblocks, bool present)
{
    for (size_t k = 0; k < nblocks; k++)
        store_relaxed(&arena_table[(base >> ARENA_SHIFT) + k], (uint16_t)(present ? k + 1 : 0));
}

/* Turn [start, start + size) of an arena into free heap pages. */
static bool add_grown_pages(uintptr_t start, size_t size)
{
    struct span *s = new_span_record();
    if (!s)
        return false;
    s->start = start;
    s->npages = size >> PAGE_SHIFT;
    heap.counters.heap_sys += size;
    heap.counters.heap_free += size;
    free_runs_insert(s);
    return true;
}

static void release_free_pages_locked(size_t keep_bytes);

/* Memory mgc holds from the OS, as the memory limit counts it. Heap lock held. */
static uint64_t memory_in_use_locked(void)
{
    uint64_t gc_sys, other_sys;
    persistent_read_counters(&gc_sys, &other_sys);
    return heap.counters.heap_sys - heap.counters.heap_released + gc_sys + other_sys;
}

/* Would growing by bytes pass the memory limit, even after giving every free
 * page back? Heap lock held. */
static bool over_memory_limit(size_t bytes)
{
    size_t limit = load_relaxed(&memory_limit);
    if (limit == SIZE_MAX)
        return false;
    if (memory_in_use_locked() + bytes <= limit)
        return false;
    release_free_pages_locked(0);
    if (memory_in_use_locked() + bytes <= limit)
        return false;
    mgc_tls.memory_limit_hit = 1;
    errno = ENOMEM;
    return true;
}

/* Make room for a run of npages (at most ARENA_USABLE_PAGES). Heap lock held. */
static bool heap_grow(size_t npages)
{
    size_t need = npages << PAGE_SHIFT;
    if (over_memory_limit(need < HEAP_GROW_MIN ? HEAP_GROW_MIN : need) && over_memory_limit(need))
        return false;
    if (heap.grow_end - heap.grow_next < need) {
        uintptr_t base = reserve_blocks(ARENA_SIZE);
        if (!base)
            return false;
        /* The rest of the old arena becomes ordinary free pages. */
        if (heap.grow_end > heap.grow_next && !add_grown_pages(heap.grow_next, heap.grow_end - heap.grow_next)) {
            os_unmap((void *)base, ARENA_SIZE);
            return false;
        }
        table_set(base, 1, true);
        sys_account(SYS_OTHER, (int64_t)(ARENA_HEADER_PAGES << PAGE_SHIFT));
        heap.grow_next = base + (ARENA_HEADER_PAGES << PAGE_SHIFT);
        heap.grow_end = base + ARENA_SIZE;
    }
    size_t step = need < HEAP_GROW_MIN ? HEAP_GROW_MIN : need;
    if (step > need && !over_memory_limit(step))
        need = step;
    mgc_tls.memory_limit_hit = 0;
    if (need > heap.grow_end - heap.grow_next)
        need = heap.grow_end - heap.grow_next;
    if (!add_grown_pages(heap.grow_next, need))
        return false;
    heap.grow_next += need;
    return true;
}

/* An object bigger than an arena: a reservation of its own, its header in
 * the first block, the object right after it. Heap lock held. */
static struct span *alloc_huge_span(size_t npages, unsigned span_class)
{
    size_t header = ARENA_HEADER_PAGES << PAGE_SHIFT;
    if (npages > (((size_t)1 << ADDRESS_BITS) >> PAGE_SHIFT)) {
        errno = ENOMEM;
        return NULL;
    }
    size_t reserve = (header + (npages << PAGE_SHIFT) + ARENA_SIZE - 1) & ~(ARENA_SIZE - 1);
    if (reserve / ARENA_SIZE > UINT16_MAX - 1) {
        errno = ENOMEM;
        return NULL;
    }
    if (over_memory_limit(npages << PAGE_SHIFT))
        return NULL;
    struct span *s = new_span_record();
    if (!s)
        return NULL;
    uintptr_t base = reserve_blocks(reserve);
    if (!base) {
        free_span_record(s);
        return NULL;
    }
    s->start = base + header;
    s->npages = npages;
    if (!span_init_for_class(s, span_class)) {
        free_span_record(s);
        os_unmap((void *)base, reserve);
        return NULL;
    }
    /* Give back the address space past the object at once. */
    uintptr_t end = s->start + span_bytes(s);
    if (end < base + reserve)
        os_unmap((void *)end, base + reserve - end);
    struct arena *a = (struct arena *)base;
    a->huge_span = s;
    table_set(base, reserve / ARENA_SIZE, true);
    for (uintptr_t addr = s->start; addr < base + ARENA_SIZE; addr += PAGE_SIZE)
        map_set(addr, s);
    sys_account(SYS_OTHER, (int64_t)header);
    heap.counters.heap_sys += span_bytes(s);
    return s;
}

static bool is_huge(const struct span *s)
{
    return s->npages > ARENA_USABLE_PAGES;
}

/* How many free bytes to keep rather than give back to the OS: enough to
 * reach the collector's goal again without faulting pages in anew (page
 * faults are dear), and never less than a quarter of what is in use or
 * HEAP_RETAIN_MIN. Heap lock held. */
static size_t free_bytes_to_keep(void)
{
    size_t keep = heap.counters.heap_inuse / 4;
    if (keep < HEAP_RETAIN_MIN)
        keep = HEAP_RETAIN_MIN;
    if (heap.retain_total > heap.counters.heap_inuse && heap.retain_total - heap.counters.heap_inuse > keep)
        keep = heap.retain_total - heap.counters.heap_inuse;
    return keep;
}

void heap_set_retain(uint64_t bytes)
{
    pthread_mutex_lock(&heap.lock);
    /* What recent cycles needed held counts too: spans are never all full
     * and free runs never fit every request, so a cycle needs more pages
     * than its goal in object bytes. Releasing them only to fault them back
     * in next cycle costs far more (a page fault is microseconds) than
     * keeping them; once RETAIN_CYCLES cycles in a row needed less, the
     * excess goes back. */
    uint64_t needed = 0;
    for (int i = RETAIN_CYCLES - 1; i >= 0; i--) {
        if (heap.needed_held[i] > needed)
            needed = heap.needed_held[i];
        heap.needed_held[i] = i > 0 ? heap.needed_held[i - 1] : heap.counters.heap_inuse;
    }
    heap.retain_total = bytes == 0 ? 0 : bytes > needed ? bytes : needed;
    pthread_mutex_unlock(&heap.lock);
}

void heap_release_excess(void)
{
    pthread_mutex_lock(&heap.lock);
    size_t keep = free_bytes_to_keep();
    size_t limit = load_relaxed(&memory_limit);
    bool over_limit = false;
    if (limit != SIZE_MAX) {
        uint64_t used = memory_in_use_locked();
        if (used > limit) {
            keep = used - limit < keep ? keep - (used - limit) : 0;
            over_limit = true;
        }
    }
    /* Under the limit, only a clear excess is worth a system call now and
     * page faults later. */
    if (over_limit ? heap.counters.heap_free > keep : heap.counters.heap_free > keep + keep / 2)
        release_free_pages_locked(keep);
    pthread_mutex_unlock(&heap.lock);
}

/* ---- Spans in and out ----------------------------------------------------------------- */

struct span *heap_alloc_span(size_t npages, unsigned span_class, bool skip_zero, bool may_grow)
{
    pthread_mutex_lock(&heap.lock);
    if (npages > ARENA_USABLE_PAGES) {
        struct span *huge = may_grow ? alloc_huge_span(npages, span_class) : NULL;
        if (huge) {
            large_list_push(huge);
            heap.counters.heap_inuse += span_bytes(huge);
            store_relaxed(&huge->state, SPAN_IN_USE);
        }
        pthread_mutex_unlock(&heap.lock);
        return huge; /* fresh from the OS: already zero */
    }
    /* Every record this may need, before anything changes. */
    struct span *remainder = new_span_record();
    struct span *s = remainder ? free_runs_take(npages) : NULL;
    bool grew = false;
    if (remainder && !s && may_grow && heap_grow(npages)) {
        s = free_runs_take(npages);
        grew = true;
    }
    if (!s) {
        if (remainder)
            free_span_record(remainder);
        pthread_mutex_unlock(&heap.lock);
        errno = ENOMEM;
        return NULL;
    }
    if (s->npages > npages) {
        remainder->start = s->start + (npages << PAGE_SHIFT);
        remainder->npages = s->npages - npages;
        remainder->state = SPAN_FREE;
        map_free_run_ends(remainder);
        free_runs_push(remainder);
        s->npages = npages;
    } else {
        free_span_record(remainder);
    }
    size_t released = page_bits_assign(s->start, npages, PAGE_RELEASED, false);
    heap.counters.heap_released -= (uint64_t)released << PAGE_SHIFT;
    heap.counters.heap_free -= (uint64_t)(npages - released) << PAGE_SHIFT;

    if (!span_init_for_class(s, span_class)) {
        /* Back to the free runs; its pages count as held (not released)
         * from now on, which overstates memory use a little, never the
         * other way round. */
        heap.counters.heap_free += span_bytes(s);
        free_runs_insert(s);
        pthread_mutex_unlock(&heap.lock);
        errno = ENOMEM;
        return NULL;
    }
    map_span_pages(s);
    if (s->large)
        large_list_push(s);
    heap.counters.heap_inuse += span_bytes(s);
    /* Pages in use were needed. So were the free pages held, when this
     * allocation had to grow the heap or take released pages back: the
     * free runs held could not serve it. */
    uint64_t needed = heap.counters.heap_inuse;
    if (grew || released)
        needed += heap.counters.heap_free;
    if (needed > heap.needed_held[0])
        heap.needed_held[0] = needed;
    store_relaxed(&s->state, SPAN_IN_USE);
    pthread_mutex_unlock(&heap.lock);

    /* Free pages are inaccessible under Valgrind (free_span_locked). */
    memcheck_writable(s->start, span_bytes(s));
    if (unlikely(debug.poison))
        poison_take_span(s, arena_of(s->start));
    else if (!skip_zero)
        zero_dirty_pages(s->start, npages);
    if (!s->large)
        memcheck_no_access(s->start, span_bytes(s)); /* free slots, until a window takes them */
    else if (!skip_zero)
        memcheck_defined(s->start, span_bytes(s));
    return s;
}

/* Pages of a huge reservation to unmap once the heap lock is dropped. */
struct pending_unmap {
    void *base;
    size_t size;
};

/* Heap lock held: give s's pages back to the free runs (or, for a huge
 * object, its whole reservation, unmapped by the caller after unlocking).
 * zeroed: the caller cleared every byte, so the pages need no zeroing when
 * they are next handed out. */
static void free_span_locked(struct span *s, struct pending_unmap *unmap, bool zeroed)
{
    large_list_remove(s);
    span_release_bitmaps(s);
    if (is_huge(s)) {
        uintptr_t base = s->start - (ARENA_HEADER_PAGES << PAGE_SHIFT);
        size_t reserved = s->start + span_bytes(s) - base;
        table_set(base, (reserved + ARENA_SIZE - 1) / ARENA_SIZE, false);
        sys_account(SYS_OTHER, -(int64_t)(ARENA_HEADER_PAGES << PAGE_SHIFT));
        heap.counters.heap_sys -= span_bytes(s);
        heap.counters.heap_inuse -= span_bytes(s);
        free_span_record(s);
        unmap->base = (void *)base;
        unmap->size = reserved;
        return;
    }
    if (unlikely(debug.poison)) {
        poison_give_back_span(s);
        zeroed = false;
    }
    heap.counters.heap_inuse -= span_bytes(s);
    heap.counters.heap_free += span_bytes(s);
    page_bits_assign(s->start, s->npages, PAGE_DIRTY, !zeroed);
    memcheck_no_access(s->start, span_bytes(s));
    store_relaxed(&s->state, SPAN_FREE);
    free_runs_insert(s);
    /* Keep free pages for reuse; give back a large excess at once (a big
     * object freed by hand), a small one after sweeping (gc.c), so that
     * the heap does not give and take back pages at every free. */
    size_t keep = free_bytes_to_keep();
    if (heap.counters.heap_free > keep + keep / 2)
        release_free_pages_locked(keep);
}

/* Heap lock held: efence's end of a span. It keeps its map entries and
 * record, so later lookups find a dead span rather than a reused one. */
static void retire_span_locked(struct span *s)
{
    os_protect_none((void *)s->start, span_bytes(s));
    large_list_remove(s);
    heap.counters.heap_inuse -= span_bytes(s);
    heap.counters.heap_released += span_bytes(s);
    s->list = LIST_NONE;
    store_relaxed(&s->state, SPAN_DEAD);
}

static void finish_unmap(const struct pending_unmap *unmap)
{
    if (unmap->base)
        os_unmap(unmap->base, unmap->size);
}

void heap_free_span(struct span *s)
{
    heap_free_spans(&s, 1);
}

void heap_free_spans(struct span *const *spans, size_t n)
{
    if (n == 0)
        return;
    struct pending_unmap unmap = {0};
    pthread_mutex_lock(&heap.lock);
    /* A small span without needs_zero is all zero: its free slots by the
     * invariant of span.c, and the bytes past its last slot because nothing
     * writes there after the pages were first cleared. */
    for (size_t i = 0; i < n; i++)
        free_span_locked(spans[i], &unmap, !spans[i]->large && !spans[i]->needs_zero);
    pthread_mutex_unlock(&heap.lock);
    finish_unmap(&unmap);
}

/* Heap lock held: the end of an unreachable or explicitly freed large
 * object. Returns whether it was waiting to be swept. */
static bool end_large_locked(struct span *s, struct pending_unmap *unmap)
{
    bool unswept = !s->uncollectable && s->list == LIST_LARGE && s->list_index != heap.large_phase;
    store_relaxed64(&s->alloc_bits[0], 0);
    store_mark(&s->mark_bytes[0], false);
    if (debug.efence)
        retire_span_locked(s);
    else
        free_span_locked(s, unmap, false);
    return unswept;
}

enum large_free heap_free_large(struct span *s, uintptr_t p, size_t *bytes)
{
    struct pending_unmap unmap = {0};
    pthread_mutex_lock(&heap.lock);
    /* The caller found s without the lock: it may have been freed, even
     * reused, since. Under the lock its state is settled. */
    if (load_relaxed(&s->state) != SPAN_IN_USE || !s->large || s->start != p ||
        !(load_relaxed64(&s->alloc_bits[0]) & 1)) {
        pthread_mutex_unlock(&heap.lock);
        return LARGE_NOT_ALLOCATED;
    }
    *bytes = span_bytes(s);
    bool unswept = end_large_locked(s, &unmap);
    pthread_mutex_unlock(&heap.lock);
    finish_unmap(&unmap);
    return unswept ? LARGE_FREED_UNSWEPT : LARGE_FREED;
}

bool heap_sweep_one_large(uint64_t *freed_bytes, bool zero_dead)
{
    struct pending_unmap unmap = {0};
    pthread_mutex_lock(&heap.lock);
    struct span *s = heap.large[heap.large_phase ^ 1].first;
    if (!s) {
        pthread_mutex_unlock(&heap.lock);
        return false;
    }
    *freed_bytes = 0;
    if (load_mark(&s->mark_bytes[0])) {
        store_mark(&s->mark_bytes[0], false);
        large_list_remove(s);
        large_list_push(s);
    } else if (zero_dead && !debug.efence && s->npages <= ZERO_DEAD_MAX_PAGES) {
        /* End the object first, so that a racing mgc_free or mgc_base finds
         * nothing allocated here, and take it off the list, so that no other
         * sweeper takes it; then zero it without the lock. Nothing can reach
         * a dead object, and no marking runs while the caller is busy. */
        *freed_bytes = span_bytes(s);
        store_relaxed64(&s->alloc_bits[0], 0);
        large_list_remove(s);
        pthread_mutex_unlock(&heap.lock);
        memset((void *)s->start, 0, span_bytes(s));
        pthread_mutex_lock(&heap.lock);
        free_span_locked(s, &unmap, true);
    } else {
        *freed_bytes = span_bytes(s);
        end_large_locked(s, &unmap);
    }
    pthread_mutex_unlock(&heap.lock);
    finish_unmap(&unmap);
    return true;
}

/* Give back the held pages of one free run, from its end down, until
 * heap_free is at most keep_bytes. Heap lock held. Releasing exactly the
 * excess, not whole runs, matters: every page given back too many is a page
 * fault (microseconds) when the heap grows into it again. */
static void release_run(struct span *s, size_t keep_bytes)
{
    /* Walk down page by page, giving back maximal stretches of held pages. */
    uintptr_t stretch_end = 0;
    size_t stretch_pages = 0;
    for (size_t i = s->npages; i-- > 0 || stretch_pages;) {
        /* i wraps past zero once the run is walked: that pass only flushes. */
        bool in_run = i < s->npages;
        uintptr_t addr = in_run ? s->start + (i << PAGE_SHIFT) : 0;
        bool wanted = heap.counters.heap_free - ((uint64_t)stretch_pages << PAGE_SHIFT) > keep_bytes;
        bool held = in_run && wanted && !page_bit_test(arena_of(addr), addr, PAGE_RELEASED);
        if (held) {
            if (!stretch_pages)
                stretch_end = addr + PAGE_SIZE;
            stretch_pages++;
            continue;
        }
        if (stretch_pages) {
            uintptr_t stretch = stretch_end - (stretch_pages << PAGE_SHIFT);
            os_release((void *)stretch, stretch_pages << PAGE_SHIFT);
            page_bits_assign(stretch, stretch_pages, PAGE_RELEASED, true);
            page_bits_assign(stretch, stretch_pages, PAGE_DIRTY, false);
            heap.counters.heap_free -= (uint64_t)stretch_pages << PAGE_SHIFT;
            heap.counters.heap_released += (uint64_t)stretch_pages << PAGE_SHIFT;
            stretch_pages = 0;
        }
        if (!wanted || !in_run)
            return;
    }
}

static void release_free_pages_locked(size_t keep_bytes)
{
    /* Longest runs first: they give back the most for one system call. */
    for (struct span *s = heap.free_runs_long.first; s && heap.counters.heap_free > keep_bytes; s = s->next)
        release_run(s, keep_bytes);
    for (size_t n = FREE_LIST_PAGES - 1; n > 0 && heap.counters.heap_free > keep_bytes; n--)
        for (struct span *s = heap.free_runs[n].first; s && heap.counters.heap_free > keep_bytes; s = s->next)
            release_run(s, keep_bytes);
}

void heap_describe(struct heap_description *out)
{
    *out = (struct heap_description){
        .free_runs = heap.free_runs, .nfree_lists = FREE_LIST_PAGES, .free_runs_long = &heap.free_runs_long,
        .large = heap.large, .large_phase = heap.large_phase, .large_uncollectable = &heap.large_uncollectable,
        .low = heap.low, .high = heap.high, .counters = heap.counters,
    };
}

void heap_read_counters(struct heap_counters *out)
{
    pthread_mutex_lock(&heap.lock);
    *out = heap.counters;
    pthread_mutex_unlock(&heap.lock);
}

/*
 * test_roots.c: every kind of root keeps its objects, and nothing else does.
 *
 * Each "retained" case holds objects filled with a pattern derived from their
 * own addresses through one kind of root only, collects many times while
 * allocating garbage of the same sizes (so a wrongly freed slot would be
 * handed out again and overwritten), and verifies every byte.
 *
 * The "freed" cases check the other side. The collector is conservative, so
 * a stray copy of an address (a dead stack slot, a register) may keep an
 * object; they hide the addresses they keep (XOR) and ask that nearly all
 * objects go, not every one.
 */
#include <dlfcn.h>
#include <sys/wait.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "mgc_internal.h"

static size_t size_of_case(int i)
{
    static const size_t sizes[] = {8, 16, 24, 48, 64, 100, 256, 1000, 3000, 9000, 40000, 200000};
    return sizes[i % (sizeof sizes / sizeof sizes[0])];
}

static NOINLINE void *make_patterned(size_t size, unsigned seed, bool noscan)
{
    void *p = noscan ? mgc_alloc_noscan(size) : mgc_alloc(size);
    if (!p)
        abort();
    fill_pattern(p, size, seed);
    return p;
}

/* Garbage of the same sizes, filled with something else. */
static NOINLINE void churn(int rounds)
{
    for (int r = 0; r < rounds; r++)
        for (int i = 0; i < 2000; i++) {
            size_t size = size_of_case(i) > 10000 ? 64 : size_of_case(i);
            unsigned char *g = (i & 1) ? mgc_alloc(size) : mgc_alloc_noscan(size);
            memset(g, 0xEE, size);
        }
}

static NOINLINE void collect_under_pressure(int rounds)
{
    for (int r = 0; r < rounds; r++) {
        churn(5);
        mgc_collect();
    }
}

/* How many of n objects, known only by their hidden addresses, are gone. */
static int count_freed(const uintptr_t *hidden, int n)
{
    int freed = 0;
    for (int i = 0; i < n; i++)
        freed += mgc_base((void *)(hidden[i] ^ HIDE)) == NULL;
    return freed;
}

/* ---- Retained ------------------------------------------------------------------------------- */

TEST(retained_from_main_stack)
{
    enum { N = 48 };
    void *volatile objects[N];
    for (int i = 0; i < N; i++)
        objects[i] = make_patterned(size_of_case(i), (unsigned)i, i & 1);
    collect_under_pressure(20);
    for (int i = 0; i < N; i++)
        CHECK(check_pattern(objects[i], size_of_case(i), (unsigned)i));
    struct mgc_stats s;
    mgc_read_stats(&s);
    CHECK(s.num_gc >= 20);
}

static void *global_object;
static void *global_objects[32];

TEST(retained_from_globals)
{
    global_object = make_patterned(5000, 99, false);
    for (int i = 0; i < 32; i++)
        global_objects[i] = make_patterned(size_of_case(i), (unsigned)i + 100, i & 1);
    scrub_stack();
    collect_under_pressure(20);
    CHECK(check_pattern(global_object, 5000, 99));
    for (int i = 0; i < 32; i++)
        CHECK(check_pattern(global_objects[i], size_of_case(i), (unsigned)i + 100));
}

/* A chain: only the head is a root; each object holds the next. */
TEST(retained_through_scanned_objects)
{
    struct link {
        struct link *next;
        uint64_t check;
        char payload[40];
    };
    static struct link *head;
    for (int i = 0; i < 100000; i++) {
        struct link *l = mgc_alloc(sizeof *l);
        l->next = head;
        l->check = (uint64_t)i * 2654435761u;
        memset(l->payload, i & 0xff, sizeof l->payload);
        head = l;
    }
    collect_under_pressure(10);
    int i = 100000;
    for (struct link *l = head; l; l = l->next) {
        i--;
        CHECK(l->check == (uint64_t)i * 2654435761u);
        for (size_t k = 0; k < sizeof l->payload; k++)
            CHECK((unsigned char)l->payload[k] == (i & 0xff));
    }
    CHECK(i == 0);
}

struct reader {
    int fd;
    pthread_barrier_t ready;
    bool ok;
};

static NOINLINE void *read_with_objects_on_stack(void *arg)
{
    struct reader *r = arg;
    void *volatile objects[24];
    for (int i = 0; i < 24; i++)
        objects[i] = make_patterned(size_of_case(i), (unsigned)i + 7, i & 1);
    pthread_barrier_wait(&r->ready);
    char buffer[6];
    ssize_t n = read(r->fd, buffer, sizeof buffer); /* blocks while the main thread collects */
    bool ok = n == 6 && memcmp(buffer, "hello", 6) == 0;
    for (int i = 0; i < 24; i++)
        ok = ok && check_pattern(objects[i], size_of_case(i), (unsigned)i + 7);
    r->ok = ok;
    return NULL;
}

TEST(retained_from_stack_of_thread_blocked_in_read)
{
    int fds[2];
    CHECK(pipe(fds) == 0);
    struct reader r = {.fd = fds[0]};
    pthread_barrier_init(&r.ready, NULL, 2);
    pthread_t t;
    pthread_create(&t, NULL, read_with_objects_on_stack, &r);
    pthread_barrier_wait(&r.ready);
    usleep(20000); /* let it block in read() */
    collect_under_pressure(20);
    /* The read was restarted, not broken: it still gets all the data. */
    CHECK(write(fds[1], "hello", 6) == 6);
    pthread_join(t, NULL);
    CHECK(r.ok);
}

static volatile int spin_done;
static volatile int spinning;

/* The object's address lives only in a register while the thread spins: no
 * call, no stack slot, between allocation and check. */
static NOINLINE void *spin_holding_register(void *unused)
{
    (void)unused;
    void *p = make_patterned(777, 31, false);
#if defined(__x86_64__)
    __asm__ volatile("movl $1, %[spinning]\n"
                     "1: pause\n"
                     "   cmpl $0, %[done]\n"
                     "   je 1b\n"
                     : "+r"(p), [spinning] "=m"(spinning)
                     : [done] "m"(spin_done)
                     : "memory");
#elif defined(__aarch64__)
    __asm__ volatile("mov w9, #1\n"
                     "str w9, %[spinning]\n"
                     "1: yield\n"
                     "   ldr w9, %[done]\n"
                     "   cbz w9, 1b\n"
                     : "+r"(p), [spinning] "=m"(spinning)
                     : [done] "m"(spin_done)
                     : "memory", "w9");
#else
    spinning = 1;
    while (!spin_done) {
    }
#endif
    return check_pattern(p, 777, 31) ? p : NULL;
}

TEST(retained_from_register_of_running_thread)
{
    pthread_t t;
    pthread_create(&t, NULL, spin_holding_register, NULL);
    while (!spinning) {
    }
    collect_under_pressure(20);
    spin_done = 1;
    void *result;
    pthread_join(t, &result);
    CHECK(result != NULL);
}

typedef void (*hold_fn)(void *);
typedef void *(*held_fn)(void);

static void *open_libroot(void)
{
    char path[4096];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 32);
    CHECK(n > 0);
    path[n] = 0;
    strcpy(strrchr(path, '/') + 1, "libroot.so");
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!lib)
        fprintf(stderr, "dlopen: %s\n", dlerror());
    CHECK(lib != NULL);
    return lib;
}

TEST(retained_from_static_of_dlopened_library)
{
    mgc_init();
    void *lib = open_libroot(); /* opened after mgc started */
    hold_fn hold = (hold_fn)(uintptr_t)dlsym(lib, "libroot_hold");
    held_fn held = (held_fn)(uintptr_t)dlsym(lib, "libroot_held");
    hold(make_patterned(3000, 55, false));
    scrub_stack();
    collect_under_pressure(20);
    CHECK(check_pattern(held(), 3000, 55));
}

static NOINLINE uintptr_t hold_in_library_and_close(void)
{
    void *lib = open_libroot();
    hold_fn hold = (hold_fn)(uintptr_t)dlsym(lib, "libroot_hold");
    uintptr_t hidden = 0;
    for (int i = 0; i < 1; i++) {
        void *p = make_patterned(4096, 3, false);
        hidden = (uintptr_t)p ^ HIDE;
        hold(p);
    }
    dlclose(lib);
    return hidden;
}

TEST(closed_library_is_no_longer_read)
{
    mgc_init();
    /* 20 libraries' worth: each object was held only by a library now
     * closed, so nearly all of them must go (and reading an unmapped
     * segment would crash the collection). */
    uintptr_t hidden[20];
    for (int i = 0; i < 20; i++)
        hidden[i] = hold_in_library_and_close();
    scrub_stack();
    mgc_collect();
    mgc_collect();
    int freed = count_freed(hidden, 20);
    CHECK(freed >= 18);
}

TEST(retained_from_registered_range)
{
    void **table = malloc(16 * sizeof(void *)); /* malloc memory: not scanned by itself */
    mgc_add_roots(table, 16 * sizeof(void *));
    for (int i = 0; i < 16; i++)
        table[i] = make_patterned(size_of_case(i), (unsigned)i + 40, false);
    scrub_stack();
    collect_under_pressure(20);
    for (int i = 0; i < 16; i++)
        CHECK(check_pattern(table[i], size_of_case(i), (unsigned)i + 40));
    mgc_remove_roots(table, 16 * sizeof(void *));
    free(table);
}

/* A registered range need not start on a word. Marking scans a long range
 * 2 KiB at a time, and the word across each 2 KiB boundary (counted from
 * an unaligned start) must still be read: before chunks were made to start
 * on a word, the objects held at table + 2048, + 4096, ... were freed. */
TEST(retained_from_unaligned_registered_range)
{
    enum { WORDS = 4096 };
    void **table = malloc((WORDS + 1) * sizeof(void *));
    CHECK(table != NULL);
    mgc_add_roots((char *)table + 3, WORDS * sizeof(void *));
    for (int i = 1; i < WORDS; i++)
        table[i] = make_patterned(24, (unsigned)i, false);
    scrub_stack();
    collect_under_pressure(5);
    int broken = 0;
    for (int i = 1; i < WORDS; i++)
        broken += !check_pattern(table[i], 24, (unsigned)i);
    CHECK_EQ(broken, 0);
    mgc_remove_roots((char *)table + 3, WORDS * sizeof(void *));
    free(table);
}

static NOINLINE void fill_unregistered(void **table, uintptr_t *hidden, int n)
{
    for (int i = 0; i < n; i++) {
        table[i] = make_patterned(64, (unsigned)i, false);
        hidden[i] = (uintptr_t)table[i] ^ HIDE;
    }
}

TEST(removed_range_and_malloc_memory_are_not_roots)
{
    enum { N = 200 };
    void **table = malloc(N * sizeof(void *));
    static uintptr_t hidden[N];
    mgc_add_roots(table, N * sizeof(void *));
    mgc_remove_roots(table, N * sizeof(void *));
    fill_unregistered(table, hidden, N);
    scrub_stack();
    mgc_collect();
    int freed = count_freed(hidden, N);
    CHECK(freed >= N * 9 / 10);
    free(table);
}

TEST(partly_removed_range_keeps_the_rest)
{
    void **table = malloc(8 * sizeof(void *));
    mgc_add_roots(table, 8 * sizeof(void *));
    mgc_remove_roots(&table[2], 2 * sizeof(void *)); /* splits the range */
    for (int i = 0; i < 8; i++)
        table[i] = make_patterned(300, (unsigned)i, false);
    scrub_stack();
    collect_under_pressure(10);
    for (int i = 0; i < 8; i++)
        if (i < 2 || i >= 4)
            CHECK(check_pattern(table[i], 300, (unsigned)i));
    free(table);
}

TEST(retained_from_uncollectable_object)
{
    void **holder = mgc_alloc_flags(8 * sizeof(void *), MGC_UNCOLLECTABLE);
    void **big_holder = mgc_alloc_flags(100000, MGC_UNCOLLECTABLE);
    for (int i = 0; i < 8; i++)
        holder[i] = make_patterned(size_of_case(i), (unsigned)i + 60, i & 1);
    big_holder[5000] = make_patterned(128, 61, false);
    void *hidden_holder = (void *)((uintptr_t)holder ^ HIDE);
    holder = NULL;
    big_holder = (void *)((uintptr_t)big_holder ^ HIDE);
    scrub_stack();
    collect_under_pressure(20);
    holder = (void *)((uintptr_t)hidden_holder ^ HIDE);
    big_holder = (void *)((uintptr_t)big_holder ^ HIDE);
    for (int i = 0; i < 8; i++)
        CHECK(check_pattern(holder[i], size_of_case(i), (unsigned)i + 60));
    CHECK(check_pattern(big_holder[5000], 128, 61));
    mgc_free(holder);
}

TEST(retained_through_interior_pointer)
{
    enum { N = 12 };
    char *volatile inside[N];
    for (int i = 0; i < N; i++) {
        char *p = make_patterned(size_of_case(i), (unsigned)i + 80, false);
        inside[i] = p + size_of_case(i) - 1; /* the last byte only */
    }
    scrub_stack();
    collect_under_pressure(20);
    for (int i = 0; i < N; i++) {
        char *p = inside[i] - (size_of_case(i) - 1);
        CHECK(check_pattern(p, size_of_case(i), (unsigned)i + 80));
    }
}

TEST(retained_through_middle_of_tiny_block)
{
    enum { N = 64 };
    /* Four 4-byte objects per block; keep only a pointer to the third
     * one's second byte: the whole block, all four objects, must stay. */
    static uintptr_t block_hidden[N];
    char *volatile middle[N];
    for (int i = 0; i < N; i++) {
        uint32_t *a = mgc_alloc_noscan(4), *b = mgc_alloc_noscan(4), *c = mgc_alloc_noscan(4),
                 *d = mgc_alloc_noscan(4);
        *a = 0xA0000000u + (uint32_t)i;
        *b = 0xB0000000u + (uint32_t)i;
        *c = 0xC0000000u + (uint32_t)i;
        *d = 0xD0000000u + (uint32_t)i;
        CHECK(((uintptr_t)a & ~(uintptr_t)15) == ((uintptr_t)d & ~(uintptr_t)15));
        block_hidden[i] = (uintptr_t)a ^ HIDE;
        middle[i] = (char *)c + 1;
    }
    scrub_stack();
    for (int r = 0; r < 20; r++) {
        for (int k = 0; k < 20000; k++)
            *(uint32_t *)mgc_alloc_noscan(4) = 0xEEEEEEEEu; /* reuse freed blocks */
        mgc_collect();
    }
    for (int i = 0; i < N; i++) {
        uint32_t *a = (uint32_t *)(block_hidden[i] ^ HIDE);
        CHECK((uintptr_t)middle[i] == (uintptr_t)a + 9);
        CHECK(a[0] == 0xA0000000u + (uint32_t)i);
        CHECK(a[1] == 0xB0000000u + (uint32_t)i);
        CHECK(a[2] == 0xC0000000u + (uint32_t)i);
        CHECK(a[3] == 0xD0000000u + (uint32_t)i);
    }
}

/* A list of ten million nodes: marking must not recurse or overflow. */
TEST(retained_ten_million_node_list)
{
    struct node {
        struct node *next;
        uint64_t value;
    };
    static struct node *head;
    for (uint64_t i = 0; i < 10000000; i++) {
        struct node *n = mgc_alloc(sizeof *n);
        CHECK(n != NULL);
        n->next = head;
        n->value = i ^ 0x1234;
        head = n;
    }
    mgc_collect();
    churn(10);
    mgc_collect();
    uint64_t i = 10000000;
    for (struct node *n = head; n; n = n->next)
        CHECK(n->value == (--i ^ 0x1234));
    CHECK(i == 0);
}

/* One large array of pointers to many small objects. */
TEST(retained_from_large_pointer_array)
{
    enum { N = 2000000 };
    uint64_t **array = mgc_alloc(N * sizeof(uint64_t *));
    for (uint64_t i = 0; i < N; i++) {
        array[i] = mgc_alloc(16);
        array[i][0] = i;
        array[i][1] = ~i;
    }
    collect_under_pressure(3);
    for (uint64_t i = 0; i < N; i++)
        CHECK(array[i][0] == i && array[i][1] == ~i);
}

/* Marking remembers the span the last word pointed into, and skips the
 * lookup while the next word falls inside the same span's objects. Here
 * the only references are words of one array that go from span to span:
 * in address order across span boundaries (each object's last byte, then
 * the next object's first), and alternating between classes, large objects
 * and tiny blocks. Each scanned object also holds the only pointer to a
 * child, so an object marked in the wrong span, or not scanned, loses
 * bytes. */
enum { CROSSING_PER_CLASS = 1000, CROSSING_CLASSES = 5 };
static uintptr_t *volatile crossing_words;

static size_t crossing_size(int c)
{
    static const size_t sizes[CROSSING_CLASSES] = {16, 48, 1000, 3000, 40000};
    return sizes[c];
}

static NOINLINE void make_crossing_objects(size_t per_class)
{
    size_t nwords = CROSSING_CLASSES * per_class + (CROSSING_CLASSES + 1) * per_class;
    uintptr_t *words = mgc_alloc(nwords * sizeof *words);
    CHECK(words != NULL);
    static char *objects[CROSSING_CLASSES][CROSSING_PER_CLASS];
    for (int c = 0; c < CROSSING_CLASSES; c++)
        for (size_t i = 0; i < per_class; i++) {
            size_t size = crossing_size(c);
            char *p = make_patterned(size, (unsigned)(c * 100000 + i), false);
            /* Word 0: the only pointer to a child; the rest keeps its
             * pattern. */
            *(void **)p = make_patterned(24, (unsigned)(c * 100000 + i) + 7, true);
            objects[c][i] = p;
        }
    size_t n = 0;
    /* Each class in allocation (mostly address) order, last byte then the
     * next object's first: consecutive words in neighbouring slots and
     * spans. */
    for (int c = 0; c < CROSSING_CLASSES; c++)
        for (size_t i = 0; i < per_class; i++)
            words[n++] = (uintptr_t)objects[c][i] + (i % 2 ? 0 : crossing_size(c) - 1);
    /* Then every class in turn, each turn ending with a tiny block. */
    for (size_t i = 0; i < per_class; i++) {
        for (int c = 0; c < CROSSING_CLASSES; c++)
            words[n++] = (uintptr_t)objects[c][per_class - 1 - i] + crossing_size(c) / 2;
        char *tiny = mgc_alloc_noscan(4);
        fill_pattern(tiny, 4, (unsigned)i + 55);
        words[n++] = (uintptr_t)tiny + 3;
    }
    crossing_words = words;
    memset(objects, 0, sizeof objects);
}

TEST(retained_through_words_that_cross_spans)
{
    size_t per_class = CROSSING_PER_CLASS;
    make_crossing_objects(per_class);
    scrub_stack();
    collect_under_pressure(10);
    uintptr_t *words = crossing_words;
    size_t n = 0;
    for (int c = 0; c < CROSSING_CLASSES; c++)
        for (size_t i = 0; i < per_class; i++) {
            size_t size = crossing_size(c);
            char *p = (char *)(words[n++] - (i % 2 ? 0 : size - 1));
            unsigned seed = (unsigned)(c * 100000 + i);
            CHECK(mgc_base(p) == p);
            CHECK(check_pattern(p + sizeof(void *), size - sizeof(void *), seed));
            CHECK(check_pattern(*(void **)p, 24, seed + 7));
        }
    for (size_t i = 0; i < per_class; i++) {
        n += CROSSING_CLASSES;
        CHECK(check_pattern((void *)(words[n++] - 3), 4, (unsigned)i + 55));
    }
}

/* Survivors scattered through the slots of spans of every size class, the
 * rest dropped: the sweep must free exactly the unmarked slots, whatever
 * their place in the span's mark bytes and bitmaps. Each class gets two
 * spans' worth of objects and keeps a pseudo-random half of them. */
enum { SCATTER_MAX = 4 * 1024 + 8 };
static void *scattered_kept[NUM_SIZE_CLASSES][SCATTER_MAX];
static uintptr_t scattered_dropped[NUM_SIZE_CLASSES][SCATTER_MAX];
static int scattered_counts[NUM_SIZE_CLASSES][2];

static int scatter_count(int size_class)
{
    size_t per_span = ((size_t)class_to_pages[size_class] << PAGE_SHIFT) / class_to_size[size_class];
    return (int)(2 * per_span + 5 < SCATTER_MAX ? 2 * per_span + 5 : SCATTER_MAX);
}

static NOINLINE void scatter_objects(void)
{
    uint64_t random = 0x243F6A8885A308D3ull;
    for (int c = 1; c < NUM_SIZE_CLASSES; c++) {
        size_t size = class_to_size[c];
        int n = scatter_count(c), kept = 0, dropped = 0;
        for (int i = 0; i < n; i++) {
            random_next(&random);
            void *p = make_patterned(size, (unsigned)(c * 7919 + i), false);
            if (random >> 63)
                scattered_kept[c][kept++] = p;
            else
                scattered_dropped[c][dropped++] = (uintptr_t)p ^ HIDE;
            fill_pattern(p, size, (unsigned)(uintptr_t)p);
        }
        scattered_counts[c][0] = kept;
        scattered_counts[c][1] = dropped;
    }
}

TEST(scattered_survivors_in_every_size_class)
{
    scatter_objects();
    scrub_stack();
    collect_under_pressure(3);
    int dropped_total = 0, freed_total = 0;
    for (int c = 1; c < NUM_SIZE_CLASSES; c++) {
        size_t size = class_to_size[c];
        for (int i = 0; i < scattered_counts[c][0]; i++) {
            void *p = scattered_kept[c][i];
            CHECK(mgc_base(p) == p);
            CHECK(check_pattern(p, size, (unsigned)(uintptr_t)p));
        }
        dropped_total += scattered_counts[c][1];
        freed_total += count_freed(scattered_dropped[c], scattered_counts[c][1]);
    }
    CHECK(dropped_total > 4000);
    CHECK(freed_total >= dropped_total * 9 / 10);
}

/* ---- Freed ----------------------------------------------------------------------------------- */

static NOINLINE void make_garbage(uintptr_t *hidden, int n, size_t size)
{
    for (int i = 0; i < n; i++)
        hidden[i] = (uintptr_t)make_patterned(size, (unsigned)i, false) ^ HIDE;
}

TEST(unreachable_objects_are_freed)
{
    enum { N = 1000 };
    static uintptr_t hidden[N];
    mgc_init();
    struct mgc_stats before, after;
    make_garbage(hidden, N, 200);
    scrub_stack();
    mgc_read_stats(&before);
    mgc_collect();
    mgc_read_stats(&after);
    CHECK(after.frees - before.frees >= N * 9 / 10);
    CHECK(after.heap_alloc + N * 9 / 10 * 208 <= before.heap_alloc);
    int freed = count_freed(hidden, N);
    CHECK(freed >= N * 9 / 10);
}

static NOINLINE void *noscan_holder_of(uintptr_t *hidden, int n)
{
    void **holder = mgc_alloc_noscan((size_t)n * sizeof(void *));
    for (int i = 0; i < n; i++) {
        holder[i] = make_patterned(48, (unsigned)i, false);
        hidden[i] = (uintptr_t)holder[i] ^ HIDE;
    }
    return holder;
}

TEST(pointer_inside_noscan_object_does_not_retain)
{
    enum { N = 500 };
    static uintptr_t hidden[N];
    void *volatile holder = noscan_holder_of(hidden, N);
    scrub_stack();
    mgc_collect();
    CHECK(mgc_base(holder) == holder); /* the holder itself is alive */
    int freed = count_freed(hidden, N);
    CHECK(freed >= N * 9 / 10);
}

TEST(dropped_large_objects_are_freed)
{
    static uintptr_t hidden[40];
    make_garbage(hidden, 40, 1 << 20);
    scrub_stack();
    mgc_collect();
    int freed = count_freed(hidden, 40);
    CHECK(freed >= 36);
}

/* A range that wraps past the top of the address space, or reaches beyond
 * the user address space, cannot be read: mgc_add_roots refuses it with a
 * message, keeps the ranges it had, and collections go on. Before the check,
 * the wrapping range was clamped at UINTPTR_MAX, stored, and the next
 * collection died of SIGSEGV reading it. */
static void add_bad_range_and_collect(void *arg)
{
    const struct root_range *ranges;
    void **table = malloc(4 * sizeof(void *));
    mgc_add_roots(table, 4 * sizeof(void *));
    size_t before = roots_registered(&ranges);
    table[0] = make_patterned(64, 7, false);
    mgc_add_roots((char *)table + 8, arg ? (size_t)(uintptr_t)arg : SIZE_MAX);
    if (arg)
        mgc_add_roots((void *)((uintptr_t)1 << ADDRESS_BITS), 4096);
    scrub_stack();
    collect_under_pressure(3);
    CHECK(check_pattern(table[0], 64, 7));
    CHECK_EQ(roots_registered(&ranges), before);
}

TEST(range_past_the_address_space_is_refused)
{
    char text[2048];
    int status = run_in_child(add_bad_range_and_collect, NULL, text, sizeof text);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fprintf(stderr, "child: status %#x, stderr: %s\n", status, text);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(strstr(text, "mgc: mgc_add_roots: range") && strstr(text, "not a root"));
    /* Beyond the user address space (a range that does not wrap). */
    status = run_in_child(add_bad_range_and_collect, (void *)(uintptr_t)((uintptr_t)1 << ADDRESS_BITS), text,
                          sizeof text);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fprintf(stderr, "child: status %#x, stderr: %s\n", status, text);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(strstr(text, "mgc: mgc_add_roots: range"));
}

/* ---- Where a pointer keeps an object ------------------------------------------------------- */

/* A pointer anywhere in an object's slot keeps it, up to the slot's last
 * byte (mgc_usable_size): a 100-byte object lives in a larger slot, so a
 * pointer just past its 100 bytes keeps it too. For a tiny object, any byte
 * of its 16-byte block does. mgc.h says so; this checks it. */
static char *volatile slot_ends[64], *volatile just_past[64], *volatile tiny_block_end, *volatile past_slot[64];

TEST(pointer_to_last_byte_of_slot_retains)
{
    enum { N = 64 };
    static uintptr_t hidden[N], hidden_tiny;
    for (int i = 0; i < N; i++) {
        char *p = make_patterned(100, (unsigned)i, i & 1);
        size_t usable = mgc_usable_size(p);
        CHECK(usable > 100);
        hidden[i] = (uintptr_t)p ^ HIDE;
        if (i % 2)
            slot_ends[i] = p + usable - 1;
        else
            just_past[i] = p + 100;
    }
    char *t = NULL;
    for (int i = 0; i < 64 && !t; i++) {
        t = mgc_alloc_noscan(3);
        if (mgc_base(t) != t)
            t = NULL;
    }
    CHECK(t != NULL);
    fill_pattern(t, 3, 500);
    hidden_tiny = (uintptr_t)t ^ HIDE;
    tiny_block_end = t + 15;
    t = NULL;
    scrub_stack();
    collect_under_pressure(10);
    for (int i = 0; i < N; i++) {
        char *p = (char *)(hidden[i] ^ HIDE);
        CHECK(mgc_base(p) == p);
        CHECK(check_pattern(p, 100, (unsigned)i));
    }
    CHECK(mgc_base((void *)(hidden_tiny ^ HIDE)) == (void *)(hidden_tiny ^ HIDE));
    CHECK(check_pattern((void *)(hidden_tiny ^ HIDE), 3, 500));
}

/* One byte further, the pointer is at the next slot: it keeps whatever
 * lives there, not this object. Each kept object is followed by a filler,
 * so that its one-past-the-slot pointer lands on the filler. */
TEST(pointer_one_past_the_slot_does_not_retain)
{
    enum { N = 64 };
    static uintptr_t hidden[N];
    for (int i = 0; i < N; i++) {
        char *p = make_patterned(100, (unsigned)i, false);
        hidden[i] = (uintptr_t)p ^ HIDE;
        past_slot[i] = p + mgc_usable_size(p);
        make_patterned(100, (unsigned)i, false); /* the filler */
    }
    scrub_stack();
    mgc_collect();
    mgc_collect();
    CHECK(count_freed(hidden, N) >= N * 9 / 10);
}

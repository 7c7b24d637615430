/*
 * test_gc.c: collection control and the machinery around a cycle: pacing,
 * gc percent, the memory limit, statistics, gctrace, parallel marking,
 * signals, fork, and threads that come and go while collections run.
 */
#include <pthread.h>
#include <regex.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "mgc_internal.h"

static NOINLINE void make_garbage(size_t bytes)
{
    for (size_t done = 0; done < bytes; done += 256) {
        char *p = mgc_alloc(256);
        p[0] = 1;
    }
}

/* Allocate small garbage until the pacer starts a collection: unlike
 * mgc_collect, an automatic collection leaves sweeping to whoever needs a
 * span, and to the background sweeper. */
static void allocate_until_a_collection(void)
{
    struct mgc_stats before, after;
    mgc_read_stats(&before);
    do {
        make_garbage(64 << 10);
        mgc_read_stats(&after);
    } while (after.num_gc == before.num_gc);
}

static uint64_t memory_held(const struct mgc_stats *s)
{
    return s->heap_sys - s->heap_released + s->gc_sys + s->other_sys;
}

TEST(collect_updates_statistics)
{
    struct mgc_stats s0, s1;
    mgc_init();
    mgc_read_stats(&s0);
    CHECK_EQ(s0.num_gc, 0);
    CHECK_EQ(s0.next_gc, 4 << 20);
    mgc_collect();
    mgc_collect();
    mgc_read_stats(&s1);
    CHECK_EQ(s1.num_gc, 2);
    CHECK(s1.last_pause_ns > 0);
    CHECK(s1.max_pause_ns >= s1.last_pause_ns);
    CHECK(s1.pause_total_ns >= s1.max_pause_ns);
    CHECK(s1.next_gc >= 4 << 20);
}

/* Live data for the tests below: globals are roots. */
static void *volatile live[40000]; /* volatile: a write-only static would be optimised away */

TEST(goal_is_live_heap_times_two)
{
    enum { N = 40000 };
    for (int i = 0; i < N; i++)
        live[i] = mgc_alloc(512); /* 20 MiB live */
    mgc_collect();
    struct mgc_stats s;
    mgc_read_stats(&s);
    uint64_t marked = (uint64_t)N * 512;
    CHECK(s.next_gc >= 2 * marked && s.next_gc < 2 * marked + (2 << 20));
    CHECK(s.heap_alloc >= marked);
}

TEST(large_allocation_that_would_pass_the_goal_collects_first)
{
    /* The heap is at its minimum goal (4 MiB) with almost nothing live. A
     * 3 MiB object fits under the goal; a second one would pass it, so the
     * collection runs before it is allocated, and the first object, still
     * held, must survive it byte for byte. */
    enum { SIZE = 3 << 20 };
    mgc_collect();
    struct mgc_stats before, between, after;
    mgc_read_stats(&before);
    CHECK_EQ(before.next_gc, 4 << 20);
    live[0] = mgc_alloc_noscan(SIZE);
    fill_pattern(live[0], SIZE, 7);
    mgc_read_stats(&between);
    CHECK_EQ(between.num_gc, before.num_gc);
    live[1] = mgc_alloc_noscan(SIZE);
    mgc_read_stats(&after);
    CHECK_EQ(after.num_gc, before.num_gc + 1);
    CHECK(check_pattern(live[0], SIZE, 7));
    CHECK(all_zero(live[1], SIZE));
}

TEST(dropped_large_objects_are_collected_before_the_next)
{
    /* Each 3 MiB object is dropped before the next is allocated, and each
     * next one would take the heap past the goal: every one of them
     * collects first (the old rule collected at every second), and the heap
     * stays small. A conservative scan may keep the last object alive
     * through a stale stack slot, so the bound allows for one too many. */
    enum { SIZE = 3 << 20 };
    mgc_collect();
    struct mgc_stats before, after;
    mgc_read_stats(&before);
    for (int i = 0; i < 50; i++) {
        live[0] = mgc_alloc_noscan(SIZE);
        memset(live[0], i, SIZE);
        live[0] = NULL;
    }
    mgc_read_stats(&after);
    CHECK(after.num_gc - before.num_gc >= 49);
    CHECK(after.heap_sys < 4 * (uint64_t)SIZE);
}

TEST(automatic_collections_keep_the_heap_bounded)
{
    struct mgc_stats s;
    make_garbage((size_t)400 << 20);
    mgc_read_stats(&s);
    CHECK(s.num_gc >= 50);
    CHECK(s.heap_inuse < (64 << 20));
}

TEST(gc_percent_off_and_on)
{
    mgc_init();
    CHECK_EQ(mgc_set_gc_percent(-1), 100);
    make_garbage((size_t)64 << 20);
    struct mgc_stats s;
    mgc_read_stats(&s);
    CHECK_EQ(s.num_gc, 0);
    CHECK(s.next_gc == UINT64_MAX);
    CHECK_EQ(mgc_set_gc_percent(50), -1);
    make_garbage((size_t)64 << 20);
    mgc_read_stats(&s);
    CHECK(s.num_gc >= 1);
    CHECK_EQ(mgc_set_gc_percent(100), 50);
}

ENV_TEST(gc_percent_from_environment, "MGC_GCPERCENT=off")
{
    make_garbage((size_t)32 << 20);
    struct mgc_stats s;
    mgc_read_stats(&s);
    CHECK_EQ(s.num_gc, 0);
    CHECK_EQ(mgc_set_gc_percent(100), -1);
}

ENV_TEST(gc_percent_number_from_environment, "MGC_GCPERCENT=250")
{
    mgc_init();
    CHECK_EQ(mgc_set_gc_percent(100), 250);
}

/* Pages kept for reuse are kept only while recent cycles needed them: once
 * a program drops most of its data, the memory goes back to the OS within
 * a few collections. */
static NOINLINE void fill_and_drop(void **table, size_t count, size_t size)
{
    for (size_t i = 0; i < count; i++) {
        table[i] = mgc_alloc(size);
        CHECK(table[i] != NULL);
        memset(table[i], 0x5A, size);
    }
    memset(table, 0, count * sizeof *table);
}

TEST(memory_of_dropped_data_goes_back_to_the_os)
{
    enum { COUNT = 3200, SIZE = 64 << 10 }; /* 200 MiB */
    void **table = mgc_alloc(COUNT * sizeof *table);
    fill_and_drop(table, COUNT, SIZE);
    struct mgc_stats before, after;
    mgc_read_stats(&before);
    CHECK(memory_held(&before) >= (uint64_t)COUNT * SIZE);
    /* Pages a recent cycle needed stay held for RETAIN_CYCLES (32) cycles
     * before they go back. */
    for (int i = 0; i < 40; i++)
        mgc_collect();
    mgc_read_stats(&after);
    if (memory_held(&after) >= (32u << 20))
        fprintf(stderr, "still held: %llu MiB\n", (unsigned long long)(memory_held(&after) >> 20));
    CHECK(memory_held(&after) < (32u << 20));
}

/* 10 GiB allocated in all, 10 MiB live at any time: the process must stay
 * small. Live data: a ring of 10,240 1 KiB buffers plus small nodes. */
TEST(ten_gib_through_ten_mib_live_stays_under_64_mib_rss)
{
    enum { RING = 10240 };
    static char *ring[RING];
    struct node {
        struct node *next;
        uint64_t value;
    };
    static struct node *nodes;
    uint64_t total = 0;
    for (uint64_t i = 0; total < ((uint64_t)10 << 30); i++) {
        size_t slot = i % RING;
        char *buffer = mgc_alloc_noscan(1024);
        CHECK(buffer != NULL);
        buffer[0] = (char)i;
        buffer[1023] = (char)~i;
        ring[slot] = buffer;
        total += 1024;
        if ((i & 7) == 0) {
            struct node *n = mgc_alloc(sizeof *n);
            n->value = i;
            n->next = (i & 0xffff) ? nodes : NULL; /* drop the list now and then */
            nodes = n;
            total += sizeof *n;
        }
    }
    for (size_t k = 0; k < RING; k++)
        CHECK(ring[k][1023] == (char)~ring[k][0]);
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    struct mgc_stats s;
    mgc_read_stats(&s);
    fprintf(stderr, "peak RSS %ld KiB after %llu collections\n", usage.ru_maxrss,
            (unsigned long long)s.num_gc);
    CHECK(usage.ru_maxrss < 64 * 1024);
    CHECK(s.total_alloc >= ((uint64_t)10 << 30));
}

ENV_TEST(memory_limit_collects_early_and_holds, "MGC_MEMLIMIT=48MiB")
{
    /* 20 MiB live; the default goal would let the heap reach 40 MiB of
     * objects plus overhead: the limit keeps it below 48 MiB. */
    enum { N = 20480 };
    for (int i = 0; i < N; i++)
        live[i] = mgc_alloc(1024);
    uint64_t peak = 0;
    for (int round = 0; round < 400; round++) {
        make_garbage(1 << 20);
        struct mgc_stats s;
        mgc_read_stats(&s);
        if (memory_held(&s) > peak)
            peak = memory_held(&s);
    }
    CHECK(peak <= (uint64_t)48 << 20);
    CHECK_EQ(mgc_set_memory_limit(SIZE_MAX), (size_t)48 << 20);
}

TEST(memory_limit_refuses_what_cannot_fit)
{
    mgc_init();
    CHECK_EQ(mgc_set_memory_limit((size_t)32 << 20), SIZE_MAX);
    enum { N = 64 };
    int got = 0;
    for (int i = 0; i < N; i++) {
        errno = 0;
        live[i] = mgc_alloc(1 << 20);
        if (!live[i]) {
            CHECK(errno == ENOMEM);
            break;
        }
        got++;
    }
    CHECK(got >= 16 && got < 32);
    struct mgc_stats s;
    mgc_read_stats(&s);
    CHECK(memory_held(&s) <= (uint64_t)32 << 20);
    /* Garbage still works under the limit, and raising it lets more in. */
    make_garbage(64 << 20);
    mgc_set_memory_limit((size_t)256 << 20);
    CHECK(mgc_alloc(1 << 20) != NULL);
}

static void collect_with_trace(void *unused)
{
    (void)unused;
    make_garbage(8 << 20);
    mgc_collect();
}

static void check_trace_line(const char *debug, const char *threads)
{
    setenv("MGC_DEBUG", debug, 1);
    char text[8192];
    int status = run_in_child(collect_with_trace, NULL, text, sizeof text);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    regex_t re;
    CHECK(regcomp(&re,
                  "^gc [0-9]+ @[0-9]+\\.[0-9]{3}s [0-9]+%: pause [0-9]+\\.[0-9]{3} ms "
                  "\\(mark [0-9]+\\.[0-9]{3} ms, [0-9]+ threads\\), "
                  "heap [0-9]+\\.[0-9]->[0-9]+\\.[0-9] MiB goal [0-9]+\\.[0-9] MiB, [0-9]+ objects freed, [0-9]+ finalizers queued$",
                  REG_EXTENDED | REG_NEWLINE) == 0);
    CHECK(regexec(&re, text, 0, NULL, 0) == 0);
    regfree(&re);
    CHECK(strstr(text, threads) != NULL);
    CHECK(strstr(text, "gc 1 @") != NULL);
}

TEST(gctrace_prints_one_line_per_collection)
{
    char threads[32];
    snprintf(threads, sizeof threads, "%ld threads", sysconf(_SC_NPROCESSORS_ONLN));
    check_trace_line("gctrace=1", threads);
    check_trace_line("gctrace=1,gcprocs=1", "1 threads");
    check_trace_line("gctrace=1,gcprocs=3", "3 threads");
}

static void *collect_once(void *barrier)
{
    pthread_barrier_wait(barrier);
    gc_collect(GC_AUTOMATIC, 0);
    return NULL;
}

TEST(two_threads_wanting_a_collection_get_one)
{
    /* Two threads ask for an automatic collection at once, when one is due:
     * one collects, the other does not start a second cycle. */
    for (int round = 0; round < 20; round++) {
        make_garbage(6 << 20); /* past the 4 MiB goal, no collection yet if ... */
        store_relaxed(&gc_trigger, (uint64_t)1); /* ... make one due for sure */
        struct mgc_stats before, after;
        mgc_read_stats(&before);
        pthread_barrier_t barrier;
        pthread_barrier_init(&barrier, NULL, 2);
        pthread_t a, b;
        pthread_create(&a, NULL, collect_once, &barrier);
        pthread_create(&b, NULL, collect_once, &barrier);
        pthread_join(a, NULL);
        pthread_join(b, NULL);
        mgc_read_stats(&after);
        CHECK_EQ(after.num_gc - before.num_gc, 1);
    }
}

static void *explicit_collect(void *unused)
{
    (void)unused;
    for (int i = 0; i < 20; i++)
        mgc_collect();
    return NULL;
}

/* A thread whose only call into mgc is mgc_collect may sweep after it,
 * outside the collection lock: it must be registered, so that another
 * thread's collection stops it rather than flipping the sweep phases under
 * it. (Before the fix: mgc_unregister_thread returned MGC_EINVAL here.) */
static void *collect_only(void *unused)
{
    (void)unused;
    mgc_collect();
    return (void *)(intptr_t)mgc_unregister_thread();
}

TEST(a_thread_that_only_collects_is_registered)
{
    mgc_init();
    pthread_t t;
    void *result;
    CHECK(pthread_create(&t, NULL, collect_only, NULL) == 0);
    pthread_join(t, &result);
    CHECK_EQ((intptr_t)result, 0);
}

TEST(concurrent_explicit_collections_do_not_deadlock)
{
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, explicit_collect, NULL);
    make_garbage(32 << 20);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    struct mgc_stats s;
    mgc_read_stats(&s);
    CHECK(s.num_gc >= 20);
}

static void *short_lived(void *arg)
{
    uint64_t *cell = mgc_alloc(64);
    cell[0] = (uintptr_t)arg;
    for (int i = 0; i < 200; i++)
        mgc_alloc(32);
    return cell[0] == (uintptr_t)arg ? cell : NULL;
}

TEST(threads_come_and_go_while_collections_run)
{
    pthread_t collector;
    pthread_create(&collector, NULL, (void *(*)(void *))(uintptr_t)explicit_collect, NULL);
    for (int round = 0; round < 300; round++) {
        pthread_t t[4];
        for (int i = 0; i < 4; i++)
            CHECK(pthread_create(&t[i], NULL, short_lived, (void *)(uintptr_t)(round * 4 + i)) == 0);
        for (int i = 0; i < 4; i++) {
            void *cell;
            pthread_join(t[i], &cell);
            CHECK(cell != NULL);
        }
    }
    pthread_join(collector, NULL);
}

static volatile int keep_allocating;
static int allocators_running;

static void *allocate_until_told(void *unused)
{
    (void)unused;
    mgc_free(mgc_alloc(48)); /* registered, and through the first allocation */
    __atomic_add_fetch(&allocators_running, 1, __ATOMIC_RELEASE);
    while (__atomic_load_n(&keep_allocating, __ATOMIC_RELAXED)) {
        void **p = mgc_alloc(48);
        p[0] = mgc_alloc_noscan(7);
    }
    return NULL;
}

TEST(fork_while_threads_allocate)
{
    __atomic_store_n(&keep_allocating, 1, __ATOMIC_RELAXED);
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, allocate_until_told, NULL);
    /* Fork only once both threads are past their own start-up: a thread
     * that the C library (or AddressSanitizer, whose allocator has no fork
     * handler) is still setting up may hold its allocator's lock, which
     * the child would inherit held. mgc's own threads are its business:
     * it never forks while one of them is starting (world.c). */
    while (__atomic_load_n(&allocators_running, __ATOMIC_ACQUIRE) < 2)
        sched_yield();
    static void *kept[100];
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < 100; i++) {
            kept[i] = mgc_alloc(100);
            fill_pattern(kept[i], 100, (unsigned)i);
        }
        pid_t pid = fork();
        if (pid == 0) {
            /* The child: one thread, a working heap, kept objects intact. */
            make_garbage(16 << 20);
            mgc_collect();
            for (int i = 0; i < 100; i++)
                if (!check_pattern(kept[i], 100, (unsigned)i))
                    _exit(3);
            pthread_t c;
            if (pthread_create(&c, NULL, short_lived, (void *)1) != 0)
                _exit(4);
            void *cell;
            pthread_join(c, &cell);
            _exit(cell ? 0 : 5);
        }
        int status;
        waitpid(pid, &status, 0);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    __atomic_store_n(&keep_allocating, 0, __ATOMIC_RELAXED);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    mgc_collect();
    for (int i = 0; i < 100; i++)
        CHECK(check_pattern(kept[i], 100, (unsigned)i));
}

/* fork() while the background sweeper holds spans it took off their lists.
 * The child must get every span back: one left to no one would keep the
 * marks of the parent's collection, and the child's collections would then
 * skip scanning its objects and free what they point to. Here a list of
 * 48-byte nodes shares its spans with three times as much garbage, and
 * dead large objects give the sweeper zeroing to do; right after an
 * automatic collection the parent forks, and the child collects three times
 * under pressure and walks the list, checking every node. */
enum { FORK_NODES = 20000 };
struct fork_node {
    struct fork_node *next;
    unsigned char bytes[40];
};
static struct fork_node *volatile fork_list;

static NOINLINE void make_fork_list(void)
{
    struct fork_node *head = NULL;
    for (int i = 0; i < FORK_NODES; i++) {
        struct fork_node *n = mgc_alloc(sizeof *n);
        CHECK(n != NULL);
        n->next = head;
        fill_pattern(n->bytes, sizeof n->bytes, (unsigned)i);
        head = n;
        for (int g = 0; g < 3; g++)
            memset(mgc_alloc(sizeof *n), 0xaa, sizeof *n);
        if (i % 200 == 0)
            memset(mgc_alloc((size_t)256 << 10), 0xbb, (size_t)256 << 10);
    }
    fork_list = head;
}

static bool fork_list_intact(void)
{
    int i = FORK_NODES;
    for (struct fork_node *n = fork_list; n; n = n->next)
        if (--i < 0 || !check_pattern(n->bytes, sizeof n->bytes, (unsigned)i))
            return false;
    return i == 0;
}

TEST(fork_while_the_background_sweeper_holds_spans)
{
    for (int round = 0; round < 10; round++) {
        mgc_set_gc_percent(-1);
        make_fork_list();
        scrub_stack();
        mgc_set_gc_percent(100);
        allocate_until_a_collection();
        pid_t pid = fork();
        if (pid == 0) {
            for (int i = 0; i < 3; i++) {
                make_garbage(8 << 20);
                mgc_collect();
            }
            _exit(fork_list_intact() ? 0 : 3);
        }
        int status;
        CHECK(waitpid(pid, &status, 0) == pid);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        CHECK(fork_list_intact());
    }
}

ENV_TEST(suspend_signal_from_environment, "MGC_SUSPEND_SIGNAL=SIGUSR1")
{
    __atomic_store_n(&keep_allocating, 1, __ATOMIC_RELAXED);
    pthread_t t;
    pthread_create(&t, NULL, allocate_until_told, NULL);
    for (int i = 0; i < 10; i++)
        mgc_collect();
    __atomic_store_n(&keep_allocating, 0, __ATOMIC_RELAXED);
    pthread_join(t, NULL);
    struct sigaction usr1, pwr;
    sigaction(SIGUSR1, NULL, &usr1);
    sigaction(SIGPWR, NULL, &pwr);
    CHECK(usr1.sa_handler != SIG_DFL);
    CHECK(pwr.sa_handler == SIG_DFL);
}

ENV_TEST(bad_suspend_signal_is_reported, "MGC_SUSPEND_SIGNAL=SIGKILL")
{
    mgc_init();
    struct sigaction pwr;
    sigaction(SIGPWR, NULL, &pwr);
    CHECK(pwr.sa_handler != SIG_DFL);
}

static void *allocate_briefly(void *unused)
{
    (void)unused;
    for (int i = 0; i < 1000; i++)
        mgc_alloc(16);
    sleep(5);
    return NULL;
}

DEATH_TEST(replaced_signal_handler_is_reported, "mgc's suspend signal) was replaced")
{
    pthread_t t;
    pthread_create(&t, NULL, allocate_briefly, NULL);
    usleep(100000);
    signal(SIGPWR, SIG_IGN);
    mgc_collect();
}

static volatile int spin_stop;

static void *hold_without_calling(void *arg)
{
    /* This thread never allocates: it registers so that its stack counts. */
    void **slot = arg;
    CHECK(mgc_register_thread() == 0);
    void *volatile mine = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    __atomic_store_n(slot, NULL, __ATOMIC_RELEASE);
    while (!__atomic_load_n(&spin_stop, __ATOMIC_RELAXED))
        usleep(1000);
    return check_pattern(mine, 500, 77) ? (void *)1 : NULL;
}

TEST(registered_thread_stack_is_a_root)
{
    void *volatile handoff = mgc_alloc(500);
    fill_pattern((void *)handoff, 500, 77);
    pthread_t t;
    pthread_create(&t, NULL, hold_without_calling, (void *)&handoff);
    while (__atomic_load_n(&handoff, __ATOMIC_ACQUIRE))
        usleep(1000);
    for (int i = 0; i < 10; i++) {
        make_garbage(4 << 20);
        mgc_collect();
    }
    __atomic_store_n(&spin_stop, 1, __ATOMIC_RELAXED);
    void *ok;
    pthread_join(t, &ok);
    CHECK(ok != NULL);
    CHECK_EQ(mgc_unregister_thread(), 0);
    CHECK_EQ(mgc_unregister_thread(), MGC_EINVAL);
    CHECK(mgc_alloc(10) != NULL); /* registers again on its own */
}

/* ---- What the background sweeper leaves behind ---------------------------------- */

struct tree_node {
    struct tree_node *left, *right;
};

#define TREE_DEPTH 19 /* 16 MiB of 16-byte nodes */

static NOINLINE struct tree_node *build_tree(int depth)
{
    struct tree_node *node = mgc_alloc(sizeof *node);
    if (depth > 0) {
        node->left = build_tree(depth - 1);
        node->right = build_tree(depth - 1);
    }
    return node;
}

static NOINLINE long count_nodes(const struct tree_node *node)
{
    return node->left ? 1 + count_nodes(node->left) + count_nodes(node->right) : 1;
}

/* Builds a tree top-down, so that a node keeps every node allocated after
 * it in its subtree, while collections run and the background sweeper
 * sweeps its spans, and drops it; returns its node count. */
static NOINLINE long build_and_drop_tree(void)
{
    struct mgc_stats stats;
    long nodes = count_nodes(build_tree(TREE_DEPTH));
    /* A call after the walk, so that no register still holds a node the
     * walk left there. */
    mgc_read_stats(&stats);
    return nodes;
}

/* After a round that dropped everything it made: less than 1 MiB is still
 * allocated (if not, says how much). */
static bool almost_nothing_allocated(int round)
{
    struct mgc_stats after;
    mgc_read_stats(&after);
    if (after.heap_alloc >= (1u << 20))
        fprintf(stderr, "round %d: %llu KiB still allocated\n", round, (unsigned long long)(after.heap_alloc >> 10));
    return after.heap_alloc < (1u << 20);
}

/* The background sweeper sweeps the spans of the tree while the tree is
 * live, so its registers and stack hold addresses of tree nodes when the
 * world stops. Those are not roots: a dropped tree goes at the next
 * collection, every time. (When they were, this test failed in about one
 * run out of five, a node found there keeping megabytes of its subtree,
 * and a binary-trees benchmark kept a dead 64 MB tree in half its runs.) */
TEST(background_sweeper_keeps_nothing_alive)
{
    for (int round = 0; round < 24; round++) {
        CHECK_EQ(build_and_drop_tree(), (2L << TREE_DEPTH) - 1);
        scrub_stack();
        mgc_collect();
        CHECK(almost_nothing_allocated(round));
    }
}

/* Wait (at most ten seconds) for the background sweeper to finish the
 * cycle's sweeping, this thread allocating nothing meanwhile. */
static void wait_until_swept(void)
{
    for (int waited = 0; sweep_remaining() != 0; waited++) {
        CHECK(waited < 10000);
        usleep(1000);
    }
}

/* The background sweeper zeroes the dead large objects it frees (up to
 * 1 MiB), outside the heap lock, and files their pages as clean, so that
 * reusing them skips zeroing. It must zero exactly the dead: the survivors,
 * interleaved with the dead, keep every byte, and a dead object's pages,
 * handed out again even with MGC_NOZERO, read as zero. Addresses of the
 * dead are kept hidden, so that the list does not keep them alive. */
#define DEAD_LARGE 64
static uintptr_t dead_large_hidden[DEAD_LARGE];
static size_t dead_large_size[DEAD_LARGE];

static size_t large_test_size(int i)
{
    return (size_t)(40 + 60 * (i % 16)) << 10; /* 40 KiB .. 940 KiB */
}

static NOINLINE void make_large_survivors_and_dead(void)
{
    for (int i = 0; i < 2 * DEAD_LARGE; i++) {
        size_t size = large_test_size(i / 2);
        unsigned char *p = mgc_alloc(size);
        CHECK(p != NULL);
        fill_pattern(p, size, (unsigned)i);
        if (i % 2 == 0) {
            live[i / 2] = p;
        } else {
            dead_large_hidden[i / 2] = (uintptr_t)p ^ HIDE;
            dead_large_size[i / 2] = size;
        }
    }
}

TEST(background_sweeper_zeroes_only_dead_large_objects)
{
    /* No collection while they are made, so that no dead one is freed
     * (by this thread, unzeroed) before the one that matters. */
    mgc_collect();
    mgc_set_gc_percent(-1);
    make_large_survivors_and_dead();
    scrub_stack();
    mgc_set_gc_percent(100);
    /* An automatic collection leaves the dead to the background sweeper;
     * this thread then allocates nothing large until it is done. */
    allocate_until_a_collection();
    wait_until_swept();
    for (int i = 0; i < DEAD_LARGE; i++)
        CHECK(check_pattern(live[i], large_test_size(i), (unsigned)(2 * i)));
    int reused = 0;
    for (int i = 0; i < DEAD_LARGE; i++) {
        unsigned char *p = mgc_alloc_flags(dead_large_size[i], MGC_NOSCAN | MGC_NOZERO);
        CHECK(p != NULL);
        for (int k = 0; k < DEAD_LARGE; k++)
            if ((uintptr_t)p == (dead_large_hidden[k] ^ HIDE)) {
                reused++;
                CHECK(all_zero(p, dead_large_size[k]));
            }
    }
    CHECK(reused > DEAD_LARGE / 2);
    for (int i = 0; i < DEAD_LARGE; i++)
        CHECK(check_pattern(live[i], large_test_size(i), (unsigned)(2 * i)));
}

/* A cache that sweeps a span of its class and finds it empty keeps it
 * rather than giving it to the page heap. Whole spans of 48-byte objects
 * are dropped between spans that stay full of live objects; right after an
 * automatic collection this thread allocates that class again, racing the
 * background sweeper for the unswept spans, so that some of the empty ones
 * are swept, and taken, by its cache. Every new object must read as zero
 * and every survivor keep its bytes. */
#define SPAN_TEST_OBJECTS 60000
#define SPAN_TEST_SIZE 48
static void *span_test_objects[SPAN_TEST_OBJECTS];

/* Fill span_test_objects with patterned objects, with no collection on the
 * way; returns how many fit in one span. */
static size_t make_span_test_objects(void)
{
    unsigned size_class = size_to_class(SPAN_TEST_SIZE);
    mgc_collect();
    mgc_set_gc_percent(-1);
    for (int i = 0; i < SPAN_TEST_OBJECTS; i++) {
        span_test_objects[i] = mgc_alloc(SPAN_TEST_SIZE);
        CHECK(span_test_objects[i] != NULL);
        fill_pattern(span_test_objects[i], SPAN_TEST_SIZE, (unsigned)i);
    }
    return ((size_t)class_to_pages[size_class] << PAGE_SHIFT) / class_to_size[size_class];
}

static void check_span_test_survivors(void)
{
    for (int i = 0; i < SPAN_TEST_OBJECTS; i++)
        if (span_test_objects[i])
            CHECK(check_pattern(span_test_objects[i], SPAN_TEST_SIZE, (unsigned)i));
}

TEST(empty_spans_a_cache_sweeps_come_back_zeroed)
{
    enum { SIZE = SPAN_TEST_SIZE };
    size_t per_span = make_span_test_objects();
    /* Drop every other span's worth; a fresh heap fills spans in order, so
     * most dropped runs are whole spans. */
    for (int i = 0; i < SPAN_TEST_OBJECTS; i++)
        if ((i / per_span) % 2 == 1)
            span_test_objects[i] = NULL;
    scrub_stack();
    mgc_set_gc_percent(100);
    allocate_until_a_collection();
    static unsigned char *fresh[SPAN_TEST_OBJECTS];
    for (int i = 0; i < SPAN_TEST_OBJECTS; i++) {
        fresh[i] = mgc_alloc(SIZE);
        CHECK(fresh[i] != NULL && all_zero(fresh[i], SIZE));
        memset(fresh[i], 0xee, SIZE);
    }
    check_span_test_survivors();
}

/* The background sweeper also zeroes the free slots of the small spans it
 * sweeps, so that the cache that takes one next need not, and an empty span
 * it leaves all zero goes back to the page heap as clean pages. Every third
 * 48-byte object is dropped, and every fourth span's worth whole; after an
 * automatic collection this thread allocates nothing of that class until
 * the sweeper is done. Then the spans still in use must have their dropped
 * slots zeroed and say so (a few may have been swept by this thread, which
 * leaves zeroing to whoever takes the span), every survivor must keep its
 * bytes, and every object allocated afterwards, of that class or of one
 * that reuses the freed pages, must read as zero. */
static uintptr_t sweeper_test_dropped[SPAN_TEST_OBJECTS];

TEST(background_sweeper_zeroes_freed_small_slots)
{
    enum { SIZE = SPAN_TEST_SIZE };
    unsigned span_class = make_span_class(size_to_class(SIZE), false, false);
    size_t per_span = make_span_test_objects();
    size_t ndropped = 0;
    for (int i = 0; i < SPAN_TEST_OBJECTS; i++)
        if (i % 3 == 0 || (i / per_span) % 4 == 3) {
            sweeper_test_dropped[ndropped++] = (uintptr_t)span_test_objects[i] ^ HIDE;
            span_test_objects[i] = NULL;
        }
    scrub_stack();
    mgc_set_gc_percent(100);
    allocate_until_a_collection();
    wait_until_swept();
    size_t in_use = 0, zeroed = 0;
    for (size_t k = 0; k < ndropped; k++) {
        uintptr_t slot = sweeper_test_dropped[k] ^ HIDE;
        struct span *s = span_of(slot);
        if (!s || s->span_class != span_class)
            continue; /* its span was empty and went back to the page heap */
        in_use++;
        CHECK(!span_slot_allocated(s, span_object_index(s, slot)));
        if (!s->needs_zero) {
            zeroed++;
            CHECK(all_zero((const void *)slot, SIZE));
        }
    }
    CHECK(in_use > ndropped / 3);
    CHECK(zeroed > in_use * 3 / 4);
    check_span_test_survivors();
    /* The same class refills the zeroed slots; a bigger class takes the
     * pages of the empty spans (filed clean) and whatever else is free. */
    static unsigned char *fresh[SPAN_TEST_OBJECTS];
    for (int i = 0; i < SPAN_TEST_OBJECTS; i++) {
        fresh[i] = mgc_alloc(i % 2 ? SIZE : 112);
        CHECK(fresh[i] != NULL && all_zero(fresh[i], i % 2 ? SIZE : 112));
        memset(fresh[i], 0xee, i % 2 ? SIZE : 112);
    }
    check_span_test_survivors();
}

/* Spans of 32 KiB hold up to 2048 objects, as many as their bitmaps do:
 * every slot of them, in every class, must be marked and swept as its own.
 * Two spans' worth of each class, scan and noscan (8-byte noscan requests
 * go to tiny blocks), are allocated and patterned; every third is kept,
 * the rest dropped. After two collections the same class is allocated
 * again, which takes the freed slots and fills them with 0xee: a kept
 * object whose mark or allocation bit went to the wrong slot loses its
 * pattern. */
#define EVERY_SLOT_MAX (2 * 2048)
static void *every_slot_objects[EVERY_SLOT_MAX];

TEST(every_slot_of_every_class_keeps_its_object)
{
    mgc_set_gc_percent(-1);
    for (unsigned size_class = 1; size_class < NUM_SIZE_CLASSES; size_class++)
        for (int noscan = 0; noscan < 2; noscan++) {
            size_t size = class_to_size[size_class];
            size_t per_span = ((size_t)class_to_pages[size_class] << PAGE_SHIFT) / size;
            size_t n = 2 * per_span;
            unsigned seed = size_class * 2 + (unsigned)noscan;
            CHECK(n <= EVERY_SLOT_MAX);
            for (size_t i = 0; i < n; i++) {
                every_slot_objects[i] = noscan ? mgc_alloc_noscan(size) : mgc_alloc(size);
                CHECK(every_slot_objects[i] != NULL);
                fill_pattern(every_slot_objects[i], size, seed);
            }
            struct mgc_stats before, after;
            mgc_read_stats(&before);
            for (size_t i = 0; i < n; i++)
                if (i % 3 != 0)
                    every_slot_objects[i] = NULL;
            scrub_stack();
            mgc_collect();
            mgc_collect();
            mgc_read_stats(&after);
            /* Tiny-packed objects count as freed when allocated; for the
             * rest, nearly every dropped object must be found dead (a stale
             * word may keep a few). */
            if (!(noscan && size < TINY_SIZE))
                CHECK(after.frees - before.frees >= (n - (n + 2) / 3) * 9 / 10);
            for (size_t i = 0; i < n; i++) {
                unsigned char *garbage = noscan ? mgc_alloc_noscan(size) : mgc_alloc(size);
                CHECK(garbage != NULL);
                memset(garbage, 0xee, size);
            }
            for (size_t i = 0; i < n; i += 3)
                CHECK(check_pattern(every_slot_objects[i], size, seed));
            memset(every_slot_objects, 0, sizeof every_slot_objects);
        }
}

/* An empty span whose slots still hold old bytes must go back to the page
 * heap as dirty pages. Every 48-byte object is dropped, each left holding
 * 0xab; an explicit collection sweeps them on this thread (which zeroes
 * nothing), racing the background sweeper (which zeroes what it takes).
 * Objects of another class, which take the freed pages, must read as zero
 * whoever swept them. */
TEST(empty_spans_with_old_bytes_go_back_dirty)
{
    /* How many spans each sweeper gets varies: four rounds. */
    for (int round = 0; round < 4; round++) {
        make_span_test_objects();
        for (int i = 0; i < SPAN_TEST_OBJECTS; i++) {
            memset(span_test_objects[i], 0xab, SPAN_TEST_SIZE);
            span_test_objects[i] = NULL;
        }
        scrub_stack();
        mgc_set_gc_percent(100);
        mgc_collect();
        for (int i = 0; i < SPAN_TEST_OBJECTS; i++) {
            unsigned char *fresh = mgc_alloc(112);
            CHECK(fresh != NULL && all_zero(fresh, 112));
            memset(fresh, 0xee, 112);
        }
    }
}

/* mgc_collect returns with the cycle's sweeping finished, spans the
 * background sweeper took included: right after it, the statistics count
 * every free. A thousand 200-byte objects fill about 25 spans, so that one
 * batch held by the sweeper (up to 16 spans, which it zeroes) is most of
 * them. Before sweep_finish waited for such batches, 1 to 3 rounds in
 * 3000 saw fewer than 90 % of the frees (5 failures in 6 runs). */
static NOINLINE void drop_a_thousand_objects(void)
{
    for (int i = 0; i < 1000; i++)
        memset(mgc_alloc(200), 0xab, 200);
}

TEST(explicit_collection_counts_every_free)
{
    int short_counts = 0;
    for (int round = 0; round < 3000; round++) {
        mgc_set_gc_percent(-1);
        drop_a_thousand_objects();
        scrub_stack();
        mgc_set_gc_percent(100);
        struct mgc_stats before, after;
        mgc_read_stats(&before);
        mgc_collect();
        mgc_read_stats(&after);
        short_counts += after.frees - before.frees < 900;
    }
    CHECK_EQ(short_counts, 0);
}

/* Marking leaves no stale pointers behind in the collecting thread's
 * registers. This thread collects while its tree is live (with two marking
 * threads, so work items are shared out), drops the tree, and then spins
 * outside mgc while another thread collects: stopped by the signal, this
 * thread has every register saved on its stack and scanned. The tree must
 * go all the same, every round. (While glibc's memmove shared the work
 * items out, they stayed in its vector registers, and the tree survived
 * the first round in 4 runs out of 4.) */
static volatile int spin_until_collected;

static void *collect_while_the_other_spins(void *unused)
{
    (void)unused;
    mgc_collect();
    __atomic_store_n(&spin_until_collected, 0, __ATOMIC_RELEASE);
    return NULL;
}

static NOINLINE void collect_with_tree_then_drop_it(void)
{
    struct tree_node *volatile tree = build_tree(TREE_DEPTH);
    mgc_collect();
    CHECK_EQ(count_nodes(tree), (2L << TREE_DEPTH) - 1);
    tree = NULL;
}

ENV_TEST(collector_registers_keep_nothing_alive, "MGC_DEBUG=gcprocs=2")
{
    for (int round = 0; round < 8; round++) {
        collect_with_tree_then_drop_it();
        scrub_stack();
        pthread_t other;
        spin_until_collected = 1;
        CHECK(pthread_create(&other, NULL, collect_while_the_other_spins, NULL) == 0);
        while (__atomic_load_n(&spin_until_collected, __ATOMIC_ACQUIRE)) {
        }
        CHECK(pthread_join(other, NULL) == 0);
        CHECK(almost_nothing_allocated(round));
    }
}

/* A marker keeps what it pushes in two blocks of its own and publishes to
 * the shared pool only when both are full (mark.c, make_room): no item may
 * be lost on the way, on one marking thread or two. A heap array of 300,000
 * pointers to 16-byte scan objects, each holding a patterned 24-byte noscan
 * leaf: every 2 KiB chunk of the array pushes 256 objects, so blocks fill,
 * swap with the spare and go to the pool all through marking. After each
 * collection, garbage of the leaves' class takes whatever slots were freed,
 * so a leaf whose holder went unscanned loses its pattern. */
struct holder {
    struct holder *unused;
    unsigned char *leaf;
};

static void mark_many_small_objects(int count)
{
    enum { LEAF = 24 };
    struct holder **holders = mgc_alloc((size_t)count * sizeof *holders);
    CHECK(holders != NULL);
    live[0] = holders;
    for (int i = 0; i < count; i++) {
        holders[i] = mgc_alloc(sizeof *holders[i]);
        CHECK(holders[i] != NULL);
        holders[i]->leaf = mgc_alloc_noscan(LEAF);
        CHECK(holders[i]->leaf != NULL);
        fill_pattern(holders[i]->leaf, LEAF, (unsigned)i);
    }
    for (int round = 0; round < 5; round++) {
        mgc_collect();
        for (int k = 0; k < count / 4; k++) {
            unsigned char *garbage = mgc_alloc_noscan(LEAF);
            CHECK(garbage != NULL);
            memset(garbage, 0xee, LEAF);
        }
        int broken = 0;
        for (int i = 0; i < count; i++)
            broken += !check_pattern(holders[i]->leaf, LEAF, (unsigned)i);
        CHECK_EQ(broken, 0);
    }
    live[0] = NULL;
}

ENV_TEST(one_marker_loses_no_pushed_work, "MGC_DEBUG=gcprocs=1") { mark_many_small_objects(300000); }
ENV_TEST(two_markers_lose_no_pushed_work, "MGC_DEBUG=gcprocs=2") { mark_many_small_objects(300000); }

/* With no memory for work blocks at all, from the first collection on, the
 * collections must still mark everything: the collector marks with a block
 * kept in reserve and, once that is full, scans in place. (It used to mark
 * nothing, and every object was freed.) Helpers get no block and sit out. */
ENV_TEST(collection_without_memory_for_work_blocks_marks_everything, "MGC_DEBUG=gcprocs=2")
{
    mgc_init();
    mark_refuse_new_blocks_for_testing(true);
    struct tree_node *volatile tree = build_tree(TREE_DEPTH);
    mark_many_small_objects(20000);
    CHECK_EQ(count_nodes(tree), (2L << TREE_DEPTH) - 1);
    mark_refuse_new_blocks_for_testing(false);
}

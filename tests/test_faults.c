/*
 * test_faults.c: out of memory at every request mgc makes to the OS, as
 * SQLite's test suite does for every allocation point.
 *
 * A realistic run (small, tiny, large, huge and uncollectable objects,
 * calloc, realloc, strdup, finalizers, registered roots, threads, several
 * collections) is first run clean, counting its requests for memory
 * (os.c, the one place mgc asks the OS for any). Then, for every N up to
 * that count, a fresh child process runs it again with requests failing:
 * from the N-th on, or the N-th alone. Every call must then fail only as
 * documented (NULL with errno ENOMEM, MGC_ENOMEM), never crash, abort or
 * hang; and once the fault is lifted, the heap must verify clean
 * (verify.c), every object allocated before must hold its bytes, and the
 * program must go on allocating and collecting normally.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "mgc_internal.h"

enum { MAX_KEPT = 256, PATTERN_MAX = 4096 };
static void *kept[MAX_KEPT];
static size_t kept_size[MAX_KEPT];
static int nkept;
static int failed_calls;

/* A result of a call that may fail for lack of memory: NULL with ENOMEM. */
static void *may_fail(void *p, int line)
{
    if (!p) {
        if (errno != ENOMEM) {
            fprintf(stderr, "line %d: NULL with errno %d, not ENOMEM\n", line, errno);
            exit(1);
        }
        failed_calls++;
    }
    errno = 0;
    return p;
}
#define MAY_FAIL(call) may_fail((call), __LINE__)

static size_t pattern_length(size_t size)
{
    return size < PATTERN_MAX ? size : PATTERN_MAX;
}

static void keep(void *p, size_t size)
{
    if (!p || nkept == MAX_KEPT)
        return;
    CHECK(all_zero(p, pattern_length(size)));
    fill_pattern(p, pattern_length(size), (unsigned)nkept);
    kept[nkept] = p;
    kept_size[nkept] = size;
    nkept++;
}

static void **root_block; /* malloc'd, registered with mgc_add_roots */
static bool root_added;

static void check_kept(void)
{
    /* mgc_add_roots may fail (it says so on stderr); once it succeeded,
     * what the range points to stays. */
    for (int i = 0; root_added && i < 64; i++)
        if (root_block[i] && !check_pattern(root_block[i], 200, 1000u + (unsigned)i)) {
            fprintf(stderr, "object %p held only by a registered root lost its contents\n", root_block[i]);
            exit(1);
        }
    for (int i = 0; i < nkept; i++)
        if (!check_pattern(kept[i], pattern_length(kept_size[i]), (unsigned)i)) {
            fprintf(stderr, "object %d (%p, %zu bytes) lost its contents\n", i, kept[i], kept_size[i]);
            exit(1);
        }
}

static int finalized;
static void count_finalized(void *obj, void *arg)
{
    (void)obj;
    (void)arg;
    __atomic_add_fetch(&finalized, 1, __ATOMIC_RELAXED);
}

static void *thread_work(void *arg)
{
    (void)arg;
    int r = mgc_register_thread();
    if (r != 0 && r != MGC_ENOMEM) {
        fprintf(stderr, "mgc_register_thread: %d\n", r);
        exit(1);
    }
    errno = 0;
    for (int i = 0; i < 500; i++) {
        unsigned char *p = MAY_FAIL(mgc_alloc((size_t)(i % 700) + 1));
        if (p) {
            memset(p, 0x5a, (size_t)(i % 700) + 1);
            if (i % 2)
                mgc_free(p);
        }
    }
    return NULL;
}

static size_t registered_ranges(void)
{
    const struct root_range *ranges;
    pthread_mutex_lock(&roots_lock);
    size_t n = roots_registered(&ranges);
    pthread_mutex_unlock(&roots_lock);
    return n;
}

static void realistic_run(void)
{
    errno = 0;
    mgc_set_finalizer_mode(MGC_FINALIZE_MANUAL);
    for (int i = 0; i < 30; i++)
        keep(MAY_FAIL(mgc_alloc((size_t)(24 + i * 40))), (size_t)(24 + i * 40));
    for (int i = 0; i < 30; i++)
        keep(MAY_FAIL(mgc_alloc_noscan((size_t)(i % 15 + 1))), (size_t)(i % 15 + 1));
    keep(MAY_FAIL(mgc_alloc(100000)), 100000);
    keep(MAY_FAIL(mgc_alloc_noscan(300000)), 300000);
    keep(MAY_FAIL(mgc_alloc_noscan((size_t)70 << 20)), (size_t)70 << 20); /* a huge reservation */
    keep(MAY_FAIL(mgc_alloc_flags(100, MGC_UNCOLLECTABLE)), 100);
    keep(MAY_FAIL(mgc_alloc_flags(50000, MGC_UNCOLLECTABLE | MGC_NOSCAN)), 50000);
    keep(MAY_FAIL(mgc_calloc(10, 30)), 300);
    char *s = MAY_FAIL(mgc_strdup("a string"));
    CHECK(!s || strcmp(s, "a string") == 0);

    /* realloc: on failure the old object stays, intact. */
    char *grown = MAY_FAIL(mgc_alloc(40));
    if (grown) {
        memset(grown, 'r', 40);
        char *bigger = MAY_FAIL(mgc_realloc(grown, 90000));
        char *now = bigger ? bigger : grown;
        for (int i = 0; i < 40; i++)
            CHECK(now[i] == 'r');
        keep(MAY_FAIL(mgc_realloc(NULL, 5000)), 5000);
    }

    for (int i = 0; i < nkept; i += 4) {
        if (kept_size[i] < 16 || kept_size[i] > 60000)
            continue;
        int r = mgc_set_finalizer(kept[i], count_finalized, NULL);
        CHECK(r == 0 || r == MGC_ENOMEM);
    }
    /* Objects only the finalizers keep: their finalizers run. */
    for (int i = 0; i < 20; i++) {
        void *doomed = MAY_FAIL(mgc_alloc(64));
        if (doomed) {
            int r = mgc_set_finalizer(doomed, count_finalized, NULL);
            CHECK(r == 0 || r == MGC_ENOMEM);
        }
    }

    /* Roots in malloc'd memory, then a hole cut in their middle (the range
     * splits in two): what the rest points to must stay. */
    root_block = calloc(64, sizeof(void *));
    CHECK(root_block != NULL);
    size_t ranges_before = registered_ranges();
    mgc_add_roots(root_block, 64 * sizeof(void *));
    root_added = registered_ranges() > ranges_before;
    for (int i = 0; i < 64; i++) {
        root_block[i] = MAY_FAIL(mgc_alloc(200));
        if (root_block[i])
            fill_pattern(root_block[i], 200, 1000u + (unsigned)i);
    }
    mgc_remove_roots(&root_block[16], sizeof(void *));
    root_block[16] = NULL;

    pthread_t threads[2];
    bool started[2];
    for (int i = 0; i < 2; i++)
        started[i] = pthread_create(&threads[i], NULL, thread_work, NULL) == 0;

    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 1000; i++)
            (void)MAY_FAIL(mgc_alloc((size_t)(i % 2000) + 1));
        (void)MAY_FAIL(mgc_alloc(200000));
        mgc_collect();
    }
    for (int i = 0; i < 2; i++)
        if (started[i])
            pthread_join(threads[i], NULL);
    mgc_collect();
    mgc_run_finalizers();
    check_kept();
}

/* After the fault: a clean heap, every object intact, and business as usual. */
static void after_the_fault(void)
{
    os_fail_after(-1);
    gc_verify_heap_now();
    check_kept();
    void *p = mgc_alloc(100);
    void *q = mgc_alloc_noscan(7);
    void *l = mgc_alloc(200000);
    void *u = mgc_alloc_flags(64, MGC_UNCOLLECTABLE);
    CHECK(p && q && l && u);
    CHECK(mgc_set_finalizer(p, count_finalized, NULL) == 0);
    CHECK(mgc_register_thread() == 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, thread_work, NULL) == 0);
    pthread_join(t, NULL);
    for (int i = 0; i < 5000; i++)
        CHECK(mgc_alloc((size_t)(i % 3000) + 1) != NULL);
    mgc_collect();
    gc_verify_heap_now();
    check_kept();
    mgc_free(u);
}

static void count_requests(void *unused)
{
    (void)unused;
    realistic_run();
    fprintf(stderr, "requests=%ld\n", os_request_count());
    if (failed_calls)
        fprintf(stderr, "a clean run failed %d calls\n", failed_calls);
    after_the_fault();
}

struct walk_step {
    long n;
    bool once;
};

static void run_with_fault(void *arg)
{
    const struct walk_step *step = arg;
    alarm(60); /* a hang fails the step */
    mgc_init();
    if (step->once)
        os_fail_once(step->n);
    else
        os_fail_after(step->n);
    realistic_run();
    after_the_fault();
}

static long clean_run_requests(void)
{
    char text[4096];
    int status = run_in_child(count_requests, NULL, text, sizeof text);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fprintf(stderr, "clean run: %s\n", text);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    const char *line = strstr(text, "requests=");
    CHECK(line != NULL);
    CHECK(strstr(text, "a clean run failed") == NULL);
    return strtol(line + 9, NULL, 10);
}

static void walk(bool once)
{
    /* Threads make the count vary from run to run: take the most of a few
     * clean runs, and walk past it, into steps that fail nothing the run
     * asks for (the walk's control). */
    long requests = 0;
    for (int i = 0; i < 3; i++) {
        long n = clean_run_requests();
        if (n > requests)
            requests = n;
    }
    CHECK(requests > 5);
    int bad = 0;
    long steps = requests + requests / 4 + 10;
    for (long n = 0; n < steps; n++) {
        static char text[1 << 14];
        struct walk_step step = {n, once};
        int status = run_in_child(run_with_fault, &step, text, sizeof text);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "%s request %ld: %s%s\n", once ? "only" : "from", n,
                    WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "exit status",
                    text[0] ? "" : " (no output)");
            fprintf(stderr, "%.1500s\n", text);
            bad++;
        }
    }
    printf("     fault walk (%s): %ld requests in a clean run, %ld steps walked, %d failed\n",
           once ? "one request fails" : "every request from the n-th fails", requests, steps, bad);
    CHECK(bad == 0);
}

TEST(every_request_from_the_nth_on_fails)
{
    walk(false);
}

TEST(only_the_nth_request_fails)
{
    walk(true);
}

/* Cutting a hole in a registered range splits it in two, which takes one
 * more entry in the ranges array: when that array is full and no memory is
 * left to grow it, the range must stay whole (a root too many loses
 * nothing), not lose its tail. Before the fix, the tail went quietly and
 * the object it alone held was collected. */
/* An object whose only reference goes to *where; returns its address hidden. */
static NOINLINE uintptr_t store_object_in(void **where)
{
    char *object = mgc_alloc(100);
    CHECK(object != NULL);
    fill_pattern(object, 100, 77);
    *where = object;
    return (uintptr_t)object ^ HIDE;
}

TEST(remove_roots_out_of_memory_keeps_the_range)
{
    enum { RANGES = 64 }; /* the array's first capacity */
    void **blocks[RANGES];
    for (int i = 0; i < RANGES; i++) {
        blocks[i] = calloc(4, sizeof(void *));
        CHECK(blocks[i] != NULL);
        mgc_add_roots(blocks[i], 4 * sizeof(void *));
    }
    CHECK(registered_ranges() == RANGES);
    uintptr_t hidden = store_object_in(&blocks[0][3]);
    long requests = os_request_count();
    os_fail_after(0);
    mgc_remove_roots(&blocks[0][1], sizeof(void *));
    os_fail_after(-1);
    CHECK(os_request_count() == requests + 1); /* the split asked, and was refused */
    scrub_stack();
    mgc_collect();
    char *p = (char *)(hidden ^ HIDE);
    CHECK(mgc_base(p) == p);
    CHECK(check_pattern(p, 100, 77));
}

/* The verifier also runs inside every collection of every step, while
 * requests are failing, not only once the fault is lifted. */
ENV_TEST(every_request_from_the_nth_on_fails_verifying_each_collection, "MGC_DEBUG=verify=1")
{
    walk(false);
}

/* The hook itself: os_fail_once fails exactly one request. */
TEST(fail_once_fails_one_request_only)
{
    mgc_init();
    os_fail_once(0);
    CHECK(persistent_alloc(64, 8, SYS_OTHER) == NULL && errno == ENOMEM);
    CHECK(persistent_alloc(64, 8, SYS_OTHER) != NULL);
    os_fail_once(2);
    CHECK(persistent_alloc(64, 8, SYS_OTHER) != NULL);
    CHECK(persistent_alloc(64, 8, SYS_OTHER) != NULL);
    CHECK(persistent_alloc(64, 8, SYS_OTHER) == NULL);
    CHECK(persistent_alloc(64, 8, SYS_OTHER) != NULL);
    os_fail_after(1);
    CHECK(persistent_alloc(64, 8, SYS_OTHER) != NULL);
    CHECK(persistent_alloc(64, 8, SYS_OTHER) == NULL);
    CHECK(persistent_alloc(64, 8, SYS_OTHER) == NULL);
    os_fail_after(-1);
    CHECK(persistent_alloc(64, 8, SYS_OTHER) != NULL);
}

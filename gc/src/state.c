/*
 * state.c: Boehm GC's settings (the exported variables and their
 * getters/setters), start-up, Boehm's environment variables, and how the
 * settings map onto mgc's pacing.
 *
 * Collection on/off: mgc has one switch, the gc percent (-1 = automatic
 * collection off). Collection is off while GC_dont_gc is set or GC_disable
 * calls outnumber GC_enable calls (GC_gcollect then does nothing too, as in
 * Boehm), or while GC_set_disable_automatic_collection(1) holds. The percent
 * to restore afterwards is remembered. GC_free_space_divisor N means gc
 * percent 200/N (Boehm collects after allocating about 2/N of the live
 * heap); left at Boehm's default 3 it does not touch mgc's own pacing.
 */
#include "layer.h"
#include "../../src/hooks.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Boehm's exported variables ---- */
GC_word GC_gc_no;
int GC_parallel;
int GC_find_leak;
int GC_all_interior_pointers = 1;
int GC_finalize_on_demand;
int GC_java_finalization = 1;
GC_finalizer_notifier_proc GC_finalizer_notifier;
int GC_dont_gc;
int GC_dont_expand;
int GC_use_entire_heap;
int GC_full_freq = 19;
GC_word GC_non_gc_bytes;
int GC_no_dls;
GC_word GC_free_space_divisor = 3;
GC_word GC_max_retries;
char *GC_stackbottom;
int GC_dont_precollect;
unsigned long GC_time_limit = GC_TIME_UNLIMITED;
GC_on_heap_resize_proc GC_on_heap_resize;

bool layer_ready;
int layer_disable_count;
int layer_automatic_off;
GC_word layer_applied_divisor = 3;
int layer_applied_dont_gc;

static pthread_mutex_t settings_lock = PTHREAD_MUTEX_INITIALIZER;
static bool collection_off;  /* what mgc was last told */
static int percent_when_on;  /* mgc's percent to restore */
static bool percent_saved;
static unsigned long time_limit_nsec;
static GC_word allocd_bytes_per_finalizer = 10000;
static size_t min_bytes_allocd = 1;
static int rate = 10, max_prior_attempts = 1, pages_executable, manual_vdb_allowed = 1;
static int markers_wanted;

/* ---- pacing ---- */

bool layer_collection_disabled(void)
{
    return __atomic_load_n(&GC_dont_gc, __ATOMIC_RELAXED) ||
           __atomic_load_n(&layer_disable_count, __ATOMIC_RELAXED) > 0;
}

void layer_sync_settings(void)
{
    pthread_mutex_lock(&settings_lock);
    int dont_gc = __atomic_load_n(&GC_dont_gc, __ATOMIC_RELAXED);
    GC_word divisor = __atomic_load_n(&GC_free_space_divisor, __ATOMIC_RELAXED);
    bool want_off = dont_gc || layer_disable_count > 0 || layer_automatic_off;
    if (divisor != layer_applied_divisor && divisor > 0) {
        int percent = (int)(200 / divisor);
        if (percent < 1)
            percent = 1;
        if (collection_off)
            percent_when_on = percent, percent_saved = true;
        else
            mgc_set_gc_percent(percent);
    }
    __atomic_store_n(&layer_applied_divisor, divisor, __ATOMIC_RELAXED);
    if (want_off && !collection_off) {
        int previous = mgc_set_gc_percent(-1);
        if (!percent_saved)
            percent_when_on = previous, percent_saved = true;
        collection_off = true;
    } else if (!want_off && collection_off) {
        mgc_set_gc_percent(percent_saved ? percent_when_on : 100);
        percent_saved = false;
        collection_off = false;
    }
    __atomic_store_n(&layer_applied_dont_gc, dont_gc, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&settings_lock);
}

void GC_CALL GC_disable(void)
{
    __atomic_add_fetch(&layer_disable_count, 1, __ATOMIC_RELAXED);
    layer_sync_settings();
}

void GC_CALL GC_enable(void)
{
    if (__atomic_sub_fetch(&layer_disable_count, 1, __ATOMIC_RELAXED) < 0) {
        __atomic_store_n(&layer_disable_count, 0, __ATOMIC_RELAXED);
        layer_warn("GC_enable called more often than GC_disable (%lu extra); ignored\n", 1);
    }
    layer_sync_settings();
}

int GC_CALL GC_is_disabled(void)
{
    return layer_collection_disabled();
}

void GC_CALL GC_set_disable_automatic_collection(int value)
{
    __atomic_store_n(&layer_automatic_off, value != 0, __ATOMIC_RELAXED);
    layer_sync_settings();
}

int GC_CALL GC_get_disable_automatic_collection(void)
{
    return __atomic_load_n(&layer_automatic_off, __ATOMIC_RELAXED);
}

void GC_CALL GC_set_free_space_divisor(GC_word value)
{
    if (value == 0)
        return;
    __atomic_store_n(&GC_free_space_divisor, value, __ATOMIC_RELAXED);
    if (__atomic_load_n(&layer_ready, __ATOMIC_ACQUIRE))
        layer_sync_settings();
}

GC_word GC_CALL GC_get_free_space_divisor(void)
{
    return GC_free_space_divisor;
}

void GC_CALL GC_set_max_heap_size(GC_word bytes)
{
    if (!__atomic_load_n(&layer_ready, __ATOMIC_ACQUIRE))
        layer_init();
    mgc_set_memory_limit(bytes == 0 ? SIZE_MAX : (size_t)bytes);
}

int GC_CALL GC_expand_hp(size_t bytes)
{
    (void)bytes;
    if (!__atomic_load_n(&layer_ready, __ATOMIC_ACQUIRE))
        layer_init();
    return 1;
}

/* ---- start-up ---- */

/* A size as Boehm's variables give it: a number with an optional k/K, m/M
 * or g/G suffix. 0 when malformed. */
static size_t parse_size(const char *text)
{
    char *end;
    unsigned long long n = strtoull(text, &end, 10);
    if (end == text)
        return 0;
    switch (*end) {
    case 'k': case 'K': n <<= 10; end++; break;
    case 'm': case 'M': n <<= 20; end++; break;
    case 'g': case 'G': n <<= 30; end++; break;
    default: break;
    }
    return *end ? 0 : (size_t)n;
}

static void read_environment(void)
{
    char settings[64] = "";
    const char *text;
    if (getenv("GC_PRINT_STATS") || getenv("GC_PRINT_VERBOSE_STATS"))
        strcat(settings, "gctrace=1,");
    text = getenv("GC_MARKERS");
    if (!text)
        text = getenv("GC_NPROCS");
    int markers = markers_wanted;
    if (text) {
        long n = strtol(text, NULL, 10);
        if (n >= 1 && n <= 64)
            markers = (int)n;
        else
            layer_warn("GC_MARKERS: bad value ignored (%lu)\n", (GC_word)n);
    }
    if (markers > 0)
        snprintf(settings + strlen(settings), sizeof settings - strlen(settings), "gcprocs=%d,", markers);
    if (settings[0])
        mgc_hook_debug_settings(settings);
    if (getenv("GC_DONT_GC"))
        GC_dont_gc = 1;
    if ((text = getenv("GC_FREE_SPACE_DIVISOR")) != NULL) {
        long n = strtol(text, NULL, 10);
        if (n > 0)
            GC_free_space_divisor = (GC_word)n;
    }
    if ((text = getenv("GC_MAXIMUM_HEAP_SIZE")) != NULL) {
        size_t n = parse_size(text);
        if (n)
            mgc_set_memory_limit(n);
    }
    if (getenv("GC_FIND_LEAK"))
        GC_set_find_leak(1);
    if ((text = getenv("GC_LOG_FILE")) != NULL) {
        FILE *f = fopen(text, "a");
        if (f)
            layer_log_fd = fileno(f);
    }
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void initialize(void)
{
    read_environment();
    mgc_init();
    layer_finalize_init();
    layer_collect_init();
    struct GC_stack_base base;
    if (GC_get_stack_base(&base) == GC_SUCCESS)
        GC_stackbottom = base.mem_base;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    GC_parallel = (markers_wanted ? markers_wanted : cores) > 1;
    __atomic_store_n(&layer_ready, true, __ATOMIC_RELEASE);
    layer_sync_settings();
}

void layer_init(void)
{
    pthread_once(&init_once, initialize);
}

/* Boehm's GC_init registers the calling thread, as mgc does at a thread's
 * first allocation. */
void GC_CALL GC_init(void)
{
    if (!__atomic_load_n(&layer_ready, __ATOMIC_ACQUIRE))
        layer_init();
    mgc_register_thread();
}

int GC_CALL GC_is_init_called(void)
{
    return __atomic_load_n(&layer_ready, __ATOMIC_ACQUIRE);
}

void GC_CALL GC_deinit(void) {}

#ifdef GC_THREADS
void GC_CALL GC_set_markers_count(unsigned n)
{
    if (n == 0 || n > 64)
        return;
    markers_wanted = (int)n;
    char text[32];
    snprintf(text, sizeof text, "gcprocs=%u", n);
    mgc_hook_debug_settings(text);
}

int GC_CALL GC_get_parallel(void)
{
    return GC_parallel;
}
#endif

unsigned GC_CALL GC_get_version(void)
{
    return (GC_VERSION_MAJOR << 16) | (GC_VERSION_MINOR << 8) | GC_VERSION_MICRO;
}

/* ---- plain getters and setters ---- */

#define KEPT_SETTING(type, name, variable)            \
    void GC_CALL GC_set_##name(type value)            \
    {                                                 \
        __atomic_store_n(&(variable), value, __ATOMIC_RELAXED); \
    }                                                 \
    type GC_CALL GC_get_##name(void)                  \
    {                                                 \
        return __atomic_load_n(&(variable), __ATOMIC_RELAXED); \
    }

KEPT_SETTING(int, all_interior_pointers, GC_all_interior_pointers)
KEPT_SETTING(int, finalize_on_demand, GC_finalize_on_demand)
KEPT_SETTING(int, java_finalization, GC_java_finalization)
KEPT_SETTING(int, dont_expand, GC_dont_expand)
KEPT_SETTING(int, full_freq, GC_full_freq)
KEPT_SETTING(GC_word, non_gc_bytes, GC_non_gc_bytes)
KEPT_SETTING(int, no_dls, GC_no_dls)
KEPT_SETTING(GC_word, max_retries, GC_max_retries)
KEPT_SETTING(int, dont_precollect, GC_dont_precollect)
KEPT_SETTING(unsigned long, time_limit, GC_time_limit)
KEPT_SETTING(GC_word, allocd_bytes_per_finalizer, allocd_bytes_per_finalizer)
KEPT_SETTING(size_t, min_bytes_allocd, min_bytes_allocd)
KEPT_SETTING(int, rate, rate)
KEPT_SETTING(int, max_prior_attempts, max_prior_attempts)
KEPT_SETTING(int, pages_executable, pages_executable)
KEPT_SETTING(int, manual_vdb_allowed, manual_vdb_allowed)

void GC_CALL GC_set_find_leak(int value)
{
    static int warned;
    if (value && !__atomic_exchange_n(&warned, 1, __ATOMIC_RELAXED))
        layer_warn("leak detection (GC_find_leak) is not supported by mgc; objects are collected as usual\n", 0);
    __atomic_store_n(&GC_find_leak, value, __ATOMIC_RELAXED);
}

int GC_CALL GC_get_find_leak(void)
{
    return __atomic_load_n(&GC_find_leak, __ATOMIC_RELAXED);
}

void GC_CALL GC_set_time_limit_tv(struct GC_timeval_s tv)
{
    GC_time_limit = tv.tv_ms;
    time_limit_nsec = tv.tv_nsec;
}

struct GC_timeval_s GC_CALL GC_get_time_limit_tv(void)
{
    struct GC_timeval_s tv = {GC_time_limit, time_limit_nsec};
    return tv;
}

void GC_CALL GC_set_handle_fork(int value)
{
    (void)value;
}
void GC_CALL GC_atfork_prepare(void) {}
void GC_CALL GC_atfork_parent(void) {}
void GC_CALL GC_atfork_child(void) {}

void GC_CALL GC_enable_incremental(void) {}
int GC_CALL GC_is_incremental_mode(void)
{
    return 0;
}
int GC_CALL GC_incremental_protection_needs(void)
{
    return GC_PROTECTS_NONE;
}

static int force_unmap;
KEPT_SETTING(int, force_unmap_on_gcollect, force_unmap)

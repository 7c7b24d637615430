/*
 * threads.c: Boehm's thread and root calls.
 *
 * mgc registers a thread by itself at its first call into the collector and
 * unregisters it at exit; GC_pthread_create registers the new thread before
 * the program's start routine runs, and carries the start argument in an
 * uncollectable object so that a collection in between cannot lose what it
 * points to. Collections stop threads by signal wherever they are, so
 * GC_do_blocking and GC_call_with_gc_active need no state change.
 * Roots added with GC_add_roots are remembered so that GC_clear_roots can
 * remove them all.
 */
#include "layer.h"
#include "../../src/hooks.h"
#include "javaxfc.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

/* ---- thread creation ---- */

struct start_record {
    void *(*start)(void *);
    void *arg;
};

static void *run_registered(void *record_pointer)
{
    struct start_record *record = record_pointer;
    mgc_register_thread();
    void *(*start)(void *) = record->start;
    void *arg = record->arg;
    mgc_free(record);
    return start(arg);
}

int GC_pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*start)(void *),
                      void *arg)
{
    if (!__atomic_load_n(&layer_ready, __ATOMIC_ACQUIRE))
        layer_init();
    struct start_record *record = mgc_alloc_flags(sizeof *record, MGC_UNCOLLECTABLE);
    if (!record)
        return EAGAIN;
    record->start = start;
    record->arg = arg;
    int result = pthread_create(thread, attr, run_registered, record);
    if (result != 0)
        mgc_free(record);
    return result;
}

int GC_pthread_join(pthread_t thread, void **result)
{
    return pthread_join(thread, result);
}

int GC_pthread_detach(pthread_t thread)
{
    return pthread_detach(thread);
}

int GC_pthread_cancel(pthread_t thread)
{
    return pthread_cancel(thread);
}

void GC_pthread_exit(void *result)
{
    pthread_exit(result);
}

int GC_pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
    if (set && (how == SIG_BLOCK || how == SIG_SETMASK)) {
        sigset_t allowed = *set;
        sigdelset(&allowed, mgc_hook_suspend_signal());
        return pthread_sigmask(how, &allowed, old);
    }
    return pthread_sigmask(how, set, old);
}

void *GC_dlopen(const char *path, int mode)
{
    return dlopen(path, mode);
}

/* ---- registration ---- */

void GC_CALL GC_allow_register_threads(void)
{
    GC_init();
}

int GC_CALL GC_register_my_thread(const struct GC_stack_base *base)
{
    (void)base;
    if (mgc_hook_thread_is_registered())
        return GC_DUPLICATE;
    if (!__atomic_load_n(&layer_ready, __ATOMIC_ACQUIRE))
        layer_init();
    if (mgc_hook_thread_is_registered())
        return GC_DUPLICATE; /* initialisation registered it */
    return mgc_register_thread() == 0 ? GC_SUCCESS : GC_NO_MEMORY;
}

int GC_CALL GC_unregister_my_thread(void)
{
    mgc_unregister_thread();
    return GC_SUCCESS;
}

int GC_CALL GC_thread_is_registered(void)
{
    return mgc_hook_thread_is_registered();
}

void GC_CALL GC_register_altstack(void *stack, GC_word stack_size, void *altstack,
                                  GC_word altstack_size)
{
    (void)stack, (void)stack_size, (void)altstack, (void)altstack_size;
}

void GC_CALL GC_set_suspend_signal(int signal)
{
    (void)signal;
}

void GC_CALL GC_set_thr_restart_signal(int signal)
{
    (void)signal;
}

int GC_CALL GC_get_suspend_signal(void)
{
    GC_init(); /* MGC_SUSPEND_SIGNAL is read at start-up */
    return mgc_hook_suspend_signal();
}

int GC_CALL GC_get_thr_restart_signal(void)
{
    return -1;
}

void GC_CALL GC_start_mark_threads(void) {}
void GC_CALL GC_stop_world_external(void) {}
void GC_CALL GC_start_world_external(void) {}

void GC_CALL GC_suspend_thread(GC_SUSPEND_THREAD_ID thread)
{
    (void)thread;
}

void GC_CALL GC_resume_thread(GC_SUSPEND_THREAD_ID thread)
{
    (void)thread;
}

int GC_CALL GC_is_thread_suspended(GC_SUSPEND_THREAD_ID thread)
{
    (void)thread;
    return 0;
}

/* ---- stacks ---- */

int GC_CALL GC_get_stack_base(struct GC_stack_base *base)
{
    pthread_attr_t attr;
    void *low;
    size_t size;
    if (pthread_getattr_np(pthread_self(), &attr) != 0)
        return GC_UNIMPLEMENTED;
    int result = pthread_attr_getstack(&attr, &low, &size);
    pthread_attr_destroy(&attr);
    if (result != 0)
        return GC_UNIMPLEMENTED;
    base->mem_base = (char *)low + size;
    return GC_SUCCESS;
}

void *GC_CALL GC_get_my_stackbottom(struct GC_stack_base *base)
{
    if (GC_get_stack_base(base) != GC_SUCCESS)
        base->mem_base = NULL;
    return (void *)pthread_self();
}

void GC_CALL GC_set_stackbottom(void *thread, const struct GC_stack_base *base)
{
    (void)thread, (void)base;
}

void *GC_CALL GC_call_with_stack_base(GC_stack_base_func fn, void *arg)
{
    struct GC_stack_base base;
    if (GC_get_stack_base(&base) != GC_SUCCESS)
        base.mem_base = __builtin_frame_address(0);
    return fn(&base, arg);
}

void *GC_CALL GC_do_blocking(GC_fn_type fn, void *data)
{
    return fn(data);
}

void *GC_CALL GC_call_with_gc_active(GC_fn_type fn, void *data)
{
    return fn(data);
}

/* ---- the allocation lock ---- */

static pthread_mutex_t alloc_lock = PTHREAD_MUTEX_INITIALIZER;

void GC_CALL GC_alloc_lock(void)
{
    pthread_mutex_lock(&alloc_lock);
}

void GC_CALL GC_alloc_unlock(void)
{
    pthread_mutex_unlock(&alloc_lock);
}

void *GC_CALL GC_call_with_alloc_lock(GC_fn_type fn, void *data)
{
    /* Boehm's allocation lock also keeps collections out: a pointer the
     * program revealed from a hidden link inside fn stays valid. */
    pthread_mutex_lock(&alloc_lock);
    void *result = mgc_call_without_collection(fn, data);
    pthread_mutex_unlock(&alloc_lock);
    return result;
}

/* ---- roots ---- */

struct root_range {
    char *low, *high;
};
static pthread_mutex_t roots_lock = PTHREAD_MUTEX_INITIALIZER;
static struct root_range *added_roots;
static size_t added_count, added_capacity;

void GC_CALL GC_add_roots(void *low, void *high)
{
    if ((char *)high <= (char *)low)
        return;
    if (!__atomic_load_n(&layer_ready, __ATOMIC_ACQUIRE))
        layer_init();
    mgc_add_roots(low, (size_t)((char *)high - (char *)low));
    pthread_mutex_lock(&roots_lock);
    if (added_count == added_capacity) {
        size_t capacity = added_capacity ? added_capacity * 2 : 16;
        struct root_range *grown = realloc(added_roots, capacity * sizeof *grown);
        if (grown) {
            added_roots = grown;
            added_capacity = capacity;
        }
    }
    if (added_count < added_capacity)
        added_roots[added_count++] = (struct root_range){low, high};
    pthread_mutex_unlock(&roots_lock);
}

void GC_CALL GC_remove_roots(void *low, void *high)
{
    if ((char *)high <= (char *)low)
        return;
    mgc_remove_roots(low, (size_t)((char *)high - (char *)low));
}

void GC_CALL GC_clear_roots(void)
{
    pthread_mutex_lock(&roots_lock);
    for (size_t i = 0; i < added_count; i++)
        mgc_remove_roots(added_roots[i].low, (size_t)(added_roots[i].high - added_roots[i].low));
    added_count = 0;
    pthread_mutex_unlock(&roots_lock);
}

void GC_CALL GC_exclude_static_roots(void *low, void *high)
{
    (void)low, (void)high;
}

void GC_CALL GC_clear_exclusion_table(void) {}

static GC_has_static_roots_func static_roots_callback;

void GC_CALL GC_register_has_static_roots_callback(GC_has_static_roots_func fn)
{
    static_roots_callback = fn;
}

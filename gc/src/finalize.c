/*
 * finalize.c: Boehm's finalization and disappearing links on mgc's.
 *
 * mgc is put in manual finalizer mode at start-up. Ready finalizers then
 * run in the program's own threads, as in Boehm: at the next allocation
 * or GC_gcollect of any thread (a per-thread flag stops a finalizer's own
 * allocations from starting more), or only in GC_invoke_finalizers when
 * finalize-on-demand is set, in which case the program's notifier is
 * called after each collection that made some ready.
 *
 * Registration maps one to one: GC_register_finalizer* is
 * mgc_replace_finalizer (with MGC_FINALIZER_NO_ORDER or _IGNORE_SELF) and
 * returns the finalizer it replaced; disappearing links are mgc's weak
 * links (long links with MGC_WEAK_LINK_LONG).
 */
#include "layer.h"
#include "gc_disclaim.h"
#include "javaxfc.h"

#include <stdio.h>

static __thread int running_finalizers;

int layer_finalizers_ready;

void layer_run_finalizers_if_due(void)
{
    if (running_finalizers || __atomic_load_n(&GC_finalize_on_demand, __ATOMIC_RELAXED))
        return;
    /* Cleared first: a collection that queues more while these run sets it
     * again, and the next allocation runs those. */
    __atomic_store_n(&layer_finalizers_ready, 0, __ATOMIC_RELAXED);
    running_finalizers = 1;
    mgc_run_finalizers();
    running_finalizers = 0;
}

static void notify_ready(void)
{
    __atomic_store_n(&layer_finalizers_ready, 1, __ATOMIC_RELEASE);
    if (!__atomic_load_n(&GC_finalize_on_demand, __ATOMIC_RELAXED))
        return;
    GC_finalizer_notifier_proc notifier = __atomic_load_n(&GC_finalizer_notifier, __ATOMIC_ACQUIRE);
    if (notifier)
        notifier();
}

void layer_finalize_init(void)
{
    mgc_set_finalizer_mode(MGC_FINALIZE_MANUAL);
    mgc_set_finalizer_notifier(notify_ready);
}

int GC_CALL GC_should_invoke_finalizers(void)
{
    return mgc_finalizers_pending() != 0;
}

int GC_CALL GC_invoke_finalizers(void)
{
    if (!__atomic_load_n(&layer_ready, __ATOMIC_ACQUIRE))
        layer_init();
    int saved = running_finalizers;
    running_finalizers = 1;
    size_t count = mgc_run_finalizers();
    running_finalizers = saved;
    return count > (size_t)0x7fffffff ? 0x7fffffff : (int)count;
}

void GC_CALL GC_finalize_all(void)
{
    GC_gcollect();
    GC_invoke_finalizers();
}

void GC_CALL GC_set_finalizer_notifier(GC_finalizer_notifier_proc fn)
{
    __atomic_store_n(&GC_finalizer_notifier, fn, __ATOMIC_RELEASE);
}

GC_finalizer_notifier_proc GC_CALL GC_get_finalizer_notifier(void)
{
    return __atomic_load_n(&GC_finalizer_notifier, __ATOMIC_ACQUIRE);
}

static void register_finalizer(void *obj, GC_finalization_proc fn, void *cd,
                               GC_finalization_proc *old_fn, void **old_cd, unsigned flags)
{
    if (!__atomic_load_n(&layer_ready, __ATOMIC_ACQUIRE))
        layer_init();
    mgc_finalizer_fn previous = NULL;
    void *previous_cd = NULL;
    void *base = mgc_base(obj);
    if (base == obj) {
        int result = mgc_replace_finalizer(obj, fn, cd, flags, &previous, &previous_cd);
        if (result == MGC_ENOMEM)
            layer_warn("GC_register_finalizer: out of memory; finalizer not registered\n", 0);
    } else if (base) {
        layer_warn("GC_register_finalizer: %p is not the start of an object; ignored\n", (GC_word)obj);
    }
    /* A pointer outside the heap: an object never collected, as in Boehm. */
    if (old_fn)
        *old_fn = previous;
    if (old_cd)
        *old_cd = previous_cd;
}

void GC_CALL GC_register_finalizer(void *obj, GC_finalization_proc fn, void *cd,
                                   GC_finalization_proc *ofn, void **ocd)
{
    register_finalizer(obj, fn, cd, ofn, ocd, 0);
}

void GC_CALL GC_register_finalizer_ignore_self(void *obj, GC_finalization_proc fn, void *cd,
                                               GC_finalization_proc *ofn, void **ocd)
{
    register_finalizer(obj, fn, cd, ofn, ocd, MGC_FINALIZER_IGNORE_SELF);
}

void GC_CALL GC_register_finalizer_no_order(void *obj, GC_finalization_proc fn, void *cd,
                                            GC_finalization_proc *ofn, void **ocd)
{
    register_finalizer(obj, fn, cd, ofn, ocd, MGC_FINALIZER_NO_ORDER);
}

void GC_CALL GC_register_finalizer_unreachable(void *obj, GC_finalization_proc fn, void *cd,
                                               GC_finalization_proc *ofn, void **ocd)
{
    register_finalizer(obj, fn, cd, ofn, ocd, 0);
}

void GC_CALL GC_debug_register_finalizer(void *obj, GC_finalization_proc fn, void *cd,
                                         GC_finalization_proc *ofn, void **ocd)
{
    register_finalizer(obj, fn, cd, ofn, ocd, 0);
}

void GC_CALL GC_debug_register_finalizer_ignore_self(void *obj, GC_finalization_proc fn, void *cd,
                                                     GC_finalization_proc *ofn, void **ocd)
{
    register_finalizer(obj, fn, cd, ofn, ocd, MGC_FINALIZER_IGNORE_SELF);
}

void GC_CALL GC_debug_register_finalizer_no_order(void *obj, GC_finalization_proc fn, void *cd,
                                                  GC_finalization_proc *ofn, void **ocd)
{
    register_finalizer(obj, fn, cd, ofn, ocd, MGC_FINALIZER_NO_ORDER);
}

void GC_CALL GC_debug_register_finalizer_unreachable(void *obj, GC_finalization_proc fn, void *cd,
                                                     GC_finalization_proc *ofn, void **ocd)
{
    register_finalizer(obj, fn, cd, ofn, ocd, 0);
}

/* ---- GC_finalized_malloc (gc_disclaim.h) ---- */

static void run_closure(void *obj, void *closure)
{
    const struct GC_finalizer_closure *fc = closure;
    fc->proc(obj, fc->cd);
}

void GC_CALL GC_init_finalized_malloc(void)
{
    GC_init();
}

void *GC_CALL GC_finalized_malloc(size_t n, const struct GC_finalizer_closure *fc)
{
    void *p = GC_malloc(n);
    if (p)
        mgc_replace_finalizer(p, run_closure, (void *)fc, MGC_FINALIZER_NO_ORDER, NULL, NULL);
    return p;
}

void GC_CALL GC_register_disclaim_proc(int kind, GC_disclaim_proc proc, int mark_from_all)
{
    (void)kind;
    (void)proc;
    (void)mark_from_all;
}

/* ---- disappearing links ---- */

static void check_link(void **link, const char *who)
{
    if (!link || ((uintptr_t)link & (sizeof(void *) - 1)) != 0) {
        char message[128];
        snprintf(message, sizeof message, "%s: bad link address %p", who, (void *)link);
        layer_abort(message);
    }
}

static int register_link(void **link, const void *obj, unsigned flags, const char *who)
{
    check_link(link, who);
    if (!__atomic_load_n(&layer_ready, __ATOMIC_ACQUIRE))
        layer_init();
    switch (mgc_weak_link_register(link, (void *)obj, flags)) {
    case 0: return GC_SUCCESS;
    case MGC_EEXIST: return GC_DUPLICATE;
    case MGC_ENOMEM: return GC_NO_MEMORY;
    default: return GC_SUCCESS; /* obj is never collected: nothing to clear */
    }
}

static int move_link(void **link, void **new_link, const char *who)
{
    check_link(new_link, who);
    int result = mgc_weak_link_move(link, new_link);
    if (result == 0)
        return GC_SUCCESS;
    if (result == MGC_EEXIST)
        return link == new_link ? GC_SUCCESS : GC_DUPLICATE;
    return GC_NOT_FOUND;
}

int GC_CALL GC_general_register_disappearing_link(void **link, const void *obj)
{
    return register_link(link, obj, 0, "GC_general_register_disappearing_link");
}

int GC_CALL GC_register_disappearing_link(void **link)
{
    check_link(link, "GC_register_disappearing_link");
    void *base = GC_base(*link);
    if (!base)
        return GC_SUCCESS;
    return register_link(link, base, 0, "GC_register_disappearing_link");
}

int GC_CALL GC_unregister_disappearing_link(void **link)
{
    if (!link)
        return 0;
    return mgc_weak_link_unregister(link) == 0;
}

int GC_CALL GC_move_disappearing_link(void **link, void **new_link)
{
    return move_link(link, new_link, "GC_move_disappearing_link");
}

int GC_CALL GC_register_long_link(void **link, const void *obj)
{
    return register_link(link, obj, MGC_WEAK_LINK_LONG, "GC_register_long_link");
}

int GC_CALL GC_unregister_long_link(void **link)
{
    return GC_unregister_disappearing_link(link);
}

int GC_CALL GC_move_long_link(void **link, void **new_link)
{
    return move_link(link, new_link, "GC_move_long_link");
}

/* ---- accepted, not supported ---- */

static GC_toggleref_func toggleref_func;
static GC_await_finalize_proc await_finalize_proc;

void GC_CALL GC_set_toggleref_func(GC_toggleref_func fn)
{
    toggleref_func = fn;
}

GC_toggleref_func GC_CALL GC_get_toggleref_func(void)
{
    return toggleref_func;
}

int GC_CALL GC_toggleref_add(void *obj, int is_strong)
{
    (void)obj;
    (void)is_strong;
    return GC_UNIMPLEMENTED;
}

void GC_CALL GC_set_await_finalize_proc(GC_await_finalize_proc fn)
{
    await_finalize_proc = fn;
}

GC_await_finalize_proc GC_CALL GC_get_await_finalize_proc(void)
{
    return await_finalize_proc;
}

void GC_CALL GC_dump_finalization(void)
{
    GC_printf("Finalizers ready to run: %lu\n",
              (unsigned long)mgc_finalizers_pending());
}

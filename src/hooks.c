/*
 * hooks.c: the few read-outs and settings that layers above mgc need and
 * mgc.h does not give (see hooks.h). Each is a thin view of state owned by
 * another file.
 */
#include "hooks.h"
#include "mgc_internal.h"

bool mgc_hook_debug_settings(const char *text)
{
    bool before_start = !__atomic_load_n(&runtime_initialized, __ATOMIC_ACQUIRE);
    if (text)
        debug_parse(text, &debug);
    return before_start;
}

bool mgc_hook_thread_is_registered(void)
{
    return mgc_tls.record != NULL;
}

int mgc_hook_suspend_signal(void)
{
    return world_suspend_signal();
}

int mgc_hook_object_kind(const void *p)
{
    if (!mgc_base(p))
        return -1;
    struct span *s = span_of((uintptr_t)p);
    if (!s)
        return -1;
    return (s->noscan ? (int)MGC_NOSCAN : 0) | (s->uncollectable ? (int)MGC_UNCOLLECTABLE : 0);
}

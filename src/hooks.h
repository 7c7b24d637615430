/*
 * hooks.h: a few entry points for layers built on top of mgc (such as the
 * Boehm GC compatibility library in gc/) that need to see or set something
 * the public API in mgc.h does not offer. Not part of the public contract;
 * exported only so that a separate layer can link to them.
 */
#ifndef MGC_HOOKS_H
#define MGC_HOOKS_H

#include <stdbool.h>

/* Apply settings written as MGC_DEBUG would give them ("gctrace=1,gcprocs=2").
 * Settings read once at start-up (gcprocs, tinyalloc, efence, hugepages)
 * only take effect when this runs before mgc initialises; MGC_DEBUG in the
 * environment, read at initialisation, overrides them. Returns true when
 * mgc was not initialised yet. */
bool mgc_hook_debug_settings(const char *text);

/* Whether the calling thread is registered, without registering it. */
bool mgc_hook_thread_is_registered(void);

/* The signal that stops threads for a collection. */
int mgc_hook_suspend_signal(void);

/* The kind of the allocated object holding p: -1 if none, else the
 * MGC_NOSCAN and MGC_UNCOLLECTABLE bits of the object. */
int mgc_hook_object_kind(const void *p);

#endif

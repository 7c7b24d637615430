/*
 * weak.h: what the collector, mgc_free and fork need of weak links (weak.c
 * says how they work).
 */
#ifndef MGC_WEAK_H
#define MGC_WEAK_H

#include "mgc_internal.h"

/* Guards the registrations. Taken only while busy (world.c's rule). */
extern pthread_mutex_t weak_lock INTERNAL;
/* World stopped, marking done, before finalizers are queued: clear the
 * short links whose object was not reached, and forget them. */
void weak_links_clear_short(void) INTERNAL;
/* World stopped, after finalizers were queued (marks final): clear the long
 * links whose object is not marked, and forget every registration whose
 * link word lies in an object that is not marked. */
void weak_links_clear_long_and_dead(void) INTERNAL;
/* mgc_free of the object at [base, base + size) of span s (the caller is
 * busy; s->free_slow.part[1] set): clear the links to it and forget the
 * registrations whose link word lies in it. tiny_object: base is an object
 * packed in a tiny block, whose memory stays; only links to exactly base
 * are cleared. */
void weak_links_drop_object(struct span *s, uintptr_t base, size_t size, bool tiny_object) INTERNAL;
/* Registrations in force (tests). */
size_t weak_links_count(void) INTERNAL;

#endif

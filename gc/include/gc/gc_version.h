/*
 * gc_version.h: the Boehm GC release whose interface mgc's compatibility
 * layer provides. Read through gc.h.
 */
#if defined(GC_H)
#ifndef GC_VERSION_MAJOR
# define GC_VERSION_MAJOR 8
# define GC_VERSION_MINOR 2
# define GC_VERSION_MICRO 2
#endif
/* The collector underneath is mgc. */
#define GC_MGC_LAYER 1
#endif

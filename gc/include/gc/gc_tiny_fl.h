/*
 * gc_tiny_fl.h: the granule (16 bytes on 64-bit targets: every object is
 * aligned to it) and the number of small size classes gc_inline.h's free
 * lists cover.
 */
#ifndef GC_TINY_FL_H
#define GC_TINY_FL_H

#ifndef GC_GRANULE_BYTES
# if defined(__LP64__) || defined(_LP64) || (defined(__x86_64__) && !defined(__ILP32__))
#  define GC_GRANULE_BYTES 16
#  define GC_GRANULE_WORDS 2
# else
#  define GC_GRANULE_BYTES 8
#  define GC_GRANULE_WORDS 2
# endif
#endif

#if GC_GRANULE_WORDS == 2
# define GC_WORDS_TO_GRANULES(n) ((n) >> 1)
#else
# define GC_WORDS_TO_GRANULES(n) ((n) * sizeof(void *) / GC_GRANULE_BYTES)
#endif

#ifndef GC_TINY_FREELISTS
# if GC_GRANULE_BYTES == 16
#  define GC_TINY_FREELISTS 25
# else
#  define GC_TINY_FREELISTS 33
# endif
#endif

#define GC_RAW_BYTES_FROM_INDEX(i) ((i) * GC_GRANULE_BYTES)

#endif

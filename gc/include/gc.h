/* gc.h: Boehm GC's top-level header name; the declarations live in gc/gc.h
 * (mgc's Boehm GC compatibility layer). */
#include "gc/gc.h"

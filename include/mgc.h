/*
 * mgc.h: a garbage-collected heap for C programs.
 *
 * mgc follows the design of the Go runtime's allocator: size classes,
 * per-thread caches, central lists, a page heap, and a tiny allocator that
 * packs pointer-free allocations under 16 bytes into shared 16-byte blocks.
 * A conservative mark-sweep collector stops every registered thread, marks
 * in parallel from the roots, and sweeps lazily.
 *
 * Link with -lmgc -lpthread -ldl, or use `pkg-config --cflags --libs mgc`.
 * Every function is thread-safe. The first call into mgc initialises it.
 */
#ifndef MGC_H
#define MGC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MGC_VERSION_MAJOR 0
#define MGC_VERSION_MINOR 1
#define MGC_VERSION_PATCH 0

/* Error codes returned by the functions that return int (errno values). */
#define MGC_ENOMEM 12 /* out of memory */
#define MGC_EEXIST 17 /* a finalizer is already set */
#define MGC_EINVAL 22 /* invalid argument */

/* ---- Allocation --------------------------------------------------------------
 *
 * Every object is aligned to the largest power of two that divides its size,
 * up to 16: a 12-byte object is 4-aligned, a 24-byte one 8-aligned, a 48-byte
 * one 16-aligned. That is all any C type of that size can need.
 *
 * Size 0 returns a valid non-NULL pointer, shared by every zero-size
 * allocation; it may be passed to mgc_free and mgc_realloc.
 *
 * Out of memory (the OS refuses): NULL with errno = ENOMEM. mgc never aborts
 * for lack of memory.
 */

/* Zeroed; may hold pointers to mgc objects. */
void *mgc_alloc(size_t size);

/* Zeroed; must hold no pointers to mgc objects. Requests under 16 bytes are
 * packed by the tiny allocator into 16-byte blocks shared with other such
 * objects (alignment 8, 4 or 2 by size, as above). */
void *mgc_alloc_noscan(size_t size);

#define MGC_NOSCAN 0x1u        /* the object holds no mgc pointers */
#define MGC_NOZERO 0x2u        /* contents undefined; only together with MGC_NOSCAN */
#define MGC_UNCOLLECTABLE 0x4u /* never collected; only mgc_free releases it */

/* mgc_alloc with flags. Unknown flag bits, or MGC_NOZERO without MGC_NOSCAN:
 * NULL with errno = EINVAL. MGC_NOSCAN with a size under 16 uses the tiny
 * allocator, as mgc_alloc_noscan does, unless MGC_UNCOLLECTABLE is given. */
void *mgc_alloc_flags(size_t size, unsigned flags);

/* n * size zeroed bytes that may hold pointers. NULL with errno = ENOMEM when
 * n * size overflows. */
void *mgc_calloc(size_t n, size_t size);

/* Resize p, keeping its kind (scanned or noscan, uncollectable or not).
 * p == NULL: mgc_alloc(size). size == 0: frees p (as mgc_free) and returns
 * NULL, as glibc does. When p's object already has room for size bytes (its
 * mgc_usable_size), p is returned, unless a large object would be left more
 * than half empty; otherwise a new object receives the old contents and p is
 * freed. Bytes past the old size are zero (after a shrink in place too:
 * the bytes past the new size are cleared), except in an object allocated
 * with MGC_NOZERO (mgc_strdup's copies included), whose slot was never
 * cleared: there, bytes past the size first asked for are undefined. An
 * object packed by the tiny
 * allocator always moves, even when size fits in what mgc_usable_size reports
 * for it, since those bytes may belong to its block neighbours; the bytes up
 * to the end of its block are copied (so neighbours' bytes may follow the old
 * contents), and p itself is not freed (see mgc_free).
 * On failure, NULL with errno = ENOMEM and p unchanged.
 * A p that mgc_free would refuse aborts the same way, naming realloc. */
void *mgc_realloc(void *p, size_t size);

/* A noscan copy of s. s == NULL: NULL with errno = EINVAL. */
char *mgc_strdup(const char *s);

/* Free p now. p must be the start of an object that is not freed yet.
 * mgc_free(NULL) and freeing the zero-size pointer do nothing. Freeing an
 * object that the tiny allocator packed into a shared block does nothing: the
 * block is reclaimed once every object in it is unreachable.
 * Any other pointer (not from mgc, not an object start, already freed) prints
 * "mgc: free of <address>: <reason>" on stderr and aborts, as glibc does. */
void mgc_free(void *p);

/* Bytes usable at p, an object start (at least the size asked for): the
 * object's size class. For an object packed by the tiny allocator, the bytes
 * from p to the end of its 16-byte block, which it shares with its
 * neighbours: only the size asked for is yours. 0 for NULL, the zero-size
 * pointer, and anything that is not the start of an allocated object. */
size_t mgc_usable_size(const void *p);

/* The start of the allocated object holding p (interior pointers included),
 * or NULL when p lies in no allocated mgc object. Inside a tiny block: the
 * block's start. */
void *mgc_base(const void *p);

/* ---- Finalizers ------------------------------------------------------------------------
 *
 * A finalizer runs once, after its object became unreachable; fn receives
 * the pointer it was set on and arg. Until it has run, the object and
 * everything reachable from it stay intact; the object is freed by a later
 * collection if it is still unreachable then (a finalizer may make it
 * reachable again by storing it somewhere; its finalizer is then gone).
 *
 * Order: if A reaches B and both have finalizers, A's runs first, and B's
 * in a later collection. Objects on a cycle through a finalizable object
 * (including an object that reaches itself) keep each other alive and are
 * never finalized, as in Go and Boehm GC.
 *
 * Tiny objects: any pointer returned by mgc_alloc_noscan(n) with n < 16 is
 * accepted, though it may lie inside a 16-byte block shared with other
 * objects. Such a finalizer runs only when the whole block is unreachable:
 * a pointer to a neighbour in the same block keeps it from running.
 *
 * mgc_free of an object drops its finalizer (so does mgc_realloc when it
 * moves the object). Finalizers on uncollectable objects never run.
 *
 * Where they run: by default on one background thread that mgc starts on
 * the first mgc_set_finalizer (named "mgc-final"); like all of mgc's
 * threads, it blocks every signal but mgc's suspend signal and the fault
 * signals (see Roots and threads), so a finalizer runs with the program's
 * signals blocked, as Go's and Boehm GC's do. In manual mode they wait in a
 * queue until the program calls mgc_run_finalizers, and run on the thread
 * that calls it, with its signal mask. No mgc lock is held while a
 * finalizer runs: it may allocate, set finalizers, call mgc_collect and
 * mgc_run_finalizers.
 *
 * arg is a root while the finalizer is set: an arg that points into obj
 * (or reaches obj) keeps obj alive, and its finalizer never runs.
 */
typedef void (*mgc_finalizer_fn)(void *obj, void *arg);

#define MGC_FINALIZE_THREAD 0 /* run on mgc's finalizer thread (default) */
#define MGC_FINALIZE_MANUAL 1 /* queue until mgc_run_finalizers() */

/* Set (fn non-NULL) or remove (fn NULL) the finalizer of obj, which must be
 * an object start, or any address inside an allocated tiny block (above):
 * mgc does not record where packed objects start, so there it accepts any
 * of the block's 16 addresses, an interior address of a packed object
 * included, and returns 0; the finalizer is kept under that exact address,
 * fn receives it, and it runs once the whole block is unreachable. 0;
 * MGC_EINVAL if obj is not such a pointer (an interior address of any other
 * object included); MGC_EEXIST if that address has a finalizer already
 * (remove it first); MGC_ENOMEM if no memory is left for the record.
 * Removing where none is set returns 0. */
int mgc_set_finalizer(void *obj, mgc_finalizer_fn fn, void *arg);
/* Run the queued finalizers now, on the calling thread; returns how many
 * ran (including any queued by collections while it ran). */
size_t mgc_run_finalizers(void);
/* MGC_FINALIZE_THREAD or MGC_FINALIZE_MANUAL; other values are ignored. */
void mgc_set_finalizer_mode(int mode);

/* Finalizer options, for mgc_replace_finalizer (Boehm GC's variants).
 * MGC_FINALIZER_NO_ORDER: the object's contents are not scanned as a root
 *   while it waits to be found unreachable: it is finalized even when
 *   another finalizable object reaches it, or it reaches itself through a
 *   cycle, and the order among such objects is not defined. What it reaches
 *   is still kept intact until its finalizer has run.
 * MGC_FINALIZER_IGNORE_SELF: a pointer from inside the object to itself does
 *   not keep it from being finalized (other cycles still do). */
#define MGC_FINALIZER_NO_ORDER 0x1u
#define MGC_FINALIZER_IGNORE_SELF 0x2u

/* Set, replace (fn non-NULL) or remove (fn NULL) the finalizer of obj (as
 * mgc_set_finalizer accepts it), with options flags, which apply to the new
 * finalizer. The finalizer it replaces, if any, is stored in *old_fn and
 * *old_arg (NULL and NULL when none was set, or on error); either pointer
 * may be NULL. 0; MGC_EINVAL if obj is not such a pointer or flags has
 * unknown bits; MGC_ENOMEM. (mgc_set_finalizer keeps refusing with
 * MGC_EEXIST where one is set.) */
int mgc_replace_finalizer(void *obj, mgc_finalizer_fn fn, void *arg, unsigned flags,
                          mgc_finalizer_fn *old_fn, void **old_arg);
/* The finalizer set on obj: 0, with *fn and *arg (NULL when none is set;
 * a finalizer already queued to run is no longer set); MGC_EINVAL if obj
 * is not a pointer mgc_set_finalizer would accept. fn or arg may be NULL. */
int mgc_get_finalizer(const void *obj, mgc_finalizer_fn *fn, void **arg);
/* Finalizers queued and not yet run (a quick, unlocked count). */
size_t mgc_finalizers_pending(void);
/* fn (or NULL for none) is called on the thread that finished a collection
 * which queued finalizers while the mode is MGC_FINALIZE_MANUAL, after the
 * world has restarted and with no mgc lock held: possibly inside an mgc
 * allocation that collected. It may call into mgc, mgc_run_finalizers
 * included. Returns the previous one. */
typedef void (*mgc_notifier_fn)(void);
mgc_notifier_fn mgc_set_finalizer_notifier(mgc_notifier_fn fn);

/* ---- Weak references ---------------------------------------------------------------------
 *
 * A weak reference does not keep its object alive. Once a collection finds
 * the object unreachable, every weak reference to it reads NULL, before the
 * object's finalizer (if any) runs, and it is never handed out again, even
 * if its finalizer makes it reachable once more (Go's weak.Pointer, Boehm
 * GC's short disappearing links). Long weak links (below) are the one
 * exception: they follow the object until it is freed.
 */

/* A handle on obj (an object start, or a pointer mgc_set_finalizer accepts).
 * The handle is itself a collected object (16 bytes, plus an 80-byte record
 * off the heap until the handle or obj dies): keep a pointer to it. NULL
 * with errno EINVAL (not such a pointer) or ENOMEM. Handles on an object
 * packed in a tiny block read NULL only once the whole 16-byte block is
 * unreachable; on an uncollectable object, only once it is freed. mgc_free
 * of obj (or mgc_realloc moving it) makes its handles read NULL at once. */
typedef struct mgc_weak mgc_weak;
mgc_weak *mgc_weak_new(void *obj);
/* obj while it is reachable, else NULL, for good. The pointer returned is
 * an ordinary strong pointer from then on. w NULL: NULL. */
void *mgc_weak_get(mgc_weak *w);

/* Weak links (Boehm GC's disappearing links): the word at link, which the
 * program keeps hidden from the collector (in noscan memory, or inverted as
 * Boehm's GC_HIDE_POINTER does), is set to NULL by the collection that finds
 * obj unreachable. link must be word-aligned; obj a pointer into an mgc
 * object. If link itself lies inside an mgc object that dies, the
 * registration goes with it. MGC_WEAK_LINK_LONG: cleared only once obj is
 * about to be freed, that is after its finalizer has run and left it
 * unreachable (Boehm's long links).
 * Like a handle, a link to an object in a tiny block is cleared with the
 * whole block; to an uncollectable object, never by a collection.
 * A cleared link's registration has ended (unregister returns MGC_EINVAL).
 * mgc_free of obj's object (or mgc_realloc moving it) clears its links at
 * once (for an object packed in a tiny block, the links to exactly that
 * pointer); mgc_free of an object that holds link words ends their
 * registrations without writing them.
 * Reading a link: a plain pointer kept in noscan or malloc(3) memory may be
 * loaded and used as is (once loaded, it is on the stack or in a register,
 * a root like any other). A hidden one is no root until un-hidden: a
 * collection between the load and the un-hiding may clear the word and
 * free the object (Boehm programs read such links under
 * GC_call_with_alloc_lock). Where a link is read while other threads
 * allocate, keep it as a plain pointer in noscan memory, or use a handle.
 * register: 0; MGC_EEXIST if link is registered already (unchanged);
 *   MGC_EINVAL (link NULL or misaligned, or inside mgc's heap but in no
 *   allocated object; obj not in an mgc object; unknown flags);
 *   MGC_ENOMEM.
 * unregister: 0; MGC_EINVAL if link was not registered.
 * move: link's registration now clears new_link instead (the word at
 *   new_link is not written). 0 (also when new_link == link); MGC_EINVAL if
 *   link is not registered or new_link is not a valid link; MGC_EEXIST if
 *   new_link is registered. */
#define MGC_WEAK_LINK_LONG 0x1u
int mgc_weak_link_register(void **link, void *obj, unsigned flags);
int mgc_weak_link_unregister(void **link);
int mgc_weak_link_move(void **link, void **new_link);

/* ---- Collection events ----------------------------------------------------------------------
 *
 * fn (NULL for none) is called on the collecting thread at each event of
 * every collection. MGC_EVENT_START and MGC_EVENT_END run with the world
 * going and no mgc lock held but the collection's own (fn must not collect);
 * MGC_EVENT_MARK_START and MGC_EVENT_MARK_END run with every other thread
 * stopped: fn must then not allocate, lock, or call into mgc.
 * Returns the previous function. */
#define MGC_EVENT_START 0
#define MGC_EVENT_MARK_START 1
#define MGC_EVENT_MARK_END 2
#define MGC_EVENT_END 3
typedef void (*mgc_event_fn)(int event);
mgc_event_fn mgc_set_event_hook(mgc_event_fn fn);

/* ---- Roots and threads ----------------------------------------------------------------
 *
 * An object is reachable when a pointer into its slot (interior pointers
 * count) is found in a root or in a reachable scanned object. The slot is
 * the mgc_usable_size bytes from the object's start, which may be more than
 * was asked for: a 100-byte object lives in a 104-byte slot, so a pointer to
 * any of its bytes 0 to 103, including one just past its 100 bytes, keeps
 * it; a pointer one past the slot (start + mgc_usable_size) does not (it
 * points into the next slot). A tiny object packed into a 16-byte block is
 * kept by a pointer to any byte of the block, and keeps the whole block.
 *
 * Roots, scanned at every collection:
 *   - the stack and registers of every registered thread;
 *   - the writable data and bss of the executable and of every shared
 *     library loaded at the time of the collection (libraries opened with
 *     dlopen later are covered; closed ones are no longer read);
 *   - ranges given to mgc_add_roots;
 *   - uncollectable objects (MGC_UNCOLLECTABLE).
 * Not roots: memory from malloc(3), thread-local variables (__thread), and
 * stacks a program switches to itself (makecontext, coroutines): a pointer
 * held only there does not keep an object alive. Register such memory with
 * mgc_add_roots. A thread stopped while it runs on such a stack still has
 * its registers read (copied from the stop) and all of its own stack.
 *
 * A thread is registered automatically the first time it calls into mgc
 * (any allocation, reallocation or free, mgc_free(NULL) included, or
 * mgc_init, mgc_collect, mgc_base, mgc_usable_size), and unregistered automatically when
 * it exits. A thread that holds mgc pointers but never calls mgc must call
 * mgc_register_thread(). Registration finds the thread's stack; the main
 * thread's is found even where /proc is not mounted.
 *
 * Collections stop every registered thread with a signal, as Boehm GC does:
 * SIGPWR by default, or the signal named by MGC_SUSPEND_SIGNAL: a number in
 * digits, or SIGPWR, SIGXCPU, SIGUSR1, SIGUSR2, SIGXFSZ, SIGSYS (with or
 * without "SIG"), or SIGRTMIN+n. Refused, with a message on stderr, SIGPWR
 * being used instead: 32 up to SIGRTMIN - 1 (the C library's own signals),
 * SIGKILL, SIGSTOP, the fault signals (SIGSEGV, SIGBUS, SIGFPE, SIGILL,
 * SIGABRT, SIGTRAP), numbers out of range, and any signal the system will
 * not let mgc handle. Do not block that signal in a registered thread, or
 * install another handler for it: a collection then aborts, saying so
 * ("mgc: the handler of signal N ... was replaced", or, for a thread that
 * still blocks it after 5 seconds, "mgc: thread TID blocks signal N (mgc's
 * suspend signal): a collection cannot stop it"; blocking it for a moment
 * is fine, the collection waits). A thread that blocks every signal (to
 * handle them with sigwait elsewhere) must leave this one out, or not be
 * registered. A thread that has not stopped after 5 seconds for another
 * reason (a debugger holds it) gets one warning per collection, and the
 * collection keeps waiting.
 * If a registered thread cannot be sent the signal, a collection never runs
 * while it runs: a thread that has exited without unregistering (a key
 * destructor of the program's called mgc after mgc's own had run) is
 * dropped, with the message "mgc: a registered thread exited without
 * unregistering; dropped"; otherwise mgc prints "mgc: cannot stop thread
 * ..." and aborts.
 *
 * mgc's own threads ("mgc-mark" marking helpers, the "mgc-sweep" background
 * sweeper, the "mgc-final" finalizer runner) block every signal except the
 * suspend signal and SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP and SIGABRT,
 * so a signal sent to the process (kill, alarm, timers) is never handled on
 * one of them: it goes to a thread of the program that does not block it,
 * or waits until one unblocks it.
 *
 * Calling mgc from a signal handler (allocating, freeing, collecting, any
 * function here) is not supported: mgc's functions are not
 * async-signal-safe.
 *
 * A thread stopped while a handler of its own runs on an alternate signal
 * stack (sigaltstack) keeps what both stacks hold: the alternate stack from
 * the handler's frames up, and the whole mapped part of the thread's own
 * stack (where it was when the handler began is not known, so all of it is
 * read: old values there may keep some dead objects a while longer).
 *
 * Cancellation (pthread_cancel): no mgc function is a cancellation point.
 * A thread is never cancelled inside mgc, where it could hold mgc's locks;
 * a cancellation request waits for the thread's next cancellation point of
 * its own. A finalizer is the program's code and may be cancelled as
 * usual, on a thread of the program's (manual mode). No mgc function is
 * async-cancel-safe: do not call mgc with PTHREAD_CANCEL_ASYNCHRONOUS in
 * force (POSIX allows only three functions there). A thread that computes
 * with asynchronous cancellation on and is cancelled while stopped for a
 * collection is cancelled once the world runs again.
 *
 * A new thread's start argument, and the value a thread returns to
 * pthread_join, live in the C library's record of the thread, which is not
 * a root: a pointer passed or returned only that way does not keep its
 * object alive. Keep such objects reachable elsewhere (a global, the
 * creator's stack) until the new thread has stored the pointer, or the
 * joining thread has received it (the Boehm layer's GC_pthread_create
 * does so for the argument).
 *
 * What mgc leaves on a stack: a collection reads the collecting thread's
 * stack from the caller of the mgc function that collects, not mgc's own
 * frames below it, and mgc overwrites the stack it used for a collection or
 * for running finalizers before it returns, so that no stale copy of a
 * pointer keeps a dead object alive in a frame of the program's later on.
 *
 * System calls the kernel restarts after a handler (read, write, waits
 * on locks) are not disturbed; those that never restart (sleep, nanosleep,
 * poll, select, epoll_wait, ...) may return early with EINTR while a
 * collection runs. fork() is safe: the child keeps only the calling thread.
 */

/* Run fn(arg) on the calling thread with collections held off: a
 * collection that starts meanwhile waits until fn returns before it looks
 * at any root. The way to read a pointer that the program hides from the
 * collector (a weak link stored inverted, as Boehm's GC_HIDE_POINTER does)
 * and turn it back into a pointer without a collection freeing the object
 * in between (Boehm's GC_call_with_alloc_lock). fn must be short, must not
 * call mgc, and must not wait for another thread: every other thread may
 * be stopped meanwhile. Returns what fn returns. Calls nest. */
void *mgc_call_without_collection(void *(*fn)(void *arg), void *arg);

/* Make the calling thread's stack and registers roots. 0, or MGC_ENOMEM. */
int mgc_register_thread(void);
/* Stop treating the calling thread's stack as a root (done at thread exit
 * anyway). 0, or MGC_EINVAL if it was not registered. */
int mgc_unregister_thread(void);
/* Scan [start, start + size) as a root at every collection. The range is
 * read as it is at each collection, so it must stay mapped and readable
 * until mgc_remove_roots removes it (unmap it after that, never before): a
 * range that is not readable when a collection runs crashes that collection.
 * start == NULL or size == 0 does nothing. A range that wraps past the top of
 * the address space or reaches beyond the user address space (2^48) is
 * reported on stderr ("mgc: mgc_add_roots: range ... is not a root") and
 * ignored; so is one mgc has no memory to record. */
void mgc_add_roots(void *start, size_t size);
/* Stop scanning [start, start + size): the part of any added range inside
 * it is removed (an added range may be split in two). Out of memory for a
 * split, that range stays whole (a root too many never loses data), and
 * "mgc: mgc_remove_roots: out of memory; ..." is printed on stderr. */
void mgc_remove_roots(void *start, size_t size);

/* ---- Collection control ------------------------------------------------------------------
 *
 * A collection starts when the heap has grown by percent % over the heap
 * found live by the last one (Go's GOGC rule: default 100, and never before
 * 4 MiB), or earlier when a memory limit requires it. An allocation that
 * would take the heap to that goal starts the collection before it is made,
 * so a large object can reuse what the collection frees.
 */

/* Optional: the first call into mgc initialises it. Reads the environment
 * (below) once. Safe to call more than once, from any thread. */
void mgc_init(void);
/* A full, blocking collection: mark, then sweep everything, before returning. */
void mgc_collect(void);
/* Returns the previous percent; a negative percent (-1) turns automatic
 * collection off (the memory limit still collects). */
int mgc_set_gc_percent(int percent);
/* A soft limit on the memory mgc holds from the OS (heap and metadata).
 * Collections start earlier as the limit nears; an allocation that cannot
 * fit under it even after a full collection returns NULL with ENOMEM.
 * Returns the previous limit; SIZE_MAX means none. */
size_t mgc_set_memory_limit(size_t bytes);

/* ---- Statistics ----------------------------------------------------------------------
 *
 * Counters are kept per thread and folded in when read, so a read while other
 * threads allocate is a close, not an instantaneous, picture.
 * Heap blocks allocated (the seed's "allocs") = mallocs - tiny_allocs.
 */
struct mgc_stats {
    uint64_t total_alloc;    /* bytes allocated, cumulative (size-class rounded; a
                                tiny block counts its 16 bytes once) */
    uint64_t mallocs;        /* objects allocated, cumulative, tiny-packed ones included */
    uint64_t tiny_allocs;    /* of mallocs: those packed into an existing tiny block */
    uint64_t frees;          /* objects freed, cumulative; tiny-packed objects count as
                                freed at once, as in Go */
    uint64_t heap_alloc;     /* bytes in allocated heap objects */
    uint64_t heap_objects;   /* mallocs - frees: heap blocks allocated and not yet freed */
    uint64_t heap_sys;       /* heap bytes obtained from the OS */
    uint64_t heap_inuse;     /* bytes in spans holding at least one object */
    uint64_t heap_released;  /* heap bytes returned to the OS */
    uint64_t gc_sys;         /* collector metadata bytes (bitmaps) */
    uint64_t other_sys;      /* other off-heap metadata bytes */
    uint64_t sys;            /* all bytes obtained from the OS */
    uint64_t next_gc;        /* heap_alloc at which the next collection starts */
    uint64_t num_gc;         /* completed collections */
    uint64_t pause_total_ns; /* stop-the-world time, cumulative */
    uint64_t last_pause_ns;
    uint64_t max_pause_ns;
    uint64_t finalizers_run; /* finalizers that have run, cumulative */
};

void mgc_read_stats(struct mgc_stats *out);

/* ---- Environment (read once, at initialisation) ---------------------------------------
 *
 * Numbers are plain decimal digits: no sign, no spaces, no 0x. A bad value
 * is reported once on stderr ("mgc: NAME: bad value ...") and the default
 * stays; it never stops the program.
 *
 * MGC_GCPERCENT=N|off      initial gc percent, 0 to 1000000 (off or -1: off);
 *                          bad: 100
 * MGC_MEMLIMIT=N[B|KiB|MiB|GiB|TiB]  initial memory limit in bytes, under
 *                          2^64 (units are powers of 1024); bad: no limit
 * MGC_SUSPEND_SIGNAL=SIG   the signal that stops threads (default SIGPWR;
 *                          which ones are refused: see Roots and threads)
 * MGC_DEBUG=key=value,...
 *   gctrace=1        one line per collection on stderr:
 *                    gc N @T s P%: pause X ms (mark Y ms, W threads),
 *                    heap A->B MiB goal G MiB, K objects freed, F finalizers queued
 *                    (T: since start; P: share of time spent stopped; A: heap
 *                    allocated before, B: found live; K: objects not marked;
 *                    F: finalizers found due in this collection)
 *   tinyalloc=0      turn the tiny allocator off: every request gets its own slot
 *   efence=1         every object on its own pages, never reused; freed objects'
 *                    pages become inaccessible (catches use after free)
 *   gcprocs=N        threads that mark, 1 to 64 (default, or 0: one per core)
 *   collectevery=N   collect at every Nth slow-path allocation, N up to
 *                    10^9 (for testing; 0: off)
 *   hugepages=0      heap arenas do not ask for transparent huge pages; by
 *                    default they do (MADV_HUGEPAGE), which makes allocation
 *                    and marking faster and may hold a few MiB more memory
 *   verify=1         check the heap's invariants at every collection, with the
 *                    world stopped (address map, span lists, allocation
 *                    bitmaps, finalizer records, statistics against a recount);
 *                    a violation prints "mgc: verify: <what> at <address>" and
 *                    aborts. Slow: every span and every free slot is read.
 *   poison=1         freed memory (mgc_free, the collector, whole pages the
 *                    heap takes back) is filled with 0xdb bytes, and checked
 *                    when handed out again: a byte changed meanwhile means a
 *                    write through a pointer to a freed object, reported as
 *                    "mgc: poison: slot <address> of span class <c> written
 *                    after free at offset <k>" (or "free page ...") before
 *                    aborting. Objects handed out are still zeroed. Turns the
 *                    tiny allocator off and allocates every small object on the
 *                    slow path, one at a time: several times slower.
 * An unknown key, a key without "=", or a value out of its range is reported
 * once on stderr and ignored: that key keeps its default.
 */

#ifdef __cplusplus
}
#endif

#endif

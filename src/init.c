/*
 * init.c: bringing mgc up, once, on the first call from any thread.
 */
#include "mgc_internal.h"
#include "weak.h"
#include "memcheck.h"

#ifdef MGC_VALGRIND
bool memcheck_running;
#endif

bool runtime_initialized;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

/* fork(2): the child must not inherit a lock some other thread held. Take
 * every lock, in the order mgc always takes them, before the fork; release
 * them after it in the parent; in the child, release them and forget the
 * threads that did not come along. */
static void before_fork(void)
{
    lock_stoppable(&gc_lock);
    pthread_mutex_lock(&launch_lock); /* no thread of mgc's half started */
    lock_stoppable(&roots_lock);
    lock_stoppable(&threads_lock);
    pthread_mutex_lock(&finalizer_lock);
    pthread_mutex_lock(&weak_lock);
    sweep_block_for_fork();
    for (size_t i = 0; i < NUM_SPAN_CLASSES; i++)
        pthread_mutex_lock(&centrals[i].lock);
    heap_lock();
    persistent_lock_all();
}

/* Every lock before_fork took, in the reverse order. The order matters in
 * the parent: with the collection lock given back before the sweep gate, a
 * collection could start, stop this thread still holding the gate, and
 * wait for a sweeper blocked on it. The child, alone, starts the gate
 * afresh instead (taken under another thread id, it cannot be unlocked). */
static void unlock_after_fork(bool in_child)
{
    persistent_unlock_all();
    heap_unlock();
    for (size_t i = NUM_SPAN_CLASSES; i-- > 0;)
        pthread_mutex_unlock(&centrals[i].lock);
    sweep_unblock_after_fork(in_child);
    pthread_mutex_unlock(&weak_lock);
    pthread_mutex_unlock(&finalizer_lock);
    pthread_mutex_unlock(&threads_lock);
    pthread_mutex_unlock(&roots_lock);
    pthread_mutex_unlock(&launch_lock);
    pthread_mutex_unlock(&gc_lock);
}

static void after_fork_parent(void)
{
    unlock_after_fork(false);
}

static void after_fork_child(void)
{
    unlock_after_fork(true);
    world_after_fork_child();
    mark_after_fork_child();
    sweep_after_fork_child();
    finalizers_after_fork_child();
    lock_stoppable(&threads_lock);
    busy_begin();
    cache_after_fork_child();
    fork_adopt_orphaned_spans();
    busy_end();
    pthread_mutex_unlock(&threads_lock);
}

static void initialize(void)
{
    memcheck_detect();
    debug_parse_environment();
    central_init();
    world_init();
    gc_init();
    pthread_atfork(before_fork, after_fork_parent, after_fork_child);
    __atomic_store_n(&runtime_initialized, true, __ATOMIC_RELEASE);
}

void runtime_ensure_init(void)
{
    if (!__atomic_load_n(&runtime_initialized, __ATOMIC_ACQUIRE))
        pthread_once(&init_once, initialize);
}

void mgc_init(void)
{
    /* mgc.h: mgc_init registers the calling thread, as any call does. */
    (void)thread_ensure_registered();
}

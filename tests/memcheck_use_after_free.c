/*
 * memcheck_use_after_free.c: uses of freed mgc objects, for tests/run.sh to
 * run under Valgrind's memcheck, which must report each at the function
 * named here: a small object freed by its own thread (read), a large object
 * (write), and a small object freed by a thread other than the one whose
 * cache holds its span (read). Objects in use are read and written too, and
 * must draw no report; nor must a collection.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "mgc.h"

static volatile long sink;

static __attribute__((noinline)) void read_freed_small(long *p) { sink = p[1]; }
static __attribute__((noinline)) void write_freed_large(long *p) { p[1000] = 42; }
static __attribute__((noinline)) void read_freed_by_other_thread(long *p) { sink = p[0]; }

static void *allocate_in_thread(void *unused)
{
    (void)unused;
    long *p = mgc_alloc(64);
    p[0] = 7;
    /* The thread keeps the span in its cache while it lives: main's free
     * goes through the span's freed bitmap. */
    return p;
}

int main(void)
{
    long *live = mgc_alloc(48);
    live[5] = 1;
    sink = live[5];

    long *small = mgc_alloc(48);
    small[1] = 1;
    mgc_free(small);
    read_freed_small(small);

    long *large = mgc_alloc(100000);
    large[1000] = 1;
    mgc_free(large);
    write_freed_large(large);

    pthread_t t;
    void *result;
    pthread_create(&t, NULL, allocate_in_thread, NULL);
    pthread_join(t, &result);
    long *other = result;
    mgc_free(other);
    read_freed_by_other_thread(other);

    mgc_collect();
    long *after = mgc_alloc(48);
    memset(after, 1, 48);
    sink = after[5] + live[5];
    puts("done");
    return 0;
}

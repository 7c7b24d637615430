/* example.c: a linked list on the mgc heap. Build it against an installed
 * mgc with:  cc example.c $(pkg-config --cflags --libs mgc) -lpthread -ldl */
#include <mgc.h>
#include <stdio.h>
#include <string.h>

struct node {
    struct node *next;
    char *name; /* noscan string: holds no pointers */
};

int main(void)
{
    struct node *list = NULL;
    const char *names[] = {"ada", "grace", "barbara", "edsger"};
    for (int i = 0; i < 4; i++) {
        struct node *n = mgc_alloc(sizeof *n); /* zeroed, scanned */
        n->name = mgc_strdup(names[i]);        /* short strings share tiny blocks */
        n->next = list;
        list = n;
    }
    for (struct node *n = list; n; n = n->next)
        printf("%s\n", n->name);
    list = NULL;   /* nothing is freed by hand: */
    mgc_collect(); /* the collector reclaims what is no longer reachable */

    struct mgc_stats stats;
    mgc_read_stats(&stats);
    printf("%llu objects allocated, %llu packed by the tiny allocator, %llu collection(s)\n",
           (unsigned long long)stats.mallocs, (unsigned long long)stats.tiny_allocs,
           (unsigned long long)stats.num_gc);
    return 0;
}

/* hello.c: the smallest Boehm GC program, built through pkg-config, as C and
 * as C++, shared and static. */
#include <gc.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    GC_INIT();
    char *s = (char *)GC_MALLOC_ATOMIC(32);
    strcpy(s, "hello from mgc");
    GC_gcollect();
    puts(s);
    return GC_base(s) == s ? 0 : 1;
}

/*
 * init.c: bringing mgc up, once, on the first call from any thread.
 */
#include "mgc_internal.h"

bool runtime_initialized;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void initialize(void)
{
    debug_parse_environment();
    central_init();
    cache_init();
    __atomic_store_n(&runtime_initialized, true, __ATOMIC_RELEASE);
}

void runtime_ensure_init(void)
{
    if (!__atomic_load_n(&runtime_initialized, __ATOMIC_ACQUIRE))
        pthread_once(&init_once, initialize);
}

void mgc_init(void)
{
    runtime_ensure_init();
}

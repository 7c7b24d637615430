/*
 * messages.c: Boehm's warning, abort and printing procedures. Warnings go
 * through the program's warn procedure (a printf format and one word);
 * GC_printf and the statistics dumps go to the log descriptor (stdout
 * unless GC_set_log_fd or GC_LOG_FILE says otherwise).
 */
#include "layer.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int layer_log_fd = 1;

static void GC_CALLBACK default_warn_proc(char *message, GC_word arg)
{
    fputs("GC Warning: ", stderr);
    fprintf(stderr, message, arg);
}

static void GC_CALLBACK default_abort_func(const char *message)
{
    if (message)
        fprintf(stderr, "%s\n", message);
}

static GC_warn_proc warn_proc = default_warn_proc;
GC_abort_func GC_on_abort = default_abort_func;

void GC_CALLBACK GC_ignore_warn_proc(char *message, GC_word arg)
{
    (void)message;
    (void)arg;
}

void GC_CALL GC_set_warn_proc(GC_warn_proc proc)
{
    if (proc)
        __atomic_store_n(&warn_proc, proc, __ATOMIC_RELEASE);
}

GC_warn_proc GC_CALL GC_get_warn_proc(void)
{
    return __atomic_load_n(&warn_proc, __ATOMIC_ACQUIRE);
}

void layer_warn(const char *format, GC_word arg)
{
    GC_warn_proc proc = __atomic_load_n(&warn_proc, __ATOMIC_ACQUIRE);
    proc((char *)format, arg);
}

void GC_CALL GC_set_abort_func(GC_abort_func fn)
{
    if (fn)
        __atomic_store_n(&GC_on_abort, fn, __ATOMIC_RELEASE);
}

GC_abort_func GC_CALL GC_get_abort_func(void)
{
    return __atomic_load_n(&GC_on_abort, __ATOMIC_ACQUIRE);
}

void layer_abort(const char *message)
{
    GC_abort_func fn = __atomic_load_n(&GC_on_abort, __ATOMIC_ACQUIRE);
    fn(message);
    abort();
}

void GC_CALL GC_abort_on_oom(void)
{
    fprintf(stderr, "GC: out of memory (GC_abort_on_oom)\n");
    abort();
}

void GC_CALL GC_set_log_fd(int fd)
{
    layer_log_fd = fd;
}

void GC_printf(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vdprintf(layer_log_fd, format, args);
    va_end(args);
}

void GC_log_printf(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vdprintf(layer_log_fd, format, args);
    va_end(args);
}

void GC_err_printf(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vdprintf(2, format, args);
    va_end(args);
}

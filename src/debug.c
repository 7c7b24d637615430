/*
 * debug.c: MGC_DEBUG settings and how mgc speaks on stderr.
 *
 * MGC_DEBUG is read once, at initialisation. A bad entry never stops the
 * program: it is reported once and ignored, and the setting keeps its
 * default. Messages are formatted into a buffer on the stack and written
 * with write(2), so reporting never allocates, even from inside the
 * allocator.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "mgc_internal.h"

struct debug_settings debug = {.tinyalloc = 1, .hugepages = 1};

void write_stderr(const char *fmt, ...)
{
    char buffer[512];
    va_list args;
    va_start(args, fmt);
    int n = vsnprintf(buffer, sizeof buffer, fmt, args);
    va_end(args);
    if (n < 0)
        return;
    size_t length = (size_t)n < sizeof buffer ? (size_t)n : sizeof buffer - 1;
    /* write(2) is a cancellation point, and some messages are written with
     * a lock held: a thread cancelled there would die holding it. */
    int cancel_state;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
    for (size_t done = 0; done < length;) {
        ssize_t w = write(2, buffer + done, length - done);
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    pthread_setcancelstate(cancel_state, NULL);
}

void report_bad_pointer(const char *operation, const void *p, const char *reason)
{
    write_stderr("mgc: %s of %p: %s\n", operation, p, reason);
    abort();
}

struct debug_key {
    const char *name;
    int *value;
    long max;
};

bool parse_decimal(const char *text, size_t length, uint64_t max, uint64_t *out)
{
    if (length == 0)
        return false;
    uint64_t n = 0;
    for (size_t i = 0; i < length; i++) {
        if (text[i] < '0' || text[i] > '9')
            return false;
        if (__builtin_mul_overflow(n, 10, &n) || __builtin_add_overflow(n, (uint64_t)(text[i] - '0'), &n))
            return false;
    }
    if (n > max)
        return false;
    *out = n;
    return true;
}

void debug_parse(const char *text, struct debug_settings *out)
{
    const struct debug_key keys[] = {
        {"gctrace", &out->gctrace, 2},
        {"tinyalloc", &out->tinyalloc, 1},
        {"efence", &out->efence, 1},
        {"gcprocs", &out->gcprocs, 64},
        {"collectevery", &out->collectevery, 1000000000},
        {"hugepages", &out->hugepages, 1},
        {"verify", &out->verify, 1},
        {"poison", &out->poison, 1},
    };
    const char *p = text;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t length = end ? (size_t)(end - p) : strlen(p);
        const char *equals = memchr(p, '=', length);
        size_t name_length = equals ? (size_t)(equals - p) : length;
        if (length == 0) {
            /* an empty entry (",," or a trailing comma) is harmless */
        } else if (!equals) {
            write_stderr("mgc: MGC_DEBUG: \"%.*s\" has no value (expected key=value)\n", (int)length, p);
        } else {
            const struct debug_key *key = NULL;
            for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
                if (strlen(keys[i].name) == name_length && memcmp(keys[i].name, p, name_length) == 0)
                    key = &keys[i];
            const char *value = equals + 1;
            size_t value_length = length - name_length - 1;
            uint64_t n;
            if (!key)
                write_stderr("mgc: MGC_DEBUG: unknown key \"%.*s\"\n", (int)name_length, p);
            else if (!parse_decimal(value, value_length, (uint64_t)key->max, &n))
                write_stderr("mgc: MGC_DEBUG: bad value \"%.*s\" for key \"%s\" (expected 0 to %ld)\n",
                             (int)value_length, value, key->name, key->max);
            else
                *key->value = (int)n;
        }
        if (!end)
            break;
        p = end + 1;
    }
}

void debug_parse_environment(void)
{
    const char *text = getenv("MGC_DEBUG");
    if (text)
        debug_parse(text, &debug);
}

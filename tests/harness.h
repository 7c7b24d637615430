/*
 * harness.h: a small test harness in which every case runs in a process of
 * its own (fork), so that heap-global state, MGC_DEBUG settings and aborts
 * stay inside the case.
 *
 *   TEST(name) { CHECK(x); ... }           passes when it returns
 *   DEATH_TEST(name, "text") { ... }       passes when it aborts and its
 *                                          stderr contains "text"
 *   ENV_TEST(name, "MGC_DEBUG=...") {...}  runs with that variable set
 *
 * A test binary run with no arguments runs every case and ends with
 * "N passed, N failed"; with a case name, it runs that case in-process
 * (for a debugger).
 */
#ifndef MGC_TEST_HARNESS_H
#define MGC_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

typedef void (*test_fn)(void);

void harness_register(const char *name, test_fn fn, const char *death_text, const char *env);

#define TEST_CASE(name, death, env)                                                  \
    static void test_##name(void);                                                   \
    __attribute__((constructor)) static void register_##name(void)                   \
    {                                                                                \
        harness_register(#name, test_##name, death, env);                            \
    }                                                                                \
    static void test_##name(void)

#define TEST(name) TEST_CASE(name, NULL, NULL)
#define DEATH_TEST(name, text) TEST_CASE(name, text, NULL)
#define ENV_TEST(name, env) TEST_CASE(name, NULL, env)

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            exit(1);                                                                 \
        }                                                                            \
    } while (0)

#define CHECK_EQ(a, b)                                                               \
    do {                                                                             \
        unsigned long long check_a = (unsigned long long)(a);                        \
        unsigned long long check_b = (unsigned long long)(b);                        \
        if (check_a != check_b) {                                                    \
            fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %s (%llu vs %llu)\n",      \
                    __FILE__, __LINE__, #a, #b, check_a, check_b);                   \
            exit(1);                                                                 \
        }                                                                            \
    } while (0)

/* Run fn in a child process; capture its stderr (up to size bytes). Returns
 * the raw wait status. */
int run_in_child(void (*fn)(void *), void *arg, char *stderr_text, size_t size);

/* Overwrite the stack below the caller with zeros, so that dead pointers a
 * test's earlier calls left there do not keep objects alive for a
 * conservative collector. */
void scrub_stack(void);

/* XOR with HIDE to keep an address where the conservative scan cannot
 * recognise it (the result is never a heap address), and again to get it
 * back: how a test remembers objects it means to let die. */
#define HIDE ((uintptr_t)0x5A5A5A5A5A5A5A5Aull)

/* A 64-bit linear congruential generator: the same sequence on every run.
 * Returns the new state; its high bits are the random ones. */
static inline uint64_t random_next(uint64_t *state)
{
    *state = *state * 6364136223846793005ull + 1442695040888963407ull;
    return *state;
}

/* A pattern byte for address a under seed: what a live object holds. */
static inline unsigned char pattern_byte(uintptr_t a, unsigned seed)
{
    uint64_t x = (a ^ seed) * 0x9E3779B97F4A7C15ull;
    return (unsigned char)(x >> 56);
}

static inline void fill_pattern(void *p, size_t n, unsigned seed)
{
    unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        b[i] = pattern_byte((uintptr_t)&b[i], seed);
}

static inline bool check_pattern(const void *p, size_t n, unsigned seed)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != pattern_byte((uintptr_t)&b[i], seed))
            return false;
    return true;
}

static inline bool all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return false;
    return true;
}

#endif

/*
 * standalone.c: a main() for the fuzz target where clang's libFuzzer
 * runtime is missing, so that CI still runs it (make fuzz-ci builds this
 * driver instead when a test link with -fsanitize=fuzzer fails).
 *
 * It takes the libFuzzer flags the Makefile uses (-runs=N, -seed=N,
 * -max_len=N, -max_total_time=S, -artifact_prefix=P; others are ignored)
 * and corpus directories or files. Every corpus input runs once; then, up
 * to -runs inputs in all, it runs mutations of them (bytes changed,
 * inserted, erased, two inputs spliced) drawn from a seeded PRNG. There is
 * no coverage feedback: it only replays and perturbs. Given only files and
 * no -runs, it runs those files and stops, as libFuzzer does.
 *
 * An input that fails (abort, or a sanitizer report) is written to
 * <artifact_prefix>crash-standalone before the process dies.
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<sanitizer/common_interface_defs.h>)
#include <sanitizer/common_interface_defs.h>
#define HAVE_SANITIZER_DEATH_CALLBACK 1
#endif
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct corpus {
    uint8_t **data;
    size_t *size;
    size_t count, capacity;
};

/* The input being run, for the crash handlers. */
static const uint8_t *current_data;
static size_t current_size;
static char crash_path[4096] = "crash-standalone";

static void save_current_input(void)
{
    int fd = open(crash_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return;
    for (size_t done = 0; done < current_size;) {
        ssize_t n = write(fd, current_data + done, current_size - done);
        if (n <= 0)
            break;
        done += (size_t)n;
    }
    close(fd);
    static const char note[] = "standalone: the failing input is in the file named by -artifact_prefix, crash-standalone\n";
    if (write(2, note, sizeof note - 1) < 0) {
        /* nothing more to do while dying */
    }
}

static void on_fatal_signal(int signal_number)
{
    save_current_input();
    signal(signal_number, SIG_DFL);
    raise(signal_number);
}

static uint64_t random_state;

static uint64_t next_random(void)
{
    random_state = random_state * 6364136223846793005ull + 1442695040888963407ull;
    return random_state >> 17;
}

static void add_input(struct corpus *c, const uint8_t *data, size_t size)
{
    if (c->count == c->capacity) {
        c->capacity = c->capacity ? 2 * c->capacity : 64;
        c->data = realloc(c->data, c->capacity * sizeof *c->data);
        c->size = realloc(c->size, c->capacity * sizeof *c->size);
        if (!c->data || !c->size) {
            fprintf(stderr, "standalone: out of memory\n");
            exit(2);
        }
    }
    c->data[c->count] = malloc(size ? size : 1);
    if (!c->data[c->count]) {
        fprintf(stderr, "standalone: out of memory\n");
        exit(2);
    }
    memcpy(c->data[c->count], data, size);
    c->size[c->count++] = size;
}

static void add_file(struct corpus *c, const char *path, size_t max_len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return;
    uint8_t *buffer = malloc(max_len ? max_len : 1);
    size_t n = buffer ? fread(buffer, 1, max_len, f) : 0;
    fclose(f);
    if (buffer)
        add_input(c, buffer, n);
    free(buffer);
}

static void add_path(struct corpus *c, const char *path, size_t max_len, int *directories)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return;
    if (!S_ISDIR(st.st_mode)) {
        add_file(c, path, max_len);
        return;
    }
    (*directories)++;
    DIR *dir = opendir(path);
    if (!dir)
        return;
    for (struct dirent *e; (e = readdir(dir));) {
        if (e->d_name[0] == '.')
            continue;
        char child[4096];
        snprintf(child, sizeof child, "%s/%s", path, e->d_name);
        add_file(c, child, max_len);
    }
    closedir(dir);
}

static void run_one(const uint8_t *data, size_t size)
{
    current_data = data;
    current_size = size;
    LLVMFuzzerTestOneInput(data, size);
}

/* A mutation of a corpus input (or of nothing) into buffer; its length. */
static size_t mutate(const struct corpus *c, uint8_t *buffer, size_t max_len)
{
    size_t size = 0;
    if (c->count) {
        size_t k = next_random() % c->count;
        size = c->size[k] < max_len ? c->size[k] : max_len;
        memcpy(buffer, c->data[k], size);
    }
    int changes = 1 + (int)(next_random() % 8);
    for (int i = 0; i < changes; i++) {
        switch (next_random() % 5) {
        case 0: /* change a byte */
            if (size)
                buffer[next_random() % size] = (uint8_t)next_random();
            break;
        case 1: /* insert bytes */
            for (int n = 1 + (int)(next_random() % 8); n > 0 && size < max_len; n--) {
                size_t at = size ? next_random() % (size + 1) : 0;
                memmove(buffer + at + 1, buffer + at, size - at);
                buffer[at] = (uint8_t)next_random();
                size++;
            }
            break;
        case 2: /* erase bytes */
            if (size > 1) {
                size_t at = next_random() % size, n = 1 + next_random() % 4;
                if (at + n > size)
                    n = size - at;
                memmove(buffer + at, buffer + at + n, size - at - n);
                size -= n;
            }
            break;
        case 3: /* splice the tail of another input */
            if (c->count && size) {
                size_t k = next_random() % c->count, at = next_random() % size;
                size_t n = c->size[k] < max_len - at ? c->size[k] : max_len - at;
                memcpy(buffer + at, c->data[k], n);
                size = at + n;
            }
            break;
        default: /* flip a bit */
            if (size)
                buffer[next_random() % size] ^= (uint8_t)(1u << (next_random() % 8));
            break;
        }
    }
    return size;
}

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

int main(int argc, char **argv)
{
    long long runs = -1;
    unsigned long long seed = 0;
    size_t max_len = 4096;
    double max_seconds = 0;
    struct corpus corpus = {0};
    int directories = 0, files = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "-runs=", 6) == 0)
            runs = atoll(a + 6);
        else if (strncmp(a, "-seed=", 6) == 0)
            seed = strtoull(a + 6, NULL, 10);
        else if (strncmp(a, "-max_len=", 9) == 0)
            max_len = (size_t)atoll(a + 9);
        else if (strncmp(a, "-max_total_time=", 16) == 0)
            max_seconds = atof(a + 16);
        else if (strncmp(a, "-artifact_prefix=", 17) == 0)
            snprintf(crash_path, sizeof crash_path, "%scrash-standalone", a + 17);
        else if (a[0] == '-')
            continue; /* a libFuzzer flag this driver does without */
        else
            files++;
    }
    if (max_len == 0)
        max_len = 4096;
    LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 1; i < argc; i++)
        if (argv[i][0] != '-')
            add_path(&corpus, argv[i], max_len, &directories);
    signal(SIGABRT, on_fatal_signal);
    signal(SIGSEGV, on_fatal_signal);
    signal(SIGBUS, on_fatal_signal);
#ifdef HAVE_SANITIZER_DEATH_CALLBACK
    __sanitizer_set_death_callback(save_current_input);
#endif
    random_state = seed ? seed : (uint64_t)time(NULL);
    fprintf(stderr, "standalone: seed %llu, %zu corpus inputs\n", (unsigned long long)random_state, corpus.count);
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    long long done = 0;
    for (size_t k = 0; k < corpus.count && (runs < 0 || done < runs); k++, done++)
        run_one(corpus.data[k], corpus.size[k]);
    bool only_files = files > 0 && directories == 0 && runs < 0;
    uint8_t *buffer = malloc(max_len);
    while (!only_files && buffer && (runs < 0 || done < runs) && (max_seconds <= 0 || seconds_since(&start) < max_seconds)) {
        size_t size = mutate(&corpus, buffer, max_len);
        run_one(buffer, size);
        done++;
        if ((done & (done - 1)) == 0)
            fprintf(stderr, "#%lld\t%.0f exec/s\n", done, (double)done / (seconds_since(&start) + 1e-9));
    }
    double elapsed = seconds_since(&start);
    fprintf(stderr, "Done %lld runs in %.0f second(s) (%.0f exec/s)\n", done, elapsed, (double)done / (elapsed + 1e-9));
    current_data = NULL;
    current_size = 0;
    free(buffer);
    for (size_t k = 0; k < corpus.count; k++)
        free(corpus.data[k]);
    free(corpus.data);
    free(corpus.size);
    return 0;
}

/*
 * workload_json.c: decode a JSON document into a tree of collected objects,
 * encode the tree back to text and check the round trip, as a Go service
 * does with encoding/json into interface{}.
 *
 * The input, generated once by setup from a fixed seed, is a profile tree:
 * every node an object with a short name, a weight, four counters and a
 * list of children, about 115 bytes of compact JSON per node (~2 MB at
 * scale 1). It lives in malloc'd memory, outside the collected heap, and
 * every worker reads it at once.
 *
 * The decoded tree is a generic DOM. Containers hold (kind, pointer) pairs
 * inline; every string, keys included, and every number is an object of its
 * own, so most requests are tiny noscan ones, as they are in Go. The encoder
 * grows its text by doubling a noscan buffer, as bytes.Buffer does. A worker
 * keeps its previous tree live while it builds the next, so collections
 * find a whole tree to mark besides the one in progress.
 */
#include <math.h>
#include <string.h>

#include "workload.h"

enum json_kind {
    JSON_ABSENT, /* no tree yet: a worker before its first operation */
    JSON_NULL, JSON_FALSE, JSON_TRUE,
    JSON_INTEGER, /* data: int64_t */
    JSON_DOUBLE,  /* data: double */
    JSON_STRING,  /* data: NUL-terminated bytes */
    JSON_ARRAY,   /* data: struct json_array */
    JSON_OBJECT,  /* data: struct json_object */
};

struct json_value {
    uintptr_t kind;
    void *data;
};

struct json_array {
    size_t count;
    struct json_value items[];
};

struct json_member {
    char *key;
    struct json_value value;
};

struct json_object {
    size_t count;
    struct json_member members[];
};

/* ---- The input ------------------------------------------------------------ */

#define FULL_SIZE_BYTES (2u << 20)
#define BYTES_PER_NODE 115 /* measured average of the generator's output */
#define MIN_NODES 8
#define MAX_FANOUT 6
#define GENERATOR_SEED 0x6a736f6e2d6d6763u

/* Written by setup, then only read. */
static char *input_text;
static size_t input_length;

struct generator {
    uint64_t random_state; /* splitmix64 */
    char *text;            /* malloc'd */
    size_t length, capacity;
};

static uint64_t random_below(struct generator *g, uint64_t bound)
{
    uint64_t z = (g->random_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return (z ^ (z >> 31)) % bound;
}

/* Profile counters spread over many orders of magnitude, so their text
 * lengths vary too. */
static long long random_magnitude(struct generator *g, unsigned max_bits)
{
    return (long long)random_below(g, (uint64_t)1 << random_below(g, max_bits + 1));
}

/* Room for MORE bytes: 0, or -1 when malloc fails. */
static int make_room(struct generator *g, size_t more)
{
    if (g->capacity - g->length >= more)
        return 0;
    size_t capacity = 2 * g->capacity + more;
    char *grown = realloc(g->text, capacity);
    if (!grown)
        return -1;
    g->text = grown;
    g->capacity = capacity;
    return 0;
}

/* A node whose subtree holds NODES nodes: its children split the rest at
 * random, the first ones taking the larger shares, so that a few hot paths
 * run deep and most nodes are leaves. 0, or -1 when malloc fails. */
static int generate_node(struct generator *g, uint64_t nodes)
{
    static const char *const prefixes[] = {"fn", "op", "gc", "io", "rt", "mgc", "scan", "emit", "parse", "sweep"};
    const char *prefix = prefixes[random_below(g, sizeof prefixes / sizeof prefixes[0])];
    /* 2 to 6 hex digits, and at most 12 characters in all */
    size_t prefix_length = strlen(prefix), max_digits = 11 - prefix_length < 6 ? 11 - prefix_length : 6;
    size_t digits = 2 + (size_t)random_below(g, max_digits - 1);
    char suffix[7];
    for (size_t i = 0; i < digits; i++)
        suffix[i] = "0123456789abcdef"[random_below(g, 16)];
    suffix[digits] = '\0';
    /* An odd number of 1024ths is never whole, so the weight always reads
     * back as a double, and %.17g prints it exactly. */
    double weight = (double)(2 * random_below(g, 1u << 16) + 1) / 1024.0;
    long long calls = 1 + random_magnitude(g, 30);
    long long samples = (long long)random_below(g, (uint64_t)calls + 1);
    long long min_ns = 20 + random_magnitude(g, 20);
    long long max_ns = min_ns + random_magnitude(g, 36);
    if (make_room(g, 256))
        return -1;
    g->length += (size_t)snprintf(g->text + g->length, g->capacity - g->length,
                                  "{\"name\":\"%s_%s\",\"weight\":%.17g,\"calls\":%lld,\"samples\":%lld,"
                                  "\"min_ns\":%lld,\"max_ns\":%lld,\"children\":[",
                                  prefix, suffix, weight, calls, samples, min_ns, max_ns);
    uint64_t remaining = nodes - 1;
    uint64_t fanout = remaining ? 1 + random_below(g, MAX_FANOUT) : 0;
    if (fanout > remaining)
        fanout = remaining;
    for (uint64_t child = 0; child < fanout; child++) {
        /* Leave at least one node for each child still to come. */
        uint64_t spare = remaining - (fanout - child);
        uint64_t share = child + 1 == fanout ? spare : random_below(g, spare + 1);
        if (child > 0)
            g->text[g->length++] = ','; /* in the room made after the last child */
        if (generate_node(g, 1 + share) || make_room(g, 3))
            return -1;
        remaining -= 1 + share;
    }
    memcpy(g->text + g->length, "]}", 3);
    g->length += 2;
    return 0;
}

static int json_setup(double scale)
{
    if (!(scale > 0 && scale < 1e6)) {
        fprintf(stderr, "json: scale %g is out of range\n", scale);
        return -1;
    }
    double wanted = scale * FULL_SIZE_BYTES / BYTES_PER_NODE;
    struct generator g = {.random_state = GENERATOR_SEED};
    if (generate_node(&g, wanted < MIN_NODES ? MIN_NODES : (uint64_t)wanted)) {
        fprintf(stderr, "json: out of memory generating the input\n");
        free(g.text);
        return -1;
    }
    free(input_text);
    input_text = g.text;
    input_length = g.length;
    return 0;
}

/* ---- Decoding ------------------------------------------------------------- */

#define MAX_NESTING 1000

struct decoder {
    const char *start, *cursor, *end;
    const char *error; /* the first problem found */
    size_t error_offset;
    /* The children of the containers still open, innermost last (an array's
     * with no key). Collected and scanned, so that each child stays
     * reachable until it moves into its container, which is allocated at its
     * exact size once it closes. */
    struct json_member *pending;
    size_t pending_count, pending_capacity;
};

static int decode_value(struct decoder *d, struct json_value *out, int depth);

static int fail(struct decoder *d, const char *why)
{
    d->error = why;
    d->error_offset = (size_t)(d->cursor - d->start);
    return -1;
}

static int peek(const struct decoder *d)
{
    return d->cursor < d->end ? (unsigned char)*d->cursor : -1;
}

static void skip_whitespace(struct decoder *d)
{
    while (d->cursor < d->end &&
           (*d->cursor == ' ' || *d->cursor == '\n' || *d->cursor == '\r' || *d->cursor == '\t'))
        d->cursor++;
}

/* \u00XX for ASCII only: the DOM keeps strings NUL-terminated and does not
 * encode UTF-8, so \u0000 and anything past 0x7f are refused (-1). */
static int unicode_escape(const char *digits)
{
    int value = 0;
    for (int i = 0; i < 4; i++) {
        const char *hex = "0123456789abcdef0123456789ABCDEF";
        const char *found = digits[i] ? strchr(hex, digits[i]) : NULL;
        if (!found)
            return -1;
        value = value * 16 + (int)((found - hex) % 16);
    }
    return value >= 1 && value <= 0x7f ? value : -1;
}

/* The character that \C stands for, or 0. */
static char simple_escape(char c)
{
    const char *names = "\"\\/bfnrt", *meanings = "\"\\/\b\f\n\r\t";
    const char *found = c ? strchr(names, c) : NULL;
    return found ? meanings[found - names] : 0;
}

static int decode_string(struct decoder *d, char **out)
{
    const char *begin = ++d->cursor, *p = begin;
    size_t length = 0;
    int escaped = 0;
    /* The first pass validates and measures, so that the string gets one
     * allocation of its exact size and the second pass need not check. */
    for (; p < d->end && *p != '"'; length++) {
        if ((unsigned char)*p < 0x20)
            return d->cursor = p, fail(d, "control character in a string");
        if (*p != '\\') {
            p++;
        } else if (d->end - p >= 6 && p[1] == 'u' && unicode_escape(p + 2) >= 0) {
            p += 6, escaped = 1;
        } else if (d->end - p >= 2 && p[1] != 'u' && simple_escape(p[1])) {
            p += 2, escaped = 1;
        } else {
            return d->cursor = p, fail(d, "escape other than \\\" \\\\ \\/ \\b \\f \\n \\r \\t or ASCII \\u00XX");
        }
    }
    if (p >= d->end)
        return d->cursor = p, fail(d, "unterminated string");
    char *string = workload_alloc_noscan(length + 1);
    if (!escaped) {
        memcpy(string, begin, length);
    } else {
        char *to = string;
        for (const char *from = begin; from < p;) {
            if (*from != '\\')
                *to++ = *from++;
            else if (from[1] == 'u')
                *to++ = (char)unicode_escape(from + 2), from += 6;
            else
                *to++ = simple_escape(from[1]), from += 2;
        }
    }
    string[length] = '\0';
    d->cursor = p + 1;
    *out = string;
    return 0;
}

static int skip_digits(struct decoder *d)
{
    const char *first = d->cursor;
    while (d->cursor < d->end && *d->cursor >= '0' && *d->cursor <= '9')
        d->cursor++;
    return d->cursor > first ? 0 : fail(d, "digit expected in a number");
}

static int decode_number(struct decoder *d, struct json_value *out)
{
    const char *token = d->cursor;
    int negative = peek(d) == '-', is_double = 0;
    d->cursor += negative;
    const char *digits = d->cursor;
    if (peek(d) == '0')
        d->cursor++;
    else if (skip_digits(d))
        return -1;
    const char *digits_end = d->cursor;
    if (peek(d) == '.') {
        is_double = 1;
        d->cursor++;
        if (skip_digits(d))
            return -1;
    }
    if (peek(d) == 'e' || peek(d) == 'E') {
        is_double = 1;
        d->cursor++;
        d->cursor += peek(d) == '+' || peek(d) == '-';
        if (skip_digits(d))
            return -1;
    }
    if (is_double) {
        /* strtod reads until a character stops it, which may lie past the
         * end of the text: it gets a NUL-terminated copy. */
        char copy[64], *parsed_end;
        size_t length = (size_t)(d->cursor - token);
        if (length >= sizeof copy)
            return d->cursor = token, fail(d, "number longer than 63 characters");
        memcpy(copy, token, length);
        copy[length] = '\0';
        double number = strtod(copy, &parsed_end);
        if (parsed_end != copy + length || !isfinite(number))
            return d->cursor = token, fail(d, "number out of the range of a double");
        double *box = workload_alloc_noscan(sizeof *box);
        *box = number;
        *out = (struct json_value){JSON_DOUBLE, box};
        return 0;
    }
    uint64_t limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, magnitude = 0;
    for (const char *p = digits; p < digits_end; p++) {
        unsigned digit = (unsigned)(*p - '0');
        if (magnitude > (limit - digit) / 10)
            return d->cursor = token, fail(d, "integer out of the range of int64");
        magnitude = magnitude * 10 + digit;
    }
    int64_t *box = workload_alloc_noscan(sizeof *box);
    *box = negative ? -(int64_t)(magnitude - 1) - 1 : (int64_t)magnitude;
    *out = (struct json_value){JSON_INTEGER, box};
    return 0;
}

static int decode_literal(struct decoder *d, const char *word, enum json_kind kind, struct json_value *out)
{
    size_t length = strlen(word);
    if ((size_t)(d->end - d->cursor) < length || memcmp(d->cursor, word, length) != 0)
        return fail(d, "unexpected word");
    d->cursor += length;
    *out = (struct json_value){kind, NULL};
    return 0;
}

/* An array or an object, the cursor on its opening bracket. */
static int decode_container(struct decoder *d, struct json_value *out, int depth)
{
    int is_object = *d->cursor == '{';
    char close = is_object ? '}' : ']';
    size_t first = d->pending_count;
    d->cursor++;
    skip_whitespace(d);
    int more = peek(d) != close;
    d->cursor += !more;
    while (more) {
        if (d->pending_count == d->pending_capacity) {
            struct json_member *grown = workload_alloc(2 * d->pending_capacity * sizeof *grown);
            memcpy(grown, d->pending, d->pending_count * sizeof *grown);
            d->pending = grown;
            d->pending_capacity *= 2;
        }
        /* A slot, not a local, holds the key while the value is decoded:
         * decoding allocates, and the slot is sure to be scanned. */
        size_t slot = d->pending_count++;
        d->pending[slot] = (struct json_member){NULL, {JSON_ABSENT, NULL}};
        if (is_object) {
            skip_whitespace(d);
            if (peek(d) != '"')
                return fail(d, "string key expected in an object");
            if (decode_string(d, &d->pending[slot].key))
                return -1;
            skip_whitespace(d);
            if (peek(d) != ':')
                return fail(d, "':' expected after a key");
            d->cursor++;
        }
        struct json_value value;
        if (decode_value(d, &value, depth + 1))
            return -1;
        d->pending[slot].value = value;
        skip_whitespace(d);
        int c = peek(d);
        if (c != ',' && c != close)
            return fail(d, is_object ? "',' or '}' expected in an object"
                                     : "',' or ']' expected in an array");
        d->cursor++;
        more = c == ',';
    }
    size_t count = d->pending_count - first;
    if (is_object) {
        struct json_object *object = workload_alloc(sizeof *object + count * sizeof object->members[0]);
        object->count = count;
        memcpy(object->members, d->pending + first, count * sizeof object->members[0]);
        *out = (struct json_value){JSON_OBJECT, object};
    } else {
        struct json_array *array = workload_alloc(sizeof *array + count * sizeof array->items[0]);
        array->count = count;
        for (size_t i = 0; i < count; i++)
            array->items[i] = d->pending[first + i].value;
        *out = (struct json_value){JSON_ARRAY, array};
    }
    d->pending_count = first;
    return 0;
}

static int decode_value(struct decoder *d, struct json_value *out, int depth)
{
    if (depth > MAX_NESTING)
        return fail(d, "nested too deeply");
    skip_whitespace(d);
    int c = peek(d);
    char *string;
    switch (c) {
    case '{':
    case '[': return decode_container(d, out, depth);
    case 't': return decode_literal(d, "true", JSON_TRUE, out);
    case 'f': return decode_literal(d, "false", JSON_FALSE, out);
    case 'n': return decode_literal(d, "null", JSON_NULL, out);
    case '"':
        if (decode_string(d, &string))
            return -1;
        *out = (struct json_value){JSON_STRING, string};
        return 0;
    default:
        if (c == '-' || (c >= '0' && c <= '9'))
            return decode_number(d, out);
        return fail(d, c < 0 ? "unexpected end of the text" : "unexpected character");
    }
}

static int decode_document(const char *text, size_t length, struct json_value *out)
{
    struct decoder d = {.start = text, .cursor = text, .end = text + length, .pending_capacity = 64};
    d.pending = workload_alloc(d.pending_capacity * sizeof d.pending[0]);
    if (decode_value(&d, out, 0) == 0) {
        skip_whitespace(&d);
        if (d.cursor != d.end)
            fail(&d, "text after the document");
    }
    if (!d.error)
        return 0;
    fprintf(stderr, "json: malformed input at offset %zu: %s\n", d.error_offset, d.error);
    return -1;
}

/* ---- Encoding ------------------------------------------------------------- */

struct encoder {
    char *bytes; /* collected, noscan */
    size_t length, capacity;
};

/* Kept out of line so that the check in reserve, on every byte written,
 * stays small enough to inline. */
static void grow(struct encoder *e, size_t more)
{
    size_t capacity = e->capacity;
    while (capacity - e->length < more)
        capacity *= 2;
    char *grown = workload_alloc_noscan(capacity);
    memcpy(grown, e->bytes, e->length);
    e->bytes = grown;
    e->capacity = capacity;
}

/* Room for MORE bytes at the end, returned. */
static char *reserve(struct encoder *e, size_t more)
{
    if (e->capacity - e->length < more)
        grow(e, more);
    return e->bytes + e->length;
}

static void append(struct encoder *e, const char *bytes, size_t length)
{
    memcpy(reserve(e, length), bytes, length);
    e->length += length;
}

static void append_byte(struct encoder *e, char c)
{
    *reserve(e, 1) = c;
    e->length++;
}

static void encode_integer(struct encoder *e, int64_t value)
{
    char digits[24], *first = digits + sizeof digits;
    uint64_t magnitude = value < 0 ? 0 - (uint64_t)value : (uint64_t)value;
    do
        *--first = (char)('0' + magnitude % 10);
    while (magnitude /= 10);
    if (value < 0)
        *--first = '-';
    append(e, first, (size_t)(digits + sizeof digits - first));
}

static void encode_string(struct encoder *e, const char *string)
{
    append_byte(e, '"');
    const char *run = string, *p = string; /* run: bytes that need no escape */
    for (; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        append(e, run, (size_t)(p - run));
        run = p + 1;
        const char *named = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\b' ? "\\b" : c == '\f' ? "\\f"
                          : c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" : NULL;
        if (named) {
            append(e, named, 2);
        } else {
            char escape[6] = {'\\', 'u', '0', '0', "0123456789abcdef"[c >> 4], "0123456789abcdef"[c & 15]};
            append(e, escape, sizeof escape);
        }
    }
    append(e, run, (size_t)(p - run));
    append_byte(e, '"');
}

static void encode_value(struct encoder *e, const struct json_value *value)
{
    switch (value->kind) {
    case JSON_NULL: append(e, "null", 4); break;
    case JSON_FALSE: append(e, "false", 5); break;
    case JSON_TRUE: append(e, "true", 4); break;
    case JSON_INTEGER: encode_integer(e, *(const int64_t *)value->data); break;
    case JSON_DOUBLE: {
        /* 32 bytes hold the longest %.17g: -1.2345678901234567e-308 */
        int written = snprintf(reserve(e, 32), 32, "%.17g", *(const double *)value->data);
        e->length += (size_t)written;
        break;
    }
    case JSON_STRING: encode_string(e, value->data); break;
    case JSON_ARRAY: {
        const struct json_array *array = value->data;
        append_byte(e, '[');
        for (size_t i = 0; i < array->count; i++) {
            if (i > 0)
                append_byte(e, ',');
            encode_value(e, &array->items[i]);
        }
        append_byte(e, ']');
        break;
    }
    case JSON_OBJECT: {
        const struct json_object *object = value->data;
        append_byte(e, '{');
        for (size_t i = 0; i < object->count; i++) {
            if (i > 0)
                append_byte(e, ',');
            encode_string(e, object->members[i].key);
            append_byte(e, ':');
            encode_value(e, &object->members[i].value);
        }
        append_byte(e, '}');
        break;
    }
    }
}

/* Encodes TREE and compares the text with the input: 0, or -1 after
 * printing where they part. */
static int check_round_trip(const struct json_value *tree, int worker, const char *when)
{
    struct encoder e = {.capacity = 64};
    e.bytes = workload_alloc_noscan(e.capacity);
    encode_value(&e, tree);
    if (e.length == input_length && memcmp(e.bytes, input_text, input_length) == 0)
        return 0;
    size_t offset = 0;
    while (offset < e.length && offset < input_length && e.bytes[offset] == input_text[offset])
        offset++;
    int shown_input = (int)(input_length - offset < 40 ? input_length - offset : 40);
    int shown_encoded = (int)(e.length - offset < 40 ? e.length - offset : 40);
    fprintf(stderr,
            "json: worker %d, %s: the encoded text (%zu bytes) differs from the input (%zu bytes) at offset %zu:\n"
            "  input   \"%.*s\"\n  encoded \"%.*s\"\n",
            worker, when, e.length, input_length, offset, shown_input, input_text + offset, shown_encoded,
            e.bytes + offset);
    return -1;
}

/* ---- The workload ----------------------------------------------------------- */

struct json_worker {
    struct json_value previous; /* the last operation's tree, live through the next */
    intptr_t worker;
};

static void *json_worker_start(int worker, int workers)
{
    (void)workers; /* every worker decodes the whole document */
    if (!input_text) {
        fprintf(stderr, "json: worker %d started before setup\n", worker);
        return NULL;
    }
    struct json_worker *state = workload_alloc(sizeof *state);
    *state = (struct json_worker){{JSON_ABSENT, NULL}, worker};
    return state;
}

static int json_operation(void *opaque)
{
    struct json_worker *state = opaque;
    struct json_value tree;
    if (decode_document(input_text, input_length, &tree) != 0 ||
        check_round_trip(&tree, (int)state->worker, "operation") != 0)
        return -1;
    state->previous = tree;
    return 0;
}

static int json_worker_finish(void *opaque)
{
    struct json_worker *state = opaque;
    if (state->previous.kind == JSON_ABSENT)
        return 0; /* no operation ran: no tree to check */
    return check_round_trip(&state->previous, (int)state->worker, "finish");
}

const struct workload json_workload = {"json", json_setup, json_worker_start, json_operation, json_worker_finish};

/*
 * workload_garbage.c: a steady-state workload after Go's "garbage"
 * benchmark, which parsed Go source and kept about 64 MB of syntax trees
 * live while it parsed more.
 *
 * setup generates a corpus of C-like source (about 300 KB at scale 1) with
 * a fixed-seed PRNG, outside the collected heap, and parses it once: that
 * tree gives the checksum every later parse must match and the bytes one
 * tree takes. Each worker keeps a ring of trees, its share of 64 MB x scale;
 * an operation parses the corpus again and replaces the oldest tree, so
 * collections run at a constant live heap. Nodes are scanned objects;
 * identifiers and literals are their own noscan strings (all under 16 bytes
 * in this corpus, for mgc's tiny allocator); lists are collected arrays
 * grown by copying. Before a tree is dropped it is walked again: a changed
 * checksum means the collector freed something reachable.
 */
#include <stdarg.h>
#include <string.h>

#include "workload.h"

#define CORPUS_BYTES_AT_SCALE_1 300000.0
#define LIVE_BYTES_AT_SCALE_1 (64.0 * 1024 * 1024)
/* Deep enough for any generated program, shallow enough that neither the
 * parser nor the tree walk can run out of stack on hostile input. */
#define MAX_DEPTH 2000

enum node_kind {
    NODE_PROGRAM, NODE_FUNCTION, NODE_PARAMS, NODE_PARAM, NODE_BLOCK, NODE_DECL, NODE_ASSIGN,
    NODE_IF, NODE_WHILE, NODE_RETURN, NODE_EXPR_STMT, NODE_BINARY, NODE_UNARY, NODE_CALL,
    NODE_ARGS, NODE_IDENT, NODE_LITERAL, NODE_KIND_COUNT
};
#define NAMED_KINDS (1u << NODE_FUNCTION | 1u << NODE_PARAM | 1u << NODE_DECL | \
                     1u << NODE_CALL | 1u << NODE_IDENT | 1u << NODE_LITERAL)
#define LIST_KINDS (1u << NODE_PROGRAM | 1u << NODE_PARAMS | 1u << NODE_BLOCK | 1u << NODE_ARGS)

/* Sized by its children, as Go's AST nodes differ by kind: an identifier
 * takes 16 bytes, a binary expression 32, an if with an else 40. */
struct node {
    uint8_t kind;
    uint8_t op; /* the operator token of a binary or unary expression */
    uint16_t child_count;
    uint32_t item_count; /* list kinds */
    union {
        char *name;          /* named kinds */
        struct node **items; /* list kinds; its capacity may exceed item_count */
    } u;
    struct node *child[];
};

/* Keywords in the order of their table below. */
enum token {
    TOK_EOF, TOK_ERROR, TOK_IDENT, TOK_NUMBER, TOK_EQUAL, TOK_AND, TOK_OR,
    TOK_INT, TOK_IF, TOK_ELSE, TOK_WHILE, TOK_RETURN,
    TOK_LPAREN, TOK_RPAREN, TOK_LBRACE, TOK_RBRACE, TOK_COMMA, TOK_SEMI, TOK_ASSIGN,
    TOK_PLUS, TOK_MINUS, TOK_STAR, TOK_SLASH, TOK_LESS, TOK_NOT, TOK_COUNT
};
static const char *const keywords[] = {"int", "if", "else", "while", "return"};
static const uint8_t one_char_tokens[256] = {
    ['('] = TOK_LPAREN, [')'] = TOK_RPAREN, ['{'] = TOK_LBRACE, ['}'] = TOK_RBRACE,
    [','] = TOK_COMMA, [';'] = TOK_SEMI, ['='] = TOK_ASSIGN, ['+'] = TOK_PLUS, ['-'] = TOK_MINUS,
    ['*'] = TOK_STAR, ['/'] = TOK_SLASH, ['<'] = TOK_LESS, ['!'] = TOK_NOT,
};
static const uint8_t precedence[TOK_COUNT] = {
    [TOK_OR] = 1, [TOK_AND] = 2, [TOK_EQUAL] = 3, [TOK_LESS] = 4,
    [TOK_PLUS] = 5, [TOK_MINUS] = 5, [TOK_STAR] = 6, [TOK_SLASH] = 6,
};

/* Node count and a hash over kinds, operators, shapes and names in tree
 * post-order, the order in which the parser makes the nodes. */
struct checksum {
    uint64_t nodes, hash;
};

static uint64_t mix(uint64_t hash, uint64_t value)
{
    hash = (hash ^ value) * 0x100000001b3u;
    return hash ^ (hash >> 29);
}

static void hash_node(struct checksum *sum, const struct node *n)
{
    sum->nodes++;
    sum->hash = mix(sum->hash, n->kind | (uint64_t)n->op << 8 | (uint64_t)n->child_count << 16 |
                                   (uint64_t)n->item_count << 32);
    if (NAMED_KINDS >> n->kind & 1)
        for (const char *c = n->u.name; *c; c++)
            sum->hash = mix(sum->hash, (unsigned char)*c);
}

/* The read-only input every worker shares, written by setup alone. */
static char *corpus;
static size_t corpus_length;
static struct checksum corpus_checksum;
static double tree_bytes, live_bytes_target;

/* ---- Corpus generation ---------------------------------------------------------------- */

struct generator {
    char *text;
    size_t length, capacity;
    int indent, scope_count, function_count;
    uint64_t rng;
    char scope[64][13];     /* names a statement may use: parameters and locals */
    char functions[32][13]; /* recent function names, for calls */
};

static const char *const vocabulary[] = {
    "i", "j", "k", "n", "x", "y", "p", "q", "len", "sum", "max", "min", "pos", "key",
    "val", "tmp", "idx", "count", "total", "index", "limit", "offset", "result",
    "buffer", "cursor", "length", "parent", "weight", "counter", "capacity",
    "remaining", "accumulator", "hash", "left", "right", "depth", "flags", "state"};
#define VOCABULARY_SIZE ((int)(sizeof vocabulary / sizeof vocabulary[0]))
static const char *const binary_operators[] = {"+", "-", "*", "/", "<", "==", "&&", "||"};

static uint64_t next_random(struct generator *g) /* splitmix64 */
{
    uint64_t z = (g->rng += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static int below(struct generator *g, int n) { return (int)(next_random(g) % (uint64_t)n); }

__attribute__((format(printf, 2, 3))) static void emit(struct generator *g, const char *format, ...)
{
    char piece[64];
    va_list args;
    va_start(args, format);
    size_t n = (size_t)vsnprintf(piece, sizeof piece, format, args); /* pieces are short */
    va_end(args);
    if (g->length + n + 1 > g->capacity) {
        g->capacity = g->capacity ? 2 * g->capacity : 1u << 16;
        g->text = workload_check(realloc(g->text, g->capacity), g->capacity);
    }
    memcpy(g->text + g->length, piece, n + 1); /* the corpus stays NUL-terminated */
    g->length += n;
}

/* Half from the vocabulary, half made up, 1 to 12 characters, short ones
 * most often, as in real code. */
static void make_name(struct generator *g, char name[13])
{
    static const char letters[] = "abcdefghijklmnopqrstuvwxyz_0123456789";
    if (below(g, 2)) {
        strcpy(name, vocabulary[below(g, VOCABULARY_SIZE)]);
        return;
    }
    int length = 1 + below(g, 4) + (below(g, 3) ? 0 : below(g, 9));
    name[0] = letters[below(g, 27)]; /* not a digit */
    for (int i = 1; i < length; i++)
        name[i] = letters[below(g, (int)sizeof letters - 1)];
    name[length] = '\0';
    for (int k = 0; k < 5; k++)
        if (!strcmp(name, keywords[k]))
            strcat(name, "_");
}

static const char *variable(struct generator *g)
{
    if (g->scope_count && below(g, 10) < 8)
        return g->scope[below(g, g->scope_count)];
    return vocabulary[below(g, VOCABULARY_SIZE)];
}

static void emit_expression(struct generator *g, int depth);

static void emit_call(struct generator *g, int depth)
{
    char name[13];
    if (g->function_count && below(g, 10) < 7)
        strcpy(name, g->functions[below(g, g->function_count < 32 ? g->function_count : 32)]);
    else
        make_name(g, name);
    emit(g, "%s(", name);
    for (int i = 0, n = below(g, 4); i < n; i++) {
        emit(g, "%s", i ? ", " : "");
        emit_expression(g, depth + 1);
    }
    emit(g, ")");
}

/* Parentheses only now and then, so that the parser's precedence decides
 * the shape of most trees; literals mostly small, as in real code. */
static void emit_expression(struct generator *g, int depth)
{
    int r = below(g, 100);
    if (depth >= 4 || r < 35) {
        r = below(g, 100);
        if (r < 45)
            emit(g, "%s", variable(g));
        else if (r < 80 || depth >= 4)
            emit(g, "%d", below(g, below(g, 8) ? 100 : 100000));
        else
            emit_call(g, depth);
    } else if (r < 45) {
        emit(g, "%s", below(g, 2) ? "-" : "!");
        if (below(g, 3)) {
            emit_expression(g, 4);
        } else {
            emit(g, "(");
            emit_expression(g, depth + 1);
            emit(g, ")");
        }
    } else {
        int parenthesised = below(g, 4) == 0;
        emit(g, "%s", parenthesised ? "(" : "");
        emit_expression(g, depth + 1);
        emit(g, " %s ", binary_operators[below(g, 8)]);
        emit_expression(g, depth + 1);
        emit(g, "%s", parenthesised ? ")" : "");
    }
}

static void emit_block(struct generator *g, int depth);

static void emit_statement(struct generator *g, int depth)
{
    int r = below(g, 100);
    emit(g, "\n%*s", 4 * g->indent, "");
    if (r < 25) {
        char name[13];
        make_name(g, name);
        emit(g, "int %s", name);
        if (below(g, 4)) {
            emit(g, " = ");
            emit_expression(g, 0);
        }
        if (g->scope_count < 64)
            strcpy(g->scope[g->scope_count++], name);
    } else if (r < 48 && depth < 3) {
        emit(g, "%s (", r < 40 ? "if" : "while");
        emit_expression(g, 1);
        emit(g, ") ");
        emit_block(g, depth + 1);
        if (r < 40 && below(g, 3) == 0) {
            emit(g, " else ");
            emit_block(g, depth + 1);
        }
        return;
    } else if (r < 60) {
        emit_call(g, 1);
    } else if (r < 64) {
        emit(g, "return ");
        emit_expression(g, 0);
    } else {
        emit(g, "%s = ", variable(g));
        emit_expression(g, 0);
    }
    emit(g, ";");
}

static void emit_block(struct generator *g, int depth)
{
    int saved_scope = g->scope_count;
    emit(g, "{");
    g->indent++;
    for (int i = 0, n = 1 + below(g, depth ? 4 : 10); i < n; i++)
        emit_statement(g, depth);
    if (depth == 0) {
        emit(g, "\n    return ");
        emit_expression(g, 0);
        emit(g, ";");
    }
    g->indent--;
    emit(g, "\n%*s}", 4 * g->indent, "");
    g->scope_count = saved_scope;
}

static void emit_function(struct generator *g)
{
    char name[13];
    make_name(g, name);
    if (below(g, 3) == 0)
        emit(g, "// %s: generated\n", name);
    emit(g, "int %s(", name);
    g->scope_count = 0;
    for (int i = 0, n = below(g, 5); i < n; i++, g->scope_count++) {
        make_name(g, g->scope[g->scope_count]);
        emit(g, "%sint %s", i ? ", " : "", g->scope[g->scope_count]);
    }
    emit(g, ") ");
    emit_block(g, 0);
    emit(g, "\n\n");
    strcpy(g->functions[g->function_count++ % 32], name);
}

/* ---- Tokenizer and parser ------------------------------------------------------------- */

/* After the first error every token reads as the end, so the parse winds
 * down without a check at each step, and every node it makes is NULL. */
struct parser {
    const char *position, *end;
    int line, depth;
    enum token token;
    const char *token_start;
    size_t token_length;
    size_t live_bytes;   /* requested, and still in the tree */
    struct checksum sum; /* of the nodes made so far, which is the tree's post-order */
    const char *error;
    int error_line;
};

static void *fail(struct parser *p, const char *message)
{
    if (!p->error) {
        p->error = message;
        p->error_line = p->line;
    }
    p->token = TOK_EOF;
    return NULL;
}

static int is_letter(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* The corpus ends in a NUL, so the scan needs no bounds checks. */
static void next_token(struct parser *p)
{
    const char *s = p->position;
    if (p->error)
        return;
    for (;; s++) {
        if (*s == '\n')
            p->line++;
        else if (s[0] == '/' && s[1] == '/')
            while (s[1] && s[1] != '\n')
                s++;
        else if (*s != ' ' && *s != '\t' && *s != '\r')
            break;
    }
    p->token_start = s;
    if (is_letter(*s)) {
        while (is_letter(*s) || is_digit(*s))
            s++;
        size_t length = (size_t)(s - p->token_start);
        p->token = TOK_IDENT;
        for (int k = 0; k < 5; k++)
            if (keywords[k][0] == p->token_start[0] &&
                !strncmp(keywords[k], p->token_start, length) && !keywords[k][length])
                p->token = (enum token)(TOK_INT + k);
    } else if (is_digit(*s)) {
        while (is_digit(*s))
            s++;
        p->token = is_letter(*s) ? TOK_ERROR : TOK_NUMBER;
    } else if (*s == '\0') {
        p->token = s == p->end ? TOK_EOF : TOK_ERROR;
    } else if ((*s == '=' || *s == '&' || *s == '|') && s[1] == *s) {
        p->token = *s == '=' ? TOK_EQUAL : *s == '&' ? TOK_AND : TOK_OR;
        s += 2;
    } else {
        p->token = one_char_tokens[(unsigned char)*s++]; /* 0, TOK_EOF, for none */
        if (p->token == TOK_EOF)
            p->token = TOK_ERROR;
    }
    p->token_length = (size_t)(s - p->token_start);
    p->position = s;
    if (p->token == TOK_ERROR)
        fail(p, "unexpected character");
}

static void expect(struct parser *p, enum token token, const char *message)
{
    if (p->token != token)
        fail(p, message);
    next_token(p);
}

static void *tree_alloc(struct parser *p, size_t size, int scanned)
{
    p->live_bytes += size;
    return scanned ? workload_alloc(size) : workload_alloc_noscan(size);
}

/* The current token's text as a fresh noscan string: a tree must not point
 * into the corpus, which the collector does not own. */
static char *token_text(struct parser *p)
{
    char *text = tree_alloc(p, p->token_length + 1, 0);
    memcpy(text, p->token_start, p->token_length);
    text[p->token_length] = '\0';
    return text;
}

/* Every field is written: glibc malloc, a backend too, does not zero. */
static struct node *make_node(struct parser *p, enum node_kind kind, enum token op, char *name,
                              unsigned child_count, struct node *const *children)
{
    if (p->error)
        return NULL;
    struct node *n = tree_alloc(p, sizeof *n + child_count * sizeof n->child[0], 1);
    *n = (struct node){.kind = (uint8_t)kind, .op = (uint8_t)op,
                       .child_count = (uint16_t)child_count};
    n->u.name = name;
    for (unsigned i = 0; i < child_count; i++)
        n->child[i] = children[i];
    if (!(LIST_KINDS >> kind & 1)) /* a list is hashed once its items are in */
        hash_node(&p->sum, n);
    return n;
}

/* A list being built lives on the stack, where the collector sees it. */
struct list {
    struct node **items;
    uint32_t count, capacity;
};

static void list_append(struct parser *p, struct list *list, struct node *item)
{
    if (p->error)
        return;
    if (list->count == list->capacity) {
        uint32_t capacity = list->capacity ? 2 * list->capacity : 4;
        struct node **items = tree_alloc(p, capacity * sizeof *items, 1);
        if (list->count)
            memcpy(items, list->items, list->count * sizeof *items);
        p->live_bytes -= list->capacity * sizeof *items; /* the old array is garbage now */
        list->items = items;
        list->capacity = capacity;
    }
    list->items[list->count++] = item;
}

static struct node *list_node(struct parser *p, enum node_kind kind, struct list *list)
{
    struct node *n = make_node(p, kind, TOK_EOF, NULL, 0, NULL);
    if (n) {
        n->u.items = list->items;
        n->item_count = list->count;
        hash_node(&p->sum, n);
    }
    return n;
}

static struct node *parse_expression(struct parser *p, int min_precedence);
static struct node *parse_block(struct parser *p);

static struct node *parse_primary(struct parser *p)
{
    enum token token = p->token;
    if (token == TOK_LPAREN) {
        next_token(p);
        struct node *inner = parse_expression(p, 1);
        expect(p, TOK_RPAREN, "expected ')'");
        return inner;
    }
    if (token != TOK_NUMBER && token != TOK_IDENT)
        return fail(p, "expected an expression");
    char *name = token_text(p);
    next_token(p);
    if (token == TOK_NUMBER || p->token != TOK_LPAREN)
        return make_node(p, token == TOK_NUMBER ? NODE_LITERAL : NODE_IDENT, TOK_EOF, name, 0,
                         NULL);
    struct list args = {0};
    next_token(p);
    while (p->token != TOK_RPAREN && p->token != TOK_EOF) {
        if (args.count)
            expect(p, TOK_COMMA, "expected ',' or ')' after an argument");
        list_append(p, &args, parse_expression(p, 1));
    }
    expect(p, TOK_RPAREN, "expected ')' after the arguments");
    struct node *arguments = list_node(p, NODE_ARGS, &args);
    return make_node(p, NODE_CALL, TOK_EOF, name, 1, &arguments);
}

/* Precedence climbing. Nesting and left-associative chains both deepen the
 * tree, so both count towards MAX_DEPTH. */
static struct node *parse_expression(struct parser *p, int min_precedence)
{
    int saved_depth = p->depth;
    if (++p->depth > MAX_DEPTH)
        return fail(p, "expression nested too deeply");
    struct node *left;
    if (p->token == TOK_MINUS || p->token == TOK_NOT) {
        enum token op = p->token;
        next_token(p);
        struct node *operand = parse_expression(p, 7); /* binds tighter than any operator */
        left = make_node(p, NODE_UNARY, op, NULL, 1, &operand);
    } else {
        left = parse_primary(p);
    }
    while (precedence[p->token] >= min_precedence) { /* min_precedence >= 1 */
        enum token op = p->token;
        next_token(p);
        struct node *right = parse_expression(p, precedence[op] + 1);
        left = make_node(p, NODE_BINARY, op, NULL, 2, (struct node *[]){left, right});
        if (++p->depth > MAX_DEPTH)
            return fail(p, "expression nested too deeply");
    }
    p->depth = saved_depth;
    return left;
}

/* A declaration, return, assignment or expression, up to its ';'. */
static struct node *parse_simple_statement(struct parser *p)
{
    enum node_kind kind = NODE_EXPR_STMT;
    struct node *target = NULL, *value = NULL;
    char *name = NULL;
    if (p->token == TOK_INT) {
        kind = NODE_DECL;
        next_token(p);
        if (p->token != TOK_IDENT)
            return fail(p, "expected a name after 'int'");
        name = token_text(p);
        next_token(p);
        if (p->token == TOK_ASSIGN) {
            next_token(p);
            value = parse_expression(p, 1);
        }
    } else if (p->token == TOK_RETURN) {
        kind = NODE_RETURN;
        next_token(p);
        if (p->token != TOK_SEMI)
            value = parse_expression(p, 1);
    } else {
        value = parse_expression(p, 1);
        if (p->token == TOK_ASSIGN) {
            if (value->kind != NODE_IDENT) /* no error yet, so value is a node */
                return fail(p, "can only assign to a name");
            kind = NODE_ASSIGN;
            target = value;
            next_token(p);
            value = parse_expression(p, 1);
        }
    }
    expect(p, TOK_SEMI, "expected ';'");
    struct node *children[2] = {target ? target : value, value};
    return make_node(p, kind, TOK_EOF, name, (target != NULL) + (value != NULL), children);
}

static struct node *parse_statement(struct parser *p)
{
    struct node *n;
    if (++p->depth > MAX_DEPTH) /* blocks and else-if chains nest through here */
        return fail(p, "statements nested too deeply");
    if (p->token == TOK_LBRACE) {
        n = parse_block(p);
    } else if (p->token == TOK_IF || p->token == TOK_WHILE) {
        enum node_kind kind = p->token == TOK_IF ? NODE_IF : NODE_WHILE;
        next_token(p);
        expect(p, TOK_LPAREN, "expected '('");
        struct node *condition = parse_expression(p, 1), *otherwise = NULL;
        expect(p, TOK_RPAREN, "expected ')'");
        struct node *body = parse_block(p);
        if (kind == NODE_IF && p->token == TOK_ELSE) {
            next_token(p);
            otherwise = p->token == TOK_IF ? parse_statement(p) : parse_block(p);
        }
        n = make_node(p, kind, TOK_EOF, NULL, otherwise ? 3 : 2,
                      (struct node *[]){condition, body, otherwise});
    } else {
        n = parse_simple_statement(p);
    }
    p->depth--;
    return n;
}

static struct node *parse_block(struct parser *p)
{
    struct list statements = {0};
    expect(p, TOK_LBRACE, "expected '{'");
    while (p->token != TOK_RBRACE && p->token != TOK_EOF)
        list_append(p, &statements, parse_statement(p));
    expect(p, TOK_RBRACE, "expected '}'");
    return list_node(p, NODE_BLOCK, &statements);
}

static struct node *parse_function(struct parser *p)
{
    struct list params = {0};
    expect(p, TOK_INT, "expected 'int' before a function");
    if (p->token != TOK_IDENT)
        return fail(p, "expected a function name");
    char *name = token_text(p);
    next_token(p);
    expect(p, TOK_LPAREN, "expected '(' after the function name");
    while (p->token != TOK_RPAREN && p->token != TOK_EOF) {
        if (params.count)
            expect(p, TOK_COMMA, "expected ',' or ')' after a parameter");
        expect(p, TOK_INT, "expected 'int' before a parameter");
        if (p->token != TOK_IDENT)
            return fail(p, "expected a parameter name");
        list_append(p, &params, make_node(p, NODE_PARAM, TOK_EOF, token_text(p), 0, NULL));
        next_token(p);
    }
    expect(p, TOK_RPAREN, "expected ')' after the parameters");
    struct node *children[2] = {list_node(p, NODE_PARAMS, &params), NULL};
    children[1] = parse_block(p);
    return make_node(p, NODE_FUNCTION, TOK_EOF, name, 2, children);
}

/* The corpus's tree and its checksum, or NULL after printing why the text
 * is malformed. */
static struct node *parse(struct checksum *sum, size_t *live_bytes)
{
    struct parser p = {.position = corpus, .end = corpus + corpus_length, .line = 1};
    struct list functions = {0};
    next_token(&p);
    while (p.token != TOK_EOF)
        list_append(&p, &functions, parse_function(&p));
    struct node *program = list_node(&p, NODE_PROGRAM, &functions);
    if (!program)
        fprintf(stderr, "garbage: line %d: %s\n", p.error_line, p.error);
    *sum = p.sum;
    if (live_bytes)
        *live_bytes = p.live_bytes;
    return program;
}

/* ---- Checks --------------------------------------------------------------------------- */

/* Recomputes a tree's checksum from the tree; -1 on a node no parse makes. */
static int walk(const struct node *n, struct checksum *sum, int depth)
{
    if (!n || n->kind >= NODE_KIND_COUNT || n->child_count > 3 || depth > 4 * MAX_DEPTH)
        return -1;
    int is_list = LIST_KINDS >> n->kind & 1;
    if ((NAMED_KINDS >> n->kind & 1) ? !n->u.name : is_list && n->item_count && !n->u.items)
        return -1;
    for (unsigned i = 0; i < n->child_count; i++)
        if (walk(n->child[i], sum, depth + 1))
            return -1;
    for (uint32_t i = 0; is_list && i < n->item_count; i++)
        if (walk(n->u.items[i], sum, depth + 1))
            return -1;
    hash_node(sum, n);
    return 0;
}

static int same_checksum(struct checksum sum, const char *which)
{
    if (sum.nodes == corpus_checksum.nodes && sum.hash == corpus_checksum.hash)
        return 1;
    fprintf(stderr, "garbage: %s tree: %llu nodes, checksum %016llx; expected %llu, %016llx\n",
            which, (unsigned long long)sum.nodes, (unsigned long long)sum.hash,
            (unsigned long long)corpus_checksum.nodes, (unsigned long long)corpus_checksum.hash);
    return 0;
}

/* A tree parsed earlier still holds what it was parsed with: the collector
 * freed none of it while it was reachable. */
static int check_tree(const struct node *tree, const char *which)
{
    struct checksum sum = {0, 0};
    if (walk(tree, &sum, 0))
        sum.nodes = 0;
    return same_checksum(sum, which) ? 0 : -1;
}

/* ---- The workload --------------------------------------------------------------------- */

struct garbage_state {
    size_t ring_size, oldest;
    struct node *ring[];
};

static int garbage_setup(double scale)
{
    if (!(scale > 0 && scale < 1e6)) {
        fprintf(stderr, "garbage: bad scale %g\n", scale);
        return -1;
    }
    struct generator g = {.rng = 0x6761726261676521u};
    do
        emit_function(&g);
    while (g.length < CORPUS_BYTES_AT_SCALE_1 * scale);
    free(corpus);
    corpus = g.text;
    corpus_length = g.length;

    /* The reference parse, walked at once: the walk and the parser must
     * agree before any disagreement can mean a broken tree. */
    size_t live_bytes = 0;
    struct node *tree = parse(&corpus_checksum, &live_bytes);
    tree_bytes = (double)live_bytes;
    live_bytes_target = LIVE_BYTES_AT_SCALE_1 * scale;
    return tree ? check_tree(tree, "reference") : -1;
}

static struct node *parse_and_check(void)
{
    struct checksum sum;
    struct node *tree = parse(&sum, NULL);
    return tree && same_checksum(sum, "new") ? tree : NULL;
}

static void *garbage_worker_start(int worker, int workers)
{
    (void)worker;
    if (!corpus || workers < 1) {
        fprintf(stderr, "garbage: worker started without setup\n");
        return NULL;
    }
    size_t ring_size = (size_t)(live_bytes_target / tree_bytes / workers + 0.5);
    if (ring_size < 2)
        ring_size = 2;
    struct garbage_state *state = workload_alloc(sizeof *state + ring_size * sizeof state->ring[0]);
    state->ring_size = ring_size;
    state->oldest = 0;
    for (size_t i = 0; i < ring_size; i++)
        if (!(state->ring[i] = parse_and_check()))
            return NULL;
    return state;
}

/* The new tree is parsed while the oldest is still live, so that the
 * oldest has lived through every collection its replacement caused. */
static int garbage_operation(void *state_pointer)
{
    struct garbage_state *state = state_pointer;
    struct node *tree = parse_and_check();
    if (!tree || check_tree(state->ring[state->oldest], "oldest"))
        return -1;
    state->ring[state->oldest] = tree;
    state->oldest = (state->oldest + 1) % state->ring_size;
    return 0;
}

static int garbage_worker_finish(void *state_pointer)
{
    struct garbage_state *state = state_pointer;
    for (size_t i = 0; i < state->ring_size; i++)
        if (check_tree(state->ring[i], "kept"))
            return -1;
    return 0;
}

const struct workload garbage_workload = {
    "garbage", garbage_setup, garbage_worker_start, garbage_operation, garbage_worker_finish,
};

/*
 * NAME
 *	ta_conf 3
 * SUMMARY
 *	the human-edited tenant source: parse and validate into records
 * SYNOPSIS
 *	#include "ta_conf.h"
 * DESCRIPTION
 *	The format is nginx-like, since the operators who write it know nginx:
 *
 *	    unknown_login reject;
 *	    tenant acme {
 *	        login acme;
 *	        identity acme.example {
 *	            mode domain; return_path bounces.acme.example;
 *	            key s1 { algorithm rsa-sha256; file keys/acme.s1.pem; state active; }
 *	        }
 *	    }
 *
 *	A tokenizer yields words, quoted strings ("..." with \\ and \"),
 *	'{', '}' and ';' with their line numbers; '#' starts a comment. The
 *	parser is a small recursive descent over blocks. Every error is
 *	collected with its line and parsing resumes at the next ';' or '}', so
 *	an author sees all problems at once (up to TA_CONF_MAX_ERRORS).
 *	Cross-tenant checks (a login or key used twice) are the compiler's.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <pcre2.h>
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ta_conf.h"
#include "ta_domain.h"

/* The arena: every string and array of a parsed source, freed at once. */
typedef struct ta_arena_block {
    struct ta_arena_block *next;
    size_t                 used, size;
    max_align_t            data[];
} ta_arena_block_t;

struct ta_arena {
    ta_arena_block_t *head;
};

/* arena_alloc - aligned memory from the arena; NULL when out of memory */
static void *
arena_alloc(struct ta_arena *a, size_t n)
{
    ta_arena_block_t *b = a->head;
    size_t            size;
    void             *p;

    n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
    if (b == NULL || b->size - b->used < n) {
        size = n > (1u << 20) ? n : (1u << 20);
        b = malloc(sizeof(*b) + size);
        if (b == NULL)
            return NULL;
        b->next = a->head;
        b->used = 0;
        b->size = size;
        a->head = b;
    }
    p = (char *) b->data + b->used;
    b->used += n;
    return p;
}

/* arena_str - a NUL-terminated copy in the arena */
static ta_str_t
arena_str(struct ta_arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);

    if (p == NULL)
        return ta_str(NULL, 0);
    memcpy(p, s, n);
    p[n] = '\0';
    return ta_str(p, n);
}

/* ta_conf_alloc - memory owned by the parsed source (freed with it) */
void *
ta_conf_alloc(ta_conf_t *c, size_t n)
{
    return arena_alloc(c->arena, n);
}

/* ta_conf_str - a NUL-terminated copy owned by the parsed source */
ta_str_t
ta_conf_str(ta_conf_t *c, ta_str_t s)
{
    return arena_str(c->arena, s.data ? s.data : "", s.len);
}

/* ta_conf_error - record one error (counting those that do not fit) */
void
ta_conf_error(ta_conf_errors_t *errs, const char *fmt, ...)
{
    va_list ap;

    if (errs->n < TA_CONF_MAX_ERRORS) {
        va_start(ap, fmt);
        vsnprintf(errs->msg[errs->n], sizeof(errs->msg[0]), fmt, ap);
        va_end(ap);
    }
    errs->n++;
}

/* Tokens. */
typedef enum { TK_EOF, TK_WORD, TK_OPEN, TK_CLOSE, TK_SEMI, TK_BAD } tk_type_t;

typedef struct {
    tk_type_t   type;
    const char *data;       /* TK_WORD: the value (unquoted) */
    size_t      len;
    size_t      line;
    int         quoted;
    char       *unescaped;  /* quoted with escapes: malloc'd value */
} tk_t;

typedef struct {
    const char       *p, *end;
    size_t            line;
    const char       *file;
    const char       *basedir;
    ta_conf_errors_t *errs;
    struct ta_arena  *arena;
    tk_t              tok;      /* the current token */
    ta_conf_key_check_t check;
    void             *ctx;
    void            (*warn)(const char *msg);
    int               oom;
} parser_t;

/* perr - report an error at a line of the source */
static void
perr(parser_t *ps, size_t line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
perr(parser_t *ps, size_t line, const char *fmt, ...)
{
    ta_conf_errors_t *errs = ps->errs;
    va_list           ap;
    int               n;

    if (errs->n < TA_CONF_MAX_ERRORS) {
        n = snprintf(errs->msg[errs->n], sizeof(errs->msg[0]), "%s:%zu: ", ps->file, line);
        if (n > 0 && (size_t) n < sizeof(errs->msg[0])) {
            va_start(ap, fmt);
            vsnprintf(errs->msg[errs->n] + n, sizeof(errs->msg[0]) - (size_t) n, fmt, ap);
            va_end(ap);
        }
    }
    errs->n++;
}

/* next - advance to the next token */
static void
next(parser_t *ps)
{
    tk_t *t = &ps->tok;
    char *w;
    const char *s;
    size_t n;

    free(t->unescaped);
    memset(t, 0, sizeof(*t));
    for (;;) {
        while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\r' || *ps->p == '\n')) {
            if (*ps->p == '\n')
                ps->line++;
            ps->p++;
        }
        if (ps->p < ps->end && *ps->p == '#') {
            while (ps->p < ps->end && *ps->p != '\n')
                ps->p++;
            continue;
        }
        break;
    }
    t->line = ps->line;
    if (ps->p >= ps->end) {
        t->type = TK_EOF;
        return;
    }
    switch (*ps->p) {
    case '{': t->type = TK_OPEN; ps->p++; return;
    case '}': t->type = TK_CLOSE; ps->p++; return;
    case ';': t->type = TK_SEMI; ps->p++; return;
    case '"':
        s = ++ps->p;
        for (n = 0; ps->p < ps->end && *ps->p != '"'; ps->p++) {
            if (*ps->p == '\n' || *ps->p == '\0') {
                t->type = TK_BAD;
                if (*ps->p == '\0')
                    ps->p++;        /* always make progress */
                return;
            }
            if (*ps->p == '\\' && ps->p + 1 < ps->end)
                ps->p++;
            n++;
        }
        if (ps->p >= ps->end) {
            t->type = TK_BAD;
            return;
        }
        w = malloc(n + 1);
        if (w == NULL) {
            ps->oom = 1;
            t->type = TK_EOF;
            return;
        }
        for (n = 0; s < ps->p; s++) {
            if (*s == '\\' && s + 1 < ps->p)
                s++;
            w[n++] = *s;
        }
        w[n] = '\0';
        ps->p++;
        t->type = TK_WORD;
        t->quoted = 1;
        t->unescaped = w;
        t->data = w;
        t->len = n;
        return;
    default:
        s = ps->p;
        /* memchr, not strchr: strchr finds a NUL byte in any set */
        while (ps->p < ps->end && memchr(" \t\r\n{};#\"", *ps->p, 9) == NULL) {
            if (*ps->p == '\0' || ((unsigned char) *ps->p < 0x20)) {
                t->type = TK_BAD;
                ps->p++;
                return;
            }
            ps->p++;
        }
        t->type = TK_WORD;
        t->data = s;
        t->len = (size_t) (ps->p - s);
        return;
    }
}

/* word_is - the current token is this bare word */
static int
word_is(const parser_t *ps, const char *w)
{
    return ps->tok.type == TK_WORD && ps->tok.len == strlen(w) && memcmp(ps->tok.data, w, ps->tok.len) == 0;
}

/* skip_statement - error recovery: past the next ';' or a whole {...} */
static void
skip_statement(parser_t *ps)
{
    int depth = 0;

    while (ps->tok.type != TK_EOF) {
        if (ps->tok.type == TK_OPEN)
            depth++;
        else if (ps->tok.type == TK_CLOSE) {
            if (depth == 0)
                return;         /* leave the enclosing block's '}' */
            if (--depth == 0) {
                next(ps);
                return;
            }
        } else if (ps->tok.type == TK_SEMI && depth == 0) {
            next(ps);
            return;
        }
        next(ps);
    }
}

/*
 * directive_value - read "NAME VALUE ;" after NAME: the value (one word)
 * copied to the arena; 0 with an error reported otherwise.
 */
static int
directive_value(parser_t *ps, const char *name, ta_str_t *out)
{
    size_t line = ps->tok.line;

    next(ps);
    if (ps->tok.type == TK_BAD) {
        perr(ps, line, "\"%s\": unterminated quoted string or control character", name);
        skip_statement(ps);
        return 0;
    }
    if (ps->tok.type != TK_WORD) {
        perr(ps, line, "\"%s\" needs a value", name);
        skip_statement(ps);
        return 0;
    }
    *out = arena_str(ps->arena, ps->tok.data, ps->tok.len);
    if (out->data == NULL)
        ps->oom = 1;
    next(ps);
    if (ps->tok.type != TK_SEMI) {
        perr(ps, line, "\"%s\" takes one value and ends with ';'", name);
        skip_statement(ps);
        return 0;
    }
    next(ps);
    return 1;
}

/*
 * directive_values - read "NAME V1 V2 ... ;" after NAME: at least one
 * value, at most max, copied to the arena; 0 with an error otherwise
 */
static int
directive_values(parser_t *ps, const char *name, ta_str_t *out, size_t max, size_t *n)
{
    size_t line = ps->tok.line;

    *n = 0;
    for (next(ps); ps->tok.type == TK_WORD; next(ps)) {
        if (*n == max) {
            perr(ps, line, "\"%s\" takes at most %zu values", name, max);
            skip_statement(ps);
            return 0;
        }
        out[*n] = arena_str(ps->arena, ps->tok.data, ps->tok.len);
        if (out[(*n)++].data == NULL)
            ps->oom = 1;
    }
    if (ps->tok.type == TK_BAD) {
        perr(ps, line, "\"%s\": unterminated quoted string or control character", name);
        skip_statement(ps);
        return 0;
    }
    if (ps->tok.type != TK_SEMI || *n == 0) {
        perr(ps, line, "\"%s\" needs one or more values and ends with ';'", name);
        skip_statement(ps);
        return 0;
    }
    next(ps);
    return 1;
}

/* one_of - index of v among the choices, or -1 (with an error) */
static int
one_of(parser_t *ps, size_t line, const char *name, ta_str_t v, const char *const *choices)
{
    int  i;
    char list[160] = "";

    for (i = 0; choices[i]; i++) {
        if (strlen(choices[i]) == v.len && memcmp(choices[i], v.data, v.len) == 0)
            return i;
        snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "", choices[i]);
    }
    perr(ps, line, "\"%s\" must be one of %s, not \"%.*s\"", name, list, (int) v.len, v.data);
    return -1;
}

static const char *const on_off[] = { "off", "on", NULL };

/* flag_directive - "NAME on|off;": the new value, or cur on error */
static unsigned
flag_directive(parser_t *ps, const char *name, unsigned cur)
{
    ta_str_t v;
    size_t   line = ps->tok.line;
    int      i;

    if (directive_value(ps, name, &v) && (i = one_of(ps, line, name, v, on_off)) >= 0)
        return (unsigned) i;
    return cur;
}

/* domain_value - normalise a domain value, reporting errors at line */
static int
domain_value(parser_t *ps, size_t line, const char *what, ta_str_t in, ta_str_t *out)
{
    char        buf[TA_DOMAIN_MAX + 1];
    size_t      n;
    const char *why;

    if (ta_domain_normalize(in.data, in.len, buf, sizeof(buf), &n, &why) != TA_OK) {
        perr(ps, line, "%s \"%.*s\": %s", what, (int) in.len, in.data, why);
        return 0;
    }
    *out = arena_str(ps->arena, buf, n);
    if (out->data == NULL)
        ps->oom = 1;
    return 1;
}

/* absolute_path - a key path relative to the source file's directory */
static ta_str_t
absolute_path(parser_t *ps, ta_str_t p)
{
    char  *buf;
    size_t bl;

    if (p.len > 0 && p.data[0] == '/')
        return p;
    bl = strlen(ps->basedir);
    buf = arena_alloc(ps->arena, bl + 1 + p.len + 1);
    if (buf == NULL) {
        ps->oom = 1;
        return p;
    }
    memcpy(buf, ps->basedir, bl);
    buf[bl] = '/';
    memcpy(buf + bl + 1, p.data, p.len);
    buf[bl + 1 + p.len] = '\0';
    return ta_str(buf, bl + 1 + p.len);
}

/* Growable arrays, kept in malloc while parsing and moved to the arena. */
typedef struct {
    void   *v;
    size_t  n, cap, size;
} vec_t;

/* vec_push - room for one more element; NULL when out of memory */
static void *
vec_push(vec_t *a)
{
    void *nv;

    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 4;
        nv = realloc(a->v, cap * a->size);
        if (nv == NULL)
            return NULL;
        a->v = nv;
        a->cap = cap;
    }
    memset((char *) a->v + a->n * a->size, 0, a->size);
    return (char *) a->v + a->n++ * a->size;
}

/* vec_to_arena - move the elements into the arena */
static void *
vec_to_arena(parser_t *ps, vec_t *a)
{
    void *p = NULL;

    if (a->n) {
        p = arena_alloc(ps->arena, a->n * a->size);
        if (p == NULL)
            ps->oom = 1;
        else
            memcpy(p, a->v, a->n * a->size);
    }
    free(a->v);
    a->v = NULL;
    return p;
}

/* expect_open - the '{' of a block */
static int
expect_open(parser_t *ps, const char *what, size_t line)
{
    if (ps->tok.type != TK_OPEN) {
        perr(ps, line, "%s needs a name and a { ... } block", what);
        skip_statement(ps);
        return 0;
    }
    next(ps);
    return 1;
}

/* parse_key - key SELECTOR { algorithm ...; file ...; state ...; [domain ...;] } */
static void
parse_key(parser_t *ps, vec_t *keys, const ta_str_t id_domain)
{
    static const char *const algs[] = { "rsa-sha256", "ed25519-sha256", NULL };
    static const char *const states[] = { "pending", "active", "retiring", "revoked", NULL };
    size_t    line = ps->tok.line, l;
    ta_key_t *k;
    ta_str_t  v;
    int       i, have_alg = 0, have_file = 0, have_state = 0;
    char      err[256];

    next(ps);
    if (ps->tok.type != TK_WORD) {
        perr(ps, line, "key needs a selector");
        skip_statement(ps);
        return;
    }
    if ((k = vec_push(keys)) == NULL) {
        ps->oom = 1;
        return;
    }
    for (size_t j = 0; j < ps->tok.len; j++) {
        unsigned char c = (unsigned char) ps->tok.data[j];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_')) {
            perr(ps, line, "key selector \"%.*s\" is not a DNS label", (int) ps->tok.len, ps->tok.data);
            break;
        }
    }
    k->selector = arena_str(ps->arena, ps->tok.data, ps->tok.len);
    next(ps);
    if (!expect_open(ps, "key", line))
        return;
    while (ps->tok.type != TK_CLOSE && ps->tok.type != TK_EOF) {
        l = ps->tok.line;
        if (word_is(ps, "algorithm")) {
            if (directive_value(ps, "algorithm", &v) && (i = one_of(ps, l, "algorithm", v, algs)) >= 0) {
                k->alg = (ta_dkim_alg_t) i;
                have_alg = 1;
            }
        } else if (word_is(ps, "file")) {
            if (directive_value(ps, "file", &v)) {
                k->key_file = absolute_path(ps, v);
                have_file = 1;
            }
        } else if (word_is(ps, "state")) {
            if (directive_value(ps, "state", &v) && (i = one_of(ps, l, "state", v, states)) >= 0) {
                k->state = (ta_key_state_t) i;
                have_state = 1;
            }
        } else if (word_is(ps, "domain")) {
            if (directive_value(ps, "domain", &v))
                domain_value(ps, l, "key domain", v, &k->domain);
        } else {
            perr(ps, l, "unknown field \"%.*s\" in key (known: algorithm, file, state, domain)",
                (int) ps->tok.len, ps->tok.data);
            skip_statement(ps);
        }
    }
    if (ps->tok.type != TK_CLOSE) {
        perr(ps, line, "key %s: missing '}'", k->selector.data);
        return;
    }
    next(ps);
    if (!have_alg)
        perr(ps, line, "key %s: missing \"algorithm\"", k->selector.data);
    if (!have_file)
        perr(ps, line, "key %s: missing \"file\"", k->selector.data);
    if (!have_state)
        perr(ps, line, "key %s: missing \"state\"", k->selector.data);
    (void) id_domain;
    if (have_file && ps->check != NULL && k->state != TA_KEY_REVOKED
        && ps->check(ps->ctx, k, err, sizeof(err)) != 0)
        perr(ps, line, "key %s: %s", k->selector.data, err);
}

/* parse_identity - identity DOMAIN|ADDRESS { ... } */
static void
parse_identity(parser_t *ps, vec_t *ids)
{
    static const char *const modes[] = { "domain", "delegated", "address", NULL };
    static const char *const aligns[] = { "relaxed", "strict", NULL };
    static const char *const policies[] = { "enforce", "monitor", NULL };
    static const char *const delegations[] = { "manual", "cname", "delegated", NULL };
    size_t         line = ps->tok.line, l, nactive = 0, i;
    int            require_dmarc_set = 0;
    ta_identity_t *id;
    ta_str_t       name, v, dom;
    const char    *at;
    vec_t          keys = { NULL, 0, 0, sizeof(ta_key_t) };
    int            have_mode = 0, m;

    next(ps);
    if (ps->tok.type != TK_WORD) {
        perr(ps, line, "identity needs a domain or an address");
        skip_statement(ps);
        return;
    }
    if ((id = vec_push(ids)) == NULL) {
        ps->oom = 1;
        return;
    }
    name = arena_str(ps->arena, ps->tok.data, ps->tok.len);
    id->dns_check = 1;
    next(ps);
    if (!expect_open(ps, "identity", line))
        return;
    while (ps->tok.type != TK_CLOSE && ps->tok.type != TK_EOF) {
        l = ps->tok.line;
        if (word_is(ps, "mode")) {
            if (directive_value(ps, "mode", &v) && (m = one_of(ps, l, "mode", v, modes)) >= 0) {
                id->mode = (ta_identity_mode_t) m;
                have_mode = 1;
            }
        } else if (word_is(ps, "alignment")) {
            if (directive_value(ps, "alignment", &v) && (m = one_of(ps, l, "alignment", v, aligns)) >= 0)
                id->alignment = (ta_align_t) m;
        } else if (word_is(ps, "policy")) {
            if (directive_value(ps, "policy", &v) && (m = one_of(ps, l, "policy", v, policies)) >= 0)
                id->monitor = (unsigned) m;
        } else if (word_is(ps, "return_path")) {
            if (directive_value(ps, "return_path", &v))
                domain_value(ps, l, "return_path", v, &id->return_path);
        } else if (word_is(ps, "local_part")) {
            if (directive_value(ps, "local_part", &v)) {
                int        ec;
                PCRE2_SIZE eo;
                pcre2_code *re = pcre2_compile((PCRE2_SPTR) v.data, v.len,
                                               PCRE2_ANCHORED | PCRE2_ENDANCHORED | PCRE2_UTF, &ec, &eo, NULL);
                if (re == NULL) {
                    PCRE2_UCHAR msg[160];
                    pcre2_get_error_message(ec, msg, sizeof(msg));
                    perr(ps, l, "local_part pattern \"%s\" at offset %zu: %s", v.data, (size_t) eo, (char *) msg);
                } else {
                    pcre2_code_free(re);
                    id->local_part_pattern = v;
                }
            }
        } else if (word_is(ps, "null_sender")) {
            id->allow_null_sender = flag_directive(ps, "null_sender", id->allow_null_sender);
        } else if (word_is(ps, "parent_from")) {
            id->parent_from = flag_directive(ps, "parent_from", id->parent_from);
        } else if (word_is(ps, "subdomains")) {
            id->subdomains = flag_directive(ps, "subdomains", id->subdomains);
        } else if (word_is(ps, "rewrite_return_path")) {
            id->rewrite_return_path = flag_directive(ps, "rewrite_return_path", id->rewrite_return_path);
        } else if (word_is(ps, "dns")) {
            if (directive_value(ps, "dns", &v) && (m = one_of(ps, l, "dns", v, delegations)) >= 0)
                id->dns = (ta_delegation_t) m;
        } else if (word_is(ps, "dns_check")) {
            id->dns_check = flag_directive(ps, "dns_check", id->dns_check);
            id->dns_check_set = 1;
        } else if (word_is(ps, "require_dmarc")) {
            id->require_dmarc = flag_directive(ps, "require_dmarc", id->require_dmarc);
            require_dmarc_set = 1;
        } else if (word_is(ps, "key")) {
            parse_key(ps, &keys, name);
        } else {
            perr(ps, l, "unknown field \"%.*s\" in identity (known: mode, alignment, policy, return_path, "
                "rewrite_return_path, null_sender, parent_from, subdomains, local_part, dns, dns_check, "
                "require_dmarc, key)",
                (int) ps->tok.len, ps->tok.data);
            skip_statement(ps);
        }
    }
    if (ps->tok.type != TK_CLOSE) {
        perr(ps, line, "identity %s: missing '}'", name.data);
        free(keys.v);
        return;
    }
    next(ps);
    /* the identity's name: an address in address mode, a domain otherwise */
    at = name.data ? memchr(name.data, '@', name.len) : NULL;
    if (!have_mode) {
        perr(ps, line, "identity %s: missing \"mode\" (domain, delegated or address)", name.data);
    } else if (id->mode == TA_MODE_ADDRESS) {
        if (at == NULL || at == name.data)
            perr(ps, line, "identity %s: mode address needs a LOCAL@DOMAIN name", name.data);
        else if (domain_value(ps, line, "identity domain", ta_str(at + 1, name.len - (size_t) (at + 1 - name.data)), &dom)) {
            id->domain = dom;
            id->local_part = arena_str(ps->arena, name.data, (size_t) (at - name.data));
        }
    } else if (at != NULL) {
        perr(ps, line, "identity %s: an address needs \"mode address\"", name.data);
    } else if (domain_value(ps, line, "identity domain", name, &dom)) {
        id->domain = dom;
    }
    if (id->mode != TA_MODE_DELEGATED && id->parent_from)
        perr(ps, line, "identity %s: parent_from applies to mode delegated only", name.data);
    if (id->mode != TA_MODE_DOMAIN && id->subdomains)
        perr(ps, line, "identity %s: subdomains applies to mode domain only", name.data);
    if (id->rewrite_return_path && id->return_path.len == 0)
        perr(ps, line, "identity %s: rewrite_return_path needs return_path", name.data);
    for (i = 0; i < keys.n; i++)
        if (((ta_key_t *) keys.v)[i].state == TA_KEY_ACTIVE)
            nactive++;
    if (nactive > 8)
        perr(ps, line, "identity %s: more than 8 active keys", name.data);
    if (nactive == 0 && !id->monitor && ps->warn != NULL) {
        char w[320];
        snprintf(w, sizeof(w), "%s:%zu: warning: identity %s has no active key: its mail will be refused",
                 ps->file, line, name.data);
        ps->warn(w);
    }
    id->nkeys = keys.n;
    id->keys = vec_to_arena(ps, &keys);
    /* not set here: the top level's, once the whole source is read */
    id->require_dmarc_set = require_dmarc_set ? 1 : 0;
}

/*
 * dns_name_value - a DNS name that need not be a host name: labels of
 * letters, digits, '-' and '_' (SPF's "_spf.esp.example"), lower-cased
 */
static int
dns_name_value(parser_t *ps, size_t line, const char *what, ta_str_t in, ta_str_t *out)
{
    char   buf[TA_DOMAIN_MAX + 1];
    size_t i, label = 0;

    if (in.len == 0 || in.len > TA_DOMAIN_MAX) {
        perr(ps, line, "%s \"%.*s\": not a DNS name", what, (int) in.len, in.data);
        return 0;
    }
    for (i = 0; i < in.len; i++) {
        char c = in.data[i];

        if (c == '.') {
            if (label == 0 || i + 1 == in.len)
                break;
            label = 0;
        } else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                     || c == '-' || c == '_') || ++label > 63) {
            break;
        }
        buf[i] = (char) ((c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c);
    }
    if (i < in.len) {
        perr(ps, line, "%s \"%.*s\": not a DNS name (labels of letters, digits, '-' and '_')",
             what, (int) in.len, in.data);
        return 0;
    }
    *out = arena_str(ps->arena, buf, in.len);
    if (out->data == NULL)
        ps->oom = 1;
    return 1;
}

/* host_value - one domain value of a provider directive */
static void
host_value(parser_t *ps, const char *name, ta_str_t *out)
{
    ta_str_t v;
    size_t   line = ps->tok.line;

    if (directive_value(ps, name, &v))
        domain_value(ps, line, name, v, out);
}

/* parse_provider - provider { name_servers ...; cname_zone ...; ... } */
static void
parse_provider(parser_t *ps, ta_provider_t *pv)
{
    size_t         line = ps->tok.line, l, n, i;
    ta_str_t       v, vals[TA_PROVIDER_MAX_EGRESS];
    unsigned char  addr[16];
    char           ip[64];
    unsigned long  pref;
    char          *end;

    next(ps);
    if (!expect_open(ps, "provider", line))
        return;
    if (pv->present)
        perr(ps, line, "provider block given twice");
    pv->present = 1;
    while (ps->tok.type != TK_CLOSE && ps->tok.type != TK_EOF) {
        l = ps->tok.line;
        if (word_is(ps, "name_servers")) {
            if (directive_values(ps, "name_servers", vals, TA_PROVIDER_MAX_NS, &n))
                for (pv->nns = 0, i = 0; i < n; i++)
                    if (domain_value(ps, l, "name_servers", vals[i], &pv->ns[pv->nns]))
                        pv->nns++;
        } else if (word_is(ps, "cname_zone")) {
            host_value(ps, "cname_zone", &pv->cname_zone);
        } else if (word_is(ps, "return_path_cname")) {
            host_value(ps, "return_path_cname", &pv->return_path_cname);
        } else if (word_is(ps, "spf_include")) {
            if (directive_value(ps, "spf_include", &v))
                dns_name_value(ps, l, "spf_include", v, &pv->spf_include);
        } else if (word_is(ps, "return_path_mx")) {
            if (directive_values(ps, "return_path_mx", vals, 2, &n)
                && domain_value(ps, l, "return_path_mx", vals[0], &pv->return_path_mx)) {
                pv->return_path_mx_pref = 10;
                if (n == 2) {
                    pref = strtoul(vals[1].data, &end, 10);
                    if (*end != '\0' || vals[1].len == 0 || vals[1].len > 5 || pref > 65535)
                        perr(ps, l, "return_path_mx: preference \"%s\" is not a number from 0 to 65535",
                             vals[1].data);
                    pv->return_path_mx_pref = (unsigned) pref;
                }
            }
        } else if (word_is(ps, "egress")) {
            if (directive_values(ps, "egress", vals, TA_PROVIDER_MAX_EGRESS, &n)) {
                for (pv->negress = 0, i = 0; i < n; i++) {
                    snprintf(ip, sizeof(ip), "%.*s", (int) vals[i].len, vals[i].data);
                    if (inet_pton(AF_INET, ip, addr) != 1 && inet_pton(AF_INET6, ip, addr) != 1)
                        perr(ps, l, "egress \"%s\" is not an IPv4 or IPv6 address", ip);
                    else
                        pv->egress[pv->negress++] = vals[i];
                }
            }
        } else if (word_is(ps, "dmarc_rua")) {
            if (directive_value(ps, "dmarc_rua", &v)) {
                if (v.len < 10 || strncmp(v.data, "mailto:", 7) != 0 || memchr(v.data, '@', v.len) == NULL
                    || memchr(v.data, ';', v.len) != NULL || memchr(v.data, ' ', v.len) != NULL)
                    perr(ps, l, "dmarc_rua \"%s\" is not a mailto: address", v.data);
                else
                    pv->dmarc_rua = v;
            }
        } else {
            perr(ps, l, "unknown field \"%.*s\" in provider (known: name_servers, cname_zone, "
                "return_path_cname, return_path_mx, spf_include, egress, dmarc_rua)",
                (int) ps->tok.len, ps->tok.data);
            skip_statement(ps);
        }
    }
    if (ps->tok.type != TK_CLOSE) {
        perr(ps, line, "provider: missing '}'");
        return;
    }
    next(ps);
    if (pv->return_path_cname.len && pv->return_path_mx.len)
        perr(ps, line, "provider: return_path_cname and return_path_mx exclude each other");
    if (pv->return_path_mx.len && pv->spf_include.len == 0)
        perr(ps, line, "provider: return_path_mx needs spf_include (the return path's SPF)");
}

/* cap_value - "hourly_cap N;": messages per hour, 1 to 4294967295 */
static int
cap_value(parser_t *ps, uint32_t *out)
{
    ta_str_t           v;
    size_t             line = ps->tok.line;
    char              *end;
    unsigned long long n;

    if (!directive_value(ps, "hourly_cap", &v))
        return 0;
    n = strtoull(v.data, &end, 10);
    if (v.len == 0 || v.len > 10 || *end != '\0' || v.data[0] < '0' || v.data[0] > '9'
        || n == 0 || n > UINT32_MAX) {
        perr(ps, line, "hourly_cap \"%s\" is not a number of messages from 1 to %u", v.data,
             (unsigned) UINT32_MAX);
        return 0;
    }
    *out = (uint32_t) n;
    return 1;
}

/* stream_name - transactional or broadcast, with an error otherwise */
static int
stream_name(parser_t *ps, size_t line, const char *what, ta_str_t v)
{
    static const char *const streams[] = { "transactional", "broadcast", NULL };

    return one_of(ps, line, what, v, streams);
}

/* parse_stream - stream NAME { require_dmarc on|off; hourly_cap N; } */
static void
parse_stream(parser_t *ps, ta_stream_conf_t *streams)
{
    size_t            line = ps->tok.line, l;
    ta_stream_conf_t *sc;
    int               i;

    next(ps);
    if (ps->tok.type != TK_WORD) {
        perr(ps, line, "stream needs a name (transactional or broadcast)");
        skip_statement(ps);
        return;
    }
    i = stream_name(ps, line, "stream", ta_str(ps->tok.data, ps->tok.len));
    next(ps);
    if (!expect_open(ps, "stream", line))
        return;
    sc = &streams[i < 0 ? 0 : i];
    while (ps->tok.type != TK_CLOSE && ps->tok.type != TK_EOF) {
        l = ps->tok.line;
        if (word_is(ps, "require_dmarc")) {
            sc->require_dmarc = flag_directive(ps, "require_dmarc", sc->require_dmarc);
            sc->require_dmarc_set = 1;
        } else if (word_is(ps, "hourly_cap")) {
            if (cap_value(ps, &sc->hourly_cap))
                sc->hourly_cap_set = 1;
        } else {
            perr(ps, l, "unknown field \"%.*s\" in stream (known: require_dmarc, hourly_cap)",
                (int) ps->tok.len, ps->tok.data);
            skip_statement(ps);
        }
    }
    if (ps->tok.type != TK_CLOSE) {
        perr(ps, line, "stream: missing '}'");
        return;
    }
    next(ps);
}

/* inherit_streams - a tenant's stream settings: its own, else the top level's */
static void
inherit_streams(ta_conf_t *c, ta_tenant_t *t)
{
    size_t i;

    for (i = 0; i < TA_STREAMS; i++) {
        if (!t->streams[i].require_dmarc_set)
            t->streams[i].require_dmarc = c->streams[i].require_dmarc;
        if (!t->streams[i].hourly_cap_set)
            t->streams[i].hourly_cap = c->streams[i].hourly_cap;
    }
}

/* check_onboarding - each identity's dns setting against the provider block */
static void
check_onboarding(parser_t *ps, ta_conf_t *c)
{
    const ta_provider_t *pv = &c->provider;
    size_t               t, i;
    static const char   *const names[] = { "manual", "cname", "delegated" };

    for (t = 0; t < c->ntenants; t++) {
        ta_conf_tenant_t *ct = &c->tenants[t];

        inherit_streams(c, &ct->tenant);
        for (i = 0; i < ct->tenant.nidentities; i++) {
            ta_identity_t *id = (ta_identity_t *) &ct->tenant.identities[i];
            const char    *d = id->domain.data ? id->domain.data : "?";

            if (!id->require_dmarc_set)
                id->require_dmarc = pv->require_dmarc;
            if (!id->dns_check_set)
                id->dns_check = !pv->no_dns_check;
            if (id->dns == TA_DELEG_CNAME && pv->cname_zone.len == 0)
                perr(ps, ct->line, "tenant %s, identity %s: dns cname needs provider { cname_zone ZONE; }",
                     ct->tenant.name.data, d);
            if (id->dns == TA_DELEG_NS && pv->nns == 0)
                perr(ps, ct->line, "tenant %s, identity %s: dns delegated needs provider { name_servers NS ...; }",
                     ct->tenant.name.data, d);
            if (id->dns == TA_DELEG_NS && id->mode == TA_MODE_ADDRESS)
                perr(ps, ct->line, "tenant %s, identity %s: dns delegated needs a domain identity, not an address",
                     ct->tenant.name.data, d);
            if (id->dns != TA_DELEG_MANUAL && id->return_path.len
                && pv->return_path_cname.len == 0 && pv->return_path_mx.len == 0)
                perr(ps, ct->line, "tenant %s, identity %s: dns %s with a return_path needs provider "
                     "{ return_path_cname HOST; } or { return_path_mx HOST; spf_include DOMAIN; }",
                     ct->tenant.name.data, d, names[id->dns]);
        }
    }
}

/* parse_tenant - tenant NAME { login ...; identity ... { } } */
static void
parse_tenant(parser_t *ps, vec_t *tenants)
{
    size_t            line = ps->tok.line, l;
    ta_conf_tenant_t *ct;
    vec_t             ids = { NULL, 0, 0, sizeof(ta_identity_t) };
    vec_t             logins = { NULL, 0, 0, sizeof(ta_str_t) };
    vec_t             streams = { NULL, 0, 0, sizeof(ta_stream_t) };
    ta_str_t          vals[2], *lp;
    ta_stream_t      *sp;
    size_t            n;
    int               si;

    next(ps);
    if (ps->tok.type != TK_WORD) {
        perr(ps, line, "tenant needs a name");
        skip_statement(ps);
        return;
    }
    if ((ct = vec_push(tenants)) == NULL) {
        ps->oom = 1;
        return;
    }
    ct->line = line;
    ct->tenant.name = arena_str(ps->arena, ps->tok.data, ps->tok.len);
    next(ps);
    if (!expect_open(ps, "tenant", line))
        return;
    while (ps->tok.type != TK_CLOSE && ps->tok.type != TK_EOF) {
        l = ps->tok.line;
        if (word_is(ps, "login")) {
            /* login NAME [STREAM]; */
            if (directive_values(ps, "login", vals, 2, &n)) {
                si = n == 2 ? stream_name(ps, l, "login stream", vals[1]) : TA_STREAM_TRANSACTIONAL;
                if ((lp = vec_push(&logins)) == NULL || (sp = vec_push(&streams)) == NULL) {
                    ps->oom = 1;
                } else {
                    *lp = vals[0];
                    *sp = si < 0 ? TA_STREAM_TRANSACTIONAL : (ta_stream_t) si;
                }
            }
        } else if (word_is(ps, "identity")) {
            parse_identity(ps, &ids);
        } else if (word_is(ps, "stream")) {
            parse_stream(ps, ct->tenant.streams);
        } else if (word_is(ps, "hourly_cap")) {
            (void) cap_value(ps, &ct->tenant.hourly_cap);
        } else {
            perr(ps, l, "unknown field \"%.*s\" in tenant (known: login, identity, stream, hourly_cap)",
                (int) ps->tok.len, ps->tok.data);
            skip_statement(ps);
        }
    }
    if (ps->tok.type != TK_CLOSE)
        perr(ps, line, "tenant %s: missing '}'", ct->tenant.name.data);
    else
        next(ps);
    if (logins.n == 0)
        perr(ps, line, "tenant %s has no login", ct->tenant.name.data);
    if (ids.n == 0)
        perr(ps, line, "tenant %s has no identity", ct->tenant.name.data);
    ct->nlogins = logins.n;
    ct->logins = vec_to_arena(ps, &logins);
    ct->login_streams = vec_to_arena(ps, &streams);
    ct->tenant.nidentities = ids.n;
    ct->tenant.identities = vec_to_arena(ps, &ids);
}

/* ta_conf_parse - the whole source */
ta_conf_t *
ta_conf_parse(const char *text, size_t len, const char *file, const char *basedir,
    ta_conf_key_check_t check, void *ctx, void (*warn)(const char *msg), ta_conf_errors_t *errs)
{
    parser_t   ps;
    ta_conf_t *c;
    vec_t      tenants = { NULL, 0, 0, sizeof(ta_conf_tenant_t) };
    ta_str_t   v;
    size_t     l;
    int        i;
    static const char *const unknown[] = { "accept", "reject", NULL };

    c = calloc(1, sizeof(*c));
    if (c == NULL || (c->arena = calloc(1, sizeof(*c->arena))) == NULL) {
        free(c);
        ta_conf_error(errs, "%s: out of memory", file);
        return NULL;
    }
    c->reject_unknown_login = 1;
    memset(&ps, 0, sizeof(ps));
    ps.p = text;
    ps.end = text + len;
    ps.line = 1;
    ps.file = file;
    ps.basedir = basedir;
    ps.errs = errs;
    ps.arena = c->arena;
    ps.check = check;
    ps.ctx = ctx;
    ps.warn = warn;
    next(&ps);
    while (ps.tok.type != TK_EOF && !ps.oom) {
        l = ps.tok.line;
        if (ps.tok.type == TK_BAD) {
            perr(&ps, l, "unterminated quoted string or control character");
            next(&ps);
        } else if (word_is(&ps, "tenant")) {
            parse_tenant(&ps, &tenants);
        } else if (word_is(&ps, "provider")) {
            parse_provider(&ps, &c->provider);
        } else if (word_is(&ps, "require_dmarc")) {
            c->provider.require_dmarc = flag_directive(&ps, "require_dmarc", c->provider.require_dmarc);
        } else if (word_is(&ps, "stream")) {
            parse_stream(&ps, c->streams);
        } else if (word_is(&ps, "dns_check")) {
            c->provider.no_dns_check = !flag_directive(&ps, "dns_check", !c->provider.no_dns_check);
        } else if (word_is(&ps, "unknown_login")) {
            if (directive_value(&ps, "unknown_login", &v) && (i = one_of(&ps, l, "unknown_login", v, unknown)) >= 0)
                c->reject_unknown_login = i;
        } else {
            if (ps.tok.type == TK_WORD)
                perr(&ps, l, "unknown directive \"%.*s\" (known: tenant, unknown_login, provider, require_dmarc, dns_check, stream)",
                    (int) ps.tok.len, ps.tok.data);
            else
                perr(&ps, l, "unexpected '%s'", ps.tok.type == TK_CLOSE ? "}" : ps.tok.type == TK_OPEN ? "{" : ";");
            if (ps.tok.type == TK_CLOSE)
                next(&ps);
            else
                skip_statement(&ps);
        }
    }
    free(ps.tok.unescaped);
    c->ntenants = tenants.n;
    c->tenants = vec_to_arena(&ps, &tenants);
    if (c->tenants != NULL || c->ntenants == 0)
        check_onboarding(&ps, c);
    if (ps.oom)
        ta_conf_error(errs, "%s: out of memory", file);
    if (errs->n > 0) {
        ta_conf_free(c);
        return NULL;
    }
    return c;
}

/* ta_conf_free - release a parsed source */
void
ta_conf_free(ta_conf_t *c)
{
    ta_arena_block_t *b, *nb;

    if (c == NULL)
        return;
    for (b = c->arena->head; b; b = nb) {
        nb = b->next;
        free(b);
    }
    free(c->arena);
    free(c);
}

/*
 * NAME
 *	ta_state 3
 * SUMMARY
 *	onboarding state file: strict parser, hashed lookups, writer
 * DESCRIPTION
 *	See ta_state.h for the format. Every entry owns one allocation for
 *	its strings; one open-addressing table indexes keys (by d, selector
 *	and fingerprint), DMARC records (by domain) and the first rotation of
 *	each identity (later ones are chained in creation order).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ta_state.h"

#define MAX_FIELD   4096    /* a key file path is the longest field */
#define MAX_ENTRIES 10000000

const char *const ta_keyseen_names[] = { "published", "missing", "other", "revoked", NULL };
const char *const ta_dmarc_seen_names[] = { "unknown", "found", "none", "invalid", "multiple", NULL };
static const char *const alg_names[] = { "rsa-sha256", "ed25519-sha256", NULL };

typedef enum { E_KEY, E_DMARC, E_ROTATION } kind_t;

typedef struct {
    kind_t  kind;
    char   *text;           /* owns the entry's strings */
    size_t  next;           /* rotations: the identity's next one, or 0 (index + 1) */
    union {
        ta_state_key_t      key;
        ta_state_dmarc_t    dmarc;
        ta_state_rotation_t rot;
    } u;
} entry_t;

struct ta_state {
    entry_t *e;
    size_t   n, cap;
    size_t  *slot;          /* entry index + 1; 0 empty */
    size_t   mask;          /* slots - 1 (a power of two), 0 before the first */
};

/* lower - ASCII lower case */
static unsigned char
lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char) (c + 'a' - 'A') : c;
}

/* mix - fold a string into an FNV-1a hash, case-insensitively */
static uint64_t
mix(uint64_t h, ta_str_t s)
{
    size_t i;

    for (i = 0; i < s.len; i++) {
        h ^= lower((unsigned char) s.data[i]);
        h *= 1099511628211ULL;
    }
    h ^= 0xff;              /* field separator: ("ab","c") differs from ("a","bc") */
    return h * 1099511628211ULL;
}

/* entry_hash - the index hash of an entry */
static uint64_t
entry_hash(const entry_t *x)
{
    uint64_t h = 1469598103934665603ULL ^ (uint64_t) x->kind;

    switch (x->kind) {
    case E_KEY:
        h = mix(mix(h, x->u.key.d), x->u.key.selector);
        return mix(h, ta_str(x->u.key.fpr, TA_FPR_HEX));
    case E_DMARC:
        return mix(h, x->u.dmarc.domain);
    default:
        return mix(h, x->u.rot.identity);
    }
}

/* same - two entries index the same thing */
static int
same(const entry_t *a, const entry_t *b)
{
    if (a->kind != b->kind)
        return 0;
    switch (a->kind) {
    case E_KEY:
        return ta_str_caseeq(a->u.key.d, b->u.key.d) && ta_str_caseeq(a->u.key.selector, b->u.key.selector)
               && memcmp(a->u.key.fpr, b->u.key.fpr, TA_FPR_HEX) == 0;
    case E_DMARC:
        return ta_str_caseeq(a->u.dmarc.domain, b->u.dmarc.domain);
    default:
        return ta_str_caseeq(a->u.rot.identity, b->u.rot.identity);
    }
}

/* find - the entry indexing the same thing as probe, or NULL */
static entry_t *
find(const ta_state_t *s, const entry_t *probe)
{
    size_t i;

    if (s->mask == 0)
        return NULL;
    for (i = entry_hash(probe) & s->mask; s->slot[i] != 0; i = (i + 1) & s->mask)
        if (same(&s->e[s->slot[i] - 1], probe))
            return &s->e[s->slot[i] - 1];
    return NULL;
}

/* index_put - index entry number k (its thing is not indexed yet) */
static void
index_put(ta_state_t *s, size_t k)
{
    size_t i;

    for (i = entry_hash(&s->e[k]) & s->mask; s->slot[i] != 0; i = (i + 1) & s->mask)
        ;
    s->slot[i] = k + 1;
}

/* grow - room for one more entry, and a table at most half full */
static int
grow(ta_state_t *s)
{
    size_t   k, want;
    entry_t *e;

    if (s->n >= MAX_ENTRIES)
        return -1;
    if (s->n == s->cap) {
        want = s->cap ? s->cap * 2 : 64;
        e = realloc(s->e, want * sizeof(*e));
        if (e == NULL)
            return -1;
        s->e = e;
        s->cap = want;
    }
    if ((s->n + 1) * 2 > s->mask + 1 || s->mask == 0) {
        want = s->mask ? (s->mask + 1) * 2 : 128;
        free(s->slot);
        s->slot = calloc(want, sizeof(*s->slot));
        if (s->slot == NULL) {
            s->mask = 0;
            return -1;
        }
        s->mask = want - 1;
        for (k = 0; k < s->n; k++)
            if (s->e[k].kind != E_ROTATION || find(s, &s->e[k]) == NULL)
                index_put(s, k);
    }
    return 0;
}

/* add - append x (its strings copied into one allocation); the entry */
static entry_t *
add(ta_state_t *s, const entry_t *x)
{
    ta_str_t *strs[3];
    size_t    nstr = 0, i, total = 0;
    entry_t  *e, *first;
    char     *p;

    if (grow(s) != 0)
        return NULL;
    e = &s->e[s->n];
    *e = *x;
    e->next = 0;
    if (e->kind == E_KEY) {
        strs[nstr++] = &e->u.key.d;
        strs[nstr++] = &e->u.key.selector;
    } else if (e->kind == E_DMARC) {
        strs[nstr++] = &e->u.dmarc.domain;
    } else {
        strs[nstr++] = &e->u.rot.identity;
        strs[nstr++] = &e->u.rot.selector;
        strs[nstr++] = &e->u.rot.file;
    }
    for (i = 0; i < nstr; i++)
        total += strs[i]->len + 1;
    e->text = malloc(total ? total : 1);
    if (e->text == NULL)
        return NULL;
    for (p = e->text, i = 0; i < nstr; i++) {
        memcpy(p, strs[i]->data, strs[i]->len);
        p[strs[i]->len] = '\0';
        strs[i]->data = p;
        p += strs[i]->len + 1;
    }
    first = e->kind == E_ROTATION ? find(s, e) : NULL;
    if (first != NULL) {
        while (first->next != 0)
            first = &s->e[first->next - 1];
        first->next = s->n + 1;
    } else {
        index_put(s, s->n);
    }
    s->n++;
    return e;
}

/* ta_state_new - an empty state */
ta_state_t *
ta_state_new(void)
{
    return calloc(1, sizeof(ta_state_t));
}

/* ta_state_free - a state and everything it owns */
void
ta_state_free(ta_state_t *s)
{
    size_t i;

    if (s == NULL)
        return;
    for (i = 0; i < s->n; i++)
        free(s->e[i].text);
    free(s->e);
    free(s->slot);
    free(s);
}

/* ---- parsing ---- */

typedef struct {
    ta_str_t f[8];
    size_t   n;
} fields_t;

/* split - a line's space-separated fields; the last takes the rest when rest_at */
static int
split(ta_str_t line, fields_t *fs, size_t rest_at)
{
    size_t i = 0, start;

    fs->n = 0;
    while (i < line.len) {
        if (fs->n == 8)
            return -1;
        start = i;
        if (rest_at && fs->n == rest_at)
            i = line.len;
        else
            while (i < line.len && line.data[i] != ' ')
                i++;
        if (i == start)
            return -1;          /* two spaces, or a leading or trailing one */
        fs->f[fs->n++] = ta_str(line.data + start, i - start);
        if (i < line.len && ++i == line.len)
            return -1;
    }
    return 0;
}

/* name_ok - a domain, selector, identity or path: printable, no space, bounded */
static int
name_ok(ta_str_t s, size_t max, int spaces)
{
    size_t i;

    if (s.len == 0 || s.len > max)
        return 0;
    for (i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char) s.data[i];
        if (c < 0x20 || c == 0x7f || (c == ' ' && !spaces))
            return 0;
    }
    return 1;
}

/* number - a time or a count: 1 to 18 digits */
static int
number(ta_str_t s, int64_t *v)
{
    size_t i;

    if (s.len == 0 || s.len > 18)
        return -1;
    *v = 0;
    for (i = 0; i < s.len; i++) {
        if (s.data[i] < '0' || s.data[i] > '9')
            return -1;
        *v = *v * 10 + (s.data[i] - '0');
    }
    return 0;
}

/* word - the index of s in names, or -1 */
static int
word(ta_str_t s, const char *const *names)
{
    int i;

    for (i = 0; names[i]; i++)
        if (strlen(names[i]) == s.len && memcmp(names[i], s.data, s.len) == 0)
            return i;
    return -1;
}

/* fpr_ok - 64 lower-case hex digits */
static int
fpr_ok(ta_str_t s)
{
    size_t i;

    if (s.len != TA_FPR_HEX)
        return 0;
    for (i = 0; i < s.len; i++)
        if (!((s.data[i] >= '0' && s.data[i] <= '9') || (s.data[i] >= 'a' && s.data[i] <= 'f')))
            return 0;
    return 1;
}

/* parse_line - one record into x; NULL or what is wrong */
static const char *
parse_line(ta_str_t line, entry_t *x)
{
    fields_t fs;
    int      w, a;

    memset(x, 0, sizeof(*x));
    if (line.len > 4 && memcmp(line.data, "key ", 4) == 0) {
        if (split(line, &fs, 0) != 0 || fs.n != 7)
            return "a key record has 7 fields";
        x->kind = E_KEY;
        if (!name_ok(fs.f[1], 253, 0) || !name_ok(fs.f[2], 255, 0))
            return "bad domain or selector";
        if (!fpr_ok(fs.f[3]))
            return "a key fingerprint is 64 lower-case hex digits";
        if ((w = word(fs.f[4], ta_keyseen_names)) < 0)
            return "unknown key status (published, missing, other, revoked)";
        if (number(fs.f[5], &x->u.key.first_ok) || number(fs.f[6], &x->u.key.checked))
            return "bad time";
        x->u.key.d = fs.f[1];
        x->u.key.selector = fs.f[2];
        memcpy(x->u.key.fpr, fs.f[3].data, TA_FPR_HEX);
        x->u.key.seen = (ta_keyseen_t) w;
        return NULL;
    }
    if (line.len > 6 && memcmp(line.data, "dmarc ", 6) == 0) {
        if (split(line, &fs, 0) != 0 || fs.n != 6)
            return "a dmarc record has 6 fields";
        x->kind = E_DMARC;
        if (!name_ok(fs.f[1], 253, 0))
            return "bad domain";
        if ((w = word(fs.f[2], ta_dmarc_seen_names)) <= 0)
            return "unknown DMARC status (found, none, invalid, multiple)";
        if (fs.f[3].len != 1 || (fs.f[3].data[0] != 'r' && fs.f[3].data[0] != 's')
            || fs.f[4].len != 1 || (fs.f[4].data[0] != 'r' && fs.f[4].data[0] != 's'))
            return "adkim and aspf are r or s";
        if (number(fs.f[5], &x->u.dmarc.checked))
            return "bad time";
        x->u.dmarc.domain = fs.f[1];
        x->u.dmarc.seen = (ta_dmarc_seen_t) w;
        x->u.dmarc.adkim_strict = fs.f[3].data[0] == 's';
        x->u.dmarc.aspf_strict = fs.f[4].data[0] == 's';
        return NULL;
    }
    if (line.len > 9 && memcmp(line.data, "rotation ", 9) == 0) {
        if (split(line, &fs, 6) != 0 || fs.n != 7)
            return "a rotation record has 7 fields";
        x->kind = E_ROTATION;
        if (!name_ok(fs.f[1], 320, 0) || !name_ok(fs.f[2], 255, 0))
            return "bad identity or selector";
        if ((a = word(fs.f[3], alg_names)) < 0)
            return "unknown algorithm (rsa-sha256, ed25519-sha256)";
        if (number(fs.f[4], &x->u.rot.created) || number(fs.f[5], &x->u.rot.retire))
            return "bad time";
        if (!name_ok(fs.f[6], MAX_FIELD - 1, 1) || fs.f[6].data[0] != '/')
            return "a rotation's key file is an absolute path";
        x->u.rot.identity = fs.f[1];
        x->u.rot.selector = fs.f[2];
        x->u.rot.alg = (ta_dkim_alg_t) a;
        x->u.rot.file = fs.f[6];
        return NULL;
    }
    return "unknown record (key, dmarc, rotation)";
}

/* ta_state_parse - a state file's text into a state */
int
ta_state_parse(const char *text, size_t len, ta_state_t **out, char *err, size_t errlen)
{
    static const char magic[] = "tenantalign-state 1";
    ta_state_t *s;
    size_t      pos = 0, lineno = 0, end;
    entry_t     x, *have;
    const char *why;

    *out = NULL;
    s = ta_state_new();
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return TA_ESYSTEM;
    }
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        ta_str_t    line;

        end = nl ? (size_t) (nl - text) : len;
        line = ta_str(text + pos, end - pos);
        pos = nl ? end + 1 : len;
        lineno++;
        if (lineno == 1) {
            if (line.len != sizeof(magic) - 1 || memcmp(line.data, magic, line.len) != 0) {
                snprintf(err, errlen, "line 1: not a tenantalign state file (\"%s\" expected)", magic);
                ta_state_free(s);
                return TA_EINPUT;
            }
            continue;
        }
        if (line.len == 0 || line.data[0] == '#')
            continue;
        if (!nl) {
            snprintf(err, errlen, "line %zu: cut short (no line end): the file is truncated", lineno);
            ta_state_free(s);
            return TA_EINPUT;
        }
        why = parse_line(line, &x);
        if (why == NULL && x.kind != E_ROTATION && (have = find(s, &x)) != NULL)
            why = "the same thing twice";
        if (why == NULL && add(s, &x) == NULL) {
            snprintf(err, errlen, "out of memory");
            ta_state_free(s);
            return TA_ESYSTEM;
        }
        if (why != NULL) {
            snprintf(err, errlen, "line %zu: %s", lineno, why);
            ta_state_free(s);
            return TA_EINPUT;
        }
    }
    if (lineno == 0) {
        snprintf(err, errlen, "empty: not a tenantalign state file");
        ta_state_free(s);
        return TA_EINPUT;
    }
    *out = s;
    return TA_OK;
}

/* ---- lookups and updates ---- */

/* ta_state_key - what verify last saw of a key, or NULL */
const ta_state_key_t *
ta_state_key(const ta_state_t *s, ta_str_t d, ta_str_t selector, const char *fpr)
{
    entry_t probe, *e;

    memset(&probe, 0, sizeof(probe));
    probe.kind = E_KEY;
    probe.u.key.d = d;
    probe.u.key.selector = selector;
    memcpy(probe.u.key.fpr, fpr, TA_FPR_HEX);
    e = find(s, &probe);
    return e ? &e->u.key : NULL;
}

/* ta_state_dmarc - the DMARC record last seen for a domain, or NULL */
const ta_state_dmarc_t *
ta_state_dmarc(const ta_state_t *s, ta_str_t d)
{
    entry_t probe, *e;

    memset(&probe, 0, sizeof(probe));
    probe.kind = E_DMARC;
    probe.u.dmarc.domain = d;
    e = find(s, &probe);
    return e ? &e->u.dmarc : NULL;
}

/* ta_state_rotations - an identity's rotations in creation order (at most max kept) */
size_t
ta_state_rotations(const ta_state_t *s, ta_str_t identity, const ta_state_rotation_t **out,
    size_t max)
{
    entry_t probe, *e;
    size_t  n = 0;

    memset(&probe, 0, sizeof(probe));
    probe.kind = E_ROTATION;
    probe.u.rot.identity = identity;
    for (e = find(s, &probe); e != NULL; e = e->next ? &s->e[e->next - 1] : NULL) {
        if (n < max)
            out[n] = &e->u.rot;
        n++;
    }
    return n;
}

/* ta_state_note_key - record a definitive answer about a key */
int
ta_state_note_key(ta_state_t *s, ta_str_t d, ta_str_t selector, const char *fpr, ta_keyseen_t seen,
    int64_t now)
{
    entry_t x, *e;

    memset(&x, 0, sizeof(x));
    x.kind = E_KEY;
    x.u.key.d = d;
    x.u.key.selector = selector;
    memcpy(x.u.key.fpr, fpr, TA_FPR_HEX);
    e = find(s, &x);
    if (e == NULL && (e = add(s, &x)) == NULL)
        return TA_ESYSTEM;
    e->u.key.seen = seen;
    e->u.key.checked = now;
    if (seen == TA_SEEN_PUBLISHED && e->u.key.first_ok == 0)
        e->u.key.first_ok = now;
    return TA_OK;
}

/* ta_state_note_dmarc - record the DMARC record governing a domain */
int
ta_state_note_dmarc(ta_state_t *s, ta_str_t d, const ta_state_dmarc_t *seen)
{
    entry_t x, *e;

    memset(&x, 0, sizeof(x));
    x.kind = E_DMARC;
    x.u.dmarc = *seen;
    x.u.dmarc.domain = d;
    e = find(s, &x);
    if (e == NULL && (e = add(s, &x)) == NULL)
        return TA_ESYSTEM;
    d = e->u.dmarc.domain;      /* keep the entry's own copy */
    e->u.dmarc = *seen;
    e->u.dmarc.domain = d;
    return TA_OK;
}

/* ta_state_add_rotation - record a key rotate made */
int
ta_state_add_rotation(ta_state_t *s, const ta_state_rotation_t *r)
{
    entry_t x;

    memset(&x, 0, sizeof(x));
    x.kind = E_ROTATION;
    x.u.rot = *r;
    return add(s, &x) ? TA_OK : TA_ESYSTEM;
}

/* ---- writing ---- */

/* ta_state_format - the state as a file's text (malloc'ed) */
int
ta_state_format(const ta_state_t *s, char **out, size_t *len)
{
    size_t  i, cap = 128, n = 0;
    char   *buf, *nb;
    int     kind, w;

    for (i = 0; i < s->n; i++)
        cap += 160 + (s->e[i].kind == E_ROTATION ? s->e[i].u.rot.file.len + 330
                      : s->e[i].kind == E_KEY ? s->e[i].u.key.d.len + s->e[i].u.key.selector.len + TA_FPR_HEX
                      : s->e[i].u.dmarc.domain.len);
    buf = malloc(cap);
    if (buf == NULL)
        return TA_ESYSTEM;
    n = (size_t) snprintf(buf, cap, "tenantalign-state 1\n"
                          "# written by tenantalign verify and rotate; read by compile (see ta_state.h)\n");
    for (kind = E_KEY; kind <= E_ROTATION; kind++) {
        for (i = 0; i < s->n; i++) {
            const entry_t *e = &s->e[i];

            if ((int) e->kind != kind)
                continue;
            if (kind == E_KEY)
                w = snprintf(buf + n, cap - n, "key %s %s %.*s %s %lld %lld\n", e->u.key.d.data,
                             e->u.key.selector.data, TA_FPR_HEX, e->u.key.fpr,
                             ta_keyseen_names[e->u.key.seen], (long long) e->u.key.first_ok,
                             (long long) e->u.key.checked);
            else if (kind == E_DMARC)
                w = snprintf(buf + n, cap - n, "dmarc %s %s %c %c %lld\n", e->u.dmarc.domain.data,
                             ta_dmarc_seen_names[e->u.dmarc.seen], e->u.dmarc.adkim_strict ? 's' : 'r',
                             e->u.dmarc.aspf_strict ? 's' : 'r', (long long) e->u.dmarc.checked);
            else
                w = snprintf(buf + n, cap - n, "rotation %s %s %s %lld %lld %s\n", e->u.rot.identity.data,
                             e->u.rot.selector.data, alg_names[e->u.rot.alg],
                             (long long) e->u.rot.created, (long long) e->u.rot.retire, e->u.rot.file.data);
            if (w < 0 || (size_t) w >= cap - n) {
                /* cannot happen with the sizes above; never write a cut file */
                free(buf);
                return TA_ESYSTEM;
            }
            n += (size_t) w;
        }
    }
    nb = realloc(buf, n + 1);
    *out = nb ? nb : buf;
    *len = n;
    return TA_OK;
}

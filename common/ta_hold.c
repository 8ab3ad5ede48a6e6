/*
 * NAME
 *	ta_hold 3
 * SUMMARY
 *	the hold file: strict parser, sorted entries, binary-search lookups, writer
 * DESCRIPTION
 *	See ta_hold.h. Entries are kept sorted by (hash of the tenant, tenant,
 *	identity, kind): a tenant's entries are side by side, found with one
 *	binary search over a packed array of their 64-bit hashes (8 octets an
 *	entry: 10,000 holds fit in a CPU's L2 cache), the strings touched only
 *	at the end. A decision pays a few cache lines for it, whatever the
 *	number of holds.
 *	The file written is in that order: stable. Each entry owns one
 *	allocation for its strings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ta_hold.h"

#define MAX_ENTRIES 2000000
#define MAX_NAME    320     /* LOCAL@DOMAIN */

const char *const ta_hold_kind_names[] = { "pause", "suspend", NULL };

typedef struct {
    uint64_t        hash;       /* of the tenant name: compared first */
    ta_hold_entry_t e;
    char           *text;
} slot_t;

struct ta_hold {
    slot_t   *v;
    uint64_t *hashes;       /* v[i].hash again, packed: what the search reads */
    size_t    n, cap;
};

/* cmp_str - bytewise order of two counted strings */
static int
cmp_str(ta_str_t a, ta_str_t b)
{
    size_t n = a.len < b.len ? a.len : b.len;
    int    c = n ? memcmp(a.data, b.data, n) : 0;

    return c ? c : (a.len > b.len) - (a.len < b.len);
}

/* name_hash - FNV-1a of a tenant name */
static uint64_t
name_hash(ta_str_t s)
{
    uint64_t h = 1469598103934665603ULL;
    size_t   i;

    for (i = 0; i < s.len; i++) {
        h ^= (unsigned char) s.data[i];
        h *= 1099511628211ULL;
    }
    return h;
}

/* cmp_key - the entries' order; identity NULL: before every entry of the tenant */
static int
cmp_key(uint64_t hash, ta_str_t tenant, const ta_str_t *identity, ta_hold_kind_t kind, const slot_t *s)
{
    int c = (hash > s->hash) - (hash < s->hash);

    if (c == 0)
        c = cmp_str(tenant, s->e.tenant);
    if (c == 0)
        c = identity == NULL ? -1 : cmp_str(*identity, s->e.identity);
    return c ? c : (int) kind - (int) s->e.kind;
}

/* locate - the index of the key, or where it would go (*found says which) */
static size_t
locate(const ta_hold_t *h, ta_str_t tenant, const ta_str_t *identity, ta_hold_kind_t kind, int *found)
{
    uint64_t hash = name_hash(tenant);
    size_t   lo = 0, hi = h->n, mid;
    int      c;

    *found = 0;
    /* the first entry with this hash, over the packed hashes */
    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        if (h->hashes[mid] < hash)
            lo = mid + 1;
        else
            hi = mid;
    }
    /* then the few with the same hash, in full */
    for (; lo < h->n && h->hashes[lo] == hash; lo++) {
        c = cmp_key(hash, tenant, identity, kind, &h->v[lo]);
        if (c == 0) {
            *found = 1;
            return lo;
        }
        if (c < 0)
            break;
    }
    return lo;
}

/* printable - 1 to max octets of printable ASCII; spaces only where allowed
 * (names are fields, a reason is the rest of the line, shown to clients) */
static int
printable(ta_str_t s, size_t max, int spaces)
{
    size_t i;

    if (s.len == 0 || s.len > max)
        return 0;
    for (i = 0; i < s.len; i++)
        if ((unsigned char) s.data[i] < (spaces ? 0x20 : 0x21) || (unsigned char) s.data[i] >= 0x7f)
            return 0;
    return 1;
}

/* ta_hold_new - an empty hold */
ta_hold_t *
ta_hold_new(void)
{
    return calloc(1, sizeof(ta_hold_t));
}

/* ta_hold_free - a hold and everything it owns */
void
ta_hold_free(ta_hold_t *h)
{
    size_t i;

    if (h == NULL)
        return;
    for (i = 0; i < h->n; i++)
        free(h->v[i].text);
    free(h->v);
    free(h->hashes);
    free(h);
}

/* ta_hold_count - entries held */
size_t
ta_hold_count(const ta_hold_t *h)
{
    return h ? h->n : 0;
}

/*
 * ta_hold_set - hold (on) or release (off) TENANT or one of its identities;
 * TA_OK, TA_EINPUT for a bad name or reason, TA_ESYSTEM out of memory
 */
int
ta_hold_set(ta_hold_t *h, ta_hold_kind_t kind, ta_str_t tenant, ta_str_t identity, int on,
    int64_t since, ta_str_t reason)
{
    slot_t *s, *nv;
    size_t  at, size;
    int     found;
    char   *p;

    if (identity.len == 0)
        identity = ta_str("*", 1);
    if (reason.len == 0)
        reason = ta_str("-", 1);
    if (!printable(tenant, MAX_NAME, 0) || !printable(identity, MAX_NAME, 0)
        || !printable(reason, TA_HOLD_REASON_MAX, 1) || since < 0)
        return TA_EINPUT;
    at = locate(h, tenant, &identity, kind, &found);
    if (!on) {
        if (found) {
            free(h->v[at].text);
            memmove(&h->v[at], &h->v[at + 1], (h->n - at - 1) * sizeof(*h->v));
            memmove(&h->hashes[at], &h->hashes[at + 1], (h->n - at - 1) * sizeof(*h->hashes));
            h->n--;
        }
        return TA_OK;
    }
    size = tenant.len + identity.len + reason.len + 3;
    if ((p = malloc(size)) == NULL)
        return TA_ESYSTEM;
    if (!found) {
        if (h->n >= MAX_ENTRIES) {
            free(p);
            return TA_EINPUT;
        }
        if (h->n == h->cap) {
            size_t    want = h->cap ? h->cap * 2 : 16;
            uint64_t *nh = realloc(h->hashes, want * sizeof(*nh));

            if (nh != NULL)
                h->hashes = nh;
            nv = nh ? realloc(h->v, want * sizeof(*nv)) : NULL;
            if (nv == NULL) {
                free(p);
                return TA_ESYSTEM;
            }
            h->v = nv;
            h->cap = want;
        }
        memmove(&h->v[at + 1], &h->v[at], (h->n - at) * sizeof(*h->v));
        memmove(&h->hashes[at + 1], &h->hashes[at], (h->n - at) * sizeof(*h->hashes));
        h->n++;
    } else {
        free(h->v[at].text);
    }
    s = &h->v[at];
    s->hash = h->hashes[at] = name_hash(tenant);
    s->text = p;
    s->e.kind = kind;
    s->e.since = since;
    memcpy(p, tenant.data, tenant.len);
    s->e.tenant = ta_str(p, tenant.len);
    p[tenant.len] = '\0';
    p += tenant.len + 1;
    memcpy(p, identity.data, identity.len);
    s->e.identity = ta_str(p, identity.len);
    p[identity.len] = '\0';
    p += identity.len + 1;
    memcpy(p, reason.data, reason.len);
    s->e.reason = ta_str(p, reason.len);
    p[reason.len] = '\0';
    return TA_OK;
}

/* ta_hold_find - what holds a message of tenant sent as identity: suspensions first */
const ta_hold_entry_t *
ta_hold_find(const ta_hold_t *h, ta_str_t tenant, ta_str_t identity)
{
    const ta_hold_entry_t *pause = NULL;
    size_t                 at;
    int                    found;

    if (h == NULL || h->n == 0)
        return NULL;
    /* the tenant's entries are side by side: one search, then a short walk */
    for (at = locate(h, tenant, NULL, TA_HOLD_PAUSE, &found); at < h->n; at++) {
        const ta_hold_entry_t *e = &h->v[at].e;

        if (!ta_str_eq(e->tenant, tenant))
            break;
        if (!(e->identity.len == 1 && e->identity.data[0] == '*') && !ta_str_eq(e->identity, identity))
            continue;
        if (e->kind == TA_HOLD_SUSPEND)
            return e;
        if (pause == NULL)
            pause = e;
    }
    return pause;
}

/* field - the next space-separated field of a line; the rest of it when last */
static int
field(ta_str_t *line, ta_str_t *out, int rest)
{
    const char *sp;

    if (line->len == 0)
        return -1;
    sp = rest ? NULL : memchr(line->data, ' ', line->len);
    if (sp == NULL) {
        *out = *line;
        *line = ta_str(line->data + line->len, 0);
        return rest ? 0 : -1;
    }
    *out = ta_str(line->data, (size_t) (sp - line->data));
    *line = ta_str(sp + 1, line->len - out->len - 1);
    return out->len ? 0 : -1;
}

/* parse_line - one hold line into h; NULL or what is wrong */
static const char *
parse_line(ta_hold_t *h, ta_str_t line)
{
    ta_str_t kind, tenant, identity, since, reason;
    int64_t  t = 0;
    size_t   i;
    int      k, rc, found;

    if (field(&line, &kind, 0) || field(&line, &tenant, 0) || field(&line, &identity, 0)
        || field(&line, &since, 0) || field(&line, &reason, 1))
        return "a hold line is: pause|suspend TENANT IDENTITY SINCE REASON";
    for (k = 0; ta_hold_kind_names[k]; k++)
        if (strlen(ta_hold_kind_names[k]) == kind.len && memcmp(ta_hold_kind_names[k], kind.data, kind.len) == 0)
            break;
    if (ta_hold_kind_names[k] == NULL)
        return "unknown hold (pause, suspend)";
    if (since.len == 0 || since.len > 18)
        return "bad time";
    for (i = 0; i < since.len; i++) {
        if (since.data[i] < '0' || since.data[i] > '9')
            return "bad time";
        t = t * 10 + (since.data[i] - '0');
    }
    if (!printable(tenant, MAX_NAME, 0) || !printable(identity, MAX_NAME, 0))
        return "bad tenant or identity";
    if (!printable(reason, TA_HOLD_REASON_MAX, 1))
        return "the reason is printable ASCII, 1 to 200 octets";
    (void) locate(h, tenant, &identity, (ta_hold_kind_t) k, &found);
    if (found)
        return "the same hold twice";
    rc = ta_hold_set(h, (ta_hold_kind_t) k, tenant, identity, 1, t, reason);
    return rc == TA_OK ? NULL : rc == TA_ESYSTEM ? "out of memory" : "too many holds";
}

/* ta_hold_parse - a hold file's text */
int
ta_hold_parse(const char *text, size_t len, ta_hold_t **out, char *err, size_t errlen)
{
    static const char magic[] = "tenantalign-hold 1";
    ta_hold_t  *h = ta_hold_new();
    size_t      pos = 0, lineno = 0;
    const char *why;

    *out = NULL;
    if (h == NULL) {
        snprintf(err, errlen, "out of memory");
        return TA_ESYSTEM;
    }
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t      end = nl ? (size_t) (nl - text) : len;
        ta_str_t    line = ta_str(text + pos, end - pos);

        pos = nl ? end + 1 : len;
        lineno++;
        why = NULL;
        if (lineno == 1) {
            if (line.len != sizeof(magic) - 1 || memcmp(line.data, magic, line.len) != 0)
                why = "not a tenantalign hold file (\"tenantalign-hold 1\" expected)";
        } else if (line.len == 0 || line.data[0] == '#') {
            continue;
        } else if (nl == NULL) {
            why = "cut short (no line end): the file is truncated";
        } else {
            why = parse_line(h, line);
        }
        if (why != NULL) {
            snprintf(err, errlen, "line %zu: %s", lineno, why);
            ta_hold_free(h);
            return TA_EINPUT;
        }
    }
    if (lineno == 0) {
        snprintf(err, errlen, "empty: not a tenantalign hold file");
        ta_hold_free(h);
        return TA_EINPUT;
    }
    *out = h;
    return TA_OK;
}

/* ta_hold_format - the hold as a file's text (malloc'ed) */
int
ta_hold_format(const ta_hold_t *h, char **out, size_t *len)
{
    static const char head[] = "tenantalign-hold 1\n"
                               "# written by tenantalign pause/resume/suspend/unsuspend\n";
    size_t i, cap = sizeof(head), n;
    char  *buf;
    int    w;

    for (i = 0; i < h->n; i++)
        cap += h->v[i].e.tenant.len + h->v[i].e.identity.len + h->v[i].e.reason.len + 40;
    if ((buf = malloc(cap)) == NULL)
        return TA_ESYSTEM;
    memcpy(buf, head, sizeof(head) - 1);
    n = sizeof(head) - 1;
    for (i = 0; i < h->n; i++) {
        const ta_hold_entry_t *e = &h->v[i].e;

        w = snprintf(buf + n, cap - n, "%s %s %s %lld %s\n", ta_hold_kind_names[e->kind], e->tenant.data,
                     e->identity.data, (long long) e->since, e->reason.data);
        if (w < 0 || (size_t) w >= cap - n) {
            free(buf);
            return TA_ESYSTEM;
        }
        n += (size_t) w;
    }
    *out = buf;
    *len = n;
    return TA_OK;
}

/*
 * NAME
 *	ta_spf 3
 * SUMMARY
 *	SPF check_host() for onboarding: does DOMAIN's SPF authorize IP?
 * SYNOPSIS
 *	#include "ta_spf.h"
 * DESCRIPTION
 *	See ta_spf.h. check_host() reads a record in two passes over its
 *	terms: the first checks the syntax of every term (RFC 7208 4.6: a
 *	syntax error anywhere is a permerror, whatever would have matched
 *	first), the second evaluates the directives in order. Terms are
 *	parsed again in the second pass rather than kept: a record is at most
 *	TA_SPF_ROW octets, and nothing needs to be stored per term.
 *
 *	All work is bounded by the RFC's own limits: 10 DNS-querying terms
 *	in all (so at most 10 nested include/redirect levels), 10 names per
 *	mx or ptr, and TA_SPF_MAX_ROWS answers per query. The evaluation state
 *	(answer rows, the expansion buffer) is one allocation per check; each
 *	recursion level keeps only its own record and a name.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "ta_spf.h"

#define NAME_MAX_LEN    253
#define SENDER_MAX      320     /* RFC 5321: 64 + "@" + 255 */
#define EXPAND_SIZE     4096
#define MAX_DEPTH       (TA_SPF_MAX_LOOKUPS + 1)
#define MAX_PARTS       512     /* macro value parts: values are at most SENDER_MAX octets */
#define TERM_SHOWN      80      /* octets of a term quoted in why */
#define NAME_MULTI      1       /* name_ok: at least two labels */
#define NAME_SP         2       /* name_ok: SP allowed */

enum {
    M_ALL, M_INCLUDE, M_A, M_MX, M_PTR, M_IP4, M_IP6, M_EXISTS,
    MOD_REDIRECT, MOD_EXP, MOD_OTHER
};

typedef struct {
    char      qual;         /* '+', '-', '~', '?' */
    int       kind;
    ta_str_t  text;         /* the whole term, for messages */
    ta_str_t  spec;         /* domain-spec or modifier value; data NULL: none */
    ta_ip_t   net;          /* ip4, ip6 */
    int       cidr4, cidr6;
} term_t;

typedef struct {
    ta_spf_resolve_fn  resolve;
    void              *rctx;
    ta_spf_outcome_t  *out;
    ta_spf_result_t    err;         /* the result when a step returned -1 */
    ta_ip_t            ip;
    unsigned           queries;
    char               sender[SENDER_MAX + 1];
    char               expand[EXPAND_SIZE];
    char               rows[TA_SPF_MAX_ROWS][TA_SPF_ROW];
} spf_t;

static ta_spf_result_t check_host(spf_t *c, const char *domain, int depth);

/* ta_spf_result_name - the result as RFC 7208 2.6 spells it */
const char *
ta_spf_result_name(ta_spf_result_t r)
{
    static const char *const names[] = {
        "none", "neutral", "pass", "fail", "softfail", "temperror", "permerror"
    };

    return (unsigned) r < sizeof(names) / sizeof(names[0]) ? names[r] : "?";
}

/* ta_ip_parse - an IPv4 or IPv6 address in text */
int
ta_ip_parse(const char *text, ta_ip_t *ip)
{
    char   buf[INET6_ADDRSTRLEN];
    size_t n = strnlen(text, sizeof(buf));

    if (n == 0 || n >= sizeof(buf))
        return TA_EINPUT;
    memcpy(buf, text, n + 1);
    memset(ip, 0, sizeof(*ip));
    ip->family = memchr(buf, ':', n) ? AF_INET6 : AF_INET;
    return inet_pton(ip->family, buf, ip->addr) == 1 ? TA_OK : TA_EINPUT;
}

/* is_alpha - an ASCII letter */
static int
is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* is_alnum - an ASCII letter or digit */
static int
is_alnum(char c)
{
    return is_alpha(c) || (c >= '0' && c <= '9');
}

/* why - say what decided, replacing what was said before */
static void why(spf_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void
why(spf_t *c, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(c->out->why, sizeof(c->out->why), fmt, ap);
    va_end(ap);
}

/* shown - how much of a term to quote */
static int
shown(ta_str_t t)
{
    return t.len > TERM_SHOWN ? TERM_SHOWN : (int) t.len;
}

/* in_net - a and b agree on their first bits bits (same family) */
static int
in_net(const ta_ip_t *a, const ta_ip_t *b, int bits)
{
    int           whole = bits / 8, rest = bits % 8;
    unsigned char mask;

    if (a->family != b->family)
        return 0;
    if (memcmp(a->addr, b->addr, (size_t) whole) != 0)
        return 0;
    if (rest == 0)
        return 1;
    mask = (unsigned char) (0xff << (8 - rest));
    return (a->addr[whole] & mask) == (b->addr[whole] & mask);
}

/* name_ok - labels of 1-63 printable octets, 253 in all; at least two
 * labels (NAME_MULTI); SP allowed (NAME_SP: a query name, which macros
 * such as %_ may give one; DNS names may hold any octet) */
static int
name_ok(const char *p, size_t n, int flags)
{
    size_t i, label = 0, labels = 1;

    if (n == 0 || n > NAME_MAX_LEN)
        return 0;
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char) p[i];

        if (ch == '.') {
            if (label == 0)
                return 0;
            label = 0;
            labels++;
            continue;
        }
        if ((ch < 0x21 && !(ch == ' ' && (flags & NAME_SP))) || ch > 0x7e || ++label > 63)
            return 0;
    }
    return label > 0 && (!(flags & NAME_MULTI) || labels >= 2);
}

/* ip_text - %{i}: a dotted quad, or 32 dot-separated nibbles (RFC 7208 7.3) */
static void
ip_text(const ta_ip_t *ip, char *buf, size_t size)
{
    static const char hex[] = "0123456789abcdef";
    size_t            i, o = 0;

    if (ip->family == AF_INET) {
        snprintf(buf, size, "%u.%u.%u.%u", ip->addr[0], ip->addr[1], ip->addr[2], ip->addr[3]);
        return;
    }
    for (i = 0; i < 16 && o + 4 <= size; i++) {
        buf[o++] = hex[ip->addr[i] >> 4];
        buf[o++] = '.';
        buf[o++] = hex[ip->addr[i] & 15];
        buf[o++] = '.';
    }
    buf[o ? o - 1 : 0] = '\0';
}

/* reverse_name - the PTR query name of an address */
static void
reverse_name(const ta_ip_t *ip, char *buf, size_t size)
{
    static const char hex[] = "0123456789abcdef";
    size_t            o = 0;
    int               i;

    if (ip->family == AF_INET) {
        snprintf(buf, size, "%u.%u.%u.%u.in-addr.arpa",
                 ip->addr[3], ip->addr[2], ip->addr[1], ip->addr[0]);
        return;
    }
    for (i = 15; i >= 0 && o + 4 < size; i--) {
        buf[o++] = hex[ip->addr[i] & 15];
        buf[o++] = '.';
        buf[o++] = hex[ip->addr[i] >> 4];
        buf[o++] = '.';
    }
    snprintf(buf + o, size - o, "ip6.arpa");
}

/* put - append n octets to out[0..size), keeping room for a NUL */
static int
put(char *out, size_t size, size_t *o, const char *p, size_t n)
{
    if (n >= size - *o)
        return -1;
    memcpy(out + *o, p, n);
    *o += n;
    return 0;
}

/* put_escaped - append, URL-escaping all but RFC 3986 unreserved octets */
static int
put_escaped(char *out, size_t size, size_t *o, const char *p, size_t n, int escape)
{
    static const char hex[] = "0123456789ABCDEF";
    char              e[3];
    size_t            i;

    if (!escape)
        return put(out, size, o, p, n);
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char) p[i];

        if (is_alnum((char) ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
            if (put(out, size, o, p + i, 1) < 0)
                return -1;
            continue;
        }
        e[0] = '%';
        e[1] = hex[ch >> 4];
        e[2] = hex[ch & 15];
        if (put(out, size, o, e, 3) < 0)
            return -1;
    }
    return 0;
}

/* macro_value - the value of a macro letter (lower case) */
static ta_str_t
macro_value(const ta_spf_macro_env_t *env, char letter, char *buf, size_t size)
{
    const char *s = env->sender ? env->sender : "", *at = strrchr(s, '@');

    switch (letter) {
    case 's':
        return ta_str_cstr(s);
    case 'l':
        return at ? ta_str(s, (size_t) (at - s)) : ta_str("postmaster", 10);
    case 'o':
        return at ? ta_str_cstr(at + 1) : ta_str_cstr(s);
    case 'i':
        ip_text(&env->ip, buf, size);
        return ta_str_cstr(buf);
    case 'p':
        return ta_str("unknown", 7);
    case 'v':
        return env->ip.family == AF_INET ? ta_str("in-addr", 7) : ta_str("ip6", 3);
    default:    /* 'd', 'h' */
        return ta_str_cstr(env->domain ? env->domain : "");
    }
}

/*
 * transform - the parts of v split at any of delims, reversed when rev,
 * the rightmost keep of them (all when 0), joined with "." (RFC 7208 7.3)
 */
static int
transform(ta_str_t v, const char *delims, size_t ndelims, unsigned keep, int rev, int escape,
    char *out, size_t size, size_t *o)
{
    size_t start[MAX_PARTS], len[MAX_PARTS], np = 0, i, s = 0, from, idx;

    for (i = 0; i <= v.len; i++) {
        if (i < v.len && memchr(delims, v.data[i], ndelims) == NULL)
            continue;
        if (np == MAX_PARTS)
            return -1;
        start[np] = s;
        len[np++] = i - s;
        s = i + 1;
    }
    from = keep > 0 && keep < np ? np - keep : 0;
    for (i = from; i < np; i++) {
        idx = rev ? np - 1 - i : i;
        if ((i > from && put(out, size, o, ".", 1) < 0)
            || put_escaped(out, size, o, v.data + start[idx], len[idx], escape) < 0)
            return -1;
    }
    return 0;
}

/*
 * expand - the macro-string spec expanded into out; *ends_macro tells
 * whether its last token was a macro-expand (a domain-spec may end so)
 */
static int
expand(ta_str_t spec, const ta_spf_macro_env_t *env, char *out, size_t size, size_t *len,
    int *ends_macro, const char **why_not)
{
    static const char all_delims[] = ".-+,/_=";
    char              ibuf[64], delims[sizeof(all_delims)], letter;
    size_t            i = 0, o = 0, nd, j;
    unsigned          keep;
    int               rev, escape;

    *ends_macro = 0;
    if (size == 0)
        return TA_EINPUT;
    while (i < spec.len) {
        char ch = spec.data[i];

        if (ch != '%') {
            if ((unsigned char) ch < 0x21 || (unsigned char) ch > 0x7e)
                goto bad_char;
            if (put(out, size, &o, &ch, 1) < 0)
                goto too_long;
            /* a trailing dot after a macro is taken as ending the name,
             * as after a top label (the grammar has no room for it) */
            if (ch != '.' || i + 1 != spec.len)
                *ends_macro = 0;
            i++;
            continue;
        }
        *ends_macro = 1;
        if (i + 1 >= spec.len)
            goto bad_macro;
        ch = spec.data[i + 1];
        if (ch == '%' || ch == '_' || ch == '-') {
            if (put(out, size, &o, ch == '%' ? "%" : ch == '_' ? " " : "%20", ch == '-' ? 3 : 1) < 0)
                goto too_long;
            i += 2;
            continue;
        }
        if (ch != '{' || i + 2 >= spec.len)
            goto bad_macro;
        letter = spec.data[i + 2];
        escape = letter >= 'A' && letter <= 'Z';
        if (escape)
            letter = (char) (letter - 'A' + 'a');
        if (letter == 'c' || letter == 'r' || letter == 't') {
            *why_not = "macros c, r and t are only for exp= text";
            return TA_EINPUT;
        }
        if (memchr("slodiphv", letter, 8) == NULL)
            goto bad_macro;
        j = i + 3;
        keep = 0;
        for (nd = 0; j < spec.len && spec.data[j] >= '0' && spec.data[j] <= '9'; j++, nd++)
            if (keep < 1000)            /* any count over the parts there are means all */
                keep = keep * 10 + (unsigned) (spec.data[j] - '0');
        if (nd > 0 && keep == 0) {
            *why_not = "a macro keeps zero parts";
            return TA_EINPUT;
        }
        rev = j < spec.len && (spec.data[j] == 'r' || spec.data[j] == 'R');
        j += (size_t) rev;
        for (nd = 0; j < spec.len && memchr(all_delims, spec.data[j], sizeof(all_delims) - 1); j++)
            if (memchr(delims, spec.data[j], nd) == NULL)
                delims[nd++] = spec.data[j];
        if (j >= spec.len || spec.data[j] != '}')
            goto bad_macro;
        if (nd == 0)
            delims[nd++] = '.';
        if (transform(macro_value(env, letter, ibuf, sizeof(ibuf)), delims, nd, keep, rev, escape,
                      out, size, &o) < 0)
            goto too_long;
        i = j + 1;
    }
    out[o] = '\0';
    *len = o;
    return TA_OK;
bad_char:
    *why_not = "a character that is not allowed";
    return TA_EINPUT;
bad_macro:
    *why_not = "a bad macro";
    return TA_EINPUT;
too_long:
    *why_not = "a macro expansion too long";
    return TA_EINPUT;
}

/* ta_spf_expand - a domain-spec with its macros expanded */
int
ta_spf_expand(ta_str_t spec, const ta_spf_macro_env_t *env, char *out, size_t size,
    size_t *len, const char **why_not)
{
    int ends_macro;

    return expand(spec, env, out, size, len, &ends_macro, why_not);
}

/* toplabel_ok - the last label of a domain-spec that does not end in a
 * macro: alphanumerics and hyphens, not all digits, no hyphen at an end */
static int
toplabel_ok(ta_str_t s)
{
    size_t n = s.len, i;
    int    alpha = 0, hyphen = 0;

    if (n > 0 && s.data[n - 1] == '.')
        n--;
    for (i = n; i > 0 && s.data[i - 1] != '.'; i--)
        ;
    if (i == 0 || i == n)       /* no "." before it, or empty */
        return 0;
    if (!is_alnum(s.data[i]) || !is_alnum(s.data[n - 1]))
        return 0;
    for (; i < n; i++) {
        if (s.data[i] == '-')
            hyphen = 1;
        else if (is_alpha(s.data[i]))
            alpha = 1;
        else if (!is_alnum(s.data[i]))
            return 0;
    }
    return alpha || hyphen;
}

/* env_of - the macro environment at domain */
static ta_spf_macro_env_t
env_of(const spf_t *c, const char *domain)
{
    ta_spf_macro_env_t env;

    env.domain = domain;
    env.sender = c->sender;
    env.ip = c->ip;
    return env;
}

/* spec_ok - a domain-spec (RFC 7208 7.1): non-empty macros that expand,
 * ending in a macro or in "." toplabel */
static int
spec_ok(spf_t *c, const char *domain, ta_str_t spec, int domain_spec, const char **why_not)
{
    ta_spf_macro_env_t env = env_of(c, domain);
    size_t             len;
    int                ends_macro;

    if (domain_spec && spec.len == 0) {
        *why_not = "an empty domain";
        return -1;
    }
    if (expand(spec, &env, c->expand, sizeof(c->expand), &len, &ends_macro, why_not) != TA_OK)
        return -1;
    if (domain_spec && !ends_macro && !toplabel_ok(spec)) {
        *why_not = "a domain that does not end in \".\" and a top label";
        return -1;
    }
    return 0;
}

/* cidr - a prefix length: "0" or digits without a leading zero, at most max */
static int
cidr(const char *p, size_t n, int max, int *out)
{
    size_t i;
    int    v = 0;

    if (n == 0 || n > 3 || (p[0] == '0' && n > 1))
        return 0;
    for (i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return 0;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return v <= max;
}

/* last_slash - the offset of the last "/" in p[0..n) followed only by
 * digits (at least one), or n */
static size_t
last_slash(const char *p, size_t n)
{
    size_t i = n;

    while (i > 0 && p[i - 1] >= '0' && p[i - 1] <= '9')
        i--;
    return i > 0 && i < n && p[i - 1] == '/' ? i - 1 : n;
}

/* dual_cidr - strip "/N", "//M" or "/N//M" from the end of rest */
static int
dual_cidr(ta_str_t *rest, term_t *m)
{
    size_t k = last_slash(rest->data, rest->len);

    if (k == rest->len)
        return 0;
    if (k > 0 && rest->data[k - 1] == '/') {
        if (!cidr(rest->data + k + 1, rest->len - k - 1, 128, &m->cidr6))
            return -1;
        rest->len = k - 1;
        k = last_slash(rest->data, rest->len);
        if (k == rest->len)
            return 0;
    }
    if (!cidr(rest->data + k + 1, rest->len - k - 1, 32, &m->cidr4))
        return -1;
    rest->len = k;
    return 0;
}

/* ip_net - "ip4:" or "ip6:" network ["/" length] */
static int
ip_net(ta_str_t rest, term_t *m, int family)
{
    char   buf[INET6_ADDRSTRLEN];
    size_t k;
    int    bits = family == AF_INET ? 32 : 128;

    if (rest.len < 2 || rest.data[0] != ':')
        return -1;
    rest.data++;
    rest.len--;
    k = last_slash(rest.data, rest.len);
    if (k < rest.len && !cidr(rest.data + k + 1, rest.len - k - 1, bits, &bits))
        return -1;
    if (k == 0 || k >= sizeof(buf))
        return -1;
    memcpy(buf, rest.data, k);
    buf[k] = '\0';
    if (ta_ip_parse(buf, &m->net) != TA_OK || m->net.family != family)
        return -1;
    if (family == AF_INET)
        m->cidr4 = bits;
    else
        m->cidr6 = bits;
    return 0;
}

/* parse_term - one term of a record (RFC 7208 4.6.1, 5, 6); 0 or -1 */
static int
parse_term(spf_t *c, const char *domain, ta_str_t t, term_t *m, const char **why_not)
{
    static const char *const mechs[] = {
        "all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists", NULL
    };
    ta_str_t name, rest;
    size_t   i = 0, j;
    int      k;

    memset(m, 0, sizeof(*m));
    m->qual = '+';
    m->text = t;
    m->cidr4 = 32;
    m->cidr6 = 128;
    *why_not = "bad syntax";
    /* a modifier: name "=" (a mechanism has no "=" before ":" or "/") */
    if (is_alpha(t.data[0])) {
        for (j = 1; j < t.len && (is_alnum(t.data[j]) || memchr("-_.", t.data[j], 3)); j++)
            ;
        if (j < t.len && t.data[j] == '=') {
            name = ta_str(t.data, j);
            m->spec = ta_str(t.data + j + 1, t.len - j - 1);
            if (ta_str_caseeq(name, ta_str("redirect", 8)))
                m->kind = MOD_REDIRECT;
            else if (ta_str_caseeq(name, ta_str("exp", 3)))
                m->kind = MOD_EXP;
            else
                m->kind = MOD_OTHER;    /* unknown: ignored, but its value must be a macro-string */
            return spec_ok(c, domain, m->spec, m->kind != MOD_OTHER, why_not);
        }
    }
    if (memchr("+-~?", t.data[0], 4)) {
        m->qual = t.data[0];
        i = 1;
    }
    for (j = i; j < t.len && is_alnum(t.data[j]); j++)
        ;
    name = ta_str(t.data + i, j - i);
    rest = ta_str(t.data + j, t.len - j);
    for (k = 0; mechs[k] != NULL; k++)
        if (ta_str_caseeq(name, ta_str_cstr(mechs[k])))
            break;
    m->kind = k;
    switch (k) {
    case M_ALL:
        return rest.len == 0 ? 0 : -1;
    case M_IP4:
        return ip_net(rest, m, AF_INET);
    case M_IP6:
        return ip_net(rest, m, AF_INET6);
    case M_A:
    case M_MX:
        if (dual_cidr(&rest, m) < 0) {
            *why_not = "a bad CIDR length";
            return -1;
        }
        /* fall through */
    case M_PTR:
        if (rest.len == 0)
            return 0;
        /* fall through */
    case M_INCLUDE:
    case M_EXISTS:
        if (rest.len == 0 || rest.data[0] != ':')
            return -1;
        m->spec = ta_str(rest.data + 1, rest.len - 1);
        return spec_ok(c, domain, m->spec, 1, why_not);
    default:
        *why_not = "an unknown mechanism";
        return -1;
    }
}

/* next_term - the next SP-separated term of a record, from *pos */
static int
next_term(const char *rec, size_t len, size_t *pos, ta_str_t *t)
{
    size_t i = *pos, start;

    while (i < len && rec[i] == ' ')
        i++;
    if (i >= len)
        return 0;
    for (start = i; i < len && rec[i] != ' '; i++)
        ;
    *t = ta_str(rec + start, i - start);
    *pos = i;
    return 1;
}

/* fail - an error result, and why */
static int fail(spf_t *c, ta_spf_result_t r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int
fail(spf_t *c, ta_spf_result_t r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(c->out->why, sizeof(c->out->why), fmt, ap);
    va_end(ap);
    c->err = r;
    return -1;
}

/* count_lookup - one more DNS-querying term; -1 past the limit */
static int
count_lookup(spf_t *c, const term_t *m)
{
    if (c->out->lookups >= TA_SPF_MAX_LOOKUPS)
        return fail(c, TA_SPF_PERMERROR, "more than 10 DNS lookups (RFC 7208 4.6.4), at '%.*s'",
                    shown(m->text), m->text.data);
    c->out->lookups++;
    return 0;
}

/* query - ask the resolver; answers in c->rows, every row NUL-terminated
 * whatever the resolver wrote; no answers is NODATA */
static ta_spf_rcode_t
query(spf_t *c, ta_spf_qtype_t type, const char *name, size_t max, size_t *n)
{
    ta_spf_rcode_t rc;
    size_t         i;

    *n = 0;
    if (c->queries >= TA_SPF_MAX_QUERIES)   /* cannot happen: the limits above bound it */
        return TA_SPF_R_TEMP;
    c->queries++;
    rc = c->resolve(c->rctx, type, name, c->rows, max, n);
    if (rc != TA_SPF_R_OK && rc != TA_SPF_R_NXDOMAIN && rc != TA_SPF_R_NODATA)
        rc = TA_SPF_R_TEMP;
    if (rc != TA_SPF_R_OK)
        *n = 0;
    if (*n > max)
        *n = max;
    for (i = 0; i < *n; i++)
        c->rows[i][TA_SPF_ROW - 1] = '\0';
    if (rc == TA_SPF_R_OK && *n == 0)
        rc = TA_SPF_R_NODATA;
    return rc;
}

/* void_lookup - count a query of a term that found nothing; -1 past the limit */
static int
void_lookup(spf_t *c, ta_spf_rcode_t rc, const term_t *m)
{
    if (rc != TA_SPF_R_NXDOMAIN && rc != TA_SPF_R_NODATA)
        return 0;
    if (++c->out->void_lookups > TA_SPF_MAX_VOID)
        return fail(c, TA_SPF_PERMERROR, "more than 2 void lookups (RFC 7208 4.6.4), at '%.*s'",
                    shown(m->text), m->text.data);
    return 0;
}

/* temp - a DNS error: temperror */
static int
temp(spf_t *c, const char *type, const char *name)
{
    return fail(c, TA_SPF_TEMPERROR, "DNS error looking up %s %s", type, name);
}

/*
 * target - the name a term queries: its domain-spec expanded, or the
 * current domain; labels dropped on the left of an expansion over 253
 * octets (RFC 7208 7.3). -1 when it is not a valid name.
 */
static int
target(spf_t *c, const term_t *m, const char *domain, char name[NAME_MAX_LEN + 1])
{
    ta_spf_macro_env_t env = env_of(c, domain);
    const char        *p = c->expand, *dot, *why_not;
    size_t             n;

    if (m->spec.data == NULL) {
        snprintf(name, NAME_MAX_LEN + 1, "%s", domain);
        return 0;
    }
    if (ta_spf_expand(m->spec, &env, c->expand, sizeof(c->expand), &n, &why_not) != TA_OK)
        return fail(c, TA_SPF_PERMERROR, "'%.*s' in %s: %s", shown(m->text), m->text.data,
                    domain, why_not);
    if (n > 0 && p[n - 1] == '.')
        n--;
    if (n > NAME_MAX_LEN && memchr(m->spec.data, '%', m->spec.len) != NULL)
        while (n > NAME_MAX_LEN && (dot = memchr(p, '.', n)) != NULL) {
            n -= (size_t) (dot + 1 - p);
            p = dot + 1;
        }
    if (!name_ok(p, n, NAME_SP))
        return fail(c, TA_SPF_PERMERROR, "'%.*s' in %s: not a valid domain name once expanded",
                    shown(m->text), m->text.data, domain);
    memcpy(name, p, n);
    name[n] = '\0';
    return 0;
}

/* addr_match - one of name's addresses is in the client's network of the
 * term's prefix length: 1, 0, or -1 (decided). Only a term's own query
 * (primary) counts as a void lookup. */
static int
addr_match(spf_t *c, const term_t *m, const char *name, int primary)
{
    int            v6 = c->ip.family == AF_INET6;
    size_t         n, i;
    ta_ip_t        a;
    ta_spf_rcode_t rc = query(c, v6 ? TA_SPF_Q_AAAA : TA_SPF_Q_A, name, TA_SPF_MAX_ROWS, &n);

    if (rc == TA_SPF_R_TEMP)
        return temp(c, v6 ? "AAAA" : "A", name);
    if (primary && void_lookup(c, rc, m) < 0)
        return -1;
    for (i = 0; i < n; i++)
        if (ta_ip_parse(c->rows[i], &a) == TA_OK && in_net(&a, &c->ip, v6 ? m->cidr6 : m->cidr4))
            return 1;
    return 0;
}

/* take_names - copy the valid names of the answer rows, trailing dots
 * dropped: the rows are needed for the address lookups that follow */
static size_t
take_names(spf_t *c, size_t n, char names[][NAME_MAX_LEN + 1])
{
    size_t i, len, k = 0;

    for (i = 0; i < n && k < TA_SPF_MAX_NAMES; i++) {
        len = strlen(c->rows[i]);
        if (len > 0 && c->rows[i][len - 1] == '.')
            len--;
        if (!name_ok(c->rows[i], len, NAME_SP))
            continue;       /* a null MX ("."), or junk */
        memcpy(names[k], c->rows[i], len);
        names[k++][len] = '\0';
    }
    return k;
}

/* mech_mx - RFC 7208 5.4: the client is one of the MX hosts */
static int
mech_mx(spf_t *c, const term_t *m, const char *name)
{
    char           names[TA_SPF_MAX_NAMES][NAME_MAX_LEN + 1];
    size_t         n, k, i;
    int            r;
    ta_spf_rcode_t rc = query(c, TA_SPF_Q_MX, name, TA_SPF_MAX_NAMES + 1, &n);

    if (rc == TA_SPF_R_TEMP)
        return temp(c, "MX", name);
    if (void_lookup(c, rc, m) < 0)
        return -1;
    if (n > TA_SPF_MAX_NAMES)
        return fail(c, TA_SPF_PERMERROR, "more than 10 MX names at %s (RFC 7208 4.6.4)", name);
    k = take_names(c, n, names);
    for (i = 0; i < k; i++)
        if ((r = addr_match(c, m, names[i], 0)) != 0)
            return r;
    return 0;
}

/* subdomain_of - name is dom or below it, without case */
static int
subdomain_of(const char *name, const char *dom)
{
    size_t n = strlen(name), d = strlen(dom);

    if (n < d || !ta_str_caseeq(ta_str(name + n - d, d), ta_str(dom, d)))
        return 0;
    return n == d || name[n - d - 1] == '.';
}

/* mech_ptr - RFC 7208 5.5: a validated reverse name of the client ends in
 * name. DNS errors here make no match, they are not temperrors. */
static int
mech_ptr(spf_t *c, const term_t *m, const char *name)
{
    char           names[TA_SPF_MAX_NAMES][NAME_MAX_LEN + 1], rev[80];
    size_t         n, k, i, j;
    ta_ip_t        a;
    ta_spf_rcode_t rc;

    reverse_name(&c->ip, rev, sizeof(rev));
    rc = query(c, TA_SPF_Q_PTR, rev, TA_SPF_MAX_NAMES, &n);
    if (rc == TA_SPF_R_TEMP)
        return 0;
    if (void_lookup(c, rc, m) < 0)
        return -1;
    k = take_names(c, n, names);
    for (i = 0; i < k; i++) {
        /* only names that could match are validated: fewer lookups */
        if (!subdomain_of(names[i], name))
            continue;
        rc = query(c, c->ip.family == AF_INET6 ? TA_SPF_Q_AAAA : TA_SPF_Q_A, names[i],
                   TA_SPF_MAX_ROWS, &n);
        for (j = 0; j < n; j++)
            if (ta_ip_parse(c->rows[j], &a) == TA_OK && in_net(&a, &c->ip, 128))
                return 1;
    }
    return 0;
}

/* mechanism - evaluate one directive at domain: 1 match, 0 none, -1 decided */
static int
mechanism(spf_t *c, const term_t *m, const char *domain, int depth)
{
    char            name[NAME_MAX_LEN + 1];
    size_t          n;
    ta_spf_rcode_t  rc;
    ta_spf_result_t r;

    switch (m->kind) {
    case M_ALL:
        return 1;
    case M_IP4:
    case M_IP6:
        return in_net(&c->ip, &m->net, m->kind == M_IP4 ? m->cidr4 : m->cidr6);
    default:
        break;
    }
    if (count_lookup(c, m) < 0 || target(c, m, domain, name) < 0)
        return -1;
    switch (m->kind) {
    case M_A:
        return addr_match(c, m, name, 1);
    case M_MX:
        return mech_mx(c, m, name);
    case M_PTR:
        return mech_ptr(c, m, name);
    case M_EXISTS:
        /* an A query whatever the client's family (RFC 7208 5.7) */
        rc = query(c, TA_SPF_Q_A, name, 1, &n);
        if (rc == TA_SPF_R_TEMP)
            return temp(c, "A", name);
        if (void_lookup(c, rc, m) < 0)
            return -1;
        return n > 0;
    default:    /* M_INCLUDE: RFC 7208 5.2's table */
        r = check_host(c, name, depth + 1);
        if (r == TA_SPF_PASS)
            return 1;
        if (r == TA_SPF_FAIL || r == TA_SPF_SOFTFAIL || r == TA_SPF_NEUTRAL)
            return 0;
        if (r == TA_SPF_NONE)
            return fail(c, TA_SPF_PERMERROR, "'%.*s' in %s: %s has no SPF record (RFC 7208 5.2)",
                        shown(m->text), m->text.data, domain, name);
        c->err = r;
        return -1;
    }
}

/* is_spf1 - a TXT record is an SPF record: "v=spf1" then SP or its end */
static int
is_spf1(const char *txt)
{
    return strncasecmp(txt, "v=spf1", 6) == 0 && (txt[6] == ' ' || txt[6] == '\0');
}

/* qualified - the result a matching directive gives */
static ta_spf_result_t
qualified(char qual)
{
    switch (qual) {
    case '-': return TA_SPF_FAIL;
    case '~': return TA_SPF_SOFTFAIL;
    case '?': return TA_SPF_NEUTRAL;
    default: return TA_SPF_PASS;
    }
}

/* check_host - RFC 7208 4: the SPF result of domain */
static ta_spf_result_t
check_host(spf_t *c, const char *domain, int depth)
{
    char            rec[TA_SPF_ROW], name[NAME_MAX_LEN + 1], inner[sizeof(c->out->why)];
    size_t          len, pos, n, i, found = 0;
    term_t          m, redirect;
    ta_str_t        t;
    const char     *why_not;
    int             has_all = 0, has_redirect = 0, has_exp = 0, r;
    ta_spf_result_t res;

    if (!name_ok(domain, strlen(domain), NAME_MULTI)) {
        why(c, "%.*s is not a valid multi-label domain name (RFC 7208 4.3)", TERM_SHOWN, domain);
        return TA_SPF_NONE;
    }
    if (depth > MAX_DEPTH) {        /* cannot happen: each level costs a lookup */
        fail(c, TA_SPF_PERMERROR, "include/redirect nested too deep");
        return TA_SPF_PERMERROR;
    }
    if (query(c, TA_SPF_Q_TXT, domain, TA_SPF_MAX_ROWS, &n) == TA_SPF_R_TEMP) {
        temp(c, "TXT", domain);
        return TA_SPF_TEMPERROR;
    }
    for (i = 0; i < n; i++)
        if (is_spf1(c->rows[i]) && found++ == 0)
            memcpy(rec, c->rows[i], strlen(c->rows[i]) + 1);
    if (found == 0) {
        why(c, "no SPF record at %s", domain);
        return TA_SPF_NONE;
    }
    if (found > 1) {
        fail(c, TA_SPF_PERMERROR, "%zu SPF records at %s (RFC 7208 4.5)", found, domain);
        return TA_SPF_PERMERROR;
    }
    len = strlen(rec);
    if (depth == 0) {
        n = len < sizeof(c->out->record) ? len : sizeof(c->out->record) - 1;
        memcpy(c->out->record, rec, n);
        c->out->record[n] = '\0';
    }
    if (len >= TA_SPF_ROW - 1) {
        fail(c, TA_SPF_PERMERROR, "the SPF record at %s is longer than %d octets", domain,
             TA_SPF_ROW - 2);
        return TA_SPF_PERMERROR;
    }
    /* syntax first: an error anywhere is a permerror (RFC 7208 4.6) */
    for (pos = 6; next_term(rec, len, &pos, &t); ) {
        if (parse_term(c, domain, t, &m, &why_not) < 0) {
            fail(c, TA_SPF_PERMERROR, "syntax error at '%.*s' in %s: %s", shown(t), t.data,
                 domain, why_not);
            return TA_SPF_PERMERROR;
        }
        if (m.kind == M_ALL)
            has_all = 1;
        if ((m.kind == MOD_REDIRECT && has_redirect++) || (m.kind == MOD_EXP && has_exp++)) {
            fail(c, TA_SPF_PERMERROR, "a second '%.*s' in %s (RFC 7208 6)", shown(t), t.data, domain);
            return TA_SPF_PERMERROR;
        }
        if (m.kind == MOD_REDIRECT)
            redirect = m;
    }
    for (pos = 6; next_term(rec, len, &pos, &t); ) {
        (void) parse_term(c, domain, t, &m, &why_not);
        if (m.kind >= MOD_REDIRECT)
            continue;
        if ((r = mechanism(c, &m, domain, depth)) < 0)
            return c->err;
        if (r == 0)
            continue;
        if (m.kind == M_INCLUDE) {
            memcpy(inner, c->out->why, sizeof(inner));
            why(c, "matched '%.*s' in %s (%s)", shown(t), t.data, domain, inner);
        } else
            why(c, "matched '%.*s' in %s", shown(t), t.data, domain);
        return qualified(m.qual);
    }
    if (has_redirect && !has_all) {
        if (count_lookup(c, &redirect) < 0 || target(c, &redirect, domain, name) < 0)
            return c->err;
        res = check_host(c, name, depth + 1);
        if (res == TA_SPF_NONE) {
            fail(c, TA_SPF_PERMERROR, "redirect=%s in %s: no SPF record there (RFC 7208 6.1)",
                 name, domain);
            return TA_SPF_PERMERROR;
        }
        memcpy(inner, c->out->why, sizeof(inner));
        why(c, "redirect from %s: %s", domain, inner);
        return res;
    }
    why(c, "no term matched in %s: neutral (RFC 7208 4.7)", domain);
    return TA_SPF_NEUTRAL;
}

/* ta_spf_check - the SPF result of domain for the client ip */
void
ta_spf_check(const char *domain, const ta_ip_t *ip, const char *sender, ta_spf_resolve_fn resolve,
    void *ctx, ta_spf_outcome_t *out)
{
    static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    char                       dom[NAME_MAX_LEN + 2];
    const char                *at;
    size_t                     n;
    spf_t                     *c;
    int                        w;

    memset(out, 0, sizeof(*out));
    out->result = TA_SPF_NONE;
    if (domain == NULL || ip == NULL || resolve == NULL
        || (ip->family != AF_INET && ip->family != AF_INET6)) {
        snprintf(out->why, sizeof(out->why), "no domain, address or resolver");
        return;
    }
    n = strnlen(domain, sizeof(dom));
    if (n > 0 && n < sizeof(dom) && domain[n - 1] == '.')
        n--;
    if (n > NAME_MAX_LEN) {
        snprintf(out->why, sizeof(out->why), "the domain is longer than 253 octets (RFC 7208 4.3)");
        return;
    }
    memcpy(dom, domain, n);
    dom[n] = '\0';
    if ((c = malloc(sizeof(*c))) == NULL) {
        out->result = TA_SPF_TEMPERROR;
        snprintf(out->why, sizeof(out->why), "out of memory");
        return;
    }
    c->resolve = resolve;
    c->rctx = ctx;
    c->out = out;
    c->err = TA_SPF_PERMERROR;
    c->queries = 0;
    c->ip = *ip;
    /* an IPv4-mapped IPv6 client is the IPv4 client it maps */
    if (c->ip.family == AF_INET6 && memcmp(c->ip.addr, mapped, 12) == 0) {
        c->ip.family = AF_INET;
        memmove(c->ip.addr, c->ip.addr + 12, 4);
        memset(c->ip.addr + 4, 0, 12);
    }
    /* the sender for macros: no local part means postmaster (RFC 7208 4.3) */
    if (sender == NULL || sender[0] == '\0')
        w = snprintf(c->sender, sizeof(c->sender), "postmaster@%s", dom);
    else if ((at = strrchr(sender, '@')) == NULL)
        w = snprintf(c->sender, sizeof(c->sender), "postmaster@%s", sender);
    else if (at == sender)
        w = snprintf(c->sender, sizeof(c->sender), "postmaster%s", sender);
    else
        w = snprintf(c->sender, sizeof(c->sender), "%s", sender);
    if (w < 0 || (size_t) w >= sizeof(c->sender)) {
        snprintf(out->why, sizeof(out->why), "the sender is longer than %d octets", SENDER_MAX);
        free(c);
        return;
    }
    out->result = check_host(c, dom, 0);
    free(c);
}

/*
 * NAME
 *	ta_dmarc 3
 * SUMMARY
 *	DMARC policy records: pick the one record at _dmarc.DOMAIN, parse it
 * SYNOPSIS
 *	#include "ta_dmarc.h"
 * DESCRIPTION
 *	See ta_dmarc.h. The tag-list is read with ta_taglist_next() (the DKIM
 *	tokenizer: RFC 7489 6.4 adopts DKIM's tag-value syntax); each value
 *	is then checked against the grammar of RFC 7489 6.4 and DMARCbis.
 *	Only what makes the record unusable fails the parse; the rest are
 *	warnings, so that onboarding can show a customer every oddity at once.
 */
#include <string.h>

#include "ta_dkimrec.h"
#include "ta_dmarc.h"

/* is_wsp - SP or HTAB */
static int
is_wsp(char c)
{
    return c == ' ' || c == '\t';
}

/* is_alnum - an ASCII letter or digit */
static int
is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* ta_dmarc_is_record - txt starts with the DMARC1 version tag */
int
ta_dmarc_is_record(const char *txt, size_t len)
{
    size_t i = 1;

    if (len == 0 || (txt[0] != 'v' && txt[0] != 'V'))
        return 0;
    while (i < len && is_wsp(txt[i]))
        i++;
    if (i == len || txt[i] != '=')
        return 0;
    for (i++; i < len && is_wsp(txt[i]); i++)
        ;
    if (len - i < 6 || memcmp(txt + i, "DMARC1", 6) != 0)
        return 0;
    i += 6;
    return i == len || is_wsp(txt[i]) || txt[i] == ';';
}

/* ta_dmarc_pick - the one DMARC record among the TXT records of a name */
int
ta_dmarc_pick(const ta_str_t *txts, size_t n, size_t *index, const char **why)
{
    size_t i, found = 0, first = 0;

    for (i = 0; i < n; i++)
        if (ta_dmarc_is_record(txts[i].data, txts[i].len) && found++ == 0)
            first = i;
    if (found == 0) {
        *why = "no DMARC record (no TXT record starts with v=DMARC1)";
        return TA_NOTFOUND;
    }
    if (found > 1) {
        *why = "multiple DMARC records: no policy (RFC 7489 6.6.3)";
        return TA_EINPUT;
    }
    *index = first;
    return TA_OK;
}

/* warn - note an oddity: "TAG=: msg", or msg alone for an empty tag; when
 * the buffer is full it ends in "..." and takes nothing more */
static void
warn(ta_dmarc_t *d, ta_str_t tag, const char *msg)
{
    char   *w = d->warnings;
    size_t  used = strlen(w), room = sizeof(d->warnings) - used, need;

    if (used >= 3 && memcmp(w + used - 3, "...", 3) == 0)
        return;
    /* tag names are letters, digits and "_" (ta_taglist_next): safe to
     * show, a long one cut */
    if (tag.len > 32)
        tag.len = 32;
    need = (used ? 2 : 0) + (tag.len ? tag.len + 3 : 0) + strlen(msg);
    if (need >= room) {
        if (room >= 4)
            memcpy(w + used, "...", 4);
        else
            memcpy(w + sizeof(d->warnings) - 4, "...", 4);
        return;
    }
    if (used) {
        memcpy(w + used, "; ", 2);
        used += 2;
    }
    if (tag.len) {
        memcpy(w + used, tag.data, tag.len);
        memcpy(w + used + tag.len, "=: ", 3);
        used += tag.len + 3;
    }
    memcpy(w + used, msg, strlen(msg) + 1);
}

/* keyword - v is one of the words (NULL-terminated list), without case;
 * returns its index or -1 */
static int
keyword(ta_str_t v, const char *const *words)
{
    int i;

    for (i = 0; words[i] != NULL; i++)
        if (ta_str_caseeq(v, ta_str_cstr(words[i])))
            return i;
    return -1;
}

/* trimmed - s[start..end) without whitespace at either end */
static ta_str_t
trimmed(const char *s, size_t start, size_t end)
{
    while (start < end && (is_wsp(s[start]) || s[start] == '\r' || s[start] == '\n'))
        start++;
    while (end > start && (is_wsp(s[end - 1]) || s[end - 1] == '\r' || s[end - 1] == '\n'))
        end--;
    return ta_str(s + start, end - start);
}

/* digits - v is 1 to max decimal digits; *n their value */
static int
digits(ta_str_t v, size_t max, long *n)
{
    size_t i;

    if (v.len == 0 || v.len > max)
        return 0;
    *n = 0;
    for (i = 0; i < v.len; i++) {
        if (v.data[i] < '0' || v.data[i] > '9')
            return 0;
        *n = *n * 10 + (v.data[i] - '0');
    }
    return 1;
}

/* item_ok - one item of a fo= (mode 'f') or rf= (mode 'r') list */
static int
item_ok(ta_str_t it, char mode)
{
    static const char *const fo[] = { "0", "1", "d", "s", NULL };
    size_t                   i;

    if (mode == 'f')
        return keyword(it, fo) >= 0;
    /* rf: a Keyword (RFC 5321 Ldh-str) */
    if (it.len == 0 || !is_alnum(it.data[0]) || !is_alnum(it.data[it.len - 1]))
        return 0;
    for (i = 0; i < it.len; i++)
        if (!is_alnum(it.data[i]) && it.data[i] != '-')
            return 0;
    return 1;
}

/* list_ok - every item of a list separated by sep is item_ok */
static int
list_ok(ta_str_t v, char sep, char mode)
{
    size_t i = 0, start;

    while (i <= v.len) {
        start = i;
        while (i < v.len && v.data[i] != sep)
            i++;
        if (!item_ok(trimmed(v.data, start, i), mode))
            return 0;
        i++;
    }
    return 1;
}

/* uri_ok - a report URI: scheme ":" URI characters, then DMARC's optional
 * "!" size ("!" and "," inside the URI itself must be %-encoded) */
static int
uri_ok(ta_str_t u)
{
    static const char   other[] = "-._~:/?#[]@$&'()*+=";
    const char         *bang = memchr(u.data, '!', u.len);
    size_t              n = bang ? (size_t) (bang - u.data) : u.len, i;
    long                size;

    if (bang != NULL) {
        ta_str_t s = ta_str(bang + 1, u.len - n - 1);
        char     last = s.len ? s.data[s.len - 1] : '\0';

        if (last == 'k' || last == 'm' || last == 'g' || last == 't'
            || last == 'K' || last == 'M' || last == 'G' || last == 'T')
            s.len--;
        if (!digits(s, 18, &size))
            return 0;
    }
    if (n == 0 || !is_alnum(u.data[0]) || (u.data[0] >= '0' && u.data[0] <= '9'))
        return 0;
    for (i = 1; i < n && u.data[i] != ':'; i++)
        if (!is_alnum(u.data[i]) && u.data[i] != '+' && u.data[i] != '-' && u.data[i] != '.')
            return 0;
    if (i + 1 >= n)
        return 0;       /* no ":" or nothing after it */
    for (i++; i < n; i++) {
        char c = u.data[i];

        if (c == '%') {
            if (i + 2 >= n)
                return 0;
            if (!memchr("0123456789abcdefABCDEF", u.data[i + 1], 22)
                || !memchr("0123456789abcdefABCDEF", u.data[i + 2], 22))
                return 0;
            i += 2;
            continue;
        }
        if (!is_alnum(c) && memchr(other, c, sizeof(other) - 1) == NULL)
            return 0;
    }
    return 1;
}

/* uris - count the valid and invalid URIs of a rua= or ruf= list */
static void
uris(ta_str_t v, size_t *valid, size_t *invalid)
{
    size_t i = 0, start;

    *valid = *invalid = 0;
    while (i <= v.len) {
        start = i;
        while (i < v.len && v.data[i] != ',')
            i++;
        if (uri_ok(trimmed(v.data, start, i)))
            ++*valid;
        else
            ++*invalid;
        i++;
    }
}

/* ta_dmarc_parse - read a DMARC record */
int
ta_dmarc_parse(const char *txt, size_t len, ta_dmarc_t *d, const char **why)
{
    static const char *const policies[] = { "none", "quarantine", "reject", NULL };
    static const char *const rs[] = { "r", "s", NULL };
    static const char *const yn[] = { "y", "n", NULL };
    static const char *const ynu[] = { "y", "n", "u", NULL };
    static const char *const names[] = {
        "p", "sp", "np", "adkim", "aspf", "pct", "fo", "rf", "ri", "rua", "ruf", "t", "psd", NULL
    };
    ta_taglist_t tl;
    size_t       good, bad;
    ta_tag_t     tag;
    long         n;
    int          rc, k, p_ok = 0, sp_bad = 0, rua_ok = 0;

    memset(d, 0, sizeof(*d));
    d->pct = 100;
    d->psd = -1;
    if (!ta_dmarc_is_record(txt, len)) {
        *why = "not a DMARC record: it does not start with v=DMARC1";
        return TA_EINPUT;
    }
    ta_taglist_init(&tl, txt, len, 1);
    while ((rc = ta_taglist_next(&tl, &tag, why)) == 1) {
        if (tag.name.len == 0) {
            warn(d, tag.name, "an empty tag-spec (\";;\") ignored");
            continue;
        }
        if (tl.n == 1) {
            /* v=DMARC1 (ta_dmarc_is_record): anything after it but ";" runs into its value */
            if (!ta_str_eq(tag.value, ta_str("DMARC1", 6))) {
                *why = "v=DMARC1 is not followed by \";\"";
                return TA_EINPUT;
            }
            continue;
        }
        switch (keyword(tag.name, names)) {
        case 0:     /* p */
            if ((k = keyword(tag.value, policies)) >= 0) {
                d->p = (ta_dmarc_policy_t) k;
                p_ok = 1;
            } else
                warn(d, tag.name, "not none, quarantine or reject");
            if (tl.n != 2)
                warn(d, tag.name, "not the second tag (RFC 7489 wants it right after v=)");
            break;
        case 1:     /* sp */
            if ((k = keyword(tag.value, policies)) >= 0) {
                d->sp = (ta_dmarc_policy_t) k;
                d->has_sp = 1;
            } else {
                sp_bad = 1;
                warn(d, tag.name, "not none, quarantine or reject");
            }
            break;
        case 2:     /* np (DMARCbis) */
            if ((k = keyword(tag.value, policies)) >= 0) {
                d->np = (ta_dmarc_policy_t) k;
                d->has_np = 1;
            } else
                warn(d, tag.name, "not none, quarantine or reject: ignored");
            break;
        case 3:     /* adkim */
        case 4:     /* aspf */
            if ((k = keyword(tag.value, rs)) < 0)
                warn(d, tag.name, "neither r nor s: relaxed");
            else if (tag.name.len == 5)
                d->adkim_strict = (unsigned) k;
            else
                d->aspf_strict = (unsigned) k;
            break;
        case 5:     /* pct */
            if (!digits(tag.value, 3, &n) || n > 100)
                warn(d, tag.name, "not a number from 0 to 100: 100");
            else {
                d->pct = (int) n;
                if (n < 100)
                    warn(d, tag.name, "below 100, ignored by DMARCbis receivers (t=y replaces pct=0)");
            }
            break;
        case 6:     /* fo */
            if (!list_ok(tag.value, ':', 'f'))
                warn(d, tag.name, "not a list of 0, 1, d, s: ignored");
            break;
        case 7:     /* rf */
            if (!list_ok(tag.value, ':', 'r'))
                warn(d, tag.name, "not a list of report formats: ignored");
            break;
        case 8:     /* ri */
            if (!digits(tag.value, 10, &n))
                warn(d, tag.name, "not a number of seconds: ignored");
            break;
        case 9:     /* rua */
        case 10:    /* ruf */
            uris(tag.value, &good, &bad);
            if (tag.name.len == 3 && (tag.name.data[2] == 'a' || tag.name.data[2] == 'A')) {
                d->rua = tag.value;
                rua_ok = good > 0;
            } else
                d->ruf = tag.value;
            if (bad > 0)
                warn(d, tag.name, "holds something that is not a URI: ignored");
            break;
        case 11:    /* t (DMARCbis) */
            if ((k = keyword(tag.value, yn)) < 0)
                warn(d, tag.name, "neither y nor n: n");
            else
                d->testing = k == 0;
            break;
        case 12:    /* psd (DMARCbis) */
            if ((k = keyword(tag.value, ynu)) < 0)
                warn(d, tag.name, "not y, n or u: ignored");
            else
                d->psd = "ynu"[k];
            break;
        default:
            warn(d, tag.name, "unknown tag ignored");
            break;
        }
    }
    if (rc < 0)
        return TA_EINPUT;
    if (!p_ok || sp_bad) {
        if (!rua_ok) {
            *why = p_ok ? "sp= is invalid and no rua= URI is valid: no DMARC policy (RFC 7489 6.6.3)"
                        : "no valid p= and no valid rua= URI: no DMARC policy (RFC 7489 6.6.3;"
                          " DMARCbis would read a missing p= as none)";
            return TA_EINPUT;
        }
        d->p = d->sp = d->np = TA_DMARC_NONE;
        d->has_sp = d->has_np = 0;
        d->p_defaulted = 1;
        warn(d, ta_str(NULL, 0), "no valid p= (or a bad sp=): p=none, as rua= is valid (RFC 7489 6.6.3)");
        return TA_OK;
    }
    if (!d->has_sp)
        d->sp = d->p;
    if (!d->has_np)
        d->np = d->sp;
    return TA_OK;
}

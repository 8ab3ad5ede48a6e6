/*
 * NAME
 *	ta_unsub 3
 * SUMMARY
 *	RFC 8058 one-click unsubscribe: does a header section carry it
 * SYNOPSIS
 *	#include "ta_unsub.h"
 * DESCRIPTION
 *	See ta_unsub.h. Values keep their folding (ta_header): whitespace,
 *	CR and LF around a value or between URIs are skipped; inside the
 *	angle brackets a URI is taken as written.
 */
#include "ta_unsub.h"

static const ta_str_t unsub_name = TA_STR_LIT("List-Unsubscribe");
static const ta_str_t post_name = TA_STR_LIT("List-Unsubscribe-Post");
static const ta_str_t one_click = TA_STR_LIT("List-Unsubscribe=One-Click");

/* is_fws - folding white space, as a value keeps it */
static int
is_fws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* lower - ASCII lower case */
static char
lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char) (c + ('a' - 'A')) : c;
}

/* https_uri - the <URI> at p..end (p after '<') starts "https://" and has a
 * host before its '>'; *next is just past the '>' (or end) */
static int
https_uri(const char *p, const char *end, const char **next)
{
    static const char scheme[] = "https://";
    const char       *gt = p;
    size_t            i;

    while (gt < end && *gt != '>')
        gt++;
    *next = gt < end ? gt + 1 : end;
    if (gt == end || (size_t) (gt - p) <= sizeof(scheme) - 1)
        return 0;
    for (i = 0; i < sizeof(scheme) - 1; i++)
        if (lower(p[i]) != scheme[i])
            return 0;
    /* a host: something other than a path, query or space right after "//" */
    return p[i] != '/' && p[i] != '?' && p[i] != '#' && !is_fws(p[i]);
}

/* has_https - List-Unsubscribe's value lists an https URI (RFC 2369: <URI>, ...) */
static int
has_https(ta_str_t v)
{
    const char *p = v.data, *end = v.data + v.len;

    while (p < end) {
        if (*p++ != '<')
            continue;
        if (https_uri(p, end, &p))
            return 1;
    }
    return 0;
}

/* trimmed - a value without the folding white space around it */
static ta_str_t
trimmed(ta_str_t v)
{
    while (v.len && is_fws(v.data[0])) {
        v.data++;
        v.len--;
    }
    while (v.len && is_fws(v.data[v.len - 1]))
        v.len--;
    return v;
}

/* ta_unsub_missing - what one-click unsubscribe lacks, or NULL */
const char *
ta_unsub_missing(const ta_headers_t *h)
{
    size_t   nu = ta_headers_count(h, unsub_name), np = ta_headers_count(h, post_name);
    ta_str_t post;

    if (nu == 0)
        return "no List-Unsubscribe field";
    if (nu > 1)
        return "more than one List-Unsubscribe field";
    if (!has_https(ta_headers_find(h, unsub_name, 0)->value))
        return "no https URI in List-Unsubscribe";
    if (np == 0)
        return "no List-Unsubscribe-Post: List-Unsubscribe=One-Click field";
    if (np > 1)
        return "more than one List-Unsubscribe-Post field";
    post = trimmed(ta_headers_find(h, post_name, 0)->value);
    if (post.len != one_click.len || memcmp(post.data, one_click.data, post.len) != 0)
        return "List-Unsubscribe-Post is not \"List-Unsubscribe=One-Click\"";
    return NULL;
}

/*
 * NAME
 *	ta_dkim_canon 3
 * SUMMARY
 *	DKIM canonicalisation: streaming body hash, header fields
 * SYNOPSIS
 *	#include "ta_dkim.h"
 * DESCRIPTION
 *	The body canoniser keeps as state only what a chunk boundary can cut:
 *	line ends not yet known to be trailing (empty lines at the end vanish),
 *	whitespace not yet known to be trailing (relaxed), and a CR that may be
 *	half of a CRLF. Lines are found with memchr; a line with no tab and no
 *	run of spaces (most text) is checked eight bytes at a time and hashed
 *	as it is, so canonicalisation costs little beside SHA-256 itself.
 *	Output is gathered in a 16 KB buffer so the hash sees large blocks.
 * STANDARDS
 *	RFC 6376 3.4.1-3.4.5.
 */
#include <stdint.h>
#include <string.h>

#include "ta_dkim.h"

#define ONES  0x0101010101010101ULL
#define LOW7  0x7f7f7f7f7f7f7f7fULL

/* zero_bytes - 0x80 in every byte of x that is zero, exactly */
static inline uint64_t
zero_bytes(uint64_t x)
{
    uint64_t y = (x & LOW7) + LOW7;

    return ~(y | x | LOW7);
}

/*
 * plain_line - a line segment relaxed canonicalisation leaves unchanged
 * inside: no tab and no two spaces in a row. (Ends are checked by the
 * caller.)
 */
static int
plain_line(const unsigned char *s, size_t n)
{
    uint64_t x, sp, tb, carry = 0;
    size_t   i = 0;

    for (; i + 8 <= n; i += 8) {
        memcpy(&x, s + i, 8);
        sp = zero_bytes(x ^ (ONES * ' '));
        tb = zero_bytes(x ^ (ONES * '\t'));
        /* byte k and byte k+1 both spaces; or the last byte before and byte 0 */
        if (tb | (sp & (sp >> 8)) | (carry & sp & 0x80))
            return 0;
        carry = sp >> 56;           /* 0x80 when byte 7 is a space */
    }
    for (; i < n; i++) {
        if (s[i] == '\t' || (s[i] == ' ' && ((i > 0 && s[i - 1] == ' ') || (i % 8 == 0 && carry))))
            return 0;
        carry = 0;
    }
    return 1;
}

/* flush - hand the gathered output to the hash */
static void
flush(ta_body_canon_t *c)
{
    if (c->used) {
        EVP_DigestUpdate(c->md, c->buf, c->used);
        c->used = 0;
    }
}

/* emit - append canonical output */
static void
emit(ta_body_canon_t *c, const void *p, size_t n)
{
    if (n >= sizeof(c->buf) / 2) {
        flush(c);
        EVP_DigestUpdate(c->md, p, n);
        return;
    }
    if (c->used + n > sizeof(c->buf))
        flush(c);
    memcpy(c->buf + c->used, p, n);
    c->used += n;
}

/* flush_crlf - line ends held back turn out not to be trailing */
static void
flush_crlf(ta_body_canon_t *c)
{
    for (; c->pending_crlf > 0; c->pending_crlf--) {
        if (c->used + 2 > sizeof(c->buf))
            flush(c);
        c->buf[c->used++] = '\r';
        c->buf[c->used++] = '\n';
    }
}

/* segment - bytes of one line, no line ending among them */
static void
segment(ta_body_canon_t *c, const unsigned char *s, size_t n)
{
    size_t i;

    if (n == 0)
        return;
    if (c->mode == TA_CANON_SIMPLE) {
        flush_crlf(c);
        emit(c, s, n);
        c->content = 1;
        return;
    }
    if (s[n - 1] != ' ' && !(s[0] == ' ' && c->wsp) && plain_line(s, n)) {
        flush_crlf(c);
        if (c->wsp) {
            emit(c, " ", 1);
            c->wsp = 0;
        }
        emit(c, s, n);
        c->content = 1;
        return;
    }
    for (i = 0; i < n; i++) {
        if (s[i] == ' ' || s[i] == '\t') {
            c->wsp = 1;
            continue;
        }
        flush_crlf(c);
        if (c->wsp) {
            emit(c, " ", 1);
            c->wsp = 0;
        }
        emit(c, s + i, 1);
        c->content = 1;
    }
}

/* line_end - one line ending: held until something follows it */
static void
line_end(ta_body_canon_t *c)
{
    c->wsp = 0;
    c->pending_crlf++;
}

/* ta_body_canon_init - start a body hash */
int
ta_body_canon_init(ta_body_canon_t *c, ta_canon_t mode, ta_eol_t eol)
{
    memset(c, 0, offsetof(ta_body_canon_t, buf));
    c->mode = mode;
    c->eol = eol;
    c->md = EVP_MD_CTX_new();
    if (c->md == NULL || EVP_DigestInit_ex(c->md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(c->md);
        c->md = NULL;
        return TA_ESYSTEM;
    }
    return TA_OK;
}

/* ta_body_canon_update - canonicalise and hash a chunk (split anywhere) */
void
ta_body_canon_update(ta_body_canon_t *c, const char *data, size_t n)
{
    const unsigned char *p = (const unsigned char *) data, *nl;
    size_t               i = 0, e, end;

    if (n == 0)
        return;
    if (c->cr) {
        c->cr = 0;
        if (p[0] == '\n') {
            line_end(c);
            i = 1;
        } else {
            segment(c, (const unsigned char *) "\r", 1);
        }
    }
    while (i < n) {
        nl = memchr(p + i, '\n', n - i);
        if (nl == NULL) {
            end = n;
            if (c->eol == TA_EOL_CRLF && p[end - 1] == '\r') {
                c->cr = 1;          /* maybe half of a CRLF: decide next time */
                end--;
            }
            segment(c, p + i, end - i);
            return;
        }
        e = (size_t) (nl - p);
        if (c->eol == TA_EOL_LF) {
            segment(c, p + i, e - i);
            line_end(c);
        } else if (e > i && p[e - 1] == '\r') {
            segment(c, p + i, e - 1 - i);
            line_end(c);
        } else {
            /* a bare LF in wire format is a byte like any other here */
            segment(c, p + i, e + 1 - i);
        }
        i = e + 1;
    }
}

/* ta_body_canon_final - finish: the SHA-256 of the canonical body */
void
ta_body_canon_final(ta_body_canon_t *c, unsigned char hash[32])
{
    unsigned len = 32;

    if (c->cr) {
        c->cr = 0;
        segment(c, (const unsigned char *) "\r", 1);
    }
    /* one CRLF ends the body: trailing empty lines dropped, a missing one
     * added; an empty body is nothing (relaxed) or one CRLF (simple) */
    if (c->content || c->mode == TA_CANON_SIMPLE)
        emit(c, "\r\n", 2);
    flush(c);
    EVP_DigestFinal_ex(c->md, hash, &len);
}

/* ta_body_canon_free - release the hash context */
void
ta_body_canon_free(ta_body_canon_t *c)
{
    EVP_MD_CTX_free(c->md);
    c->md = NULL;
}

/* ta_header_canon - one header field, canonicalised, ending in CRLF */
size_t
ta_header_canon(ta_canon_t mode, ta_eol_t eol, ta_str_t raw, char *out)
{
    const char *s = raw.data, *colon;
    size_t      i, n = 0, name_end;
    int         wsp = 0, started = 0;

    if (mode == TA_CANON_SIMPLE) {
        for (i = 0; i < raw.len; i++) {
            if (eol == TA_EOL_LF && s[i] == '\n')
                out[n++] = '\r';
            out[n++] = s[i];
        }
        if (n < 2 || out[n - 1] != '\n') {      /* a last field without line end */
            out[n++] = '\r';
            out[n++] = '\n';
        }
        return n;
    }
    colon = memchr(s, ':', raw.len);
    if (colon == NULL)
        return 0;
    name_end = (size_t) (colon - s);
    while (name_end > 0 && (s[name_end - 1] == ' ' || s[name_end - 1] == '\t'))
        name_end--;
    for (i = 0; i < name_end; i++) {
        char c = s[i];
        out[n++] = (char) ((c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c);
    }
    out[n++] = ':';
    for (i = (size_t) (colon - s) + 1; i < raw.len; i++) {
        char c = s[i];
        if (c == '\r' || c == '\n')
            continue;               /* unfold */
        if (c == ' ' || c == '\t') {
            wsp = 1;
            continue;
        }
        if (wsp && started)
            out[n++] = ' ';
        wsp = 0;
        started = 1;
        out[n++] = c;
    }
    out[n++] = '\r';
    out[n++] = '\n';
    return n;
}

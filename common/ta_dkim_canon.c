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
 *	half of a CRLF. Relaxed mode makes one pass: runs that need no change
 *	(no CR, LF, tab or run of spaces: most text) are found sixteen bytes at
 *	a time (SSE2) and copied as they are; simple mode finds lines with
 *	memchr.
 *	Output is gathered in a 16 KB buffer so the hash sees large blocks.
 * STANDARDS
 *	RFC 6376 3.4.1-3.4.5.
 */
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "ta_dkim.h"

/* flush - hand the gathered output to the hash */
static void
flush(ta_body_canon_t *c)
{
    if (c->used) {
        EVP_DigestUpdate(c->md, c->buf, c->used);
        c->used = 0;
    }
}

/* emit_slow - the buffer is full, or the piece is large: hash directly */
static void
emit_slow(ta_body_canon_t *c, const void *p, size_t n)
{
    flush(c);
    if (n >= sizeof(c->buf) / 2) {
        EVP_DigestUpdate(c->md, p, n);
        return;
    }
    memcpy(c->buf, p, n);
    c->used = n;
}

/* emit - append canonical output (the common case inline) */
static inline void
emit(ta_body_canon_t *c, const void *p, size_t n)
{
    if (c->used + n <= sizeof(c->buf)) {
        memcpy(c->buf + c->used, p, n);
        c->used += n;
        return;
    }
    emit_slow(c, p, n);
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

/* before_content - content follows: held line ends and one space go out first */
static void
before_content(ta_body_canon_t *c)
{
    flush_crlf(c);
    if (c->wsp) {
        emit(c, " ", 1);
        c->wsp = 0;
    }
    c->content = 1;
    c->ended = 0;
}

/* segment - simple mode: bytes of one line, no line ending among them */
static void
segment(ta_body_canon_t *c, const unsigned char *s, size_t n)
{
    if (n == 0)
        return;
    flush_crlf(c);
    emit(c, s, n);
    c->content = 1;
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

/* the whitespace and line-break octets as a bit set over 0..' ' */
#define WS_BITS ((1ull << ' ') | (1ull << '\t') | (1ull << '\r') | (1ull << '\n'))

/*
 * next_event - in relaxed mode, the offset of the first byte that is not
 * canonical as it stands (s[0] is content): a tab; a space followed by
 * whitespace or a line break (or by the end of the block, conservatively:
 * a lone space handled as a whitespace run gives the same output); with
 * CRLF input, a bare CR or LF and the CR of an empty line - so a CRLF
 * between lines of content stays in the run and clean text goes through
 * in one piece; with LF input every line end (it becomes CRLF).
 * n when none.
 */
static size_t
next_event(const unsigned char *s, size_t n, int crlf)
{
    size_t i = 0;

#ifdef __SSE2__
    const __m128i sp16 = _mm_set1_epi8(' '), tb16 = _mm_set1_epi8('\t');
    const __m128i cr16 = _mm_set1_epi8('\r'), lf16 = _mm_set1_epi8('\n');
    unsigned      cr_before = 0, lf_before = 0;     /* s[0] is content */

    for (; i + 17 <= n; i += 16) {
        __m128i  v = _mm_loadu_si128((const __m128i *) (s + i));
        unsigned sp, tb, cr, lf, lf_next, ws_next, m;
        unsigned char nx;

        /* most blocks of encoded text hold no byte <= ' ' at all */
        if (_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(v, sp16), v)) == 0) {
            cr_before = 0;
            lf_before = 0;
            continue;
        }

        sp = (unsigned) _mm_movemask_epi8(_mm_cmpeq_epi8(v, sp16));
        tb = (unsigned) _mm_movemask_epi8(_mm_cmpeq_epi8(v, tb16));
        cr = (unsigned) _mm_movemask_epi8(_mm_cmpeq_epi8(v, cr16));
        lf = (unsigned) _mm_movemask_epi8(_mm_cmpeq_epi8(v, lf16));
        nx = s[i + 16];
        lf_next = (lf >> 1) | ((unsigned) (nx == '\n') << 15);
        ws_next = ((sp | tb | cr | lf) >> 1) | ((unsigned) (nx <= ' ' && ((1ull << nx) & WS_BITS) != 0) << 15);
        m = tb | (sp & ws_next);

        if (crlf) {
            unsigned cr_prev = ((cr << 1) | cr_before) & 0xffffu;
            unsigned lf_prev = ((lf << 1) | lf_before) & 0xffffu;

            m |= (cr & ~lf_next) | (lf & ~cr_prev) | (cr & lf_prev);
            cr_before = cr >> 15;
            lf_before = lf >> 15;
        } else {
            m |= cr | lf;
        }
        if (m)
            return i + (size_t) __builtin_ctz(m);
    }
#endif
    for (; i < n; i++) {
        unsigned char c = s[i], d = i + 1 < n ? s[i + 1] : 0, b = i > 0 ? s[i - 1] : 0;

        if (c == '\t')
            return i;
        if (c == ' ' && (i + 1 == n || d == ' ' || d == '\t' || d == '\r' || d == '\n'))
            return i;
        if (c == '\r' && (!crlf || i + 1 == n || d != '\n' || b == '\n'))
            return i;
        if (c == '\n' && (!crlf || b != '\r'))
            return i;
    }
    return n;
}

/* content_byte - one byte that is content whatever it is (a bare CR or LF) */
static void
content_byte(ta_body_canon_t *c, const unsigned char *b)
{
    before_content(c);
    emit(c, b, 1);
}

/*
 * update_relaxed - relaxed canonicalisation in one pass: runs that need
 * no change are found sixteen bytes at a time and copied; whitespace runs
 * become one pending space; line ends are held until content follows.
 */
static void
update_relaxed(ta_body_canon_t *c, const unsigned char *p, size_t n)
{
    size_t i = 0, e;

    if (c->cr) {
        c->cr = 0;
        if (p[0] == '\n') {
            line_end(c);
            i = 1;
        } else {
            content_byte(c, (const unsigned char *) "\r");
        }
    }
    while (i < n) {
        unsigned char ch = p[i];

        if (ch == ' ' || ch == '\t') {
            while (i < n && (p[i] == ' ' || p[i] == '\t'))
                i++;
            c->wsp = 1;
            continue;
        }
        if (ch == '\r') {
            if (c->eol == TA_EOL_CRLF) {
                if (i + 1 == n) {
                    c->cr = 1;          /* maybe half of a CRLF */
                    return;
                }
                if (p[i + 1] == '\n') {
                    line_end(c);
                    i += 2;
                    continue;
                }
            }
            content_byte(c, p + i);     /* a bare CR */
            i++;
            continue;
        }
        if (ch == '\n') {
            if (c->eol == TA_EOL_LF)
                line_end(c);
            else
                content_byte(c, p + i); /* a bare LF in wire format */
            i++;
            continue;
        }
        e = i + next_event(p + i, n - i, c->eol == TA_EOL_CRLF);
        before_content(c);
        emit(c, p + i, e - i);
        if (p[e - 1] == '\n') {
            c->ended = 1;               /* its line end went out with it */
            c->wsp = 0;
        }
        i = e;
    }
}

/* ta_body_canon_update - canonicalise and hash a chunk (split anywhere) */
void
ta_body_canon_update(ta_body_canon_t *c, const char *data, size_t n)
{
    const unsigned char *p = (const unsigned char *) data, *nl;
    size_t               i = 0, e, end;

    if (n == 0)
        return;
    if (c->mode == TA_CANON_RELAXED) {
        update_relaxed(c, p, n);
        return;
    }
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
        content_byte(c, (const unsigned char *) "\r");     /* a bare CR at the end */
    }
    /* one CRLF ends the body: trailing empty lines dropped, a missing one
     * added; an empty body is nothing (relaxed) or one CRLF (simple) */
    if (!c->ended && (c->content || c->mode == TA_CANON_SIMPLE))
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

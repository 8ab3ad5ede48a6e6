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
 *	half of a CRLF. Relaxed mode works 64 bytes at a time where the CPU
 *	has AVX2 (chosen at run time): whitespace that must go is squeezed out
 *	of each block and everything else copied, line ends included (an LF
 *	line end gets its CR); line ends left at the end of the output are
 *	taken back until content follows. Other input (a bare CR or LF in wire
 *	format, the last bytes of a chunk, CPUs without AVX2) goes byte-wise,
 *	finding runs that need no change sixteen bytes at a time (SSE2);
 *	simple mode finds lines with memchr.
 *	Output is gathered in a 16 KB buffer so the hash sees large blocks.
 * STANDARDS
 *	RFC 6376 3.4.1-3.4.5.
 */
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define TA_CANON_AVX2 1             /* chosen at run time: Debian's baseline is SSE2 */
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

/* ta_body_canon_init - start a body hash; sha256 NULL: OpenSSL's default */
int
ta_body_canon_init(ta_body_canon_t *c, ta_canon_t mode, ta_eol_t eol, const EVP_MD *sha256)
{
    memset(c, 0, offsetof(ta_body_canon_t, buf));
    c->mode = mode;
    c->eol = eol;
    c->md = EVP_MD_CTX_new();
    if (c->md == NULL || EVP_DigestInit_ex(c->md, sha256 ? sha256 : EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(c->md);
        c->md = NULL;
        return TA_ESYSTEM;
    }
    return TA_OK;
}

/* the class of a byte: whitespace and line breaks (the bytes a body block
 * looks past its end; the bytes that end a run in a header field) */
enum { CL_WSP = 1, CL_CR = 2, CL_LF = 4 };

static const unsigned char byte_class[256] = {
    ['\t'] = CL_WSP, ['\n'] = CL_LF, ['\r'] = CL_CR, [' '] = CL_WSP
};

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
        ws_next = ((sp | tb | cr | lf) >> 1) | ((unsigned) (byte_class[nx] != 0) << 15);
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

#ifdef TA_CANON_AVX2
/*
 * a block reads up to 128 bytes past its start (each run is moved as 64
 * bytes) and writes up to 192 (LF input: a CR goes in before every LF)
 */
#define BLOCK_REACH 128
#define OUT_REACH   192

/* mask64 - a bit for each byte of a and b equal to c */
__attribute__((target("avx2"))) static inline uint64_t
mask64(__m256i a, __m256i b, __m256i c)
{
    return (uint32_t) _mm256_movemask_epi8(_mm256_cmpeq_epi8(a, c))
           | (uint64_t) (uint32_t) _mm256_movemask_epi8(_mm256_cmpeq_epi8(b, c)) << 32;
}

/* move64 - 64 bytes from src to dst, whatever part of them is wanted (no branch on lengths) */
__attribute__((target("avx2"))) static inline void
move64(unsigned char *dst, const unsigned char *src)
{
    _mm256_storeu_si256((__m256i *) dst, _mm256_loadu_si256((const __m256i *) src));
    _mm256_storeu_si256((__m256i *) (dst + 32), _mm256_loadu_si256((const __m256i *) (src + 32)));
}

/*
 * put_runs - the 64 bytes at src, those marked in drop left out and a CR
 * put before those marked in cr_before; returns the bytes written
 */
__attribute__((target("avx2"))) static inline size_t
put_runs(unsigned char *out, const unsigned char *src, uint64_t drop, uint64_t cr_before)
{
    uint64_t ev = drop | cr_before;
    size_t   o = 0, start = 0, d;

    do {
        d = (size_t) __builtin_ctzll(ev);
        move64(out + o, src + start);
        o += d - start;
        if ((cr_before >> d) & 1) {
            out[o++] = '\r';            /* the LF itself starts the next run */
            start = d;
        } else {
            start = d + 1;
        }
        ev &= ev - 1;
    } while (ev);
    move64(out + o, src + start);
    return o + 64 - start;
}

/*
 * relaxed_blocks - relaxed canonicalisation 64 bytes at a time (AVX2). A
 * whitespace byte goes out, as a space, only when it ends its run and no
 * line end follows it, so a block needs two bytes of lookahead and no
 * state. With CRLF input, CRLFs (those of empty lines too) go out as they
 * are and a bare CR or LF stops the blocks; with LF input, every LF is a
 * line end and goes out as CRLF, and a CR is content. Stops too when the
 * input or buffer slack runs out; then the line ends at the tail of the
 * output are taken back into pending_crlf (they may be trailing empty
 * lines) and a CRLF cut by the stop is left to the caller. s[0] is content
 * and nothing is pending. Returns the bytes consumed.
 */
__attribute__((target("avx2"))) static size_t
relaxed_blocks(ta_body_canon_t *c, const unsigned char *s, size_t n)
{
    const __m256i  sp = _mm256_set1_epi8(' '), tb = _mm256_set1_epi8('\t');
    const __m256i  cr32 = _mm256_set1_epi8('\r'), lf32 = _mm256_set1_epi8('\n');
    const __m256i  tab_to_sp = _mm256_set1_epi8(' ' - '\t');
    unsigned char *out = c->buf, tmp[BLOCK_REACH];
    size_t         i = 0, o = c->used, k;
    uint64_t       cr_prev = 0;         /* s[i - 1] is a CR */
    int            lf_eol = c->eol == TA_EOL_LF;

    for (; i + BLOCK_REACH <= n && o + OUT_REACH <= sizeof(c->buf); i += 64) {
        __m256i  a = _mm256_loadu_si256((const __m256i *) (s + i));
        __m256i  b = _mm256_loadu_si256((const __m256i *) (s + i + 32));
        __m256i  a_tb = _mm256_cmpeq_epi8(a, tb), b_tb = _mm256_cmpeq_epi8(b, tb);
        int      tabs = !_mm256_testz_si256(_mm256_or_si256(a_tb, b_tb), _mm256_or_si256(a_tb, b_tb));
        uint64_t ws, cr, lf, drop, cr_before = 0, last = 0;
        unsigned n1, n2;

        if (tabs) {
            a = _mm256_add_epi8(a, _mm256_and_si256(a_tb, tab_to_sp));
            b = _mm256_add_epi8(b, _mm256_and_si256(b_tb, tab_to_sp));
        }
        ws = mask64(a, b, sp);
        lf = mask64(a, b, lf32);
        if (lf_eol) {
            if (ws >> 63)
                last = (uint64_t) (byte_class[s[i + 64]] & (CL_WSP | CL_LF) ? 1 : 0) << 63;
            drop = ws & (((ws | lf) >> 1) | last);
            cr_before = lf;
        } else {
            cr = mask64(a, b, cr32);
            if ((ws | cr) >> 63) {
                /* the last byte needs the two after the block */
                n1 = byte_class[s[i + 64]];
                n2 = byte_class[s[i + 65]];
                if ((cr >> 63) && n1 != CL_LF)
                    break;              /* a bare CR */
                last = (uint64_t) (n1 == CL_WSP || (n1 == CL_CR && n2 == CL_LF)) << 63;
            }
            /* every CR followed by LF, every LF preceded by CR */
            if (((cr << 1) | cr_prev) ^ lf)
                break;                  /* a bare CR or LF: byte-wise */
            drop = ws & (((ws | cr) >> 1) | last);
            cr_prev = cr >> 63;
        }
        if ((drop | cr_before) == 0) {
            _mm256_storeu_si256((__m256i *) (out + o), a);
            _mm256_storeu_si256((__m256i *) (out + o + 32), b);
            o += 64;
            continue;
        }
        if (tabs) {
            _mm256_storeu_si256((__m256i *) tmp, a);
            _mm256_storeu_si256((__m256i *) (tmp + 32), b);
            memset(tmp + 64, 0, BLOCK_REACH - 64);      /* read, never kept */
            o += put_runs(out + o, tmp, drop, cr_before);
        } else {
            o += put_runs(out + o, s + i, drop, cr_before);
        }
    }
    if (i == 0)
        return 0;
    if (!lf_eol && s[i - 1] == '\r') {
        o--;                            /* a CRLF cut in two: the caller takes it */
        i--;
    }
    for (k = 0; out[o - 1] == '\n' && out[o - 2] == '\r'; k++)
        o -= 2;                         /* never past s[0], which is content */
    c->used = o;
    c->pending_crlf = k;
    c->ended = 0;
    return i;
}
#endif

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
        before_content(c);
#ifdef TA_CANON_AVX2
        if (__builtin_cpu_supports("avx2")) {
            if (c->used + OUT_REACH > sizeof(c->buf))
                flush(c);               /* content follows: all of it is final */
            e = relaxed_blocks(c, p + i, n - i);
            if (e > 0) {
                i += e;
                continue;
            }
        }
#endif
        e = i + next_event(p + i, n - i, c->eol == TA_EOL_CRLF);
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
    for (i = (size_t) (colon - s) + 1; i < raw.len; ) {
        unsigned char cl = byte_class[(unsigned char) s[i]];

        if (cl != 0) {
            wsp |= cl == CL_WSP;    /* CR and LF: unfold */
            i++;
            continue;
        }
        /* a run of other bytes, after one space if whitespace came between */
        if (wsp && started)
            out[n++] = ' ';
        wsp = 0;
        started = 1;
        do
            out[n++] = s[i++];
        while (i < raw.len && byte_class[(unsigned char) s[i]] == 0);
    }
    out[n++] = '\r';
    out[n++] = '\n';
    return n;
}

/*
 * NAME
 *	ta_eoh 3
 * SUMMARY
 *	the one place that finds where a message's header section ends
 * SYNOPSIS
 *	#include "ta_eoh.h"
 * DESCRIPTION
 *	See ta_eoh.h. Only the start of a line can begin the empty line, so
 *	the scan jumps from LF to LF and looks at no more than two bytes at
 *	each line start. In clean wire text an LF is followed by LF or CR only
 *	where the header section ends: sixteen bytes at a time (SSE2) the scan
 *	passes over every other LF, and memchr() finds LFs in the last bytes
 *	of a chunk. Three states carry a line start over a chunk cut.
 */
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "ta_eoh.h"

enum {
    EOH_MID,        /* inside a line */
    EOH_BOL,        /* at the start of a line (or of the message) */
    EOH_BOL_CR,     /* a line that so far holds one CR (CRLF mode) */
    EOH_FOUND       /* the boundary was returned */
};

/* ta_eoh_init - a finder for a message that starts as if after a line ending */
void
ta_eoh_init(ta_eoh_t *b, ta_eol_t eol)
{
    b->eol = eol;
    b->state = EOH_BOL;
}

/* found - the boundary: no further call looks at anything */
static size_t
found(ta_eoh_t *b, size_t off)
{
    b->state = EOH_FOUND;
    return off;
}

/*
 * bol - at the start of a line, p[i]: the offset past it when it is the
 * empty line; TA_EOH_NONE when the chunk ends before that is known (the
 * state says how far it got); 0 when the line has content.
 */
static size_t
bol(ta_eoh_t *b, const char *p, size_t i, size_t n)
{
    if (i == n) {
        b->state = EOH_BOL;
        return TA_EOH_NONE;
    }
    if (p[i] == '\n')
        return found(b, i + 1);
    if (p[i] == '\r' && b->eol == TA_EOL_CRLF) {
        if (i + 1 == n) {
            b->state = EOH_BOL_CR;
            return TA_EOH_NONE;
        }
        if (p[i + 1] == '\n')
            return found(b, i + 2);
    }
    b->state = EOH_MID;
    return 0;
}

/*
 * next_lf - the offset of the next LF at or after i whose line may be
 * followed by the empty line, or n. An LF followed by anything but LF (or
 * CR, in CRLF mode) starts a line with content: sixteen at a time, such
 * LFs are passed over without a look (SSE2), which is every LF of a clean
 * header section but the last; memchr() does the last bytes.
 */
static size_t
next_lf(const char *p, size_t i, size_t n, ta_eol_t eol)
{
    const char *q;

#ifdef __SSE2__
    const __m128i lf = _mm_set1_epi8('\n');
    const __m128i cr = _mm_set1_epi8(eol == TA_EOL_CRLF ? '\r' : '\n');

    for (; n - i >= 17; i += 16) {
        __m128i  v = _mm_loadu_si128((const __m128i *) (p + i));
        __m128i  w = _mm_loadu_si128((const __m128i *) (p + i + 1));
        unsigned m = (unsigned) _mm_movemask_epi8(
            _mm_and_si128(_mm_cmpeq_epi8(v, lf),
                          _mm_or_si128(_mm_cmpeq_epi8(w, lf), _mm_cmpeq_epi8(w, cr))));

        if (m)
            return i + (size_t) __builtin_ctz(m);
    }
#else
    (void) eol;
#endif
    q = memchr(p + i, '\n', n - i);
    return q != NULL ? (size_t) (q - p) : n;
}

/* ta_eoh_scan - the offset just past the empty line in this chunk, or TA_EOH_NONE */
size_t
ta_eoh_scan(ta_eoh_t *b, const char *p, size_t n)
{
    size_t i = 0, r;

    if (b->state == EOH_FOUND || p == NULL || n == 0)
        return TA_EOH_NONE;

    if (b->state == EOH_BOL_CR) {
        /* CR at the start of a line, LF now: the empty line */
        if (p[0] == '\n')
            return found(b, 1);
        b->state = EOH_MID;     /* "CR x": a line with content */
    }

    for (;;) {
        if (b->state == EOH_BOL && (r = bol(b, p, i, n)) != 0)
            return r;
        /* inside a line: every LF ends it, CR LF or bare */
        i = next_lf(p, i, n, b->eol);
        if (i == n)
            return TA_EOH_NONE;
        i++;
        b->state = EOH_BOL;
    }
}

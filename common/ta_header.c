/*
 * NAME
 *	ta_header 3
 * SUMMARY
 *	RFC 5322 header-section parser for a gate that must be strict
 * SYNOPSIS
 *	#include "ta_header.h"
 * DESCRIPTION
 *	See ta_header.h. Where the section ends is ta_eoh's to say, as it is
 *	for every adapter and command: the parser does not look for the empty
 *	line itself, so it cannot disagree with what they hash as the body.
 *	Then one pass over the lines before the empty line; each is either a
 *	continuation (starts with SP or HTAB) of the current field or a new
 *	field "name:value". Anything else is recorded as an anomaly and parsing
 *	goes on, so that the policy can name the first problem. Work is O(len)
 *	and at most cap fields are stored. Runs of printable ASCII are skipped
 *	sixteen bytes at a time (SSE2).
 * STANDARDS
 *	RFC 5322 2.2 (header fields, folding), 3.6.8 (field names: printable
 *	US-ASCII except colon), RFC 6532 (UTF-8 in values).
 */
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "ta_eoh.h"
#include "ta_header.h"

/* flag - record an anomaly, remembering the earliest offset of one */
static void
flag(ta_headers_t *h, unsigned what, size_t off)
{
    if (what != TA_HDR_8BIT
        && ((h->flags & ~(unsigned) TA_HDR_8BIT) == 0 || off < h->anomaly_offset))
        h->anomaly_offset = off;
    h->flags |= what;
}

/*
 * line_end - find the end of the line starting at p: *next is the start of
 * the following line, the return value the end of the content. Line-ending
 * oddities are flagged here.
 */
static size_t
line_end(ta_headers_t *h, const char *buf, size_t len, size_t p, ta_eol_t eol,
    size_t *next)
{
    size_t i = p;

#ifdef __SSE2__
    /* sixteen bytes at a time while all are printable ASCII: nothing in
     * them ends the line or is flagged */
    const __m128i space = _mm_set1_epi8(0x20), del = _mm_set1_epi8(0x7f);

    while (len - i >= 16) {
        __m128i  v = _mm_loadu_si128((const __m128i *) (buf + i));
        /* a signed compare: bytes from 0x80 count as below 0x20 too */
        __m128i  odd = _mm_or_si128(_mm_cmplt_epi8(v, space), _mm_cmpeq_epi8(v, del));
        unsigned m = (unsigned) _mm_movemask_epi8(odd);

        if (m != 0) {
            /* the bytes before the first odd one are printable too */
            i += (size_t) __builtin_ctz(m);
            break;
        }
        i += 16;
    }
#endif
    for (; i < len; i++) {
        unsigned char c = (unsigned char) buf[i];

        if (c == '\n') {
            if (eol == TA_EOL_CRLF) {
                if (i > p && buf[i - 1] == '\r') {
                    *next = i + 1;
                    return i - 1;
                }
                flag(h, TA_HDR_BARE_LF, i);
            }
            *next = i + 1;
            return i;
        }
        if (c == '\r') {
            if (eol == TA_EOL_LF || i + 1 >= len || buf[i + 1] != '\n')
                flag(h, TA_HDR_BARE_CR, i);
        } else if (c == 0) {
            flag(h, TA_HDR_NUL, i);
        } else if (c >= 0x80) {
            flag(h, TA_HDR_8BIT, i);
        } else if ((c < 0x20 && c != '\t') || c == 0x7f) {
            flag(h, TA_HDR_CTL, i);
        }
    }
    *next = len;
    flag(h, TA_HDR_NO_END, len);
    return len;
}

/* ta_headers_parse - split a header section into fields, recording anomalies */
int
ta_headers_parse(ta_headers_t *h, const char *buf, size_t len, ta_eol_t eol,
    ta_header_field_t *fields, size_t cap)
{
    ta_header_field_t *cur = NULL;
    ta_eoh_t           b;
    size_t             p = 0, end, e, next, i, k;

    h->fields = fields;
    h->nfields = 0;
    h->flags = 0;
    h->anomaly_offset = 0;
    h->body_offset = len;
    if ((buf == NULL && len > 0) || (cap == 0 && fields != NULL) || fields == NULL)
        return TA_EINPUT;

    /* The lines to parse end where the empty line starts: its CR LF, or
     * its LF alone (bare in CRLF mode, flagged as the line loop would). No
     * empty line: the whole input is header section, the body empty. */
    ta_eoh_init(&b, eol);
    h->body_offset = ta_eoh_scan(&b, buf, len);
    if (h->body_offset == TA_EOH_NONE) {
        h->body_offset = end = len;
    } else {
        end = h->body_offset - 1;
        if (eol == TA_EOL_CRLF && end > 0 && buf[end - 1] == '\r')
            end--;
        else if (eol == TA_EOL_CRLF)
            flag(h, TA_HDR_BARE_LF, end);
    }

    /* No line before end is empty (ta_eoh would have ended the section
     * there); were one, it would be flagged TA_HDR_NO_COLON, not skipped. */
    while (p < end) {
        e = line_end(h, buf, end, p, eol, &next);
        if (e - p > TA_HEADER_MAX_LINE)
            flag(h, TA_HDR_LONG_LINE, p);

        if (buf[p] == ' ' || buf[p] == '\t') {
            if (cur == NULL) {
                flag(h, TA_HDR_LEADING_WSP, p);
            } else {
                for (i = p; i < e && (buf[i] == ' ' || buf[i] == '\t'); i++)
                    ;
                if (i == e)
                    flag(h, TA_HDR_EMPTY_CONT, p);
                cur->value.len = e - (size_t) (cur->value.data - buf);
                cur->raw.len = next - (size_t) (cur->raw.data - buf);
            }
            p = next;
            continue;
        }

        /* a new field: name up to the colon */
        cur = NULL;
        for (i = p; i < e && buf[i] != ':'; i++)
            ;
        if (i == e) {
            flag(h, TA_HDR_NO_COLON, p);
            p = next;
            continue;
        }
        k = i;
        while (k > p && (buf[k - 1] == ' ' || buf[k - 1] == '\t'))
            k--;
        if (k != i)
            flag(h, TA_HDR_NAME_WSP, p);
        if (k == p)
            flag(h, TA_HDR_BAD_NAME, p);
        for (size_t j = p; j < k; j++) {
            unsigned char c = (unsigned char) buf[j];
            if (c < 33 || c > 126) {
                flag(h, TA_HDR_BAD_NAME, j);
                break;
            }
        }
        if (h->nfields == cap) {
            flag(h, TA_HDR_TOO_MANY, p);
            p = next;
            continue;
        }
        cur = &fields[h->nfields++];
        cur->name = ta_str(buf + p, k - p);
        cur->value = ta_str(buf + i + 1, e - (i + 1));
        cur->raw = ta_str(buf + p, next - p);
        p = next;
    }
    return TA_OK;
}

/* ta_headers_count - how many fields have this name */
size_t
ta_headers_count(const ta_headers_t *h, ta_str_t name)
{
    size_t i, n = 0;

    for (i = 0; i < h->nfields; i++)
        if (ta_str_caseeq(h->fields[i].name, name))
            n++;
    return n;
}

/* ta_headers_find - the nth field (from 0) with this name, or NULL */
const ta_header_field_t *
ta_headers_find(const ta_headers_t *h, ta_str_t name, size_t nth)
{
    size_t i;

    for (i = 0; i < h->nfields; i++)
        if (ta_str_caseeq(h->fields[i].name, name) && nth-- == 0)
            return &h->fields[i];
    return NULL;
}

/* ta_header_anomaly_text - a reason for one anomaly flag */
const char *
ta_header_anomaly_text(unsigned f)
{
    switch (f) {
    case TA_HDR_BARE_CR:     return "bare CR in the header section";
    case TA_HDR_BARE_LF:     return "bare LF in the header section";
    case TA_HDR_NUL:         return "NUL byte in the header section";
    case TA_HDR_LEADING_WSP: return "header section starts with whitespace";
    case TA_HDR_NAME_WSP:    return "whitespace between a header name and its colon";
    case TA_HDR_NO_COLON:    return "a header line without a colon (folded header name?)";
    case TA_HDR_BAD_NAME:    return "invalid characters in a header name";
    case TA_HDR_8BIT:        return "8-bit bytes in the header section";
    case TA_HDR_TOO_MANY:    return "too many header fields";
    case TA_HDR_LONG_LINE:   return "header line longer than 998 octets";
    case TA_HDR_NO_END:      return "header section does not end with an empty line";
    case TA_HDR_EMPTY_CONT:  return "a header continuation line holding only whitespace";
    case TA_HDR_CTL:         return "control characters in the header section";
    }
    return "malformed header section";
}

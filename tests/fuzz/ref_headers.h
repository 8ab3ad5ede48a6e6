/*
 * ref_headers.h - the header-section parser one byte at a time, as
 * ta_headers_parse() was before it skipped printable runs sixteen bytes at
 * a time: the reference tests/unit/test_header.c and fuzz_header compare
 * it with (every field, flag and offset the same).
 */
#ifndef REF_HEADERS_H
#define REF_HEADERS_H

#include "ta_header.h"

/* flag - record an anomaly, remembering the earliest offset of one */
static void
ref_flag(ta_headers_t *h, unsigned what, size_t off)
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
ref_line_end(ta_headers_t *h, const char *buf, size_t len, size_t p, ta_eol_t eol,
    size_t *next)
{
    size_t i;

    for (i = p; i < len; i++) {
        unsigned char c = (unsigned char) buf[i];

        if (c == '\n') {
            if (eol == TA_EOL_CRLF) {
                if (i > p && buf[i - 1] == '\r') {
                    *next = i + 1;
                    return i - 1;
                }
                ref_flag(h, TA_HDR_BARE_LF, i);
            }
            *next = i + 1;
            return i;
        }
        if (c == '\r') {
            if (eol == TA_EOL_LF || i + 1 >= len || buf[i + 1] != '\n')
                ref_flag(h, TA_HDR_BARE_CR, i);
        } else if (c == 0) {
            ref_flag(h, TA_HDR_NUL, i);
        } else if (c >= 0x80) {
            ref_flag(h, TA_HDR_8BIT, i);
        } else if ((c < 0x20 && c != '\t') || c == 0x7f) {
            ref_flag(h, TA_HDR_CTL, i);
        }
    }
    *next = len;
    ref_flag(h, TA_HDR_NO_END, len);
    return len;
}

/* ref_headers_parse - the parser as it was before its SSE2 scan */
static int
ref_headers_parse(ta_headers_t *h, const char *buf, size_t len, ta_eol_t eol,
    ta_header_field_t *fields, size_t cap)
{
    ta_header_field_t *cur = NULL;
    size_t             p = 0, e, next, i, k;

    h->fields = fields;
    h->nfields = 0;
    h->flags = 0;
    h->anomaly_offset = 0;
    h->body_offset = len;
    if ((buf == NULL && len > 0) || (cap == 0 && fields != NULL) || fields == NULL)
        return TA_EINPUT;

    while (p < len) {
        e = ref_line_end(h, buf, len, p, eol, &next);
        if (e - p > TA_HEADER_MAX_LINE)
            ref_flag(h, TA_HDR_LONG_LINE, p);

        if (e == p) {                       /* the empty line: end of section */
            h->body_offset = next;
            return TA_OK;
        }

        if (buf[p] == ' ' || buf[p] == '\t') {
            if (cur == NULL) {
                ref_flag(h, TA_HDR_LEADING_WSP, p);
            } else {
                for (i = p; i < e && (buf[i] == ' ' || buf[i] == '\t'); i++)
                    ;
                if (i == e)
                    ref_flag(h, TA_HDR_EMPTY_CONT, p);
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
            ref_flag(h, TA_HDR_NO_COLON, p);
            p = next;
            continue;
        }
        k = i;
        while (k > p && (buf[k - 1] == ' ' || buf[k - 1] == '\t'))
            k--;
        if (k != i)
            ref_flag(h, TA_HDR_NAME_WSP, p);
        if (k == p)
            ref_flag(h, TA_HDR_BAD_NAME, p);
        for (size_t j = p; j < k; j++) {
            unsigned char c = (unsigned char) buf[j];
            if (c < 33 || c > 126) {
                ref_flag(h, TA_HDR_BAD_NAME, j);
                break;
            }
        }
        if (h->nfields == cap) {
            ref_flag(h, TA_HDR_TOO_MANY, p);
            p = next;
            continue;
        }
        cur = &fields[h->nfields++];
        cur->name = ta_str(buf + p, k - p);
        cur->value = ta_str(buf + i + 1, e - (i + 1));
        cur->raw = ta_str(buf + p, next - p);
        p = next;
    }
    /* A message may end after its last header line (no body): fine. */
    h->body_offset = len;
    return TA_OK;
}

#endif

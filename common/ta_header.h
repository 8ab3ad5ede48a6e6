/*
 * NAME
 *	ta_header 3h
 * SUMMARY
 *	RFC 5322 header-section parser for a gate that must be strict
 * SYNOPSIS
 *	int ta_headers_parse(ta_headers_t *h, const char *buf, size_t len,
 *	                     ta_eol_t eol, ta_header_field_t *fields, size_t cap);
 *	size_t ta_headers_count(const ta_headers_t *h, ta_str_t name);
 *	const ta_header_field_t *ta_headers_find(const ta_headers_t *h,
 *	                     ta_str_t name, size_t nth);
 * DESCRIPTION
 *	ta_headers_parse() splits the header section at the start of buf
 *	(len bytes, no NUL termination assumed) into fields, stopping at the
 *	empty line that ends it or at the end of input. It never fails on
 *	hostile input: what is odd is recorded in h->flags (and the offset of
 *	the first oddity in h->anomaly_offset) so that the policy can refuse it
 *	with a reason. Work and output are bounded by cap fields; more sets
 *	TA_HDR_TOO_MANY.
 *
 *	eol says what a line ending is: TA_EOL_CRLF for wire format (SMTP
 *	DATA; a CR or LF alone is an anomaly) or TA_EOL_LF for Exim's spool
 *	(LF alone ends a line; any CR is an anomaly).
 *
 *	Field names compare case-insensitively. A field's value runs from after
 *	the colon to before its final line ending and keeps folding as written.
 * RETURN
 *	TA_OK, or TA_EINPUT when buf is not a header section at all (only
 *	when cap is 0 or buf is NULL with len > 0).
 * STANDARDS
 *	RFC 5322 section 2.2 and 3.6; RFC 6532 (UTF-8 is recorded, not refused).
 */
#ifndef TA_HEADER_H
#define TA_HEADER_H

#include "ta_str.h"

#define TA_HEADER_MAX_FIELDS 1000
#define TA_HEADER_MAX_LINE   998

typedef enum {
    TA_EOL_CRLF = 0,
    TA_EOL_LF = 1
} ta_eol_t;

/* Anomalies; each one is a reason to refuse in enforce mode except 8BIT. */
enum {
    TA_HDR_BARE_CR     = 1 << 0,  /* CR not followed by LF (CRLF mode), any CR (LF mode) */
    TA_HDR_BARE_LF     = 1 << 1,  /* LF not preceded by CR (CRLF mode only) */
    TA_HDR_NUL         = 1 << 2,  /* NUL byte */
    TA_HDR_LEADING_WSP = 1 << 3,  /* section starts with whitespace (a continuation of nothing) */
    TA_HDR_NAME_WSP    = 1 << 4,  /* whitespace between field name and colon ("From :") */
    TA_HDR_NO_COLON    = 1 << 5,  /* a line that is neither a field nor a continuation */
    TA_HDR_BAD_NAME    = 1 << 6,  /* field name with bytes outside RFC 5322 ftext */
    TA_HDR_8BIT        = 1 << 7,  /* 8-bit bytes in a value (allowed; recorded) */
    TA_HDR_TOO_MANY    = 1 << 8,  /* more fields than cap */
    TA_HDR_LONG_LINE   = 1 << 9,  /* a line longer than 998 octets */
    TA_HDR_NO_END      = 1 << 10, /* input ended inside a header line */
    TA_HDR_EMPTY_CONT  = 1 << 11, /* a continuation line holding only whitespace */
    TA_HDR_CTL         = 1 << 12  /* other control characters in a value */
};

typedef struct {
    ta_str_t name;      /* as written, without the colon */
    ta_str_t value;     /* after the colon, up to the final line ending */
    ta_str_t raw;       /* the whole field including its final line ending */
} ta_header_field_t;

typedef struct {
    ta_header_field_t *fields;
    size_t             nfields;
    size_t             body_offset;    /* where the body starts (len if none) */
    unsigned           flags;
    size_t             anomaly_offset; /* offset of the first anomaly */
} ta_headers_t;

int ta_headers_parse(ta_headers_t *h, const char *buf, size_t len, ta_eol_t eol,
    ta_header_field_t *fields, size_t cap);
size_t ta_headers_count(const ta_headers_t *h, ta_str_t name);
const ta_header_field_t *ta_headers_find(const ta_headers_t *h, ta_str_t name,
    size_t nth);
const char *ta_header_anomaly_text(unsigned flag);

#endif

/*
 * NAME
 *	ta_smtp_stream 3h
 * SUMMARY
 *	the client side of an SMTP session: command lines and strict DATA
 * SYNOPSIS
 *	void   ta_smtp_init(ta_smtp_stream_t *st, size_t max_message);
 *	size_t ta_smtp_feed(ta_smtp_stream_t *st, const char *p, size_t n,
 *	                    ta_smtp_event_t *ev);
 *	void   ta_smtp_start_data(ta_smtp_stream_t *st);
 * DESCRIPTION
 *	Protocol logic the nginx module drives, kept free of nginx so that it
 *	can be fuzzed. ta_smtp_feed() consumes bytes until it has an event and
 *	returns how many it consumed (possibly none, when it returns an event):
 *	TA_SMTP_MORE     all bytes consumed, no complete event;
 *	TA_SMTP_COMMAND  ev->line/ev->len: one command line without its line
 *	                 ending (CRLF, or LF alone, which servers accept);
 *	                 ev->too_long when it passed 2048 octets (discarded);
 *	TA_SMTP_CONTENT  ev->line/ev->len: message content, dot-unstuffed, every
 *	                 line ending CRLF (in DATA mode; pieces of any size);
 *	TA_SMTP_END      the end of the message: back to command mode;
 *	                 ev->too_big when it passed max_message (content
 *	                 beyond the limit was dropped: the caller replies 552);
 *	                 ev->bare when a bare CR or LF was made CRLF.
 *	ta_smtp_start_data() switches to DATA mode after the 354 reply.
 *
 *	End of data is strictly CRLF "." CRLF, as patched MTAs see it: none of
 *	the SMTP-smuggling sequences (LF.LF, CR.CR, LF.CRLF, CRLF.LF, NUL.,
 *	...) ends the message, so one message can never become two. A bare CR
 *	or LF inside the content is written as CRLF (Postfix's cleanup does the
 *	same); what the caller signs and forwards is then one consistent text,
 *	which it dot-stuffs again on the way out. A dot after a bare line
 *	break is content, not stuffing.
 * STANDARDS
 *	RFC 5321 4.1.1.4, 4.5.2 (transparency), 4.5.3.1 (limits); RFC 2920.
 */
#ifndef TA_SMTP_STREAM_H
#define TA_SMTP_STREAM_H

#include "ta_str.h"

#define TA_SMTP_MAX_LINE 2048

typedef enum {
    TA_SMTP_MORE = 0,
    TA_SMTP_COMMAND,
    TA_SMTP_CONTENT,
    TA_SMTP_END
} ta_smtp_event_type_t;

typedef struct {
    ta_smtp_event_type_t type;
    const char          *line;
    size_t               len;
    unsigned             too_long:1;
    unsigned             too_big:1;
    unsigned             bare:1;
} ta_smtp_event_t;

typedef struct {
    int     data;           /* in DATA mode */
    int     state;          /* DATA: position relative to line starts */
    size_t  size, max;      /* content octets so far, limit */
    int     too_big, bare;
    size_t  line_len;
    int     discarding;     /* command line too long: skip to its end */
    char    line[TA_SMTP_MAX_LINE + 1];
    char    out[8];         /* small pieces of content (line endings) */
} ta_smtp_stream_t;

void   ta_smtp_init(ta_smtp_stream_t *st, size_t max_message);
size_t ta_smtp_feed(ta_smtp_stream_t *st, const char *p, size_t n, ta_smtp_event_t *ev);
void   ta_smtp_start_data(ta_smtp_stream_t *st);

#endif

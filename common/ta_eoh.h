/*
 * NAME
 *	ta_eoh 3h
 * SUMMARY
 *	the one place that finds where a message's header section ends
 * SYNOPSIS
 *	#include "ta_eoh.h"
 *
 *	void   ta_eoh_init(ta_eoh_t *b, ta_eol_t eol);
 *	size_t ta_eoh_scan(ta_eoh_t *b, const char *p, size_t n);
 * DESCRIPTION
 *	Every adapter, command and the header parser itself ask this module
 *	where the header section ends and the body starts, so that what is
 *	parsed as header and what is hashed as body can never overlap or leave
 *	a gap (a disagreement there would let text hide between the two).
 *
 *	ta_eoh_init() prepares a finder for a message whose lines end as eol
 *	says. The message starts as if after a line ending: a message that
 *	begins with an empty line has an empty header section.
 *
 *	ta_eoh_scan() looks at the next n bytes of the message (chunks may be
 *	cut anywhere, inside CR LF CR LF too). It returns the offset in this
 *	chunk just past the empty line that ends the header section: the
 *	header section is everything before it in the message, the empty line
 *	included, and the body starts there. It returns TA_EOH_NONE when this
 *	chunk does not complete the empty line. Once the offset has been
 *	returned the caller stops calling: the bytes after it are body and
 *	nothing in them is a boundary. (A further call reads nothing and
 *	returns TA_EOH_NONE.)
 *
 *	A message with no empty line at all is all header section; the finder
 *	never says so (only the caller knows where the message ends): a caller
 *	that reaches the end with TA_EOH_NONE takes the whole message as the
 *	header section and an empty body.
 *
 *	The empty line is the one ta_headers_parse() would see (it asks this
 *	module): lines are split as the parser splits them, and the empty line
 *	is a line with nothing before its line ending.
 *
 *	TA_EOL_CRLF (wire format): every LF ends a line - the LF of a CR LF,
 *	or a bare LF, which the parser flags TA_HDR_BARE_LF; a CR not followed
 *	by LF is line content (TA_HDR_BARE_CR). The empty line is CR LF or a
 *	bare LF at the start of the message or right after an LF. So the body
 *	starts after the first of these (offsets are in the whole message):
 *	    CR LF CR LF        the only one in clean input
 *	    LF CR LF           LF ends the line before (bare), CR LF is empty
 *	    CR LF LF, LF LF    the second LF, alone on its line, is empty
 *	    CR CR LF LF        "x CR" CR LF, then LF alone: the same
 *	    CR LF, LF          at offset 0: an empty header section
 *	and these are not an empty line:
 *	    CR LF CR CR LF     the line holds a CR (CR CR LF never ends one)
 *	    CR LF CR CR        no LF: CRs are content
 *	    CR LF SP CR LF     a continuation line holding only a space
 *	    CR LF NUL CR LF    a line holding a NUL
 *	Every form but CR LF CR LF involves a bare LF, which the parser flags
 *	and the gate refuses; the nginx module never sees one (ta_smtp_stream
 *	has made every bare CR and LF a CR LF). Bare LF counts as a line
 *	ending because the next hop reads it so (Postfix, Exim and our own
 *	stream parser all turn it into CR LF): were CR LF CR LF the only
 *	boundary here, "From: a\r\n\nFrom: b\r\n\r\n" would be one header
 *	section to the gate and a header plus a body downstream.
 *
 *	TA_EOL_LF (Exim's spool): LF alone ends every line and any CR is
 *	content (the parser flags it). The empty line is an LF at the start of
 *	the message or right after an LF: LF LF. LF CR LF is not one.
 *
 *	In both modes the empty line is the last bytes before the returned
 *	offset: CR LF when, in CRLF mode, the byte before the final LF is a
 *	CR (that CR then starts the line), else the final LF alone.
 *
 *	Work is O(n) per call: memchr() finds each LF and at most two bytes
 *	after it are looked at; nothing is copied or allocated. ta_eoh_t holds
 *	how much of the boundary the previous chunks matched; its fields are
 *	private.
 * STANDARDS
 *	RFC 5322 2.1 (a header section, an empty line, an optional body) and
 *	2.3 (CR and LF only together); RFC 5321 4.5.2 (SMTP DATA is CRLF
 *	text).
 */
#ifndef TA_EOH_H
#define TA_EOH_H

#include <stddef.h>

#include "ta_header.h"

#define TA_EOH_NONE ((size_t) -1)

typedef struct {
    ta_eol_t eol;
    unsigned state;     /* private: where the previous chunk left off */
} ta_eoh_t;

void   ta_eoh_init(ta_eoh_t *b, ta_eol_t eol);
size_t ta_eoh_scan(ta_eoh_t *b, const char *p, size_t n);

#endif

/*
 * NAME
 *	ta_reply 3h
 * SUMMARY
 *	the texts of a verdict: SMTP reply, monitor header field
 * SYNOPSIS
 *	size_t ta_reply_format(const ta_verdict_t *v, const char *eol,
 *	                       char *buf, size_t size, size_t *last);
 *	size_t ta_reply_text(const ta_verdict_t *v, char *buf, size_t size);
 *	size_t ta_monitor_field(const ta_verdict_t *v, const char *eol,
 *	                        char *buf, size_t size);
 * DESCRIPTION
 *	ta_reply_format() writes the full reply, every line ending in eol:
 *	  550-5.7.515 Access denied, sending domain D does not meet the required authentication level
 *	  550 5.7.515 REASON
 *	or "451 4.7.0 REASON", or "250 2.0.0 ..." for an acceptance. The
 *	first line of a rejection is exactly the wording Microsoft uses. The
 *	reason is folded at spaces into lines of at most TA_REPLY_WIDTH
 *	octets, code included, as few as that allows and of even length,
 *	each carrying the code and enhanced code: Exim
 *	splits any ACL message line longer than that, and a line it splits
 *	loses its enhanced code (a word longer than a line stays whole, as it
 *	does in Exim). *last, when not NULL, is set to the offset of the last
 *	line.
 *	ta_reply_text() writes the same lines for Exim's local_scan
 *	return_text: no 3-digit code (Exim adds it), lines joined by "\n".
 *	ta_monitor_field() writes "X-Tenantalign: monitor; would refuse:
 *	REASON" folded at 78 octets, ending in eol, or nothing when the
 *	verdict is not a monitored acceptance.
 *	(The log line is ta_log's.)
 *
 *	Bytes that came from the client (login, local part) can be in a
 *	reason: control characters are written as '?', so that a client
 *	cannot add a line to its own reply, our header or our log.
 *	All return the length written (truncated to fit, always terminated).
 */
#ifndef TA_REPLY_H
#define TA_REPLY_H

#include "ta_policy.h"

#define TA_REPLY_WIDTH 75

size_t ta_reply_format(const ta_verdict_t *v, const char *eol, char *buf,
    size_t size, size_t *last);
size_t ta_reply_text(const ta_verdict_t *v, char *buf, size_t size);
size_t ta_monitor_field(const ta_verdict_t *v, const char *eol, char *buf,
    size_t size);

#endif

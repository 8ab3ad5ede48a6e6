/*
 * NAME
 *	ta_reply 3h
 * SUMMARY
 *	SMTP reply text and log line for a verdict
 * SYNOPSIS
 *	size_t ta_reply_format(const ta_verdict_t *v, const char *eol,
 *	                       char *buf, size_t size);
 *	size_t ta_reply_text(const ta_verdict_t *v, char *buf, size_t size);
 *	size_t ta_log_format(const ta_verdict_t *v, ta_str_t tenant,
 *	                     ta_str_t login, char *buf, size_t size);
 * DESCRIPTION
 *	ta_reply_format() writes the full reply, every line ending in eol:
 *	  550-5.7.515 Access denied, sending domain D does not meet the required authentication level
 *	  550 5.7.515 REASON
 *	or "451 4.7.0 REASON", or "250 2.0.0 ..." for an acceptance. The
 *	first line of a rejection is exactly the wording Microsoft uses.
 *	ta_reply_text() writes the same without codes on the first line, for
 *	Exim's local_scan return_text (lines separated by "\n", each
 *	continuation line carrying the enhanced code).
 *	ta_log_format() writes one key=value log line.
 *	All return the length written (truncated to fit, always terminated).
 */
#ifndef TA_REPLY_H
#define TA_REPLY_H

#include "ta_policy.h"

size_t ta_reply_format(const ta_verdict_t *v, const char *eol, char *buf, size_t size);
size_t ta_reply_text(const ta_verdict_t *v, char *buf, size_t size);
size_t ta_log_format(const ta_verdict_t *v, ta_str_t tenant, ta_str_t login,
    char *buf, size_t size);

#endif

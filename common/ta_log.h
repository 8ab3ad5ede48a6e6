/*
 * NAME
 *	ta_log 3h
 * SUMMARY
 *	the one log line of a decision: key=value, or a JSON object
 * SYNOPSIS
 *	size_t ta_log_format(const ta_verdict_t *v, const ta_log_ctx_t *ctx,
 *	                     ta_log_style_t style, char *buf, size_t size);
 * DESCRIPTION
 *	Every decision an adapter applies is logged as one line with these
 *	fields, in this order, in both styles (README "Logs"):
 *	  stage     mail (at MAIL FROM) or data (on the message)
 *	  tenant    the tenant's name, "-" when none
 *	  login     the SMTP AUTH login, "-" when none
 *	  stream    transactional or broadcast, "-" when there is no tenant
 *	  qid       the MTA's queue id (Exim's message id; for nginx, the id
 *	            the upstream gave in its reply to the message), "-" when none
 *	  from      the From domain, "-" when unknown
 *	  envelope  the envelope sender's domain, "-" when none
 *	  verdict   accept, reject or tempfail
 *	  monitor   yes, only on an acceptance monitor mode let through
 *	  class     the reason class (ta_reason.h), on all but a clean acceptance
 *	  code      the SMTP reply code and enhanced code ("550 5.7.515")
 *	  reason    why, in words, when there is a reason
 *	  new_sender  the envelope sender delivered with, when rewritten
 *	  signed    d:selector for each signature, comma separated
 *	  us        microseconds spent in the core, when measured (>= 0)
 *
 *	TA_LOG_KV writes key=value pairs separated by one space. A value is
 *	bare when it is printable ASCII without space, '"', '\' or '=';
 *	otherwise it is quoted, with '"' and '\' escaped by a backslash and
 *	any other byte below 0x20 or 0x7f as \xHH. TA_LOG_JSON writes one
 *	JSON object (RFC 8259) with the same keys: numbers for us, true for
 *	monitor, strings otherwise; control characters as \u00HH. In both,
 *	UTF-8 from the client (a local part, RFC 6532) passes as it is when
 *	valid; an invalid byte is \xHH in key=value and U+FFFD in JSON, so
 *	that a line is always valid for its parser.
 *
 *	Returns the length written; truncated to fit, always NUL-terminated.
 *	A line that would not fit is cut at a field boundary and ends with
 *	a field "truncated" (key=value: truncated=yes; JSON: "truncated":true),
 *	so that it still parses.
 */
#ifndef TA_LOG_H
#define TA_LOG_H

#include "ta_policy.h"

typedef enum {
    TA_LOG_KV = 0,
    TA_LOG_JSON = 1
} ta_log_style_t;

typedef struct {
    const char *stage;          /* "mail" or "data" */
    ta_str_t    tenant;         /* empty: none */
    ta_str_t    login;
    ta_str_t    queue_id;
    int         has_tenant;     /* stream is meaningful */
    long long   us;             /* < 0: not measured */
} ta_log_ctx_t;

size_t ta_log_format(const ta_verdict_t *v, const ta_log_ctx_t *ctx, ta_log_style_t style,
    char *buf, size_t size);

#endif

/*
 * NAME
 *	ta_unsub 3h
 * SUMMARY
 *	RFC 8058 one-click unsubscribe: does a header section carry it
 * SYNOPSIS
 *	const char *ta_unsub_missing(const ta_headers_t *h);
 * DESCRIPTION
 *	Gmail's and Yahoo's bulk-sender rules ask every broadcast message
 *	for one-click unsubscribe: a List-Unsubscribe field with an https
 *	URI and a List-Unsubscribe-Post field whose value is exactly
 *	"List-Unsubscribe=One-Click", both covered by the DKIM signature
 *	(the signer signs and oversigns both, ta_dkim_default_headers).
 *
 *	ta_unsub_missing() returns NULL when the parsed header section h
 *	carries them, else what is missing, as a phrase for a refusal
 *	("no List-Unsubscribe-Post: List-Unsubscribe=One-Click field"). One
 *	field of each: two List-Unsubscribe fields are ambiguous to a
 *	mailbox provider, and so refused.
 * STANDARDS
 *	RFC 2369 3.2 (List-Unsubscribe: angle-bracketed URIs, comma
 *	separated); RFC 8058 3.1 and 4 (List-Unsubscribe-Post, an HTTPS URI).
 */
#ifndef TA_UNSUB_H
#define TA_UNSUB_H

#include "ta_header.h"

const char *ta_unsub_missing(const ta_headers_t *h);

#endif

/*
 * NAME
 *	ta_address 3h
 * SUMMARY
 *	RFC 5321 reverse-path and RFC 5322 From: mailbox parsing, strict
 * SYNOPSIS
 *	int ta_path_parse(const char *in, size_t len, ta_address_t *out,
 *	                  const char **why);
 *	int ta_from_parse(const char *value, size_t len, ta_address_t *out,
 *	                  const char **why);
 * DESCRIPTION
 *	ta_path_parse() reads the argument of MAIL FROM as the client gave it,
 *	with or without angle brackets and without ESMTP parameters: "<>" is
 *	the null sender; source routes, comments, two @, empty parts and any
 *	byte outside RFC 5321 (RFC 6531 UTF-8 allowed) are refused.
 *
 *	ta_from_parse() reads the value of one From: field and succeeds only
 *	when it holds exactly one mailbox with one unambiguous domain: display
 *	names, comments, quoted strings and quoted-pairs are understood;
 *	groups, lists, route syntax, unbalanced delimiters, an address in the
 *	display name, an RFC 2047 encoded-word that decodes to something with
 *	an @ or that stands where the address must be, and invisible or
 *	control characters are refused.
 *
 *	Both write the domain through ta_domain_normalize() (ta_domain.h), so
 *	U-label and A-label spellings compare equal.
 *
 *	On failure *why is a static, human-readable reason suitable for an
 *	SMTP reply ("From: header holds 2 mailboxes").
 * RETURN
 *	TA_OK or TA_EINPUT.
 * STANDARDS
 *	RFC 5321 4.1.2, RFC 5322 3.4 and 4.4, RFC 2047, RFC 6531, RFC 6532,
 *	RFC 5890-5893. Obsolete syntax (obs-route, obs-local-part with CFWS
 *	between atoms) is refused rather than accepted: a gate must be strict.
 */
#ifndef TA_ADDRESS_H
#define TA_ADDRESS_H

#include "ta_str.h"
#include "ta_domain.h"

#define TA_LOCAL_MAX  64

typedef struct {
    char     local[TA_LOCAL_MAX * 4 + 3];  /* as written; quotes kept; UTF-8 allowed */
    size_t   local_len;
    char     domain[TA_DOMAIN_MAX + 1];    /* lower-case A-labels, NUL-terminated */
    size_t   domain_len;
    unsigned null_sender:1;               /* "<>" */
    unsigned utf8:1;                      /* non-ASCII seen in local part or domain */
} ta_address_t;

int ta_path_parse(const char *in, size_t len, ta_address_t *out, const char **why);
int ta_from_parse(const char *value, size_t len, ta_address_t *out, const char **why);

#endif

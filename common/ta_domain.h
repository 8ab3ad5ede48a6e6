/*
 * NAME
 *	ta_domain 3h
 * SUMMARY
 *	domain syntax check and normalisation to lower-case A-labels
 * SYNOPSIS
 *	int ta_domain_normalize(const char *in, size_t len, char *out,
 *	                        size_t outsize, size_t *outlen, const char **why);
 * DESCRIPTION
 *	Checks that in (len bytes) is a host name: dot-separated labels of
 *	1-63 octets, 253 octets in all, no leading, trailing or double dot, no
 *	address literal. ASCII labels must be LDH (letters, digits, hyphen, no
 *	hyphen at either end); a label with UTF-8 is converted with libidn2
 *	(strict IDNA 2008: no UTS 46 mapping, so characters
 *	that mapping would drop or change are refused, not silently removed) and an A-label ("xn--")
 *	must decode to a valid U-label. The result, NUL-terminated, is
 *	lower-case ASCII so that two spellings of one domain compare equal
 *	with memcmp. Invisible or look-alike trailing characters (U+2000 and
 *	friends, U+200B, U+FEFF) are refused.
 * RETURN
 *	TA_OK, or TA_EINPUT with *why a static reason.
 * STANDARDS
 *	RFC 1035 2.3.1, RFC 5890-5893 (IDNA 2008).
 */
#ifndef TA_DOMAIN_H
#define TA_DOMAIN_H

#include "ta_str.h"

#define TA_DOMAIN_MAX 253

int ta_domain_normalize(const char *in, size_t len, char *out, size_t outsize,
    size_t *outlen, const char **why);

#endif

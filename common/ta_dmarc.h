/*
 * NAME
 *	ta_dmarc 3h
 * SUMMARY
 *	DMARC policy records: pick the one record at _dmarc.DOMAIN, parse it
 * SYNOPSIS
 *	int ta_dmarc_parse(const char *txt, size_t len, ta_dmarc_t *d,
 *	                   const char **why);
 *	int ta_dmarc_pick(const ta_str_t *txts, size_t n, size_t *index,
 *	                  const char **why);
 *	int ta_dmarc_is_record(const char *txt, size_t len);
 * DESCRIPTION
 *	ta_dmarc_parse() reads one DMARC record (the TXT record's strings
 *	joined). It must start, with no whitespace before it, with "v" "="
 *	"DMARC1" (whitespace allowed around "="; "DMARC1" exactly, in capitals,
 *	as the grammar's %x codes say). Tag names and keyword values are
 *	compared without case, as ABNF literals are. The tags read are
 *	p, sp, np, adkim, aspf, pct, fo, rf, ri, rua, ruf, t and psd.
 *
 *	d->sp and d->np always hold the policy that applies: sp= when given
 *	(d->has_sp), else p=; np= when given (d->has_np), else the sp one.
 *	A valid tag-list with odd values parses, with each oddity noted in
 *	d->warnings (NUL-terminated, "; "-separated, cut with "..." when
 *	full) and the default used, as RFC 7489 6.3 says ("syntax errors in
 *	the remainder of the record SHOULD be discarded in favor of default
 *	values"): unknown tags, bad adkim/aspf/pct/fo/rf/ri/t/psd/np values,
 *	report URIs that are not URIs, pct below 100 (DMARCbis dropped pct;
 *	t=y is its pct=0), p= not the second tag (RFC 7489's grammar; DMARCbis
 *	allows any order), empty tag-specs (";;").
 *
 *	When p= is missing or invalid, or sp= is invalid, RFC 7489 6.6.3
 *	applies: if rua= holds at least one valid URI the record acts as
 *	p=none (sp and np none too; a warning says so), otherwise there is no
 *	policy and ta_dmarc_parse() returns TA_EINPUT.
 *
 *	Returns TA_OK, or TA_EINPUT with *why a static reason: not a DMARC1
 *	record, "v=DMARC1" followed by something other than ";", tag-list
 *	syntax (RFC 6376 3.2, which RFC 7489 6.4 adopts), a
 *	duplicate tag, more than 64 tags, no usable policy (above).
 *
 *	ta_dmarc_pick() chooses among every TXT record found at _dmarc.DOMAIN:
 *	the records that start with a DMARC1 version tag (ta_dmarc_is_record)
 *	count. TA_OK and *index when exactly one does; TA_NOTFOUND when none;
 *	TA_EINPUT when several ("multiple DMARC records: no policy").
 * STANDARDS
 *	RFC 7489 6.3 (tags), 6.4 (grammar), 6.6.3 (policy discovery);
 *	draft-ietf-dmarc-dmarcbis (np, t, psd; pct, rf and ri removed but still
 *	read here). RFC 3986 for report URIs, checked for shape only: a
 *	scheme, ":", URI characters, and DMARC's "!" size suffix.
 */
#ifndef TA_DMARC_H
#define TA_DMARC_H

#include "ta_str.h"

typedef enum { TA_DMARC_NONE = 0, TA_DMARC_QUARANTINE, TA_DMARC_REJECT } ta_dmarc_policy_t;

typedef struct {
    ta_dmarc_policy_t p, sp, np;  unsigned has_sp:1, has_np:1;
    unsigned adkim_strict:1, aspf_strict:1, testing:1 /* t=y */;
    unsigned p_defaulted:1;        /* no valid p= (or a bad sp=): p=none by RFC 7489 6.6.3 */
    int pct;                       /* 0-100, default 100 */
    int psd;                       /* -1 absent, else 'y','n','u' */
    ta_str_t rua, ruf;             /* raw */
    char warnings[256];            /* non-fatal oddities (unknown tag, pct ignored by DMARCbis...) */
} ta_dmarc_t;

int ta_dmarc_parse(const char *txt, size_t len, ta_dmarc_t *d, const char **why);
int ta_dmarc_pick(const ta_str_t *txts, size_t n, size_t *index, const char **why);
int ta_dmarc_is_record(const char *txt, size_t len);

#endif

/*
 * NAME
 *	ta_verify 3h
 * SUMMARY
 *	what DNS really says about an identity's records, check by check
 * SYNOPSIS
 *	int ta_verify_identity(ta_dns_t *dns, const ta_identity_t *id,
 *	                       const ta_provider_t *pv, ta_onboard_pub_fn pub,
 *	                       void *ctx, ta_verify_report_t *rep);
 * DESCRIPTION
 *	Checks an identity's records, as ta_onboard_records() plans them,
 *	against the answers of one DNS server (ta_dns). Each check is OK,
 *	WARN (works, but should change), FAIL (receivers will fail DKIM, SPF
 *	or DMARC, or the record is ambiguous) or TEMP (no usable answer), with
 *	what was found and, when not OK, the fix in words:
 *
 *	delegation  NS records at a delegated domain name the provider's
 *	cname       the customer's CNAMEs point where planned
 *	dkim SEL    the key record, following CNAMEs (strings joined), parses
 *	            and is the public half of our key; a pending key seen is
 *	            ready to activate (rep->c[i].published); a revoked key is
 *	            seen published as "p=" (safe to remove from DNS later) or
 *	            gone; an active key missing, or another key, fails
 *	return path its CNAME or MX as planned, and its SPF, evaluated per
 *	            RFC 7208 for every egress address (must pass; the DNS
 *	            lookups and void lookups counted, limits 10 and 2)
 *	dmarc       the record at the From domain, else at its organizational
 *	            domain (RFC 7489 6.6.3): found, one, parses; adkim=s and
 *	            aspf=s reported; none is a WARN, or a FAIL where the
 *	            identity says require_dmarc
 *	rep->worst is the worst status. Returns TA_OK, or TA_ESYSTEM when the
 *	plan itself fails (a key file unreadable: rep->c[0] says so).
 */
#ifndef TA_VERIFY_H
#define TA_VERIFY_H

#include "ta_dns.h"
#include "ta_onboard.h"
#include "ta_state.h"

#define TA_VERIFY_MAX 48

typedef enum { TA_CHK_OK = 0, TA_CHK_WARN, TA_CHK_TEMP, TA_CHK_FAIL } ta_chk_t;

typedef struct {
    ta_chk_t        status;
    char            what[80];       /* "dkim s1", "return path", "spf", "dmarc", ... */
    char            name[256];      /* the DNS name looked at */
    char            detail[400];    /* what was found */
    char            fix[TA_DKIMREC_TEXT_SIZE + 320];  /* what to do, when not OK */
    const ta_key_t *key;            /* dkim: the key */
    unsigned        published:1;    /* dkim: our key is published and matches */
    unsigned        revoked_seen:1; /* dkim: "p=" is published for it */
    unsigned        dmarc_adkim_strict:1, dmarc_aspf_strict:1;  /* dmarc: found, with adkim/aspf=s */
    ta_dmarc_seen_t dmarc_seen;     /* dmarc: what was found (unknown: no answer) */
} ta_check_t;

typedef struct {
    size_t     n;
    ta_check_t c[TA_VERIFY_MAX];
    ta_chk_t   worst;
} ta_verify_report_t;

int ta_verify_identity(ta_dns_t *dns, const ta_identity_t *id, const ta_provider_t *pv,
    ta_onboard_pub_fn pub, void *ctx, ta_verify_report_t *rep);

extern const char *const ta_chk_names[];

#endif

/*
 * NAME
 *	ta_onboard 3h
 * SUMMARY
 *	the DNS records an identity needs, for its delegation mode
 * SYNOPSIS
 *	int ta_onboard_records(const ta_identity_t *id, const ta_provider_t *pv,
 *	                       ta_onboard_pub_fn pub, void *ctx,
 *	                       ta_dnsrec_t *out, size_t max, size_t *n,
 *	                       char *err, size_t errlen);
 * DESCRIPTION
 *	The one place that says which records make an identity work, for
 *	`tenantalign dns` to print and `tenantalign verify` to look for. Each
 *	record says who publishes it (the customer, or the provider: in the
 *	CNAME zone or in the delegated subdomain), its owner name (absolute,
 *	with the final dot), type and zone-file data. For an identity whose
 *	DKIM key is at SEL._domainkey.D, return path RP and DNS mode:
 *
 *	manual     customer: SEL._domainkey.D TXT (every key but a revoked
 *	           one, which is published as "p=" until removed); RP CNAME
 *	           the provider's return_path_cname, or RP MX and SPF TXT;
 *	           a DMARC suggestion at _dmarc.D
 *	cname      customer: SEL._domainkey.D CNAME SEL.D.CNAME_ZONE, RP
 *	           CNAME return_path_cname (or RP.CNAME_ZONE), the DMARC
 *	           suggestion; provider: the key TXT at SEL.D.CNAME_ZONE (and
 *	           RP.CNAME_ZONE MX and SPF TXT without return_path_cname);
 *	           and the customer's CNAME for the selector the next rotation
 *	           takes (s2 beside s1, e1 beside e2, ...), so that rotations
 *	           never need the customer
 *	delegated  customer: D NS each name server; provider, in the zone D:
 *	           the key TXT, RP's records when RP is within D (else the
 *	           customer's, as in manual), the DMARC suggestion
 *	The DMARC suggestion is "v=DMARC1; p=none" with the provider's rua,
 *	marked as a suggestion: to publish only where no DMARC record is.
 *	Key records are split into 255-octet strings (ta_dkimrec_text).
 *
 *	pub is asked for each key's public bytes (the caller reads the key
 *	file; this module does no I/O). A key it cannot give is an error
 *	(TA_ESYSTEM, err names it). TA_EINPUT when out has no room.
 */
#ifndef TA_ONBOARD_H
#define TA_ONBOARD_H

#include "ta_dkimrec.h"
#include "ta_provider.h"
#include "ta_tenant.h"

#define TA_ONBOARD_MAX 64       /* records of one identity: 8 active keys and more */

typedef enum { TA_RR_TXT, TA_RR_CNAME, TA_RR_MX, TA_RR_NS } ta_rr_type_t;
typedef enum { TA_SIDE_CUSTOMER, TA_SIDE_PROVIDER } ta_side_t;
typedef enum { TA_REC_DKIM, TA_REC_RETURN_PATH, TA_REC_SPF, TA_REC_DMARC, TA_REC_DELEGATION } ta_rec_kind_t;

typedef struct {
    ta_rec_kind_t   kind;
    ta_side_t       side;
    ta_rr_type_t    type;
    char            owner[256];             /* absolute, final dot */
    char            data[TA_DKIMREC_TEXT_SIZE];  /* zone-file rdata */
    const ta_key_t *key;                    /* TA_REC_DKIM: the key */
    unsigned        suggestion:1;           /* publish only where none is */
    char            note[96];               /* "pending", "revoked: ...", ... */
} ta_dnsrec_t;

/* the public bytes of a key (what p= carries); TA_OK or an error in err */
typedef int (*ta_onboard_pub_fn)(void *ctx, const ta_key_t *key, unsigned char *out,
    size_t size, size_t *len, char *err, size_t errlen);

int ta_onboard_records(const ta_identity_t *id, const ta_provider_t *pv,
    ta_onboard_pub_fn pub, void *ctx, ta_dnsrec_t *out, size_t max, size_t *n,
    char *err, size_t errlen);

extern const char *const ta_rr_type_names[];

#endif

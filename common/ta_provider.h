/*
 * NAME
 *	ta_provider 3h
 * SUMMARY
 *	the provider's side of tenant onboarding: its DNS and egress facts
 * DESCRIPTION
 *	What the provider publishes and sends from, as the tenant source's
 *	top-level "provider { }" block gives it (README "DNS records"): the
 *	name servers a delegated subdomain points to, the zone CNAME
 *	delegation points into, the return path's CNAME target or MX and SPF,
 *	the addresses mail leaves from, the rua of a suggested DMARC record,
 *	and the default of require_dmarc. `tenantalign compile` checks it and
 *	keeps it in the store (ta_store_provider); `tenantalign dns` and
 *	`verify` read it. The adapters never do.
 */
#ifndef TA_PROVIDER_H
#define TA_PROVIDER_H

#include "ta_str.h"

#define TA_PROVIDER_MAX_NS     8
#define TA_PROVIDER_MAX_EGRESS 32

typedef struct {
    size_t    nns;
    ta_str_t  ns[TA_PROVIDER_MAX_NS];       /* name servers a delegated subdomain points to */
    ta_str_t  cname_zone;                    /* CNAME delegation: SEL._domainkey.D -> SEL.D.cname_zone */
    ta_str_t  return_path_cname;             /* the return path: a CNAME to this host ... */
    ta_str_t  return_path_mx;                /* ... or its own MX (this exchange) */
    unsigned  return_path_mx_pref;
    ta_str_t  spf_include;                   /* and SPF "v=spf1 include:THIS -all" */
    size_t    negress;
    ta_str_t  egress[TA_PROVIDER_MAX_EGRESS]; /* addresses mail leaves from (SPF must authorise them) */
    ta_str_t  dmarc_rua;                     /* the rua of a suggested DMARC record (mailto:) */
    unsigned  require_dmarc:1;               /* the default for identities */
    unsigned  no_dns_check:1;                /* top-level "dns_check off": the identities' default */
    unsigned  present:1;                     /* a provider block was given */
} ta_provider_t;

#endif

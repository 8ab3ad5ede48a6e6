/*
 * NAME
 *	ta_orgdomain 3h
 * SUMMARY
 *	organizational domains (Public Suffix List) and DMARC alignment
 * SYNOPSIS
 *	int ta_orgdomain(ta_str_t domain, ta_str_t *org);
 *	int ta_aligned(ta_str_t a, ta_str_t b, ta_align_t mode);
 *	int ta_domain_within(ta_str_t domain, ta_str_t ancestor);
 *	int ta_psl_ready(void);
 * DESCRIPTION
 *	Domains are normalised lower-case A-labels (ta_domain_normalize()).
 *
 *	ta_orgdomain() sets *org to the RFC 7489 organizational domain of
 *	domain: the public suffix plus one label, found with libpsl from
 *	Debian's publicsuffix data. *org points into domain. When domain is
 *	itself a public suffix there is no organizational domain: *org is the
 *	domain itself and the result is TA_NOTFOUND.
 *
 *	ta_aligned() is DMARC identifier alignment: strict means equal,
 *	relaxed means the same organizational domain.
 *
 *	ta_domain_within() says whether domain is ancestor or a subdomain of
 *	it (label-wise, so "evilacme.example" is not within "acme.example").
 *
 *	ta_psl_ready() loads the list (once, thread-safe; the only I/O here)
 *	and says whether it could: adapters call it at start-up so that the
 *	decision itself never touches the file system.
 * STANDARDS
 *	RFC 7489 3.1 and 3.2. XXX DMARCbis replaces the PSL with a DNS tree
 *	walk (_dmarc records, psd= tags); that needs DNS and is future work:
 *	the tree walk would sit behind ta_orgdomain() unchanged.
 */
#ifndef TA_ORGDOMAIN_H
#define TA_ORGDOMAIN_H

#include "ta_str.h"
#include "ta_tenant.h"

int ta_orgdomain(ta_str_t domain, ta_str_t *org);
int ta_aligned(ta_str_t a, ta_str_t b, ta_align_t mode);
int ta_domain_within(ta_str_t domain, ta_str_t ancestor);
int ta_psl_ready(void);

#endif

/*
 * NAME
 *	ta_spf 3h
 * SUMMARY
 *	SPF check_host() for onboarding: does DOMAIN's SPF authorize IP?
 * SYNOPSIS
 *	void ta_spf_check(const char *domain, const ta_ip_t *ip,
 *	                  const char *sender, ta_spf_resolve_fn resolve,
 *	                  void *ctx, ta_spf_outcome_t *out);
 *	int  ta_spf_expand(ta_str_t spec, const ta_spf_macro_env_t *env,
 *	                   char *out, size_t size, size_t *len,
 *	                   const char **why);
 *	int  ta_ip_parse(const char *text, ta_ip_t *ip);
 *	const char *ta_spf_result_name(ta_spf_result_t r);
 * DESCRIPTION
 *	ta_spf_check() evaluates DOMAIN's SPF record for the client address
 *	ip and writes the result to out: the result, the DNS-querying terms
 *	evaluated (out->lookups, never above 10), the queries among them that
 *	came back empty (out->void_lookups; the third is a permerror), the
 *	term that decided or the error (out->why) and the top-level record
 *	(out->record, cut to fit).
 *
 *	It does no I/O: every DNS answer comes from resolve, called with ctx,
 *	the query type and a name. The name is octets, not zone-file text:
 *	printable ASCII and SP (macros such as %_ can put a space in one),
 *	labels of 1-63 octets, no trailing dot; a resolver must not read "\\"
 *	in it as an escape (build it label by label, e.g. with
 *	ldns_dname_new_frm_data, not ldns_dname_new_frm_str). resolve writes
 *	at most max answers into out and their number into *n, and returns
 *	TA_SPF_R_OK (no answers is taken as NODATA), TA_SPF_R_NXDOMAIN,
 *	TA_SPF_R_NODATA or TA_SPF_R_TEMP (SERVFAIL, timeout, anything else).
 *	Answers, each a NUL-terminated row of out:
 *	TA_SPF_Q_TXT   one TXT record, its character-strings joined. A row
 *	               that fills all TA_SPF_ROW - 1 octets is taken as cut
 *	               short, and an SPF record cut short is a permerror. A
 *	               NUL octet inside a record must be written as 0x7F (an
 *	               octet SPF does not allow either), not end the row, so
 *	               that such a record stays the syntax error it is.
 *	TA_SPF_Q_A, TA_SPF_Q_AAAA  addresses as text (rows that do not parse
 *	               as addresses of the family are skipped).
 *	TA_SPF_Q_MX    exchange names (preference left out).
 *	TA_SPF_Q_PTR   names; the query name is the reverse name
 *	               (4.3.2.1.in-addr.arpa, or nibbles.ip6.arpa).
 *	One check calls resolve at most TA_SPF_MAX_QUERIES times.
 *
 *	sender is the MAIL FROM address the macros %{s}, %{l} and %{o} read;
 *	NULL stands for postmaster@DOMAIN, and a sender without "@" (a bare
 *	domain) for postmaster@sender. %{h}, the HELO name, is the current
 *	domain: onboarding has no SMTP session.
 *
 *	ta_spf_expand() expands the macros of a domain-spec (RFC 7208 7):
 *	letters s l o d i p h v, upper case for URL escaping, transformers
 *	(digits, "r") and delimiters, %%, %_ and %-; %{p} is "unknown" (no PTR
 *	lookups for it: RFC 7208 7.3 discourages it). The exp-only letters
 *	c, r, t are syntax errors. It writes NUL-terminated text to out and
 *	returns TA_OK, or TA_EINPUT with *why for a syntax error or a result
 *	longer than size - 1. No truncation to 253 octets here:
 *	ta_spf_check() does that to query names.
 *
 *	ta_ip_parse() reads an IPv4 or IPv6 address (inet_pton: dotted quad
 *	without leading zeros, RFC 4291 text); TA_OK or TA_EINPUT.
 * STANDARDS
 *	RFC 7208: 4.3 (a malformed or single-label DOMAIN, or NXDOMAIN, gives
 *	none), 4.4-4.5 (record selection: several v=spf1 records are a
 *	permerror), 4.6 (a syntax error anywhere in a record is a permerror,
 *	before anything is evaluated), 4.6.4 (at most 10 terms that query
 *	DNS - include, a, mx, ptr, exists, redirect - shared through
 *	include and redirect; at most 10 names per mx, more is a permerror;
 *	the first 10 names of a ptr; more than 2 void lookups is a
 *	permerror), 5 (mechanisms; IPv4-mapped client addresses are IPv4;
 *	no implicit MX), 5.2 (include: none is a permerror), 6.1 (redirect,
 *	ignored when the record has "all"; none is a permerror), 6.2 (exp is
 *	syntax-checked, never fetched), 7 (macros; expanded query names over
 *	253 octets lose labels on the left).
 *
 *	Choices where the RFC leaves room: a void lookup is the first query
 *	of a term (a: A or AAAA, exists: A, mx: MX, ptr: PTR) answered
 *	NXDOMAIN or with no records (include and redirect of such a name are
 *	permerrors anyway); the address lookups of mx and ptr names are not
 *	counted, as in pyspf (an IPv6 check against MX hosts with only A
 *	records must not fail). A query name that is not a valid name after
 *	expansion (an empty or 64-octet label, over 253 octets without
 *	macros) is a permerror. A domain-spec may end in a macro and a dot
 *	("%{d}."), which the grammar does not quite allow. Expansions over
 *	4095 octets (before the cut to 253) are permerrors. Terms are
 *	separated by SP only, as the grammar says. XXX: a name with more than
 *	TA_SPF_MAX_ROWS answers is read as its first TA_SPF_MAX_ROWS; an
 *	address beyond them is missed.
 */
#ifndef TA_SPF_H
#define TA_SPF_H

#include "ta_str.h"

#define TA_SPF_ROW          2048    /* one answer; SPF records over 255 octets exist */
#define TA_SPF_MAX_ROWS     64      /* answers asked for per query */
#define TA_SPF_MAX_LOOKUPS  10      /* RFC 7208 4.6.4 */
#define TA_SPF_MAX_VOID     2       /* RFC 7208 4.6.4 */
#define TA_SPF_MAX_NAMES    10      /* MX or PTR names per term whose addresses are fetched */
#define TA_SPF_MAX_QUERIES  (1 + TA_SPF_MAX_LOOKUPS * (1 + TA_SPF_MAX_NAMES))

typedef enum { TA_SPF_NONE, TA_SPF_NEUTRAL, TA_SPF_PASS, TA_SPF_FAIL, TA_SPF_SOFTFAIL, TA_SPF_TEMPERROR, TA_SPF_PERMERROR } ta_spf_result_t;
typedef enum { TA_SPF_Q_TXT, TA_SPF_Q_A, TA_SPF_Q_AAAA, TA_SPF_Q_MX, TA_SPF_Q_PTR } ta_spf_qtype_t;
typedef enum { TA_SPF_R_OK, TA_SPF_R_NXDOMAIN, TA_SPF_R_NODATA, TA_SPF_R_TEMP } ta_spf_rcode_t;
typedef struct { int family; unsigned char addr[16]; } ta_ip_t;   /* AF_INET / AF_INET6 */

/* the resolver the caller provides: answers for NAME (TXT: each record's strings joined; A/AAAA: addresses as text; MX: exchange names; PTR: names), at most max of them */
typedef ta_spf_rcode_t (*ta_spf_resolve_fn)(void *ctx, ta_spf_qtype_t type, const char *name,
    char out[][TA_SPF_ROW], size_t max, size_t *n);

typedef struct {
    ta_spf_result_t result;
    unsigned lookups;        /* DNS-querying terms + include/redirect counted as RFC 7208 4.6.4 says (limit 10) */
    unsigned void_lookups;   /* answers with no records (limit 2) */
    char     why[256];       /* which term decided, or the error ("more than 10 DNS lookups", "2 void lookups", syntax error at ...) */
    char     record[512];    /* the top-level SPF record seen */
} ta_spf_outcome_t;

/* what the macros read */
typedef struct {
    const char *domain;     /* %{d}, and %{h} */
    const char *sender;     /* %{s} %{l} %{o}: a full address */
    ta_ip_t     ip;         /* %{i} %{v} */
} ta_spf_macro_env_t;

void ta_spf_check(const char *domain, const ta_ip_t *ip, const char *sender /* for macros, may be NULL */,
    ta_spf_resolve_fn resolve, void *ctx, ta_spf_outcome_t *out);
int  ta_spf_expand(ta_str_t spec, const ta_spf_macro_env_t *env, char *out, size_t size,
    size_t *len, const char **why);
int  ta_ip_parse(const char *text, ta_ip_t *ip);
const char *ta_spf_result_name(ta_spf_result_t r);

#endif

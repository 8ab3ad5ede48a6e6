/*
 * NAME
 *	ta_store_format 3h
 * SUMMARY
 *	the on-disk layout of a compiled store, shared by writer and reader
 * DESCRIPTION
 *	A tinycdb file. Keys:
 *	  "\0meta"       TA_STORE_MAGIC, u32 format version, u32 tenant count,
 *	                 u32 flags (bit 0: reject unknown logins)
 *	  "L" LOGIN      the tenant record acting for that login
 *	  "T" NAME       (since version 3) the tenant's first login: tenants by name
 *	  "\0prov"       (version 2) the provider block: u8 flags (require_dmarc
 *	                 1, present 2); u8 n, n str name servers; str
 *	                 cname_zone; str return_path_cname; str return_path_mx;
 *	                 u16 mx preference; str spf_include; u8 n, n str egress
 *	                 addresses; str dmarc_rua
 *	A tenant record (all integers little-endian; a string is u16 length
 *	then bytes):
 *	  str name; u16 nidentities; per identity:
 *	    u8 mode; u8 alignment; u8 flags (monitor 1, null sender 2,
 *	    parent_from 4, subdomains 8, rewrite_return_path 16);
 *	    (version 2) u8 onboarding (bits 0-1 dns: manual 0, cname 1,
 *	    delegated 2; no dns_check 4; require_dmarc 8);
 *	    (version 3) u8 dmarc (bits 0-1: unknown 0, found 1, none 2,
 *	    broken 3; adkim=s 4; aspf=s 8: what verify saw, folded in);
 *	    str domain; str local_part; str return_path; str pattern;
 *	    u16 nkeys; per key: str selector; str domain; str file; u8 alg; u8 state
 *	    (the effective state; version 3 adds 4, unverified)
 *	  (version 4) u32 hourly cap (0: none); per stream (transactional,
 *	  broadcast): u8 flags (require_dmarc 1), u32 hourly cap; and last, u8
 *	  the stream of the login the record is stored under
 *	The reader checks every length against the record's end. It reads
 *	versions 1 to 3 too (no onboarding byte: dns manual, dns_check on,
 *	require_dmarc off; no dmarc byte: unknown; no streams: every login
 *	transactional, no caps), so an older store keeps working.
 */
#ifndef TA_STORE_FORMAT_H
#define TA_STORE_FORMAT_H

#define TA_STORE_MAGIC      "TAST"
#define TA_STORE_VERSION    4u
#define TA_STORE_VERSION_MIN 1u
#define TA_STORE_META_KEY   "\0meta"
#define TA_STORE_META_KLEN  5
#define TA_STORE_PROVIDER_KEY  "\0prov"
#define TA_STORE_PROVIDER_KLEN 5

enum {
    TA_IDF_MONITOR = 1,
    TA_IDF_NULL_SENDER = 2,
    TA_IDF_PARENT_FROM = 4,
    TA_IDF_SUBDOMAINS = 8,
    TA_IDF_REWRITE = 16
};

enum {
    TA_IDD_DMARC_MASK = 3,
    TA_IDD_ADKIM_STRICT = 4,
    TA_IDD_ASPF_STRICT = 8
};

enum {
    TA_STF_REQUIRE_DMARC = 1
};

enum {
    TA_PROV_REQUIRE_DMARC = 1,
    TA_PROV_PRESENT = 2
};

enum {
    TA_IDO_DNS_MASK = 3,
    TA_IDO_NO_DNS_CHECK = 4,
    TA_IDO_REQUIRE_DMARC = 8
};

#endif

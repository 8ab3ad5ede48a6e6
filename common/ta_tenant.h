/*
 * NAME
 *	ta_tenant 3h
 * SUMMARY
 *	the in-memory tenant record the store returns and the policy reads
 * DESCRIPTION
 *	A tenant is a customer of the provider. It has SMTP AUTH logins that
 *	act as it, and sending identities: the From: addresses or domains it
 *	has proven it owns, each with its return-path domain, DKIM keys and
 *	alignment settings.
 *
 *	Identity modes (see README "Tenant store"):
 *	TA_MODE_DOMAIN    a verified whole domain: any address in it (and in
 *	                  its subdomains when `subdomains` is on).
 *	TA_MODE_DELEGATED a subdomain the customer delegated to the provider
 *	                  (email.customer.example): any From in it, and From at
 *	                  the parent domain when `parent_from` is on.
 *	TA_MODE_ADDRESS   one verified From address (a sender signature).
 *
 *	Onboarding (README "DNS records"): dns says how the customer
 *	publishes the identity's records - TXT by hand, CNAMEs into the
 *	provider's zone, or a subdomain delegated to the provider's name
 *	servers; dns_check, that a key signs only once `tenantalign verify`
 *	has seen it published; require_dmarc, that From domains without a
 *	DMARC record are refused.
 *
 *	All strings are lower-case ASCII (domains are A-labels) except the
 *	local part of an address identity, which is kept as verified.
 *	Strings point into storage owned by whoever produced the record (the
 *	store's mapping, or the record's own allocation).
 *
 *	Streams: each login sends in one stream, transactional (the default)
 *	or broadcast; a record looked up by login says which (stream). A
 *	stream may require DMARC of its From domains and have an hourly cap;
 *	the tenant may have one over all its streams.
 *
 *	ta_key_d() is a key's effective d= (its own domain, else its
 *	identity's); ta_alg_name() the algorithm's name in a DKIM a= tag;
 *	ta_identity_name() an identity's name (D, or LOCAL@D).
 */
#ifndef TA_TENANT_H
#define TA_TENANT_H

#include <stdio.h>

#include "ta_reason.h"
#include "ta_str.h"

typedef enum {
    TA_MODE_DOMAIN = 0,
    TA_MODE_DELEGATED = 1,
    TA_MODE_ADDRESS = 2
} ta_identity_mode_t;

typedef enum {
    TA_KEY_PENDING = 0,     /* published in DNS, not signing yet */
    TA_KEY_ACTIVE = 1,      /* signing */
    TA_KEY_RETIRING = 2,    /* no longer signing, still published */
    TA_KEY_REVOKED = 3,     /* never used; published as "p=" */
    TA_KEY_UNVERIFIED = 4   /* active in the source, not seen in DNS: never signs */
} ta_key_state_t;

/* what the state file says of the DMARC record governing an identity's domain */
typedef enum {
    TA_IDDMARC_UNKNOWN = 0, /* never checked */
    TA_IDDMARC_FOUND,
    TA_IDDMARC_NONE,
    TA_IDDMARC_BROKEN       /* several records, or one that does not parse: no policy */
} ta_id_dmarc_t;

typedef enum {
    TA_ALG_RSA_SHA256 = 0,
    TA_ALG_ED25519_SHA256 = 1
} ta_dkim_alg_t;

typedef enum {
    TA_ALIGN_RELAXED = 0,
    TA_ALIGN_STRICT = 1
} ta_align_t;

/* how the customer publishes an identity's DNS records (onboarding) */
typedef enum {
    TA_DELEG_MANUAL = 0,    /* the customer publishes the TXT records */
    TA_DELEG_CNAME = 1,     /* selectors and return path are CNAMEs into the provider's zone */
    TA_DELEG_NS = 2         /* the subdomain is delegated to the provider's name servers */
} ta_delegation_t;

typedef struct {
    ta_str_t        selector;
    ta_str_t        domain;     /* d=; the identity's domain unless set */
    ta_str_t        key_file;   /* absolute path of the private key */
    ta_dkim_alg_t   alg;
    ta_key_state_t  state;
} ta_key_t;

typedef struct {
    ta_identity_mode_t  mode;
    ta_str_t            domain;         /* the sending domain (A-label) */
    ta_str_t            local_part;     /* TA_MODE_ADDRESS only */
    ta_str_t            return_path;    /* bounce domain, may be empty */
    ta_str_t            local_part_pattern; /* PCRE2; empty: any */
    ta_align_t          alignment;
    unsigned            monitor:1;      /* accept and report instead of refusing */
    unsigned            allow_null_sender:1;
    unsigned            parent_from:1;  /* delegated: From at the parent allowed */
    unsigned            subdomains:1;   /* domain: From in subdomains allowed */
    unsigned            rewrite_return_path:1; /* envelope domain := return_path */
    size_t              nkeys;
    const ta_key_t     *keys;
    /* onboarding */
    ta_delegation_t     dns;
    unsigned            dns_check:1;    /* keys sign only once verify saw them published */
    unsigned            require_dmarc:1; /* From domains must publish DMARC */
    unsigned            require_dmarc_set:1; /* parsing only: set here, not inherited */
    unsigned            dns_check_set:1;     /* parsing only */
    /* what verify saw (the state file, folded in by compile) */
    ta_id_dmarc_t       dmarc;
    unsigned            dmarc_adkim_strict:1;   /* DKIM d= must equal the From domain */
    unsigned            dmarc_aspf_strict:1;    /* the envelope domain must equal it */
} ta_identity_t;

/* what a stream of a tenant requires (README "Streams") */
typedef struct {
    unsigned            require_dmarc:1;    /* every From domain of the stream publishes DMARC */
    unsigned            require_dmarc_set:1;    /* parsing only: set here, not inherited */
    unsigned            hourly_cap_set:1;       /* parsing only */
    uint32_t            hourly_cap;         /* messages per hour; 0: none */
} ta_stream_conf_t;

typedef struct {
    ta_str_t             name;
    size_t               nidentities;
    const ta_identity_t *identities;
    ta_stream_t          stream;        /* the stream of the login it was looked up by */
    uint32_t             hourly_cap;    /* messages per hour, all streams; 0: none */
    ta_stream_conf_t     streams[TA_STREAMS];
} ta_tenant_t;

/* ta_key_d - the d= a key signs with */
static inline ta_str_t
ta_key_d(const ta_key_t *k, const ta_identity_t *id)
{
    return k->domain.len ? k->domain : id->domain;
}

/* ta_identity_name - D, or LOCAL@D for an address identity (how the source,
 * the state file and the hold file name it); 0 when it does not fit */
static inline int
ta_identity_name(const ta_identity_t *id, char *buf, size_t size)
{
    int n = id->mode == TA_MODE_ADDRESS
            ? snprintf(buf, size, "%.*s@%.*s", (int) id->local_part.len, id->local_part.data,
                       (int) id->domain.len, id->domain.data)
            : snprintf(buf, size, "%.*s", (int) id->domain.len, id->domain.data);

    return n > 0 && (size_t) n < size;
}

/* the names of the key states, by ta_key_state_t */
static const char *const ta_key_state_names[] = {
    "pending", "active", "retiring", "revoked", "unverified"
};

/* ta_alg_name - the a= name of an algorithm */
static inline const char *
ta_alg_name(ta_dkim_alg_t alg)
{
    return alg == TA_ALG_ED25519_SHA256 ? "ed25519-sha256" : "rsa-sha256";
}

#endif

/*
 * NAME
 *	ta_reason 3h
 * SUMMARY
 *	the classes of a verdict's reason, and the tenant's mail streams
 * DESCRIPTION
 *	Every verdict that is not a clean acceptance carries one reason
 *	class: a short, stable name for what decided it, for the counters
 *	(the "reason" label of tenantalign_messages_total) and the log
 *	line's class= field. The reason text stays for people; the class is
 *	for machines, and its names never change once released.
 *
 *	A class is either the client's fault (a refusal, 5xx) or a
 *	temporary condition (4xx): ta_reason_temporary() says which. The
 *	same class never appears with both.
 *
 *	A stream is how a tenant's login sends: transactional (one message
 *	to one recipient, caused by the recipient) or broadcast (bulk: the
 *	rules of Gmail's and Yahoo's bulk-sender requirements apply).
 */
#ifndef TA_REASON_H
#define TA_REASON_H

typedef enum {
    TA_R_NONE = 0,              /* a clean acceptance */
    /* the client's fault: 5xx */
    TA_R_SYNTAX,                /* a MAIL command the gate does not read */
    TA_R_NO_LOGIN,              /* not authenticated */
    TA_R_UNKNOWN_LOGIN,         /* the login is no tenant's */
    TA_R_ENVELOPE_INVALID,      /* the reverse-path does not parse */
    TA_R_ENVELOPE_NOT_OWNED,    /* the envelope domain is no domain of the tenant's */
    TA_R_NULL_SENDER,           /* the null sender where the identity allows none */
    TA_R_HEADER_INVALID,        /* malformed header section, not exactly one From: */
    TA_R_FROM_NOT_OWNED,        /* the From address is none of the tenant's identities */
    TA_R_DMARC_MISSING,         /* require_dmarc, and the From domain publishes none */
    TA_R_NOT_ALIGNED,           /* the envelope domain is not aligned with From */
    TA_R_FOREIGN_SIGNATURE,     /* a DKIM-Signature of a domain not aligned with From */
    TA_R_NO_KEY,                /* no active key aligned with From */
    TA_R_UNSUBSCRIBE,           /* broadcast without RFC 8058 one-click unsubscribe */
    TA_R_SUSPENDED,             /* the provider suspended the tenant or identity */
    /* temporary: 4xx */
    TA_R_PAUSED,                /* the provider paused the tenant or identity */
    TA_R_HOURLY_CAP,            /* the tenant or stream reached its hourly cap */
    TA_R_KEY_UNVERIFIED,        /* the key is not seen published in DNS yet */
    TA_R_DMARC_UNCHECKED,       /* require_dmarc, and nobody checked the domain yet */
    TA_R_STORE,                 /* the store, the hold file or the configuration is unusable */
    TA_R_KEY,                   /* a signing key is unusable */
    TA_R_SYSTEM,                /* out of memory, a temporary file, the upstream */
    TA_R_COUNT
} ta_reason_t;

/* the class names, by ta_reason_t */
static const char *const ta_reason_names[TA_R_COUNT] = {
    "none",
    "syntax", "no_login", "unknown_login", "envelope_invalid", "envelope_not_owned",
    "null_sender", "header_invalid", "from_not_owned", "dmarc_missing", "not_aligned",
    "foreign_signature", "no_key", "unsubscribe_missing", "suspended",
    "paused", "hourly_cap", "key_unverified", "dmarc_unchecked", "store", "key", "system"
};

/* ta_reason_temporary - a 4xx class (else a 5xx one, or none) */
static inline int
ta_reason_temporary(ta_reason_t r)
{
    return r >= TA_R_PAUSED && r < TA_R_COUNT;
}

typedef enum {
    TA_STREAM_TRANSACTIONAL = 0,
    TA_STREAM_BROADCAST = 1
} ta_stream_t;

#define TA_STREAMS 2

/* the stream names, by ta_stream_t */
static const char *const ta_stream_names[TA_STREAMS] = { "transactional", "broadcast" };

#endif

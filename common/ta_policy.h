/*
 * NAME
 *	ta_policy 3h
 * SUMMARY
 *	the one decision: may this tenant send this message, and how signed
 * SYNOPSIS
 *	void ta_decide(const ta_policy_input_t *in, ta_verdict_t *v);
 *	void ta_verdict_tempfail(ta_verdict_t *v, const char *fmt, ...);
 * DESCRIPTION
 *	ta_decide() is a pure function: no I/O, no allocation that outlives
 *	it, no global state but the (read-only) Public Suffix List. From the
 *	tenant record, the login, the envelope sender and the parsed header
 *	section it produces a verdict:
 *	TA_ACCEPT   with a signing plan: the active keys whose d= aligns with
 *	            the From domain, and the envelope sender to use;
 *	TA_REJECT   550 5.7.515, with a reason the tenant can act on;
 *	TA_TEMPFAIL 451 4.7.x, for our faults (store or key trouble): set by
 *	            adapters with ta_verdict_tempfail(); ta_decide() itself
 *	            returns it only for impossible states.
 *	In monitor mode a would-be rejection is an acceptance with
 *	v->monitor set and v->reason kept.
 *
 *	With in->headers NULL only the envelope is checked (MAIL FROM time):
 *	the sender must be one the tenant may use with some identity.
 *
 *	The checks run in a fixed order; the first failure decides, and
 *	ta_decide's body reads as the list of them (see ta_policy.c).
 */
#ifndef TA_POLICY_H
#define TA_POLICY_H

#include "ta_tenant.h"
#include "ta_header.h"
#include "ta_address.h"

struct ta_hold;

#define TA_MAX_SIGN 8

typedef enum {
    TA_ACCEPT = 0,
    TA_REJECT = 1,
    TA_TEMPFAIL = 2
} ta_action_t;

typedef struct {
    const ta_tenant_t  *tenant;     /* NULL: the login has no tenant */
    ta_str_t            login;
    ta_str_t            mail_from;  /* MAIL FROM argument as received, no parameters */
    const ta_headers_t *headers;    /* NULL: envelope-only check */
    int                 reject_unknown_login;
    int                 monitor_all;    /* adapter-wide monitor mode */
    const struct ta_hold *hold;         /* paused and suspended tenants; NULL: none */
    /* the tenant's accepted messages in the last hour, by stream (the
     * counters' sliding window), for the hourly caps; ignored when !hour_known */
    int                 hour_known;
    uint64_t            hour_sent[TA_STREAMS];
} ta_policy_input_t;

typedef struct {
    ta_action_t          action;
    unsigned             monitor:1;      /* accepted only because of monitor mode */
    unsigned             rewrite_sender:1; /* use new_sender as envelope sender */
    unsigned             held:1;         /* paused or suspended by the provider (ta_hold) */
    ta_reason_t          reason_class;   /* what decided it (ta_reason.h); TA_R_NONE on a clean accept */
    ta_stream_t          stream;         /* the login's stream */
    const ta_identity_t *identity;       /* the identity that matched, if any */
    size_t               nsign;
    const ta_key_t      *sign[TA_MAX_SIGN]; /* keys to sign with, in order */
    char                 from_domain[TA_DOMAIN_MAX + 1];
    char                 envelope_domain[TA_DOMAIN_MAX + 1];
    char                 new_sender[TA_LOCAL_MAX * 4 + TA_DOMAIN_MAX + 8]; /* local@domain, no <> */
    char                 subject_domain[TA_DOMAIN_MAX + 1]; /* the DOMAIN of the 550 line */
    char                 code[4];        /* "250", "550", "451" */
    char                 enhanced[10];   /* "2.0.0", "5.7.515", "4.7.0" */
    char                 reason[320];    /* why; empty on a clean accept */
} ta_verdict_t;

void ta_decide(const ta_policy_input_t *in, ta_verdict_t *v);
void ta_verdict_tempfail(ta_verdict_t *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif

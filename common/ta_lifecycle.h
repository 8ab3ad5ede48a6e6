/*
 * NAME
 *	ta_lifecycle 3h
 * SUMMARY
 *	each key's effective state, from the source, what verify saw, and rotations
 * SYNOPSIS
 *	int ta_lifecycle_keys(const ta_identity_t *id, ta_str_t name,
 *	                      const ta_state_t *st, int64_t now,
 *	                      ta_fpr_fn fpr, void *ctx, ta_key_t *out,
 *	                      ta_lifecycle_note_t *notes, size_t max,
 *	                      size_t *n, char *err, size_t errlen);
 *	void ta_lifecycle_dmarc(ta_identity_t *id, const ta_state_t *st);
 *	int ta_lifecycle_apply(ta_conf_t *c, const ta_state_t *st, int64_t now,
 *	                       ta_fpr_fn fpr, void *ctx,
 *	                       ta_lifecycle_counts_t *counts,
 *	                       void (*warn)(const char *msg), char *err,
 *	                       size_t errlen);
 * DESCRIPTION
 *	A pure function (the key fingerprints come from fpr, the time from
 *	now): the rule "no unpublished key ever signs" in one place.
 *
 *	1. A key active in the source signs only when verify's last answer
 *	   for it (d, selector, fingerprint) is "published", or when the
 *	   identity says dns_check off; otherwise it is TA_KEY_UNVERIFIED
 *	   (kept, published by `dns`, never signing).
 *	2. Each rotation of the identity (ta_state), in creation order,
 *	   adds its key N, replacing any earlier key of the same selector.
 *	   Its predecessor P is the key of the same algorithm that was
 *	   active before it. Until verify has once seen N published, N is
 *	   pending and P keeps signing. From the first time it was seen
 *	   (FIRST_OK), N is active - while verify still sees it - and P is
 *	   retiring (published, not signing) for the rotation's retire
 *	   seconds, then revoked.
 *	notes[i] says, for out[i], why it is in that state and until when
 *	(retiring). ta_lifecycle_dmarc() sets the identity's DMARC facts
 *	(dmarc, adkim/aspf strict) from the state. ta_lifecycle_apply() does
 *	both for every identity of a parsed source (the keys rebuilt in the
 *	source's memory), counts the keys by state, and warns about each key
 *	that is active in the source but does not sign.
 *	Returns TA_OK, TA_EINPUT when more than max keys result, TA_ESYSTEM
 *	when fpr fails (err says why).
 */
#ifndef TA_LIFECYCLE_H
#define TA_LIFECYCLE_H

#include "ta_state.h"

#define TA_LIFECYCLE_MAX 32

/* the SHA-256 of a key's public half, in hex (ta_key_fingerprint) */
typedef int (*ta_fpr_fn)(void *ctx, const ta_key_t *key, char hex[TA_FPR_HEX + 1], char *err,
    size_t errlen);

typedef struct {
    char     fpr[TA_FPR_HEX + 1];
    int      rotated;           /* made by rotate (not in the source) */
    int64_t  until;             /* retiring: revoked from then on */
    const char *why;            /* one phrase: "verified", "not seen in DNS", ... */
} ta_lifecycle_note_t;

int  ta_lifecycle_keys(const ta_identity_t *id, ta_str_t name, const ta_state_t *st, int64_t now,
    ta_fpr_fn fpr, void *ctx, ta_key_t *out, ta_lifecycle_note_t *notes, size_t max, size_t *n,
    char *err, size_t errlen);
void ta_lifecycle_dmarc(ta_identity_t *id, const ta_state_t *st);

typedef struct {
    size_t by_state[TA_KEY_UNVERIFIED + 1];     /* keys, by effective state */
} ta_lifecycle_counts_t;

struct ta_conf;
int  ta_lifecycle_apply(struct ta_conf *c, const ta_state_t *st, int64_t now, ta_fpr_fn fpr,
    void *ctx, ta_lifecycle_counts_t *counts, void (*warn)(const char *msg), char *err,
    size_t errlen);

#endif

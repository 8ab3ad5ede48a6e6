/*
 * NAME
 *	ta_state 3h
 * SUMMARY
 *	onboarding state: what verify saw in DNS, and the keys rotate made
 * SYNOPSIS
 *	int  ta_state_parse(const char *text, size_t len, ta_state_t **out,
 *	                    char *err, size_t errlen);
 *	ta_state_t *ta_state_new(void);
 *	int  ta_state_format(const ta_state_t *s, char **out, size_t *len);
 *	void ta_state_free(ta_state_t *s);
 *	const ta_state_key_t *ta_state_key(const ta_state_t *s, ta_str_t d,
 *	                    ta_str_t selector, const char *fpr);
 *	const ta_state_dmarc_t *ta_state_dmarc(const ta_state_t *s, ta_str_t d);
 *	size_t ta_state_rotations(const ta_state_t *s, ta_str_t identity,
 *	                    const ta_state_rotation_t **out, size_t max);
 *	int  ta_state_note_key(ta_state_t *s, ta_str_t d, ta_str_t selector,
 *	                    const char *fpr, ta_keyseen_t seen, int64_t now);
 *	int  ta_state_note_dmarc(ta_state_t *s, ta_str_t d,
 *	                    const ta_state_dmarc_t *seen);
 *	int  ta_state_add_rotation(ta_state_t *s, const ta_state_rotation_t *r);
 * DESCRIPTION
 *	The source stays human-edited; what the tools learn goes here, in a
 *	text file that `verify` and `rotate` write (whole, atomically) and
 *	`compile` folds into the store (ta_lifecycle). One record a line,
 *	fields separated by one space, after the first line
 *	"tenantalign-state 1":
 *
 *	key D SELECTOR FPR SEEN FIRST_OK CHECKED
 *	    verify's last definitive answer for the key whose public half
 *	    has SHA-256 FPR (64 hex digits) at SELECTOR._domainkey.D:
 *	    published (ours, matching), missing, other (another key), or
 *	    revoked ("p="); FIRST_OK the first time it was seen published (0:
 *	    never), CHECKED the last check (UTC seconds). A key file replaced
 *	    by another key has another FPR, so it is verified anew.
 *	dmarc D SEEN ADKIM ASPF CHECKED
 *	    the DMARC record governing D: found, none, invalid or multiple;
 *	    adkim and aspf r or s.
 *	rotation IDENTITY SELECTOR ALG CREATED RETIRE FILE
 *	    a key `rotate` made for IDENTITY (its name: D or LOCAL@D), in
 *	    order of creation; RETIRE the seconds its predecessor stays
 *	    published once it takes over; FILE the rest of the line.
 *
 *	Lines starting with '#' and empty lines are ignored. The parser is
 *	strict (a state file is ours: anything else is damage) and bounded;
 *	errors name the line. Lookups are hashed: a state of 100,000 keys
 *	costs no more per identity than one of ten.
 */
#ifndef TA_STATE_H
#define TA_STATE_H

#include <stdint.h>

#include "ta_tenant.h"

#define TA_FPR_HEX 64       /* SHA-256 of the public key, in hex */

typedef enum {
    TA_SEEN_PUBLISHED = 0,  /* our key, matching */
    TA_SEEN_MISSING,        /* no record (or no usable one) */
    TA_SEEN_OTHER,          /* a record with another key */
    TA_SEEN_REVOKED         /* "p=" */
} ta_keyseen_t;

typedef enum {
    TA_DSEEN_UNKNOWN = 0,   /* never checked */
    TA_DSEEN_FOUND,
    TA_DSEEN_NONE,
    TA_DSEEN_INVALID,
    TA_DSEEN_MULTIPLE
} ta_dmarc_seen_t;

typedef struct {
    ta_str_t        d, selector;
    char            fpr[TA_FPR_HEX + 1];
    ta_keyseen_t    seen;
    int64_t         first_ok, checked;
} ta_state_key_t;

typedef struct {
    ta_str_t        domain;
    ta_dmarc_seen_t seen;
    unsigned        adkim_strict:1, aspf_strict:1;
    int64_t         checked;
} ta_state_dmarc_t;

typedef struct {
    ta_str_t        identity, selector, file;
    ta_dkim_alg_t   alg;
    int64_t         created, retire;
} ta_state_rotation_t;

typedef struct ta_state ta_state_t;

extern const char *const ta_keyseen_names[];
extern const char *const ta_dmarc_seen_names[];

int  ta_state_parse(const char *text, size_t len, ta_state_t **out, char *err, size_t errlen);
ta_state_t *ta_state_new(void);
int  ta_state_format(const ta_state_t *s, char **out, size_t *len);
void ta_state_free(ta_state_t *s);

const ta_state_key_t *ta_state_key(const ta_state_t *s, ta_str_t d, ta_str_t selector,
    const char *fpr);
const ta_state_dmarc_t *ta_state_dmarc(const ta_state_t *s, ta_str_t d);
size_t ta_state_rotations(const ta_state_t *s, ta_str_t identity,
    const ta_state_rotation_t **out, size_t max);

int  ta_state_note_key(ta_state_t *s, ta_str_t d, ta_str_t selector, const char *fpr,
    ta_keyseen_t seen, int64_t now);
int  ta_state_note_dmarc(ta_state_t *s, ta_str_t d, const ta_state_dmarc_t *seen);
int  ta_state_add_rotation(ta_state_t *s, const ta_state_rotation_t *r);

#endif

/*
 * NAME
 *	ta_hold 3h
 * SUMMARY
 *	tenants and identities the provider paused or suspended
 * SYNOPSIS
 *	int  ta_hold_parse(const char *text, size_t len, ta_hold_t **out,
 *	                   char *err, size_t errlen);
 *	ta_hold_t *ta_hold_new(void);
 *	const ta_hold_entry_t *ta_hold_find(const ta_hold_t *h, ta_str_t tenant,
 *	                   ta_str_t identity);
 *	int  ta_hold_set(ta_hold_t *h, ta_hold_kind_t kind, ta_str_t tenant,
 *	                 ta_str_t identity, int on, int64_t since, ta_str_t reason);
 *	int  ta_hold_format(const ta_hold_t *h, char **out, size_t *len);
 *	size_t ta_hold_count(const ta_hold_t *h);
 *	void ta_hold_free(ta_hold_t *h);
 * DESCRIPTION
 *	The hold file sits beside the store (STORE.hold): the ESP's switch to
 *	stop one tenant now, without recompiling a store of a million
 *	tenants. `tenantalign pause | resume | suspend | unsuspend` rewrite it
 *	whole (it holds only the tenants on hold); the adapters read it under
 *	the store's once-a-second stat rule. Lines, after the first
 *	"tenantalign-hold 1":
 *
 *	pause|suspend TENANT IDENTITY SINCE REASON
 *
 *	IDENTITY is "*" for the whole tenant, else a domain or LOCAL@DOMAIN as
 *	the source names it; SINCE is UTC seconds; REASON the rest of the line
 *	(shown to the client: printable ASCII, at most 200 octets; "-" for
 *	none). Paused mail gets 451 (the client retries and it is delivered
 *	once resumed); suspended mail gets 550 5.7.1.
 *
 *	ta_hold_find() answers for a message of TENANT sent as IDENTITY
 *	(empty: the tenant alone, before an identity is known): a suspension
 *	of the tenant or the identity first, then a pause of either; NULL
 *	when neither is held. Lookups are binary searches: the entries are kept
 *	sorted. The parser is strict and bounded; errors name the line.
 */
#ifndef TA_HOLD_H
#define TA_HOLD_H

#include <stdint.h>

#include "ta_str.h"

#define TA_HOLD_REASON_MAX 200

typedef enum { TA_HOLD_PAUSE = 0, TA_HOLD_SUSPEND = 1 } ta_hold_kind_t;

typedef struct {
    ta_hold_kind_t kind;
    ta_str_t       tenant, identity, reason;   /* identity "*": the whole tenant */
    int64_t        since;
} ta_hold_entry_t;

typedef struct ta_hold ta_hold_t;

extern const char *const ta_hold_kind_names[];

int  ta_hold_parse(const char *text, size_t len, ta_hold_t **out, char *err, size_t errlen);
ta_hold_t *ta_hold_new(void);
const ta_hold_entry_t *ta_hold_find(const ta_hold_t *h, ta_str_t tenant, ta_str_t identity);
int  ta_hold_set(ta_hold_t *h, ta_hold_kind_t kind, ta_str_t tenant, ta_str_t identity, int on,
    int64_t since, ta_str_t reason);
int  ta_hold_format(const ta_hold_t *h, char **out, size_t *len);
size_t ta_hold_count(const ta_hold_t *h);
void ta_hold_free(ta_hold_t *h);

#endif

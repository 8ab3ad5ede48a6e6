/*
 * NAME
 *	ta_engine 3h
 * SUMMARY
 *	what an adapter calls: store + policy + keys + DKIM for one message
 * SYNOPSIS
 *	int  ta_engine_open(const ta_engine_conf_t *conf, ta_engine_t **out,
 *	                    char *err, size_t errlen);
 *	void ta_engine_close(ta_engine_t *e);
 *	size_t ta_engine_warm_keys(ta_engine_t *e);
 *	void ta_engine_mail(ta_engine_t *e, ta_str_t login, ta_str_t mail_from,
 *	                    ta_verdict_t *v);
 *
 *	ta_txn_t *ta_txn_new(ta_engine_t *e, ta_str_t login, ta_str_t mail_from);
 *	const ta_verdict_t *ta_txn_header(ta_txn_t *t, const char *hdr, size_t len);
 *	int  ta_txn_body(ta_txn_t *t, const char *chunk, size_t len);
 *	const ta_verdict_t *ta_txn_finish(ta_txn_t *t, ta_str_t *signatures);
 *	size_t ta_txn_log(const ta_txn_t *t, char *buf, size_t size);
 *	ta_str_t ta_txn_tenant(const ta_txn_t *t);
 *	const ta_verdict_t *ta_txn_verdict(const ta_txn_t *t);
 *	void ta_txn_free(ta_txn_t *t);
 * DESCRIPTION
 *	The adapters (Exim plugin, nginx module) stay thin by calling only
 *	this: it owns the store handle, looks up the tenant, runs the pure
 *	decision (ta_decide), loads the tenant's keys (lazily, cached) and
 *	drives the DKIM signer over the body.
 *
 *	ta_engine_open() opens the store named in conf. A store that cannot be
 *	opened is not fatal: the engine opens, every verdict is a tempfail
 *	naming the problem, and each call retries (ta_store_refresh semantics:
 *	at most once a second). Returns TA_ESYSTEM only on out-of-memory.
 *
 *	ta_engine_warm_keys() parses the active signing keys named in the
 *	engine's store into this process's key cache, as many as it holds
 *	(TA_KEY_CACHE_SIZE), so that sessions - or the children of a daemon
 *	that forks per connection - start with them. Keys that fail to load
 *	are skipped (the message path reports them). Returns how many were
 *	loaded.
 *
 *	ta_engine_mail() is the MAIL FROM-time check (envelope only).
 *
 *	A transaction: ta_txn_new(), then ta_txn_header() with the complete
 *	header section (up to and including the empty line, or the whole
 *	message when it has no body), whose line endings are conf->eol. Its
 *	verdict is final unless it is an acceptance: then feed the body with
 *	ta_txn_body() (any chunking) and ta_txn_finish() returns the final
 *	verdict (a signing failure turns it into a tempfail) and, on accept,
 *	the DKIM-Signature fields to put at the top of the message, each line
 *	ending in conf->eol. The body bytes fed must be exactly those that
 *	will be delivered.
 *	ta_txn_log() writes the one-line log record: tenant, login, From and
 *	envelope domains, verdict, reason, d= and s= signed, microseconds
 *	spent in the engine.
 *	Every function tolerates t == NULL (out of memory at ta_txn_new):
 *	the verdict is then a tempfail. A transaction uses its engine until
 *	ta_txn_free(): close the engine after its last transaction.
 */
#ifndef TA_ENGINE_H
#define TA_ENGINE_H

#include "ta_policy.h"
#include "ta_header.h"

typedef struct ta_engine ta_engine_t;
typedef struct ta_txn ta_txn_t;

typedef enum {
    TA_ENFORCE = 0,     /* refuse what fails */
    TA_MONITOR = 1,     /* accept everything, report what would fail */
    TA_OFF = 2          /* pass everything through untouched */
} ta_enforce_t;

typedef struct {
    const char   *store_path;
    ta_eol_t      eol;        /* line ending of the bytes the adapter passes */
    ta_enforce_t  mode;       /* adapter-wide override; per-identity monitor still applies */
} ta_engine_conf_t;

int  ta_engine_open(const ta_engine_conf_t *conf, ta_engine_t **out,
    char *err, size_t errlen);
void ta_engine_close(ta_engine_t *e);
size_t ta_engine_warm_keys(ta_engine_t *e);
void ta_engine_mail(ta_engine_t *e, ta_str_t login, ta_str_t mail_from,
    ta_verdict_t *v);

ta_txn_t *ta_txn_new(ta_engine_t *e, ta_str_t login, ta_str_t mail_from);
const ta_verdict_t *ta_txn_header(ta_txn_t *t, const char *hdr, size_t len);
int  ta_txn_body(ta_txn_t *t, const char *chunk, size_t len);
const ta_verdict_t *ta_txn_finish(ta_txn_t *t, ta_str_t *signatures);
size_t ta_txn_log(const ta_txn_t *t, char *buf, size_t size);
ta_str_t ta_txn_tenant(const ta_txn_t *t);
const ta_verdict_t *ta_txn_verdict(const ta_txn_t *t);
void ta_txn_free(ta_txn_t *t);

#endif

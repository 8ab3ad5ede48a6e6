/*
 * NAME
 *	ta_store 3h
 * SUMMARY
 *	the compiled tenant store: open read-only, look up a login
 * SYNOPSIS
 *	int  ta_store_open(const char *path, ta_store_t **out, char *err, size_t errlen);
 *	int  ta_store_refresh(ta_store_t *st, char *err, size_t errlen);
 *	unsigned ta_store_bad_seq(const ta_store_t *st);
 *	int  ta_store_tenant(ta_store_t *st, ta_str_t name, ta_tenant_t **out,
 *	                     char *err, size_t errlen);
int  ta_store_tenant(ta_store_t *st, ta_str_t name, ta_tenant_t **out, char *err, size_t errlen);
 *	int  ta_store_lookup(ta_store_t *st, ta_str_t login, ta_tenant_t **out,
 *	                     char *err, size_t errlen);
 *	int  ta_store_each(ta_store_t *st, int (*fn)(const ta_tenant_t *, void *),
 *	                   void *arg, char *err, size_t errlen);
 *	int  ta_store_each_owned(ta_store_t *st, int (*fn)(ta_tenant_t *, void *),
 *	                   void *arg, char *err, size_t errlen);
 *	void ta_tenant_free(ta_tenant_t *t);
 *	ta_provider_t *ta_store_provider(ta_store_t *st, char *err, size_t errlen);
 *	void ta_store_close(ta_store_t *st);
 *	int  ta_store_compile(const char *source, const char *store,
 *	                      ta_compile_opts_t *opts, char *err, size_t errlen);
 * DESCRIPTION
 *	The store is a tinycdb file (see README for why) written by
 *	ta_store_compile() from the human-edited source, to a temporary file
 *	that is renamed into place, so readers never see a half-written store.
 *
 *	ta_store_open() maps it read-only and checks its header (magic,
 *	format version). Lookups cost the same whatever the tenant count.
 *	ta_store_refresh() stats the path at most once a second and, when the
 *	file was replaced, maps the new one. While the file at the path is
 *	missing or broken the store is unusable: the refresh fails with the
 *	reason (the callers answer 451) and the old mapping is not served
 *	from, so that every process, old or new, answers alike; a good file
 *	put in place is mapped at the next second. A broken file is read once,
 *	not every second. ta_store_bad_seq() counts the bad files and
 *	disappearances seen, so that callers can log each once.
 *
 *	ta_store_tenant() finds a tenant by its name (the "T" index; a store
 *	compiled before it has none: TA_NOTFOUND).
 *
 *	ta_store_lookup() finds the tenant acting for an SMTP AUTH login and
 *	returns a record in one allocation (free it with ta_tenant_free());
 *	its strings stay valid after the store is refreshed or closed.
 *	ta_store_each() hands every tenant to fn once (as its first login
 *	finds it; a tenant with no login is in no record), until fn returns
 *	non-zero: for warming caches, not for the message path.
 *	ta_store_each_owned() is the same, but fn owns each record and frees it (ta_tenant_free) when
 *	it is done with it, for commands that keep many.
 *
 *	Settings that are not per tenant (what to do with a login that has no
 *	tenant, the format version) are in ta_store_settings().
 *	ta_store_provider() decodes the provider block (ta_provider.h) into
 *	one allocation the caller frees with free(); NULL with err set when
 *	the record is corrupt, an empty block for a format 1 store.
 * RETURN
 *	TA_OK; TA_NOTFOUND (lookup: no tenant for that login); TA_EINPUT
 *	(compile: the source is wrong, err names file:line); TA_ESYSTEM (the
 *	store is missing, unreadable, truncated or corrupt; out of memory).
 */
#ifndef TA_STORE_H
#define TA_STORE_H

#include "ta_provider.h"
#include "ta_tenant.h"

typedef struct ta_store ta_store_t;

typedef struct {
    int      reject_unknown_login;  /* default 1: a login with no tenant is refused */
    unsigned version;               /* the file's format version */
} ta_store_settings_t;

struct ta_state;

typedef struct {
    int  progress;          /* print progress to stderr on large inputs */
    int  skip_key_checks;   /* benchmarks only: do not stat key files (nor apply state) */
    void (*warn)(const char *msg);  /* warnings, when set */
    const struct ta_state *state;   /* what verify saw and rotate made; NULL: nothing */
    int64_t now;            /* the time the key lifecycle is computed for */
    size_t by_state[5];     /* out: keys written, by effective state (ta_key_state_t) */
} ta_compile_opts_t;

int  ta_store_open(const char *path, ta_store_t **out, char *err, size_t errlen);
int  ta_store_refresh(ta_store_t *st, char *err, size_t errlen);
unsigned ta_store_bad_seq(const ta_store_t *st);
int  ta_store_tenant(ta_store_t *st, ta_str_t name, ta_tenant_t **out, char *err, size_t errlen);
int  ta_store_lookup(ta_store_t *st, ta_str_t login, ta_tenant_t **out,
    char *err, size_t errlen);
int  ta_store_each(ta_store_t *st, int (*fn)(const ta_tenant_t *t, void *arg),
    void *arg, char *err, size_t errlen);
const ta_store_settings_t *ta_store_settings(const ta_store_t *st);
ta_provider_t *ta_store_provider(ta_store_t *st, char *err, size_t errlen);
int  ta_store_each_owned(ta_store_t *st, int (*fn)(ta_tenant_t *t, void *arg), void *arg,
    char *err, size_t errlen);
size_t ta_store_count(const ta_store_t *st);
void ta_tenant_free(ta_tenant_t *t);
void ta_store_close(ta_store_t *st);

int  ta_store_compile(const char *source, const char *store,
    ta_compile_opts_t *opts, char *err, size_t errlen);

#endif

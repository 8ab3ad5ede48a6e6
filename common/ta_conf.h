/*
 * NAME
 *	ta_conf 3h
 * SUMMARY
 *	the human-edited tenant source: parse and validate into records
 * SYNOPSIS
 *	ta_conf_t *ta_conf_parse(const char *text, size_t len, const char *file,
 *	                         const char *basedir, ta_conf_key_check_t check,
 *	                         void *ctx, void (*warn)(const char *msg),
 *	                         ta_conf_errors_t *errs);
 *	void ta_conf_free(ta_conf_t *c);
 *	void *ta_conf_alloc(ta_conf_t *c, size_t n);
 *	ta_str_t ta_conf_str(ta_conf_t *c, ta_str_t s);
 * DESCRIPTION
 *	ta_conf_parse() reads the source format documented in README ("Tenant
 *	store") from text (len bytes; no NUL termination assumed) and returns
 *	the tenants it describes, domains normalised to A-labels, relative key
 *	paths made absolute against basedir. Syntax and value errors are
 *	collected ("file:line: what is wrong", at most TA_CONF_MAX_ERRORS) in
 *	errs; with any error the result is NULL. It does no I/O itself: checks
 *	that need the file system (key files) are the check callback's, run
 *	for each key so that its errors carry the key's line. Warnings (an
 *	identity that can sign nothing) go to warn, when set.
 *
 *	The provider block and the identities' dns settings are checked
 *	against each other: dns cname needs cname_zone (and, with a
 *	return_path, return_path_cname or return_path_mx); dns delegated
 *	needs name_servers and a domain identity; egress addresses must be
 *	IPv4 or IPv6 addresses, dmarc_rua a mailto: URI.
 *
 *	Streams: "login NAME [transactional|broadcast];" puts a login in a
 *	stream; "stream NAME { require_dmarc on|off; hourly_cap N; }" sets a
 *	stream's rules, at the top level for every tenant and in a tenant
 *	block for that tenant (each setting given there wins); "hourly_cap N;"
 *	in a tenant block caps all its streams together.
 *
 *	ta_conf_alloc() and ta_conf_str() give memory that lives as long as
 *	the parsed source (ta_lifecycle_apply() builds the effective keys in
 *	it).
 */
#ifndef TA_CONF_H
#define TA_CONF_H

#include "ta_provider.h"
#include "ta_tenant.h"

#define TA_CONF_MAX_ERRORS 20

typedef struct {
    size_t n;           /* errors found (may exceed the number kept) */
    char   msg[TA_CONF_MAX_ERRORS][320];
} ta_conf_errors_t;

typedef struct {
    ta_tenant_t  tenant;
    size_t       nlogins;
    ta_str_t    *logins;
    ta_stream_t *login_streams;     /* each login's stream */
    size_t       line;          /* where the tenant block starts */
} ta_conf_tenant_t;


typedef struct ta_conf {
    int                reject_unknown_login;
    ta_provider_t      provider;
    ta_stream_conf_t   streams[TA_STREAMS];     /* top-level stream blocks: every tenant's defaults */
    size_t             ntenants;
    ta_conf_tenant_t  *tenants;
    struct ta_arena   *arena;   /* owns every string and array */
} ta_conf_t;

/* A check on each key as it is read (the compiler stats key files); 0 ok,
 * else err holds the problem and it is reported at the key's line. */
typedef int (*ta_conf_key_check_t)(void *ctx, const ta_key_t *key, char *err,
    size_t errlen);

ta_conf_t *ta_conf_parse(const char *text, size_t len, const char *file,
    const char *basedir, ta_conf_key_check_t check, void *ctx,
    void (*warn)(const char *msg), ta_conf_errors_t *errs);
void ta_conf_free(ta_conf_t *c);
void *ta_conf_alloc(ta_conf_t *c, size_t n);
ta_str_t ta_conf_str(ta_conf_t *c, ta_str_t s);
void ta_conf_error(ta_conf_errors_t *errs, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif

/*
 * NAME
 *	cli_tenants 3
 * SUMMARY
 *	the identities of a tenant source or a compiled store, for commands
 * SYNOPSIS
 *	#include "cli.h"
 *
 *	int  ta_cli_identities(const char *store, const char *source,
 *	                       const ta_state_t *state, int64_t now,
 *	                       const char *tenant, const char *identity,
 *	                       ta_cli_ids_t *ids, const char *cmd);
 *	void ta_cli_identities_free(ta_cli_ids_t *ids);
 * DESCRIPTION
 *	ta_cli_identities() reads the store (when store is set) or parses the
 *	source (not compiled: key files are read later, by who needs them) and
 *	lists every identity - of tenant, and named identity (a domain, or an
 *	address), when set - with its tenant's name, and the provider block.
 *	With a state (--state), a source's keys are taken in their effective
 *	states at time now (ta_lifecycle), as compile would store them.
 *	A store hands a tenant once per login: each tenant is kept once.
 *	Errors go to standard error, prefixed with cmd. Returns an exit
 *	status: TA_EXIT_OK (possibly with no identity), TA_EXIT_REJECT when
 *	the source has errors, TA_EXIT_TEMPFAIL when a file cannot be read.
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "ta_conf.h"
#include "ta_dkimrec.h"
#include "ta_lifecycle.h"
#include "ta_store.h"

/* add_tenant - a tenant's matching identities into the list */
static int
add_tenant(ta_cli_ids_t *ids, const ta_tenant_t *t)
{
    char            name[600];
    size_t          i;
    ta_cli_id_t    *n;

    if (ids->tenant && (strlen(ids->tenant) != t->name.len || memcmp(ids->tenant, t->name.data, t->name.len)))
        return 0;
    for (i = 0; i < t->nidentities; i++) {
        (void) ta_identity_name(&t->identities[i], name, sizeof(name));
        if (ids->identity && strcasecmp(ids->identity, name) != 0)
            continue;
        if (ids->n == ids->cap) {
            n = realloc(ids->v, (ids->cap ? ids->cap * 2 : 64) * sizeof(*n));
            if (n == NULL)
                return -1;
            ids->v = n;
            ids->cap = ids->cap ? ids->cap * 2 : 64;
        }
        ids->v[ids->n].tenant = t;
        ids->v[ids->n].id = &t->identities[i];
        ids->n++;
    }
    return 0;
}

/* keep_tenant - a store's tenant record, kept when it has identities listed */
static int
keep_tenant(ta_tenant_t *t, void *arg)
{
    ta_cli_ids_t *ids = arg;
    size_t        before = ids->n;
    ta_tenant_t **nt;
    int           rc = add_tenant(ids, t);

    if (rc < 0 || ids->n == before) {
        ta_tenant_free(t);
        return rc < 0 ? -1 : 0;
    }
    nt = realloc(ids->owned, (ids->nowned + 1) * sizeof(*nt));
    if (nt == NULL) {
        ta_tenant_free(t);
        return -1;
    }
    ids->owned = nt;
    ids->owned[ids->nowned++] = t;
    return 0;
}

/* ta_cli_identities - the identities of a source or a store */
int
ta_cli_identities(const char *store, const char *source, const ta_state_t *state, int64_t now,
    const char *tenant, const char *identity, ta_cli_ids_t *ids, const char *cmd)
{
    ta_lifecycle_counts_t counts;
    ta_conf_errors_t errs;
    char            *text, *copy, err[512];
    size_t           len, i;

    memset(ids, 0, sizeof(*ids));
    ids->tenant = tenant;
    ids->identity = identity;
    if (store != NULL) {
        if (ta_store_open(store, &ids->store, err, sizeof(err)) != TA_OK
            || (ids->provider = ta_store_provider(ids->store, err, sizeof(err))) == NULL
            || ta_store_each_owned(ids->store, keep_tenant, ids, err, sizeof(err)) != TA_OK) {
            fprintf(stderr, "%s: %s\n", cmd, err);
            return TA_EXIT_TEMPFAIL;
        }
        return TA_EXIT_OK;
    }
    text = ta_cli_read(source, &len);
    if (text == NULL) {
        fprintf(stderr, "%s: %s: %s\n", cmd, source, strerror(errno));
        return TA_EXIT_TEMPFAIL;
    }
    /* key paths are relative to the source's directory, made absolute as compile makes them */
    copy = realpath(source, NULL);
    if (copy == NULL)
        copy = strdup(source);
    memset(&errs, 0, sizeof(errs));
    ids->conf = ta_conf_parse(text, len, source, copy ? dirname(copy) : ".", NULL, NULL, NULL, &errs);
    free(text);
    free(copy);
    if (ids->conf == NULL) {
        for (i = 0; i < errs.n && i < TA_CONF_MAX_ERRORS; i++)
            fprintf(stderr, "%s\n", errs.msg[i]);
        return TA_EXIT_REJECT;
    }
    ids->provider_ref = &ids->conf->provider;
    if (state != NULL
        && ta_lifecycle_apply(ids->conf, state, now, ta_dkimrec_fingerprint, NULL, &counts, NULL, err,
                              sizeof(err)) != TA_OK) {
        fprintf(stderr, "%s: %s\n", cmd, err);
        return TA_EXIT_TEMPFAIL;
    }
    for (i = 0; i < ids->conf->ntenants; i++)
        if (add_tenant(ids, &ids->conf->tenants[i].tenant) < 0) {
            fprintf(stderr, "%s: out of memory\n", cmd);
            return TA_EXIT_TEMPFAIL;
        }
    return TA_EXIT_OK;
}

/* ta_cli_provider - the provider block the identities were read with */
const ta_provider_t *
ta_cli_provider(const ta_cli_ids_t *ids)
{
    return ids->provider ? ids->provider : ids->provider_ref;
}

/* ta_cli_identities_free - everything ta_cli_identities() kept */
void
ta_cli_identities_free(ta_cli_ids_t *ids)
{
    size_t i;

    for (i = 0; i < ids->nowned; i++)
        ta_tenant_free(ids->owned[i]);
    free(ids->owned);
    free(ids->v);
    free(ids->provider);
    if (ids->store)
        ta_store_close(ids->store);
    ta_conf_free(ids->conf);
    memset(ids, 0, sizeof(*ids));
}

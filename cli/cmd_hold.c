/*
 * NAME
 *	cmd_hold 1
 * SUMMARY
 *	tenantalign pause, resume, suspend, unsuspend, holds: stop a tenant now
 * SYNOPSIS
 *	tenantalign pause|suspend --store STORE --tenant T [--identity D]
 *	                          [--reason TEXT] [--now T]
 *	tenantalign resume|unsuspend --store STORE --tenant T [--identity D]
 *	tenantalign holds --store STORE
 * DESCRIPTION
 *	Rewrites STORE.hold (ta_hold) under a lock, atomically; running Exim
 *	and nginx processes read it within a second, whatever the size of the
 *	store: no compile, no restart. pause: the tenant's (or the identity's)
 *	mail gets 451 4.7.1 with the reason, so clients keep it and retry;
 *	suspend: 550 5.7.1. The tenant, and the identity, must be in the
 *	store. holds lists what is held. Exit 0 done, 1 no such tenant or
 *	identity (or bad reason), 2 system error, 64 usage.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ta_hold.h"
#include "ta_store.h"

static const char hold_usage[] =
    "usage: tenantalign pause|suspend --store STORE --tenant T [--identity D] [--reason TEXT]\n"
    "       tenantalign resume|unsuspend --store STORE --tenant T [--identity D]\n"
    "       tenantalign holds --store STORE\n"
    "\n"
    "Stops a tenant's mail now, or lets it go again, in running Exim and nginx within\n"
    "a second (STORE.hold; no compile, no restart). pause: 451 4.7.1 with the reason,\n"
    "the client keeps the mail and retries; suspend: 550 5.7.1. --identity D holds one\n"
    "sending identity (a domain, or an address) instead of the whole tenant.\n"
    "  --reason TEXT  shown to the client and logged (printable ASCII, at most 200)\n"
    "exit status: 0 done, 1 no such tenant or identity, 2 system error, 64 usage\n";

/* has_identity - the tenant has an identity of that name */
static int
has_identity(const ta_tenant_t *t, const char *name)
{
    char   buf[600];
    size_t i;

    for (i = 0; i < t->nidentities; i++) {
        (void) ta_identity_name(&t->identities[i], buf, sizeof(buf));
        if (strcmp(buf, name) == 0)
            return 1;
    }
    return 0;
}

/* list - what the hold file holds: the file itself, once it parses (it is in a stable order) */
static int
list(const char *path)
{
    char      *text, err[256];
    size_t     len;
    ta_hold_t *h;
    int        rc;

    text = ta_cli_read(path, &len);
    if (text == NULL) {
        printf("nothing on hold (no %s)\n", path);
        return TA_EXIT_OK;
    }
    rc = ta_hold_parse(text, len, &h, err, sizeof(err));
    if (rc != TA_OK) {
        fprintf(stderr, "tenantalign holds: %s: %s\n", path, err);
        free(text);
        return TA_EXIT_TEMPFAIL;
    }
    if (ta_hold_count(h) == 0)
        printf("nothing on hold\n");
    else
        fwrite(text, 1, len, stdout);
    ta_hold_free(h);
    free(text);
    return TA_EXIT_OK;
}

/* ta_cmd_hold - tenantalign pause | resume | suspend | unsuspend | holds */
int
ta_cmd_hold(int argc, char **argv)
{
    static const struct option opts[] = {
        { "store", required_argument, NULL, 's' },
        { "tenant", required_argument, NULL, 't' },
        { "identity", required_argument, NULL, 'i' },
        { "reason", required_argument, NULL, 'r' },
        { "now", required_argument, NULL, 'n' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    const char     *cmd = argv[0], *store = NULL, *tenant = NULL, *identity = NULL, *reason = "",
                   *now_arg = NULL;
    char            path[4096], err[512], *text, label[64];
    ta_hold_kind_t  kind = TA_HOLD_PAUSE;
    ta_hold_t      *h = NULL;
    ta_store_t     *st;
    ta_tenant_t    *t;
    int64_t         now;
    size_t          len;
    int             c, rc, on;

    snprintf(label, sizeof(label), "tenantalign %s", cmd);
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's': store = optarg; break;
        case 't': tenant = optarg; break;
        case 'i': identity = optarg; break;
        case 'r': reason = optarg; break;
        case 'n': now_arg = optarg; break;
        case 'h': fputs(hold_usage, stdout); return TA_EXIT_OK;
        default: fputs(hold_usage, stderr); return TA_EXIT_USAGE;
        }
    }
    if (store == NULL || optind != argc) {
        fputs(hold_usage, stderr);
        return TA_EXIT_USAGE;
    }
    snprintf(path, sizeof(path), "%s.hold", store);
    if (strcmp(cmd, "holds") == 0)
        return list(path);
    on = strcmp(cmd, "pause") == 0 || strcmp(cmd, "suspend") == 0;
    kind = strcmp(cmd, "suspend") == 0 || strcmp(cmd, "unsuspend") == 0 ? TA_HOLD_SUSPEND : TA_HOLD_PAUSE;
    if (tenant == NULL || (!on && reason[0] != '\0')) {
        fputs(hold_usage, stderr);
        return TA_EXIT_USAGE;
    }
    if ((rc = ta_cli_now(now_arg, &now, label)) != TA_EXIT_OK)
        return rc;

    /* the tenant (and the identity) must exist: a typo must not hold nobody */
    if (ta_store_open(store, &st, err, sizeof(err)) != TA_OK) {
        fprintf(stderr, "%s: %s\n", label, err);
        return TA_EXIT_TEMPFAIL;
    }
    rc = ta_store_tenant(st, ta_str_cstr(tenant), &t, err, sizeof(err));
    ta_store_close(st);
    if (rc == TA_ESYSTEM) {
        fprintf(stderr, "%s: %s\n", label, err);
        return TA_EXIT_TEMPFAIL;
    }
    if (rc == TA_NOTFOUND) {
        fprintf(stderr, "%s: no tenant %s in %s (a store compiled before tenantalign 0.1.0's "
                "format 3 has no tenant index: compile it again)\n", label, tenant, store);
        return TA_EXIT_REJECT;
    }
    rc = identity == NULL || has_identity(t, identity);
    ta_tenant_free(t);
    if (!rc) {
        fprintf(stderr, "%s: tenant %s has no identity %s\n", label, tenant, identity);
        return TA_EXIT_REJECT;
    }

    if ((rc = ta_cli_lock(path, label)) != TA_EXIT_OK)
        return rc;
    text = ta_cli_read(path, &len);
    if (text != NULL) {
        rc = ta_hold_parse(text, len, &h, err, sizeof(err));
        free(text);
        if (rc != TA_OK) {
            fprintf(stderr, "%s: %s: %s (not changed)\n", label, path, err);
            return TA_EXIT_TEMPFAIL;
        }
    } else if ((h = ta_hold_new()) == NULL) {
        fprintf(stderr, "%s: out of memory\n", label);
        return TA_EXIT_TEMPFAIL;
    }
    rc = ta_hold_set(h, kind, ta_str_cstr(tenant), ta_str_cstr(identity ? identity : ""), on, now,
                     ta_str_cstr(reason));
    if (rc != TA_OK) {
        fprintf(stderr, "%s: %s\n", label, rc == TA_EINPUT
                ? "the reason is printable ASCII, at most 200 octets" : "out of memory");
        ta_hold_free(h);
        return rc == TA_EINPUT ? TA_EXIT_REJECT : TA_EXIT_TEMPFAIL;
    }
    if (ta_hold_format(h, &text, &len) != TA_OK) {
        fprintf(stderr, "%s: out of memory\n", label);
        ta_hold_free(h);
        return TA_EXIT_TEMPFAIL;
    }
    ta_hold_free(h);
    /* readable by the daemons as the store is: mode 0644 (it holds no secret) */
    rc = ta_cli_write_atomic(path, text, len, 0644, label);
    free(text);
    if (rc != TA_EXIT_OK)
        return rc;
    printf("tenant %s%s%s: %s; running Exim and nginx act on it within a second\n", tenant,
           identity ? ", identity " : "", identity ? identity : "",
           on ? (kind == TA_HOLD_SUSPEND ? "suspended (550 5.7.1)" : "paused (451 4.7.1, clients retry)")
              : (kind == TA_HOLD_SUSPEND ? "no longer suspended" : "resumed"));
    return TA_EXIT_OK;
}

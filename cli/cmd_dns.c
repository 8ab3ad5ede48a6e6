/*
 * NAME
 *	cmd_dns 1
 * SUMMARY
 *	tenantalign dns: the DNS records each identity needs, who publishes them
 * SYNOPSIS
 *	tenantalign dns [--tenant T] [--identity D] [--format zone|json|text]
 *	                [--state FILE [--now T]] (--store STORE | SOURCE)
 * DESCRIPTION
 *	For every identity (or those the filters name) of a tenant source or
 *	a compiled store, the records ta_onboard_records() plans - the
 *	customer's and the provider's, for the identity's dns mode - as a
 *	zone file fragment (absolute names, TTL 3600, comments saying who
 *	publishes what; it loads unchanged into an authoritative server), as
 *	JSON (one array of objects), or as text for a person. Key records are
 *	made from the key files the source names, read here; with --state, a
 *	source's keys in their effective states (rotated keys included), as
 *	compile stores them. Exit 0, 1 when
 *	a filter matches nothing or the source has errors, 2 when a key or
 *	the store cannot be read, 64 usage.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "ta_keys.h"
#include "ta_onboard.h"
#include "ta_state.h"

static const char dns_usage[] =
    "usage: tenantalign dns [--tenant T] [--identity D] [--format zone|json|text]\n"
    "                       [--state FILE [--now T]] (--store STORE | SOURCE)\n"
    "\n"
    "Prints the DNS records each identity needs: DKIM keys (pending, active and\n"
    "retiring ones; revoked ones as p=), the return path, a DMARC suggestion, and\n"
    "the CNAMEs or NS records of its delegation, saying who publishes each.\n"
    "  --tenant T     only tenant T\n"
    "  --identity D   only identities whose domain (or address) is D\n"
    "  --format F     zone (default; a zone file fragment), json or text\n"
    "  --state FILE   with SOURCE: keys as verify and rotate left them (see compile)\n"
    "  --now T        the keys' states at time T (seconds since 1970, UTC)\n"
    "exit status: 0 printed, 1 nothing matched or errors in SOURCE, 2 a key or the\n"
    "store cannot be read, 64 usage error\n";

typedef enum { FMT_ZONE, FMT_JSON, FMT_TEXT } fmt_t;

typedef struct {
    const char          *tenant, *identity;
    fmt_t                fmt;
    size_t               printed;       /* identities */
    size_t               nrec;          /* records printed (JSON commas) */
    int                  rc;
    ta_dnsrec_t          recs[TA_ONBOARD_MAX];
} dns_run_t;

static const char *const modes[] = { "manual", "cname", "delegated" };
static const char *const sides[] = { "customer", "provider" };
static const char *const kinds[] = { "dkim", "return_path", "spf", "dmarc", "delegation" };

/* print_records - one identity's records in the chosen format */
static void
print_records(dns_run_t *run, const char *tenant, const char *idname, const ta_identity_t *id,
    size_t n)
{
    size_t side, i;

    for (side = 0; side < 2; side++) {
        int heading = 0;

        for (i = 0; i < n; i++) {
            const ta_dnsrec_t *r = &run->recs[i];

            if (r->side != side)
                continue;
            if (run->fmt == FMT_JSON) {
                printf("%s\n  {\"tenant\":", run->nrec++ ? "," : "");
                ta_cli_json(stdout, tenant, strlen(tenant));
                printf(",\"identity\":");
                ta_cli_json(stdout, idname, strlen(idname));
                printf(",\"dns\":\"%s\",\"publisher\":\"%s\",\"kind\":\"%s\",\"name\":",
                       modes[id->dns], sides[r->side], kinds[r->kind]);
                ta_cli_json(stdout, r->owner, strlen(r->owner));
                printf(",\"type\":\"%s\",\"data\":", ta_rr_type_names[r->type]);
                ta_cli_json(stdout, r->data, strlen(r->data));
                printf(",\"suggestion\":%s", r->suggestion ? "true" : "false");
                if (r->key)
                    printf(",\"selector\":\"%.*s\"", (int) r->key->selector.len, r->key->selector.data);
                if (r->note[0]) {
                    printf(",\"note\":");
                    ta_cli_json(stdout, r->note, strlen(r->note));
                }
                putchar('}');
                continue;
            }
            if (!heading) {
                printf(run->fmt == FMT_ZONE ? "; published by the %s\n" : "  the %s publishes:\n",
                       sides[side]);
                heading = 1;
            }
            if (run->fmt == FMT_ZONE) {
                if (r->note[0])
                    printf("; %s\n", r->note);
                printf("%s\t3600\tIN\t%s\t%s\n", r->owner, ta_rr_type_names[r->type], r->data);
            } else {
                printf("    %-40s %-5s %s%s%s%s\n", r->owner, ta_rr_type_names[r->type], r->data,
                       r->note[0] ? "  (" : "", r->note, r->note[0] ? ")" : "");
            }
        }
    }
}

/* one_identity - an identity's records, printed */
static void
one_identity(dns_run_t *run, const ta_cli_id_t *ci, const ta_provider_t *pv)
{
    char   tenant[256], idname[600], err[512];
    size_t n;

    snprintf(tenant, sizeof(tenant), "%.*s", (int) ci->tenant->name.len, ci->tenant->name.data);
    (void) ta_identity_name(ci->id, idname, sizeof(idname));
    if (ta_onboard_records(ci->id, pv, ta_dkimrec_key_public, NULL, run->recs, TA_ONBOARD_MAX, &n,
                           err, sizeof(err)) != TA_OK) {
        fprintf(stderr, "tenantalign dns: tenant %s, identity %s: %s\n", tenant, idname, err);
        run->rc = TA_EXIT_TEMPFAIL;
        return;
    }
    if (run->fmt == FMT_ZONE)
        printf("%s; tenant %s, identity %s (dns %s)\n", run->printed ? "\n" : "", tenant, idname,
               modes[ci->id->dns]);
    else if (run->fmt == FMT_TEXT)
        printf("%stenant %s, identity %s (dns %s):\n", run->printed ? "\n" : "", tenant, idname,
               modes[ci->id->dns]);
    print_records(run, tenant, idname, ci->id, n);
    run->printed++;
}

/* ta_cmd_dns - tenantalign dns */
int
ta_cmd_dns(int argc, char **argv)
{
    static const struct option opts[] = {
        { "store", required_argument, NULL, 's' },
        { "tenant", required_argument, NULL, 't' },
        { "identity", required_argument, NULL, 'i' },
        { "format", required_argument, NULL, 'f' },
        { "state", required_argument, NULL, 'S' },
        { "now", required_argument, NULL, 'n' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    static dns_run_t run;
    ta_cli_ids_t     ids;
    const char      *store = NULL, *state_path = NULL, *now_arg = NULL;
    ta_state_t      *state = NULL;
    int64_t          now;
    size_t           i;
    int              c, rc;

    memset(&run, 0, sizeof(run));
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's': store = optarg; break;
        case 't': run.tenant = optarg; break;
        case 'i': run.identity = optarg; break;
        case 'f':
            if (strcmp(optarg, "zone") == 0)
                run.fmt = FMT_ZONE;
            else if (strcmp(optarg, "json") == 0)
                run.fmt = FMT_JSON;
            else if (strcmp(optarg, "text") == 0)
                run.fmt = FMT_TEXT;
            else {
                fputs(dns_usage, stderr);
                return TA_EXIT_USAGE;
            }
            break;
        case 'S': state_path = optarg; break;
        case 'n': now_arg = optarg; break;
        case 'h': fputs(dns_usage, stdout); return TA_EXIT_OK;
        default: fputs(dns_usage, stderr); return TA_EXIT_USAGE;
        }
    }
    if ((store == NULL) == (argc - optind != 1) || (store && state_path)) {
        fputs(dns_usage, stderr);
        return TA_EXIT_USAGE;
    }
    if ((rc = ta_cli_now(now_arg, &now, "tenantalign dns")) != TA_EXIT_OK
        || (state_path && (rc = ta_cli_state_load(state_path, 1, &state, "tenantalign dns")) != TA_EXIT_OK))
        return rc;
    rc = ta_cli_identities(store, store ? NULL : argv[optind], state, now, run.tenant, run.identity, &ids,
                           "tenantalign dns");
    if (rc != TA_EXIT_OK) {
        ta_cli_identities_free(&ids);
        ta_state_free(state);
        return rc;
    }
    if (run.fmt == FMT_JSON)
        putchar('[');
    for (i = 0; i < ids.n; i++)
        one_identity(&run, &ids.v[i], ta_cli_provider(&ids));
    if (run.fmt == FMT_JSON)
        printf("\n]\n");
    i = ids.n;
    ta_cli_identities_free(&ids);
    ta_state_free(state);
    ta_keys_flush();
    if (i == 0) {
        fprintf(stderr, "tenantalign dns: no identity matched\n");
        return TA_EXIT_REJECT;
    }
    return run.rc;
}

/*
 * NAME
 *	cmd_verify 1
 * SUMMARY
 *	tenantalign verify: what DNS really publishes for each identity
 * SYNOPSIS
 *	tenantalign verify [--server IP[:PORT]] [--tenant T] [--identity D]
 *	                   [--json] [--concurrency N] [--timeout MS]
 *	                   [--state FILE [--now T]] (--store STORE | SOURCE)
 * DESCRIPTION
 *	Runs ta_verify_identity() for every identity (or those the filters
 *	name) against one DNS server - a resolver, or an authoritative server
 *	for tests - with N threads, each with its own resolver (ta_dns), and
 *	prints per identity OK, WARN, TEMP or FAIL for each check with the
 *	fix in words, or with --json one array of objects for automation.
 *	Before the identities, one query asks whether the server answers at
 *	all: a server that does not is reported once, within the timeout
 *	times the tries, however many identities there are. Progress goes to
 *	standard error on large runs. Exit 0 when nothing fails, 1 when a
 *	check fails (FAIL), 2 when a check could not be made (TEMP: DNS
 *	trouble, a key that cannot be read), 64 usage.
 *
 *	With --state FILE it records, under a lock, what it saw: for each key
 *	(known by its public half's SHA-256) published, revoked or missing,
 *	and the DMARC record governing each identity's domain; a TEMP answer
 *	changes nothing. compile folds the file into the store (ta_lifecycle):
 *	that is how a pending key becomes active and a new key starts to sign.
 *	With a source, the keys checked are those of the same file's rotations
 *	too, in their states at --now.
 */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "ta_keys.h"
#include "ta_dkimrec.h"
#include "ta_state.h"
#include "ta_verify.h"

static const char verify_usage[] =
    "usage: tenantalign verify [--server IP[:PORT]] [--tenant T] [--identity D] [--json]\n"
    "                          [--concurrency N] [--timeout MS] [--state FILE [--now T]]\n"
    "                          (--store STORE | SOURCE)\n"
    "\n"
    "Checks, against DNS, every record `tenantalign dns` plans for each identity:\n"
    "the delegation, the DKIM keys (published, ours, pending ones ready to\n"
    "activate, revoked ones), the return path and its SPF for the provider's\n"
    "egress addresses, and the From domain's DMARC record.\n"
    "  --server       a DNS server (default: the system's resolvers)\n"
    "  --tenant T     only tenant T\n"
    "  --identity D   only identities whose domain (or address) is D\n"
    "  --json         one JSON array instead of text\n"
    "  --concurrency  identities checked at once (default 8, at most 256)\n"
    "  --timeout      milliseconds per DNS try, two tries (default 2000)\n"
    "  --state FILE   record what was seen there (compile --state folds it into the store)\n"
    "  --now T        the time to record and to take the keys' states at (seconds since 1970)\n"
    "exit status: 0 all good, 1 something fails, 2 DNS trouble, 64 usage error\n";

static const char *const modes[] = { "manual", "cname", "delegated" };

typedef struct {
    const ta_cli_ids_t  *ids;
    const char          *server;
    unsigned             timeout_ms;
    int                  json;
    pthread_mutex_t      lock;
    size_t               next, done;    /* under lock */
    char               **out;           /* each identity's text */
    ta_chk_t            *worst;
    ta_state_t          *state;         /* under lock; NULL: nothing recorded */
    int64_t              now;
    int                  state_failed;  /* under lock */
} verify_run_t;

/* record - what one identity's checks saw, into the state (under the run's lock) */
static void
record(verify_run_t *run, const ta_identity_t *id, const ta_verify_report_t *rep)
{
    char         fpr[TA_VERIFY_MAX][TA_FPR_HEX + 1], err[256];
    ta_keyseen_t seen;
    size_t       i;
    int          ok[TA_VERIFY_MAX];

    /* the fingerprints first, outside the lock: they read key files */
    for (i = 0; i < rep->n; i++)
        ok[i] = rep->c[i].key != NULL && rep->c[i].status != TA_CHK_TEMP
                && ta_dkimrec_fingerprint(NULL, rep->c[i].key, fpr[i], err, sizeof(err)) == TA_OK;
    pthread_mutex_lock(&run->lock);
    for (i = 0; i < rep->n; i++) {
        const ta_check_t *c = &rep->c[i];
        int               rc = TA_OK;

        if (ok[i]) {
            seen = c->published ? TA_SEEN_PUBLISHED : c->revoked_seen ? TA_SEEN_REVOKED : TA_SEEN_MISSING;
            rc = ta_state_note_key(run->state, ta_key_d(c->key, id), c->key->selector, fpr[i], seen, run->now);
        } else if (c->key == NULL && c->dmarc_seen != TA_DSEEN_UNKNOWN) {
            ta_state_dmarc_t d;

            memset(&d, 0, sizeof(d));
            d.seen = c->dmarc_seen;
            d.adkim_strict = c->dmarc_adkim_strict;
            d.aspf_strict = c->dmarc_aspf_strict;
            d.checked = run->now;
            rc = ta_state_note_dmarc(run->state, id->domain, &d);
        }
        if (rc != TA_OK)
            run->state_failed = 1;
    }
    pthread_mutex_unlock(&run->lock);
}

/* render - one identity's report as text or JSON, in an allocated string */
static char *
render(const verify_run_t *run, const ta_cli_id_t *ci, const ta_verify_report_t *rep)
{
    char   *buf = NULL, idname[600];
    size_t  len = 0, i;
    FILE   *o = open_memstream(&buf, &len);

    if (o == NULL)
        return NULL;
    (void) ta_identity_name(ci->id, idname, sizeof(idname));
    if (run->json) {
        fprintf(o, "  {\"tenant\":");
        ta_cli_json(o, ci->tenant->name.data, ci->tenant->name.len);
        fprintf(o, ",\"identity\":");
        ta_cli_json(o, idname, strlen(idname));
        fprintf(o, ",\"dns\":\"%s\",\"status\":\"%s\",\"checks\":[", modes[ci->id->dns],
                ta_chk_names[rep->worst]);
        for (i = 0; i < rep->n; i++) {
            const ta_check_t *c = &rep->c[i];

            fprintf(o, "%s\n    {\"check\":", i ? "," : "");
            ta_cli_json(o, c->what, strlen(c->what));
            fprintf(o, ",\"status\":\"%s\",\"name\":", ta_chk_names[c->status]);
            ta_cli_json(o, c->name, strlen(c->name));
            fprintf(o, ",\"found\":");
            ta_cli_json(o, c->detail, strlen(c->detail));
            if (c->fix[0]) {
                fprintf(o, ",\"fix\":");
                ta_cli_json(o, c->fix, strlen(c->fix));
            }
            if (c->key)
                fprintf(o, ",\"selector\":\"%.*s\",\"published\":%s,\"revoked_seen\":%s",
                        (int) c->key->selector.len, c->key->selector.data,
                        c->published ? "true" : "false", c->revoked_seen ? "true" : "false");
            fputc('}', o);
        }
        fprintf(o, "]}");
    } else {
        fprintf(o, "tenant %.*s, identity %s (dns %s): %s\n", (int) ci->tenant->name.len,
                ci->tenant->name.data, idname, modes[ci->id->dns], ta_chk_names[rep->worst]);
        for (i = 0; i < rep->n; i++) {
            const ta_check_t *c = &rep->c[i];

            fprintf(o, "  %-4s %-12s %s: %s\n", ta_chk_names[c->status], c->what, c->name, c->detail);
            if (c->fix[0])
                fprintf(o, "       fix: %s\n", c->fix);
        }
    }
    fclose(o);
    return buf;
}

/* worker - identities, one after another, with a resolver of its own */
static void *
worker(void *arg)
{
    verify_run_t        *run = arg;
    ta_verify_report_t  *rep = malloc(sizeof(*rep));
    ta_dns_t            *dns;
    char                 err[256];
    size_t               i, total = run->ids->n;

    dns = ta_dns_new(run->server, run->timeout_ms, 2, err, sizeof(err));
    for (;;) {
        pthread_mutex_lock(&run->lock);
        i = run->next < total ? run->next++ : total;
        pthread_mutex_unlock(&run->lock);
        if (i == total)
            break;
        if (rep == NULL || dns == NULL) {
            run->worst[i] = TA_CHK_TEMP;
            continue;
        }
        ta_verify_identity(dns, run->ids->v[i].id, ta_cli_provider(run->ids), ta_dkimrec_key_public,
                           NULL, rep);
        run->worst[i] = rep->worst;
        run->out[i] = render(run, &run->ids->v[i], rep);
        if (run->state != NULL)
            record(run, run->ids->v[i].id, rep);
        pthread_mutex_lock(&run->lock);
        if (++run->done % 1000 == 0 && total >= 1000)
            fprintf(stderr, "tenantalign verify: %zu of %zu identities\n", run->done, total);
        pthread_mutex_unlock(&run->lock);
    }
    ta_dns_free(dns);
    free(rep);
    return NULL;
}

/* server_answers - one query first: a dead server is reported once, quickly */
static int
server_answers(const char *server, unsigned timeout_ms, const ta_identity_t *id, char *why, size_t size)
{
    ta_dns_answer_t *ans = malloc(sizeof(*ans));
    ta_dns_t        *dns;
    char             name[256];
    ta_dns_rc_t      rc;

    dns = ta_dns_new(server, timeout_ms, 2, why, size);
    if (dns == NULL || ans == NULL) {
        ta_dns_free(dns);
        free(ans);
        return 0;
    }
    snprintf(name, sizeof(name), "%.*s", (int) id->domain.len, id->domain.data);
    rc = ta_dns_query_raw(dns, name, TA_DNS_SOA, ans);
    if (rc == TA_DNS_TEMP)
        snprintf(why, size, "%s", ans->why);
    ta_dns_free(dns);
    free(ans);
    return rc != TA_DNS_TEMP;
}

/* ta_cmd_verify - tenantalign verify */
int
ta_cmd_verify(int argc, char **argv)
{
    static const struct option opts[] = {
        { "store", required_argument, NULL, 's' },
        { "server", required_argument, NULL, 'S' },
        { "tenant", required_argument, NULL, 't' },
        { "identity", required_argument, NULL, 'i' },
        { "json", no_argument, NULL, 'j' },
        { "concurrency", required_argument, NULL, 'c' },
        { "timeout", required_argument, NULL, 'T' },
        { "state", required_argument, NULL, 'X' },
        { "now", required_argument, NULL, 'n' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    verify_run_t run;
    ta_cli_ids_t ids;
    const char  *store = NULL, *tenant = NULL, *identity = NULL, *state_path = NULL, *now_arg = NULL;
    long         conc = 8, timeout = 2000;
    pthread_t   *th;
    size_t       i, nth;
    int          c, rc, fail = 0, temp = 0;
    char         why[256];

    memset(&run, 0, sizeof(run));
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's': store = optarg; break;
        case 'S': run.server = optarg; break;
        case 't': tenant = optarg; break;
        case 'i': identity = optarg; break;
        case 'j': run.json = 1; break;
        case 'c': conc = strtol(optarg, NULL, 10); break;
        case 'T': timeout = strtol(optarg, NULL, 10); break;
        case 'X': state_path = optarg; break;
        case 'n': now_arg = optarg; break;
        case 'h': fputs(verify_usage, stdout); return TA_EXIT_OK;
        default: fputs(verify_usage, stderr); return TA_EXIT_USAGE;
        }
    }
    if ((store == NULL) == (argc - optind != 1) || conc < 1 || conc > 256 || timeout < 100 || timeout > 60000) {
        fputs(verify_usage, stderr);
        return TA_EXIT_USAGE;
    }
    run.timeout_ms = (unsigned) timeout;
    if ((rc = ta_cli_now(now_arg, &run.now, "tenantalign verify")) != TA_EXIT_OK)
        return rc;
    /* the lock first: the state read is the one this run writes back */
    if (state_path != NULL
        && ((rc = ta_cli_lock(state_path, "tenantalign verify")) != TA_EXIT_OK
            || (rc = ta_cli_state_load(state_path, 0, &run.state, "tenantalign verify")) != TA_EXIT_OK))
        return rc;
    rc = ta_cli_identities(store, store ? NULL : argv[optind], store ? NULL : run.state, run.now, tenant,
                           identity, &ids, "tenantalign verify");
    if (rc != TA_EXIT_OK || ids.n == 0) {
        if (rc == TA_EXIT_OK)
            fprintf(stderr, "tenantalign verify: no identity matched\n");
        ta_cli_identities_free(&ids);
        ta_state_free(run.state);
        return rc != TA_EXIT_OK ? rc : TA_EXIT_REJECT;
    }
    if (!server_answers(run.server, run.timeout_ms, ids.v[0].id, why, sizeof(why))) {
        fprintf(stderr, "tenantalign verify: the DNS server %s does not answer: %s\n",
                run.server ? run.server : "(system resolvers)", why);
        ta_cli_identities_free(&ids);
        ta_state_free(run.state);
        return TA_EXIT_TEMPFAIL;
    }
    run.ids = &ids;
    run.out = calloc(ids.n, sizeof(*run.out));
    run.worst = calloc(ids.n, sizeof(*run.worst));
    nth = (size_t) conc < ids.n ? (size_t) conc : ids.n;
    th = calloc(nth, sizeof(*th));
    if (run.out == NULL || run.worst == NULL || th == NULL) {
        fprintf(stderr, "tenantalign verify: out of memory\n");
        rc = TA_EXIT_TEMPFAIL;
        goto done;
    }
    pthread_mutex_init(&run.lock, NULL);
    for (i = 0; i < nth; i++)
        if (pthread_create(&th[i], NULL, worker, &run) != 0)
            break;
    nth = i;
    if (nth == 0)
        worker(&run);
    for (i = 0; i < nth; i++)
        pthread_join(th[i], NULL);
    pthread_mutex_destroy(&run.lock);

    if (run.json)
        printf("[\n");
    for (i = 0; i < ids.n; i++) {
        if (run.out[i])
            printf("%s%s", run.out[i], run.json ? (i + 1 < ids.n ? ",\n" : "\n") : (i + 1 < ids.n ? "\n" : ""));
        fail |= run.worst[i] == TA_CHK_FAIL;
        temp |= run.worst[i] == TA_CHK_TEMP || run.out[i] == NULL;
    }
    if (run.json)
        printf("]\n");
    rc = fail ? TA_EXIT_REJECT : temp ? TA_EXIT_TEMPFAIL : TA_EXIT_OK;
    if (run.state != NULL && run.state_failed) {
        fprintf(stderr, "tenantalign verify: out of memory recording the state; %s not written\n", state_path);
        rc = TA_EXIT_TEMPFAIL;
    } else if (run.state != NULL && ta_cli_state_save(state_path, run.state, "tenantalign verify") != TA_EXIT_OK) {
        rc = TA_EXIT_TEMPFAIL;
    }
done:
    for (i = 0; run.out && i < ids.n; i++)
        free(run.out[i]);
    free(run.out);
    free(run.worst);
    free(th);
    ta_cli_identities_free(&ids);
    ta_state_free(run.state);
    ta_keys_flush();
    return rc;
}

/*
 * NAME
 *	cmd_rotate 1
 * SUMMARY
 *	tenantalign rotate: start a DKIM key rotation, and say what to publish
 * SYNOPSIS
 *	tenantalign rotate --state FILE [--tenant T] [--identity D]
 *	                   [--alg rsa2048|rsa3072|ed25519] [--key-dir DIR]
 *	                   [--retire-days N] [--now T] SOURCE
 * DESCRIPTION
 *	For each identity (or those the filters name) whose key of the
 *	algorithm family (RSA by default) signs, makes the next key, records
 *	it in the state file as a rotation and prints the record to publish.
 *	The new key is pending: it signs only once verify has seen it
 *	published, and from then on its predecessor is retiring (published,
 *	not signing) for N days (default 7, at least 5: longer than mail
 *	signed with it may wait in queues; Postfix keeps mail 5 days), then
 *	revoked ("p="). compile computes each step from the state file.
 *
 *	Selectors: under dns cname they alternate s1/s2 (RSA) or e1/e2
 *	(Ed25519), names whose CNAMEs the customer published once at
 *	onboarding (`tenantalign dns` plans both), so the rotation needs
 *	nothing from the customer; otherwise they are dated, YYYYMMDD for RSA
 *	and YYYYMMDDe for Ed25519. The key file is DIR/D.SELECTOR.TIME.pem
 *	(DIR: the predecessor's directory), mode 0640, in the predecessor's
 *	group, never over an existing file.
 *
 *	An identity is not rotated while a rotation is in flight: a pending
 *	key (not seen in DNS yet) or a retiring one. Exit 0 all rotated, 1
 *	when one was refused (the others are rotated), 2 system error, 64
 *	usage.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "ta_keys.h"
#include "ta_onboard.h"
#include "ta_state.h"

static const char rotate_usage[] =
    "usage: tenantalign rotate --state FILE [--tenant T] [--identity D]\n"
    "                          [--alg rsa2048|rsa3072|ed25519] [--key-dir DIR]\n"
    "                          [--retire-days N] [--now T] SOURCE\n"
    "\n"
    "Starts a DKIM key rotation for each identity (or those named): a new key,\n"
    "pending until tenantalign verify --state FILE sees it published; then\n"
    "compile --state FILE makes it sign, and the old key stays published N days\n"
    "(retiring) before it is revoked. Prints the record to publish.\n"
    "  --state FILE     the state file verify and compile use (required)\n"
    "  --tenant T       only tenant T\n"
    "  --identity D     only identities whose domain (or address) is D\n"
    "  --alg A          the key family to rotate and the new key's kind (default rsa2048)\n"
    "  --key-dir DIR    where the new key goes (default: beside the old one)\n"
    "  --retire-days N  how long the old key stays published (default 7, at least 5)\n"
    "  --now T          the time of the rotation (seconds since 1970, UTC)\n"
    "exit status: 0 rotated, 1 an identity could not be rotated, 2 system error, 64 usage\n";

typedef struct {
    const char    *alg, *key_dir;
    ta_dkim_alg_t  family;
    int64_t        now, retire;
    ta_state_t    *state;
    int            changed;
} rotate_run_t;

/* selector_used - a key of the identity (not revoked) has this selector */
static int
selector_used(const ta_identity_t *id, const char *sel)
{
    size_t i;

    for (i = 0; i < id->nkeys; i++)
        if (id->keys[i].state != TA_KEY_REVOKED && ta_str_eq(id->keys[i].selector, ta_str_cstr(sel)))
            return 1;
    return 0;
}

/* next_selector - the new key's selector: s1/s2 (e1/e2) under CNAME, dated otherwise */
static int
next_selector(const ta_identity_t *id, const rotate_run_t *run, const ta_key_t *prev, char *out,
    size_t size)
{
    const char *pair[2] = { "s1", "s2" };
    time_t      t = (time_t) run->now;
    struct tm   tm;
    char        date[16];
    size_t      len;
    int         c;

    if (run->family == TA_ALG_ED25519_SHA256) {
        pair[0] = "e1";
        pair[1] = "e2";
    }
    if (id->dns == TA_DELEG_CNAME) {
        if (ta_str_eq(prev->selector, ta_str_cstr(pair[0])))
            snprintf(out, size, "%s", pair[1]);
        else if (ta_str_eq(prev->selector, ta_str_cstr(pair[1])))
            snprintf(out, size, "%s", pair[0]);
        else
            snprintf(out, size, "%s", selector_used(id, pair[0]) ? pair[1] : pair[0]);
        return selector_used(id, out) ? -1 : 0;
    }
    gmtime_r(&t, &tm);
    strftime(date, sizeof(date), "%Y%m%d", &tm);
    snprintf(out, size, "%s%s", date, run->family == TA_ALG_ED25519_SHA256 ? "e" : "");
    len = strlen(out);
    for (c = 'b'; selector_used(id, out) && c <= 'z'; c++)
        snprintf(out + len, size - len, "%c", c);
    return selector_used(id, out) ? -1 : 0;
}

/* print_plan - the records of the new key: who publishes what */
static int
print_plan(const ta_identity_t *id, const ta_key_t *nk, const ta_provider_t *pv)
{
    ta_dnsrec_t   *recs = malloc(TA_ONBOARD_MAX * sizeof(*recs));
    ta_identity_t  one = *id;
    char           err[512];
    size_t         n, i;

    one.keys = nk;
    one.nkeys = 1;
    if (recs == NULL || ta_onboard_records(&one, pv, ta_dkimrec_key_public, NULL, recs, TA_ONBOARD_MAX, &n,
                                           err, sizeof(err)) != TA_OK) {
        fprintf(stderr, "tenantalign rotate: %s\n", recs ? err : "out of memory");
        free(recs);
        return TA_EXIT_TEMPFAIL;
    }
    for (i = 0; i < n; i++) {
        const ta_dnsrec_t *r = &recs[i];

        if (r->kind != TA_REC_DKIM || r->key == NULL)
            continue;
        if (r->type == TA_RR_CNAME)
            printf("  customer: nothing to do; their CNAME %s -> %s, published once at onboarding, "
                   "points there (verify checks it)\n", r->owner, r->data);
        else
            printf("  %s publishes: %s 3600 IN TXT ( %s )\n",
                   r->side == TA_SIDE_CUSTOMER ? "the customer" : "the provider", r->owner, r->data);
    }
    free(recs);
    return TA_EXIT_OK;
}

/* rotate_one - start the rotation of one identity's key family */
static int
rotate_one(rotate_run_t *run, const ta_cli_id_t *ci, const ta_provider_t *pv)
{
    const ta_identity_t *id = ci->id;
    const ta_key_t      *prev = NULL;
    ta_state_rotation_t  rot;
    ta_key_t             nk;
    struct stat          st;
    EVP_PKEY            *k;
    char                 name[600], sel[64], path[4096], dirbuf[4096];
    const char          *dir;
    size_t               i;
    int                  rc;

    (void) ta_identity_name(id, name, sizeof(name));
    for (i = 0; i < id->nkeys; i++) {
        const ta_key_t *key = &id->keys[i];

        if (key->alg != run->family || !ta_str_eq(ta_key_d(key, id), id->domain))
            continue;
        if (key->state == TA_KEY_PENDING || key->state == TA_KEY_RETIRING) {
            fprintf(stderr, "tenantalign rotate: tenant %s, identity %s: key %s is %s: one rotation at a "
                    "time (%s)\n", ci->tenant->name.data, name, key->selector.data,
                    ta_key_state_names[key->state], key->state == TA_KEY_PENDING
                    ? "publish it and run verify first" : "rotate again once compile reports it revoked");
            return TA_EXIT_REJECT;
        }
        if (key->state == TA_KEY_ACTIVE || key->state == TA_KEY_UNVERIFIED)
            prev = key;
    }
    if (prev == NULL) {
        fprintf(stderr, "tenantalign rotate: tenant %s, identity %s: no %s key signs for %s: nothing to rotate\n",
                ci->tenant->name.data, name, ta_alg_name(run->family), id->domain.data);
        return TA_EXIT_REJECT;
    }
    if (next_selector(id, run, prev, sel, sizeof(sel)) != 0) {
        fprintf(stderr, "tenantalign rotate: tenant %s, identity %s: selector %s is still in use\n",
                ci->tenant->name.data, name, sel);
        return TA_EXIT_REJECT;
    }
    snprintf(dirbuf, sizeof(dirbuf), "%s", prev->key_file.data);
    dir = run->key_dir ? run->key_dir : dirname(dirbuf);
    snprintf(path, sizeof(path), "%s/%s.%s.%lld.pem", dir, id->domain.data, sel, (long long) run->now);
    if ((rc = ta_cli_new_key(run->alg, path, 0640, &k, "tenantalign rotate")) != TA_EXIT_OK)
        return rc;
    EVP_PKEY_free(k);
    /* the daemons read it as the old key's group does */
    if (stat(prev->key_file.data, &st) == 0 && chown(path, (uid_t) -1, st.st_gid) != 0)
        fprintf(stderr, "tenantalign rotate: warning: %s: cannot give it group %u: %s\n", path,
                (unsigned) st.st_gid, strerror(errno));

    memset(&rot, 0, sizeof(rot));
    rot.identity = ta_str_cstr(name);
    rot.selector = ta_str_cstr(sel);
    rot.file = ta_str_cstr(path);
    rot.alg = run->family;
    rot.created = run->now;
    rot.retire = run->retire;
    if (ta_state_add_rotation(run->state, &rot) != TA_OK) {
        fprintf(stderr, "tenantalign rotate: out of memory\n");
        return TA_EXIT_TEMPFAIL;
    }
    run->changed = 1;

    memset(&nk, 0, sizeof(nk));
    nk.selector = rot.selector;
    nk.key_file = rot.file;
    nk.alg = run->family;
    nk.state = TA_KEY_PENDING;
    printf("tenant %s, identity %s: %s key %s is pending (replaces %s): %s\n", ci->tenant->name.data, name,
           ta_alg_name(run->family), sel, prev->selector.data, path);
    rc = print_plan(id, &nk, pv);
    printf("  then: tenantalign verify --state and compile --state: %s signs once verify sees it; %s stays "
           "published %lld days, then is revoked (p=)\n", sel, prev->selector.data,
           (long long) (run->retire / 86400));
    return rc;
}

/* ta_cmd_rotate - tenantalign rotate */
int
ta_cmd_rotate(int argc, char **argv)
{
    static const struct option opts[] = {
        { "state", required_argument, NULL, 'S' },
        { "tenant", required_argument, NULL, 't' },
        { "identity", required_argument, NULL, 'i' },
        { "alg", required_argument, NULL, 'a' },
        { "key-dir", required_argument, NULL, 'k' },
        { "retire-days", required_argument, NULL, 'r' },
        { "now", required_argument, NULL, 'n' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    rotate_run_t  run;
    ta_cli_ids_t  ids;
    const char   *state_path = NULL, *tenant = NULL, *identity = NULL, *now_arg = NULL;
    long          days = 7;
    size_t        i;
    int           c, rc, worst = TA_EXIT_OK;

    memset(&run, 0, sizeof(run));
    run.alg = "rsa2048";
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'S': state_path = optarg; break;
        case 't': tenant = optarg; break;
        case 'i': identity = optarg; break;
        case 'a': run.alg = optarg; break;
        case 'k': run.key_dir = optarg; break;
        case 'r': days = strtol(optarg, NULL, 10); break;
        case 'n': now_arg = optarg; break;
        case 'h': fputs(rotate_usage, stdout); return TA_EXIT_OK;
        default: fputs(rotate_usage, stderr); return TA_EXIT_USAGE;
        }
    }
    if (state_path == NULL || argc - optind != 1 || days < 5 || days > 365
        || (strcmp(run.alg, "rsa2048") && strcmp(run.alg, "rsa3072") && strcmp(run.alg, "ed25519"))) {
        if (days < 5)
            fprintf(stderr, "tenantalign rotate: --retire-days is at least 5: mail signed with the old "
                    "key may wait that long in queues\n");
        fputs(rotate_usage, stderr);
        return TA_EXIT_USAGE;
    }
    run.family = run.alg[0] == 'r' ? TA_ALG_RSA_SHA256 : TA_ALG_ED25519_SHA256;
    run.retire = (int64_t) days * 86400;
    if ((rc = ta_cli_now(now_arg, &run.now, "tenantalign rotate")) != TA_EXIT_OK
        || (rc = ta_cli_lock(state_path, "tenantalign rotate")) != TA_EXIT_OK
        || (rc = ta_cli_state_load(state_path, 0, &run.state, "tenantalign rotate")) != TA_EXIT_OK)
        return rc;
    rc = ta_cli_identities(NULL, argv[optind], run.state, run.now, tenant, identity, &ids,
                           "tenantalign rotate");
    if (rc == TA_EXIT_OK && ids.n == 0) {
        fprintf(stderr, "tenantalign rotate: no identity matched\n");
        rc = TA_EXIT_REJECT;
    }
    for (i = 0; rc == TA_EXIT_OK && i < ids.n; i++) {
        int r = rotate_one(&run, &ids.v[i], ta_cli_provider(&ids));

        if (r == TA_EXIT_TEMPFAIL)
            worst = r;
        else if (r != TA_EXIT_OK && worst == TA_EXIT_OK)
            worst = r;
    }
    if (rc == TA_EXIT_OK)
        rc = worst;
    /* the rotations made are kept, whatever happened to the others */
    if (run.changed && ta_cli_state_save(state_path, run.state, "tenantalign rotate") != TA_EXIT_OK)
        rc = TA_EXIT_TEMPFAIL;
    ta_cli_identities_free(&ids);
    ta_state_free(run.state);
    ta_keys_flush();
    return rc;
}

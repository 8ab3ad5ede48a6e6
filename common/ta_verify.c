/*
 * NAME
 *	ta_verify 3
 * SUMMARY
 *	what DNS really says about an identity's records, check by check
 * DESCRIPTION
 *	See ta_verify.h. Every query goes through ta_dns (bounded tries and
 *	timeouts); the parsing is ta_dkimrec's, ta_dmarc's and ta_spf's.
 * STANDARDS
 *	RFC 6376 3.6.2.2 (key record lookup), RFC 7208 (SPF), RFC 7489 6.6.3
 *	(DMARC policy discovery).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ta_dmarc.h"
#include "ta_orgdomain.h"
#include "ta_spf.h"
#include "ta_verify.h"

const char *const ta_chk_names[] = { "OK", "WARN", "TEMP", "FAIL" };

/* check - a new check of the report (the last one is reused when full) */
static ta_check_t *
check(ta_verify_report_t *rep, const char *what, const char *name)
{
    ta_check_t *c = &rep->c[rep->n < TA_VERIFY_MAX ? rep->n++ : TA_VERIFY_MAX - 1];

    memset(c, 0, sizeof(*c));
    snprintf(c->what, sizeof(c->what), "%s", what);
    snprintf(c->name, sizeof(c->name), "%s", name);
    return c;
}

/* say - a check's status, what was found and the fix */
static void
say(ta_check_t *c, ta_chk_t status, const char *fix, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
say(ta_check_t *c, ta_chk_t status, const char *fix, const char *fmt, ...)
{
    va_list ap;

    c->status = status;
    va_start(ap, fmt);
    vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
    va_end(ap);
    snprintf(c->fix, sizeof(c->fix), "%s", fix ? fix : "");
}

/* bare - a planned name or target without its final dot */
static void
bare(const char *in, char *out, size_t size)
{
    size_t n = strlen(in);

    if (n > 0 && in[n - 1] == '.')
        n--;
    snprintf(out, size, "%.*s", (int) n, in);
}

/* txt - record i of a TXT answer, NUL bytes inside it included */
static ta_str_t
txt(const ta_dns_answer_t *ans, size_t i)
{
    return ta_str(ans->data[i], ans->len[i] < sizeof(ans->data[i]) ? ans->len[i] : sizeof(ans->data[i]) - 1);
}

/* dns_trouble - the status and words for a failed query */
static ta_chk_t
dns_trouble(ta_dns_rc_t rc)
{
    return rc == TA_DNS_TEMP ? TA_CHK_TEMP : TA_CHK_FAIL;
}

/* publish_fix - "publish NAME TYPE DATA" */
static void
publish_fix(const ta_dnsrec_t *r, char *buf, size_t size)
{
    snprintf(buf, size, "publish %s %s %s", r->owner, ta_rr_type_names[r->type], r->data);
}

/* verify_pointer - a CNAME, MX or NS the plan says must be at a name */
static void
verify_pointer(ta_dns_t *dns, const ta_dnsrec_t *r, const char *what, ta_verify_report_t *rep)
{
    static const int  types[] = { TA_DNS_TXT, TA_DNS_CNAME, TA_DNS_MX, TA_DNS_NS };
    ta_dns_answer_t  *ans = malloc(sizeof(*ans));
    char              name[256], want[256], fix[TA_DKIMREC_TEXT_SIZE + 300];
    const char       *host;
    ta_check_t       *c;
    ta_dns_rc_t       rc;
    size_t            i;
    int               spare = r->kind == TA_REC_DKIM && r->key == NULL;

    bare(r->owner, name, sizeof(name));
    c = check(rep, what, name);
    if (ans == NULL) {
        say(c, TA_CHK_TEMP, NULL, "out of memory");
        return;
    }
    /* MX data is "PREF HOST.": the host is compared */
    host = r->type == TA_RR_MX && strchr(r->data, ' ') ? strchr(r->data, ' ') + 1 : r->data;
    bare(host, want, sizeof(want));
    publish_fix(r, fix, sizeof(fix));
    rc = ta_dns_query_raw(dns, name, types[r->type], ans);
    if (rc != TA_DNS_OK) {
        /* the next rotation's CNAME (no key behind it yet) is wanted, not needed */
        say(c, rc == TA_DNS_NXDOMAIN || rc == TA_DNS_NODATA ? (spare ? TA_CHK_WARN : TA_CHK_FAIL)
                                                            : dns_trouble(rc), fix,
            "no %s record: %s%s", ta_rr_type_names[r->type], ans->why[0] ? ans->why : ta_dns_rc_name(rc),
            spare ? " (the next key rotation's selector: without it, rotations need the customer)" : "");
        free(ans);
        return;
    }
    for (i = 0; i < ans->n; i++) {
        if (strcasecmp(ans->data[i], want) == 0) {
            say(c, TA_CHK_OK, NULL, "%s %s", ta_rr_type_names[r->type], want);
            free(ans);
            return;
        }
    }
    say(c, TA_CHK_FAIL, fix, "%s points to %s, not %s", ta_rr_type_names[r->type],
        ans->n ? ans->data[0] : "nothing", want);
    free(ans);
}

/* verify_key - the key record at SEL._domainkey.D, following CNAMEs */
static void
verify_key(ta_dns_t *dns, const ta_dnsrec_t *r, const char *lookup, ta_onboard_pub_fn pub,
    void *ctx, ta_verify_report_t *rep)
{
    const ta_key_t  *k = r->key;
    ta_dns_answer_t *ans = malloc(sizeof(*ans));
    ta_dkimrec_t    *rec = malloc(sizeof(*rec));
    unsigned char    mine[TA_DKIMREC_KEY_MAX];
    size_t           mine_len = 0;
    char             what[80], fix[TA_DKIMREC_TEXT_SIZE + 300], err[256];
    const char      *why;
    ta_check_t      *c;
    ta_dns_rc_t      rc;

    snprintf(what, sizeof(what), "dkim %.*s", (int) k->selector.len, k->selector.data);
    c = check(rep, what, lookup);
    c->key = k;
    if (ans == NULL || rec == NULL) {
        say(c, TA_CHK_TEMP, NULL, "out of memory");
        goto done;
    }
    publish_fix(r, fix, sizeof(fix));
    rc = ta_dns_query(dns, lookup, TA_DNS_TXT, ans);
    if (rc == TA_DNS_NXDOMAIN || rc == TA_DNS_NODATA) {
        if (k->state == TA_KEY_REVOKED)
            say(c, TA_CHK_OK, NULL, "revoked key no longer published");
        else if (k->state == TA_KEY_PENDING)
            say(c, TA_CHK_WARN, fix, "pending key not published yet: it cannot become active");
        else if (k->state == TA_KEY_UNVERIFIED)
            say(c, TA_CHK_FAIL, fix, "no key record: this key cannot sign until it is published (%s)", ans->why);
        else
            say(c, TA_CHK_FAIL, fix, "no key record: receivers fail DKIM for this key (%s)", ans->why);
        goto done;
    }
    if (rc != TA_DNS_OK) {
        say(c, dns_trouble(rc), rc == TA_DNS_TEMP ? NULL : fix, "%s", ans->why);
        goto done;
    }
    if (ans->n > 1) {
        say(c, TA_CHK_FAIL, "keep exactly one TXT record at this name",
            "%zu TXT records at the key's name: receivers may read either", ans->n);
        goto done;
    }
    if (ans->partial) {
        say(c, TA_CHK_TEMP, NULL, "the key record was cut (over %zu octets)", sizeof(ans->data[0]) - 1);
        goto done;
    }
    if (ta_dkimrec_parse(txt(ans, 0).data, txt(ans, 0).len, rec, &why) != TA_OK) {
        say(c, TA_CHK_FAIL, fix, "the key record does not parse: %s", why);
        goto done;
    }
    if (rec->revoked) {
        c->revoked_seen = 1;
        if (k->state == TA_KEY_REVOKED)
            say(c, TA_CHK_OK, NULL, "revoked (p= empty): safe to remove from DNS");
        else
            say(c, TA_CHK_FAIL, fix, "the published record is revoked (p= empty) but the key is %s",
                ta_key_state_names[k->state]);
        goto done;
    }
    if (k->state == TA_KEY_REVOKED) {
        say(c, TA_CHK_WARN, fix, "a revoked key is still published in full: publish it as p=");
        goto done;
    }
    if (pub(ctx, k, mine, sizeof(mine), &mine_len, err, sizeof(err)) != TA_OK) {
        say(c, TA_CHK_TEMP, NULL, "%s", err);
        goto done;
    }
    if (rec->alg != (int) k->alg || rec->key_len != mine_len || memcmp(rec->key, mine, mine_len) != 0) {
        say(c, TA_CHK_FAIL, fix, "the published key is not ours (another key, or another algorithm)");
        goto done;
    }
    c->published = 1;
    if (rec->testing)
        say(c, TA_CHK_WARN, "remove t=y once testing is over", "our key, published with t=y (testing)");
    else if (rec->hash_refused)
        say(c, TA_CHK_FAIL, fix, "our key, but h= leaves out sha256: our signatures fail");
    else
        say(c, TA_CHK_OK, NULL, "%s", k->state == TA_KEY_PENDING ? "our key is published: ready to activate"
                                    : k->state == TA_KEY_UNVERIFIED ? "our key is published: it signs after the next compile"
                                    : "our key is published");
done:
    free(ans);
    free(rec);
}

/* spf_resolve - ta_spf's questions, asked through ta_dns */
static ta_spf_rcode_t
spf_resolve(void *ctx, ta_spf_qtype_t type, const char *name, char out[][TA_SPF_ROW], size_t max,
    size_t *n)
{
    static const int types[] = { TA_DNS_TXT, TA_DNS_A, TA_DNS_AAAA, TA_DNS_MX, TA_DNS_PTR };
    ta_dns_answer_t *ans = malloc(sizeof(*ans));
    ta_dns_rc_t      rc;
    size_t           i;

    *n = 0;
    if (ans == NULL)
        return TA_SPF_R_TEMP;
    rc = ta_dns_query(ctx, name, types[type], ans);
    if (rc == TA_DNS_OK && ans->partial)
        rc = TA_DNS_TEMP;       /* a record cut, or records dropped: no verdict on it */
    for (i = 0; rc == TA_DNS_OK && i < ans->n && i < max; i++) {
        ta_str_t t = txt(ans, i);
        size_t   k;

        /* a NUL inside a record is kept as a byte SPF refuses (0x7f), not an end */
        for (k = 0; k < t.len && k < TA_SPF_ROW - 1; k++)
            out[*n][k] = t.data[k] == '\0' ? (char) 0x7f : t.data[k];
        out[(*n)++][k] = '\0';
    }
    free(ans);
    return rc == TA_DNS_OK ? TA_SPF_R_OK : rc == TA_DNS_NXDOMAIN ? TA_SPF_R_NXDOMAIN
         : rc == TA_DNS_NODATA ? TA_SPF_R_NODATA : TA_SPF_R_TEMP;
}

/* verify_spf - the return path's SPF authorises every egress address */
static void
verify_spf(ta_dns_t *dns, const char *rp, const ta_provider_t *pv, ta_verify_report_t *rep)
{
    ta_spf_outcome_t out;
    ta_ip_t          ip;
    ta_check_t      *c;
    char             fix[600], ipt[64];
    size_t           i;

    snprintf(fix, sizeof(fix), "publish %s TXT \"v=spf1 include:%s -all\"", rp,
             pv->spf_include.len ? pv->spf_include.data : "SPF-OF-THE-PROVIDER");
    if (pv->negress == 0) {
        c = check(rep, "spf", rp);
        say(c, TA_CHK_WARN, "list the provider's egress addresses in provider { egress ...; }",
            "no egress addresses to check the SPF record against");
        return;
    }
    for (i = 0; i < pv->negress; i++) {
        snprintf(ipt, sizeof(ipt), "%.*s", (int) pv->egress[i].len, pv->egress[i].data);
        c = check(rep, "spf", rp);
        if (ta_ip_parse(ipt, &ip) != TA_OK) {
            say(c, TA_CHK_FAIL, NULL, "egress %s is not an address", ipt);
            continue;
        }
        ta_spf_check(rp, &ip, NULL, spf_resolve, dns, &out);
        if (out.result == TA_SPF_PASS)
            say(c, TA_CHK_OK, NULL, "%s passes (%u DNS lookups, %u void)", ipt, out.lookups, out.void_lookups);
        else
            say(c, out.result == TA_SPF_TEMPERROR ? TA_CHK_TEMP : TA_CHK_FAIL, fix,
                "%s gets %s: %s (%u DNS lookups of 10, %u void of 2)", ipt,
                ta_spf_result_name(out.result), out.why, out.lookups, out.void_lookups);
    }
}

/* dmarc_at - the DMARC record at _dmarc.DOMAIN: TA_OK, TA_NOTFOUND, or a failed check */
static int
dmarc_at(ta_dns_t *dns, ta_str_t domain, ta_check_t *c, ta_dmarc_t *d)
{
    ta_dns_answer_t *ans = malloc(sizeof(*ans));
    ta_str_t         txts[TA_DNS_MAX_RRS];
    char             name[300];
    const char      *why;
    size_t           i, pick;
    ta_dns_rc_t      rc;
    int              r = TA_ESYSTEM;

    if (ans == NULL) {
        say(c, TA_CHK_TEMP, NULL, "out of memory");
        return TA_ESYSTEM;
    }
    snprintf(name, sizeof(name), "_dmarc.%.*s", (int) domain.len, domain.data);
    rc = ta_dns_query(dns, name, TA_DNS_TXT, ans);
    if (rc == TA_DNS_NXDOMAIN || rc == TA_DNS_NODATA) {
        r = TA_NOTFOUND;
    } else if (rc != TA_DNS_OK) {
        say(c, dns_trouble(rc), NULL, "%s: %s", name, ans->why);
    } else {
        for (i = 0; i < ans->n; i++)
            txts[i] = txt(ans, i);
        r = ta_dmarc_pick(txts, ans->n, &pick, &why);
        if (r == TA_EINPUT) {
            say(c, TA_CHK_FAIL, "keep one DMARC record", "%s: %s", name, why);
            c->dmarc_seen = TA_DSEEN_MULTIPLE;
            r = TA_ESYSTEM;
        } else if (r == TA_OK && ta_dmarc_parse(txts[pick].data, txts[pick].len, d, &why) != TA_OK) {
            say(c, TA_CHK_FAIL, "correct the record (RFC 7489 6.4)", "%s: %s", name, why);
            c->dmarc_seen = TA_DSEEN_INVALID;
            r = TA_ESYSTEM;
        }
    }
    snprintf(c->name, sizeof(c->name), "%.255s", name);
    free(ans);
    return r;
}

/* verify_dmarc - the From domain's DMARC record, or its organizational domain's */
static void
verify_dmarc(ta_dns_t *dns, const ta_identity_t *id, const ta_dnsrec_t *suggestion,
    ta_verify_report_t *rep)
{
    static const char *const policies[] = { "none", "quarantine", "reject" };
    ta_check_t *c = check(rep, "dmarc", "");
    ta_dmarc_t  d;
    ta_str_t    org;
    char        fix[TA_DKIMREC_TEXT_SIZE + 300];
    int         r;

    r = dmarc_at(dns, id->domain, c, &d);
    if (r == TA_NOTFOUND && ta_orgdomain(id->domain, &org) == TA_OK && !ta_str_eq(org, id->domain))
        r = dmarc_at(dns, org, c, &d);
    if (r == TA_ESYSTEM)
        return;
    if (r == TA_NOTFOUND) {
        c->dmarc_seen = TA_DSEEN_NONE;
        publish_fix(suggestion, fix, sizeof(fix));
        say(c, id->require_dmarc ? TA_CHK_FAIL : TA_CHK_WARN, fix,
            "no DMARC record at the From domain or its organizational domain%s",
            id->require_dmarc ? ": require_dmarc refuses its mail" : ": Gmail and Yahoo require one of bulk senders");
        return;
    }
    c->dmarc_seen = TA_DSEEN_FOUND;
    c->dmarc_adkim_strict = d.adkim_strict;
    c->dmarc_aspf_strict = d.aspf_strict;
    say(c, TA_CHK_OK, NULL, "p=%s%s%s%s%s", policies[d.p], d.adkim_strict ? ", adkim=s (strict DKIM alignment)" : "",
        d.aspf_strict ? ", aspf=s (strict SPF alignment)" : "", d.p_defaulted ? " (p defaulted)" : "",
        d.testing ? ", t=y" : "");
}

/* ta_verify_identity - every check of one identity */
int
ta_verify_identity(ta_dns_t *dns, const ta_identity_t *id, const ta_provider_t *pv,
    ta_onboard_pub_fn pub, void *ctx, ta_verify_report_t *rep)
{
    ta_dnsrec_t *plan = malloc(TA_ONBOARD_MAX * sizeof(*plan));
    char         err[512], name[256], target[256];
    const char  *rp = NULL;
    size_t       n, i, j;

    memset(rep, 0, sizeof(*rep));
    if (plan == NULL || ta_onboard_records(id, pv, pub, ctx, plan, TA_ONBOARD_MAX, &n, err,
                                           sizeof(err)) != TA_OK) {
        say(check(rep, "plan", ""), TA_CHK_TEMP, NULL, "%s", plan ? err : "out of memory");
        rep->worst = TA_CHK_TEMP;
        free(plan);
        return TA_ESYSTEM;
    }
    for (i = 0; i < n; i++) {
        const ta_dnsrec_t *r = &plan[i];

        switch (r->kind) {
        case TA_REC_DELEGATION:
            /* one check for all the name servers: the first planned one */
            if (i == 0 || plan[i - 1].kind != TA_REC_DELEGATION)
                verify_pointer(dns, r, "delegation", rep);
            break;
        case TA_REC_DKIM:
            if (r->type == TA_RR_CNAME) {
                verify_pointer(dns, r, "cname", rep);
                break;
            }
            /* the key is looked up where receivers look: SEL._domainkey.D */
            snprintf(target, sizeof(target), "%.*s._domainkey.%.*s", (int) r->key->selector.len,
                     r->key->selector.data, (int) ta_key_d(r->key, id).len, ta_key_d(r->key, id).data);
            verify_key(dns, r, target, pub, ctx, rep);
            break;
        case TA_REC_RETURN_PATH:
            /* the customer's CNAME, or the MX where the return path resolves */
            verify_pointer(dns, r, "return path", rep);
            if (rp == NULL) {
                bare(r->owner, name, sizeof(name));
                rp = name;
            }
            break;
        case TA_REC_SPF:
        case TA_REC_DMARC:
            break;
        }
    }
    if (rp != NULL && id->return_path.len) {
        snprintf(target, sizeof(target), "%.*s", (int) id->return_path.len, id->return_path.data);
        verify_spf(dns, target, pv, rep);
    }
    for (j = 0; j < n; j++)
        if (plan[j].kind == TA_REC_DMARC)
            verify_dmarc(dns, id, &plan[j], rep);
    for (i = 0; i < rep->n; i++)
        if (rep->c[i].status > rep->worst)
            rep->worst = rep->c[i].status;
    free(plan);
    return TA_OK;
}

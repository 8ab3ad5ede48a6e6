/*
 * NAME
 *	ta_onboard 3
 * SUMMARY
 *	the DNS records an identity needs, for its delegation mode
 * DESCRIPTION
 *	See ta_onboard.h. Names are built here from validated parts (the
 *	store's domains are A-labels, selectors are checked at compile), and
 *	every name is bounded: one that would pass 253 octets is an error.
 * STANDARDS
 *	RFC 6376 3.6.2.1 (SEL._domainkey.D), RFC 7208 (the return path's SPF),
 *	RFC 7489 6.1 (_dmarc.D), RFC 1034 (CNAME, NS delegation).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ta_onboard.h"
#include "ta_orgdomain.h"

const char *const ta_rr_type_names[] = { "TXT", "CNAME", "MX", "NS" };

typedef struct {
    ta_dnsrec_t *out;
    size_t       max, n;
    int          full;
} plan_t;

/* add - one record; its owner from a format (an absolute name is made of it) */
static ta_dnsrec_t *
add(plan_t *pl, ta_rec_kind_t kind, ta_side_t side, ta_rr_type_t type, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static ta_dnsrec_t *
add(plan_t *pl, ta_rec_kind_t kind, ta_side_t side, ta_rr_type_t type, const char *fmt, ...)
{
    ta_dnsrec_t *r;
    va_list      ap;
    int          n;

    if (pl->n == pl->max) {
        pl->full = 1;
        return NULL;
    }
    r = &pl->out[pl->n];
    memset(r, 0, sizeof(*r));
    r->kind = kind;
    r->side = side;
    r->type = type;
    va_start(ap, fmt);
    n = vsnprintf(r->owner, sizeof(r->owner) - 1, fmt, ap);
    va_end(ap);
    if (n < 0 || n > 253) {
        pl->full = 1;
        return NULL;
    }
    r->owner[n] = '.';
    r->owner[n + 1] = '\0';
    pl->n++;
    return r;
}

/* key_record - a key's TXT record: its public half, or "p=" once revoked */
static int
key_record(ta_dnsrec_t *r, const ta_key_t *k, ta_onboard_pub_fn pub, void *ctx,
    char *err, size_t errlen)
{
    static const char *const states[] = { "pending: publish now, it signs once verify sees it",
        "active", "retiring: keep it published while mail signed with it may still be verified",
        "revoked: safe to remove once verify reports it",
        "active, not verified yet: publish it; it signs once verify sees it" };
    unsigned char bytes[TA_DKIMREC_KEY_MAX];
    size_t        len = 0;

    r->key = k;
    snprintf(r->note, sizeof(r->note), "%s", states[k->state]);
    if (k->state != TA_KEY_REVOKED && pub(ctx, k, bytes, sizeof(bytes), &len, err, errlen) != TA_OK)
        return TA_ESYSTEM;
    if (ta_dkimrec_text(k->alg, bytes, len, k->state == TA_KEY_REVOKED, r->data, sizeof(r->data),
                        NULL, NULL) == 0) {
        snprintf(err, errlen, "key %.*s: public key too long for a record",
                 (int) k->selector.len, k->selector.data);
        return TA_ESYSTEM;
    }
    return TA_OK;
}

/* return_path - RP's records: a CNAME to the provider's host, or MX and SPF at owner */
static void
return_path(plan_t *pl, ta_side_t side, const char *owner, const ta_provider_t *pv)
{
    ta_dnsrec_t *r;

    if (pv->return_path_cname.len) {
        if ((r = add(pl, TA_REC_RETURN_PATH, side, TA_RR_CNAME, "%s", owner)) != NULL)
            snprintf(r->data, sizeof(r->data), "%s.", pv->return_path_cname.data);
        return;
    }
    if (pv->return_path_mx.len == 0)
        return;
    if ((r = add(pl, TA_REC_RETURN_PATH, side, TA_RR_MX, "%s", owner)) != NULL)
        snprintf(r->data, sizeof(r->data), "%u %s.", pv->return_path_mx_pref, pv->return_path_mx.data);
    if ((r = add(pl, TA_REC_SPF, side, TA_RR_TXT, "%s", owner)) != NULL)
        snprintf(r->data, sizeof(r->data), "\"v=spf1 include:%s -all\"", pv->spf_include.data);
}

/* dmarc - the suggested DMARC record: monitoring only, reports to the provider */
static void
dmarc(plan_t *pl, ta_side_t side, ta_str_t domain, const ta_provider_t *pv)
{
    ta_dnsrec_t *r = add(pl, TA_REC_DMARC, side, TA_RR_TXT, "_dmarc.%.*s", (int) domain.len, domain.data);

    if (r == NULL)
        return;
    r->suggestion = 1;
    snprintf(r->note, sizeof(r->note), "suggested: publish only if the domain has no DMARC record");
    if (pv->dmarc_rua.len)
        snprintf(r->data, sizeof(r->data), "\"v=DMARC1; p=none; rua=%s\"", pv->dmarc_rua.data);
    else
        snprintf(r->data, sizeof(r->data), "\"v=DMARC1; p=none\"");
}

/* has_selector - a key of the identity's own domain uses selector sel */
static int
has_selector(const ta_identity_t *id, const char *sel)
{
    size_t i;

    for (i = 0; i < id->nkeys; i++)
        if (ta_str_eq(id->keys[i].selector, ta_str_cstr(sel)) && ta_str_eq(ta_key_d(&id->keys[i], id), id->domain))
            return 1;
    return 0;
}

/*
 * spare_selectors - under CNAME delegation, the customer's CNAME for the
 * selector the next rotation takes (s1/s2 for RSA, e1/e2 for Ed25519,
 * as `tenantalign rotate` alternates them): published once with the
 * first, so that no rotation ever needs the customer again.
 */
static void
spare_selectors(plan_t *pl, const ta_identity_t *id, const ta_provider_t *pv)
{
    static const char *const pairs[][2] = { { "s1", "s2" }, { "e1", "e2" } };
    ta_dnsrec_t *r;
    size_t       p, j;

    for (p = 0; p < 2; p++)
        for (j = 0; j < 2; j++) {
            const char *spare = pairs[p][1 - j];

            if (!has_selector(id, pairs[p][j]) || has_selector(id, spare))
                continue;
            r = add(pl, TA_REC_DKIM, TA_SIDE_CUSTOMER, TA_RR_CNAME, "%s._domainkey.%.*s", spare,
                    (int) id->domain.len, id->domain.data);
            if (r == NULL)
                return;
            snprintf(r->data, sizeof(r->data), "%s.%.*s.%s.", spare, (int) id->domain.len, id->domain.data,
                     pv->cname_zone.data);
            snprintf(r->note, sizeof(r->note), "the next rotation's selector: once, nothing to do later");
        }
}

/* ta_onboard_records - every record the identity needs */
int
ta_onboard_records(const ta_identity_t *id, const ta_provider_t *pv, ta_onboard_pub_fn pub,
    void *ctx, ta_dnsrec_t *out, size_t max, size_t *n, char *err, size_t errlen)
{
    plan_t       pl = { out, max, 0, 0 };
    ta_dnsrec_t *r;
    size_t       i;
    char         rp[256];
    ta_side_t    keys_side = id->dns == TA_DELEG_MANUAL ? TA_SIDE_CUSTOMER : TA_SIDE_PROVIDER;
    int          rp_in_zone;

    *n = 0;
    /* delegation first: nothing below resolves until it is in place */
    if (id->dns == TA_DELEG_NS)
        for (i = 0; i < pv->nns; i++)
            if ((r = add(&pl, TA_REC_DELEGATION, TA_SIDE_CUSTOMER, TA_RR_NS, "%.*s",
                         (int) id->domain.len, id->domain.data)) != NULL)
                snprintf(r->data, sizeof(r->data), "%s.", pv->ns[i].data);

    for (i = 0; i < id->nkeys; i++) {
        const ta_key_t *k = &id->keys[i];
        ta_str_t        d = ta_key_d(k, id);

        if (id->dns == TA_DELEG_CNAME) {
            if ((r = add(&pl, TA_REC_DKIM, TA_SIDE_CUSTOMER, TA_RR_CNAME, "%.*s._domainkey.%.*s",
                         (int) k->selector.len, k->selector.data, (int) d.len, d.data)) != NULL) {
                r->key = k;
                snprintf(r->data, sizeof(r->data), "%.*s.%.*s.%s.", (int) k->selector.len,
                         k->selector.data, (int) d.len, d.data, pv->cname_zone.data);
                snprintf(r->note, sizeof(r->note), "once, for every rotation to come");
            }
            r = add(&pl, TA_REC_DKIM, TA_SIDE_PROVIDER, TA_RR_TXT, "%.*s.%.*s.%s",
                    (int) k->selector.len, k->selector.data, (int) d.len, d.data, pv->cname_zone.data);
        } else {
            r = add(&pl, TA_REC_DKIM, keys_side, TA_RR_TXT, "%.*s._domainkey.%.*s",
                    (int) k->selector.len, k->selector.data, (int) d.len, d.data);
        }
        if (r != NULL && key_record(r, k, pub, ctx, err, errlen) != TA_OK)
            return TA_ESYSTEM;
    }

    if (id->dns == TA_DELEG_CNAME)
        spare_selectors(&pl, id, pv);

    if (id->return_path.len) {
        snprintf(rp, sizeof(rp), "%.*s", (int) id->return_path.len, id->return_path.data);
        rp_in_zone = ta_domain_within(id->return_path, id->domain);
        if (id->dns == TA_DELEG_CNAME && pv->return_path_cname.len == 0) {
            if ((r = add(&pl, TA_REC_RETURN_PATH, TA_SIDE_CUSTOMER, TA_RR_CNAME, "%s", rp)) != NULL)
                snprintf(r->data, sizeof(r->data), "%s.%s.", rp, pv->cname_zone.data);
            snprintf(rp, sizeof(rp), "%.*s.%s", (int) id->return_path.len, id->return_path.data,
                     pv->cname_zone.data);
            return_path(&pl, TA_SIDE_PROVIDER, rp, pv);
        } else {
            return_path(&pl, id->dns == TA_DELEG_NS && rp_in_zone ? TA_SIDE_PROVIDER : TA_SIDE_CUSTOMER,
                        rp, pv);
        }
    }

    dmarc(&pl, id->dns == TA_DELEG_NS ? TA_SIDE_PROVIDER : TA_SIDE_CUSTOMER, id->domain, pv);

    if (pl.full) {
        snprintf(err, errlen, "identity %.*s: more than %zu records, or a name over 253 octets",
                 (int) id->domain.len, id->domain.data, max);
        return TA_EINPUT;
    }
    *n = pl.n;
    return TA_OK;
}

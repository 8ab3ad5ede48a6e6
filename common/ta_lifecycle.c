/*
 * NAME
 *	ta_lifecycle 3
 * SUMMARY
 *	effective key states: source, verify's answers and rotations combined
 * DESCRIPTION
 *	See ta_lifecycle.h. The rotation rule is kept monotonic in time: once
 *	verify has seen a new key, its predecessor's retirement runs on a
 *	clock that nothing later resets, so a key is never revoked and then
 *	made to sign again.
 */
#include <stdio.h>
#include <string.h>

#include "ta_conf.h"
#include "ta_lifecycle.h"

/* seen_published - verify's last answer for key k (fingerprint f) is "published";
 * *first gets the first time it was */
static int
seen_published(const ta_state_t *st, const ta_identity_t *id, const ta_key_t *k, const char *f,
    int64_t *first)
{
    const ta_state_key_t *sk = st ? ta_state_key(st, ta_key_d(k, id), k->selector, f) : NULL;

    *first = sk ? sk->first_ok : 0;
    return sk != NULL && sk->seen == TA_SEEN_PUBLISHED;
}

/* own_d - the key signs for the identity's own domain (a rotation's keys do) */
static int
own_d(const ta_key_t *k, const ta_identity_t *id)
{
    return ta_str_caseeq(ta_key_d(k, id), id->domain);
}

/* ta_lifecycle_keys - the identity's keys in their effective states */
int
ta_lifecycle_keys(const ta_identity_t *id, ta_str_t name, const ta_state_t *st, int64_t now,
    ta_fpr_fn fpr, void *ctx, ta_key_t *out, ta_lifecycle_note_t *notes, size_t max, size_t *n,
    char *err, size_t errlen)
{
    const ta_state_rotation_t *rot[TA_LIFECYCLE_MAX];
    size_t                     i, j, nrot, m = 0;
    int64_t                    first;

    *n = 0;
    /* 1. the source's keys; active ones sign once verified (dns_check) */
    for (i = 0; i < id->nkeys; i++) {
        if (m == max) {
            snprintf(err, errlen, "more than %zu keys", max);
            return TA_EINPUT;
        }
        out[m] = id->keys[i];
        memset(&notes[m], 0, sizeof(notes[m]));
        notes[m].why = "as the source says";
        if (out[m].state != TA_KEY_REVOKED
            && fpr(ctx, &out[m], notes[m].fpr, err, errlen) != TA_OK)
            return TA_ESYSTEM;
        if (out[m].state == TA_KEY_ACTIVE && id->dns_check) {
            if (seen_published(st, id, &out[m], notes[m].fpr, &first)) {
                notes[m].why = "verified in DNS";
            } else {
                out[m].state = TA_KEY_UNVERIFIED;
                notes[m].why = first ? "no longer seen in DNS (tenantalign verify)"
                                     : "not seen in DNS yet (tenantalign verify)";
            }
        }
        m++;
    }

    /* 2. rotations, oldest first */
    nrot = st ? ta_state_rotations(st, name, rot, TA_LIFECYCLE_MAX) : 0;
    if (nrot > TA_LIFECYCLE_MAX) {
        snprintf(err, errlen, "more than %d rotations recorded", TA_LIFECYCLE_MAX);
        return TA_EINPUT;
    }
    for (j = 0; j < nrot; j++) {
        const ta_state_rotation_t *r = rot[j];
        ta_key_t                   nk;
        ta_lifecycle_note_t        nn;
        size_t                     prev = m;
        int                        published;

        memset(&nk, 0, sizeof(nk));
        memset(&nn, 0, sizeof(nn));
        nk.selector = r->selector;
        nk.key_file = r->file;
        nk.alg = r->alg;
        nn.rotated = 1;
        if (fpr(ctx, &nk, nn.fpr, err, errlen) != TA_OK)
            return TA_ESYSTEM;
        /* the predecessor: the last key of this algorithm that was active or
         * stood for it (unverified) before this rotation */
        for (i = 0; i < m; i++)
            if (out[i].alg == r->alg && own_d(&out[i], id)
                && (out[i].state == TA_KEY_ACTIVE || out[i].state == TA_KEY_UNVERIFIED))
                prev = i;
        published = seen_published(st, id, &nk, nn.fpr, &first);
        if (first != 0) {
            /* the rotation happened when verify first saw the new key */
            nk.state = published ? TA_KEY_ACTIVE : TA_KEY_UNVERIFIED;
            nn.why = nk.state == TA_KEY_ACTIVE ? "rotated in: verified in DNS"
                                                : "rotated in, no longer seen in DNS (tenantalign verify)";
            if (prev < m) {
                notes[prev].until = first + r->retire;
                if (now < notes[prev].until) {
                    out[prev].state = TA_KEY_RETIRING;
                    notes[prev].why = "retiring: its successor is verified";
                } else {
                    out[prev].state = TA_KEY_REVOKED;
                    notes[prev].why = "revoked: its retiring window is over";
                }
            }
        } else {
            nk.state = TA_KEY_PENDING;
            nn.why = "pending: publish it, then tenantalign verify";
        }
        /* the new key takes the place of an earlier key with its selector */
        for (i = 0; i < m; i++)
            if (ta_str_caseeq(out[i].selector, nk.selector) && own_d(&out[i], id))
                break;
        if (i == m && m == max) {
            snprintf(err, errlen, "more than %zu keys", max);
            return TA_EINPUT;
        }
        out[i] = nk;
        notes[i] = nn;
        if (i == m)
            m++;
    }
    *n = m;
    return TA_OK;
}

/* ta_lifecycle_dmarc - the identity's DMARC facts from the state */
void
ta_lifecycle_dmarc(ta_identity_t *id, const ta_state_t *st)
{
    const ta_state_dmarc_t *sd = st ? ta_state_dmarc(st, id->domain) : NULL;

    id->dmarc = TA_IDDMARC_UNKNOWN;
    id->dmarc_adkim_strict = 0;
    id->dmarc_aspf_strict = 0;
    if (sd == NULL)
        return;
    switch (sd->seen) {
    case TA_DSEEN_FOUND:
        id->dmarc = TA_IDDMARC_FOUND;
        id->dmarc_adkim_strict = sd->adkim_strict;
        id->dmarc_aspf_strict = sd->aspf_strict;
        break;
    case TA_DSEEN_NONE:
        id->dmarc = TA_IDDMARC_NONE;
        break;
    case TA_DSEEN_INVALID:
    case TA_DSEEN_MULTIPLE:
        id->dmarc = TA_IDDMARC_BROKEN;
        break;
    default:
        break;
    }
}

/* ta_lifecycle_apply - every identity of a parsed source in its effective state */
int
ta_lifecycle_apply(ta_conf_t *c, const ta_state_t *st, int64_t now, ta_fpr_fn fpr, void *ctx,
    ta_lifecycle_counts_t *counts, void (*warn)(const char *msg), char *err, size_t errlen)
{
    ta_key_t            keys[TA_LIFECYCLE_MAX];
    ta_lifecycle_note_t notes[TA_LIFECYCLE_MAX];
    char                name[600], why[400], msg[1024];
    size_t              t, i, k, n;
    int                 rc;

    memset(counts, 0, sizeof(*counts));
    for (t = 0; t < c->ntenants; t++) {
        ta_tenant_t *tn = &c->tenants[t].tenant;

        for (i = 0; i < tn->nidentities; i++) {
            ta_identity_t *id = (ta_identity_t *) &tn->identities[i];
            ta_key_t      *kept;

            ta_identity_name(id, name, sizeof(name));
            rc = ta_lifecycle_keys(id, ta_str_cstr(name), st, now, fpr, ctx, keys, notes,
                                   TA_LIFECYCLE_MAX, &n, why, sizeof(why));
            if (rc != TA_OK) {
                snprintf(err, errlen, "tenant %s, identity %s: %s", tn->name.data, name, why);
                return rc;
            }
            kept = ta_conf_alloc(c, n * sizeof(*kept) + 1);
            if (kept == NULL) {
                snprintf(err, errlen, "out of memory");
                return TA_ESYSTEM;
            }
            for (k = 0; k < n; k++) {
                kept[k] = keys[k];
                if (notes[k].rotated) {     /* the state's strings: copy them */
                    kept[k].selector = ta_conf_str(c, keys[k].selector);
                    kept[k].key_file = ta_conf_str(c, keys[k].key_file);
                    if (kept[k].selector.data == NULL || kept[k].key_file.data == NULL) {
                        snprintf(err, errlen, "out of memory");
                        return TA_ESYSTEM;
                    }
                }
                counts->by_state[kept[k].state]++;
                if (kept[k].state == TA_KEY_UNVERIFIED && warn != NULL) {
                    snprintf(msg, sizeof(msg), "warning: tenant %s, identity %s: key %s is %s: it does not "
                             "sign until verify sees it published (dns_check)", tn->name.data, name,
                             kept[k].selector.data, notes[k].why);
                    warn(msg);
                }
            }
            id->keys = kept;
            id->nkeys = n;
            ta_lifecycle_dmarc(id, st);
            if (id->require_dmarc && id->dmarc == TA_IDDMARC_UNKNOWN && warn != NULL) {
                snprintf(msg, sizeof(msg), "warning: tenant %s, identity %s: require_dmarc is on but verify "
                         "has not checked its DMARC record: its mail gets 451 until it has",
                         tn->name.data, name);
                warn(msg);
            }
        }
    }
    return TA_OK;
}

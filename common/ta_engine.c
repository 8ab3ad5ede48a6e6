/*
 * NAME
 *	ta_engine 3
 * SUMMARY
 *	what an adapter calls: store + policy + keys + DKIM for one message
 * SYNOPSIS
 *	#include "ta_engine.h"
 * DESCRIPTION
 *	See ta_engine.h. This is the only place where the pure decision meets
 *	I/O: the store lookup before it, key loading and signing after it.
 *	Every failure of ours becomes a tempfail verdict with a reason; none
 *	lets a message through unsigned in enforce mode.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ta_dkim.h"
#include "ta_engine.h"
#include "ta_keys.h"
#include "ta_orgdomain.h"
#include "ta_reply.h"
#include "ta_store.h"

struct ta_engine {
    ta_engine_conf_t  conf;
    char             *store_path;
    ta_store_t       *store;            /* NULL while it cannot be opened */
    char              store_err[256];
    struct timespec   last_open_try;
    EVP_MD           *sha256;           /* fetched once for every message's hashes */
};

enum { TXN_NEW, TXN_SIGNING, TXN_DONE };

struct ta_txn {
    ta_engine_t       *e;
    char              *login;           /* copies: the adapter's buffers may go */
    size_t             login_len;
    char              *mail_from;
    size_t             mail_from_len;
    ta_tenant_t       *tenant;
    ta_verdict_t       v;
    ta_headers_t       headers;
    ta_header_field_t *fields;
    ta_dkim_t         *dkim;
    char              *signatures;
    int                state;
    long long          ns;              /* time spent in the engine */
};

/* oom_verdict - the verdict of a transaction that could not be created */
static ta_verdict_t oom_verdict;

/* now_ns - monotonic clock in nanoseconds */
static long long
now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long) ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* store_ready - an open, current store, or 0 with the reason in store_err */
static int
store_ready(ta_engine_t *e)
{
    struct timespec ts;
    char            err[256];

    if (e->store != NULL) {
        if (ta_store_refresh(e->store, err, sizeof(err)) != TA_OK)
            /* keep serving from the old mapping; the new file is broken */
            snprintf(e->store_err, sizeof(e->store_err), "%s", err);
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (e->last_open_try.tv_sec != 0 && ts.tv_sec == e->last_open_try.tv_sec)
        return 0;   /* tried this second already: keep the last error */
    e->last_open_try = ts;
    if (ta_store_open(e->store_path, &e->store, e->store_err, sizeof(e->store_err)) != TA_OK) {
        e->store = NULL;
        return 0;
    }
    return 1;
}

/* ta_engine_open - an engine; a store that cannot be opened yet is not fatal */
int
ta_engine_open(const ta_engine_conf_t *conf, ta_engine_t **out, char *err, size_t errlen)
{
    ta_engine_t *e;

    *out = NULL;
    e = calloc(1, sizeof(*e));
    if (e == NULL || (e->store_path = strdup(conf->store_path ? conf->store_path : "")) == NULL) {
        free(e);
        snprintf(err, errlen, "out of memory");
        return TA_ESYSTEM;
    }
    e->conf = *conf;
    e->conf.store_path = e->store_path;
    e->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);    /* NULL: fetched per use */
    if (!ta_psl_ready())
        snprintf(err, errlen, "Public Suffix List could not be loaded: relaxed alignment degrades to strict");
    else if (!store_ready(e))
        snprintf(err, errlen, "%s", e->store_err);
    else if (errlen)
        err[0] = '\0';
    *out = e;
    return TA_OK;
}

/* ta_engine_close - release the store */
void
ta_engine_close(ta_engine_t *e)
{
    if (e == NULL)
        return;
    if (e->store)
        ta_store_close(e->store);
    EVP_MD_free(e->sha256);
    free(e->store_path);
    free(e);
}

/* warm_tenant - parse a tenant's signing keys into the process's key cache */
static int
warm_tenant(const ta_tenant_t *t, void *arg)
{
    size_t   *left = arg, i, k;
    char      path[4096], err[256];
    EVP_PKEY *key;

    for (i = 0; i < t->nidentities; i++) {
        for (k = 0; k < t->identities[i].nkeys; k++) {
            const ta_key_t *tk = &t->identities[i].keys[k];

            if (*left == 0)
                return 1;
            if (tk->state != TA_KEY_ACTIVE || tk->key_file.len >= sizeof(path))
                continue;
            memcpy(path, tk->key_file.data, tk->key_file.len);
            path[tk->key_file.len] = '\0';
            /* failures stay for the message path to report, as tempfails */
            if (ta_key_get(path, tk->alg, &key, err, sizeof(err)) == TA_OK) {
                EVP_PKEY_free(key);     /* parsed and cached is all we wanted */
                (*left)--;
            }
        }
    }
    return 0;
}

/* ta_engine_warm_keys - the store's active signing keys into the key cache, as many as it holds */
size_t
ta_engine_warm_keys(ta_engine_t *e)
{
    char   err[256];
    size_t left = TA_KEY_CACHE_SIZE;

    if (e == NULL || !store_ready(e))
        return 0;
    (void) ta_store_each(e->store, warm_tenant, &left, err, sizeof(err));
    return TA_KEY_CACHE_SIZE - left;
}

/* lookup - the tenant for a login; a tempfail verdict on store trouble */
static int
lookup(ta_engine_t *e, ta_str_t login, ta_tenant_t **tenant, ta_verdict_t *v)
{
    char err[256];
    int  rc;

    *tenant = NULL;
    if (!store_ready(e)) {
        memset(v, 0, sizeof(*v));
        ta_verdict_tempfail(v, "tenant store unavailable: %s", e->store_err);
        return TA_ESYSTEM;
    }
    rc = ta_store_lookup(e->store, login, tenant, err, sizeof(err));
    if (rc == TA_OK || rc == TA_NOTFOUND)
        return TA_OK;
    memset(v, 0, sizeof(*v));
    ta_verdict_tempfail(v, "tenant store lookup failed: %s", err);
    return TA_ESYSTEM;
}

/* decide - fill the policy input and run the pure decision */
static void
decide(ta_engine_t *e, const ta_tenant_t *tenant, ta_str_t login, ta_str_t mail_from,
    const ta_headers_t *headers, ta_verdict_t *v)
{
    ta_policy_input_t in;

    memset(&in, 0, sizeof(in));
    in.tenant = tenant;
    in.login = login;
    in.mail_from = mail_from;
    in.headers = headers;
    in.reject_unknown_login = ta_store_settings(e->store)->reject_unknown_login;
    in.monitor_all = e->conf.mode == TA_MONITOR;
    ta_decide(&in, v);
}

/* off_verdict - tenantalign off: accept untouched */
static void
off_verdict(ta_verdict_t *v)
{
    memset(v, 0, sizeof(*v));
    memcpy(v->code, "250", 4);
    memcpy(v->enhanced, "2.0.0", 6);
    snprintf(v->reason, sizeof(v->reason), "tenantalign is off");
}

/* ta_engine_mail - the MAIL FROM-time check */
void
ta_engine_mail(ta_engine_t *e, ta_str_t login, ta_str_t mail_from, ta_verdict_t *v)
{
    ta_tenant_t *tenant;

    if (e->conf.mode == TA_OFF) {
        off_verdict(v);
        return;
    }
    if (lookup(e, login, &tenant, v) != TA_OK)
        return;
    decide(e, tenant, login, mail_from, NULL, v);
    /* the verdict must not point into the record we free */
    v->identity = NULL;
    v->nsign = 0;
    ta_tenant_free(tenant);
}

/* ta_txn_new - start a transaction (NULL: out of memory, verdicts tempfail) */
ta_txn_t *
ta_txn_new(ta_engine_t *e, ta_str_t login, ta_str_t mail_from)
{
    ta_txn_t *t = calloc(1, sizeof(*t));

    if (t == NULL)
        return NULL;
    t->e = e;
    t->login = malloc(login.len + 1);
    t->mail_from = malloc(mail_from.len + 1);
    if (t->login == NULL || t->mail_from == NULL) {
        ta_txn_free(t);
        return NULL;
    }
    if (login.len)
        memcpy(t->login, login.data, login.len);
    t->login[login.len] = '\0';
    t->login_len = login.len;
    if (mail_from.len)
        memcpy(t->mail_from, mail_from.data, mail_from.len);
    t->mail_from[mail_from.len] = '\0';
    t->mail_from_len = mail_from.len;
    return t;
}

/* oom - the verdict for a NULL transaction */
static const ta_verdict_t *
oom(void)
{
    ta_verdict_tempfail(&oom_verdict, "out of memory");
    return &oom_verdict;
}

/* key_label - "d=D s=S" of a planned key, for messages */
static void
key_label(const ta_verdict_t *v, const ta_key_t *k, char *buf, size_t size)
{
    ta_str_t d = k->domain.len ? k->domain : v->identity->domain;

    snprintf(buf, size, "d=%.*s s=%.*s", (int) d.len, d.data,
             (int) k->selector.len, k->selector.data);
}

/* start_signing - load the planned keys and hash the header section */
static int
start_signing(ta_txn_t *t)
{
    ta_dkim_opts_t  opts;
    ta_verdict_t   *v = &t->v;
    EVP_PKEY       *pkey;
    char            err[256], label[300], path[4096];
    size_t          i;
    int             rc;

    memset(&opts, 0, sizeof(opts));
    opts.eol = t->e->conf.eol;
    opts.sha256 = t->e->sha256;
    t->dkim = ta_dkim_new(&opts);
    if (t->dkim == NULL) {
        ta_verdict_tempfail(v, "out of memory");
        return TA_ESYSTEM;
    }
    for (i = 0; i < v->nsign; i++) {
        const ta_key_t *k = v->sign[i];
        ta_str_t        d = k->domain.len ? k->domain : v->identity->domain;

        /* the label is for the error texts only: made when one is */
        if (k->key_file.len >= sizeof(path)) {
            key_label(v, k, label, sizeof(label));
            ta_verdict_tempfail(v, "DKIM key %s: key file path too long", label);
            return TA_ESYSTEM;
        }
        memcpy(path, k->key_file.data, k->key_file.len);
        path[k->key_file.len] = '\0';
        if (ta_key_get(path, k->alg, &pkey, err, sizeof(err)) != TA_OK) {
            key_label(v, k, label, sizeof(label));
            ta_verdict_tempfail(v, "DKIM key %s unusable: %s", label, err);
            return TA_ESYSTEM;
        }
        rc = ta_dkim_add_signer(t->dkim, d, k->selector, k->alg, pkey, err, sizeof(err));
        EVP_PKEY_free(pkey);            /* the signer holds its own reference */
        if (rc != TA_OK) {
            key_label(v, k, label, sizeof(label));
            ta_verdict_tempfail(v, "DKIM key %s: %s", label, err);
            return TA_ESYSTEM;
        }
    }
    if (ta_dkim_headers(t->dkim, &t->headers) != TA_OK) {
        ta_verdict_tempfail(v, "DKIM header canonicalisation failed");
        return TA_ESYSTEM;
    }
    return TA_OK;
}

/* ta_txn_header - decide on the header section; prepare signing */
const ta_verdict_t *
ta_txn_header(ta_txn_t *t, const char *hdr, size_t len)
{
    long long t0 = now_ns();
    ta_str_t  login, mail_from;

    if (t == NULL)
        return oom();
    if (t->state != TXN_NEW)
        return &t->v;
    t->state = TXN_DONE;
    login = ta_str(t->login, t->login_len);
    mail_from = ta_str(t->mail_from, t->mail_from_len);
    if (t->e->conf.mode == TA_OFF) {
        off_verdict(&t->v);
        goto done;
    }
    if (lookup(t->e, login, &t->tenant, &t->v) != TA_OK)
        goto done;
    /* not calloc: the parser writes every field it counts, and zeroing
     * 48 KB cost more than parsing a 2 KB message's header */
    t->fields = malloc(TA_HEADER_MAX_FIELDS * sizeof(*t->fields));
    if (t->fields == NULL) {
        ta_verdict_tempfail(&t->v, "out of memory");
        goto done;
    }
    ta_headers_parse(&t->headers, hdr, len, t->e->conf.eol, t->fields, TA_HEADER_MAX_FIELDS);
    decide(t->e, t->tenant, login, mail_from, &t->headers, &t->v);
    if (t->v.action == TA_ACCEPT && t->v.nsign > 0 && start_signing(t) == TA_OK)
        t->state = TXN_SIGNING;
done:
    t->ns += now_ns() - t0;
    return &t->v;
}

/* ta_txn_body - hash a chunk of the body */
int
ta_txn_body(ta_txn_t *t, const char *chunk, size_t len)
{
    long long t0;
    int       rc;

    if (t == NULL)
        return TA_ESYSTEM;
    if (t->state != TXN_SIGNING)
        return TA_OK;
    t0 = now_ns();
    rc = ta_dkim_body(t->dkim, chunk, len);
    if (rc != TA_OK) {
        ta_verdict_tempfail(&t->v, "DKIM body hashing failed");
        t->state = TXN_DONE;
    }
    t->ns += now_ns() - t0;
    return rc;
}

/* ta_txn_finish - the final verdict and, on accept, the signatures */
const ta_verdict_t *
ta_txn_finish(ta_txn_t *t, ta_str_t *signatures)
{
    long long t0;
    char      err[256];
    size_t    size, len = 0;

    *signatures = ta_str("", 0);
    if (t == NULL)
        return oom();
    if (t->state != TXN_SIGNING)
        return &t->v;
    t0 = now_ns();
    t->state = TXN_DONE;
    size = 2048 + 4096 * t->v.nsign;
    t->signatures = malloc(size);
    if (t->signatures == NULL) {
        ta_verdict_tempfail(&t->v, "out of memory");
    } else if (ta_dkim_finish(t->dkim, t->signatures, size, &len, err, sizeof(err)) != TA_OK) {
        ta_verdict_tempfail(&t->v, "DKIM signing failed: %s", err);
    } else {
        *signatures = ta_str(t->signatures, len);
    }
    t->ns += now_ns() - t0;
    return &t->v;
}

/* ta_txn_tenant - the tenant's name, or empty */
ta_str_t
ta_txn_tenant(const ta_txn_t *t)
{
    if (t == NULL || t->tenant == NULL)
        return ta_str("", 0);
    return t->tenant->name;
}

/* ta_txn_verdict - the current verdict */
const ta_verdict_t *
ta_txn_verdict(const ta_txn_t *t)
{
    return t ? &t->v : oom();
}

/* ta_txn_log - one log line for the decision */
size_t
ta_txn_log(const ta_txn_t *t, char *buf, size_t size)
{
    char   num[32], *p;
    size_t n, len;

    if (t == NULL) {
        n = (size_t) snprintf(buf, size, "verdict=tempfail reason=\"out of memory\"");
        return n < size ? n : size - 1;
    }
    n = ta_log_format(&t->v, ta_txn_tenant(t), ta_str(t->login, t->login_len), buf, size);
    /* " us=N" by hand: snprintf was a tenth of the line's cost */
    p = ta_str_dec(num + sizeof(num), t->ns > 0 ? (unsigned long long) t->ns / 1000 : 0) - 4;
    memcpy(p, " us=", 4);
    len = (size_t) (num + sizeof(num) - p);
    if (n + len < size) {
        memcpy(buf + n, p, len);
        n += len;
        buf[n] = '\0';
    }
    return n < size ? n : size - 1;
}

/* ta_txn_free - release everything the transaction holds */
void
ta_txn_free(ta_txn_t *t)
{
    if (t == NULL)
        return;
    ta_dkim_free(t->dkim);
    ta_tenant_free(t->tenant);
    free(t->fields);
    free(t->signatures);
    free(t->login);
    free(t->mail_from);
    free(t);
}

/*
 * NAME
 *	ta_engine 3
 * SUMMARY
 *	the one door into the core: what an adapter calls, and all it applies
 * SYNOPSIS
 *	#include "ta_engine.h"
 * DESCRIPTION
 *	See ta_engine.h. This is the only place where the pure decision meets
 *	I/O: the store lookup before it, key loading and signing after it;
 *	and where a verdict becomes its effects (header fields, envelope
 *	sender, reply, log line), rendered once for every adapter. Every
 *	failure of ours becomes a tempfail with a reason; none lets a message
 *	through unsigned in enforce mode.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>
#include <time.h>

#include "ta_counters.h"
#include "ta_dkim.h"
#include "ta_engine.h"
#include "ta_keys.h"
#include "ta_hold_watch.h"
#include "ta_orgdomain.h"
#include "ta_reply.h"
#include "ta_store.h"

#define QID_MAX     64          /* longer queue ids are cut */
#define FIELD_ROOM  1024        /* the monitor field, folded */

struct ta_engine {
    ta_engine_conf_t  conf;
    char             *store_path;
    char             *fault;            /* the adapter's configuration problem */
    ta_store_t       *store;            /* NULL while it cannot be opened */
    char              store_err[256];
    struct timespec   last_open_try;
    /* the store on disk went bad: said once (at error level) per bad file */
    char              alarm_key[300];   /* the trouble last alarmed about; "" when good */
    char              alarm[400];
    int               alarm_pending;    /* for the next effects */
    EVP_MD           *sha256;           /* fetched once for every message's hashes */
    ta_hold_watch_t  *holds;            /* STORE.hold: paused and suspended tenants */
    ta_counters_t    *counters;         /* NULL: not counting */
};

enum { TXN_NEW, TXN_SIGNING, TXN_DECIDED, TXN_DONE };

struct ta_txn {
    ta_engine_t       *e;
    char              *login;           /* copies: the adapter's buffers may go */
    size_t             login_len;
    char              *arg;             /* the MAIL argument or reverse-path */
    size_t             arg_len;
    ta_mail_form_t     form;
    ta_smtp_mail_t     mail;            /* TA_MAIL_ARG: parsed, into arg */
    ta_str_t           path;            /* the reverse-path the policy reads */
    ta_eoh_t           eoh;
    ta_tenant_t       *tenant;
    ta_verdict_t       v;
    ta_headers_t       headers;
    ta_header_field_t *fields;
    ta_dkim_t         *dkim;
    char              *prepend;         /* signatures, then the monitor field */
    size_t             prepend_cap;
    int                state;
    long long          ns;              /* time spent in the engine */
    uint64_t           bytes;           /* the message as handed over */
    char               qid[QID_MAX];
    size_t             qid_len;
    ta_effects_t       fx;
    char               sender[sizeof(((ta_verdict_t *) 0)->new_sender)];
    char               command[TA_SMTP_MAX_LINE + 8];
    char               reply[TA_REPLY_MAX];
    char               reply_text[TA_REPLY_MAX];
    char               log[TA_LOG_MAX];
};

/* now_ns - monotonic clock in nanoseconds */
static long long
now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long) ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* process_user - "user NAME, uid N": who the files must be readable by */
static void
process_user(char *buf, size_t size)
{
    struct passwd pw, *pwp = NULL;
    char          pwbuf[1024];

    (void) getpwuid_r(geteuid(), &pw, pwbuf, sizeof(pwbuf), &pwp);
    snprintf(buf, size, "user %s, uid %ld", pwp ? pwp->pw_name : "?", (long) geteuid());
}

/* store_alarm - the store is unusable: an alarm for the next effects, once per trouble */
static void
store_alarm(ta_engine_t *e)
{
    char key[sizeof(e->alarm_key)];

    snprintf(key, sizeof(key), "%u %s", e->store ? ta_store_bad_seq(e->store) : 0u, e->store_err);
    if (strcmp(key, e->alarm_key) == 0)
        return;
    snprintf(e->alarm_key, sizeof(e->alarm_key), "%s", key);
    snprintf(e->alarm, sizeof(e->alarm), "tenant store unusable, every message gets 451 until a good "
             "store is in place: %s", e->store_err);
    e->alarm_pending = 1;
}

/*
 * store_ready - an open store whose file is the one at the path, or 0 with
 * the reason in store_err. A missing or broken file is a 451 for every
 * message, in every process alike (an old mapping is not served from).
 */
static int
store_ready(ta_engine_t *e)
{
    struct timespec ts;

    if (e->store != NULL) {
        if (ta_store_refresh(e->store, e->store_err, sizeof(e->store_err)) != TA_OK) {
            store_alarm(e);
            return 0;
        }
        e->alarm_key[0] = '\0';
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (e->last_open_try.tv_sec != 0 && ts.tv_sec == e->last_open_try.tv_sec)
        return 0;   /* tried this second already: keep the last error */
    e->last_open_try = ts;
    if (ta_store_open(e->store_path, &e->store, e->store_err, sizeof(e->store_err)) != TA_OK) {
        e->store = NULL;
        store_alarm(e);
        return 0;
    }
    e->alarm_key[0] = '\0';
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
    if (conf->fault && conf->fault[0] && (e->fault = strdup(conf->fault)) == NULL) {
        free(e->store_path);
        free(e);
        snprintf(err, errlen, "out of memory");
        return TA_ESYSTEM;
    }
    e->conf.fault = e->fault;
    if ((e->holds = ta_hold_watch_new(e->store_path)) == NULL) {
        free(e->fault);
        free(e->store_path);
        free(e);
        snprintf(err, errlen, "out of memory");
        return TA_ESYSTEM;
    }
    /* 0660: a table the root daemon (Exim's preload) makes is given to its
     * directory's owner and group, and the receiving processes of that
     * group must write it */
    if (conf->counters_path && conf->counters_path[0]
        && (e->counters = ta_counters_open(conf->counters_path, 0660, NULL, 0)) == NULL) {
        ta_hold_watch_free(e->holds);
        free(e->fault);
        free(e->store_path);
        free(e);
        snprintf(err, errlen, "out of memory");
        return TA_ESYSTEM;
    }
    e->conf.counters_path = NULL;   /* the caller's string; the table knows its path */
    if (e->conf.reply_eol == NULL)
        e->conf.reply_eol = "\r\n";
    e->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);    /* NULL: fetched per use */
    if (!ta_psl_ready())
        snprintf(err, errlen, "Public Suffix List could not be loaded: relaxed alignment degrades to strict");
    else if (!store_ready(e)) {
        char user[300];

        process_user(user, sizeof(user));
        snprintf(err, errlen, "%s (this process: %s)", e->store_err, user);
        e->alarm_pending = 0;       /* the caller logs err */
    }
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
    ta_hold_watch_free(e->holds);
    ta_counters_close(e->counters);
    EVP_MD_free(e->sha256);
    free(e->store_path);
    free(e->fault);
    free(e);
}

/* ta_engine_exit - the process's key cache, after its last engine */
void
ta_engine_exit(void)
{
    ta_keys_flush();
}

/* key_path - a key's file name as a C string; 0 when it does not fit */
static int
key_path(const ta_key_t *k, char *path, size_t size)
{
    if (k->key_file.len >= size)
        return 0;
    memcpy(path, k->key_file.data, k->key_file.len);
    path[k->key_file.len] = '\0';
    return 1;
}

typedef struct {
    size_t       left;          /* room left in the key cache */
    size_t       failed;        /* active keys this process cannot use */
    char         first[320];    /* the first of them, and why */
} warm_t;

/* each_active_key - fn for each active key of a tenant, with its file name,
 * until fn returns non-zero */
static int
each_active_key(const ta_tenant_t *t, int (*fn)(const ta_tenant_t *t, const ta_key_t *k,
    const char *path, void *arg), void *arg)
{
    char   path[4096];
    size_t i, k;

    for (i = 0; i < t->nidentities; i++)
        for (k = 0; k < t->identities[i].nkeys; k++) {
            const ta_key_t *tk = &t->identities[i].keys[k];

            if (tk->state == TA_KEY_ACTIVE && key_path(tk, path, sizeof(path)) && fn(t, tk, path, arg) != 0)
                return 1;
        }
    return 0;
}

/* warm_key - one signing key parsed into the process's key cache */
static int
warm_key(const ta_tenant_t *t, const ta_key_t *tk, const char *path, void *arg)
{
    warm_t   *w = arg;
    char      err[256];
    EVP_PKEY *key;

    if (w->left == 0)
        return 1;
    if (ta_key_get(path, tk->alg, &key, err, sizeof(err)) == TA_OK) {
        EVP_PKEY_free(key);     /* parsed and cached is all we wanted */
        w->left--;
    } else if (w->failed++ == 0) {
        /* said now, at start; each message it would sign still tempfails */
        snprintf(w->first, sizeof(w->first), "tenant %.*s: %s", (int) t->name.len, t->name.data, err);
    }
    return 0;
}

/* warm_tenant - a tenant's signing keys into the key cache (ta_store_each) */
static int
warm_tenant(const ta_tenant_t *t, void *arg)
{
    return each_active_key(t, warm_key, arg);
}

/* ta_engine_warm_keys - the store's active signing keys into the key cache, as
 * many as it holds; problem names the active keys this process cannot use */
size_t
ta_engine_warm_keys(ta_engine_t *e, char *problem, size_t size)
{
    char   err[256], user[300];
    warm_t w;

    memset(&w, 0, sizeof(w));
    w.left = TA_KEY_CACHE_SIZE;
    if (size)
        problem[0] = '\0';
    if (e == NULL || !store_ready(e))
        return 0;
    (void) ta_store_each(e->store, warm_tenant, &w, err, sizeof(err));
    if (w.failed && size) {
        process_user(user, sizeof(user));
        snprintf(problem, size, "%zu active DKIM key%s unusable by this process (%s): their "
                 "messages get 451; the first: %s", w.failed, w.failed == 1 ? "" : "s", user, w.first);
    }
    return TA_KEY_CACHE_SIZE - w.left;
}

/* readable_by - may uid (with its groups) read the file, by its mode bits? */
static int
readable_by(const char *path, uid_t uid, const gid_t *groups, int ngroups, char *why, size_t size)
{
    struct stat sb;
    int         i;

    if (stat(path, &sb) != 0) {
        snprintf(why, size, "%s: %s", path, strerror(errno));
        return 0;
    }
    if (uid == 0 || (sb.st_uid == uid && (sb.st_mode & S_IRUSR)) || (sb.st_mode & S_IROTH))
        return 1;
    for (i = 0; i < ngroups; i++)
        if (sb.st_gid == groups[i] && (sb.st_mode & S_IRGRP))
            return 1;
    snprintf(why, size, "%s (owner %ld, group %ld, mode %04o)", path, (long) sb.st_uid, (long) sb.st_gid,
             (unsigned) (sb.st_mode & 07777));
    return 0;
}

typedef struct {
    uid_t        uid;
    gid_t        groups[64];
    int          ngroups;
    size_t       failed;
    char         first[800];
} access_t;

/* access_key - one active key file, as the user would read it */
static int
access_key(const ta_tenant_t *t, const ta_key_t *tk, const char *path, void *arg)
{
    access_t *a = arg;
    char      why[400];

    (void) tk;
    if (!readable_by(path, a->uid, a->groups, a->ngroups, why, sizeof(why)) && a->failed++ == 0)
        snprintf(a->first, sizeof(a->first), "tenant %.*s: %s", (int) (t->name.len > 255 ? 255 : t->name.len),
                 t->name.data, why);
    return 0;
}

/* access_tenant - the tenant's active key files (ta_store_each) */
static int
access_tenant(const ta_tenant_t *t, void *arg)
{
    return each_active_key(t, access_key, arg);
}

/*
 * ta_engine_check_access - would user (the MTA's, when this process runs as
 * another: Exim's daemon is root, its receiving processes are not) be able
 * to read the store and the active keys? problem says what it could not,
 * naming the files and the user; empty when all is readable.
 */
void
ta_engine_check_access(ta_engine_t *e, const char *user, char *problem, size_t size)
{
    struct passwd pw, *pwp = NULL;
    char          pwbuf[1024], why[400], err[256];
    access_t      a;

    if (size == 0)
        return;

    problem[0] = '\0';
    if (getpwnam_r(user, &pw, pwbuf, sizeof(pwbuf), &pwp) != 0 || pwp == NULL) {
        snprintf(problem, size, "no user %s to check the store and keys for", user);
        return;
    }
    memset(&a, 0, sizeof(a));
    a.uid = pw.pw_uid;
    a.ngroups = (int) (sizeof(a.groups) / sizeof(a.groups[0]));
    if (getgrouplist(user, pw.pw_gid, a.groups, &a.ngroups) < 0)
        a.ngroups = (int) (sizeof(a.groups) / sizeof(a.groups[0]));
    if (!readable_by(e->store_path, a.uid, a.groups, a.ngroups, why, sizeof(why))) {
        snprintf(problem, size, "the store is not readable by user %s: %s: every message gets 451", user, why);
        return;
    }
    if (!store_ready(e))
        return;
    (void) ta_store_each(e->store, access_tenant, &a, err, sizeof(err));
    if (a.failed)
        snprintf(problem, size, "%zu active DKIM key%s not readable by user %s: their messages get 451; "
                 "the first: %s", a.failed, a.failed == 1 ? "" : "s", user, a.first);
}

/* lookup - the tenant for a login; a tempfail verdict on store trouble */
static int
lookup(ta_engine_t *e, ta_str_t login, ta_tenant_t **tenant, ta_verdict_t *v)
{
    char             err[256];
    const ta_hold_t *hold;
    int              rc;

    *tenant = NULL;
    if (e->fault) {
        memset(v, 0, sizeof(*v));
        ta_verdict_tempfail(v, "tenantalign configuration: %s", e->fault);
        v->reason_class = TA_R_STORE;
        return TA_ESYSTEM;
    }
    if (!store_ready(e)) {
        memset(v, 0, sizeof(*v));
        ta_verdict_tempfail(v, "tenant store unavailable: %s", e->store_err);
        v->reason_class = TA_R_STORE;
        return TA_ESYSTEM;
    }
    if (ta_hold_watch_get(e->holds, &hold, err, sizeof(err)) != TA_OK) {
        memset(v, 0, sizeof(*v));
        ta_verdict_tempfail(v, "%s (who is on hold cannot be told)", err);
        v->reason_class = TA_R_STORE;
        return TA_ESYSTEM;
    }
    rc = ta_store_lookup(e->store, login, tenant, err, sizeof(err));
    if (rc == TA_OK || rc == TA_NOTFOUND)
        return TA_OK;
    memset(v, 0, sizeof(*v));
    ta_verdict_tempfail(v, "tenant store lookup failed: %s", err);
    v->reason_class = TA_R_STORE;
    return TA_ESYSTEM;
}

/* has_cap - the tenant or one of its streams has an hourly cap */
static int
has_cap(const ta_tenant_t *t)
{
    size_t i;

    for (i = 0; i < TA_STREAMS; i++)
        if (t->streams[i].hourly_cap)
            return 1;
    return t->hourly_cap != 0;
}

/* count - one final verdict into the counter table */
static void
count(ta_engine_t *e, const ta_tenant_t *tenant, const ta_verdict_t *v, uint64_t bytes)
{
    ta_count_t c;
    size_t     i;

    if (e == NULL || e->counters == NULL)
        return;
    memset(&c, 0, sizeof(c));
    c.reason = v->reason_class;
    if (v->action == TA_ACCEPT) {
        c.verdict = v->monitor && v->reason_class != TA_R_NONE ? TA_COUNT_WOULD_REFUSE : TA_COUNT_ACCEPTED;
        c.bytes = bytes;
        for (i = 0; i < v->nsign; i++)
            c.sigs[v->sign[i]->alg == TA_ALG_ED25519_SHA256 ? 1 : 0]++;
    } else {
        c.verdict = v->action == TA_REJECT ? TA_COUNT_REFUSED : TA_COUNT_TEMPFAILED;
    }
    ta_counters_count(e->counters, tenant ? tenant->name : ta_str("", 0),
                      tenant ? tenant->stream : TA_STREAM_TRANSACTIONAL, &c);
}

/* decide - fill the policy input and run the pure decision */
static void
decide(ta_engine_t *e, const ta_tenant_t *tenant, ta_str_t login, ta_str_t mail_from,
    const ta_headers_t *headers, ta_verdict_t *v)
{
    ta_policy_input_t in;
    char              err[320];

    memset(&in, 0, sizeof(in));
    /* the hold as it is now (a session may have started before a pause) */
    if (ta_hold_watch_get(e->holds, &in.hold, err, sizeof(err)) != TA_OK) {
        memset(v, 0, sizeof(*v));
        ta_verdict_tempfail(v, "%s (who is on hold cannot be told)", err);
        v->reason_class = TA_R_STORE;
        return;
    }
    /* the hourly window only for a tenant with a cap: the others pay nothing */
    if (tenant != NULL && has_cap(tenant) && e->counters != NULL
        && ta_counters_problem(e->counters) == NULL) {
        ta_counters_hour(e->counters, tenant->name, (int64_t) time(NULL), in.hour_sent);
        in.hour_known = 1;
    }
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

/* syntax_verdict - a MAIL command the gate will not read: the client's fault */
static void
syntax_verdict(ta_verdict_t *v, const char *why)
{
    memset(v, 0, sizeof(*v));
    v->action = TA_REJECT;
    memcpy(v->code, "501", 4);
    memcpy(v->enhanced, "5.5.4", 6);
    v->reason_class = TA_R_SYNTAX;
    snprintf(v->reason, sizeof(v->reason), "%s", why);
}

/* render_texts - the reply and the log line of a verdict into fx (and a pending alarm) */
static void
render_texts(ta_engine_t *e, const ta_verdict_t *v, const ta_log_ctx_t *lc,
    char *reply, char *reply_text, char *log, ta_effects_t *fx)
{
    fx->action = v->action;
    fx->monitor = v->monitor;
    fx->reply = ta_str(reply, ta_reply_format(v, e ? e->conf.reply_eol : "\r\n",
                                              reply, TA_REPLY_MAX, &fx->reply_last));
    fx->reply_text = ta_str(reply_text, ta_reply_text(v, reply_text, TA_REPLY_MAX));
    fx->log = ta_str(log, ta_log_format(v, lc, e ? e->conf.log_style : TA_LOG_KV, log, TA_LOG_MAX));
    fx->alarm = ta_str(NULL, 0);
    fx->warning = ta_str(NULL, 0);
    if (e != NULL && e->alarm_pending) {
        fx->alarm = ta_str_cstr(e->alarm);
        e->alarm_pending = 0;
    }
    if (e != NULL && e->counters != NULL) {
        const char *w = ta_counters_alarm(e->counters);

        if (w != NULL)
            fx->warning = ta_str_cstr(w);
    }
}

/* log_ctx - what a log line says besides the verdict */
static ta_log_ctx_t
log_ctx(const char *stage, const ta_tenant_t *tenant, ta_str_t login, ta_str_t qid, long long us)
{
    ta_log_ctx_t lc;

    lc.stage = stage;
    lc.tenant = tenant ? tenant->name : ta_str("", 0);
    lc.has_tenant = tenant != NULL;
    lc.login = login;
    lc.queue_id = qid;
    lc.us = us;
    return lc;
}

/* ta_engine_mail - the MAIL FROM-time check */
void
ta_engine_mail(ta_engine_t *e, ta_str_t login, ta_str_t arg, ta_mail_form_t form,
    ta_mail_t *m)
{
    ta_verdict_t    v;
    ta_smtp_mail_t  pm;
    ta_tenant_t    *tenant = NULL;
    ta_str_t        path = arg;
    const char     *why;
    ta_log_ctx_t    lc;
    char           *reply = m->buf, *reply_text = reply + TA_REPLY_MAX,
                   *log = reply_text + TA_REPLY_MAX, *command = log + TA_LOG_MAX;
    size_t          n;

    memset(&m->fx, 0, sizeof(m->fx));
    m->command = ta_str("", 0);
    if (form == TA_MAIL_ARG) {
        if (ta_smtp_mail_parse(arg.data, arg.len, &pm, &why) != TA_OK) {
            syntax_verdict(&v, why);
            goto done;
        }
        path = pm.path;
    }
    if (e->conf.mode == TA_OFF) {
        off_verdict(&v);
    } else if (lookup(e, login, &tenant, &v) == TA_OK) {
        decide(e, tenant, login, path, NULL, &v);
        v.identity = NULL;      /* it points into the record freed below */
        v.nsign = 0;
    }
    if (v.action == TA_ACCEPT && form == TA_MAIL_ARG) {
        n = ta_smtp_mail_build(&pm, pm.path, command, TA_SMTP_MAX_LINE + 8);
        if (n == 0)
            syntax_verdict(&v, "too long");
        else
            m->command = ta_str(command, n);
    }
done:
    lc = log_ctx("mail", tenant, login, ta_str("", 0), -1);
    render_texts(e, &v, &lc, reply, reply_text, log, &m->fx);
    /* an acceptance at MAIL is not final: the message gets its own verdict */
    if (v.action != TA_ACCEPT)
        count(e, tenant, &v, 0);
    ta_tenant_free(tenant);
}

/* copy_str - a NUL-terminated heap copy of a counted string */
static char *
copy_str(ta_str_t s, size_t *len)
{
    char *p = malloc(s.len + 1);

    if (p == NULL)
        return NULL;
    if (s.len)
        memcpy(p, s.data, s.len);
    p[s.len] = '\0';
    *len = s.len;
    return p;
}

/* ta_txn_new - start a transaction (NULL: out of memory, effects tempfail) */
ta_txn_t *
ta_txn_new(ta_engine_t *e, ta_str_t login, ta_str_t arg, ta_mail_form_t form)
{
    ta_txn_t   *t = calloc(1, sizeof(*t));
    const char *why;

    if (t == NULL)
        return NULL;
    t->e = e;
    t->form = form;
    t->login = copy_str(login, &t->login_len);
    t->arg = copy_str(arg, &t->arg_len);
    if (t->login == NULL || t->arg == NULL) {
        ta_txn_free(t);
        return NULL;
    }
    t->path = ta_str(t->arg, t->arg_len);
    /* the adapter forwarded it after ta_engine_mail accepted it: it parses */
    if (form == TA_MAIL_ARG) {
        if (ta_smtp_mail_parse(t->arg, t->arg_len, &t->mail, &why) == TA_OK)
            t->path = t->mail.path;
        else
            t->form = TA_MAIL_PATH;     /* the policy refuses the path then */
    }
    ta_eoh_init(&t->eoh, e->conf.eol);
    return t;
}

/* ta_txn_header_end - where the header section ends in the next chunk */
size_t
ta_txn_header_end(ta_txn_t *t, const char *p, size_t n)
{
    if (t == NULL)
        return TA_EOH_NONE;
    return ta_eoh_scan(&t->eoh, p, n);
}

/* txn_login - the transaction's login */
static ta_str_t
txn_login(const ta_txn_t *t)
{
    return ta_str(t->login, t->login_len);
}

/* key_label - "d=D s=S" of a planned key, for messages */
static void
key_label(const ta_verdict_t *v, const ta_key_t *k, char *buf, size_t size)
{
    ta_str_t d = ta_key_d(k, v->identity);

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

        /* the label is for the error texts only: made when one is */
        if (!key_path(k, path, sizeof(path))) {
            key_label(v, k, label, sizeof(label));
            ta_verdict_tempfail(v, "DKIM key %s: key file path too long", label);
            v->reason_class = TA_R_KEY;
            return TA_ESYSTEM;
        }
        if (ta_key_get(path, k->alg, &pkey, err, sizeof(err)) != TA_OK) {
            key_label(v, k, label, sizeof(label));
            ta_verdict_tempfail(v, "DKIM key %s unusable: %s", label, err);
            v->reason_class = TA_R_KEY;
            return TA_ESYSTEM;
        }
        rc = ta_dkim_add_signer(t->dkim, ta_key_d(k, v->identity), k->selector, k->alg,
                                pkey, err, sizeof(err));
        EVP_PKEY_free(pkey);            /* the signer holds its own reference */
        if (rc != TA_OK) {
            key_label(v, k, label, sizeof(label));
            ta_verdict_tempfail(v, "DKIM key %s: %s", label, err);
            v->reason_class = TA_R_KEY;
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
ta_action_t
ta_txn_header(ta_txn_t *t, const char *hdr, size_t len)
{
    long long t0 = now_ns();

    if (t == NULL)
        return TA_TEMPFAIL;
    if (t->state != TXN_NEW)
        return t->v.action;
    t->state = TXN_DECIDED;
    t->bytes = len;
    if (t->e->conf.mode == TA_OFF) {
        off_verdict(&t->v);
        goto done;
    }
    if (lookup(t->e, txn_login(t), &t->tenant, &t->v) != TA_OK)
        goto done;
    /* not calloc: the parser writes every field it counts, and zeroing
     * 48 KB cost more than parsing a 2 KB message's header */
    t->fields = malloc(TA_HEADER_MAX_FIELDS * sizeof(*t->fields));
    if (t->fields == NULL) {
        ta_verdict_tempfail(&t->v, "out of memory");
        goto done;
    }
    ta_headers_parse(&t->headers, hdr, len, t->e->conf.eol, t->fields, TA_HEADER_MAX_FIELDS);
    if (t->headers.body_offset != len) {
        /* the adapter handed over more than the header section: what it
         * hashes as body would not be what the parser read as header */
        ta_verdict_tempfail(&t->v, "the header section handed over does not end at its empty line");
        goto done;
    }
    decide(t->e, t->tenant, txn_login(t), t->path, &t->headers, &t->v);
    /* into the hourly window now, not when it is finished: a cap is the
     * tighter for it while long messages are still arriving. Only for a
     * tenant with a cap: the window costs a cache line the others need not */
    if (t->v.action == TA_ACCEPT && t->tenant != NULL && t->e->counters != NULL && has_cap(t->tenant))
        ta_counters_hour_add(t->e->counters, t->tenant->name, t->tenant->stream, (int64_t) time(NULL));
    if (t->v.action == TA_ACCEPT && t->v.nsign > 0 && start_signing(t) == TA_OK)
        t->state = TXN_SIGNING;
done:
    t->ns += now_ns() - t0;
    return t->v.action;
}

/* ta_txn_body - hash a chunk of the body */
int
ta_txn_body(ta_txn_t *t, const char *chunk, size_t len)
{
    long long t0;
    int       rc;

    if (t == NULL)
        return TA_ESYSTEM;
    t->bytes += len;
    if (t->state != TXN_SIGNING)
        return TA_OK;
    t0 = now_ns();
    rc = ta_dkim_body(t->dkim, chunk, len);
    if (rc != TA_OK) {
        ta_verdict_tempfail(&t->v, "DKIM body hashing failed");
        t->state = TXN_DECIDED;
    }
    t->ns += now_ns() - t0;
    return rc;
}

/* ta_txn_signs_rsa - whether finishing makes an RSA signature */
int
ta_txn_signs_rsa(const ta_txn_t *t)
{
    size_t i;

    if (t == NULL || t->state != TXN_SIGNING)
        return 0;
    for (i = 0; i < t->v.nsign; i++)
        if (t->v.sign[i]->alg == TA_ALG_RSA_SHA256)
            return 1;
    return 0;
}

/* sign - the DKIM-Signature fields into the prepend buffer */
static void
sign(ta_txn_t *t, size_t *ends)
{
    char err[256];

    t->prepend_cap = TA_DKIM_OUT_SIZE(t->v.nsign) + FIELD_ROOM;
    t->prepend = malloc(t->prepend_cap);
    if (t->prepend == NULL) {
        ta_verdict_tempfail(&t->v, "out of memory");
        return;
    }
    if (ta_dkim_finish(t->dkim, t->prepend, t->prepend_cap - FIELD_ROOM, &t->fx.prepend.len,
                       ends, err, sizeof(err)) != TA_OK)
        ta_verdict_tempfail(&t->v, "DKIM signing failed: %s", err);
}

/* render_sender - the envelope sender to deliver with */
static void
render_sender(ta_txn_t *t)
{
    ta_effects_t *fx = &t->fx;
    ta_str_t      p = t->path;
    size_t        n;
    char          path[sizeof(t->sender) + 2];

    if (t->v.rewrite_sender) {
        fx->sender_changed = 1;
        fx->sender = ta_str(t->v.new_sender, strnlen(t->v.new_sender, sizeof(t->v.new_sender)));
        if (t->form == TA_MAIL_ARG) {
            n = (size_t) snprintf(path, sizeof(path), "<%.*s>", (int) fx->sender.len,
                                  fx->sender.data);
            n = ta_smtp_mail_build(&t->mail, ta_str(path, n < sizeof(path) ? n : 0),
                                   t->command, sizeof(t->command));
            fx->mail_command = ta_str(t->command, n);
        }
        return;
    }
    if (p.len >= 2 && p.data[0] == '<' && p.data[p.len - 1] == '>')
        p = ta_str(p.data + 1, p.len - 2);
    n = p.len < sizeof(t->sender) - 1 ? p.len : sizeof(t->sender) - 1;
    memcpy(t->sender, p.data, n);
    t->sender[n] = '\0';
    fx->sender = ta_str(t->sender, n);
}

/* txn_log_ctx - what the transaction's log line says besides the verdict */
static ta_log_ctx_t
txn_log_ctx(const ta_txn_t *t)
{
    return log_ctx("data", t->tenant, txn_login(t), ta_str(t->qid, t->qid_len),
                   t->ns > 0 ? t->ns / 1000 : 0);
}

/* render_log_texts - the reply and log line of the transaction's verdict */
static void
render_log_texts(ta_txn_t *t)
{
    ta_log_ctx_t lc = txn_log_ctx(t);

    render_texts(t->e, &t->v, &lc, t->reply, t->reply_text, t->log, &t->fx);
}

/* render - a finished verdict's effects, for the adapter to apply */
static const ta_effects_t *
render(ta_txn_t *t, const size_t *ends)
{
    ta_effects_t *fx = &t->fx;
    size_t        i, start = 0, len = fx->prepend.len;

    fx->nfields = 0;
    fx->prepend = ta_str("", 0);
    fx->sender = ta_str("", 0);
    fx->mail_command = ta_str("", 0);
    fx->sender_changed = 0;
    if (t->v.action == TA_ACCEPT) {
        for (i = 0; ends && i < t->v.nsign; start = ends[i++])
            fx->field[fx->nfields++] = ta_str(t->prepend + start, ends[i] - start);
        if (t->v.monitor && t->prepend == NULL
            && (t->prepend = malloc(t->prepend_cap = FIELD_ROOM)) == NULL) {
            ta_verdict_tempfail(&t->v, "out of memory");
            return render(t, NULL);
        }
        if (t->v.monitor) {
            i = ta_monitor_field(&t->v, t->e->conf.eol == TA_EOL_LF ? "\n" : "\r\n",
                                 t->prepend + len, FIELD_ROOM);
            fx->field[fx->nfields++] = ta_str(t->prepend + len, i);
            len += i;
        }
        if (t->prepend)
            fx->prepend = ta_str(t->prepend, len);
        render_sender(t);
    }
    render_log_texts(t);
    return fx;
}

/* oom_effects - the effects of a transaction that could not be created */
static const ta_effects_t *
oom_effects(void)
{
    static ta_verdict_t v;
    static ta_effects_t fx;
    static char         reply[TA_REPLY_MAX], reply_text[TA_REPLY_MAX], log[TA_LOG_MAX];
    ta_log_ctx_t        lc = log_ctx("data", NULL, ta_str("", 0), ta_str("", 0), -1);

    ta_verdict_tempfail(&v, "out of memory");
    render_texts(NULL, &v, &lc, reply, reply_text, log, &fx);
    return &fx;
}

/* ta_txn_finish - the final verdict's effects: signatures made here */
const ta_effects_t *
ta_txn_finish(ta_txn_t *t)
{
    long long t0;
    size_t    ends[TA_MAX_SIGN];

    if (t == NULL)
        return oom_effects();
    if (t->state == TXN_DONE)
        return &t->fx;
    t0 = now_ns();
    t->fx.prepend.len = 0;
    if (t->state == TXN_SIGNING)
        sign(t, ends);
    else if (t->state == TXN_NEW)
        ta_verdict_tempfail(&t->v, "no header section was decided on");
    t->state = TXN_DONE;
    t->ns += now_ns() - t0;
    return render(t, t->v.action == TA_ACCEPT && t->prepend ? ends : NULL);
}

/* ta_txn_fail - the adapter cannot apply the verdict: a tempfail instead */
const ta_effects_t *
ta_txn_fail(ta_txn_t *t, const char *why)
{
    if (t == NULL)
        return oom_effects();
    ta_verdict_tempfail(&t->v, "%s", why);
    memcpy(t->v.enhanced, "4.3.0", 6);      /* the mail system, not the policy */
    t->state = TXN_DONE;
    t->fx.prepend.len = 0;
    return render(t, NULL);
}

/* ta_txn_queue_id - the MTA's queue id, for the log line (rendered again when out) */
void
ta_txn_queue_id(ta_txn_t *t, ta_str_t id)
{
    ta_log_ctx_t lc;

    if (t == NULL)
        return;
    t->qid_len = id.len < QID_MAX ? id.len : QID_MAX;
    if (t->qid_len)
        memcpy(t->qid, id.data, t->qid_len);
    if (t->state == TXN_DONE) {
        lc = txn_log_ctx(t);
        t->fx.log = ta_str(t->log, ta_log_format(&t->v, &lc, t->e->conf.log_style, t->log, TA_LOG_MAX));
    }
}

/* ta_txn_tenant - the tenant's name, or empty */
ta_str_t
ta_txn_tenant(const ta_txn_t *t)
{
    if (t == NULL || t->tenant == NULL)
        return ta_str("", 0);
    return t->tenant->name;
}

/* ta_txn_verdict - the current verdict (for the command line tool) */
const ta_verdict_t *
ta_txn_verdict(const ta_txn_t *t)
{
    static ta_verdict_t oom;

    if (t != NULL)
        return &t->v;
    ta_verdict_tempfail(&oom, "out of memory");
    return &oom;
}

/* ta_txn_free - release everything the transaction holds */
void
ta_txn_free(ta_txn_t *t)
{
    if (t == NULL)
        return;
    /* the last effects are the decision (ta_engine.h: counting) */
    if (t->state == TXN_DONE)
        count(t->e, t->tenant, &t->v, t->bytes);
    ta_dkim_free(t->dkim);
    ta_tenant_free(t->tenant);
    free(t->fields);
    free(t->prepend);
    free(t->login);
    free(t->arg);
    free(t);
}

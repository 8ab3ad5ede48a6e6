/*
 * NAME
 *	tenantalign_exim 8
 * SUMMARY
 *	Exim plugin: tenant alignment and DKIM signing for Debian's exim4
 * SYNOPSIS
 *	local_scan_path = /usr/lib/exim4/tenantalign_exim.so      (main section)
 *	${dlfunc{/usr/lib/exim4/tenantalign_exim.so}{tenantalign_mail}}
 *	${dlfunc{/usr/lib/exim4/tenantalign_exim.so}{tenantalign_data}}
 * DESCRIPTION
 *	A translation between Exim's local_scan()/dlfunc world and the core's
 *	ta_engine; no policy here. The tenant is $authenticated_id, and only
 *	when the session authenticated over SMTP (sender_host_authenticated):
 *	local submissions are left alone unless police_local is set.
 *
 *	local_scan()      checks the whole message (headers from header_list,
 *	                  body from the spool fd, LF line endings), adds the
 *	                  DKIM-Signature fields at the very top, or rejects
 *	                  (550 5.7.515 + reason) or tempfails (451) it.
 *	tenantalign_mail  for acl_smtp_mail: the envelope check; yields ""
 *	                  to accept, or the last line of the reply ("550
 *	                  5.7.515 ..." or "451 4.7.0 ...") for the ACL's deny
 *	                  or defer, having written the lines before it itself.
 *	tenantalign_data  for acl_smtp_data, for Exims without local_scan_path:
 *	                  the whole check and signing, body read from the spool
 *	                  -D file; yields "" or the reply, as tenantalign_mail.
 *	tenantalign_preload  for an option the daemon expands before it forks:
 *	                  the process's one-time set-up (and the store's keys).
 *
 *	Replies from an ACL: Exim splits every ACL message line longer than 75
 *	characters (string_split_message), so the first line of a refusal,
 *	Microsoft's sentence, cannot pass through an ACL whole. The dlfuncs
 *	write every line but the last with smtp_printf (in the same output
 *	stream, just before the ACL's own reply), and yield the last line
 *	with its codes, which Exim writes as it is (the core folds reasons
 *	into lines short enough). The ACL's deny/defer must follow directly.
 *
 *	Configuration: one file, $TENANTALIGN_CONF or
 *	/etc/tenantalign/tenantalign.conf, "key = value" lines:
 *	  store = /var/lib/tenantalign/tenants.cdb
 *	  mode = enforce | monitor | off
 *	  police_local = no | yes
 *	  counters = /var/lib/tenantalign/counters/exim.counters   (unset: none)
 *	  log_format = kv | json
 *	Everything is loaded lazily, in the receiving process, on first use:
 *	Exim forks per connection, so only the authenticated tenant's record
 *	and keys are ever read, and they are kept for further messages of the
 *	same connection.
 *
 *	One log line per decision goes to Exim's main log, with the message id
 *	as its qid.
 */
#define LOCAL_SCAN
#include <local_scan.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ta_engine.h"

#define EXPORT __attribute__((visibility("default")))
#define DEFAULT_CONF "/etc/tenantalign/tenantalign.conf"
#define MAX_HEADER (1024 * 1024)

typedef struct {
    char         store[1024];
    char         counters[1024];
    ta_log_style_t log_style;
    ta_enforce_t mode;
    int          police_local;
    char         error[512];     /* a configuration problem: every verdict tempfails */
} conf_t;

static conf_t       conf;
static int          loaded;
static ta_engine_t *engine;

EXPORT int local_scan_version_major(void);
EXPORT int local_scan_version_minor(void);
EXPORT int local_scan(int fd, uschar **return_text);
EXPORT int tenantalign_mail(uschar **yield, int argc, uschar *argv[]);
EXPORT int tenantalign_data(uschar **yield, int argc, uschar *argv[]);
EXPORT int tenantalign_preload(uschar **yield, int argc, uschar *argv[]);

/* local_scan_version_major - the ABI this plugin was built for */
int
local_scan_version_major(void)
{
    return LOCAL_SCAN_ABI_VERSION_MAJOR;
}

/* local_scan_version_minor - the ABI minor this plugin needs */
int
local_scan_version_minor(void)
{
    return LOCAL_SCAN_ABI_VERSION_MINOR;
}

/* trim - strip spaces at both ends, in place */
static char *
trim(char *s)
{
    char *e;

    while (*s == ' ' || *s == '\t')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
        *--e = '\0';
    return s;
}

/* read_conf - the configuration file; problems are kept in conf.error */
static void
read_conf(void)
{
    const char *path = getenv("TENANTALIGN_CONF");
    char        line[1200], *k, *v, *eq;
    FILE       *f;
    int         n = 0;

    if (path == NULL || path[0] == '\0')
        path = DEFAULT_CONF;
    snprintf(conf.store, sizeof(conf.store), "/var/lib/tenantalign/tenants.cdb");
    conf.mode = TA_ENFORCE;
    f = fopen(path, "r");
    if (f == NULL) {
        snprintf(conf.error, sizeof(conf.error), "cannot read %s: %s", path, strerror(errno));
        return;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        n++;
        k = trim(line);
        if (*k == '#' || *k == '\0')
            continue;
        eq = strchr(k, '=');
        if (eq == NULL) {
            snprintf(conf.error, sizeof(conf.error), "%s:%d: expected key = value", path, n);
            break;
        }
        *eq = '\0';
        k = trim(k);
        v = trim(eq + 1);
        if (strcmp(k, "store") == 0 && v[0] == '/') {
            snprintf(conf.store, sizeof(conf.store), "%s", v);
        } else if (strcmp(k, "mode") == 0 && (!strcmp(v, "enforce") || !strcmp(v, "monitor") || !strcmp(v, "off"))) {
            conf.mode = v[0] == 'e' ? TA_ENFORCE : v[0] == 'm' ? TA_MONITOR : TA_OFF;
        } else if (strcmp(k, "counters") == 0 && (v[0] == '/' || v[0] == '\0')) {
            snprintf(conf.counters, sizeof(conf.counters), "%s", v);
        } else if (strcmp(k, "log_format") == 0 && (!strcmp(v, "kv") || !strcmp(v, "json"))) {
            conf.log_style = v[0] == 'j' ? TA_LOG_JSON : TA_LOG_KV;
        } else if (strcmp(k, "police_local") == 0 && (!strcmp(v, "yes") || !strcmp(v, "no"))) {
            conf.police_local = v[0] == 'y';
        } else {
            /* with the value, so that a comment after it is plain to see */
            snprintf(conf.error, sizeof(conf.error), "%s:%d: unknown key or bad value: %.60s = \"%.120s\"%s",
                     path, n, k, v, strchr(v, '#') ? " (a comment must be a line of its own)" : "");
            break;
        }
    }
    fclose(f);
}

/* engine_conf - the engine's settings, from the configuration file */
static void
engine_conf(ta_engine_conf_t *ec)
{
    memset(ec, 0, sizeof(*ec));
    ec->store_path = conf.store;
    ec->counters_path = conf.counters;
    ec->log_style = conf.log_style;
    ec->eol = TA_EOL_LF;            /* Exim's spool and header_list use LF */
    ec->mode = conf.mode;
    ec->fault = conf.error;         /* every verdict tempfails naming it */
}

/* setup - configuration and engine, once per process */
static void
setup(void)
{
    ta_engine_conf_t ec;
    char             err[512];

    if (loaded)
        return;
    loaded = 1;
    read_conf();
    engine_conf(&ec);
    if (ta_engine_open(&ec, &engine, err, sizeof(err)) != TA_OK)
        engine = NULL;      /* out of memory: every transaction tempfails */
    if (err[0])     /* an unusable store or PSL: the panic log too, as the alarm goes */
        log_write(0, LOG_MAIN | LOG_PANIC, "tenantalign: %s", err);
}

/* policed - is this message one we check? */
static int
policed(void)
{
    if (sender_host_authenticated != NULL && sender_host_authenticated[0] != '\0')
        return 1;
    return conf.police_local;
}

/* login - the SMTP AUTH id */
static ta_str_t
login(void)
{
    uschar *id = expand_string(US "$authenticated_id");

    return ta_str_cstr(id ? (const char *) id : "");
}

/* envelope - the sender as a reverse-path the core parses: "<>" when null */
static ta_str_t
envelope(void)
{
    if (sender_address == NULL || sender_address[0] == '\0')
        return ta_str("<>", 2);
    return ta_str_cstr((const char *) sender_address);
}

/* exim_copy - a counted string in Exim's pool, valid after we return */
static uschar *
exim_copy(ta_str_t s)
{
    uschar *p = store_get((int) s.len + 1, GET_TAINTED);

    memcpy(p, s.data, s.len);
    p[s.len] = '\0';
    return p;
}

/* log_effects - the decision's one log line; once per bad store file (in
 * this process), the core's alarm in the main and panic logs too */
static void
log_effects(const ta_effects_t *fx)
{
    if (fx->alarm.len)
        log_write(0, LOG_MAIN | LOG_PANIC, "tenantalign: %.*s", (int) fx->alarm.len, fx->alarm.data);
    if (fx->warning.len)
        log_write(0, LOG_MAIN, "tenantalign: warning: %.*s", (int) fx->warning.len, fx->warning.data);
    log_write(0, LOG_MAIN, "tenantalign: %.*s", (int) fx->log.len, fx->log.data);
}

/*
 * acl_reply - the yield of a dlfunc for a refusal: every line but the last
 * written now, the last (codes included, no line ending) for the ACL
 */
static uschar *
acl_reply(const ta_effects_t *fx)
{
    ta_str_t last = ta_str(fx->reply.data + fx->reply_last, fx->reply.len - fx->reply_last);

    if (fx->reply_last > 0 && smtp_input && !smtp_batched_input)
        smtp_printf("%.*s", TRUE, (int) fx->reply_last, fx->reply.data);
    while (last.len > 0 && (last.data[last.len - 1] == '\n' || last.data[last.len - 1] == '\r'))
        last.len--;
    return exim_copy(last);
}

/* header_section - the live header fields, LF-terminated, then the blank line */
static char *
header_section(size_t *len)
{
    header_line *h;
    size_t       n = 1;
    char        *buf, *p;

    for (h = header_list; h != NULL; h = h->next)
        if (h->type != '*')
            n += (size_t) h->slen;
    if (n > MAX_HEADER)
        return NULL;
    buf = malloc(n);
    if (buf == NULL)
        return NULL;
    for (p = buf, h = header_list; h != NULL; h = h->next) {
        if (h->type == '*')
            continue;
        memcpy(p, h->text, (size_t) h->slen);
        p += h->slen;
    }
    *p++ = '\n';
    *len = (size_t) (p - buf);
    return buf;
}

/* apply - what an accepted verdict asks for: header fields at the very top, the sender */
static void
apply(const ta_effects_t *fx)
{
    size_t i;

    /* added at the top one by one, so the last goes in first */
    for (i = fx->nfields; i-- > 0; )
        header_add_at_position(FALSE, NULL, FALSE, ' ', "%.*s",
                               (int) fx->field[i].len, fx->field[i].data);
    if (fx->sender_changed)
        sender_address = exim_copy(fx->sender);
}

/* check_message - the whole check of the current message; body from fd
 * (positioned at the body). The effects are logged and, when accepted,
 * applied; the caller frees *txn after using them. */
static const ta_effects_t *
check_message(int fd, ta_txn_t **txn)
{
    ta_txn_t *t;
    char     *hdr, buf[65536];
    size_t    hlen = 0;
    ssize_t   r = 0;
    const ta_effects_t *fx;

    t = *txn = engine ? ta_txn_new(engine, login(), envelope(), TA_MAIL_PATH) : NULL;
    ta_txn_queue_id(t, ta_str_cstr(message_id ? (const char *) message_id : ""));
    hdr = header_section(&hlen);
    if (hdr == NULL) {
        fx = ta_txn_fail(t, "out of memory");
    } else {
        if (ta_txn_header(t, hdr, hlen) == TA_ACCEPT) {
            while ((r = read(fd, buf, sizeof(buf))) > 0)
                ta_txn_body(t, buf, (size_t) r);
        }
        free(hdr);
        if (r < 0) {
            snprintf(buf, sizeof(buf), "cannot read the spooled body: %s", strerror(errno));
            fx = ta_txn_fail(t, buf);
        } else {
            fx = ta_txn_finish(t);
        }
    }
    if (fx->action == TA_ACCEPT)
        apply(fx);
    log_effects(fx);
    return fx;
}

/* local_scan - Exim's hook after DATA */
int
local_scan(int fd, uschar **return_text)
{
    const ta_effects_t *fx;
    ta_txn_t           *t;
    int                 rc;

    setup();
    if (!policed())
        return LOCAL_SCAN_ACCEPT;
    fx = check_message(fd, &t);
    rc = fx->action == TA_ACCEPT ? LOCAL_SCAN_ACCEPT
       : fx->action == TA_REJECT ? LOCAL_SCAN_REJECT : LOCAL_SCAN_TEMPREJECT;
    if (rc != LOCAL_SCAN_ACCEPT)
        *return_text = exim_copy(fx->reply_text);
    ta_txn_free(t);
    return rc;
}

/* tenantalign_mail - dlfunc for acl_smtp_mail: "" or the reply's last line */
int
tenantalign_mail(uschar **yield, int argc, uschar *argv[])
{
    ta_mail_t *m;

    (void) argc;
    (void) argv;
    setup();
    *yield = US "";
    if (!policed())
        return OK;
    m = store_get((int) sizeof(*m), GET_UNTAINTED);
    if (engine == NULL)
        return FAIL;    /* out of memory: the expansion fails, Exim says 451 */
    ta_engine_mail(engine, login(), envelope(), TA_MAIL_PATH, m);
    if (m->fx.action == TA_ACCEPT)
        return OK;
    log_effects(&m->fx);
    *yield = acl_reply(&m->fx);
    return OK;
}

/* spool_data_fd - the -D file of the message being received, at its body */
static int
spool_data_fd(void)
{
    uschar *dir = expand_string(US "$spool_directory");
    char    path[2048];
    int     fd, split;

    if (dir == NULL || message_id == NULL)
        return -1;
    for (split = 0; split < 2; split++) {
        if (split)
            snprintf(path, sizeof(path), "%s/input/%c/%s-D", dir, message_id[5], message_id);
        else
            snprintf(path, sizeof(path), "%s/input/%s-D", dir, message_id);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            if (lseek(fd, SPOOL_DATA_START_OFFSET, SEEK_SET) < 0) {
                close(fd);
                return -1;
            }
            return fd;
        }
    }
    return -1;
}

/* tenantalign_data - dlfunc for acl_smtp_data: the whole check and signing */
int
tenantalign_data(uschar **yield, int argc, uschar *argv[])
{
    const ta_effects_t *fx;
    ta_txn_t           *t;
    int                 fd;

    (void) argc;
    (void) argv;
    setup();
    *yield = US "";
    if (!policed())
        return OK;
    fd = spool_data_fd();
    if (fd < 0) {
        t = engine ? ta_txn_new(engine, login(), envelope(), TA_MAIL_PATH) : NULL;
        ta_txn_queue_id(t, ta_str_cstr(message_id ? (const char *) message_id : ""));
        fx = ta_txn_fail(t, "cannot read the message from the spool");
        log_effects(fx);
    } else {
        fx = check_message(fd, &t);
        close(fd);
    }
    if (fx->action != TA_ACCEPT)
        *yield = acl_reply(fx);
    ta_txn_free(t);
    return OK;
}

/*
 * exim_user_access - the daemon runs as root, its receiving processes as
 * Exim's user: say now, once, what that user cannot read (the store, a
 * key), rather than let the first tenant find it out from a 451
 */
static void
exim_user_access(ta_engine_t *e)
{
    struct passwd pw, *pwp = NULL;
    char          buf[1024], problem[1024];
    uschar       *uid = expand_string(US "$exim_uid");

    if (geteuid() != 0 || uid == NULL
        || getpwuid_r((uid_t) strtoul(CS uid, NULL, 10), &pw, buf, sizeof(buf), &pwp) != 0 || pwp == NULL)
        return;
    ta_engine_check_access(e, pw.pw_name, problem, sizeof(problem));
    if (problem[0] != '\0')
        log_write(0, LOG_MAIN, "tenantalign: warning: %s", problem);
}

/* warm_keys - the store's keys parsed here, through an engine of its own that
 * is closed again: connections open theirs, so the store itself stays lazy */
static void
warm_keys(void)
{
    ta_engine_conf_t ec;
    ta_engine_t     *e;
    char             err[512];

    read_conf();
    if (conf.error[0] != '\0')
        return;
    engine_conf(&ec);
    if (ta_engine_open(&ec, &e, err, sizeof(err)) == TA_OK) {
        (void) ta_engine_warm_keys(e, err, sizeof(err));
        if (err[0] != '\0')
            log_write(0, LOG_MAIN, "tenantalign: warning: %s", err);
        exim_user_access(e);
        ta_engine_close(e);
    }
}

/*
 * tenantalign_preload - dlfunc for an option the daemon expands before it
 * forks for a connection (smtp_accept_max_per_host): the process's
 * one-time set-up (ta_engine_preload) done once, in the daemon, so that
 * each connection's process starts with it. Yields its argument (or
 * "0"). With a second argument "keys", also parses the store's active
 * signing keys there; a key file replaced later is noticed (stat) and
 * parsed again by the connection that uses it. The store stays lazy.
 */
int
tenantalign_preload(uschar **yield, int argc, uschar *argv[])
{
    static int done;

    *yield = argc > 0 && argv[0] ? argv[0] : US "0";
    if (done)
        return OK;
    done = 1;
    ta_engine_preload();
    if (argc > 1 && argv[1] && strcmp(CS argv[1], "keys") == 0)
        warm_keys();
    return OK;
}

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
 *	                  to accept, or the reply text ("5.7.515 ..." or
 *	                  "4.7.0 ...") for the ACL to deny or defer with.
 *	tenantalign_data  for acl_smtp_data, for Exims without local_scan_path:
 *	                  the whole check and signing, body read from the spool
 *	                  -D file; yields "" or the reply text.
 *
 *	Configuration: one file, $TENANTALIGN_CONF or
 *	/etc/tenantalign/tenantalign.conf, "key = value" lines:
 *	  store = /var/lib/tenantalign/tenants.cdb
 *	  mode = enforce | monitor | off
 *	  police_local = no | yes
 *	Everything is loaded lazily, in the receiving process, on first use:
 *	Exim forks per connection, so only the authenticated tenant's record
 *	and keys are ever read, and they are kept for further messages of the
 *	same connection.
 *
 *	One log line per decision goes to Exim's main log.
 */
#define LOCAL_SCAN
#include <local_scan.h>

#include <errno.h>
#include <openssl/decoder.h>
#include <openssl/evp.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ta_engine.h"
#include "ta_orgdomain.h"
#include "ta_reply.h"

#define EXPORT __attribute__((visibility("default")))
#define DEFAULT_CONF "/etc/tenantalign/tenantalign.conf"
#define MAX_HEADER (1024 * 1024)

typedef struct {
    char         store[1024];
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
        } else if (strcmp(k, "police_local") == 0 && (!strcmp(v, "yes") || !strcmp(v, "no"))) {
            conf.police_local = v[0] == 'y';
        } else {
            snprintf(conf.error, sizeof(conf.error), "%s:%d: unknown key or bad value \"%s\"", path, n, k);
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
    ec->eol = TA_EOL_LF;            /* Exim's spool and header_list use LF */
    ec->mode = conf.mode;
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
    if (ta_engine_open(&ec, &engine, err, sizeof(err)) != TA_OK) {
        snprintf(conf.error, sizeof(conf.error), "%s", err);
        engine = NULL;
    } else if (err[0]) {
        log_write(0, LOG_MAIN, "tenantalign: %s", err);
    }
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

/* exim_copy - a string in Exim's pool, valid after we return */
static uschar *
exim_copy(const char *s, size_t n)
{
    uschar *p = store_get((int) n + 1, GET_TAINTED);

    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

/* config_verdict - our configuration is broken: tempfail, said why */
static int
config_broken(ta_verdict_t *v)
{
    if (conf.error[0] == '\0' && engine != NULL)
        return 0;
    memset(v, 0, sizeof(*v));
    ta_verdict_tempfail(v, "tenantalign configuration: %s", conf.error[0] ? conf.error : "no engine");
    return 1;
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

/* add_signatures - each DKIM-Signature field at the very top, in order */
static void
add_signatures(ta_str_t sigs)
{
    const char *start[TA_MAX_SIGN + 1], *p = sigs.data, *end = sigs.data + sigs.len;
    int         n = 0, i;

    /* split before each "DKIM-Signature:" at the start of a line */
    while (p < end && n < TA_MAX_SIGN) {
        start[n++] = p;
        do {
            const char *nl = memchr(p, '\n', (size_t) (end - p));
            p = nl ? nl + 1 : end;
        } while (p < end && (*p == ' ' || *p == '\t'));
    }
    start[n] = end;
    /* added at the top one by one, so the last goes in first */
    for (i = n - 1; i >= 0; i--)
        header_add_at_position(FALSE, NULL, FALSE, ' ', "%.*s", (int) (start[i + 1] - start[i]), start[i]);
}

/* log_txn - the one log line of a decision */
static void
log_txn(const ta_txn_t *t)
{
    char line[1024];

    ta_txn_log(t, line, sizeof(line));
    log_write(0, LOG_MAIN, "tenantalign: %s", line);
}

/*
 * check_message - the whole check of the current message; body from fd
 * (positioned at the body). Returns the final verdict's action and fills
 * *text with the reply text for Exim, or NULL.
 */
static ta_action_t
check_message(int fd, uschar **text)
{
    static ta_verdict_t fail;
    const ta_verdict_t *v;
    ta_txn_t           *t;
    ta_str_t            sigs;
    char               *hdr, reply[1024], buf[65536];
    size_t              hlen = 0;
    ssize_t             r;
    ta_action_t         action;

    *text = NULL;
    if (config_broken(&fail)) {
        ta_reply_text(&fail, reply, sizeof(reply));
        log_write(0, LOG_MAIN, "tenantalign: verdict=tempfail reason=\"%s\"", fail.reason);
        *text = exim_copy(reply, strlen(reply));
        return TA_TEMPFAIL;
    }
    t = ta_txn_new(engine, login(), envelope());
    hdr = header_section(&hlen);
    if (hdr == NULL) {
        v = ta_txn_header(NULL, "", 0);     /* out of memory: tempfail */
    } else {
        v = ta_txn_header(t, hdr, hlen);
        free(hdr);
    }
    if (v->action == TA_ACCEPT && t != NULL) {
        while ((r = read(fd, buf, sizeof(buf))) > 0)
            ta_txn_body(t, buf, (size_t) r);
        if (r < 0)
            ta_verdict_tempfail((ta_verdict_t *) v, "cannot read the spooled body: %s", strerror(errno));
        else
            v = ta_txn_finish(t, &sigs);
        if (v->action == TA_ACCEPT) {
            if (sigs.len > 0)
                add_signatures(sigs);
            if (v->monitor)
                header_add(' ', "X-Tenantalign: monitor; would refuse: %s\n", v->reason);
            if (v->rewrite_sender)
                sender_address = exim_copy(v->new_sender, strlen(v->new_sender));
        }
    }
    log_txn(t);
    action = v->action;
    if (action != TA_ACCEPT) {
        ta_reply_text(v, reply, sizeof(reply));
        *text = exim_copy(reply, strlen(reply));
    }
    ta_txn_free(t);
    return action;
}

/* local_scan - Exim's hook after DATA */
int
local_scan(int fd, uschar **return_text)
{
    setup();
    if (!policed())
        return LOCAL_SCAN_ACCEPT;
    switch (check_message(fd, return_text)) {
    case TA_ACCEPT:
        return LOCAL_SCAN_ACCEPT;
    case TA_REJECT:
        return LOCAL_SCAN_REJECT;
    default:
        return LOCAL_SCAN_TEMPREJECT;
    }
}

/* tenantalign_mail - dlfunc for acl_smtp_mail: "" or the reply text */
int
tenantalign_mail(uschar **yield, int argc, uschar *argv[])
{
    ta_verdict_t v;
    char         reply[1024], line[1024];

    (void) argc;
    (void) argv;
    setup();
    *yield = US "";
    if (!policed())
        return OK;
    if (!config_broken(&v))
        ta_engine_mail(engine, login(), envelope(), &v);
    if (v.action == TA_ACCEPT)
        return OK;
    ta_log_format(&v, ta_str("", 0), login(), line, sizeof(line));
    log_write(0, LOG_MAIN, "tenantalign: at MAIL FROM: %s", line);
    ta_reply_text(&v, reply, sizeof(reply));
    *yield = exim_copy(reply, strlen(reply));
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
    uschar     *text = NULL;
    ta_action_t a;
    int         fd;

    (void) argc;
    (void) argv;
    setup();
    *yield = US "";
    if (!policed())
        return OK;
    fd = spool_data_fd();
    if (fd < 0) {
        log_write(0, LOG_MAIN, "tenantalign: verdict=tempfail reason=\"spool data file not found\"");
        *yield = US "4.7.0 tenantalign cannot read the message from the spool";
        return OK;
    }
    a = check_message(fd, &text);
    close(fd);
    if (a != TA_ACCEPT && text != NULL)
        *yield = text;
    return OK;
}


/* warm_sign - generate a throwaway key of a type and sign once with it */
static void
warm_sign(const char *type, size_t bits)
{
    EVP_PKEY      *k;
    EVP_MD_CTX    *ctx;
    unsigned char  sig[512];
    size_t         len = sizeof(sig);

    k = bits ? EVP_PKEY_Q_keygen(NULL, NULL, type, bits) : EVP_PKEY_Q_keygen(NULL, NULL, type);
    ctx = EVP_MD_CTX_new();
    if (k != NULL && ctx != NULL
        && EVP_DigestSignInit(ctx, NULL, bits ? EVP_sha256() : NULL, NULL, k) == 1)
        (void) EVP_DigestSign(ctx, sig, &len, (const unsigned char *) "warm", 4);
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(k);
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
        (void) ta_engine_warm_keys(e);
        ta_engine_close(e);
    }
}

/*
 * tenantalign_preload - dlfunc for an option the daemon expands before it
 * forks for a connection (smtp_accept_max_per_host): loads this plugin,
 * OpenSSL and the Public Suffix List once, in the daemon, and warms
 * OpenSSL's key decoders, so that each connection's process starts with
 * them instead of paying for them. Yields its argument (or "0"). With a
 * second argument "keys", also parses the store's active signing keys (up
 * to the key cache's 256) there, so that a connection starts with its
 * tenant's keys parsed; a key file replaced later is noticed (stat) and
 * parsed again by the connection that uses it. The store itself stays lazy.
 */
int
tenantalign_preload(uschar **yield, int argc, uschar *argv[])
{
    static int        done;
    OSSL_DECODER_CTX *dctx;
    EVP_PKEY         *pkey = NULL;
    EVP_MD           *md;

    *yield = argc > 0 && argv[0] ? argv[0] : US "0";
    if (done)
        return OK;
    done = 1;
    (void) ta_psl_ready();
    dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, "PEM", NULL, "RSA",
                                         OSSL_KEYMGMT_SELECT_KEYPAIR, NULL, NULL);
    OSSL_DECODER_CTX_free(dctx);
    dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, "PEM", NULL, "ED25519",
                                         OSSL_KEYMGMT_SELECT_KEYPAIR, NULL, NULL);
    OSSL_DECODER_CTX_free(dctx);
    md = EVP_MD_fetch(NULL, "SHA256", NULL);
    EVP_MD_free(md);
    /* one throwaway signature per algorithm: the signing paths' first-use
     * set-up happens here, once, not in every connection */
    warm_sign("ED25519", 0);
    warm_sign("RSA", 1024);
    if (argc > 1 && argv[1] && strcmp(CS argv[1], "keys") == 0)
        warm_keys();
    return OK;
}

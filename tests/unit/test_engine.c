/*
 * test_engine - the transaction API (ta_engine.h) on its own, as an adapter
 * drives it: the MAIL-time check (strict parse, rebuilt command, reply and
 * log), a transaction fed in chunks (header boundary, decision, body,
 * effects: header fields, sender, reply, log), the envelope rewrite, a
 * failure after the decision, monitor mode, LF line endings, our faults.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <openssl/pem.h>

#include "ta_counters.h"
#include "ta_engine.h"
#include "ta_store.h"

static char dir[] = "/tmp/ta-test-engineXXXXXX";
static char store[4096];

static const char source[] =
    "dns_check off;     # no DNS here: the keys sign as the source says\n"
    "tenant acme {\n"
    "    login acme;\n"
    "    identity acme.example {\n"
    "        mode domain; return_path bounces.acme.example;\n"
    "        key e1 { algorithm ed25519-sha256; file a.e1.pem; state active; }\n"
    "    }\n"
    "    identity rw.example {\n"
    "        mode domain; return_path bounces.rw.example; rewrite_return_path on;\n"
    "        key e1 { algorithm ed25519-sha256; file rw.e1.pem; state active; }\n"
    "    }\n"
    "}\n"
    "tenant beta {\n"
    "    login beta;\n"
    "    identity beta.example {\n"
    "        mode domain;\n"
    "        key e1 { algorithm ed25519-sha256; file b.e1.pem; state active; }\n"
    "    }\n"
    "}\n";

static const char message[] =
    "From: Billing <billing@acme.example>\r\n"
    "To: someone@customer.example\r\n"
    "Subject: statement\r\n"
    "\r\n"
    "Hello,\r\n"
    "\r\n"
    "your statement.\r\n";

/* make_key - an Ed25519 key file readable by its owner only */
static void
make_key(const char *name)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    char      path[4200];
    FILE     *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    chmod(path, 0600);
    EVP_PKEY_free(k);
}

static int
setup(void **state)
{
    char  src[4200], err[512];
    FILE *f;

    (void) state;
    assert_non_null(mkdtemp(dir));
    make_key("a.e1.pem");
    make_key("rw.e1.pem");
    make_key("b.e1.pem");
    snprintf(src, sizeof(src), "%s/tenants.conf", dir);
    snprintf(store, sizeof(store), "%s/tenants.cdb", dir);
    f = fopen(src, "w");
    assert_non_null(f);
    fputs(source, f);
    fclose(f);
    assert_int_equal(ta_store_compile(src, store, NULL, err, sizeof(err)), TA_OK);
    return 0;
}

static int
teardown(void **state)
{
    char cmd[4200];

    (void) state;
    ta_engine_exit();
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd);
}

/* engine - an engine on the test store */
static ta_engine_t *
engine(ta_eol_t eol, ta_enforce_t mode, const char *path, const char *fault)
{
    ta_engine_conf_t conf;
    ta_engine_t     *e;
    char             err[512];

    memset(&conf, 0, sizeof(conf));
    conf.store_path = path ? path : store;
    conf.eol = eol;
    conf.mode = mode;
    conf.fault = fault;
    assert_int_equal(ta_engine_open(&conf, &e, err, sizeof(err)), TA_OK);
    return e;
}

/* has - the counted string contains text */
static int
has(ta_str_t s, const char *text)
{
    size_t n = strlen(text), i;

    for (i = 0; i + n <= s.len; i++)
        if (memcmp(s.data + i, text, n) == 0)
            return 1;
    return 0;
}

/* is - the counted string equals text */
static int
is(ta_str_t s, const char *text)
{
    return s.len == strlen(text) && memcmp(s.data, text, s.len) == 0;
}

/* acme_txn - a transaction of tenant acme's login */
static ta_txn_t *
acme_txn(ta_engine_t *e, const char *arg, ta_mail_form_t form)
{
    return ta_txn_new(e, ta_str_cstr("acme"), ta_str_cstr(arg), form);
}

/* run - a whole transaction, the message fed in chunks of step octets */
static const ta_effects_t *
run(ta_txn_t *t, const char *msg, size_t step)
{
    size_t len = strlen(msg), pos = 0, hlen = TA_EOH_NONE, at, n;

    while (pos < len && hlen == TA_EOH_NONE) {
        n = len - pos < step ? len - pos : step;
        at = ta_txn_header_end(t, msg + pos, n);
        if (at != TA_EOH_NONE)
            hlen = pos + at;
        pos += n;
    }
    if (hlen == TA_EOH_NONE)
        hlen = len;
    if (ta_txn_header(t, msg, hlen) == TA_ACCEPT)
        for (pos = hlen; pos < len; pos += step)
            ta_txn_body(t, msg + pos, len - pos < step ? len - pos : step);
    return ta_txn_finish(t);
}

/* next_txn - the previous transaction freed, a new one of acme's run */
static const ta_effects_t *
next_txn(ta_txn_t **t, ta_engine_t *e, const char *arg, ta_mail_form_t form,
    const char *msg, size_t step)
{
    ta_txn_free(*t);
    *t = acme_txn(e, arg, form);
    return run(*t, msg, step);
}

static void
test_mail_time(void **state)
{
    ta_engine_t *e = engine(TA_EOL_CRLF, TA_ENFORCE, NULL, NULL);
    ta_mail_t    m;

    (void) state;
    ta_engine_mail(e, ta_str_cstr("acme"), ta_str_cstr("FROM:<b@bounces.acme.example> SIZE=100 BODY=8BITMIME"),
                   TA_MAIL_ARG, &m);
    assert_int_equal(m.fx.action, TA_ACCEPT);
    assert_true(is(m.command, "MAIL FROM:<b@bounces.acme.example> SIZE=100 BODY=8BITMIME\r\n"));

    /* a foreign sender (beta has no identity that rewrites it): Microsoft's line, then the reason; the tenant is logged */
    ta_engine_mail(e, ta_str_cstr("beta"), ta_str_cstr("FROM:<ceo@globex.example>"), TA_MAIL_ARG, &m);
    assert_int_equal(m.fx.action, TA_REJECT);
    assert_int_equal(m.command.len, 0);
    assert_true(has(m.fx.reply, "550-5.7.515 Access denied, sending domain globex.example does not meet the required authentication level\r\n"));
    assert_memory_equal(m.fx.reply.data + m.fx.reply_last, "550 5.7.515 ", 12);
    assert_true(has(m.fx.log, "stage=mail tenant=beta login=beta stream=transactional qid=- from=- envelope=globex.example verdict=reject class=envelope_not_owned code=\"550 5.7.515\" reason="));

    /* anything after the path but parameters is refused, never forwarded */
    ta_engine_mail(e, ta_str_cstr("acme"), ta_str_cstr("FROM:<b@bounces.acme.example>ceo@globex.example"),
                   TA_MAIL_ARG, &m);
    assert_int_equal(m.fx.action, TA_REJECT);
    assert_memory_equal(m.fx.reply.data, "501 5.5.4 ", 10);
    assert_null(memchr(m.fx.reply.data, '-', 4));
    assert_int_equal(m.command.len, 0);
    ta_engine_mail(e, ta_str_cstr("acme"), ta_str_cstr("FROM:<b@bounces.acme.example> <ceo@globex.example>"),
                   TA_MAIL_ARG, &m);
    assert_memory_equal(m.fx.reply.data, "501 5.5.4 ", 10);

    /* a reverse-path the MTA parsed; an unknown login */
    ta_engine_mail(e, ta_str_cstr("acme"), ta_str_cstr("b@acme.example"), TA_MAIL_PATH, &m);
    assert_int_equal(m.fx.action, TA_ACCEPT);
    ta_engine_mail(e, ta_str_cstr("mallory"), ta_str_cstr("b@acme.example"), TA_MAIL_PATH, &m);
    assert_int_equal(m.fx.action, TA_REJECT);
    assert_true(has(m.fx.log, "tenant=- login=mallory"));
    ta_engine_close(e);
}

static void
test_transaction(void **state)
{
    ta_engine_t        *e = engine(TA_EOL_CRLF, TA_ENFORCE, NULL, NULL);
    const ta_effects_t *fx;
    const ta_effects_t *first;
    ta_txn_t           *t;
    size_t              step;
    char                sig[4096];
    size_t              siglen = 0;

    (void) state;
    /* every chunking gives the same decision and the same header field */
    for (step = 1; step <= sizeof(message); step++) {
        t = acme_txn(e, "FROM:<b@bounces.acme.example> SIZE=10", TA_MAIL_ARG);
        fx = run(t, message, step);
        assert_int_equal(fx->action, TA_ACCEPT);
        assert_int_equal(fx->nfields, 1);
        assert_true(fx->prepend.len > 0);
        ta_txn_free(t);
    }
    t = acme_txn(e, "FROM:<b@bounces.acme.example> SIZE=10", TA_MAIL_ARG);
    first = fx = run(t, message, 7);
    assert_int_equal(fx->nfields, 1);
    assert_memory_equal(fx->field[0].data, "DKIM-Signature: ", 16);
    assert_memory_equal(fx->field[0].data + fx->field[0].len - 2, "\r\n", 2);
    assert_true(fx->prepend.data == fx->field[0].data && fx->prepend.len == fx->field[0].len);
    assert_true(has(fx->field[0], " d=acme.example;") && has(fx->field[0], " s=e1;"));
    assert_false(fx->sender_changed);
    assert_true(is(fx->sender, "b@bounces.acme.example"));
    assert_int_equal(fx->mail_command.len, 0);
    assert_true(has(fx->log, "stage=data tenant=acme login=acme stream=transactional qid=- from=acme.example envelope=bounces.acme.example verdict=accept code=\"250 2.0.0\" signed=acme.example:e1 us="));
    /* finishing twice gives the same effects */
    memcpy(sig, fx->prepend.data, siglen = fx->prepend.len);
    fx = ta_txn_finish(t);
    assert_ptr_equal(fx, first);
    assert_memory_equal(fx->prepend.data, sig, siglen);

    /* the adapter cannot apply it: reply and log become one tempfail */
    fx = ta_txn_fail(t, "cannot add a header");
    assert_int_equal(fx->action, TA_TEMPFAIL);
    assert_int_equal(fx->nfields, 0);
    assert_int_equal(fx->prepend.len, 0);
    assert_true(is(fx->reply, "451 4.3.0 cannot add a header\r\n"));
    assert_true(has(fx->log, "verdict=tempfail class=system code=\"451 4.3.0\" reason=\"cannot add a header\""));
    assert_false(has(fx->log, "signed="));

    /* refused at the header: no fields, the reply's lines */
    fx = next_txn(&t, e, "FROM:<b@bounces.acme.example>", TA_MAIL_ARG,
                  "From: ceo@globex.example\r\n\r\nx\r\n", 5);
    assert_int_equal(fx->action, TA_REJECT);
    assert_int_equal(fx->nfields, 0);
    assert_memory_equal(fx->reply.data, "550-5.7.515 Access denied, sending domain globex.example ", 57);
    assert_memory_equal(fx->reply_text.data, "5.7.515 Access denied", 21);
    assert_true(has(fx->log, "verdict=reject class=from_not_owned code=\"550 5.7.515\" reason=\"From domain globex.example is not a sending domain of tenant acme\""));
    ta_txn_free(t);

    /* an adapter that hands over more than the header section: a tempfail */
    t = acme_txn(e, "<b@acme.example>", TA_MAIL_PATH);
    assert_int_equal(ta_txn_header(t, "From: b@acme.example\r\n\r\nX: y\r\n\r\n", 32), TA_TEMPFAIL);
    ta_txn_free(t);

    /* no empty line: the whole message is its header section */
    t = acme_txn(e, "<b@acme.example>", TA_MAIL_PATH);
    fx = run(t, "From: b@acme.example\r\n", 3);
    assert_int_equal(fx->action, TA_ACCEPT);
    ta_txn_free(t);
    ta_engine_close(e);
}

/* expect_sender - an accepted rewrite to ceo@bounces.rw.example, its MAIL command */
static void
expect_sender(const ta_effects_t *fx, const char *command)
{
    assert_int_equal(fx->action, TA_ACCEPT);
    assert_true(fx->sender_changed);
    assert_true(is(fx->sender, "ceo@bounces.rw.example"));
    assert_true(is(fx->mail_command, command));
    assert_true(has(fx->log, "new_sender=ceo@bounces.rw.example"));
}

static void
test_rewrite(void **state)
{
    ta_mail_t    m;
    ta_txn_t    *t;
    ta_engine_t *e = engine(TA_EOL_CRLF, TA_ENFORCE, NULL, NULL);

    (void) state;
    /* a foreign envelope is accepted at MAIL FROM: it will be replaced */
    ta_engine_mail(e, ta_str_cstr("acme"), ta_str_cstr("FROM:<ceo@paypal.example> SIZE=5 ENVID=x1"), TA_MAIL_ARG, &m);
    assert_int_equal(m.fx.action, TA_ACCEPT);
    t = acme_txn(e, "FROM:<ceo@paypal.example> SIZE=5 ENVID=x1", TA_MAIL_ARG);
    expect_sender(run(t, "From: news@rw.example\r\n\r\nhi\r\n", 4),
                  "MAIL FROM:<ceo@bounces.rw.example> SIZE=5 ENVID=x1\r\n");
    ta_txn_free(t);
    /* the MTA's own path: the sender, no command */
    t = acme_txn(e, "ceo@paypal.example", TA_MAIL_PATH);
    expect_sender(run(t, "From: news@rw.example\r\n\r\nhi\r\n", 100), "");
    ta_txn_free(t);
    ta_engine_close(e);
}

static void
test_monitor_lf(void **state)
{
    ta_engine_t        *e = engine(TA_EOL_LF, TA_MONITOR, NULL, NULL);
    const ta_effects_t *fx;
    ta_txn_t           *t;

    (void) state;
    /* a would-be refusal with a key that aligns: signed, and marked */
    t = acme_txn(e, "<ceo@globex.example>", TA_MAIL_PATH);
    fx = run(t, "From: billing@acme.example\n\nhi\n", 4);
    assert_int_equal(fx->action, TA_ACCEPT);
    assert_true(fx->monitor);
    assert_int_equal(fx->nfields, 2);
    assert_memory_equal(fx->field[0].data, "DKIM-Signature: ", 16);
    assert_memory_equal(fx->field[1].data, "X-Tenantalign: monitor; would refuse: envelope sender domain", 60);
    assert_null(memchr(fx->prepend.data, '\r', fx->prepend.len));
    assert_int_equal(fx->field[0].len + fx->field[1].len, fx->prepend.len);
    assert_int_equal(fx->field[1].data[fx->field[1].len - 1], '\n');
    assert_true(has(fx->log, "verdict=accept monitor=yes class=not_aligned"));
    /* nothing aligns: only the mark */
    fx = next_txn(&t, e, "<b@acme.example>", TA_MAIL_PATH, "From: ceo@globex.example\n\nhi\n", 4);
    assert_int_equal(fx->action, TA_ACCEPT);
    assert_int_equal(fx->nfields, 1);
    assert_memory_equal(fx->field[0].data, "X-Tenantalign: monitor; would refuse: From domain globex.example", 64);
    ta_txn_free(t);
    ta_engine_close(e);
}

/* test_access - what another user could read: the store and the active keys, by their modes */
static void
test_access(void **state)
{
    ta_engine_t *e = engine(TA_EOL_CRLF, TA_ENFORCE, NULL, NULL);
    char         problem[1024];
    struct stat  sb;

    (void) state;
    ta_engine_check_access(e, "root", problem, sizeof(problem));
    assert_string_equal(problem, "");
    ta_engine_check_access(e, "no-such-user-here", problem, sizeof(problem));
    assert_non_null(strstr(problem, "no user no-such-user-here"));
    /* nobody exists on Debian; the test's key files are its owner's alone (0600),
     * and the test store 0640 (or the test runs as nobody's owner: skip) */
    if (stat(store, &sb) == 0 && sb.st_uid != 65534) {
        ta_engine_check_access(e, "nobody", problem, sizeof(problem));
        if ((sb.st_mode & S_IROTH) == 0)
            assert_non_null(strstr(problem, "the store is not readable by user nobody"));
        chmod(store, 0644);
        ta_engine_check_access(e, "nobody", problem, sizeof(problem));
        assert_non_null(strstr(problem, "active DKIM keys not readable by user nobody"));
        assert_non_null(strstr(problem, "mode 0600"));
        chmod(store, sb.st_mode & 07777);
    }
    ta_engine_close(e);
}

static void
test_faults(void **state)
{
    ta_engine_t        *e;
    const ta_effects_t *fx;
    ta_mail_t           m;
    ta_txn_t           *t;
    char                missing[4200];

    (void) state;
    /* out of memory at ta_txn_new: every call tolerates NULL */
    fx = ta_txn_finish(NULL);
    assert_int_equal(fx->action, TA_TEMPFAIL);
    assert_true(is(fx->reply, "451 4.7.0 out of memory\r\n"));
    assert_int_equal(ta_txn_header(NULL, "", 0), TA_TEMPFAIL);
    assert_int_equal(ta_txn_header_end(NULL, "\r\n\r\n", 4), TA_EOH_NONE);
    assert_int_equal(ta_txn_fail(NULL, "x")->action, TA_TEMPFAIL);
    ta_txn_free(NULL);

    /* a missing store: tempfail, said why, at MAIL and at DATA */
    snprintf(missing, sizeof(missing), "%s/missing.cdb", dir);
    e = engine(TA_EOL_CRLF, TA_ENFORCE, missing, NULL);
    ta_engine_mail(e, ta_str_cstr("acme"), ta_str_cstr("FROM:<b@acme.example>"), TA_MAIL_ARG, &m);
    assert_int_equal(m.fx.action, TA_TEMPFAIL);
    assert_memory_equal(m.fx.reply.data, "451-4.7.0 tenant store unavailable", 34);
    t = acme_txn(e, "<b@acme.example>", TA_MAIL_PATH);
    fx = run(t, message, 64);
    assert_int_equal(fx->action, TA_TEMPFAIL);
    assert_int_equal(fx->nfields, 0);
    ta_txn_free(t);
    ta_engine_close(e);

    /* the adapter's configuration is broken: every verdict names it */
    e = engine(TA_EOL_CRLF, TA_ENFORCE, NULL, "conf:3: unknown key");
    ta_engine_mail(e, ta_str_cstr("acme"), ta_str_cstr("b@acme.example"), TA_MAIL_PATH, &m);
    assert_int_equal(m.fx.action, TA_TEMPFAIL);
    assert_true(has(m.fx.reply, "tenantalign configuration: conf:3: unknown key"));
    ta_engine_close(e);
}


/* find_row - the counters of tenant NAME, or of the (none) row (ta_counters_each) */
typedef struct {
    const char        *name;
    ta_counters_row_t  row;
    int                found;
} find_row_t;

static int
find_row(const ta_counters_row_t *row, void *arg)
{
    find_row_t *f = arg;

    if (strcmp(f->name, "(none)") == 0 ? row->special == 1
        : row->special == 0 && row->name_len == strlen(f->name) && memcmp(row->name, f->name, row->name_len) == 0) {
        f->row = *row;
        f->found = 1;
    }
    return 0;
}

/* test_counting - every final decision counted once, by tenant, verdict and
 * class: a MAIL refusal at once; a transaction when freed, by its last
 * effects (accepted then failed counts as the failure); queue id in the line */
static void
test_counting(void **state)
{
    char                path[4200];
    ta_engine_conf_t    conf;
    ta_engine_t        *e;
    ta_counters_t      *c;
    ta_mail_t           m;
    ta_txn_t           *t = NULL;
    const ta_effects_t *fx;
    find_row_t          acme, beta, none;
    char                err[512];

    (void) state;
    snprintf(path, sizeof(path), "%s/engine.counters", dir);
    memset(&conf, 0, sizeof(conf));
    conf.store_path = store;
    conf.eol = TA_EOL_CRLF;
    conf.counters_path = path;
    conf.log_style = TA_LOG_JSON;
    assert_int_equal(ta_engine_open(&conf, &e, err, sizeof(err)), TA_OK);
    /* a refusal at MAIL FROM: counted now; an acceptance at MAIL: not (not final) */
    ta_engine_mail(e, ta_str_cstr("beta"), ta_str_cstr("FROM:<a@globex.example>"), TA_MAIL_ARG, &m);
    assert_int_equal(m.fx.action, TA_REJECT);
    ta_engine_mail(e, ta_str_cstr("acme"), ta_str_cstr("FROM:<a@acme.example>"), TA_MAIL_ARG, &m);
    ta_engine_mail(e, ta_str_cstr("nobody"), ta_str_cstr("FROM:<a@acme.example>"), TA_MAIL_ARG, &m);
    assert_true(has(m.fx.log, "{\"stage\":\"mail\",\"tenant\":\"-\",\"login\":\"nobody\",\"stream\":\"-\""));
    /* an accepted message, its queue id given after the effects: the line again */
    fx = next_txn(&t, e, "<b@bounces.acme.example>", TA_MAIL_PATH, message, 7);
    assert_int_equal(fx->action, TA_ACCEPT);
    assert_true(has(fx->log, "\"qid\":\"-\""));
    ta_txn_queue_id(t, ta_str_cstr("1tXyZ2-000Abc-1D"));
    assert_true(has(fx->log, "\"qid\":\"1tXyZ2-000Abc-1D\""));
    /* accepted, then the adapter could not apply it: one count, a tempfail */
    fx = next_txn(&t, e, "<b@bounces.acme.example>", TA_MAIL_PATH, message, 64);
    assert_int_equal(fx->action, TA_ACCEPT);
    fx = ta_txn_fail(t, "cannot write the temporary file");
    assert_true(has(fx->log, "\"class\":\"system\""));
    ta_txn_free(t);
    t = NULL;
    /* a transaction never finished (the client left): not counted */
    t = acme_txn(e, "<b@bounces.acme.example>", TA_MAIL_PATH);
    ta_txn_free(t);
    t = NULL;
    ta_engine_close(e);

    memset(&acme, 0, sizeof(acme));
    memset(&beta, 0, sizeof(beta));
    memset(&none, 0, sizeof(none));
    acme.name = "acme";
    beta.name = "beta";
    none.name = "(none)";
    c = ta_counters_open_read(path, err, sizeof(err));
    assert_non_null(c);
    ta_counters_each(c, 0, find_row, &acme);
    ta_counters_each(c, 0, find_row, &beta);
    ta_counters_each(c, 0, find_row, &none);
    ta_counters_close(c);
    assert_true(acme.found && beta.found && none.found);
    assert_int_equal(beta.row.s[TA_STREAM_TRANSACTIONAL].denied[TA_R_ENVELOPE_NOT_OWNED], 1);
    assert_int_equal(acme.row.s[TA_STREAM_TRANSACTIONAL].accepted, 1);
    assert_int_equal(acme.row.s[TA_STREAM_TRANSACTIONAL].sig[1], 1);
    assert_int_equal(acme.row.s[TA_STREAM_TRANSACTIONAL].bytes, strlen(message));
    assert_int_equal(acme.row.s[TA_STREAM_TRANSACTIONAL].denied[TA_R_SYSTEM], 1);
    assert_int_equal(none.row.s[TA_STREAM_TRANSACTIONAL].denied[TA_R_UNKNOWN_LOGIN], 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mail_time),
        cmocka_unit_test(test_transaction),
        cmocka_unit_test(test_rewrite),
        cmocka_unit_test(test_monitor_lf),
        cmocka_unit_test(test_counting),
        cmocka_unit_test(test_faults),
        cmocka_unit_test(test_access),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}

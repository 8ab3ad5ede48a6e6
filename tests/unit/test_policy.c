/*
 * test_policy - the decision table: relaxed/strict x envelope/DKIM
 * alignment, every identity mode, monitor, unknown login, null sender,
 * patterns, rewrite, foreign signatures, attack classes, reply text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "ta_header.h"
#include "ta_policy.h"
#include "ta_log.h"
#include "ta_reply.h"

#define S(lit) TA_STR_LIT(lit)

static const ta_key_t acme_keys[] = {
    { S("s1"), TA_STR_NULL, S("/k/acme.s1.pem"), TA_ALG_RSA_SHA256, TA_KEY_ACTIVE },
    { S("e1"), TA_STR_NULL, S("/k/acme.e1.pem"), TA_ALG_ED25519_SHA256, TA_KEY_ACTIVE },
    { S("s0"), TA_STR_NULL, S("/k/acme.s0.pem"), TA_ALG_RSA_SHA256, TA_KEY_RETIRING },
    { S("p2"), TA_STR_NULL, S("/k/acme.p2.pem"), TA_ALG_RSA_SHA256, TA_KEY_PENDING },
};
static const ta_key_t one_key[] = {
    { S("s1"), TA_STR_NULL, S("/k/x.pem"), TA_ALG_RSA_SHA256, TA_KEY_ACTIVE },
};
static const ta_key_t pending_key[] = {
    { S("s1"), TA_STR_NULL, S("/k/p.pem"), TA_ALG_RSA_SHA256, TA_KEY_PENDING },
    { S("s9"), TA_STR_NULL, S("/k/r.pem"), TA_ALG_RSA_SHA256, TA_KEY_REVOKED },
};
static const ta_key_t foreign_d_key[] = {
    { S("s1"), S("esp.example"), S("/k/esp.pem"), TA_ALG_RSA_SHA256, TA_KEY_ACTIVE },
};

/* a tenant (its login's stream transactional, no caps, no stream rules) */
#define TENANT(name, n, ids) \
    { S(name), n, ids, TA_STREAM_TRANSACTIONAL, 0, { { 0, 0, 0, 0 }, { 0, 0, 0, 0 } } }

#define ID(mode_, dom, local, rp, pat, align, mon, nul, parent, sub, rw, keys) \
    { mode_, S(dom), S(local), S(rp), S(pat), align, mon, nul, parent, sub, rw, \
      sizeof(keys) / sizeof(keys[0]), keys, TA_DELEG_MANUAL, 1, 0, 0, 0, TA_IDDMARC_UNKNOWN, 0, 0 }

static const ta_identity_t acme_ids[] = {
    ID(TA_MODE_DOMAIN, "acme.example", "", "bounces.acme.example", "", TA_ALIGN_RELAXED, 0, 0, 0, 0, 0, acme_keys),
    ID(TA_MODE_DOMAIN, "strict.example", "", "", "", TA_ALIGN_STRICT, 0, 0, 0, 0, 0, one_key),
    ID(TA_MODE_DELEGATED, "email.initech.example", "", "", "", TA_ALIGN_RELAXED, 0, 0, 1, 0, 0, one_key),
    ID(TA_MODE_DELEGATED, "email.sdeleg.example", "", "", "", TA_ALIGN_STRICT, 0, 0, 1, 0, 0, one_key),
    ID(TA_MODE_DELEGATED, "email.noparent.example", "", "", "", TA_ALIGN_RELAXED, 0, 0, 0, 0, 0, one_key),
    ID(TA_MODE_ADDRESS, "hooli.example", "billing", "", "", TA_ALIGN_RELAXED, 0, 0, 0, 0, 0, one_key),
    ID(TA_MODE_DOMAIN, "mon.example", "", "", "", TA_ALIGN_RELAXED, 1, 0, 0, 0, 0, one_key),
    ID(TA_MODE_DOMAIN, "nullok.example", "", "", "", TA_ALIGN_RELAXED, 0, 1, 0, 0, 0, one_key),
    ID(TA_MODE_DOMAIN, "pattern.example", "", "", "news|billing", TA_ALIGN_RELAXED, 0, 0, 0, 0, 0, one_key),
    ID(TA_MODE_DOMAIN, "rewrite.example", "", "bounces.rewrite.example", "", TA_ALIGN_RELAXED, 0, 0, 0, 0, 1, one_key),
    ID(TA_MODE_DOMAIN, "nokey.example", "", "", "", TA_ALIGN_RELAXED, 0, 0, 0, 0, 0, pending_key),
    ID(TA_MODE_DOMAIN, "sub.example", "", "", "", TA_ALIGN_RELAXED, 0, 0, 0, 1, 0, one_key),
    ID(TA_MODE_DOMAIN, "espd.example", "", "", "", TA_ALIGN_RELAXED, 0, 0, 0, 0, 0, foreign_d_key),
};
static const ta_tenant_t acme = TENANT("acme", sizeof(acme_ids) / sizeof(acme_ids[0]), acme_ids);

/* acme.example alone: no identity rewrites the envelope */
static const ta_tenant_t plain = TENANT("plain", 1, acme_ids);

static const ta_identity_t allmon_ids[] = {
    ID(TA_MODE_DOMAIN, "allmon.example", "", "", "", TA_ALIGN_RELAXED, 1, 0, 0, 0, 0, one_key),
};
static const ta_tenant_t allmon = TENANT("allmon", 1, allmon_ids);

static ta_header_field_t fields[TA_HEADER_MAX_FIELDS];
static ta_headers_t      hdrs;

/* decide - run the policy on a header text (CRLF) */
static void
decide(const ta_tenant_t *t, const char *mail_from, const char *header, ta_verdict_t *v)
{
    ta_policy_input_t in;

    memset(&in, 0, sizeof(in));
    in.tenant = t;
    in.login = ta_str_cstr("acme");
    in.mail_from = ta_str_cstr(mail_from);
    in.reject_unknown_login = 1;
    if (header != NULL) {
        assert_int_equal(ta_headers_parse(&hdrs, header, strlen(header), TA_EOL_CRLF,
                                          fields, TA_HEADER_MAX_FIELDS), TA_OK);
        in.headers = &hdrs;
    }
    ta_decide(&in, v);
}

#define MSG(from) "From: " from "\r\nTo: x@y.example\r\nSubject: hi\r\n\r\nbody\r\n"

static void
expect_reject(const ta_tenant_t *t, const char *env, const char *hdr, const char *reason_part)
{
    ta_verdict_t v;

    decide(t, env, hdr, &v);
    if (v.action != TA_REJECT || strstr(v.reason, reason_part) == NULL)
        fprintf(stderr, "env %s hdr %s: action %d reason '%s', want reject with '%s'\n",
                env, hdr ? hdr : "(none)", v.action, v.reason, reason_part);
    assert_int_equal(v.action, TA_REJECT);
    assert_non_null(strstr(v.reason, reason_part));
    assert_string_equal(v.code, "550");
    assert_string_equal(v.enhanced, "5.7.515");
    assert_int_equal(v.nsign, 0);
}

static void
expect_accept(const ta_tenant_t *t, const char *env, const char *hdr, size_t nsign)
{
    ta_verdict_t v;

    decide(t, env, hdr, &v);
    if (v.action != TA_ACCEPT)
        fprintf(stderr, "env %s: reason '%s'\n", env, v.reason);
    assert_int_equal(v.action, TA_ACCEPT);
    assert_int_equal(v.monitor, 0);
    assert_int_equal(v.nsign, nsign);
}

/* onboarding: one identity whose facts a test sets (what compile folds in from verify) */
static const ta_key_t unverified_keys[] = {
    { S("s1"), TA_STR_NULL, S("/k/u.pem"), TA_ALG_RSA_SHA256, TA_KEY_UNVERIFIED },
};
static const ta_key_t parent_d_keys[] = {
    { S("s1"), S("dm.example"), S("/k/dm.pem"), TA_ALG_RSA_SHA256, TA_KEY_ACTIVE },
    { S("s2"), TA_STR_NULL, S("/k/dm2.pem"), TA_ALG_RSA_SHA256, TA_KEY_ACTIVE },
};
static ta_identity_t dm_ids[] = {
    ID(TA_MODE_DOMAIN, "news.dm.example", "", "", "", TA_ALIGN_RELAXED, 0, 0, 0, 0, 0, parent_d_keys),
    ID(TA_MODE_DOMAIN, "unv.example", "", "", "", TA_ALIGN_RELAXED, 0, 0, 0, 0, 0, unverified_keys),
};
static const ta_tenant_t dm = TENANT("dm", 2, dm_ids);

/* expect_tempfail - 451 4.7.0 with a reason, nothing signed */
static void
expect_tempfail(const ta_tenant_t *t, const char *env, const char *hdr, const char *reason_part)
{
    ta_verdict_t v;

    decide(t, env, hdr, &v);
    if (v.action != TA_TEMPFAIL || strstr(v.reason, reason_part) == NULL)
        fprintf(stderr, "env %s: action %d reason '%s', want tempfail with '%s'\n", env, v.action,
                v.reason, reason_part);
    assert_int_equal(v.action, TA_TEMPFAIL);
    assert_non_null(strstr(v.reason, reason_part));
    assert_string_equal(v.code, "451");
    assert_int_equal(v.nsign, 0);
}

static void
test_onboarding_facts(void **state)
{
    ta_identity_t *id = &dm_ids[0];
    ta_verdict_t   v;

    (void) state;
    /* unknown DMARC, require_dmarc off: relaxed, both keys sign */
    id->require_dmarc = 0;
    id->dmarc = TA_IDDMARC_UNKNOWN;
    expect_accept(&dm, "b@bounces.dm.example", MSG("a@news.dm.example"), 2);

    /* adkim=s: only the key whose d= is the From domain itself */
    id->dmarc = TA_IDDMARC_FOUND;
    id->dmarc_adkim_strict = 1;
    decide(&dm, "b@news.dm.example", MSG("a@news.dm.example"), &v);
    assert_int_equal(v.action, TA_ACCEPT);
    assert_int_equal(v.nsign, 1);
    assert_string_equal(v.sign[0]->selector.data, "s2");

    /* aspf=s: the envelope domain must equal the From domain */
    id->dmarc_adkim_strict = 0;
    id->dmarc_aspf_strict = 1;
    expect_reject(&dm, "b@bounces.dm.example", MSG("a@news.dm.example"),
                  "envelope sender domain bounces.dm.example is not aligned with From domain news.dm.example "
                  "(strict alignment: the domain's DMARC record asks for it)");
    expect_accept(&dm, "b@news.dm.example", MSG("a@news.dm.example"), 2);
    id->dmarc_aspf_strict = 0;

    /* require_dmarc: found passes; none and broken are the domain's to fix (550);
     * never checked is ours (451) */
    id->require_dmarc = 1;
    expect_accept(&dm, "b@news.dm.example", MSG("a@news.dm.example"), 2);
    id->dmarc = TA_IDDMARC_NONE;
    expect_reject(&dm, "b@news.dm.example", MSG("a@news.dm.example"),
                  "From domain news.dm.example publishes no DMARC record; this relay requires one (require_dmarc)");
    id->dmarc = TA_IDDMARC_BROKEN;
    expect_reject(&dm, "b@news.dm.example", MSG("a@news.dm.example"), "has no usable DMARC record");
    id->dmarc = TA_IDDMARC_UNKNOWN;
    expect_tempfail(&dm, "b@news.dm.example", MSG("a@news.dm.example"),
                    "has a DMARC record nobody checked yet (tenantalign verify); require_dmarc is on");
    id->monitor = 1;            /* monitor mode accepts what it would defer, and marks it */
    decide(&dm, "b@news.dm.example", MSG("a@news.dm.example"), &v);
    assert_int_equal(v.action, TA_ACCEPT);
    assert_int_equal(v.monitor, 1);
    id->monitor = 0;
    id->require_dmarc = 0;

    /* a key active in the source that verify never saw: 451, never an unsigned pass */
    expect_tempfail(&dm, "b@unv.example", MSG("a@unv.example"),
                    "DKIM key d=unv.example s=s1 is not seen published in DNS");
}

static void
test_aligned_accept(void **state)
{
    ta_verdict_t v;

    (void) state;
    decide(&acme, "<bounce@bounces.acme.example>", MSG("Acme <news@acme.example>"), &v);
    assert_int_equal(v.action, TA_ACCEPT);
    assert_int_equal(v.nsign, 2);       /* active keys only: not retiring, not pending */
    assert_string_equal(v.sign[0]->selector.data, "s1");
    assert_memory_equal(v.sign[1]->selector.data, "e1", 2);
    assert_string_equal(v.from_domain, "acme.example");
    assert_string_equal(v.envelope_domain, "bounces.acme.example");
    assert_ptr_equal(v.identity, &acme_ids[0]);
    expect_accept(&acme, "news@acme.example", MSG("news@ACME.example"), 2);
}

static void
test_from_not_owned(void **state)
{
    ta_verdict_t v;

    (void) state;
    decide(&acme, "<a@acme.example>", MSG("<ceo@globex.example>"), &v);
    assert_int_equal(v.action, TA_REJECT);
    assert_string_equal(v.reason, "From domain globex.example is not a sending domain of tenant acme");
    assert_string_equal(v.subject_domain, "globex.example");
    /* a look-alike suffix is not the domain */
    expect_reject(&acme, "<a@acme.example>", MSG("a@evilacme.example"), "not a sending domain");
    /* a subdomain is not the domain unless the identity says so */
    expect_reject(&acme, "<a@acme.example>", MSG("a@mail.acme.example"), "not a sending domain");
    expect_accept(&acme, "<a@sub.example>", MSG("a@x.sub.example"), 1);
}

static void
test_envelope_alignment(void **state)
{
    ta_verdict_t v;

    (void) state;
    decide(&acme, "<b@mail.other.example>", MSG("a@acme.example"), &v);
    assert_int_equal(v.action, TA_REJECT);
    assert_string_equal(v.reason, "envelope sender domain mail.other.example is not aligned with From domain acme.example");
    /* relaxed: same organizational domain */
    expect_accept(&acme, "<b@x.y.acme.example>", MSG("a@acme.example"), 2);
    /* strict: equal only */
    expect_reject(&acme, "<b@bounces.strict.example>", MSG("a@strict.example"), "(strict alignment)");
    expect_accept(&acme, "<b@strict.example>", MSG("a@strict.example"), 1);
}

static void
test_delegated(void **state)
{
    (void) state;
    expect_accept(&acme, "<b@email.initech.example>", MSG("a@email.initech.example"), 1);
    expect_accept(&acme, "<b@email.initech.example>", MSG("a@deep.email.initech.example"), 1);
    /* the parent, when allowed: relaxed alignment makes d=email.initech.example count */
    expect_accept(&acme, "<b@email.initech.example>", MSG("a@initech.example"), 1);
    /* a sibling of the delegated zone is not the tenant's */
    expect_reject(&acme, "<b@email.initech.example>", MSG("a@www.initech.example"), "not a sending domain");
    /* parent not allowed */
    expect_reject(&acme, "<b@email.noparent.example>", MSG("a@noparent.example"), "not a sending domain");
    /* strict: the parent From cannot align with d=email.sdeleg.example */
    expect_reject(&acme, "<b@sdeleg.example>", MSG("a@sdeleg.example"), "no active DKIM key aligned with sdeleg.example (strict alignment)");
}

static void
test_address_mode(void **state)
{
    (void) state;
    expect_accept(&acme, "<b@hooli.example>", MSG("Billing <billing@hooli.example>"), 1);
    expect_accept(&acme, "<b@hooli.example>", MSG("BILLING@hooli.example"), 1);
    expect_reject(&acme, "<b@hooli.example>", MSG("ceo@hooli.example"), "not a sending domain");
}

static void
test_monitor(void **state)
{
    ta_verdict_t      v;
    ta_policy_input_t in;

    (void) state;
    /* identity in monitor mode: would-be reason kept, still signed when aligned */
    decide(&acme, "<b@other.example>", MSG("a@mon.example"), &v);
    assert_int_equal(v.action, TA_ACCEPT);
    assert_int_equal(v.monitor, 1);
    assert_non_null(strstr(v.reason, "not aligned"));
    assert_int_equal(v.nsign, 1);
    /* a tenant whose identities are all monitored: even a foreign From passes */
    decide(&allmon, "<b@allmon.example>", MSG("a@globex.example"), &v);
    assert_int_equal(v.action, TA_ACCEPT);
    assert_int_equal(v.monitor, 1);
    assert_int_equal(v.nsign, 0);
    /* adapter-wide monitor */
    memset(&in, 0, sizeof(in));
    in.tenant = &acme;
    in.mail_from = ta_str_cstr("<a@acme.example>");
    in.monitor_all = 1;
    const char *h = MSG("a@globex.example");
    assert_int_equal(ta_headers_parse(&hdrs, h, strlen(h), TA_EOL_CRLF, fields, TA_HEADER_MAX_FIELDS), TA_OK);
    in.headers = &hdrs;
    ta_decide(&in, &v);
    assert_int_equal(v.action, TA_ACCEPT);
    assert_int_equal(v.monitor, 1);
    assert_non_null(strstr(v.reason, "not a sending domain"));
}

static void
test_unknown_login(void **state)
{
    ta_verdict_t      v;
    ta_policy_input_t in;

    (void) state;
    memset(&in, 0, sizeof(in));
    in.login = ta_str_cstr("mallory");
    in.mail_from = ta_str_cstr("<a@acme.example>");
    in.reject_unknown_login = 1;
    ta_decide(&in, &v);
    assert_int_equal(v.action, TA_REJECT);
    assert_string_equal(v.reason, "login mallory is not a tenant of this relay");
    in.reject_unknown_login = 0;
    ta_decide(&in, &v);
    assert_int_equal(v.action, TA_ACCEPT);
    assert_int_equal(v.nsign, 0);
}

static void
test_null_sender(void **state)
{
    (void) state;
    expect_reject(&acme, "<>", MSG("a@acme.example"), "null sender is not allowed for acme.example");
    expect_accept(&acme, "<>", MSG("mailer-daemon@nullok.example"), 1);
}

static void
test_pattern_rewrite_keys(void **state)
{
    ta_verdict_t v;

    (void) state;
    expect_accept(&acme, "<b@pattern.example>", MSG("news@pattern.example"), 1);
    expect_reject(&acme, "<b@pattern.example>", MSG("newsx@pattern.example"), "From local part newsx is not allowed");
    expect_reject(&acme, "<b@pattern.example>", MSG("ceo@pattern.example"), "not allowed");
    /* rewrite: whatever the envelope domain, it becomes the return-path domain */
    decide(&acme, "<user+1@elsewhere.example>", MSG("a@rewrite.example"), &v);
    assert_int_equal(v.action, TA_ACCEPT);
    assert_int_equal(v.rewrite_sender, 1);
    assert_string_equal(v.new_sender, "user+1@bounces.rewrite.example");
    /* no active key: pending and revoked do not sign */
    expect_reject(&acme, "<b@nokey.example>", MSG("a@nokey.example"), "no active DKIM key aligned with nokey.example");
    /* a key whose d= is another organization does not align */
    expect_reject(&acme, "<b@espd.example>", MSG("a@espd.example"), "no active DKIM key aligned with espd.example");
}

static void
test_from_count_and_header(void **state)
{
    (void) state;
    expect_reject(&acme, "<a@acme.example>",
                  "From: a@acme.example\r\nFrom: b@globex.example\r\n\r\n", "message has 2 From: headers");
    expect_reject(&acme, "<a@acme.example>", "Subject: x\r\n\r\n", "message has 0 From: headers");
    expect_reject(&acme, "<a@acme.example>", "From: a@acme.example\nSubject: x\r\n\r\n", "message header:");
    expect_reject(&acme, "<a@acme.example>", " From: a@acme.example\r\n\r\n", "message header:");
    expect_reject(&acme, "<a@acme.example>", "From : a@globex.example\r\nFrom: a@acme.example\r\n\r\n", "message header:");
}

static void
test_foreign_signature(void **state)
{
    (void) state;
    expect_reject(&acme, "<a@acme.example>",
                  "DKIM-Signature: v=1; a=rsa-sha256; d=evil.example; s=x; h=from; bh=x; b=y\r\n"
                  "From: a@acme.example\r\n\r\n", "DKIM-Signature for d=evil.example");
    expect_accept(&acme, "<a@acme.example>",
                  "DKIM-Signature: v=1; a=rsa-sha256; d=mail.acme.example;\r\n s=x; h=from; bh=x; b=y\r\n"
                  "From: a@acme.example\r\n\r\n", 2);
}

static void
test_envelope_only(void **state)
{
    ta_verdict_t v;

    (void) state;
    expect_accept(&acme, "<b@bounces.acme.example>", NULL, 0);
    expect_accept(&acme, "b@initech.example", NULL, 0);
    /* a tenant with a rewriting identity may use any envelope at MAIL FROM */
    expect_accept(&acme, "<b@other.example>", NULL, 0);
    decide(&plain, "<b@other.example>", NULL, &v);
    assert_int_equal(v.action, TA_REJECT);
    assert_string_equal(v.reason, "envelope sender domain other.example is not a domain of tenant plain");
    assert_string_equal(v.subject_domain, "other.example");
    expect_accept(&acme, "<>", NULL, 0);       /* nullok.example allows it */
    expect_reject(&plain, "<>", NULL, "null sender is not allowed for tenant plain");
    decide(&allmon, "<>", NULL, &v);
    assert_int_equal(v.action, TA_ACCEPT);
    assert_int_equal(v.monitor, 1);
    expect_reject(&acme, "<@relay.example:a@acme.example>", NULL, "envelope sender:");
    expect_reject(&acme, "<a@b@acme.example>", NULL, "envelope sender:");
    expect_reject(&acme, "<a(x)@acme.example>", NULL, "envelope sender:");
}

/* every From: spoofing class from attacks.md, sent by acme as acme.example */
static void
test_attack_classes(void **state)
{
    static const char *const hdrs_bad[] = {
        "From: a@acme.example\r\nFrom: b@globex.example\r\n\r\n",
        "From : b@globex.example\r\nFrom: a@acme.example\r\n\r\n",
        "Fr\r\n om: b@globex.example\r\nFrom: a@acme.example\r\n\r\n",
        " From: b@globex.example\r\nFrom: a@acme.example\r\n\r\n",
        "Sender: b@globex.example\r\nFrom: <a@acme.example\r\n\r\n",
        "From: a@acme.example, b@globex.example\r\n\r\n",
        "From: b@globex.example, a@acme.example\r\n\r\n",
        "From: g: a@acme.example, b@globex.example;\r\n\r\n",
        "From: g: b@globex.example;\r\n\r\n",
        "From: a\\,b <b@globex.example>\r\n\r\n",
        "From: <a@acme.example> b@globex.example\r\n\r\n",
        "From: b@globex.example <a@acme.example>\r\n\r\n",
        "From: \"b@globex.example\" <a@acme.example>\r\n\r\n",
        "From: <@acme.example,@x.example:b@globex.example>\r\n\r\n",
        "From: b@globex.example(a@acme.example)\r\n\r\n",
        "From: a@acme.example(x).globex.example\r\n\r\n",
        "From: \"a@acme.example\"@globex.example\r\n\r\n",
        "From: \"unbalanced <a@acme.example>\r\n\r\n",
        "From: (unbalanced <a@acme.example>\r\n\r\n",
        "From: <a@acme.example\r\n\r\n",
        "From: =?utf-8?b?Yj8Z2xvYmV4LmV4YW1wbGU=?= <a@acme.example>\r\n\r\n",
        "From: =?utf-8?q?b=40globex.example?= <a@acme.example>\r\n\r\n",
        "From: =?utf-8?b?YkBnbG9iZXguZXhhbXBsZQ==?=\r\n\r\n",
        "From: a@acme.example\r\nX: y\0z\r\n\r\n",
        "From: a@acme.example\xe2\x80\x80\r\n\r\n",
        "From: a@acme.exampl\xd0\xb5\r\n\r\n",      /* Cyrillic e look-alike */
        "From: a@acme.example\r\n\r\n",            /* placeholder replaced below */
    };
    size_t       i;
    ta_verdict_t v;
    ta_policy_input_t in;

    (void) state;
    for (i = 0; i + 1 < sizeof(hdrs_bad) / sizeof(hdrs_bad[0]); i++) {
        const char *h = hdrs_bad[i];
        size_t      len = strlen(h);

        if (i == 23)      /* holds a NUL: length by hand */
            len = strlen("From: a@acme.example\r\nX: y") + 1 + strlen("z\r\n\r\n");
        memset(&in, 0, sizeof(in));
        in.tenant = &acme;
        in.mail_from = ta_str_cstr("<a@acme.example>");
        assert_int_equal(ta_headers_parse(&hdrs, h, len, TA_EOL_CRLF, fields, TA_HEADER_MAX_FIELDS), TA_OK);
        in.headers = &hdrs;
        ta_decide(&in, &v);
        if (v.action != TA_REJECT)
            fprintf(stderr, "attack %zu accepted: %s\n", i, h);
        assert_int_equal(v.action, TA_REJECT);
        assert_true(v.reason[0] != '\0');
    }
}

static void
test_reply_text(void **state)
{
    ta_verdict_t v;
    char         buf[1024];
    ta_policy_input_t in;

    (void) state;
    decide(&acme, "<a@acme.example>", MSG("a@globex.example"), &v);
    ta_reply_format(&v, "\r\n", buf, sizeof(buf), NULL);
    assert_string_equal(buf,
        "550-5.7.515 Access denied, sending domain globex.example does not meet the required authentication level\r\n"
        "550-5.7.515 From domain globex.example is not\r\n"
        "550 5.7.515 a sending domain of tenant acme\r\n");
    ta_reply_text(&v, buf, sizeof(buf));
    assert_string_equal(buf,
        "5.7.515 Access denied, sending domain globex.example does not meet the required authentication level\n"
        "5.7.515 From domain globex.example is not\n"
        "5.7.515 a sending domain of tenant acme");
    ta_verdict_tempfail(&v, "key file %s unreadable", "/k/x.pem");
    ta_reply_format(&v, "\r\n", buf, sizeof(buf), NULL);
    assert_string_equal(buf, "451 4.7.0 key file /k/x.pem unreadable\r\n");
    /* a login with CR LF cannot inject a reply line */
    memset(&in, 0, sizeof(in));
    in.login = ta_str_cstr("x\r\n250 OK");
    in.mail_from = ta_str_cstr("<a@acme.example>");
    in.reject_unknown_login = 1;
    ta_decide(&in, &v);
    ta_reply_format(&v, "\r\n", buf, sizeof(buf), NULL);
    assert_null(strstr(buf, "\r\n250"));
    assert_non_null(strstr(buf, "login x??250 OK is not"));
    {
        ta_log_ctx_t lc = { "data", TA_STR_NULL, in.login, TA_STR_NULL, 0, -1 };

        ta_log_format(&v, &lc, TA_LOG_KV, buf, sizeof(buf));
        assert_null(strchr(buf, '\n'));
        assert_non_null(strstr(buf, "login=\"x\\x0d\\x0a250 OK\""));
    }
    /* acceptance names the signing plan */
    decide(&acme, "<a@acme.example>", MSG("a@acme.example"), &v);
    ta_reply_format(&v, "\r\n", buf, sizeof(buf), NULL);
    assert_string_equal(buf, "250 2.0.0 accepted; sign d=acme.example s=s1 a=rsa-sha256, d=acme.example s=e1 a=ed25519-sha256\r\n");
}

/* check_lines - every line of a reply carries the code; none passes the width */
static void
check_lines(const char *reply, const char *code, const char *enh, size_t last)
{
    const char *p = reply, *nl;
    char        want[32];

    while ((nl = strstr(p, "\r\n")) != NULL) {
        int final = nl[2] == '\0';

        snprintf(want, sizeof(want), "%s%c%s ", code, final ? ' ' : '-', enh);
        assert_memory_equal(p, want, strlen(want));
        if (p != reply || strcmp(enh, "5.7.515") != 0)     /* Microsoft's line is whole */
            assert_true((size_t) (nl - p) <= TA_REPLY_WIDTH || memchr(p + 12, ' ', (size_t) (nl - p - 12)) == NULL);
        if (final)
            assert_int_equal((size_t) (p - reply), last);
        p = nl + 2;
    }
    assert_int_equal(*p, '\0');
}

static void
test_reply_folding(void **state)
{
    ta_verdict_t v;
    char         buf[2048], text[2048];
    size_t       last, i;
    static const char *const reasons[] = {
        "envelope sender domain mail.other.example is not aligned with From domain acme.example (strict alignment)",
        "short",
        "DKIM key d=acme.example s=s1 unusable: /var/lib/tenantalign/keys/a-very-long-directory-name-without-any-spaces-at-all/acme.pem: Permission denied",
        "x",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa bbb",
        "word  with   several    spaces     between      words       that        go         on          and           on",
    };

    (void) state;
    for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
        decide(&acme, "<a@acme.example>", MSG("a@globex.example"), &v);
        snprintf(v.reason, sizeof(v.reason), "%s", reasons[i]);
        ta_reply_format(&v, "\r\n", buf, sizeof(buf), &last);
        check_lines(buf, "550", "5.7.515", last);
        assert_memory_equal(buf, "550-5.7.515 Access denied, sending domain globex.example does not meet the required authentication level\r\n", 106);
        /* local_scan's form: the same lines without the 3-digit codes */
        ta_reply_text(&v, text, sizeof(text));
        assert_int_equal(strncmp(text, "5.7.515 Access denied", 21), 0);
        assert_null(strchr(text, '\r'));
        ta_verdict_tempfail(&v, "%s", reasons[i]);
        ta_reply_format(&v, "\r\n", buf, sizeof(buf), &last);
        check_lines(buf, "451", "4.7.0", last);
    }
    /* the long reason, folded at spaces, each line carrying the code */
    decide(&acme, "<a@acme.example>", MSG("a@globex.example"), &v);
    snprintf(v.reason, sizeof(v.reason), "%s", reasons[0]);
    ta_reply_format(&v, "\r\n", buf, sizeof(buf), &last);
    assert_string_equal(buf + 106,
        "550-5.7.515 envelope sender domain mail.other.example is not aligned\r\n"
        "550 5.7.515 with From domain acme.example (strict alignment)\r\n");
    assert_string_equal(buf + last, "550 5.7.515 with From domain acme.example (strict alignment)\r\n");
    ta_reply_text(&v, text, sizeof(text));
    assert_string_equal(text,
        "5.7.515 Access denied, sending domain globex.example does not meet the required authentication level\n"
        "5.7.515 envelope sender domain mail.other.example is not aligned\n"
        "5.7.515 with From domain acme.example (strict alignment)");
}

static void
test_monitor_field_and_log(void **state)
{
    ta_verdict_t      v;
    ta_policy_input_t in;
    char              buf[2048];
    const char       *p;

    (void) state;
    decide(&acme, "<a@acme.example>", MSG("a@globex.example"), &v);
    assert_int_equal(ta_monitor_field(&v, "\r\n", buf, sizeof(buf)), 0);
    v.action = TA_ACCEPT;
    v.monitor = 1;
    snprintf(v.reason, sizeof(v.reason), "From domain globex.example is not a sending domain of tenant acme\r\nX-Evil: 1");
    ta_monitor_field(&v, "\r\n", buf, sizeof(buf));
    assert_memory_equal(buf, "X-Tenantalign: monitor; would refuse: ", 38);
    assert_null(strstr(buf, "\r\nX-Evil"));
    /* folded: every line within 78 octets, continuation lines start with a space */
    for (p = buf; *p; ) {
        const char *nl = strstr(p, "\r\n");
        assert_non_null(nl);
        assert_true(nl - p <= 78);
        if (p != buf)
            assert_int_equal(*p, ' ');
        p = nl + 2;
    }
    ta_monitor_field(&v, "\n", buf, sizeof(buf));
    assert_null(strchr(buf, '\r'));
    /* log: stage first; an empty login or tenant is "-" */
    memset(&in, 0, sizeof(in));
    in.mail_from = ta_str_cstr("<a@acme.example>");
    in.reject_unknown_login = 1;
    ta_decide(&in, &v);
    assert_string_equal(v.reason, "no SMTP AUTH login: the message was not authenticated");
    {
        ta_log_ctx_t lc = { "mail", TA_STR_NULL, in.login, TA_STR_NULL, 0, -1 };

        ta_log_format(&v, &lc, TA_LOG_KV, buf, sizeof(buf));
        assert_string_equal(buf, "stage=mail tenant=- login=- stream=- qid=- from=- envelope=acme.example "
                            "verdict=reject class=no_login code=\"550 5.7.515\" "
                            "reason=\"no SMTP AUTH login: the message was not authenticated\"");
    }
    in.reject_unknown_login = 0;
    ta_decide(&in, &v);
    assert_int_equal(v.action, TA_ACCEPT);
}


/* expect_unsub - 550 5.7.1 (not 5.7.515: a content rule) naming what is missing */
static void
expect_unsub(const ta_tenant_t *t, const char *hdr, const char *reason_part)
{
    ta_verdict_t v;

    decide(t, "<a@acme.example>", hdr, &v);
    if (v.action != TA_REJECT || strstr(v.reason, reason_part) == NULL)
        fprintf(stderr, "action %d reason '%s', want '%s'\n", v.action, v.reason, reason_part);
    assert_int_equal(v.action, TA_REJECT);
    assert_non_null(strstr(v.reason, reason_part));
    assert_string_equal(v.enhanced, "5.7.1");
    assert_int_equal(v.reason_class, TA_R_UNSUBSCRIBE);
}

/* test_streams_and_caps - broadcast needs one-click unsubscribe; a stream may
 * require DMARC; hourly caps tempfail, monitor mode or not; classes */
static void
test_streams_and_caps(void **state)
{
    ta_tenant_t       bc = plain;
    ta_identity_t     ids[1];
    ta_policy_input_t in;
    ta_verdict_t      v;
    const char       *ok = "From: a@acme.example\r\nList-Unsubscribe: <mailto:u@acme.example>,\r\n"
                           " <HTTPS://acme.example/u?x=1>\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n\r\n";

    (void) state;
    memcpy(ids, acme_ids, sizeof(ids));
    bc.identities = ids;
    bc.stream = TA_STREAM_BROADCAST;
    expect_accept(&bc, "<a@acme.example>", ok, 2);
    decide(&bc, "<a@acme.example>", ok, &v);
    assert_int_equal(v.stream, TA_STREAM_BROADCAST);
    assert_int_equal(v.reason_class, TA_R_NONE);
    /* what is missing, named */
    expect_unsub(&bc, MSG("a@acme.example"), "without one-click unsubscribe: no List-Unsubscribe field");
    decide(&bc, "<a@acme.example>", MSG("a@acme.example"), &v);
    assert_int_equal(v.reason_class, TA_R_UNSUBSCRIBE);
    expect_unsub(&bc, "From: a@acme.example\r\nList-Unsubscribe: <mailto:u@acme.example>\r\n"
                  "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n\r\n", "no https URI in List-Unsubscribe");
    expect_unsub(&bc, "From: a@acme.example\r\nList-Unsubscribe: <https://x.example/u>\r\n\r\n",
                  "no List-Unsubscribe-Post: List-Unsubscribe=One-Click field");
    expect_unsub(&bc, "From: a@acme.example\r\nList-Unsubscribe: <https://x.example/u>\r\n"
                  "List-Unsubscribe-Post: List-Unsubscribe=Yes\r\n\r\n", "is not \"List-Unsubscribe=One-Click\"");
    expect_unsub(&bc, "From: a@acme.example\r\nList-Unsubscribe: <https://x.example/u>\r\n"
                  "List-Unsubscribe: <https://y.example/u>\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n\r\n",
                  "more than one List-Unsubscribe field");
    expect_unsub(&bc, "From: a@acme.example\r\nList-Unsubscribe: <https:///u>\r\n"
                  "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n\r\n", "no https URI");
    /* transactional mail needs none of it */
    bc.stream = TA_STREAM_TRANSACTIONAL;
    expect_accept(&bc, "<a@acme.example>", MSG("a@acme.example"), 2);

    /* the broadcast stream requires DMARC: from what verify saw */
    bc.stream = TA_STREAM_BROADCAST;
    bc.streams[TA_STREAM_BROADCAST].require_dmarc = 1;
    ids[0].dmarc = TA_IDDMARC_NONE;
    expect_reject(&bc, "<a@acme.example>", ok, "publishes no DMARC record; this relay requires one (require_dmarc of the broadcast stream)");
    ids[0].dmarc = TA_IDDMARC_UNKNOWN;
    expect_tempfail(&bc, "<a@acme.example>", ok, "require_dmarc is on of the broadcast stream");
    decide(&bc, "<a@acme.example>", ok, &v);
    assert_int_equal(v.reason_class, TA_R_DMARC_UNCHECKED);
    ids[0].dmarc = TA_IDDMARC_FOUND;
    expect_accept(&bc, "<a@acme.example>", ok, 2);
    bc.stream = TA_STREAM_TRANSACTIONAL;
    ids[0].dmarc = TA_IDDMARC_NONE;
    expect_accept(&bc, "<a@acme.example>", MSG("a@acme.example"), 2);

    /* caps: the stream's, then the tenant's; at MAIL FROM too; not lifted by monitor mode */
    memset(&in, 0, sizeof(in));
    bc.streams[TA_STREAM_TRANSACTIONAL].hourly_cap = 10;
    in.tenant = &bc;
    in.login = ta_str_cstr("acme");
    in.mail_from = ta_str_cstr("<a@acme.example>");
    in.reject_unknown_login = 1;
    in.hour_known = 1;
    in.hour_sent[TA_STREAM_TRANSACTIONAL] = 9;
    in.hour_sent[TA_STREAM_BROADCAST] = 100;
    ta_decide(&in, &v);
    assert_int_equal(v.action, TA_ACCEPT);
    in.hour_sent[TA_STREAM_TRANSACTIONAL] = 10;
    ta_decide(&in, &v);
    assert_int_equal(v.action, TA_TEMPFAIL);
    assert_string_equal(v.code, "451");
    assert_int_equal(v.reason_class, TA_R_HOURLY_CAP);
    assert_non_null(strstr(v.reason, "reached the hourly cap of its transactional stream: 10 messages in the last hour (hourly_cap 10)"));
    in.monitor_all = 1;
    ta_decide(&in, &v);
    assert_int_equal(v.action, TA_TEMPFAIL);
    in.monitor_all = 0;
    in.hour_known = 0;              /* no table: no cap */
    ta_decide(&in, &v);
    assert_int_equal(v.action, TA_ACCEPT);
    in.hour_known = 1;
    in.hour_sent[TA_STREAM_TRANSACTIONAL] = 1;
    bc.hourly_cap = 101;
    ta_decide(&in, &v);
    assert_int_equal(v.action, TA_TEMPFAIL);
    assert_non_null(strstr(v.reason, "reached its hourly cap: 101 messages in the last hour (hourly_cap 101)"));
    bc.hourly_cap = 0;
    /* with the message: a refusal stays a refusal (the cap is for what would pass) */
    assert_int_equal(ta_headers_parse(&hdrs, MSG("x@globex.example"), strlen(MSG("x@globex.example")),
                                      TA_EOL_CRLF, fields, TA_HEADER_MAX_FIELDS), TA_OK);
    in.headers = &hdrs;
    in.hour_sent[TA_STREAM_TRANSACTIONAL] = 10;
    ta_decide(&in, &v);
    assert_int_equal(v.action, TA_REJECT);
    assert_int_equal(v.reason_class, TA_R_FROM_NOT_OWNED);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aligned_accept),
        cmocka_unit_test(test_onboarding_facts),
        cmocka_unit_test(test_from_not_owned),
        cmocka_unit_test(test_envelope_alignment),
        cmocka_unit_test(test_delegated),
        cmocka_unit_test(test_address_mode),
        cmocka_unit_test(test_monitor),
        cmocka_unit_test(test_unknown_login),
        cmocka_unit_test(test_reply_folding),
        cmocka_unit_test(test_monitor_field_and_log),
        cmocka_unit_test(test_null_sender),
        cmocka_unit_test(test_pattern_rewrite_keys),
        cmocka_unit_test(test_from_count_and_header),
        cmocka_unit_test(test_foreign_signature),
        cmocka_unit_test(test_envelope_only),
        cmocka_unit_test(test_attack_classes),
        cmocka_unit_test(test_reply_text),
        cmocka_unit_test(test_streams_and_caps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

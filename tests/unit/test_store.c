/*
 * test_store - the tenant source parser (every directive, errors with
 * file:line), compile + open + lookup round trip, atomic replace and
 * refresh, corrupt, truncated, empty and missing stores.
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

#include "ta_conf.h"
#include "ta_store.h"
#include "ta_store_format.h"

static char dir[] = "/tmp/ta-test-storeXXXXXX";
static char path[4096], src[4096], store[4096];

static void
write_file(const char *p, const char *text)
{
    FILE *f = fopen(p, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void
make_key(const char *name, const char *alg, int mode)
{
    EVP_PKEY *k = strcmp(alg, "RSA") == 0 ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 2048)
                                          : EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    FILE     *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    chmod(path, (mode_t) mode);
    EVP_PKEY_free(k);
}

static int
setup(void **state)
{
    (void) state;
    assert_non_null(mkdtemp(dir));
    make_key("a.s1.pem", "RSA", 0600);
    make_key("a.e1.pem", "ED25519", 0640);
    make_key("b.s1.pem", "RSA", 0600);
    make_key("loose.pem", "RSA", 0644);
    snprintf(src, sizeof(src), "%s/tenants.conf", dir);
    snprintf(store, sizeof(store), "%s/tenants.cdb", dir);
    return 0;
}

static int
teardown(void **state)
{
    char cmd[4200];

    (void) state;
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd);
}

static const char good[] =
    "# comment\n"
    "unknown_login reject;\n"
    "tenant acme {\n"
    "    login acme; login \"acme-billing\";\n"
    "    identity ACME.example {\n"
    "        mode domain; subdomains on; return_path bounces.acme.example;\n"
    "        rewrite_return_path off; alignment relaxed; policy enforce; null_sender on;\n"
    "        local_part \"(news|billing)\";\n"
    "        key s1 { algorithm rsa-sha256; file a.s1.pem; state active; }\n"
    "        key e1 { algorithm ed25519-sha256; file a.e1.pem; state active; domain acme.example; }\n"
    "    }\n"
    "    identity email.b\xc3\xbc" "cher.example { mode delegated; parent_from on; alignment strict; policy monitor;\n"
    "        key s1 { algorithm rsa-sha256; file a.s1.pem; state retiring; } }\n"
    "    identity billing@hooli.example { mode address; key s1 { algorithm rsa-sha256; file a.s1.pem; state pending; } }\n"
    "}\n"
    "tenant globex { login globex; identity globex.example { mode domain;\n"
    "    key s1 { algorithm rsa-sha256; file b.s1.pem; state active; } } }\n";

static void
test_round_trip(void **state)
{
    ta_store_t  *st;
    ta_tenant_t *t;
    char         err[4096];
    const ta_identity_t *id;

    (void) state;
    write_file(src, good);
    assert_int_equal(ta_store_compile(src, store, NULL, err, sizeof(err)), TA_OK);
    assert_int_equal(ta_store_open(store, &st, err, sizeof(err)), TA_OK);
    assert_int_equal(ta_store_count(st), 2);
    assert_int_equal(ta_store_settings(st)->reject_unknown_login, 1);
    assert_int_equal(ta_store_lookup(st, ta_str_cstr("acme-billing"), &t, err, sizeof(err)), TA_OK);
    assert_string_equal(t->name.data, "acme");
    assert_int_equal(t->nidentities, 3);
    id = &t->identities[0];
    assert_string_equal(id->domain.data, "acme.example");
    assert_int_equal(id->mode, TA_MODE_DOMAIN);
    assert_true(id->subdomains && id->allow_null_sender && !id->monitor && !id->rewrite_return_path);
    assert_string_equal(id->return_path.data, "bounces.acme.example");
    assert_string_equal(id->local_part_pattern.data, "(news|billing)");
    assert_int_equal(id->nkeys, 2);
    assert_int_equal(id->keys[1].alg, TA_ALG_ED25519_SHA256);
    assert_string_equal(id->keys[1].domain.data, "acme.example");
    assert_true(id->keys[0].key_file.data[0] == '/');       /* made absolute */
    assert_non_null(strstr(id->keys[0].key_file.data, "/a.s1.pem"));
    id = &t->identities[1];
    assert_string_equal(id->domain.data, "email.xn--bcher-kva.example");
    assert_true(id->parent_from && id->monitor && id->alignment == TA_ALIGN_STRICT);
    assert_int_equal(id->keys[0].state, TA_KEY_RETIRING);
    id = &t->identities[2];
    assert_int_equal(id->mode, TA_MODE_ADDRESS);
    assert_string_equal(id->local_part.data, "billing");
    assert_string_equal(id->domain.data, "hooli.example");
    /* the record outlives the store */
    ta_store_close(st);
    assert_string_equal(t->identities[0].keys[0].selector.data, "s1");
    ta_tenant_free(t);
    assert_int_equal(ta_store_open(store, &st, err, sizeof(err)), TA_OK);
    assert_int_equal(ta_store_lookup(st, ta_str_cstr("nobody"), &t, err, sizeof(err)), TA_NOTFOUND);
    assert_int_equal(ta_store_lookup(st, ta_str_cstr(""), &t, err, sizeof(err)), TA_NOTFOUND);
    ta_store_close(st);
}

/* count_tenants - ta_store_each callback: tenants seen, how many are acme; stops after counts[2] */
static int
count_tenants(const ta_tenant_t *t, void *arg)
{
    int *counts = arg;

    counts[0]++;
    if (strcmp(t->name.data, "acme") == 0)
        counts[1]++;
    return counts[0] == counts[2];      /* stop early when asked */
}

static void
test_each(void **state)
{
    ta_store_t *st;
    char        err[4096];
    int         counts[3] = { 0, 0, 0 };

    (void) state;
    write_file(src, good);
    assert_int_equal(ta_store_compile(src, store, NULL, err, sizeof(err)), TA_OK);
    assert_int_equal(ta_store_open(store, &st, err, sizeof(err)), TA_OK);
    /* three logins (acme, acme-billing, globex) but two tenants, each once */
    assert_int_equal(ta_store_each(st, count_tenants, counts, err, sizeof(err)), TA_OK);
    assert_int_equal(counts[0], 2);
    assert_int_equal(counts[1], 1);
    counts[0] = counts[1] = 0;
    counts[2] = 1;
    assert_int_equal(ta_store_each(st, count_tenants, counts, err, sizeof(err)), TA_OK);
    assert_int_equal(counts[0], 1);
    ta_store_close(st);

    /* logins of different streams differ in their record's last byte: still one tenant */
    write_file(src, "tenant acme { login acme; login acme-news broadcast; login acme-b;\n"
               "  identity acme.example { mode domain; key s1 { algorithm rsa-sha256; file a.s1.pem; state active; } } }\n"
               "tenant globex { login globex; identity globex.example { mode domain;\n"
               "  key s1 { algorithm rsa-sha256; file b.s1.pem; state active; } } }\n");
    assert_int_equal(ta_store_compile(src, store, NULL, err, sizeof(err)), TA_OK);
    assert_int_equal(ta_store_open(store, &st, err, sizeof(err)), TA_OK);
    memset(counts, 0, sizeof(counts));
    assert_int_equal(ta_store_each(st, count_tenants, counts, err, sizeof(err)), TA_OK);
    assert_int_equal(counts[0], 2);
    assert_int_equal(counts[1], 1);
    ta_store_close(st);
}

/* expect_error - compiling text fails with this message at this line */
static void
expect_error(const char *text, const char *want)
{
    char err[8192], at[4200];

    write_file(src, text);
    unlink(store);
    if (ta_store_compile(src, store, NULL, err, sizeof(err)) != TA_EINPUT || strstr(err, want) == NULL)
        fprintf(stderr, "want '%s', got:\n%s\n", want, err);
    assert_int_equal(ta_store_compile(src, store, NULL, err, sizeof(err)), TA_EINPUT);
    assert_non_null(strstr(err, want));
    snprintf(at, sizeof(at), "%s:", src);
    assert_non_null(strstr(err, at));
    assert_int_equal(access(store, F_OK), -1);          /* nothing written */
}

#define T(body) "tenant t { login t; identity t.example { mode domain; " body " } }\n"
#define K(body) "key s1 { " body " }"

static void
test_errors(void **state)
{
    (void) state;
    expect_error("frobnicate on;\n", ":1: unknown directive \"frobnicate\"");
    expect_error("\n\n" T("colour blue;"), ":3: unknown field \"colour\" in identity");
    expect_error(T("mode sideways;"), "\"mode\" must be one of domain, delegated, address, not \"sideways\"");
    expect_error(T("alignment loose;"), "\"alignment\" must be one of relaxed, strict");
    expect_error(T("null_sender maybe;"), "\"null_sender\" must be one of off, on");
    expect_error(T("return_path bad..example;"), "return_path \"bad..example\"");
    expect_error(T("local_part \"(unclosed\";"), "local_part pattern \"(unclosed\" at offset");
    expect_error(T(K("algorithm rsa-sha1; file a.s1.pem; state active;")), "\"algorithm\" must be one of rsa-sha256, ed25519-sha256");
    expect_error(T(K("algorithm rsa-sha256; file a.s1.pem; state on;")), "\"state\" must be one of pending, active");
    expect_error(T(K("algorithm rsa-sha256; state active;")), "missing \"file\"");
    expect_error(T(K("algorithm rsa-sha256; file missing.pem; state active;")), "missing.pem: No such file");
    expect_error(T(K("algorithm rsa-sha256; file loose.pem; state active;")), "readable or writable by others (mode 0644)");
    expect_error(T(K("algorithm ed25519-sha256; file a.s1.pem; state active;")), "holds a RSA key, not ed25519-sha256");
    expect_error(T(K("algorithm rsa-sha256; file /etc; state active;")), "not a regular file");
    expect_error(T(K("algorithm rsa-sha256; file a.s1.pem; state active; colour x;")), "unknown field \"colour\" in key");
    expect_error("tenant t { identity t.example { mode domain; } }\n", "tenant t has no login");
    expect_error("tenant t { login t; }\n", "tenant t has no identity");
    expect_error("tenant t { login t; identity a@t.example { mode domain; } }\n", "an address needs \"mode address\"");
    expect_error("tenant t { login t; identity t.example { mode address; } }\n", "mode address needs a LOCAL@DOMAIN");
    expect_error("tenant t { login t; identity t.example { mode domain; parent_from on; } }\n", "parent_from applies to mode delegated only");
    expect_error("tenant t { login t; identity t.example { mode domain; rewrite_return_path on; } }\n", "rewrite_return_path needs return_path");
    expect_error("tenant t { login t identity t.example { mode domain; } }\n", "\"login\" takes at most 2 values");
    expect_error("tenant t { login t; identity t.example { mode domain; }\n", "missing '}'");
    expect_error("tenant t { login \"unterminated; }\n", "unterminated quoted string");
    expect_error("tenant a { login x; identity a.example { mode domain; } }\n"
                 "tenant b { login x; identity b.example { mode domain; } }\n", ":2: login x already belongs to tenant a");
    expect_error("tenant a { login a; identity a.example { mode domain; " K("algorithm rsa-sha256; file a.s1.pem; state active;") " } }\n"
                 "tenant b { login b; identity b.example { mode domain; " K("algorithm rsa-sha256; file a.s1.pem; state active;") " } }\n",
                 "key file");
    expect_error("tenant a { login a; identity a.example { mode domain; " K("algorithm rsa-sha256; file a.s1.pem; state active;") " } }\n"
                 "tenant b { login b; identity b.example { mode domain; " K("algorithm rsa-sha256; file a.s1.pem; state active;") " } }\n",
                 "is also used by tenant a");
}

/* the onboarding settings: checked against the provider block, and kept in the store */
static void
test_onboarding(void **state)
{
    char                 err[8192];
    ta_store_t          *st;
    ta_tenant_t         *t;
    ta_provider_t       *pv;
    const ta_identity_t *id;

    (void) state;
    expect_error(T("dns cname;"), "identity t.example: dns cname needs provider { cname_zone ZONE; }");
    expect_error(T("dns delegated;"), "dns delegated needs provider { name_servers NS ...; }");
    expect_error(T("dns sideways;"), "\"dns\" must be one of manual, cname, delegated");
    expect_error("provider { cname_zone dkim.esp.example; }\n" T("dns cname; return_path bounces.t.example;"),
                 "dns cname with a return_path needs provider { return_path_cname HOST; }");
    expect_error("provider { name_servers ns1.esp.example; }\n"
                 "tenant t { login t; identity a@t.example { mode address; dns delegated; } }\n",
                 "dns delegated needs a domain identity");
    expect_error("provider { egress 192.0.2.1 300.1.1.1; }\n", "egress \"300.1.1.1\" is not an IPv4 or IPv6 address");
    expect_error("provider { dmarc_rua dmarc@esp.example; }\n", "dmarc_rua \"dmarc@esp.example\" is not a mailto: address");
    expect_error("provider { return_path_mx mx.esp.example; }\n", "return_path_mx needs spf_include");
    expect_error("provider { return_path_mx mx.esp.example 70000; spf_include _spf.esp.example; }\n",
                 "preference \"70000\" is not a number");
    expect_error("provider { colour blue; }\n", "unknown field \"colour\" in provider");
    expect_error("provider { spf_include _spf..esp.example; }\n", "spf_include \"_spf..esp.example\": not a DNS name");
    expect_error("provider { }\nprovider { }\n", "provider block given twice");

    /* good: every mode, require_dmarc inherited from the top level (which comes last) */
    write_file(src,
        "provider {\n"
        "    name_servers ns1.esp.example ns2.esp.example;\n"
        "    cname_zone dkim.esp.example;\n"
        "    return_path_cname rp.esp.example;\n"
        "    spf_include _SPF.esp.example;\n"
        "    egress 192.0.2.10 2001:db8::10;\n"
        "    dmarc_rua mailto:dmarc@esp.example;\n"
        "}\n"
        "tenant t { login t;\n"
        "  identity a.example { mode domain; dns cname; return_path bounces.a.example; }\n"
        "  identity b.example { mode domain; dns delegated; dns_check off; require_dmarc off; }\n"
        "  identity c.example { mode domain; }\n"
        "}\n"
        "require_dmarc on;\n");
    assert_int_equal(ta_store_compile(src, store, NULL, err, sizeof(err)), TA_OK);
    assert_int_equal(ta_store_open(store, &st, err, sizeof(err)), TA_OK);
    assert_int_equal(ta_store_settings(st)->version, TA_STORE_VERSION);
    assert_int_equal(ta_store_lookup(st, ta_str("t", 1), &t, err, sizeof(err)), TA_OK);
    assert_int_equal(t->nidentities, 3);
    id = &t->identities[0];
    assert_int_equal(id->dns, TA_DELEG_CNAME);
    assert_true(id->dns_check && id->require_dmarc);
    id = &t->identities[1];
    assert_int_equal(id->dns, TA_DELEG_NS);
    assert_false(id->dns_check);
    assert_false(id->require_dmarc);
    id = &t->identities[2];
    assert_int_equal(id->dns, TA_DELEG_MANUAL);
    assert_true(id->dns_check && id->require_dmarc);
    ta_tenant_free(t);
    pv = ta_store_provider(st, err, sizeof(err));
    assert_non_null(pv);
    assert_true(pv->present && pv->require_dmarc);
    assert_int_equal(pv->nns, 2);
    assert_string_equal(pv->ns[1].data, "ns2.esp.example");
    assert_string_equal(pv->cname_zone.data, "dkim.esp.example");
    assert_string_equal(pv->return_path_cname.data, "rp.esp.example");
    assert_string_equal(pv->spf_include.data, "_spf.esp.example");
    assert_int_equal(pv->return_path_mx.len, 0);
    assert_int_equal(pv->negress, 2);
    assert_string_equal(pv->egress[1].data, "2001:db8::10");
    assert_string_equal(pv->dmarc_rua.data, "mailto:dmarc@esp.example");
    free(pv);
    ta_store_close(st);
}

static void
test_all_errors_reported(void **state)
{
    char err[8192];

    (void) state;
    write_file(src, "a;\nb;\nc;\nd;\n");
    assert_int_equal(ta_store_compile(src, store, NULL, err, sizeof(err)), TA_EINPUT);
    assert_non_null(strstr(err, ":1:"));
    assert_non_null(strstr(err, ":4:"));
}

static void
test_replace_and_refresh(void **state)
{
    ta_store_t  *st;
    ta_tenant_t *t;
    char         err[4096], other[4200], good_copy[4200];
    FILE        *f;
    unsigned     seq;

    (void) state;
    write_file(src, good);
    assert_int_equal(ta_store_compile(src, store, NULL, err, sizeof(err)), TA_OK);
    assert_int_equal(ta_store_open(store, &st, err, sizeof(err)), TA_OK);
    assert_int_equal(ta_store_lookup(st, ta_str_cstr("globex"), &t, err, sizeof(err)), TA_OK);
    ta_tenant_free(t);
    /* replace: globex gone, initech added */
    write_file(src, "unknown_login accept;\n"
                    "tenant initech { login initech; identity initech.example { mode domain; } }\n");
    assert_int_equal(ta_store_compile(src, store, NULL, err, sizeof(err)), TA_OK);
    sleep(1);
    usleep(100000);
    assert_int_equal(ta_store_refresh(st, err, sizeof(err)), TA_OK);
    assert_int_equal(ta_store_lookup(st, ta_str_cstr("globex"), &t, err, sizeof(err)), TA_NOTFOUND);
    assert_int_equal(ta_store_lookup(st, ta_str_cstr("initech"), &t, err, sizeof(err)), TA_OK);
    assert_int_equal(ta_store_settings(st)->reject_unknown_login, 0);
    ta_tenant_free(t);
    /* a broken replacement makes the store unusable (every process answers
     * 451 alike), once counted, until a good file is back */
    seq = ta_store_bad_seq(st);
    snprintf(good_copy, sizeof(good_copy), "%s.good", store);
    assert_int_equal(link(store, good_copy), 0);
    snprintf(other, sizeof(other), "%s.broken", store);
    f = fopen(other, "w");
    fputs("garbage", f);
    fclose(f);
    assert_int_equal(rename(other, store), 0);
    sleep(1);
    usleep(100000);
    assert_int_equal(ta_store_refresh(st, err, sizeof(err)), TA_ESYSTEM);
    assert_non_null(strstr(err, "truncated or not a tenant store"));
    assert_int_equal(ta_store_refresh(st, err, sizeof(err)), TA_ESYSTEM);     /* the same second */
    assert_non_null(strstr(err, "truncated or not a tenant store"));
    sleep(1);
    err[0] = '\0';
    assert_int_equal(ta_store_refresh(st, err, sizeof(err)), TA_ESYSTEM);     /* not read again */
    assert_non_null(strstr(err, "truncated or not a tenant store"));         /* and still says why */
    assert_int_equal(ta_store_bad_seq(st), seq + 1);
    /* gone: another trouble */
    assert_int_equal(unlink(store), 0);
    sleep(1);
    assert_int_equal(ta_store_refresh(st, err, sizeof(err)), TA_ESYSTEM);
    assert_non_null(strstr(err, "No such file"));
    assert_int_equal(ta_store_bad_seq(st), seq + 2);
    /* a good file back: used at the next second */
    assert_int_equal(rename(good_copy, store), 0);
    sleep(1);
    assert_int_equal(ta_store_refresh(st, err, sizeof(err)), TA_OK);
    assert_int_equal(ta_store_lookup(st, ta_str_cstr("initech"), &t, err, sizeof(err)), TA_OK);
    ta_tenant_free(t);
    ta_store_close(st);
}

static void
test_bad_stores(void **state)
{
    ta_store_t *st;
    char        err[4096], bad[4200];
    FILE       *f;
    size_t      i;

    (void) state;
    assert_int_equal(ta_store_open("/nonexistent/store.cdb", &st, err, sizeof(err)), TA_ESYSTEM);
    assert_non_null(strstr(err, "No such file"));
    snprintf(bad, sizeof(bad), "%s/empty.cdb", dir);
    write_file(bad, "");
    assert_int_equal(ta_store_open(bad, &st, err, sizeof(err)), TA_ESYSTEM);
    /* a cdb of 2048+ bytes of noise */
    f = fopen(bad, "w");
    for (i = 0; i < 5000; i++)
        fputc((int) (i * 7919 % 251), f);
    fclose(f);
    assert_int_equal(ta_store_open(bad, &st, err, sizeof(err)), TA_ESYSTEM);
    assert_int_equal(ta_store_open(dir, &st, err, sizeof(err)), TA_ESYSTEM);

    /* a good store cut short by one byte, or with one byte more: refused,
     * although the records the lookups want may have survived */
    write_file(src, good);
    assert_int_equal(ta_store_compile(src, store, NULL, err, sizeof(err)), TA_OK);
    assert_int_equal(ta_store_open(store, &st, err, sizeof(err)), TA_OK);
    ta_store_close(st);
    assert_int_equal(truncate(store, 2049), 0);
    assert_int_equal(ta_store_open(store, &st, err, sizeof(err)), TA_ESYSTEM);
    assert_non_null(strstr(err, "truncated or not a tenant store"));
    assert_int_equal(ta_store_compile(src, store, NULL, err, sizeof(err)), TA_OK);
    f = fopen(store, "a");
    fputc('x', f);
    fclose(f);
    assert_int_equal(ta_store_open(store, &st, err, sizeof(err)), TA_ESYSTEM);
}


/* test_streams - logins in streams, stream rules at the top level and per
 * tenant, hourly caps: parsed, stored, looked up per login */
static void
test_streams(void **state)
{
    char         err[8192];
    ta_store_t  *st;
    ta_tenant_t *t;

    (void) state;
    expect_error(T("") "tenant u { login u sideways; identity u.example { mode domain; } }\n",
                 "\"login stream\" must be one of transactional, broadcast, not \"sideways\"");
    expect_error("stream bulk { }\n", "\"stream\" must be one of transactional, broadcast");
    expect_error("stream broadcast { colour blue; }\n", "unknown field \"colour\" in stream");
    expect_error("stream broadcast { hourly_cap 0; }\n", "hourly_cap \"0\" is not a number of messages");
    expect_error("stream broadcast { hourly_cap 4294967296; }\n", "hourly_cap \"4294967296\" is not a number");
    expect_error("tenant u { login u; hourly_cap -1; identity u.example { mode domain; } }\n", "hourly_cap \"-1\"");
    write_file(src,
        "stream broadcast { require_dmarc on; hourly_cap 1000; }\n"
        "tenant t { login t; login t-bulk broadcast; login t-tx transactional;\n"
        "  hourly_cap 5000;\n"
        "  stream broadcast { hourly_cap 200; }\n"
        "  stream transactional { require_dmarc on; }\n"
        "  identity t.example { mode domain; }\n"
        "}\n"
        "tenant u { login u; stream broadcast { require_dmarc off; } identity u.example { mode domain; } }\n");
    assert_int_equal(ta_store_compile(src, store, NULL, err, sizeof(err)), TA_OK);
    assert_int_equal(ta_store_open(store, &st, err, sizeof(err)), TA_OK);
    assert_int_equal(ta_store_lookup(st, ta_str_cstr("t-bulk"), &t, err, sizeof(err)), TA_OK);
    assert_int_equal(t->stream, TA_STREAM_BROADCAST);
    assert_int_equal(t->hourly_cap, 5000);
    assert_int_equal(t->streams[TA_STREAM_BROADCAST].hourly_cap, 200);      /* its own */
    assert_int_equal(t->streams[TA_STREAM_BROADCAST].require_dmarc, 1);     /* inherited */
    assert_int_equal(t->streams[TA_STREAM_TRANSACTIONAL].require_dmarc, 1);
    assert_int_equal(t->streams[TA_STREAM_TRANSACTIONAL].hourly_cap, 0);
    ta_tenant_free(t);
    assert_int_equal(ta_store_lookup(st, ta_str_cstr("t"), &t, err, sizeof(err)), TA_OK);
    assert_int_equal(t->stream, TA_STREAM_TRANSACTIONAL);
    ta_tenant_free(t);
    assert_int_equal(ta_store_lookup(st, ta_str_cstr("t-tx"), &t, err, sizeof(err)), TA_OK);
    assert_int_equal(t->stream, TA_STREAM_TRANSACTIONAL);
    ta_tenant_free(t);
    assert_int_equal(ta_store_lookup(st, ta_str_cstr("u"), &t, err, sizeof(err)), TA_OK);
    assert_int_equal(t->streams[TA_STREAM_BROADCAST].require_dmarc, 0);     /* its own off */
    assert_int_equal(t->streams[TA_STREAM_BROADCAST].hourly_cap, 1000);     /* inherited */
    assert_int_equal(t->hourly_cap, 0);
    ta_tenant_free(t);
    ta_store_close(st);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_each),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_onboarding),
        cmocka_unit_test(test_streams),
        cmocka_unit_test(test_all_errors_reported),
        cmocka_unit_test(test_replace_and_refresh),
        cmocka_unit_test(test_bad_stores),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* test_dkimrec - DKIM key records: parsing good and hostile text, the record we publish, key matching */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/evp.h>

#include "ta_dkimrec.h"
#include "ta_keys.h"

#define VEC "tests/dkim/vectors/"

/* RFC 8463 A.2: the records for the A.1 keys */
static const char rfc8463_ed[] = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
static const char *const rfc8463_rsa_strings[] = {
    "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWR",
    "iGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutAC",
    "DfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC",
    "3Ip3G+2kryOTIKT+l/K4w3QIDAQAB",
};

/* parse - ta_dkimrec_parse on a C string */
static int
parse(const char *txt, ta_dkimrec_t *r, const char **why)
{
    *why = NULL;
    return ta_dkimrec_parse(txt, strlen(txt), r, why);
}

/* is - a raw tag value equals s */
static int
is(ta_str_t v, const char *s)
{
    return v.data != NULL && v.len == strlen(s) && memcmp(v.data, s, v.len) == 0;
}

/* slurp - a whole file, NUL-terminated */
static char *
slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *b = malloc(1 << 16);

    assert_non_null(f);
    assert_non_null(b);
    *len = fread(b, 1, (1 << 16) - 1, f);
    b[*len] = '\0';
    fclose(f);
    return b;
}

static void
test_good(void **state)
{
    static ta_dkimrec_t r;
    const char         *why;
    char                joined[512] = "";
    size_t              i;

    (void) state;
    assert_int_equal(parse(rfc8463_ed, &r, &why), TA_OK);
    assert_int_equal(r.alg, TA_ALG_ED25519_SHA256);
    assert_int_equal(r.key_len, 32);
    assert_int_equal(r.key[0], 0xd7);
    assert_true(is(r.v, "DKIM1") && is(r.k, "ed25519"));
    assert_null(r.h.data);
    assert_null(r.t.data);
    assert_false(r.revoked || r.testing || r.strict || r.hash_refused);

    /* the RSA record of RFC 8463 A.2, four character-strings joined */
    for (i = 0; i < 4; i++)
        strcat(joined, rfc8463_rsa_strings[i]);
    assert_int_equal(parse(joined, &r, &why), TA_OK);
    assert_int_equal(r.alg, TA_ALG_RSA_SHA256);
    assert_int_equal(r.key_len, 162);           /* SPKI of RSA-1024 */
    assert_int_equal(r.key[0], 0x30);

    /* no v=, no k=: defaults; unknown tags and h=sha256 fine */
    assert_int_equal(parse("p=AAEC; foo=bar; h=sha256; n=a note", &r, &why), TA_OK);
    assert_int_equal(r.alg, TA_ALG_RSA_SHA256);
    assert_null(r.v.data);
    assert_int_equal(r.key_len, 3);
    assert_true(is(r.n, "a note"));
    assert_false(r.hash_refused);
    /* tag names are case-sensitive: P= is an unknown tag, not p= */
    assert_int_equal(parse("v=DKIM1; P=AAAA; p=AAEC", &r, &why), TA_OK);
    assert_int_equal(r.key_len, 3);
    /* k= is an ABNF literal: case does not matter */
    assert_int_equal(parse("k=ED25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo", &r, &why), TA_OK);
    assert_int_equal(r.alg, TA_ALG_ED25519_SHA256);
    assert_int_equal(r.key_len, 32);            /* padding is optional */
}

static void
test_whitespace(void **state)
{
    static ta_dkimrec_t r;
    const char         *why;

    (void) state;
    /* whitespace around tags, "=", values; folding (CRLF WSP) anywhere FWS goes */
    assert_int_equal(parse(" v = DKIM1 ;\r\n\tk = rsa ;  p = AA\r\n EC\t ; ", &r, &why), TA_OK);
    assert_true(is(r.v, "DKIM1") && is(r.k, "rsa"));
    assert_true(is(r.p, "AA\r\n EC"));
    assert_int_equal(r.key_len, 3);
    assert_int_equal(r.key[2], 2);
    /* whitespace inside p= between base64 digits and before the padding */
    assert_int_equal(parse("p=11qYAYKxCrfVS/7TyW QHOg7hcvPa piMlrwIaaPcHURo =", &r, &why), TA_OK);
    assert_int_equal(r.key_len, 32);
    /* trailing semicolon, or none */
    assert_int_equal(parse("v=DKIM1; p=AAEC;", &r, &why), TA_OK);
    assert_int_equal(parse("v=DKIM1; p=AAEC", &r, &why), TA_OK);
}

static void
test_flags(void **state)
{
    static ta_dkimrec_t r;
    const char         *why;

    (void) state;
    assert_int_equal(parse("v=DKIM1; t=y:s; p=AAEC", &r, &why), TA_OK);
    assert_true(r.testing && r.strict);
    assert_int_equal(parse("v=DKIM1; t = s ; p=AAEC", &r, &why), TA_OK);
    assert_true(!r.testing && r.strict);
    assert_int_equal(parse("v=DKIM1; t=y : x; p=AAEC", &r, &why), TA_OK);   /* unknown flags ignored */
    assert_true(r.testing && !r.strict);
    assert_int_equal(parse("v=DKIM1; h=sha1; p=AAEC", &r, &why), TA_OK);
    assert_true(r.hash_refused);
    assert_int_equal(parse("v=DKIM1; h=sha1:SHA256; p=AAEC", &r, &why), TA_OK);
    assert_false(r.hash_refused);
    assert_int_equal(parse("v=DKIM1; s=email; p=AAEC", &r, &why), TA_OK);
    assert_int_equal(parse("v=DKIM1; s=*; p=AAEC", &r, &why), TA_OK);
    assert_int_equal(parse("v=DKIM1; s=other : Email; p=AAEC", &r, &why), TA_OK);
    assert_int_equal(parse("v=DKIM1; s=tlsrpt; p=AAEC", &r, &why), TA_EINPUT);
    assert_non_null(strstr(why, "s="));
}

static void
test_revoked(void **state)
{
    static ta_dkimrec_t r;
    const char         *why;

    (void) state;
    assert_int_equal(parse("v=DKIM1; k=rsa; p=", &r, &why), TA_OK);
    assert_true(r.revoked);
    assert_int_equal(r.key_len, 0);
    assert_non_null(r.p.data);
    assert_int_equal(parse("v=DKIM1; p= ; t=y", &r, &why), TA_OK);
    assert_true(r.revoked && r.testing);
    assert_int_equal(parse("v=DKIM1; p=\r\n ", &r, &why), TA_OK);
    assert_true(r.revoked);
}

static void
test_bad(void **state)
{
    static const struct {
        const char *txt, *why;
    } cases[] = {
        { "", "no p=" },
        { "v=DKIM1; k=rsa", "no p=" },
        { "k=rsa; v=DKIM1; p=AAEC", "not the first" },
        { "v=DKIM2; p=AAEC", "not DKIM1" },
        { "v=dkim1; p=AAEC", "not DKIM1" },         /* %x44.4B.49.4D.31: capitals */
        { "v=DKIM1; p=AAEC; p=AAEC", "twice" },
        { "v=DKIM1; k=rsa; p=AAEC; k=rsa", "twice" },
        { "v=DKIM1; v=DKIM1; p=AAEC", "twice" },
        { "v=DKIM1; p=AA$C", "base64" },
        { "v=DKIM1; p=A", "base64" },
        { "v=DKIM1; p=AA=A", "base64" },
        { "v=DKIM1; p=AA===", "base64" },
        { "v=DKIM1; p=AAE==", "base64" },
        { "v=DKIM1; p==", "base64" },
        { "v=DKIM1; =x; p=AAEC", "tag name" },
        { "v=DKIM1; 1a=b; p=AAEC", "tag name" },
        { "v=DKIM1; _a=b; p=AAEC", "tag name" },
        { "v=DKIM1; p", "'='" },
        { "v=DKIM1; a b=c; p=AAEC", "'='" },
        { "v=DKIM1; p=AA\nEC", "line break" },      /* bare LF */
        { "v=DKIM1; p=AA\r\nEC", "line break" },    /* CRLF not followed by WSP */
        { "v=DKIM1; p=AA\rEC", "line break" },
        { "v=DKIM1; n=caf\xc3\xa9; p=AAEC", "8-bit" },
        { "v=DKIM1; n=a\x01; p=AAEC", "control" },
        { "v=DKIM1;; p=AAEC", "empty tag" },
        { "; v=DKIM1; p=AAEC", "empty tag" },
        { "v=DKIM1; k=dsa; p=AAEC", "unknown k=" },
        { "v=DKIM1; k=; p=AAEC", "unknown k=" },
    };
    static ta_dkimrec_t r;
    const char         *why;
    size_t              i;

    (void) state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = parse(cases[i].txt, &r, &why);

        if (rc != TA_EINPUT || why == NULL || strstr(why, cases[i].why) == NULL)
            fail_msg("case %zu \"%s\": rc %d, why \"%s\", wanted \"%s\"", i, cases[i].txt, rc,
                     why ? why : "(null)", cases[i].why);
    }
    /* an unknown k= still fills in the rest */
    assert_int_equal(parse("v=DKIM1; k=dsa; t=y; p=AAEC", &r, &why), TA_EINPUT);
    assert_int_equal(r.alg, -1);
    assert_true(r.testing);
    assert_int_equal(r.key_len, 3);
}

static void
test_bounds(void **state)
{
    static ta_dkimrec_t r;
    static char         txt[8192];
    const char         *why;
    size_t              i, o;

    (void) state;
    /* 64 tags are fine, 65 are not */
    for (i = 0, o = 0; i < 63; i++)
        o += (size_t) sprintf(txt + o, "x%zu=y;", i);
    strcpy(txt + o, "p=AAEC");
    assert_int_equal(parse(txt, &r, &why), TA_OK);
    strcpy(txt + o, "z=1; p=AAEC");
    assert_int_equal(parse(txt, &r, &why), TA_EINPUT);
    assert_non_null(strstr(why, "64"));
    /* p= of 1100 bytes is kept, 1101 is refused */
    strcpy(txt, "p=");
    for (i = 0; i < 1100 / 3 * 4; i++)
        txt[2 + i] = 'A';
    strcpy(txt + 2 + i, "AAA=");                /* 1098 + 2 = 1100 bytes */
    assert_int_equal(parse(txt, &r, &why), TA_OK);
    assert_int_equal(r.key_len, 1100);
    strcpy(txt + 2 + i, "AAAA");                /* 1101 */
    assert_int_equal(parse(txt, &r, &why), TA_EINPUT);
    assert_non_null(strstr(why, "longer"));
}

/* publish - our record for key, parsed back from its joined pieces */
static void
publish(EVP_PKEY *key, ta_dkim_alg_t alg, size_t want_parts, ta_dkimrec_t *r)
{
    unsigned char pub[TA_DKIMREC_KEY_MAX];
    char          out[TA_DKIMREC_TEXT_SIZE], joined[TA_DKIMREC_TEXT_SIZE];
    ta_str_t      parts[TA_DKIMREC_MAX_PARTS];
    size_t        len, n, np, i, j = 0, o = 0;
    const char   *why;

    assert_int_equal(ta_dkimrec_public(key, pub, sizeof(pub), &len), TA_OK);
    n = ta_dkimrec_text(alg, pub, len, 0, out, sizeof(out), parts, &np);
    assert_true(n > 0);
    assert_int_equal(strlen(out), n);
    assert_int_equal(np, want_parts);
    for (i = 0; i < np; i++) {
        assert_true(parts[i].len <= 255);
        if (i + 1 < np)
            assert_int_equal(parts[i].len, 255);
        /* zone-file form: each piece quoted, one space between */
        assert_int_equal(parts[i].data[-1], '"');
        assert_int_equal(parts[i].data[parts[i].len], '"');
        memcpy(joined + j, parts[i].data, parts[i].len);
        j += parts[i].len;
        o += parts[i].len + 2 + (i > 0);
    }
    joined[j] = '\0';
    assert_int_equal(o, n);
    assert_int_equal(ta_dkimrec_parse(joined, j, r, &why), TA_OK);
    assert_int_equal(r->alg, (int) alg);
    assert_int_equal(r->key_len, len);
    assert_memory_equal(r->key, pub, len);
    assert_true(ta_dkimrec_matches(r, key));
}

static void
test_text_and_match(void **state)
{
    static ta_dkimrec_t r, r2;
    EVP_PKEY           *rsa4096 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 4096);
    EVP_PKEY           *rsa2048 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 2048);
    EVP_PKEY           *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    EVP_PKEY           *ed2 = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    EVP_PKEY           *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    unsigned char       pub[TA_DKIMREC_KEY_MAX];
    char                out[TA_DKIMREC_TEXT_SIZE], txt[1024];
    size_t              len, np;
    const char         *why;

    (void) state;
    assert_non_null(rsa4096);
    assert_non_null(ed);
    assert_non_null(ec);
    publish(rsa4096, TA_ALG_RSA_SHA256, 3, &r);     /* 550-byte SPKI: 754 octets of text */
    assert_false(ta_dkimrec_matches(&r, rsa2048));
    assert_false(ta_dkimrec_matches(&r, ed));
    publish(rsa2048, TA_ALG_RSA_SHA256, 2, &r);
    publish(ed, TA_ALG_ED25519_SHA256, 1, &r);
    assert_false(ta_dkimrec_matches(&r, ed2));
    assert_false(ta_dkimrec_matches(&r, rsa2048));
    /* our key under the wrong k=, or revoked: no match */
    assert_int_equal(ta_dkimrec_public(ed, pub, sizeof(pub), &len), TA_OK);
    assert_int_equal(len, 32);
    r2 = r;
    r2.alg = TA_ALG_RSA_SHA256;
    assert_false(ta_dkimrec_matches(&r2, ed));
    r2 = r;
    r2.revoked = 1;
    assert_false(ta_dkimrec_matches(&r2, ed));
    /* the revoked record we publish */
    assert_int_equal(ta_dkimrec_text(TA_ALG_ED25519_SHA256, NULL, 0, 1, out, sizeof(out), NULL, NULL),
                     strlen("\"v=DKIM1; k=ed25519; p=\""));
    assert_string_equal(out, "\"v=DKIM1; k=ed25519; p=\"");
    assert_int_equal(ta_dkimrec_text(TA_ALG_RSA_SHA256, pub, 32, 1, out, sizeof(out), NULL, &np), 20);
    assert_string_equal(out, "\"v=DKIM1; k=rsa; p=\"");
    assert_int_equal(np, 1);
    assert_int_equal(ta_dkimrec_parse(out + 1, 18, &r2, &why), TA_OK);
    assert_true(r2.revoked);
    /* too small an output, too long a key, an unknown algorithm: 0 */
    assert_int_equal(ta_dkimrec_text(TA_ALG_ED25519_SHA256, pub, 32, 0, out, 40, NULL, NULL), 0);
    assert_int_equal(ta_dkimrec_text(TA_ALG_ED25519_SHA256, pub, TA_DKIMREC_KEY_MAX + 1, 0, out,
                                     sizeof(out), NULL, NULL), 0);
    assert_int_equal(ta_dkimrec_text((ta_dkim_alg_t) 7, pub, 32, 0, out, sizeof(out), NULL, NULL), 0);
    /* the exact size works, one less does not */
    len = ta_dkimrec_text(TA_ALG_ED25519_SHA256, pub, 32, 0, out, sizeof(out), NULL, NULL);
    assert_int_equal(ta_dkimrec_text(TA_ALG_ED25519_SHA256, pub, 32, 0, out, len + 1, NULL, NULL), len);
    assert_int_equal(ta_dkimrec_text(TA_ALG_ED25519_SHA256, pub, 32, 0, out, len, NULL, NULL), 0);
    /* other key types, too small an output */
    assert_int_equal(ta_dkimrec_public(ec, pub, sizeof(pub), &len), TA_EINPUT);
    assert_false(ta_dkimrec_matches(&r, ec));
    assert_int_equal(ta_dkimrec_public(rsa2048, pub, 100, &len), TA_ESYSTEM);
    assert_int_equal(ta_dkimrec_public(ed, pub, 31, &len), TA_ESYSTEM);
    /* RFC 8463: the A.1 Ed25519 key matches its A.2 record */
    EVP_PKEY_free(ed2);
    assert_int_equal(ta_key_parse("nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=", 44,
                                  TA_ALG_ED25519_SHA256, &ed2, txt, sizeof(txt)), TA_OK);
    assert_int_equal(parse(rfc8463_ed, &r, &why), TA_OK);
    assert_true(ta_dkimrec_matches(&r, ed2));
    EVP_PKEY_free(rsa4096);
    EVP_PKEY_free(rsa2048);
    EVP_PKEY_free(ed);
    EVP_PKEY_free(ed2);
    EVP_PKEY_free(ec);
}

static void
test_rfc8463_rsa(void **state)
{
    static ta_dkimrec_t r;
    char                joined[512] = "", err[200];
    char               *pem;
    size_t              i, plen;
    const char         *why;
    EVP_PKEY           *k;

    (void) state;
    pem = slurp(VEC "rfc8463-rsa.pem", &plen);
    assert_int_equal(ta_key_parse(pem, plen, TA_ALG_RSA_SHA256, &k, err, sizeof(err)), TA_OK);
    for (i = 0; i < 4; i++)
        strcat(joined, rfc8463_rsa_strings[i]);
    assert_int_equal(parse(joined, &r, &why), TA_OK);
    assert_true(ta_dkimrec_matches(&r, k));
    /* a PKCS#1 RSAPublicKey is the same key, but not what p= must hold */
    memmove(r.key, r.key + 22, r.key_len - 22);
    r.key_len -= 22;
    assert_false(ta_dkimrec_matches(&r, k));
    EVP_PKEY_free(k);
    free(pem);
}

static void
test_taglist(void **state)
{
    static const char txt[] = "a=1;\r\n b = x y ;c=";
    ta_taglist_t      tl;
    ta_tag_t          t;
    const char       *why;

    (void) state;
    ta_taglist_init(&tl, txt, sizeof(txt) - 1, 0);
    assert_int_equal(ta_taglist_next(&tl, &t, &why), 1);
    assert_true(is(t.name, "a") && is(t.value, "1"));
    assert_int_equal(ta_taglist_next(&tl, &t, &why), 1);
    assert_true(is(t.name, "b") && is(t.value, "x y"));
    assert_int_equal(ta_taglist_next(&tl, &t, &why), 1);
    assert_true(is(t.name, "c") && t.value.len == 0);
    assert_int_equal(ta_taglist_next(&tl, &t, &why), 0);
    assert_int_equal(ta_taglist_next(&tl, &t, &why), 0);
    assert_int_equal(tl.n, 3);
    /* names with case (DKIM) or without (DMARC) */
    ta_taglist_init(&tl, "a=1; A=2", 8, 0);
    assert_int_equal(ta_taglist_next(&tl, &t, &why), 1);
    assert_int_equal(ta_taglist_next(&tl, &t, &why), 1);
    ta_taglist_init(&tl, "a=1; A=2", 8, 1);
    assert_int_equal(ta_taglist_next(&tl, &t, &why), 1);
    assert_int_equal(ta_taglist_next(&tl, &t, &why), -1);
    assert_non_null(strstr(why, "twice"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_whitespace),
        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_revoked),
        cmocka_unit_test(test_bad),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_text_and_match),
        cmocka_unit_test(test_rfc8463_rsa),
        cmocka_unit_test(test_taglist),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

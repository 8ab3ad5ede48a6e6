/* test_state - the onboarding state file (parse, write, lookups) and the key lifecycle built on it */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ta_lifecycle.h"
#include "ta_state.h"

#define S(lit) { lit, sizeof(lit) - 1 }
#define FPR_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define FPR_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define FPR_C "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

static const char good[] =
    "tenantalign-state 1\n"
    "# a comment\n"
    "\n"
    "key acme.example s1 " FPR_A " published 1000 2000\n"
    "key acme.example s2 " FPR_B " missing 0 2000\n"
    "dmarc acme.example found s r 2000\n"
    "rotation acme.example s2 rsa-sha256 1500 604800 /var/lib/tenantalign/keys/acme example.s2.pem\n";

/* parse - a C string into a state, expecting rc; the error text when it fails */
static ta_state_t *
parse(const char *text, int rc, const char *want)
{
    ta_state_t *s = NULL;
    char        err[256] = "";

    assert_int_equal(ta_state_parse(text, strlen(text), &s, err, sizeof(err)), rc);
    if (want != NULL && strstr(err, want) == NULL)
        fail_msg("error \"%s\", wanted \"%s\"", err, want);
    return s;
}

static void
test_parse_and_write(void **state)
{
    const ta_state_key_t      *k;
    const ta_state_dmarc_t    *d;
    const ta_state_rotation_t *r[4];
    ta_state_t                *s, *s2;
    char                      *out, *out2;
    size_t                     len, len2;

    (void) state;
    s = parse(good, 0, NULL);
    k = ta_state_key(s, ta_str_cstr("ACME.example"), ta_str_cstr("s1"), FPR_A);
    assert_non_null(k);
    assert_int_equal(k->seen, TA_SEEN_PUBLISHED);
    assert_int_equal(k->first_ok, 1000);
    assert_null(ta_state_key(s, ta_str_cstr("acme.example"), ta_str_cstr("s1"), FPR_B));
    d = ta_state_dmarc(s, ta_str_cstr("acme.example"));
    assert_non_null(d);
    assert_true(d->adkim_strict && !d->aspf_strict);
    assert_int_equal(ta_state_rotations(s, ta_str_cstr("acme.example"), r, 4), 1);
    assert_string_equal(r[0]->file.data, "/var/lib/tenantalign/keys/acme example.s2.pem");
    assert_int_equal(r[0]->retire, 604800);

    /* updates: a key seen for the first time keeps its first time */
    assert_int_equal(ta_state_note_key(s, ta_str_cstr("acme.example"), ta_str_cstr("s2"), FPR_B,
                                       TA_SEEN_PUBLISHED, 3000), 0);
    assert_int_equal(ta_state_note_key(s, ta_str_cstr("acme.example"), ta_str_cstr("s2"), FPR_B,
                                       TA_SEEN_PUBLISHED, 4000), 0);
    k = ta_state_key(s, ta_str_cstr("acme.example"), ta_str_cstr("s2"), FPR_B);
    assert_int_equal(k->first_ok, 3000);
    assert_int_equal(k->checked, 4000);

    /* written and read back: the same text */
    assert_int_equal(ta_state_format(s, &out, &len), 0);
    s2 = parse(out, 0, NULL);
    assert_int_equal(ta_state_format(s2, &out2, &len2), 0);
    assert_int_equal(len, len2);
    assert_memory_equal(out, out2, len);
    free(out);
    free(out2);
    ta_state_free(s);
    ta_state_free(s2);
}

static void
test_parse_errors(void **state)
{
    (void) state;
    parse("", TA_EINPUT, "not a tenantalign state file");
    parse("tenantalign-state 2\n", TA_EINPUT, "line 1: not a tenantalign state file");
    parse("tenantalign-state 1\nkey a.example s1 " FPR_A " published 1 2", TA_EINPUT,
          "line 2: cut short (no line end): the file is truncated");
    parse("tenantalign-state 1\nkey a.example s1 " FPR_A " published 1\n", TA_EINPUT, "7 fields");
    parse("tenantalign-state 1\nkey a.example s1 ABC published 1 2\n", TA_EINPUT, "64 lower-case hex");
    parse("tenantalign-state 1\nkey a.example s1 " FPR_A " seen 1 2\n", TA_EINPUT, "unknown key status");
    parse("tenantalign-state 1\nkey a.example  s1 " FPR_A " published 1 2\n", TA_EINPUT, "7 fields");
    parse("tenantalign-state 1\nkey a.example s1 " FPR_A " published -1 2\n", TA_EINPUT, "bad time");
    parse("tenantalign-state 1\ndmarc a.example found x r 2\n", TA_EINPUT, "adkim and aspf are r or s");
    parse("tenantalign-state 1\ndmarc a.example unknown r r 2\n", TA_EINPUT, "unknown DMARC status");
    parse("tenantalign-state 1\nrotation a.example s2 rsa-sha1 1 2 /k\n", TA_EINPUT, "unknown algorithm");
    parse("tenantalign-state 1\nrotation a.example s2 rsa-sha256 1 2 k.pem\n", TA_EINPUT, "absolute path");
    parse("tenantalign-state 1\ndmarc a.example none r r 2\ndmarc A.example none r r 3\n", TA_EINPUT,
          "line 3: the same thing twice");
    parse("tenantalign-state 1\nsomething else\n", TA_EINPUT, "unknown record");
}

/* fake_fpr - a key's "fingerprint": FPR_<last letter of its file name> */
static int
fake_fpr(void *ctx, const ta_key_t *key, char hex[TA_FPR_HEX + 1], char *err, size_t errlen)
{
    char c = key->key_file.data[key->key_file.len - 1];

    (void) ctx;
    if (c == 'x') {
        snprintf(err, errlen, "key file gone");
        return TA_ESYSTEM;
    }
    memset(hex, c, TA_FPR_HEX);
    hex[TA_FPR_HEX] = '\0';
    return 0;
}

static const ta_key_t src_keys[] = {
    { S("s1"), TA_STR_NULL, S("/k/a"), TA_ALG_RSA_SHA256, TA_KEY_ACTIVE },
    { S("e1"), TA_STR_NULL, S("/k/e"), TA_ALG_ED25519_SHA256, TA_KEY_ACTIVE },
};

/* effective - the identity's keys at time now; states by selector into out */
static void
effective(const ta_identity_t *id, const char *text, int64_t now, const char *want)
{
    ta_key_t            keys[TA_LIFECYCLE_MAX];
    ta_lifecycle_note_t notes[TA_LIFECYCLE_MAX];
    static const char   *names[] = { "pending", "active", "retiring", "revoked", "unverified" };
    ta_state_t          *s = text ? parse(text, 0, NULL) : NULL;
    char                 got[512] = "", err[128];
    size_t               n, i;

    assert_int_equal(ta_lifecycle_keys(id, id->domain, s, now, fake_fpr, NULL, keys, notes,
                                       TA_LIFECYCLE_MAX, &n, err, sizeof(err)), 0);
    for (i = 0; i < n; i++)
        snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%.*s=%s", i ? " " : "",
                 (int) keys[i].selector.len, keys[i].selector.data, names[keys[i].state]);
    if (strcmp(got, want) != 0)
        fail_msg("at %lld: got \"%s\", wanted \"%s\"", (long long) now, got, want);
    ta_state_free(s);
}

#define HEAD "tenantalign-state 1\n"
#define KEY_S1 "key acme.example s1 " FPR_A " published 100 100\n"
#define KEY_E1 "key acme.example e1 eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee published 100 100\n"
#define ROT_S2 "rotation acme.example s2 rsa-sha256 200 1000 /k/b\n"

static void
test_lifecycle(void **state)
{
    ta_identity_t id;

    (void) state;
    memset(&id, 0, sizeof(id));
    id.domain = ta_str_cstr("acme.example");
    id.keys = src_keys;
    id.nkeys = 2;
    id.dns_check = 1;

    /* never verified: kept, never signing; dns_check off: as the source says */
    effective(&id, NULL, 0, "s1=unverified e1=unverified");
    effective(&id, HEAD KEY_S1, 0, "s1=active e1=unverified");
    id.dns_check = 0;
    effective(&id, NULL, 0, "s1=active e1=active");
    id.dns_check = 1;
    /* the key file now holds another key: verified anew */
    effective(&id, HEAD "key acme.example s1 " FPR_B " published 100 100\n", 0, "s1=unverified e1=unverified");

    /* a rotation: pending until seen, then active with its predecessor retiring, then revoked */
    effective(&id, HEAD KEY_S1 KEY_E1 ROT_S2, 300, "s1=active e1=active s2=pending");
    effective(&id, HEAD KEY_S1 KEY_E1 ROT_S2 "key acme.example s2 " FPR_B " missing 0 300\n", 300,
              "s1=active e1=active s2=pending");
    effective(&id, HEAD KEY_S1 KEY_E1 ROT_S2 "key acme.example s2 " FPR_B " published 400 400\n", 500,
              "s1=retiring e1=active s2=active");
    effective(&id, HEAD KEY_S1 KEY_E1 ROT_S2 "key acme.example s2 " FPR_B " published 400 400\n", 1400,
              "s1=revoked e1=active s2=active");
    /* the new key vanished from DNS later: it stops signing; the old one never comes back */
    effective(&id, HEAD KEY_S1 KEY_E1 ROT_S2 "key acme.example s2 " FPR_B " missing 400 1500\n", 500,
              "s1=retiring e1=active s2=unverified");

    /* the next rotation reuses s1 for a new key (s1/s2 alternate): the old s1 is replaced */
    effective(&id, HEAD KEY_S1 KEY_E1 ROT_S2 "key acme.example s2 " FPR_B " published 400 400\n"
              "rotation acme.example s1 rsa-sha256 2000 1000 /k/c\n", 2100,
              "s1=pending e1=active s2=active");
    effective(&id, HEAD KEY_S1 KEY_E1 ROT_S2 "key acme.example s2 " FPR_B " published 400 400\n"
              "rotation acme.example s1 rsa-sha256 2000 1000 /k/c\n"
              "key acme.example s1 " FPR_C " published 2200 2200\n", 2300,
              "s1=active e1=active s2=retiring");
}

static void
test_lifecycle_errors(void **state)
{
    static const ta_key_t gone[] = {
        { S("s1"), TA_STR_NULL, S("/k/x"), TA_ALG_RSA_SHA256, TA_KEY_ACTIVE },
    };
    ta_key_t            keys[2];
    ta_lifecycle_note_t notes[2];
    ta_identity_t       id;
    char                err[128];
    size_t              n;

    (void) state;
    memset(&id, 0, sizeof(id));
    id.domain = ta_str_cstr("acme.example");
    id.keys = gone;
    id.nkeys = 1;
    assert_int_equal(ta_lifecycle_keys(&id, id.domain, NULL, 0, fake_fpr, NULL, keys, notes, 2, &n,
                                       err, sizeof(err)), TA_ESYSTEM);
    assert_string_equal(err, "key file gone");
    id.keys = src_keys;
    id.nkeys = 2;
    assert_int_equal(ta_lifecycle_keys(&id, id.domain, NULL, 0, fake_fpr, NULL, keys, notes, 1, &n,
                                       err, sizeof(err)), TA_EINPUT);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_and_write),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_lifecycle),
        cmocka_unit_test(test_lifecycle_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

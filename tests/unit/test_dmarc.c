/* test_dmarc - DMARC records: good, bad, DMARCbis tags, RFC 7489 6.6.3's rules, picking among several */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "ta_dmarc.h"

/* parse - ta_dmarc_parse on a C string */
static int
parse(const char *txt, ta_dmarc_t *d, const char **why)
{
    *why = NULL;
    return ta_dmarc_parse(txt, strlen(txt), d, why);
}

/* a record and a text its parse must give: in the warnings when it
 * parses, in the reason when it does not */
typedef struct {
    const char *txt, *want;
} case_t;

/* run_cases - each record parses with rc, saying what it should */
static void
run_cases(const case_t *cases, size_t n, int rc)
{
    ta_dmarc_t  d;
    const char *why;
    size_t      i;

    for (i = 0; i < n; i++) {
        int got = parse(cases[i].txt, &d, &why);

        if (got != rc || strstr(rc == TA_OK ? d.warnings : why ? why : "", cases[i].want) == NULL)
            fail_msg("case %zu \"%s\": rc %d, why \"%s\", warnings \"%s\", wanted \"%s\"", i,
                     cases[i].txt, got, why ? why : "", got == TA_OK ? d.warnings : "", cases[i].want);
    }
}

/* is - a raw value equals s */
static int
is(ta_str_t v, const char *s)
{
    return v.data != NULL && v.len == strlen(s) && memcmp(v.data, s, v.len) == 0;
}

static void
test_good(void **state)
{
    ta_dmarc_t  d;
    const char *why;

    (void) state;
    assert_int_equal(parse("v=DMARC1; p=reject; rua=mailto:dmarc@example.com", &d, &why), TA_OK);
    assert_int_equal(d.p, TA_DMARC_REJECT);
    assert_int_equal(d.sp, TA_DMARC_REJECT);    /* the effective policies */
    assert_int_equal(d.np, TA_DMARC_REJECT);
    assert_false(d.has_sp || d.has_np || d.adkim_strict || d.aspf_strict || d.testing || d.p_defaulted);
    assert_int_equal(d.pct, 100);
    assert_int_equal(d.psd, -1);
    assert_true(is(d.rua, "mailto:dmarc@example.com"));
    assert_null(d.ruf.data);
    assert_string_equal(d.warnings, "");

    assert_int_equal(parse("v=DMARC1; p=quarantine; sp=none; np=reject; adkim=s; aspf=s; pct=100; "
                           "fo=1:d; rf=afrf; ri=86400; rua=mailto:a@x.example!10m, mailto:b@y.example;"
                           "ruf=mailto:f@x.example; t=y; psd=n", &d, &why), TA_OK);
    assert_int_equal(d.p, TA_DMARC_QUARANTINE);
    assert_int_equal(d.sp, TA_DMARC_NONE);
    assert_int_equal(d.np, TA_DMARC_REJECT);
    assert_true(d.has_sp && d.has_np && d.adkim_strict && d.aspf_strict && d.testing);
    assert_int_equal(d.psd, 'n');
    assert_true(is(d.rua, "mailto:a@x.example!10m, mailto:b@y.example"));
    assert_true(is(d.ruf, "mailto:f@x.example"));
    assert_string_equal(d.warnings, "");

    /* case: v and the names and keywords are ABNF literals; DMARC1 is not */
    assert_int_equal(parse("V=DMARC1;P=Reject;ADKIM=S", &d, &why), TA_OK);
    assert_int_equal(d.p, TA_DMARC_REJECT);
    assert_true(d.adkim_strict);
    assert_int_equal(parse("v = DMARC1 ;\tp = none ; ", &d, &why), TA_OK);
    assert_int_equal(d.p, TA_DMARC_NONE);
    /* sp falls back to p, np to sp */
    assert_int_equal(parse("v=DMARC1; p=quarantine; np=reject", &d, &why), TA_OK);
    assert_int_equal(d.sp, TA_DMARC_QUARANTINE);
    assert_int_equal(d.np, TA_DMARC_REJECT);
    assert_int_equal(parse("v=DMARC1; p=none; sp=reject", &d, &why), TA_OK);
    assert_int_equal(d.np, TA_DMARC_REJECT);
    assert_int_equal(parse("v=DMARC1; p=none; psd=y; t=n", &d, &why), TA_OK);
    assert_int_equal(d.psd, 'y');
    assert_false(d.testing);
}

static void
test_warnings(void **state)
{
    static const case_t cases[] = {
        { "v=DMARC1; p=none; foo=bar", "foo=: unknown tag" },
        { "v=DMARC1; rua=mailto:a@b.example; p=none", "p=: not the second tag" },
        { "v=DMARC1; p=none; adkim=x", "adkim=: neither r nor s" },
        { "v=DMARC1; p=none; aspf=", "aspf=: neither r nor s" },
        { "v=DMARC1; p=none; pct=101", "pct=: not a number" },
        { "v=DMARC1; p=none; pct=0100", "pct=: not a number" },
        { "v=DMARC1; p=none; pct=-1", "pct=: not a number" },
        { "v=DMARC1; p=none; pct=50", "pct=: below 100, ignored by DMARCbis" },
        { "v=DMARC1; p=none; fo=2", "fo=: not a list" },
        { "v=DMARC1; p=none; rf=a_b", "rf=: not a list" },
        { "v=DMARC1; p=none; ri=1h", "ri=: not a number" },
        { "v=DMARC1; p=none; ri=12345678901", "ri=: not a number" },
        { "v=DMARC1; p=none; abcdefghijklmnopqrstuvwxyz0123456789abcdefghij=1",
          "abcdefghijklmnopqrstuvwxyz012345=: unknown tag" },
        { "v=DMARC1; p=none; rf= afrf : other-1 ; fo = 0 : s ; rua=mailto:a@b.example", "" },
        { "v=DMARC1; p=none; t=x", "t=: neither y nor n" },
        { "v=DMARC1; p=none; psd=x", "psd=: not y, n or u" },
        { "v=DMARC1; p=none; np=all", "np=: not none, quarantine or reject: ignored" },
        { "v=DMARC1; p=none; rua=dmarc@example.com", "rua=: holds something that is not a URI" },
        { "v=DMARC1; p=none; ruf=mailto:a@b.example, x", "ruf=: holds something" },
        { "v=DMARC1; p=none;; rua=mailto:a@b.example", "empty tag-spec" },
    };
    ta_dmarc_t  d;
    const char *why;
    size_t      i;

    (void) state;
    run_cases(cases, sizeof(cases) / sizeof(cases[0]), TA_OK);
    /* defaults kept where the value was bad */
    assert_int_equal(parse("v=DMARC1; p=reject; pct=abc; adkim=x; np=x; psd=q", &d, &why), TA_OK);
    assert_int_equal(d.pct, 100);
    assert_false(d.adkim_strict);
    assert_false(d.has_np);
    assert_int_equal(d.np, TA_DMARC_REJECT);
    assert_int_equal(d.psd, -1);
    assert_int_equal(parse("v=DMARC1; p=reject; pct=0", &d, &why), TA_OK);
    assert_int_equal(d.pct, 0);
    /* warnings never overflow: the buffer ends in "..." */
    {
        char   txt[2048];
        size_t o = (size_t) sprintf(txt, "v=DMARC1; p=none");

        for (i = 0; i < 60; i++)
            o += (size_t) sprintf(txt + o, "; unknowntag%zu=x", i);
        assert_int_equal(parse(txt, &d, &why), TA_OK);
        assert_true(strlen(d.warnings) < sizeof(d.warnings));
        assert_non_null(strstr(d.warnings, "..."));
        assert_string_equal(d.warnings + strlen(d.warnings) - 3, "...");
    }
}

static void
test_bad_policy(void **state)
{
    ta_dmarc_t  d;
    const char *why;

    (void) state;
    /* RFC 7489 6.6.3: no valid p (or a bad sp) with a valid rua is p=none ... */
    assert_int_equal(parse("v=DMARC1; p=bogus; rua=mailto:a@b.example", &d, &why), TA_OK);
    assert_true(d.p_defaulted);
    assert_int_equal(d.p, TA_DMARC_NONE);
    assert_int_equal(d.sp, TA_DMARC_NONE);
    assert_non_null(strstr(d.warnings, "p=none"));
    assert_int_equal(parse("v=DMARC1; rua=mailto:a@b.example", &d, &why), TA_OK);
    assert_true(d.p_defaulted);
    assert_int_equal(parse("v=DMARC1; p=reject; sp=bogus; rua=x, mailto:a@b.example", &d, &why), TA_OK);
    assert_true(d.p_defaulted);
    assert_int_equal(d.p, TA_DMARC_NONE);
    assert_int_equal(d.sp, TA_DMARC_NONE);
    /* ... and without one, no policy at all */
    assert_int_equal(parse("v=DMARC1; p=bogus", &d, &why), TA_EINPUT);
    assert_non_null(strstr(why, "no valid p="));
    assert_int_equal(parse("v=DMARC1", &d, &why), TA_EINPUT);
    assert_int_equal(parse("v=DMARC1;", &d, &why), TA_EINPUT);
    assert_int_equal(parse("v=DMARC1; p=bogus; rua=not-a-uri", &d, &why), TA_EINPUT);
    assert_int_equal(parse("v=DMARC1; p=reject; sp=bogus", &d, &why), TA_EINPUT);
    assert_non_null(strstr(why, "sp="));
}

static void
test_bad(void **state)
{
    static const case_t cases[] = {
        { "", "v=DMARC1" },
        { "v=dmarc1; p=none", "v=DMARC1" },
        { "v=DMARC2; p=none", "v=DMARC1" },
        { "v DMARC1; p=none", "v=DMARC1" },
        { "v =", "v=DMARC1" },
        { "v=DMARC1 p=reject", "not followed by \";\"" },
        { "v=DMARC1\tp=reject; rua=mailto:a@b.example", "not followed by \";\"" },
        { "v=DMARC1x; p=none", "v=DMARC1" },
        { " v=DMARC1; p=none", "v=DMARC1" },
        { "p=none; v=DMARC1", "v=DMARC1" },
        { "v=spf1 -all", "v=DMARC1" },
        { "v=DMARC1; p=none; p=reject", "twice" },
        { "v=DMARC1; p=none; P=reject", "twice" },
        { "v=DMARC1; p=none; v=DMARC1", "twice" },
        { "v=DMARC1; p=none; =x", "tag name" },
        { "v=DMARC1; p=none; bad", "'='" },
        { "v=DMARC1; p=none; rua=mailto:a@b\nc", "line break" },
        { "v=DMARC1; p=none\x01", "control" },
    };
    ta_dmarc_t  d;
    const char *why;

    (void) state;
    run_cases(cases, sizeof(cases) / sizeof(cases[0]), TA_EINPUT);
    {
        char   txt[2048];
        size_t o = (size_t) sprintf(txt, "v=DMARC1; p=none"), k;

        for (k = 0; k < 63; k++)
            o += (size_t) sprintf(txt + o, "; x%zu=y", k);
        assert_int_equal(parse(txt, &d, &why), TA_EINPUT);
        assert_non_null(strstr(why, "64"));
    }
}

static void
test_uris(void **state)
{
    static const char *const good[] = {
        "mailto:a@b.example", "mailto:a@b.example!10", "mailto:a@b.example!10k", "mailto:a@b.example!5G",
        "https://reports.example/dmarc?x=1", "mailto:a%2Cb@b.example", "  mailto:a@b.example  ",
    };
    static const char *const bad[] = {
        "a@b.example", "mailto:", ":x", "1x:y", "mailto:a@b.example!", "mailto:a@b.example!10x",
        "mailto:a@b.example!k", "mailto:a b@c", "mailto:a%2@b", "mailto:a%zz@b", "mailto:a@b!1!2",
    };
    char        txt[256];
    ta_dmarc_t  d;
    const char *why;
    size_t      i;

    (void) state;
    /* a valid rua rescues a bad p; an invalid one does not */
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        snprintf(txt, sizeof(txt), "v=DMARC1; p=x; rua=%s", good[i]);
        if (parse(txt, &d, &why) != TA_OK || strstr(d.warnings, "rua=:") != NULL)
            fail_msg("good URI \"%s\": %s / %s", good[i], why ? why : "", d.warnings);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(txt, sizeof(txt), "v=DMARC1; p=x; rua=%s", bad[i]);
        if (parse(txt, &d, &why) != TA_EINPUT)
            fail_msg("bad URI \"%s\" accepted", bad[i]);
    }
}

static void
test_pick(void **state)
{
    ta_str_t    txts[4];
    size_t      idx = 99;
    const char *why;

    (void) state;
    txts[0] = ta_str_cstr("v=spf1 -all");
    txts[1] = ta_str_cstr("v=DMARC1; p=none");
    txts[2] = ta_str_cstr("google-site-verification=abc");
    assert_int_equal(ta_dmarc_pick(txts, 3, &idx, &why), TA_OK);
    assert_int_equal(idx, 1);
    assert_int_equal(ta_dmarc_pick(txts, 1, &idx, &why), TA_NOTFOUND);
    assert_int_equal(ta_dmarc_pick(txts, 0, &idx, &why), TA_NOTFOUND);
    txts[3] = ta_str_cstr("v = DMARC1;p=reject");
    assert_int_equal(ta_dmarc_pick(txts, 4, &idx, &why), TA_EINPUT);
    assert_non_null(strstr(why, "multiple DMARC records"));
    /* only a record that starts with the DMARC1 version counts */
    txts[3] = ta_str_cstr("v=DMARC1x; p=reject");
    assert_int_equal(ta_dmarc_pick(txts, 4, &idx, &why), TA_OK);
    txts[3] = ta_str_cstr(" v=DMARC1; p=reject");
    assert_int_equal(ta_dmarc_pick(txts, 4, &idx, &why), TA_OK);
    txts[3] = ta_str_cstr("v=DMARC1");          /* a record, though not a usable one */
    assert_int_equal(ta_dmarc_pick(txts, 4, &idx, &why), TA_EINPUT);
    txts[1] = ta_str_cstr("p=none; v=DMARC1");
    idx = 99;
    assert_int_equal(ta_dmarc_pick(txts, 4, &idx, &why), TA_OK);
    assert_int_equal(idx, 3);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_warnings),
        cmocka_unit_test(test_bad_policy),
        cmocka_unit_test(test_bad),
        cmocka_unit_test(test_uris),
        cmocka_unit_test(test_pick),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_orgdomain - organizational domains and alignment.
 *
 * Runs the official PSL test vectors shipped by Debian's publicsuffix
 * package (checkPublicSuffix(input, expected) lines) through
 * ta_domain_normalize + ta_orgdomain, then alignment cases in the spirit
 * of OpenDMARC's test_alignment.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <libpsl.h>

#include "ta_domain.h"
#include "ta_orgdomain.h"

#define PSL_VECTORS "/usr/share/doc/publicsuffix/examples/test_psl.txt"

/* quoted - the next 'quoted' argument or null; advances *p */
static int
quoted(const char **p, char *out, size_t size, int *is_null)
{
    const char *s = *p, *e;

    while (*s == ' ' || *s == ',' || *s == '(')
        s++;
    if (strncmp(s, "null", 4) == 0) {
        *is_null = 1;
        *p = s + 4;
        return 1;
    }
    if (*s != '\'')
        return 0;
    e = strchr(s + 1, '\'');
    if (e == NULL || (size_t) (e - s - 1) >= size)
        return 0;
    memcpy(out, s + 1, (size_t) (e - s - 1));
    out[e - s - 1] = '\0';
    *is_null = 0;
    *p = e + 1;
    return 1;
}

static void
test_psl_vectors(void **state)
{
    FILE       *f = fopen(PSL_VECTORS, "r");
    char        line[1024], in[512], want[512], norm[TA_DOMAIN_MAX + 1];
    char        wnorm[TA_DOMAIN_MAX + 1];
    const char *p, *why;
    int         in_null, want_null, n = 0, bad = 0;
    size_t      nlen, wlen;
    ta_str_t    org;

    (void) state;
    assert_non_null(f);
    while (fgets(line, sizeof(line), f)) {
        p = strstr(line, "checkPublicSuffix(");
        if (p == NULL || line[0] == '/')
            continue;
        p += strlen("checkPublicSuffix");
        assert_true(quoted(&p, in, sizeof(in), &in_null));
        assert_true(quoted(&p, want, sizeof(want), &want_null));
        n++;
        if (in_null)
            continue;
        /* Our inputs are normalised first; a domain that cannot be must have no org. */
        if (in[0] == '.' || ta_domain_normalize(in, strlen(in), norm, sizeof(norm), &nlen, &why) != TA_OK) {
            if (!want_null) {
                fprintf(stderr, "normalise failed for %s (%s), want %s\n", in, why, want);
                bad++;
            }
            continue;
        }
        if (ta_orgdomain(ta_str(norm, nlen), &org) != TA_OK) {
            if (!want_null) {
                fprintf(stderr, "no org for %s, want %s\n", in, want);
                bad++;
            }
            continue;
        }
        if (want_null) {
            fprintf(stderr, "org %.*s for %s, want none\n", (int) org.len, org.data, in);
            bad++;
            continue;
        }
        assert_int_equal(ta_domain_normalize(want, strlen(want), wnorm, sizeof(wnorm), &wlen, &why), TA_OK);
        if (!ta_str_eq(org, ta_str(wnorm, wlen))) {
            fprintf(stderr, "org %.*s for %s, want %s\n", (int) org.len, org.data, in, wnorm);
            bad++;
        }
    }
    fclose(f);
    assert_true(n > 50);
    assert_int_equal(bad, 0);
}

static void
expect_org(const char *d, const char *want)
{
    ta_str_t org;
    int      rc = ta_orgdomain(ta_str_cstr(d), &org);

    if (want == NULL) {
        assert_int_equal(rc, TA_NOTFOUND);
        return;
    }
    assert_int_equal(rc, TA_OK);
    assert_int_equal(org.len, strlen(want));
    assert_memory_equal(org.data, want, org.len);
}

static void
test_orgdomain_basic(void **state)
{
    (void) state;
    expect_org("acme.example", "acme.example");
    expect_org("mail.acme.example", "acme.example");
    expect_org("a.b.c.example.co.uk", "example.co.uk");
    expect_org("co.uk", NULL);
    expect_org("com", NULL);
    expect_org("bounces.customer.example", "customer.example");
}

/*
 * test_orgdomain_cache - answers are cached per thread: 150 names (public
 * suffixes, their children, names one letter apart) asked 3,000 times in a
 * random order through 64 slots, each time from a fresh copy of the name,
 * give libpsl's own answer, pointing into the copy
 */
static void
test_orgdomain_cache(void **state)
{
    static const char *const tails[] = { "com", "co.uk", "example", "k12.ak.us", "github.io", "uk" };
    static const char *const heads[] = { "", "acme.", "acmf.", "mail.acme.", "a.b.c.", "x." };
    char        names[150][80], copy[80];
    psl_ctx_t  *ref = psl_latest(NULL);
    const char *reg;
    unsigned    x = 88172645u;
    ta_str_t    org;
    int         i, k, rc;

    (void) state;
    assert_non_null(ref);
    for (i = 0; i < 150; i++) {
        snprintf(names[i], sizeof(names[i]), "%s%s%s", i >= 36 ? "n" : "", heads[i % 6], tails[(i / 6) % 6]);
        if (i >= 36)
            names[i][1 + (i % 5)] = (char) ('a' + i % 26);  /* near-duplicates */
    }
    for (k = 0; k < 3000; k++) {
        x ^= x << 13; x ^= x >> 17; x ^= x << 5;
        i = (int) (x % 150);
        memcpy(copy, names[i], strlen(names[i]) + 1);
        rc = ta_orgdomain(ta_str_cstr(copy), &org);
        reg = psl_registrable_domain(ref, names[i]);
        if (reg == NULL) {
            assert_int_equal(rc, TA_NOTFOUND);
            continue;
        }
        assert_int_equal(rc, TA_OK);
        assert_int_equal(org.len, strlen(reg));
        assert_memory_equal(org.data, reg, org.len);
        assert_ptr_equal(org.data + org.len, copy + strlen(copy));
    }
    psl_free(ref);
}

#define ALIGNED(a, b, m)  ta_aligned(ta_str_cstr(a), ta_str_cstr(b), m)

static void
test_alignment(void **state)
{
    (void) state;
    /* relaxed: same organizational domain */
    assert_true(ALIGNED("acme.example", "acme.example", TA_ALIGN_RELAXED));
    assert_true(ALIGNED("bounces.acme.example", "acme.example", TA_ALIGN_RELAXED));
    assert_true(ALIGNED("a.acme.example", "b.acme.example", TA_ALIGN_RELAXED));
    assert_true(ALIGNED("x.example.co.uk", "example.co.uk", TA_ALIGN_RELAXED));
    assert_false(ALIGNED("example.co.uk", "other.co.uk", TA_ALIGN_RELAXED));
    assert_false(ALIGNED("acme.example", "globex.example", TA_ALIGN_RELAXED));
    assert_false(ALIGNED("evilacme.example", "acme.example", TA_ALIGN_RELAXED));
    assert_false(ALIGNED("co.uk", "example.co.uk", TA_ALIGN_RELAXED));
    assert_false(ALIGNED("", "acme.example", TA_ALIGN_RELAXED));
    /* strict: equal only */
    assert_true(ALIGNED("acme.example", "ACME.example", TA_ALIGN_STRICT));
    assert_false(ALIGNED("bounces.acme.example", "acme.example", TA_ALIGN_STRICT));
    /* within is label-wise */
    assert_true(ta_domain_within(ta_str_cstr("a.email.acme.example"), ta_str_cstr("email.acme.example")));
    assert_true(ta_domain_within(ta_str_cstr("email.acme.example"), ta_str_cstr("email.acme.example")));
    assert_false(ta_domain_within(ta_str_cstr("xemail.acme.example"), ta_str_cstr("email.acme.example")));
    assert_false(ta_domain_within(ta_str_cstr("acme.example"), ta_str_cstr("email.acme.example")));
}

static void
test_domain_normalize(void **state)
{
    char        out[TA_DOMAIN_MAX + 1];
    size_t      n;
    const char *why;

    (void) state;
    assert_int_equal(ta_domain_normalize("ACME.Example", 12, out, sizeof(out), &n, &why), TA_OK);
    assert_string_equal(out, "acme.example");
    /* U-label and A-label spellings compare equal */
    assert_int_equal(ta_domain_normalize("b\xc3\xbc" "cher.example", 15, out, sizeof(out), &n, &why), TA_OK);
    assert_string_equal(out, "xn--bcher-kva.example");
    assert_int_equal(ta_domain_normalize("XN--BCHER-KVA.example", 21, out, sizeof(out), &n, &why), TA_OK);
    assert_string_equal(out, "xn--bcher-kva.example");
    /* refused */
    assert_int_equal(ta_domain_normalize("acme..example", 13, out, sizeof(out), &n, &why), TA_EINPUT);
    assert_int_equal(ta_domain_normalize(".acme.example", 13, out, sizeof(out), &n, &why), TA_EINPUT);
    assert_int_equal(ta_domain_normalize("acme.example.", 13, out, sizeof(out), &n, &why), TA_EINPUT);
    assert_int_equal(ta_domain_normalize("-acme.example", 13, out, sizeof(out), &n, &why), TA_EINPUT);
    assert_int_equal(ta_domain_normalize("acme_x.example", 14, out, sizeof(out), &n, &why), TA_EINPUT);
    assert_int_equal(ta_domain_normalize("acme.example\0evil", 17, out, sizeof(out), &n, &why), TA_EINPUT);
    assert_int_equal(ta_domain_normalize("[127.0.0.1]", 11, out, sizeof(out), &n, &why), TA_EINPUT);
    assert_int_equal(ta_domain_normalize("xn--zz.example", 14, out, sizeof(out), &n, &why), TA_EINPUT);
    /* U+2000 (EN QUAD) trailing the domain: not valid IDNA */
    assert_int_equal(ta_domain_normalize("acme.example\xe2\x80\x80", 15, out, sizeof(out), &n, &why), TA_EINPUT);
    /* U+200B zero width space inside a label */
    assert_int_equal(ta_domain_normalize("ac\xe2\x80\x8bme.example", 15, out, sizeof(out), &n, &why), TA_EINPUT);
    /* a 64-octet label */
    assert_int_equal(ta_domain_normalize("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example",
                                         72, out, sizeof(out), &n, &why), TA_EINPUT);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_psl_vectors),
        cmocka_unit_test(test_orgdomain_basic),
        cmocka_unit_test(test_orgdomain_cache),
        cmocka_unit_test(test_alignment),
        cmocka_unit_test(test_domain_normalize),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

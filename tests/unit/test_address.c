/* test_address - RFC 5321 reverse-paths and RFC 5322 From: values */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "ta_address.h"

static void
path_ok(const char *in, const char *local, const char *domain)
{
    ta_address_t a;
    const char  *why = NULL;
    int          rc = ta_path_parse(in, strlen(in), &a, &why);

    if (rc != TA_OK)
        fprintf(stderr, "path %s: %s\n", in, why);
    assert_int_equal(rc, TA_OK);
    assert_string_equal(a.local, local);
    assert_string_equal(a.domain, domain);
}

static void
path_bad(const char *in, size_t len, const char *why_part)
{
    ta_address_t a;
    const char  *why = NULL;

    if (ta_path_parse(in, len, &a, &why) == TA_OK)
        fprintf(stderr, "path %s accepted\n", in);
    else if (strstr(why, why_part) == NULL)
        fprintf(stderr, "path %s: '%s' lacks '%s'\n", in, why, why_part);
    assert_int_equal(ta_path_parse(in, len, &a, &why), TA_EINPUT);
    assert_non_null(strstr(why, why_part));
}
#define PB(lit, part) path_bad(lit, sizeof(lit) - 1, part)

static void
from_ok(const char *in, const char *local, const char *domain)
{
    ta_address_t a;
    const char  *why = NULL;
    int          rc = ta_from_parse(in, strlen(in), &a, &why);

    if (rc != TA_OK)
        fprintf(stderr, "From %s: %s\n", in, why);
    assert_int_equal(rc, TA_OK);
    assert_string_equal(a.local, local);
    assert_string_equal(a.domain, domain);
    assert_int_equal(a.domain_len, strlen(domain));
}

static void
from_bad(const char *in, size_t len, const char *why_part)
{
    ta_address_t a;
    const char  *why = NULL;
    int          rc = ta_from_parse(in, len, &a, &why);

    if (rc == TA_OK)
        fprintf(stderr, "From [%s] accepted as %s@%s\n", in, a.local, a.domain);
    else if (strstr(why, why_part) == NULL)
        fprintf(stderr, "From [%s]: '%s' lacks '%s'\n", in, why, why_part);
    assert_int_equal(rc, TA_EINPUT);
    assert_non_null(strstr(why, why_part));
}
#define FB(lit, part) from_bad(lit, sizeof(lit) - 1, part)

static void
test_path_good(void **state)
{
    ta_address_t a;
    const char  *why;

    (void) state;
    path_ok("<bounce@bounces.acme.example>", "bounce", "bounces.acme.example");
    path_ok("bounce@Bounces.ACME.example", "bounce", "bounces.acme.example");
    path_ok("<first.last+tag@acme.example>", "first.last+tag", "acme.example");
    path_ok("<\"quoted local\"@acme.example>", "\"quoted local\"", "acme.example");
    path_ok("<\"a\\\"b\"@acme.example>", "\"a\\\"b\"", "acme.example");
    path_ok("<j\xc3\xb6rg@b\xc3\xbc" "cher.example>", "j\xc3\xb6rg", "xn--bcher-kva.example");
    assert_int_equal(ta_path_parse("<>", 2, &a, &why), TA_OK);
    assert_true(a.null_sender);
}

static void
test_path_bad(void **state)
{
    (void) state;
    PB("<@relay.example:a@acme.example>", "source route");
    PB("<@a.example,@b.example:u@acme.example>", "source route");
    PB("<a@b@acme.example>", "two @");
    PB("<a(comment)@acme.example>", "comment");
    PB("<a@acme.example(comment)>", "comment");
    PB("<a b@acme.example>", "whitespace");
    PB("<a@acme.example", "angle");
    PB("a@acme.example>", "angle");
    PB("<<a@acme.example>>", "angle");
    PB("<a@[192.0.2.1]>", "literal");
    PB("<@acme.example>", "source route");
    PB("<a@>", "domain");
    PB("<acme.example>", "no @domain");
    PB("<.a@acme.example>", "dot");
    PB("<a..b@acme.example>", "dot");
    PB("<a.@acme.example>", "dot");
    PB("<\"unterminated@acme.example>", "quote");
    PB("<a\0b@acme.example>", "control");
    PB("<a@acme.example\xe2\x80\x80>", "invisible");
    PB("<a@acme..example>", "valid host name");
    PB("", "empty");
    PB("<aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@acme.example>", "64");
}

static void
test_from_good(void **state)
{
    (void) state;
    from_ok(" a@acme.example", "a", "acme.example");
    from_ok(" Acme <news@acme.example>", "news", "acme.example");
    from_ok(" \"Acme, Inc.\" <news@acme.example>", "news", "acme.example");
    from_ok(" news@acme.example (Acme News)", "news", "acme.example");
    from_ok(" (Acme) <news@acme.example> (tail)", "news", "acme.example");
    from_ok(" =?utf-8?q?Caf=C3=A9?= <news@acme.example>", "news", "acme.example");
    from_ok(" =?utf-8?b?Q2Fmw6k=?= <news@acme.example>", "news", "acme.example");
    from_ok(" J. Smith <j@acme.example>", "j", "acme.example");
    from_ok(" Acme\r\n <news@acme.example>", "news", "acme.example");
    from_ok(" Acme\n\t<news@acme.example>", "news", "acme.example");
    from_ok(" \"quoted\"@acme.example", "\"quoted\"", "acme.example");
    /* a folded quoted local part is unfolded (fuzz_from found it kept the
     * CRLFs, 2026-12-04): RFC 5322 3.2.2 */
    from_ok(" \"a\r\n b\"@acme.example", "\"a b\"", "acme.example");
    from_ok(" \"\r\n \r\n \"@bu.example", "\"  \"", "bu.example");
    from_ok(" <NEWS@ACME.Example>", "NEWS", "acme.example");
    from_ok(" J\xc3\xb6rg <j@b\xc3\xbc" "cher.example>", "j", "xn--bcher-kva.example");
    from_ok(" <j@xn--bcher-kva.example>", "j", "xn--bcher-kva.example");
    /* a Cyrillic look-alike is another domain, as A-labels show */
    from_ok(" a@acme.exampl\xd0\xb5", "a", "acme.xn--exampl-8of");
}

static void
test_from_bad(void **state)
{
    (void) state;
    FB(" a@acme.example, b@globex.example", "more than one mailbox");
    FB(" a@acme.example,", "more than one mailbox");
    FB(" g: a@acme.example;", "group");
    FB(" g:;", "group");
    FB(" a\\,b <b@globex.example>", "backslash");
    FB(" a, b <b@globex.example>", "unquoted comma");
    FB(" <a@acme.example> b@globex.example", "text after the address");
    FB(" b@globex.example <a@acme.example>", "display name contains an address");
    FB(" \"b@globex.example\" <a@acme.example>", "display name contains an address");
    FB(" <@x.example,@y.example:a@acme.example>", "source route");
    FB(" <@x.example:a@acme.example>", "source route");
    FB(" b@globex.example(a@acme.example)", "comment contains address");
    FB(" a@acme(x).example", "comment inside");
    FB(" a(x)@acme.example", "comment inside");
    FB(" \"a@acme.example\"@globex.example", "quoted local part contains @");
    FB(" \"unbalanced <a@acme.example>", "unbalanced quote");
    FB(" (unbalanced <a@acme.example>", "unbalanced parenthesis");
    FB(" <a@acme.example", "angle");
    FB(" a@acme.example>", "angle");
    FB(" <<a@acme.example>>", "more than one mailbox");
    FB(" =?utf-8?q?b=40globex.example?= <a@acme.example>", "encoded-word hides");
    FB(" =?utf-8?b?YkBnbG9iZXguZXhhbXBsZQ==?= <a@acme.example>", "encoded-word hides");
    FB(" =?utf-8?b?YkBnbG9iZXguZXhhbXBsZQ==?=", "encoded-word hides");
    FB(" =?utf-8?q?a?=@acme.example", "encoded-word");
    FB(" a@acme.example\xe2\x80\x80", "invisible");
    FB(" a\xe2\x80\x8b@acme.example", "invisible");
    FB(" \xe2\x80\xae" "elpmaxe.emca <a@acme.example>", "bidirectional");
    FB(" a @ acme.example", "whitespace");
    FB(" <a@acme.example >", "whitespace");
    FB(" <>", "empty");
    FB(" Acme", "no address");
    FB("", "no address");
    FB(" a@[192.0.2.1]", "literal");
    FB(" a@acme.example\r\nBcc: x@y", "bare line break");
    FB(" a@acme.example\rx", "bare line break");
    from_bad(" a@acme.example\0.evil", 21, "control");
    FB(" a@\"acme.example\"", "quoted");
    FB(" a.@acme.example", "dot");
    FB(" .a@acme.example", "malformed");
    FB(" a@@acme.example", "two @");
    FB(" ((((((((((x)))))))))) a@acme.example", "nested too deeply");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_good),
        cmocka_unit_test(test_path_bad),
        cmocka_unit_test(test_from_good),
        cmocka_unit_test(test_from_bad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

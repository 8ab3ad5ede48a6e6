/* test_hold - the hold file: parse, write, set and release, what holds a message */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ta_hold.h"

/* parse - a C string into a hold, expecting rc and (on error) a text */
static ta_hold_t *
parse(const char *text, int rc, const char *want)
{
    ta_hold_t *h = NULL;
    char       err[256] = "";

    assert_int_equal(ta_hold_parse(text, strlen(text), &h, err, sizeof(err)), rc);
    if (want != NULL && strstr(err, want) == NULL)
        fail_msg("error \"%s\", wanted \"%s\"", err, want);
    return h;
}

/* kind_of - "pause", "suspend" or "-": what holds tenant's mail sent as identity */
static const char *
kind_of(const ta_hold_t *h, const char *tenant, const char *identity)
{
    const ta_hold_entry_t *e = ta_hold_find(h, ta_str_cstr(tenant), ta_str_cstr(identity));

    return e ? ta_hold_kind_names[e->kind] : "-";
}

static void
test_find(void **state)
{
    ta_hold_t *h;

    (void) state;
    h = parse("tenantalign-hold 1\n"
              "# comment\n"
              "pause acme * 100 billing overdue\n"
              "suspend beta news.beta.example 200 abuse report 7\n"
              "pause beta * 300 -\n"
              "pause gamma a@gamma.example 400 one address\n", 0, NULL);
    assert_int_equal(ta_hold_count(h), 4);
    assert_string_equal(kind_of(h, "acme", ""), "pause");
    assert_string_equal(kind_of(h, "acme", "acme.example"), "pause");
    assert_string_equal(kind_of(h, "beta", "news.beta.example"), "suspend");  /* suspension first */
    assert_string_equal(kind_of(h, "beta", "beta.example"), "pause");
    assert_string_equal(kind_of(h, "gamma", ""), "-");
    assert_string_equal(kind_of(h, "gamma", "a@gamma.example"), "pause");
    assert_string_equal(kind_of(h, "gamma", "b@gamma.example"), "-");
    assert_string_equal(kind_of(h, "acm", ""), "-");
    assert_string_equal(ta_hold_find(h, ta_str_cstr("acme"), ta_str_cstr(""))->reason.data, "billing overdue");
    ta_hold_free(h);
}

static void
test_set_and_write(void **state)
{
    ta_hold_t *h = ta_hold_new(), *h2;
    char      *out, *out2;
    size_t     len, len2;
    int        i;
    char       name[32];

    (void) state;
    /* many, in any order: found by binary search, written sorted */
    for (i = 999; i >= 0; i--) {
        snprintf(name, sizeof(name), "t%04d", i);
        assert_int_equal(ta_hold_set(h, i % 2 ? TA_HOLD_SUSPEND : TA_HOLD_PAUSE, ta_str_cstr(name),
                                     ta_str_cstr(""), 1, i, ta_str_cstr("why")), 0);
    }
    assert_int_equal(ta_hold_count(h), 1000);
    assert_string_equal(kind_of(h, "t0042", ""), "pause");
    assert_string_equal(kind_of(h, "t0043", "x.example"), "suspend");
    /* release; releasing what is not held changes nothing */
    assert_int_equal(ta_hold_set(h, TA_HOLD_PAUSE, ta_str_cstr("t0042"), ta_str_cstr(""), 0, 0, ta_str_cstr("")), 0);
    assert_int_equal(ta_hold_set(h, TA_HOLD_SUSPEND, ta_str_cstr("t0042"), ta_str_cstr(""), 0, 0, ta_str_cstr("")), 0);
    assert_string_equal(kind_of(h, "t0042", ""), "-");
    assert_int_equal(ta_hold_count(h), 999);
    /* a new reason replaces the old */
    assert_int_equal(ta_hold_set(h, TA_HOLD_SUSPEND, ta_str_cstr("t0043"), ta_str_cstr(""), 1, 5, ta_str_cstr("new")), 0);
    assert_string_equal(ta_hold_find(h, ta_str_cstr("t0043"), ta_str_cstr(""))->reason.data, "new");
    assert_int_equal(ta_hold_count(h), 999);
    /* refused: names with spaces or control bytes, reasons not printable or too long */
    assert_int_equal(ta_hold_set(h, TA_HOLD_PAUSE, ta_str_cstr("a b"), ta_str_cstr(""), 1, 0, ta_str_cstr("")), TA_EINPUT);
    assert_int_equal(ta_hold_set(h, TA_HOLD_PAUSE, ta_str_cstr("a"), ta_str_cstr(""), 1, 0, ta_str_cstr("x\r\ny")), TA_EINPUT);
    memset(name, 'x', sizeof(name));
    assert_int_equal(ta_hold_set(h, TA_HOLD_PAUSE, ta_str_cstr("a"), ta_str_cstr(""), 1, 0,
                                 ta_str(name, 0) ), 0);     /* empty reason: "-" */
    /* written and read back: the same text */
    assert_int_equal(ta_hold_format(h, &out, &len), 0);
    h2 = parse(out, 0, NULL);
    assert_int_equal(ta_hold_format(h2, &out2, &len2), 0);
    assert_int_equal(len, len2);
    assert_memory_equal(out, out2, len);
    free(out);
    free(out2);
    ta_hold_free(h);
    ta_hold_free(h2);
}

static void
test_parse_errors(void **state)
{
    (void) state;
    parse("", TA_EINPUT, "not a tenantalign hold file");
    parse("tenantalign-hold 2\n", TA_EINPUT, "line 1: not a tenantalign hold file");
    parse("tenantalign-hold 1\npause acme * 1 x", TA_EINPUT, "line 2: cut short");
    parse("tenantalign-hold 1\nhold acme * 1 x\n", TA_EINPUT, "unknown hold");
    parse("tenantalign-hold 1\npause acme * 1\n", TA_EINPUT, "pause|suspend TENANT IDENTITY SINCE REASON");
    parse("tenantalign-hold 1\npause acme * -1 x\n", TA_EINPUT, "bad time");
    parse("tenantalign-hold 1\npause acme * 1 x\tb\n", TA_EINPUT, "printable ASCII");
    parse("tenantalign-hold 1\npause acme  * 1 x\n", TA_EINPUT, "pause|suspend");
    parse("tenantalign-hold 1\npause acme * 1 x\npause acme * 2 y\n", TA_EINPUT, "line 3: the same hold twice");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_set_and_write),
        cmocka_unit_test(test_parse_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

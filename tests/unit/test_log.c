/* test_log - the decision's log line: fields, escaping, JSON, cut short */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "ta_log.h"

/* verdict - a refusal with the given reason text */
static void
verdict(ta_verdict_t *v, const char *reason)
{
    memset(v, 0, sizeof(*v));
    v->action = TA_REJECT;
    memcpy(v->code, "550", 4);
    memcpy(v->enhanced, "5.7.515", 8);
    v->reason_class = TA_R_FROM_NOT_OWNED;
    v->stream = TA_STREAM_BROADCAST;
    snprintf(v->from_domain, sizeof(v->from_domain), "globex.example");
    snprintf(v->envelope_domain, sizeof(v->envelope_domain), "acme.example");
    snprintf(v->reason, sizeof(v->reason), "%s", reason);
}

/* line - the line for v, with tenant acme, login L and queue id Q */
static const char *
line(const ta_verdict_t *v, const char *login, const char *qid, ta_log_style_t style)
{
    static char  buf[2048];
    ta_log_ctx_t lc = { "data", TA_STR_LIT("acme"), ta_str_cstr(login), ta_str_cstr(qid), 1, 42 };

    ta_log_format(v, &lc, style, buf, sizeof(buf));
    return buf;
}

/* test_kv - every field, in order; values quoted and escaped when they must be */
static void
test_kv(void **state)
{
    ta_verdict_t v;

    (void) state;
    verdict(&v, "say \"hi\" \\ now\x01");
    assert_string_equal(line(&v, "acme=1", "1tAbc-000001-AB", TA_LOG_KV),
                        "stage=data tenant=acme login=\"acme=1\" stream=broadcast qid=1tAbc-000001-AB "
                        "from=globex.example envelope=acme.example verdict=reject class=from_not_owned "
                        "code=\"550 5.7.515\" reason=\"say \\\"hi\\\" \\\\ now\\x01\" us=42");
    /* UTF-8 passes; an invalid byte is \xHH; an overlong form is invalid */
    verdict(&v, "caf\xc3\xa9 \xff \xc0\xaf");
    assert_non_null(strstr(line(&v, "-", "", TA_LOG_KV), "reason=\"caf\xc3\xa9 \\xff \\xc0\\xaf\""));
    /* a monitored acceptance */
    verdict(&v, "would refuse");
    v.action = TA_ACCEPT;
    v.monitor = 1;
    memcpy(v.code, "250", 4);
    memcpy(v.enhanced, "2.0.0", 6);
    assert_non_null(strstr(line(&v, "acme", "", TA_LOG_KV),
                           " qid=- from=globex.example envelope=acme.example verdict=accept monitor=yes "
                           "class=from_not_owned code=\"250 2.0.0\""));
}

/* test_json - the same fields as one JSON object */
static void
test_json(void **state)
{
    ta_verdict_t v;

    (void) state;
    verdict(&v, "say \"hi\" \\ now\x01\n");
    assert_string_equal(line(&v, "acme", "Q1", TA_LOG_JSON),
                        "{\"stage\":\"data\",\"tenant\":\"acme\",\"login\":\"acme\",\"stream\":\"broadcast\","
                        "\"qid\":\"Q1\",\"from\":\"globex.example\",\"envelope\":\"acme.example\","
                        "\"verdict\":\"reject\",\"class\":\"from_not_owned\",\"code\":\"550 5.7.515\","
                        "\"reason\":\"say \\\"hi\\\" \\\\ now\\u0001\\u000a\",\"us\":42}");
    verdict(&v, "x\xff");
    assert_non_null(strstr(line(&v, "acme", "", TA_LOG_JSON), "\"reason\":\"x\xef\xbf\xbd\""));
    v.action = TA_ACCEPT;
    v.monitor = 1;
    assert_non_null(strstr(line(&v, "acme", "", TA_LOG_JSON), "\"verdict\":\"accept\",\"monitor\":true,"));
}

/* test_cut - a line that does not fit ends at a field, marked, and still parses */
static void
test_cut(void **state)
{
    ta_verdict_t v;
    ta_log_ctx_t lc = { "data", TA_STR_LIT("acme"), TA_STR_LIT("acme"), TA_STR_NULL, 1, 7 };
    char         buf[200];
    size_t       n;

    (void) state;
    verdict(&v, "");
    memset(v.reason, 'r', sizeof(v.reason) - 1);
    n = ta_log_format(&v, &lc, TA_LOG_KV, buf, sizeof(buf));
    assert_int_equal(n, strlen(buf));
    assert_true(n < sizeof(buf));
    assert_null(strstr(buf, "reason="));
    assert_non_null(strstr(buf, "code=\"550 5.7.515\" truncated=yes"));
    n = ta_log_format(&v, &lc, TA_LOG_JSON, buf, sizeof(buf));
    assert_int_equal(buf[n - 1], '}');
    assert_non_null(strstr(buf, ",\"truncated\":true}"));
    /* far too small: nothing, terminated */
    assert_int_equal(ta_log_format(&v, &lc, TA_LOG_KV, buf, 10), 0);
    assert_string_equal(buf, "");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kv),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

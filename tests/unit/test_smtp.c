/* test_smtp - verbs, strict MAIL FROM parse and rebuild, reply framing, EHLO filtering */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "ta_smtp.h"

#define S(lit) (lit), (sizeof(lit) - 1)

static void
test_verb(void **state)
{
    static const struct {
        const char    *line;
        ta_smtp_verb_t verb;
        const char    *arg;
    } cases[] = {
        { "HELO client.example", TA_SMTP_VERB_HELO, "client.example" },
        { "ehlo client.example", TA_SMTP_VERB_EHLO, "client.example" },
        { "MAIL FROM:<a@b.example>", TA_SMTP_VERB_MAIL, "FROM:<a@b.example>" },
        { "mAiL FROM:<>", TA_SMTP_VERB_MAIL, "FROM:<>" },
        { "MAIL  FROM:<a@b>", TA_SMTP_VERB_MAIL, " FROM:<a@b>" },   /* one SP only */
        { "RCPT TO:<c@d>", TA_SMTP_VERB_RCPT, "TO:<c@d>" },
        { "DATA", TA_SMTP_VERB_DATA, "" },
        { "data ", TA_SMTP_VERB_DATA, "" },
        { "BDAT 10 LAST", TA_SMTP_VERB_BDAT, "10 LAST" },
        { "RSET", TA_SMTP_VERB_RSET, "" },
        { "NOOP x", TA_SMTP_VERB_NOOP, "x" },
        { "QUIT", TA_SMTP_VERB_QUIT, "" },
        { "StartTLS", TA_SMTP_VERB_STARTTLS, "" },
        { "AUTH PLAIN AGFAAGI=", TA_SMTP_VERB_AUTH, "PLAIN AGFAAGI=" },
        { "XCLIENT ADDR=192.0.2.1", TA_SMTP_VERB_XCLIENT, "ADDR=192.0.2.1" },
        { "XFORWARD NAME=x", TA_SMTP_VERB_XFORWARD, "NAME=x" },
        { "VRFY postmaster", TA_SMTP_VERB_VRFY, "postmaster" },
        { "EXPN list", TA_SMTP_VERB_EXPN, "list" },
        { "HELP", TA_SMTP_VERB_HELP, "" },
        /* whatever is not the verb then SP or the end */
        { "MAILX FROM:<a@b>", TA_SMTP_VERB_OTHER, "" },
        { "MAIL:<a@b>", TA_SMTP_VERB_OTHER, "" },
        { "MAIL\tFROM:<a@b>", TA_SMTP_VERB_OTHER, "" },
        { " MAIL FROM:<a@b>", TA_SMTP_VERB_OTHER, "" },
        { "MAI", TA_SMTP_VERB_OTHER, "" },
        { "QUITE", TA_SMTP_VERB_OTHER, "" },
        { "STARTTLSX", TA_SMTP_VERB_OTHER, "" },
        { "", TA_SMTP_VERB_OTHER, "" },
        { "TURN", TA_SMTP_VERB_OTHER, "" },
    };
    ta_str_t arg;
    size_t   i;

    (void) state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        arg = ta_str("junk", 4);
        assert_int_equal(ta_smtp_verb(cases[i].line, strlen(cases[i].line), &arg), cases[i].verb);
        assert_int_equal(arg.len, strlen(cases[i].arg));
        assert_memory_equal(arg.data, cases[i].arg, arg.len);
    }
    /* a NUL inside the verb is not the verb; length is what counts, not NUL */
    assert_int_equal(ta_smtp_verb("DA\0A", 4, &arg), TA_SMTP_VERB_OTHER);
    assert_int_equal(ta_smtp_verb("DATA\0", 4, NULL), TA_SMTP_VERB_DATA);
    assert_int_equal(ta_smtp_verb("QUIT", 3, NULL), TA_SMTP_VERB_OTHER);
}

static void
test_after_auth(void **state)
{
    ta_smtp_verb_t v;

    (void) state;
    assert_string_equal(ta_smtp_after_auth(TA_SMTP_VERB_STARTTLS),
                        "503 5.5.1 Not allowed after authentication\r\n");
    assert_string_equal(ta_smtp_after_auth(TA_SMTP_VERB_AUTH),
                        "503 5.5.1 Not allowed after authentication\r\n");
    assert_string_equal(ta_smtp_after_auth(TA_SMTP_VERB_XCLIENT),
                        "503 5.5.1 Not allowed after authentication\r\n");
    assert_string_equal(ta_smtp_after_auth(TA_SMTP_VERB_XFORWARD),
                        "503 5.5.1 Not allowed after authentication\r\n");
    assert_string_equal(ta_smtp_after_auth(TA_SMTP_VERB_BDAT),
                        "502 5.5.1 BDAT is not available here: use DATA\r\n");
    for (v = TA_SMTP_VERB_OTHER; v <= TA_SMTP_VERB_HELP; v++) {
        if (v == TA_SMTP_VERB_STARTTLS || v == TA_SMTP_VERB_AUTH || v == TA_SMTP_VERB_XCLIENT
            || v == TA_SMTP_VERB_XFORWARD || v == TA_SMTP_VERB_BDAT)
            continue;
        assert_null(ta_smtp_after_auth(v));
    }
}

/* round_trip - build what was parsed, parse it again: the same path and parameters */
static void
round_trip(const ta_smtp_mail_t *m)
{
    ta_smtp_mail_t m2;
    char           line[1024];
    const char    *why = NULL;
    size_t         n, i;

    n = ta_smtp_mail_build(m, m->path, line, sizeof(line));
    assert_true(n > 7);
    assert_int_equal(strlen(line), n);
    assert_memory_equal(line, "MAIL FROM:", 10);
    assert_memory_equal(line + n - 2, "\r\n", 2);
    assert_int_equal(ta_smtp_mail_parse(line + 5, n - 7, &m2, &why), TA_OK);
    assert_true(ta_str_eq(m->path, m2.path));
    assert_int_equal(m->nparams, m2.nparams);
    for (i = 0; i < m->nparams; i++) {
        assert_true(ta_str_eq(m->keyword[i], m2.keyword[i]));
        assert_true((m->value[i].data == NULL) == (m2.value[i].data == NULL));
        assert_true(ta_str_eq(m->value[i], m2.value[i]));
    }
}

static void
test_mail_good(void **state)
{
    static const struct {
        const char *arg;
        const char *path;
        size_t      nparams;
        const char *built;      /* ta_smtp_mail_build with m->path */
    } cases[] = {
        { "FROM:<a@b.example>", "<a@b.example>", 0, "MAIL FROM:<a@b.example>\r\n" },
        { "from:<>", "<>", 0, "MAIL FROM:<>\r\n" },
        { "FROM: <a@b.example>", "<a@b.example>", 0, "MAIL FROM:<a@b.example>\r\n" },
        { "FROM:   <a@b.example>", "<a@b.example>", 0, "MAIL FROM:<a@b.example>\r\n" },
        { "FROM:<a@b.example> SIZE=1000 BODY=8BITMIME", "<a@b.example>", 2,
          "MAIL FROM:<a@b.example> SIZE=1000 BODY=8BITMIME\r\n" },
        { "FROM:<a@b.example>   SMTPUTF8  RET=HDRS", "<a@b.example>", 2,
          "MAIL FROM:<a@b.example> SMTPUTF8 RET=HDRS\r\n" },
        { "FROM:<a@b.example> ENVID=QQ314159+2B2 X-FOO-=!~", "<a@b.example>", 2,
          "MAIL FROM:<a@b.example> ENVID=QQ314159+2B2 X-FOO-=!~\r\n" },
        /* a '>' inside a quoted local part does not end the path */
        { "FROM:<\"a>b\"@c.example> SIZE=1", "<\"a>b\"@c.example>", 1,
          "MAIL FROM:<\"a>b\"@c.example> SIZE=1\r\n" },
        { "FROM:<\"a\\\">b c\"@c.example>", "<\"a\\\">b c\"@c.example>", 0,
          "MAIL FROM:<\"a\\\">b c\"@c.example>\r\n" },
        /* SMTPUTF8: 8-bit octets in the path pass (ta_path_parse checks them) */
        { "FROM:<j\xc3\xb6rg@b\xc3\xa4r.example> SMTPUTF8", "<j\xc3\xb6rg@b\xc3\xa4r.example>", 1,
          "MAIL FROM:<j\xc3\xb6rg@b\xc3\xa4r.example> SMTPUTF8\r\n" },
        { "FROM:<@relay.example:a@b.example>", "<@relay.example:a@b.example>", 0,
          "MAIL FROM:<@relay.example:a@b.example>\r\n" },
    };
    ta_smtp_mail_t m;
    const char    *why;
    char           line[512];
    size_t         i, n;

    (void) state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        why = NULL;
        if (ta_smtp_mail_parse(cases[i].arg, strlen(cases[i].arg), &m, &why) != TA_OK)
            fprintf(stderr, "refused %s: %s\n", cases[i].arg, why);
        assert_int_equal(ta_smtp_mail_parse(cases[i].arg, strlen(cases[i].arg), &m, &why), TA_OK);
        assert_int_equal(m.path.len, strlen(cases[i].path));
        assert_memory_equal(m.path.data, cases[i].path, m.path.len);
        assert_int_equal(m.nparams, cases[i].nparams);
        n = ta_smtp_mail_build(&m, m.path, line, sizeof(line));
        assert_int_equal(n, strlen(cases[i].built));
        assert_string_equal(line, cases[i].built);
        round_trip(&m);
    }

    assert_int_equal(ta_smtp_mail_parse(S("FROM:<a@b> SIZE=100 BODY=8BITMIME SMTPUTF8"), &m,
                                        NULL), TA_OK);
    assert_int_equal(m.nparams, 3);
    assert_memory_equal(m.keyword[0].data, "SIZE", 4);
    assert_memory_equal(m.value[0].data, "100", 3);
    assert_int_equal(m.value[0].len, 3);
    assert_memory_equal(m.keyword[1].data, "BODY", 4);
    assert_memory_equal(m.value[1].data, "8BITMIME", 8);
    assert_memory_equal(m.keyword[2].data, "SMTPUTF8", 8);
    assert_int_equal(m.keyword[2].len, 8);
    assert_null(m.value[2].data);
    assert_int_equal(m.value[2].len, 0);
}

static void
test_mail_refused(void **state)
{
    static const struct {
        const char *arg;
        size_t      len;
    } cases[] = {
#define C(lit) { (lit), sizeof(lit) - 1 }
        /* the must-refuse list: a second address smuggled after the path */
        C("FROM:<b@bounces.acme.example>ceo@globex.example"),
        C("FROM:<b@bounces.acme.example> <ceo@globex.example>"),
        C("FROM:b@x.example"),
        C("FROM:<a@b"),
        C("FROM:<a@b>  "),
        C("FROM:<a@b> SIZE="),
        C("FROM:<a@b> =1"),
        C("FROM:<a@b> SIZE=1 SIZE=2"),
        /* and more */
        C("FROM:<a@b> SIZE=1 size=2"),
        C("FROM:<a@b> "),
        C("FROM:<a@b>\t"),
        C("FROM:<a@b>\tSIZE=1"),
        C("FROM:<a@b>\r"),
        C("FROM:<a@b>\r\n"),
        C("FROM:<a@b> SIZE=1 "),
        C("FROM:<a@b> SIZE==1"),
        C("FROM:<a@b> SIZE=1=2"),
        C("FROM:<a@b> SI_ZE=1"),
        C("FROM:<a@b> -X=1"),
        C("FROM:<a@b> SIZE=1\r\nRCPT TO:<x@y>"),
        C("FROM:<a@b> BODY=8BIT\x80"),
        C("FROM:<a@b> BODY=8BIT\x7f"),
        C("FROM:<a@b> X=\"<c@d>\" <e@f>"),
        C("FROM:<a@b>>"),
        C("FROM:<<a@b>>"),
        C("FROM:<a<b@c>"),
        C("FROM:<a\r@b>"),
        C("FROM:<a\n@b>"),
        C("FROM:<a\0@b>"),
        C("FROM:<a\x7f@b>"),
        C("FROM:<a\t@b>"),
        C("FROM:<\"a>"),
        C("FROM:<\"a\\\"@b>"),
        C("FROM:<\"a\\\r\"@b>"),
        C("FROM:"),
        C("FROM: "),
        C("FROM:<"),
        C("FROM:a@b>"),
        C(" FROM:<a@b>"),
        C("FROM <a@b>"),
        C("FROM<a@b>"),
        C("FRM:<a@b>"),
        C("TO:<a@b>"),
        C("FROM:\t<a@b>"),
        C(""),
#undef C
    };
    ta_smtp_mail_t m;
    const char    *why;
    size_t         i;

    (void) state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        why = NULL;
        if (ta_smtp_mail_parse(cases[i].arg, cases[i].len, &m, &why) != TA_EINPUT)
            fprintf(stderr, "accepted case %zu: %.*s\n", i, (int) cases[i].len, cases[i].arg);
        assert_int_equal(ta_smtp_mail_parse(cases[i].arg, cases[i].len, &m, &why), TA_EINPUT);
        assert_non_null(why);
        assert_int_equal(m.nparams, 0);
        assert_null(m.path.data);
    }
    /* why may be NULL */
    assert_int_equal(ta_smtp_mail_parse(S("FROM:<a@b> =1"), &m, NULL), TA_EINPUT);
}

static void
test_mail_limits(void **state)
{
    ta_smtp_mail_t m;
    char           arg[1024], path[300];
    const char    *why;
    size_t         n, i;

    (void) state;
    /* 16 parameters pass, 17 do not */
    n = (size_t) snprintf(arg, sizeof(arg), "FROM:<a@b.example>");
    for (i = 0; i < 16; i++)
        n += (size_t) snprintf(arg + n, sizeof(arg) - n, " P%zu=%zu", i, i);
    assert_int_equal(ta_smtp_mail_parse(arg, n, &m, &why), TA_OK);
    assert_int_equal(m.nparams, 16);
    assert_memory_equal(m.keyword[15].data, "P15", 3);
    round_trip(&m);
    n += (size_t) snprintf(arg + n, sizeof(arg) - n, " P16");
    assert_int_equal(ta_smtp_mail_parse(arg, n, &m, &why), TA_EINPUT);
    assert_string_equal(why, "MAIL FROM: more than 16 ESMTP parameters");

    /* the path: 256 octets with its brackets pass, 257 do not */
    memset(path, 'x', sizeof(path));
    path[0] = '<';
    path[250] = '@';
    path[255] = '>';
    n = (size_t) snprintf(arg, sizeof(arg), "FROM:%.256s SIZE=1", path);
    assert_int_equal(ta_smtp_mail_parse(arg, n, &m, &why), TA_OK);
    assert_int_equal(m.path.len, 256);
    round_trip(&m);
    path[255] = 'x';
    path[256] = '>';
    n = (size_t) snprintf(arg, sizeof(arg), "FROM:%.257s", path);
    assert_int_equal(ta_smtp_mail_parse(arg, n, &m, &why), TA_EINPUT);
    assert_string_equal(why, "MAIL FROM: reverse-path is longer than 256 octets");
    /* an unclosed path stops at the limit, however long the line */
    memset(arg, 'x', sizeof(arg));
    memcpy(arg, "FROM:<", 6);
    assert_int_equal(ta_smtp_mail_parse(arg, sizeof(arg), &m, &why), TA_EINPUT);
}

static void
test_mail_build(void **state)
{
    ta_smtp_mail_t m;
    char           line[128];
    const char    *want = "MAIL FROM:<bounce+x@bounces.acme.example> SIZE=1234 SMTPUTF8\r\n";
    ta_str_t       other = TA_STR_LIT("<bounce+x@bounces.acme.example>");
    size_t         n, size;

    (void) state;
    assert_int_equal(ta_smtp_mail_parse(S("from: <ceo@globex.example>  SIZE=1234 SMTPUTF8"), &m,
                                        NULL), TA_OK);
    /* rewrite the sender, keep the parameters */
    n = ta_smtp_mail_build(&m, other, line, sizeof(line));
    assert_int_equal(n, strlen(want));
    assert_string_equal(line, want);
    /* every size short of the line and its NUL is refused, not truncated */
    for (size = 0; size <= n; size++)
        assert_int_equal(ta_smtp_mail_build(&m, other, line, size), 0);
    assert_int_equal(ta_smtp_mail_build(&m, other, line, n + 1), n);
    assert_string_equal(line, want);

    /* nothing a caller passes can split the line */
    assert_int_equal(ta_smtp_mail_build(&m, ta_str(S("<a@b>\r\nRCPT TO:<x@y>")), line,
                                        sizeof(line)), 0);
    assert_int_equal(ta_smtp_mail_build(&m, ta_str(S("<a\r\n@b>")), line, sizeof(line)), 0);
    assert_int_equal(ta_smtp_mail_build(&m, ta_str(S("<a\0@b>")), line, sizeof(line)), 0);
    assert_int_equal(ta_smtp_mail_build(&m, ta_str(S("a@b")), line, sizeof(line)), 0);
    assert_int_equal(ta_smtp_mail_build(&m, ta_str(S("<a@b")), line, sizeof(line)), 0);
    assert_int_equal(ta_smtp_mail_build(&m, ta_str(S(">")), line, sizeof(line)), 0);
    assert_int_equal(ta_smtp_mail_build(&m, ta_str(NULL, 0), line, sizeof(line)), 0);
    assert_int_equal(ta_smtp_mail_build(&m, ta_str(S("<a@b> <c@d>")), line, sizeof(line)), 0);
    assert_int_equal(ta_smtp_mail_build(&m, ta_str(S("<a<b@c>")), line, sizeof(line)), 0);
    assert_int_equal(ta_smtp_mail_build(&m, ta_str(S("<a>@b>")), line, sizeof(line)), 0);
    assert_int_equal(ta_smtp_mail_build(&m, ta_str(S("<\"a>b\"@c>")), line, sizeof(line)),
                     strlen("MAIL FROM:<\"a>b\"@c> SIZE=1234 SMTPUTF8\r\n"));
    m.value[0] = ta_str(S("1\r\nQUIT"));
    assert_int_equal(ta_smtp_mail_build(&m, m.path, line, sizeof(line)), 0);
    m.value[0] = ta_str(S(""));
    assert_int_equal(ta_smtp_mail_build(&m, m.path, line, sizeof(line)), 0);
    m.value[0] = ta_str(S("1"));
    m.keyword[1] = ta_str(S("SMTP UTF8"));
    assert_int_equal(ta_smtp_mail_build(&m, m.path, line, sizeof(line)), 0);
    m.keyword[1] = ta_str(S(""));
    assert_int_equal(ta_smtp_mail_build(&m, m.path, line, sizeof(line)), 0);
    m.keyword[1] = ta_str(S("SMTPUTF8"));
    assert_int_equal(ta_smtp_mail_build(&m, m.path, line, sizeof(line)),
                     strlen("MAIL FROM:<ceo@globex.example> SIZE=1 SMTPUTF8\r\n"));
    m.nparams = TA_SMTP_MAX_PARAMS + 1;
    assert_int_equal(ta_smtp_mail_build(&m, m.path, line, sizeof(line)), 0);
}

/* scan - ta_smtp_reply_scan on a literal */
static int
scan(const char *buf, size_t len, size_t *reply_len, unsigned *code)
{
    const char *why = NULL;
    int         rc;

    rc = ta_smtp_reply_scan(buf, len, reply_len, code, &why);
    if (rc == -1)
        assert_non_null(why);
    return rc;
}

static void
test_reply_good(void **state)
{
    static const struct {
        const char *in;
        size_t      len;        /* the first reply's */
        unsigned    code;
    } cases[] = {
        { "250 ok\r\n", 8, 250 },
        { "250\r\n", 5, 250 },
        { "250\n", 4, 250 },
        { "250 \r\n", 6, 250 },
        { "220 mx.example ESMTP\n", 21, 220 },
        { "250-a\r\n250-b\n250 c\r\n", 20, 250 },
        { "250-\r\n250\r\n", 11, 250 },
        { "354 go ahead\r\n250 and then\r\n", 14, 354 },
        { "550-5.7.1 one\r\n550 5.7.1 two\r\n221 bye\r\n", 30, 550 },
        { "421 4.4.2 tab\there \xc3\xa9t\xc3\xa9\r\n", 26, 421 },
        { "554 x\r\n", 7, 554 },
        { "200 x\r\n", 7, 200 },
    };
    size_t   i, k, rl;
    unsigned code;

    (void) state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = strlen(cases[i].in);

        rl = 0;
        code = 0;
        assert_int_equal(scan(cases[i].in, n, &rl, &code), 1);
        assert_int_equal(rl, cases[i].len);
        assert_int_equal(code, cases[i].code);
        /* split at every offset: more bytes needed until the reply is whole */
        for (k = 0; k < cases[i].len; k++)
            assert_int_equal(scan(cases[i].in, k, &rl, &code), 0);
        for (k = cases[i].len; k <= n; k++) {
            assert_int_equal(scan(cases[i].in, k, &rl, &code), 1);
            assert_int_equal(rl, cases[i].len);
        }
    }
}

static void
test_reply_bad(void **state)
{
    static const char *const bad[] = {
        "250-a\r\n251 b\r\n",       /* mixed codes */
        "250-a\r\n350 b\r\n",
        "250-a\r\n25\r\n",          /* shorter than a code */
        "25\r\n",
        "\r\n",
        "\n",
        "2a0 x\r\n",
        "x250 ok\r\n",
        "150 x\r\n",                /* 1yz is not an SMTP reply */
        "650 x\r\n",
        "260 x\r\n",                /* second digit 0-5 */
        "599 x\r\n",
        "250x\r\n",
        "250\tx\r\n",
        "250_x\r\n",
        "250 a\rb\r\n",             /* bare CR */
        "250\r\r\n",
        "250 a\0b\r\n",             /* control characters */
        "250 a\x1b[2Jb\r\n",
        "250 a\x7f\r\n",
        " 250 x\r\n",
    };
    size_t   i, rl, k, n;
    unsigned code;

    (void) state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        n = strlen(bad[i]);
        if (i == 17)
            n = 9;                  /* the one with a NUL */
        if (scan(bad[i], n, &rl, &code) != -1)
            fprintf(stderr, "accepted bad reply %zu\n", i);
        assert_int_equal(scan(bad[i], n, &rl, &code), -1);
        /* a prefix never claims a complete reply */
        for (k = 0; k < n; k++)
            assert_int_not_equal(scan(bad[i], k, &rl, &code), 1);
    }
}

static void
test_reply_limits(void **state)
{
    static char buf[TA_SMTP_REPLY_MAX + 4096];
    size_t      n, rl;
    unsigned    code;
    const char *why;

    (void) state;
    /* a line of 4096 octets before its LF passes; one more does not */
    memset(buf, 'x', sizeof(buf));
    memcpy(buf, "250 ", 4);
    buf[4095] = '\r';
    buf[4096] = '\n';
    assert_int_equal(scan(buf, 4097, &rl, &code), 1);
    assert_int_equal(rl, 4097);
    buf[4095] = 'x';
    buf[4096] = '\r';
    buf[4097] = '\n';
    assert_int_equal(ta_smtp_reply_scan(buf, 4098, &rl, &code, &why), -1);
    assert_string_equal(why, "reply too long");
    assert_int_equal(ta_smtp_reply_scan(buf, 4097, &rl, &code, &why), -1);  /* no end yet */
    assert_int_equal(scan(buf, 4096, &rl, &code), 0);

    /* a reply of exactly TA_SMTP_REPLY_MAX octets passes; one more does not */
    for (n = 0; n + 16 <= TA_SMTP_REPLY_MAX; n += 16)
        memcpy(buf + n, "250-xxxxxxxxxx\r\n", 16);
    memcpy(buf + n - 16, "250 xxxxxxxxxx\r\n", 16);
    assert_int_equal(n, TA_SMTP_REPLY_MAX);
    assert_int_equal(scan(buf, n, &rl, &code), 1);
    assert_int_equal(rl, TA_SMTP_REPLY_MAX);
    memcpy(buf + n - 16, "250-xxxxxxxxxx\r\n", 16);
    memcpy(buf + n, "250 \r\n", 6);
    assert_int_equal(ta_smtp_reply_scan(buf, n + 6, &rl, &code, &why), -1);
    assert_string_equal(why, "reply too long");
    assert_int_equal(ta_smtp_reply_scan(buf, n + 1, &rl, &code, &why), -1);
    assert_int_equal(scan(buf, n, &rl, &code), 0);
    /* why may be NULL */
    assert_int_equal(ta_smtp_reply_scan("99", 2, &rl, &code, NULL), -1);
}

/* an Exim 4.96 EHLO reply to an authenticated client */
static const char exim[] =
    "250-mx.acme.example Hello client.example [192.0.2.1]\r\n"
    "250-SIZE 52428800\r\n"
    "250-8BITMIME\r\n"
    "250-PIPELINING\r\n"
    "250-PIPECONNECT\r\n"
    "250-CHUNKING\r\n"
    "250-DSN\r\n"
    "250-AUTH PLAIN LOGIN\r\n"
    "250-STARTTLS\r\n"
    "250-PRDR\r\n"
    "250-SMTPUTF8\r\n"
    "250 HELP\r\n";

/* walk - the capability lines of reply as "keyword|line;" for each, compared with want */
static void
walk(const char *reply, size_t len, const char *want)
{
    ta_smtp_ehlo_iter_t it;
    ta_str_t            kw, line;
    char                log[1024];
    size_t              n = 0;

    log[0] = '\0';
    ta_smtp_ehlo_iter(&it, reply, len);
    while (ta_smtp_ehlo_next(&it, &kw, &line)) {
        /* the keyword starts the line, which lies inside the reply */
        assert_ptr_equal(kw.data, line.data);
        assert_true(kw.len <= line.len);
        assert_true(line.data >= reply && line.data + line.len <= reply + len);
        n += (size_t) snprintf(log + n, sizeof(log) - n, "%.*s|%.*s;", (int) kw.len, kw.data,
                               (int) line.len, line.data);
        assert_true(n < sizeof(log));
    }
    assert_string_equal(log, want);
    /* at the end it stays at the end */
    assert_false(ta_smtp_ehlo_next(&it, &kw, &line));
}

static void
test_ehlo_iter(void **state)
{
    (void) state;
    walk(exim, sizeof(exim) - 1,
         "SIZE|SIZE 52428800;8BITMIME|8BITMIME;PIPELINING|PIPELINING;PIPECONNECT|PIPECONNECT;"
         "CHUNKING|CHUNKING;DSN|DSN;AUTH|AUTH PLAIN LOGIN;STARTTLS|STARTTLS;PRDR|PRDR;"
         "SMTPUTF8|SMTPUTF8;HELP|HELP;");
    /* garbage lines are skipped; nothing after the last line counts */
    walk(S("250-host\nxx\r\n2\r\n250-8BITMIME\n250-AUTH=LOGIN PLAIN\r\n250-\r\n"
           "550-no\r\n250 LAST\r\n250-AFTER\r\n"),
         "8BITMIME|8BITMIME;AUTH|AUTH=LOGIN PLAIN;|;LAST|LAST;");
    /* a one-line reply, no greeting, no line ending, nothing at all */
    walk(S("250 mx.example\r\n250-X\r\n"), "");
    walk(S("250-mx.example\r\n250 X"), "X|X;");
    walk(S("250-mx.example"), "");
    walk(S("550-no\r\n250 X\r\n"), "");
    walk(NULL, 0, "");
    /* a bare CR ends the keyword, and stays in the line */
    walk(S("250-mx\r\n250-A\rB\r\n250 C D=E\r\n"), "A|A\rB;C|C D=E;");
    /* the length bounds the walk, not a NUL */
    walk("250-mx\r\n250 CHUNKING\r\n", 14, "CH|CH;");
}

static void
test_ehlo_offers(void **state)
{
    (void) state;
    assert_true(ta_smtp_ehlo_offers(exim, sizeof(exim) - 1, "CHUNKING"));
    assert_true(ta_smtp_ehlo_offers(exim, sizeof(exim) - 1, "chunking"));
    assert_true(ta_smtp_ehlo_offers(exim, sizeof(exim) - 1, "PipeConnect"));
    assert_true(ta_smtp_ehlo_offers(exim, sizeof(exim) - 1, "SIZE"));
    assert_true(ta_smtp_ehlo_offers(exim, sizeof(exim) - 1, "HELP"));
    assert_false(ta_smtp_ehlo_offers(exim, sizeof(exim) - 1, "CHUNK"));
    assert_false(ta_smtp_ehlo_offers(exim, sizeof(exim) - 1, "BINARYMIME"));
    assert_false(ta_smtp_ehlo_offers(exim, sizeof(exim) - 1, "PLAIN"));
    assert_false(ta_smtp_ehlo_offers(exim, sizeof(exim) - 1, "mx.acme.example"));
    assert_false(ta_smtp_ehlo_offers(exim, sizeof(exim) - 1, ""));
    assert_false(ta_smtp_ehlo_offers(S("250-mx\r\n250 CHUNKINGX\r\n"), "CHUNKING"));
    assert_true(ta_smtp_ehlo_offers(S("250-mx\n250 CHUNKING"), "CHUNKING"));
    assert_false(ta_smtp_ehlo_offers(S("250 CHUNKING\r\n"), "CHUNKING"));  /* the greeting */
    assert_false(ta_smtp_ehlo_offers(S("250-mx\r\n250 X\r\n250 CHUNKING\r\n"), "CHUNKING"));
    assert_true(ta_smtp_ehlo_offers(S("250-mx\r\n250 AUTH=LOGIN\r\n"), "AUTH"));
}

static void
test_ehlo_after_auth(void **state)
{
    static const char want[] =
        "250-mx.acme.example Hello client.example [192.0.2.1]\r\n"
        "250-8BITMIME\r\n"
        "250-PIPELINING\r\n"
        "250-DSN\r\n"
        "250-PRDR\r\n"
        "250-SMTPUTF8\r\n"
        "250-HELP\r\n"
        "250 SIZE 10485760\r\n";
    static const char legacy[] =
        "250-mx.example\n"
        "250-AUTH=LOGIN\n"
        "250-auth login\n"
        "250-AUTHX\n"
        "250-BinaryMime\n"
        "250-XCLIENT NAME ADDR\n"
        "250-XFORWARD NAME\n"
        "250-SIZE\n"
        "250-X_PIPE_CONNECT\n"
        "250-BAD\x01\n"
        "250-ENHANCEDSTATUSCODES\n"
        "250-\n"
        "250 STARTTLS";
    static const char legacy_want[] =
        "250-mx.example\r\n"
        "250-AUTHX\r\n"
        "250-ENHANCEDSTATUSCODES\r\n"
        "250 SIZE 0\r\n";
    char     out[1024];
    size_t   n, size, rl;
    unsigned code;

    (void) state;
    n = ta_smtp_ehlo_after_auth(exim, sizeof(exim) - 1, 10485760, out, sizeof(out));
    assert_int_equal(n, sizeof(want) - 1);
    assert_string_equal(out, want);
    /* what we hand the tenant is itself one well-formed reply, offering none of the dropped */
    assert_int_equal(scan(out, n, &rl, &code), 1);
    assert_int_equal(rl, n);
    assert_int_equal(code, 250);
    assert_false(ta_smtp_ehlo_offers(out, n, "CHUNKING"));
    assert_false(ta_smtp_ehlo_offers(out, n, "STARTTLS"));
    assert_false(ta_smtp_ehlo_offers(out, n, "AUTH"));
    assert_false(ta_smtp_ehlo_offers(out, n, "PIPECONNECT"));
    assert_true(ta_smtp_ehlo_offers(out, n, "SIZE"));
    assert_true(ta_smtp_ehlo_offers(out, n, "PIPELINING"));
    /* refused, never truncated, when it does not fit */
    for (size = 0; size <= n; size++)
        assert_int_equal(ta_smtp_ehlo_after_auth(exim, sizeof(exim) - 1, 10485760, out, size), 0);
    assert_int_equal(ta_smtp_ehlo_after_auth(exim, sizeof(exim) - 1, 10485760, out, n + 1), n);
    assert_true(n + 1 <= TA_SMTP_EHLO_AFTER_AUTH_ROOM(sizeof(exim) - 1));

    n = ta_smtp_ehlo_after_auth(legacy, sizeof(legacy) - 1, 0, out, sizeof(out));
    assert_string_equal(out, legacy_want);
    assert_int_equal(n, sizeof(legacy_want) - 1);

    /* a one-line reply; the largest SIZE */
    n = ta_smtp_ehlo_after_auth(S("250 mx.example\r\n"), (size_t) -1, out, sizeof(out));
    assert_string_equal(out, "250-mx.example\r\n250 SIZE 18446744073709551615\r\n");
    /* not a 250 greeting, or one with a control character: nothing */
    assert_int_equal(ta_smtp_ehlo_after_auth(S("550 no\r\n"), 1, out, sizeof(out)), 0);
    assert_int_equal(ta_smtp_ehlo_after_auth(S("250\r\n"), 1, out, sizeof(out)), 0);
    assert_int_equal(ta_smtp_ehlo_after_auth(S("250-a\rb\r\n250 X\r\n"), 1, out, sizeof(out)), 0);
    assert_int_equal(ta_smtp_ehlo_after_auth("", 0, 1, out, sizeof(out)), 0);
    /* the room macro holds for the worst case: bare LFs, no final line ending */
    n = ta_smtp_ehlo_after_auth(S("250-\n250-A\n250 B"), (size_t) -1, out,
                                TA_SMTP_EHLO_AFTER_AUTH_ROOM(16));
    assert_string_equal(out, "250-\r\n250-A\r\n250-B\r\n250 SIZE 18446744073709551615\r\n");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verb),
        cmocka_unit_test(test_after_auth),
        cmocka_unit_test(test_mail_good),
        cmocka_unit_test(test_mail_refused),
        cmocka_unit_test(test_mail_limits),
        cmocka_unit_test(test_mail_build),
        cmocka_unit_test(test_reply_good),
        cmocka_unit_test(test_reply_bad),
        cmocka_unit_test(test_reply_limits),
        cmocka_unit_test(test_ehlo_iter),
        cmocka_unit_test(test_ehlo_offers),
        cmocka_unit_test(test_ehlo_after_auth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

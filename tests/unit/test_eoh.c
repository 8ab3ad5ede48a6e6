/*
 * test_eoh - the end of the header section: both line-ending modes, every
 * chunk cut, hostile CR/LF mixes, and the same answer as the header parser
 * and its byte-at-a-time reference
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "ta_eoh.h"
#include "ta_header.h"
#include "../fuzz/ref_headers.h"

#define NONE TA_EOH_NONE

/* one - the boundary found in one chunk, or NONE */
static size_t
one(const char *m, size_t n, ta_eol_t eol)
{
    ta_eoh_t b;

    ta_eoh_init(&b, eol);
    return ta_eoh_scan(&b, m, n);
}

/*
 * cut - the boundary found with the message cut at a and b (a <= b <= n:
 * up to three chunks, empty ones included), as an offset in the message;
 * once found, a further call must read nothing and say NONE
 */
static size_t
cut(const char *m, size_t n, ta_eol_t eol, size_t a, size_t b)
{
    const size_t at[4] = { 0, a, b, n };
    ta_eoh_t     e;
    size_t       k, r;

    ta_eoh_init(&e, eol);
    for (k = 0; k < 3; k++) {
        r = ta_eoh_scan(&e, m + at[k], at[k + 1] - at[k]);
        if (r != NONE) {
            assert_true(r >= 1 && r <= at[k + 1] - at[k]);
            assert_int_equal(ta_eoh_scan(&e, m, n), NONE);
            return at[k] + r;
        }
    }
    return NONE;
}

/* bytewise - the boundary found feeding one byte at a time */
static size_t
bytewise(const char *m, size_t n, ta_eol_t eol)
{
    ta_eoh_t b;
    size_t   i;

    ta_eoh_init(&b, eol);
    for (i = 0; i < n; i++)
        if (ta_eoh_scan(&b, m + i, 1) == 1)
            return i + 1;
    return NONE;
}

/* parser_end - where the header parser and its reference say the body
 * starts, asserted to be the same */
static size_t
parser_end(const char *m, size_t n, ta_eol_t eol)
{
    static ta_header_field_t fa[64], fb[64];
    ta_headers_t             a, b;

    assert_int_equal(ta_headers_parse(&a, m, n, eol, fa, 64), TA_OK);
    assert_int_equal(ref_headers_parse(&b, m, n, eol, fb, 64), TA_OK);
    assert_int_equal(a.body_offset, b.body_offset);
    assert_int_equal(a.flags, b.flags);
    assert_int_equal(a.anomaly_offset, b.anomaly_offset);
    assert_int_equal(a.nfields, b.nfields);
    return a.body_offset;
}

/*
 * check - the one-chunk answer is want; every way of cutting the message in
 * two or (when short) three gives the same, and so does byte by byte; the
 * parser agrees (whole message when there is no boundary)
 */
static void
check(const char *m, size_t n, ta_eol_t eol, size_t want)
{
    size_t a, b;

    assert_int_equal(one(m, n, eol), want);
    assert_int_equal(bytewise(m, n, eol), want);
    for (a = 0; a <= n; a++)
        for (b = a; b <= n; b = n <= 40 ? b + 1 : (b < n ? n : n + 1))
            assert_int_equal(cut(m, n, eol, a, b), want);
    assert_int_equal(parser_end(m, n, eol), want == NONE ? n : want);
}
#define C(lit, want) check(lit, sizeof(lit) - 1, TA_EOL_CRLF, want)
#define L(lit, want) check(lit, sizeof(lit) - 1, TA_EOL_LF, want)

static void
test_crlf(void **state)
{
    (void) state;
    C("From: a@b.example\r\nTo: c@d.example\r\n\r\nbody\r\n\r\nmore\r\n", 38);
    C("From: a@b.example\r\nSubject: x\r\n y\r\n\r\n", 37);
    C("From: a@b.example\r\n\r\n", 21);
    /* the body may hold empty lines and header-looking text: the first wins */
    C("A: 1\r\n\r\nB: 2\r\n\r\n", 8);
    /* folding that looks empty is not the empty line */
    C("A: 1\r\n \r\n\tx\r\n\r\nbody", 15);
}

static void
test_lf(void **state)
{
    (void) state;
    L("From: a@b.example\nSubject: x\n y\n\nbody\n\n", 33);
    L("From: a@b.example\n\n", 19);
    L("A: 1\n\nB: 2\n\n", 6);
    L("\nFrom: a@b.example\n\n", 1);
    L("\n", 1);
    /* CR is content in LF mode: no empty line in "\r\n" */
    L("\r\nFrom: a@b.example\n", NONE);
    L("A: 1\n\r\nB: 2\n\nbody", 13);
    L("A: 1\r\n\r\nbody", NONE);
    L("A: 1\r\n\nbody", 7);
    L("A: 1\n \n\nbody", 8);
}

static void
test_empty_header_section(void **state)
{
    (void) state;
    C("\r\nFrom: a@b.example\r\n\r\n", 2);
    C("\r\n", 2);
    C("\r\n\r\n", 2);
    C("\nFrom: a@b.example\r\n\r\n", 1);     /* a bare LF, an anomaly, still */
    C("\n", 1);
    L("\n\n", 1);
}

static void
test_no_boundary(void **state)
{
    (void) state;
    C("", NONE);
    L("", NONE);
    C("From: a@b.example", NONE);
    C("From: a@b.example\r\n", NONE);
    C("From: a@b.example\r\nSubject: x\r\n", NONE);
    C("From: a@b.example\r\n\r", NONE);     /* the empty line unfinished */
    C("\r", NONE);
    L("From: a@b.example\n", NONE);
    L("From: a@b.example\nSubject: x\n", NONE);
    /* NULL with no bytes is no chunk; the finder says so without a look */
    assert_int_equal(one(NULL, 0, TA_EOL_CRLF), NONE);
    assert_int_equal(one(NULL, 5, TA_EOL_CRLF), NONE);
}

/*
 * test_hostile - CR/LF mixes around the empty line: where the parser ends
 * a line (every LF) and where it sees an empty one (LF or CR LF alone), the
 * finder ends the header section; a CR that is not part of CR LF is content
 */
static void
test_hostile(void **state)
{
    (void) state;
    C("From: a@b.example\r\n\nFrom: evil@c.example\r\n\r\nbody", 20);     /* CR LF LF */
    C("From: a@b.example\n\r\nFrom: evil@c.example\r\n\r\nbody", 20);     /* LF CR LF */
    C("From: a@b.example\n\nFrom: evil@c.example\r\n\r\nbody", 19);       /* LF LF */
    C("From: a@b.example\r\r\n\nbody", 21);                                 /* CR CR LF LF */
    C("From: a@b.example\r\r\n\r\nbody", 22);                               /* CR CR LF CR LF */
    C("From: a@b.example\r\n\r\r\nFrom: evil@c.example\r\n\r\nbody", 46);   /* CR CR LF: content */
    C("From: a@b.example\r\n\r\rFrom: evil@c.example\r\n\r\nbody", 45);
    C("From: a@b.example\r\n\r \r\nX: y\r\n\r\nbody", 31);
    C("From: a@b.example\r\n\0\r\nX: y\r\n\r\nbody", 30);
    C("From: a@b.example\r\r\r\r\n\r\r\r\nX: y\r\n\r\n", 34);
    C("A\rB\r\n\r\n", 7);
    C("\r\r\n\r\n", 5);
    C("\r\r\n\n", 4);
    C("\r\r\n", NONE);
    C("\r\r\r\r\r\r", NONE);
    C("\n\n\n\n", 1);
    C("\n\r\n", 1);
    C("\r\n\n", 2);
    L("\r\n\r\n", NONE);
    L("A\r\n\r\n\nbody", 6);
}

/*
 * test_every_short_string - every string of up to 8 bytes over CR, LF,
 * 'a' and SP, in both modes: one chunk, every cut in two, and the parser's
 * reference all agree
 */
static void
test_every_short_string(void **state)
{
    static const char alpha[4] = { '\r', '\n', 'a', ' ' };
    static ta_header_field_t fb[16];
    char                     m[8];
    ta_headers_t             r;
    unsigned long            code, c;
    size_t                   n, i, want, a;
    int                      eol;

    (void) state;
    for (n = 0; n <= 8; n++) {
        for (code = 0; code < (1ul << (2 * n)); code++) {
            for (c = code, i = 0; i < n; i++, c >>= 2)
                m[i] = alpha[c & 3];
            for (eol = 0; eol < 2; eol++) {
                ref_headers_parse(&r, m, n, (ta_eol_t) eol, fb, 16);
                want = one(m, n, (ta_eol_t) eol);
                assert_int_equal(want == NONE ? n : want, r.body_offset);
                for (a = 0; a <= n; a++)
                    assert_int_equal(cut(m, n, (ta_eol_t) eol, a, a), want);
            }
        }
    }
}

/*
 * test_long - long headers put the boundary (clean or hostile) and the
 * lookalikes before it at every alignment of the many-bytes-at-a-time scan;
 * random texts over a CR/LF-rich alphabet agree with the reference parser
 */
static void
test_long(void **state)
{
    static const char *const ends[] = { "\r\n\r\n", "\r\n\n", "\n\r\n", "\n\n", "\r\r\n\n" };
    static const char        odd[] = "\r\n\r\n\r\n\t :\0a";
    static char              m[3000];
    static ta_header_field_t fb[64];
    ta_headers_t             r;
    unsigned                 x = 2463534242u;
    size_t                   pad, k, n, i, want;
    int                      eol;

    (void) state;
    for (k = 0; k < sizeof(ends) / sizeof(ends[0]); k++) {
        for (pad = 1; pad < 150; pad++) {     /* pad 0: the header's own CR LF would start the empty line */
            n = 0;
            for (i = 0; i < 20; i++) {
                memcpy(m + n, "Received: by relay.example\r\n\tfor x@y.example\r\n", 46);
                n += 46;
            }
            memset(m + n, 'x', pad);
            n += pad;
            want = n + strlen(ends[k]);
            memcpy(m + n, ends[k], strlen(ends[k]));
            n += strlen(ends[k]);
            memcpy(m + n, "body\r\n\r\n", 8);
            n += 8;
            check(m, n, TA_EOL_CRLF, want);
        }
    }
    for (k = 0; k < 3000; k++) {
        x ^= x << 13; x ^= x >> 17; x ^= x << 5;
        n = x % 400;
        for (i = 0; i < n; i++) {
            x ^= x << 13; x ^= x >> 17; x ^= x << 5;
            m[i] = (x % 100 < 3 + k % 5) ? odd[(x >> 8) % (sizeof(odd) - 1)] : (char) ('A' + (x >> 8) % 26);
        }
        for (eol = 0; eol < 2; eol++) {
            ref_headers_parse(&r, m, n, (ta_eol_t) eol, fb, 64);
            want = one(m, n, (ta_eol_t) eol);
            assert_int_equal(want == NONE ? n : want, r.body_offset);
            assert_int_equal(bytewise(m, n, (ta_eol_t) eol), want);
            assert_int_equal(cut(m, n, (ta_eol_t) eol, x % (n + 1), n), want);
        }
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crlf),
        cmocka_unit_test(test_lf),
        cmocka_unit_test(test_empty_header_section),
        cmocka_unit_test(test_no_boundary),
        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_every_short_string),
        cmocka_unit_test(test_long),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

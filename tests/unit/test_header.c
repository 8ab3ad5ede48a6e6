/* test_header - the header-section parser: fields, folding, every anomaly flag */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "ta_header.h"
#include "../fuzz/ref_headers.h"

static ta_header_field_t f[TA_HEADER_MAX_FIELDS];
static ta_headers_t      h;

static unsigned
parse(const char *s, size_t n, ta_eol_t eol)
{
    assert_int_equal(ta_headers_parse(&h, s, n, eol, f, TA_HEADER_MAX_FIELDS), TA_OK);
    return h.flags;
}
#define P(lit) parse(lit, sizeof(lit) - 1, TA_EOL_CRLF)
#define PLF(lit) parse(lit, sizeof(lit) - 1, TA_EOL_LF)

static void
test_fields(void **state)
{
    static const char m[] = "From: a@b.example\r\nSubject: one\r\n two\r\nTo: x\r\nsubject: dup\r\n\r\nbody\r\n";
    (void) state;
    assert_int_equal(P(m), 0);
    assert_int_equal(h.nfields, 4);
    assert_int_equal(h.body_offset, strlen(m) - strlen("body\r\n"));
    assert_memory_equal(f[1].value.data, " one\r\n two", f[1].value.len);
    assert_int_equal(f[1].raw.len, strlen("Subject: one\r\n two\r\n"));
    assert_int_equal(ta_headers_count(&h, ta_str_cstr("SUBJECT")), 2);
    assert_ptr_equal(ta_headers_find(&h, ta_str_cstr("subject"), 1), &f[3]);
    assert_null(ta_headers_find(&h, ta_str_cstr("subject"), 2));
    assert_null(ta_headers_find(&h, ta_str_cstr("Cc"), 0));
}

static void
test_no_body(void **state)
{
    (void) state;
    assert_int_equal(P("From: a@b.example\r\nSubject: x\r\n"), 0);
    assert_int_equal(h.nfields, 2);
    assert_int_equal(h.body_offset, strlen("From: a@b.example\r\nSubject: x\r\n"));
    assert_int_equal(P("From: a@b.example"), TA_HDR_NO_END);
    assert_int_equal(P(""), 0);
    assert_int_equal(h.nfields, 0);
}

static void
test_anomalies(void **state)
{
    (void) state;
    assert_true(P("From: a@b\nTo: x\r\n\r\n") & TA_HDR_BARE_LF);
    assert_true(P("From: a@b\rTo: x\r\n\r\n") & TA_HDR_BARE_CR);
    assert_true(parse("From: a\0b\r\n\r\n", 12, TA_EOL_CRLF) & TA_HDR_NUL);
    assert_true(P(" From: a@b\r\n\r\n") & TA_HDR_LEADING_WSP);
    assert_true(P("From : a@b\r\n\r\n") & TA_HDR_NAME_WSP);
    assert_true(P("Fr\r\n om: a@b\r\n\r\n") & TA_HDR_NO_COLON);
    assert_true(P("Fr om: a@b\r\n\r\n") & TA_HDR_BAD_NAME);
    assert_true(P(": a@b\r\n\r\n") & TA_HDR_BAD_NAME);
    assert_int_equal(P("Subject: caf\xc3\xa9\r\n\r\n"), TA_HDR_8BIT);
    assert_true(P("Subject: a\x01" "b\r\n\r\n") & TA_HDR_CTL);
    assert_true(P("Subject: a\r\n \r\nFrom: x\r\n\r\n") & TA_HDR_EMPTY_CONT);
    assert_true(P("From: x\r\nNo colon here\r\n\r\n") & TA_HDR_NO_COLON);
    /* the first anomaly's offset is kept */
    P("A: b\r\nFrom : x\nB: c\r\n\r\n");
    assert_int_equal(h.anomaly_offset, 6);
}

static void
test_limits(void **state)
{
    static char big[3000];
    static char many[20000];
    size_t      i, n = 0;

    (void) state;
    memcpy(big, "X: ", 3);
    memset(big + 3, 'a', 1200);
    memcpy(big + 1203, "\r\n\r\n", 4);
    assert_true(parse(big, 1207, TA_EOL_CRLF) & TA_HDR_LONG_LINE);
    for (i = 0; i < 1100; i++) {
        memcpy(many + n, "X: y\r\n", 6);
        n += 6;
    }
    assert_true(parse(many, n, TA_EOL_CRLF) & TA_HDR_TOO_MANY);
    assert_int_equal(h.nfields, TA_HEADER_MAX_FIELDS);
    /* a small cap is honoured */
    assert_int_equal(ta_headers_parse(&h, "A: 1\r\nB: 2\r\n\r\n", 14, TA_EOL_CRLF, f, 1), TA_OK);
    assert_int_equal(h.nfields, 1);
    assert_true(h.flags & TA_HDR_TOO_MANY);
}

static void
test_lf_mode(void **state)
{
    (void) state;
    assert_int_equal(PLF("From: a@b\nSubject: x\n y\n\nbody\n"), 0);
    assert_int_equal(h.nfields, 2);
    assert_int_equal(h.body_offset, strlen("From: a@b\nSubject: x\n y\n\n"));
    assert_true(PLF("From: a@b\r\n\n") & TA_HDR_BARE_CR);
}

static void
test_texts(void **state)
{
    unsigned bit;

    (void) state;
    for (bit = 1; bit <= TA_HDR_CTL; bit <<= 1)
        assert_true(strlen(ta_header_anomaly_text(bit)) > 5);
}

/* same_parse - every field, flag and offset of two parses alike */
static void
same_parse(const ta_headers_t *a, const ta_headers_t *b)
{
    size_t i;

    assert_int_equal(a->nfields, b->nfields);
    assert_int_equal(a->flags, b->flags);
    assert_int_equal(a->anomaly_offset, b->anomaly_offset);
    assert_int_equal(a->body_offset, b->body_offset);
    for (i = 0; i < a->nfields; i++) {
        assert_ptr_equal(a->fields[i].raw.data, b->fields[i].raw.data);
        assert_int_equal(a->fields[i].raw.len, b->fields[i].raw.len);
        assert_int_equal(a->fields[i].name.len, b->fields[i].name.len);
        assert_ptr_equal(a->fields[i].value.data, b->fields[i].value.data);
        assert_int_equal(a->fields[i].value.len, b->fields[i].value.len);
    }
}

/*
 * test_reference - 20,000 random header sections (long printable runs,
 * with CR, LF, NUL, DEL, 8-bit, tabs and colons among them, at every
 * alignment) parsed alike by the parser and by the byte-at-a-time
 * reference, in both line-ending modes
 */
static void
test_reference(void **state)
{
    static const char        odd[] = "\r\n\r\n\r\n\t :\0\x7f\x80\xff\x1b";
    static char              buf[1200];
    static ta_header_field_t fa[32], fb[32];
    ta_headers_t             a, b;
    unsigned                 x = 88172645u;
    size_t                   len, i;
    int                      k, eol;

    (void) state;
    for (k = 0; k < 20000; k++) {
        x ^= x << 13; x ^= x >> 17; x ^= x << 5;
        len = x % sizeof(buf);
        for (i = 0; i < len; i++) {
            x ^= x << 13; x ^= x >> 17; x ^= x << 5;
            /* mostly printable, so that sixteen-byte runs occur */
            buf[i] = (x % 100 < (unsigned) (k % 7) * 2 + 1) ? odd[(x >> 8) % (sizeof(odd) - 1)]
                                                           : (char) (0x20 + (x >> 8) % 95);
        }
        for (eol = 0; eol < 2; eol++) {
            ta_headers_parse(&a, buf, len, (ta_eol_t) eol, fa, 32);
            ref_headers_parse(&b, buf, len, (ta_eol_t) eol, fb, 32);
            same_parse(&a, &b);
        }
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_no_body),
        cmocka_unit_test(test_anomalies),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_lf_mode),
        cmocka_unit_test(test_texts),
        cmocka_unit_test(test_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * fuzz_smtp_mail - command lines: the verb and its argument stay inside the
 * line and do not depend on case; whatever MAIL FROM argument is accepted
 * rebuilds to a line that parses to the same path and parameters, rebuilds
 * to itself, and is refused rather than truncated when the buffer is short;
 * any sender the builder takes is the sender the line parses back to.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ta_smtp.h"

#define S_FIXED "FROM:<x@y.example> SIZE=1 SMTPUTF8"

static char line[1 << 17], line2[1 << 17], flipped[1 << 16];

/* same - two parses agree on the path and every parameter, byte for byte */
static void
same(const ta_smtp_mail_t *a, const ta_smtp_mail_t *b)
{
    size_t i;

    if (!ta_str_eq(a->path, b->path) || a->nparams != b->nparams)
        abort();
    for (i = 0; i < a->nparams; i++)
        if (!ta_str_eq(a->keyword[i], b->keyword[i]) || !ta_str_eq(a->value[i], b->value[i])
            || (a->value[i].data == NULL) != (b->value[i].data == NULL))
            abort();
}

/* check_verb - classification bounds, and the same verb in any case */
static void
check_verb(const char *d, size_t n)
{
    ta_str_t       arg, arg2;
    ta_smtp_verb_t v, v2;
    const char    *r;
    size_t         i;

    v = ta_smtp_verb(d, n, &arg);
    if (arg.len > n || arg.data < d || arg.data + arg.len != (arg.len ? d + n : arg.data))
        abort();
    if (v != TA_SMTP_VERB_OTHER && arg.len > 0 && arg.data[-1] != ' ')
        abort();
    r = ta_smtp_after_auth(v);
    if (r != NULL && (strlen(r) < 6 || memcmp(r + strlen(r) - 2, "\r\n", 2) != 0))
        abort();
    if (n > sizeof(flipped))
        return;
    for (i = 0; i < n; i++) {
        char c = d[i];
        flipped[i] = (char) ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ? c ^ 0x20 : c);
    }
    v2 = ta_smtp_verb(flipped, n, &arg2);
    if (v2 != v || arg2.len != arg.len)
        abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char    *d = (const char *) data, *why = NULL;
    ta_smtp_mail_t m, m2, m3;
    ta_str_t       other = TA_STR_LIT("<bounce@bounces.acme.example>"), arg;
    size_t         n, n2, n3, i;

    check_verb(d, size);

    /* any path the builder takes comes back from the parser as it was given */
    if (ta_smtp_mail_parse(S_FIXED, sizeof(S_FIXED) - 1, &m, NULL) != TA_OK)
        abort();
    n = ta_smtp_mail_build(&m, ta_str(d, size), line, sizeof(line));
    if (n > 0 && (ta_smtp_mail_parse(line + 5, n - 7, &m2, &why) != TA_OK
                  || !ta_str_eq(m2.path, ta_str(d, size)) || m2.nparams != 2))
        abort();

    /* the input as the argument of MAIL, and as a whole command line */
    if (ta_smtp_verb(d, size, &arg) == TA_SMTP_VERB_MAIL
        && ta_smtp_mail_parse(arg.data, arg.len, &m, &why) == TA_OK) {
        /* a parse of the line's argument is a parse of the same bytes */
        if (ta_smtp_mail_parse(arg.data, arg.len, &m2, NULL) != TA_OK)
            abort();
        same(&m, &m2);
    }
    why = NULL;
    if (ta_smtp_mail_parse(d, size, &m, &why) != TA_OK) {
        if (why == NULL || m.nparams != 0 || m.path.data != NULL)
            abort();
        return 0;
    }

    /* what was accepted */
    if (m.path.len < 2 || m.path.len > TA_SMTP_PATH_MAX || m.path.data < d
        || m.path.data + m.path.len > d + size || m.path.data[0] != '<'
        || m.path.data[m.path.len - 1] != '>' || m.nparams > TA_SMTP_MAX_PARAMS)
        abort();
    for (i = 0; i < m.path.len; i++)
        if ((unsigned char) m.path.data[i] < 0x20 || m.path.data[i] == 0x7f)
            abort();
    for (i = 0; i < m.nparams; i++)
        if (m.keyword[i].len == 0 || (m.value[i].data != NULL && m.value[i].len == 0))
            abort();

    /* parse -> build -> parse: the same path and parameters */
    n = ta_smtp_mail_build(&m, m.path, line, sizeof(line));
    if (n < 14 || n + 1 > size + 16 || line[n] != '\0' || memcmp(line, "MAIL FROM:", 10) != 0
        || memcmp(line + n - 2, "\r\n", 2) != 0 || memchr(line, '\n', n - 1) != NULL
        || memchr(line, '\r', n - 2) != NULL)
        abort();
    if (ta_smtp_mail_parse(line + 5, n - 7, &m2, &why) != TA_OK)
        abort();
    same(&m, &m2);
    /* and the build of that is the same line */
    n2 = ta_smtp_mail_build(&m2, m2.path, line2, sizeof(line2));
    if (n2 != n || memcmp(line, line2, n) != 0)
        abort();
    /* exactly enough room works; one octet less is refused, not truncated */
    if (ta_smtp_mail_build(&m, m.path, line2, n + 1) != n || memcmp(line, line2, n + 1) != 0
        || ta_smtp_mail_build(&m, m.path, line2, n) != 0)
        abort();

    /* rewriting the sender keeps the parameters */
    n3 = ta_smtp_mail_build(&m, other, line2, sizeof(line2));
    if (n3 == 0 || ta_smtp_mail_parse(line2 + 5, n3 - 7, &m3, &why) != TA_OK
        || !ta_str_eq(m3.path, other))
        abort();
    m3.path = m.path;
    same(&m, &m3);
    return 0;
}

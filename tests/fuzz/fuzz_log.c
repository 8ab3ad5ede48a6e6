/*
 * fuzz_log - the decision's log line (ta_log) from any bytes in every
 * field the client or the store can put there (tenant, login, queue id,
 * domains, reason), in both styles and at any buffer size: always
 * terminated, within its size; no raw control character; a key=value
 * line's quotes balanced; a JSON line starts with '{' and ends with '}',
 * with its strings' backslashes and quotes escaped (every '"' inside a
 * string is preceded by a backslash) and only valid UTF-8.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ta_log.h"

/* take - the next field's bytes: a length byte, then that many */
static ta_str_t
take(const uint8_t **p, const uint8_t *end)
{
    size_t   n;
    ta_str_t s;

    if (*p >= end)
        return ta_str("", 0);
    n = **p;
    (*p)++;
    if (n > (size_t) (end - *p))
        n = (size_t) (end - *p);
    s = ta_str((const char *) *p, n);
    *p += n;
    return s;
}

/* copy - a field into a NUL-terminated verdict member */
static void
copy(char *dst, size_t size, ta_str_t s)
{
    size_t n = s.len < size - 1 ? s.len : size - 1;

    memcpy(dst, s.data, n);
    dst[n] = '\0';
}

/* utf8_ok - the bytes are valid UTF-8 (a plain decoder, the reference) */
static int
utf8_ok(const unsigned char *s, size_t n)
{
    size_t i = 0, len, k;
    unsigned cp;

    while (i < n) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        len = (s[i] & 0xe0) == 0xc0 ? 2 : (s[i] & 0xf0) == 0xe0 ? 3 : (s[i] & 0xf8) == 0xf0 ? 4 : 0;
        if (len == 0 || i + len > n)
            return 0;
        cp = s[i] & (0xff >> (len + 1));
        for (k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff))
            || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += len;
    }
    return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char     buf[4096];
    const uint8_t  *p = data, *end = data + size;
    ta_verdict_t    v;
    ta_log_ctx_t    lc;
    size_t          n, i, room;
    int             style, in_str = 0, esc = 0;

    if (size < 3)
        return 0;
    memset(&v, 0, sizeof(v));
    v.action = (ta_action_t) (data[0] % 3);
    v.monitor = data[0] >> 7;
    v.reason_class = (ta_reason_t) (data[1] % TA_R_COUNT);
    v.stream = (ta_stream_t) (data[1] >> 7);
    style = data[2] & 1;
    room = 8 + (size_t) data[2] * 16;       /* 8 .. 4088 */
    p += 3;
    memset(&lc, 0, sizeof(lc));
    lc.stage = data[0] & 64 ? "mail" : "data";
    lc.tenant = take(&p, end);
    lc.login = take(&p, end);
    lc.queue_id = take(&p, end);
    lc.has_tenant = lc.tenant.len > 0;
    lc.us = data[0] & 32 ? (long long) size : -1;
    copy(v.from_domain, sizeof(v.from_domain), take(&p, end));
    copy(v.envelope_domain, sizeof(v.envelope_domain), take(&p, end));
    copy(v.code, sizeof(v.code), take(&p, end));
    copy(v.enhanced, sizeof(v.enhanced), take(&p, end));
    v.rewrite_sender = data[1] & 64 ? 1 : 0;
    copy(v.new_sender, sizeof(v.new_sender), take(&p, end));
    copy(v.reason, sizeof(v.reason), ta_str((const char *) p, (size_t) (end - p)));

    n = ta_log_format(&v, &lc, (ta_log_style_t) style, buf, room);
    if (n >= room || buf[n] != '\0' || strlen(buf) != n)
        abort();
    for (i = 0; i < n; i++)
        if ((unsigned char) buf[i] < 0x20 || buf[i] == 0x7f)
            abort();
    if (n == 0)
        return 0;
    if (style == TA_LOG_JSON) {
        if (buf[0] != '{' || buf[n - 1] != '}' || !utf8_ok((const unsigned char *) buf, n))
            abort();
    }
    /* quotes balanced, backslash escapes inside strings only */
    for (i = 0; i < n; i++) {
        if (esc) {
            esc = 0;
            continue;
        }
        if (buf[i] == '\\') {
            if (!in_str)
                abort();
            esc = 1;
        } else if (buf[i] == '"') {
            in_str = !in_str;
        }
    }
    if (in_str || esc)
        abort();
    return 0;
}

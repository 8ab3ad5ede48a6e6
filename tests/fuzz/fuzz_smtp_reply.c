/*
 * fuzz_smtp_reply - upstream reply framing and EHLO filtering on any bytes:
 * a complete reply lies inside the buffer and ends in LF; a prefix of it is
 * "more needed", and a prefix of anything is never "complete" unless the
 * whole is; framing successive replies always moves forward. The EHLO walk
 * stays inside its input, and the filtered EHLO reply is one well-formed
 * reply that offers none of the dropped capabilities, fits the room the
 * header promises, and is refused rather than truncated when it does not fit.
 * A queue id found is a word of the reply, inside it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ta_smtp.h"

#define OUT_MAX TA_SMTP_EHLO_AFTER_AUTH_ROOM(1 << 16)

static char out[OUT_MAX], out2[OUT_MAX];

/* check_prefix - the scan of d[0..k) agrees with the scan of the whole */
static void
check_prefix(const char *d, size_t k, int whole, size_t whole_len)
{
    size_t      rl = 0;
    unsigned    code = 0;
    const char *why = NULL;
    int         rc = ta_smtp_reply_scan(d, k, &rl, &code, &why);

    if (whole == 1)
        rc = k < whole_len ? rc != 0 : rc != 1 || rl != whole_len;
    else if (whole == 0)
        rc = rc != 0;
    else
        rc = rc == 1;
    if (rc)
        abort();
}

/* check_scan - one reply at the start of d */
static size_t
check_scan(const char *d, size_t n)
{
    size_t      rl = 0, k, step;
    unsigned    code = 0;
    const char *why = NULL;
    int         rc = ta_smtp_reply_scan(d, n, &rl, &code, &why);

    if (rc < -1 || rc > 1 || (rc == -1 && why == NULL))
        abort();
    if (rc == 1 && (rl < 4 || rl > n || rl > TA_SMTP_REPLY_MAX || d[rl - 1] != '\n'
                    || code < 200 || code > 559 || code != (unsigned) (d[0] - '0') * 100
                    + (unsigned) (d[1] - '0') * 10 + (unsigned) (d[2] - '0')))
        abort();
    /* the prefixes just short of the end, and a sample of the others
     * (all of them would make the target quadratic) */
    for (k = n > 2 ? n - 2 : 0; k < n; k++)
        check_prefix(d, k, rc, rl);
    step = n / 8 + 1;
    for (k = (size_t) d[0] & 7; k < n; k += step)
        check_prefix(d, k, rc, rl);
    if (rc == 1) {
        check_prefix(d, rl - 1, rc, rl);
        if (rl > 1)
            check_prefix(d, rl - 2, rc, rl);
    }
    return rc == 1 ? rl : 0;
}

/* check_ehlo - the walk, offers, and the filtered reply */
static void
check_ehlo(const char *d, size_t n, size_t max_size)
{
    static const char *const dropped[] = {
        "CHUNKING", "BINARYMIME", "STARTTLS", "AUTH", "XCLIENT", "XFORWARD", "PIPECONNECT",
    };
    ta_smtp_ehlo_iter_t it;
    ta_str_t            kw, line;
    size_t              count = 0, len, rl, i, room = TA_SMTP_EHLO_AFTER_AUTH_ROOM(n);
    unsigned            code;
    int                 chunking = 0;

    ta_smtp_ehlo_iter(&it, d, n);
    while (ta_smtp_ehlo_next(&it, &kw, &line)) {
        if (++count > n || line.data < d + 4 || line.data + line.len > d + n
            || kw.data != line.data || kw.len > line.len || memchr(line.data, '\n', line.len))
            abort();
        chunking |= ta_str_caseeq(kw, (ta_str_t) TA_STR_LIT("CHUNKING"));
    }
    if (chunking != ta_smtp_ehlo_offers(d, n, "CHUNKING"))
        abort();

    if (room > sizeof(out))
        return;
    len = ta_smtp_ehlo_after_auth(d, n, max_size, out, room);
    if (len == 0) {
        /* refused for what the reply is, not for want of the promised room */
        if (ta_smtp_ehlo_after_auth(d, n, max_size, out, sizeof(out)) != 0)
            abort();
        return;
    }
    if (len + 1 > room || out[len] != '\0')
        abort();
    /* one reply, code 250, all of it */
    if (n <= 4000 && (ta_smtp_reply_scan(out, len, &rl, &code, NULL) != 1 || rl != len
                      || code != 250))
        abort();
    for (i = 0; i < len; i++)
        if ((out[i] == '\n' && (i == 0 || out[i - 1] != '\r'))
            || (out[i] == '\r' && out[i + 1] != '\n'))
            abort();
    /* one walk: no dropped keyword; SIZE once, ours, on the last line */
    ta_smtp_ehlo_iter(&it, out, len);
    count = 0;
    while (ta_smtp_ehlo_next(&it, &kw, &line)) {
        for (i = 0; i < sizeof(dropped) / sizeof(dropped[0]); i++)
            if (ta_str_caseeq(kw, ta_str_cstr(dropped[i])))
                abort();
        if (ta_str_caseeq(kw, (ta_str_t) TA_STR_LIT("SIZE"))
            && (count++ > 0 || line.data + line.len + 2 != out + len))
            abort();
    }
    if (count != 1)
        abort();
    /* exactly enough room works; one octet less does not */
    if (ta_smtp_ehlo_after_auth(d, n, max_size, out2, len + 1) != len
        || memcmp(out, out2, len + 1) != 0
        || ta_smtp_ehlo_after_auth(d, n, max_size, out2, len) != 0)
        abort();
}

/* check_queue_id - a queue id is a word of the reply, inside it */
static void
check_queue_id(const char *d, size_t n)
{
    ta_str_t id = ta_smtp_queue_id(d, n);
    size_t   i;

    if (id.len == 0)
        return;
    if (id.len > 63 || id.data < d || id.data + id.len > d + n)
        abort();
    for (i = 0; i < id.len; i++)
        if (strchr("._-", id.data[i]) == NULL && !((id.data[i] | 0x20) >= 'a' && (id.data[i] | 0x20) <= 'z')
            && !(id.data[i] >= '0' && id.data[i] <= '9'))
            abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *d = (const char *) data;
    size_t      off = 0, rl, max_size = 0, i, frames = 0;

    if (size < 1)
        return 0;
    /* the first byte picks the SIZE we announce */
    for (i = 0; i < (size_t) (data[0] & 7); i++)
        max_size = max_size * 1000 + data[0];
    d++;
    size--;

    /* frame replies one after the other, as the module does */
    while (off < size && (rl = check_scan(d + off, size - off)) > 0) {
        if (++frames > size)
            abort();
        off += rl;
    }
    check_ehlo(d, size, max_size);
    check_queue_id(d, size);
    return 0;
}

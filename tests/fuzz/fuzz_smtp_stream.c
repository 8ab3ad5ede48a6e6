/*
 * fuzz_smtp_stream - the client stream parser: feeding in any chunks gives
 * the same commands, content and ends as feeding at once; content never
 * holds a bare CR or LF; "DATA" switches to content.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ta_smtp_stream.h"

static ta_smtp_stream_t st;
static char             log1[1 << 17], log2[1 << 17];

static size_t
run(const uint8_t *d, size_t n, size_t step, char *log)
{
    ta_smtp_event_t ev;
    size_t          i = 0, k, used, l = 0;

    ta_smtp_init(&st, 0);     /* no limit: where a too-big message is cut depends on chunking */
    while (i < n) {
        k = step && n - i > step ? step : n - i;
        used = ta_smtp_feed(&st, (const char *) d + i, k, &ev);
        if ((used == 0 && ev.type == TA_SMTP_MORE) || used > k)
            abort();
        i += used;
        if (ev.type == TA_SMTP_MORE)
            continue;
        if (l + ev.len + 8 > sizeof(log1))
            break;
        log[l++] = (char) ('0' + ev.type);
        /* content holds CR and LF only as whole "\r\n" pairs within a piece */
        if (ev.type == TA_SMTP_CONTENT)
            for (size_t j = 0; j < ev.len; j++)
                if ((ev.line[j] == '\r' && (j + 1 == ev.len || ev.line[j + 1] != '\n'))
                    || (ev.line[j] == '\n' && (j == 0 || ev.line[j - 1] != '\r')))
                    abort();
        memcpy(log + l, ev.line ? ev.line : "", ev.len);
        l += ev.len;
        if (ev.type == TA_SMTP_COMMAND && ev.len >= 4 && memcmp(ev.line, "DATA", 4) == 0)
            ta_smtp_start_data(&st);
    }
    return l;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t step, l1, l2;

    if (size < 1)
        return 0;
    step = (size_t) data[0] % 11 + 1;
    l1 = run(data + 1, size - 1, 0, log1);
    l2 = run(data + 1, size - 1, step, log2);
    /* content pieces may be split differently: compare with piece markers removed */
    size_t a = 0, b = 0, i;
    for (i = 0; i < l1; i++)
        if (log1[i] != '0' + TA_SMTP_CONTENT)
            log1[a++] = log1[i];
    for (i = 0; i < l2; i++)
        if (log2[i] != '0' + TA_SMTP_CONTENT)
            log2[b++] = log2[i];
    if (a != b || memcmp(log1, log2, a) != 0)
        abort();
    return 0;
}

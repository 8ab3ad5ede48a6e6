/*
 * fuzz_smtp_stream - the client stream parser: feeding in any chunks gives
 * the same commands, content and ends as feeding at once; content never
 * holds a bare CR or LF; "DATA" switches to content.
 *
 * Each run's events are written to a log that grows as needed: a fixed one
 * filled at different places in the input under different chunking (one
 * marker per content piece), and the logs, cut short, differed (campaign of
 * 5 Dec 2026, tests/fuzz/corpus/fuzz_smtp_stream/log-full-1-byte-chunks).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ta_smtp_stream.h"

typedef struct {
    char   *data;
    size_t  len;
    size_t  size;
} event_log_t;

static ta_smtp_stream_t st;
static event_log_t      log1, log2;

static void
log_append(event_log_t *log, const char *p, size_t n)
{
    if (log->size - log->len < n) {
        size_t size = log->size ? log->size : 4096;

        while (size - log->len < n)
            size *= 2;
        log->data = realloc(log->data, size);
        if (log->data == NULL)
            abort();
        log->size = size;
    }
    if (n)
        memcpy(log->data + log->len, p, n);
    log->len += n;
}

static void
run(const uint8_t *d, size_t n, size_t step, event_log_t *log)
{
    ta_smtp_event_t ev;
    size_t          i = 0, k, used;
    char            marker;

    log->len = 0;
    ta_smtp_init(&st, 0);     /* no limit: where a too-big message is cut depends on chunking */
    while (i < n) {
        k = step && n - i > step ? step : n - i;
        used = ta_smtp_feed(&st, (const char *) d + i, k, &ev);
        if ((used == 0 && ev.type == TA_SMTP_MORE) || used > k)
            abort();
        i += used;
        if (ev.type == TA_SMTP_MORE)
            continue;
        marker = (char) ('0' + ev.type);
        log_append(log, &marker, 1);
        /* content holds CR and LF only as whole "\r\n" pairs within a piece */
        if (ev.type == TA_SMTP_CONTENT)
            for (size_t j = 0; j < ev.len; j++)
                if ((ev.line[j] == '\r' && (j + 1 == ev.len || ev.line[j + 1] != '\n'))
                    || (ev.line[j] == '\n' && (j == 0 || ev.line[j - 1] != '\r')))
                    abort();
        log_append(log, ev.line ? ev.line : "", ev.len);
        if (ev.type == TA_SMTP_COMMAND && ev.len >= 4 && memcmp(ev.line, "DATA", 4) == 0)
            ta_smtp_start_data(&st);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t step;

    if (size < 1)
        return 0;
    step = (size_t) data[0] % 11 + 1;
    run(data + 1, size - 1, 0, &log1);
    run(data + 1, size - 1, step, &log2);
    /* content pieces may be split differently: compare with piece markers removed */
    size_t a = 0, b = 0, i;
    for (i = 0; i < log1.len; i++)
        if (log1.data[i] != '0' + TA_SMTP_CONTENT)
            log1.data[a++] = log1.data[i];
    for (i = 0; i < log2.len; i++)
        if (log2.data[i] != '0' + TA_SMTP_CONTENT)
            log2.data[b++] = log2.data[i];
    if (a != b || (a && memcmp(log1.data, log2.data, a) != 0))
        abort();
    return 0;
}

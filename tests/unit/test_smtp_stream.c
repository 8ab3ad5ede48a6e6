/* test_smtp_stream - command lines, dot-unstuffing, strict end of data, every smuggling sequence */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "ta_smtp_stream.h"

/* append - content to the log, length explicit; a NUL shows as '~' so that
 * the log stays one string however the content was cut */
static void
append(char *log, const char *p, size_t n)
{
    size_t l = strlen(log), i;

    for (i = 0; i < n; i++)
        log[l + i] = p[i] ? p[i] : '~';
    log[l + n] = '\0';
}

/* run - feed in pieces of chunk bytes; collect commands and content */
static void
run(const char *in, size_t n, size_t chunk, int start_data, char *cmds, char *data, int *ends, int *bare)
{
    static ta_smtp_stream_t st;
    ta_smtp_event_t         ev;
    size_t                  i = 0, k, used;

    ta_smtp_init(&st, 0);
    if (start_data)
        ta_smtp_start_data(&st);
    cmds[0] = data[0] = '\0';
    *ends = 0;
    *bare = 0;
    while (i < n) {
        k = n - i < chunk ? n - i : chunk;
        used = ta_smtp_feed(&st, in + i, k, &ev);
        assert_true((used > 0 || ev.type != TA_SMTP_MORE) && used <= k);
        i += used;
        if (ev.type == TA_SMTP_COMMAND) {
            strncat(cmds, ev.line, ev.len);
            strcat(cmds, "|");
            if (strncmp(ev.line, "DATA", 4) == 0)
                ta_smtp_start_data(&st);
        } else if (ev.type == TA_SMTP_CONTENT) {
            append(data, ev.line, ev.len);
        } else if (ev.type == TA_SMTP_END) {
            (*ends)++;
            *bare |= ev.bare;
            strcat(data, "<END>");
        }
    }
}

static void
test_commands_and_data(void **state)
{
    static const char in[] = "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\nDATA\r\n"
                             "Subject: x\r\n\r\n..dotted\r\n.\r\nQUIT\r\n";
    char   cmds[512], data[512];
    int    ends, bare;
    size_t chunk;

    (void) state;
    for (chunk = 1; chunk <= sizeof(in); chunk++) {
        run(in, sizeof(in) - 1, chunk, 0, cmds, data, &ends, &bare);
        assert_string_equal(cmds, "MAIL FROM:<a@b>|RCPT TO:<c@d>|DATA|QUIT|");
        assert_string_equal(data, "Subject: x\r\n\r\n.dotted\r\n<END>");
        assert_int_equal(ends, 1);
        assert_int_equal(bare, 0);
    }
}

static void
test_smuggling(void **state)
{
    /* each sequence between two lines; the real end follows: one message */
    static const char *const seqs[] = {
        "\n.\n", "\n.\r", "\r.\n", "\r.\r", "\n.\r\n", "\r.\r\n", "\r\n\0.\r\n",
        "\r\n.\r\r\n", "\r\r\n.\r\r\n", "\r\n.\n", "\r\n.\r", "\r\n.\0\r\n",
    };
    static const size_t lens[] = { 3, 3, 3, 3, 4, 4, 6, 6, 7, 4, 4, 6 };
    char   in[256], cmds[512], data[512];
    int    ends, bare;
    size_t i, n, chunk;

    (void) state;
    for (i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
        n = 0;
        memcpy(in + n, "Subject: x\r\n\r\nbefore", 20);
        n += 20;
        memcpy(in + n, seqs[i], lens[i]);
        n += lens[i];
        memcpy(in + n, "MAIL FROM:<evil@x>\r\nafter\r\n.\r\n", 31);
        n += 31;
        for (chunk = 1; chunk <= n; chunk += 5) {
            run(in, n, chunk, 1, cmds, data, &ends, &bare);
            if (ends != 1 || cmds[0] != '\0')
                fprintf(stderr, "sequence %zu split the message (chunk %zu)\n", i, chunk);
            assert_int_equal(ends, 1);
            assert_string_equal(cmds, "");             /* nothing became a command */
            assert_non_null(strstr(data, "MAIL FROM:<evil@x>"));
            assert_non_null(strstr(data, "after\r\n<END>"));
            /* every line ending in the content is CRLF */
            for (const char *p = data; *p; p++) {
                if (*p == '\n')
                    assert_true(p > data && p[-1] == '\r');
                if (*p == '\r')
                    assert_true(p[1] == '\n');
            }
        }
    }
}

static void
test_limits(void **state)
{
    static ta_smtp_stream_t st;
    ta_smtp_event_t         ev;
    char                    big[5000];
    size_t                  used;

    (void) state;
    memset(big, 'a', sizeof(big));
    big[sizeof(big) - 1] = '\n';
    ta_smtp_init(&st, 10);
    used = ta_smtp_feed(&st, big, sizeof(big), &ev);
    assert_int_equal(used, sizeof(big));
    assert_int_equal(ev.type, TA_SMTP_COMMAND);
    assert_true(ev.too_long);
    used = ta_smtp_feed(&st, "NOOP\r\n", 6, &ev);
    assert_int_equal(ev.type, TA_SMTP_COMMAND);
    assert_false(ev.too_long);
    assert_memory_equal(ev.line, "NOOP", 4);
    /* message bigger than the limit: content dropped, end flagged */
    ta_smtp_start_data(&st);
    size_t off = 0;
    const char *m = "0123456789abcdef\r\n.\r\n";
    do {
        used = ta_smtp_feed(&st, m + off, strlen(m) - off, &ev);
        off += used;
    } while (ev.type != TA_SMTP_END && off < strlen(m));
    assert_int_equal(ev.type, TA_SMTP_END);
    assert_true(ev.too_big);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commands_and_data),
        cmocka_unit_test(test_smuggling),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * NAME
 *	ta_smtp_stream 3
 * SUMMARY
 *	the client side of an SMTP session: command lines and strict DATA
 * SYNOPSIS
 *	#include "ta_smtp_stream.h"
 * DESCRIPTION
 *	See ta_smtp_stream.h. In DATA mode a small state machine tracks where
 *	real line starts (after CRLF) are; runs of ordinary bytes - lines and
 *	their CRLFs, up to a line that starts with a dot - are handed out as
 *	they stand, without copying, the line breaks found sixteen bytes at a
 *	time (SSE2).
 */
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "ta_smtp_stream.h"

enum {
    S_BOL,      /* at the start of a line (after CRLF, or at the start) */
    S_DOT,      /* a line that began with "." */
    S_DOT_CR,   /* ".\r" at the start of a line */
    S_MID,      /* inside a line */
    S_CR        /* inside a line, after CR */
};

/* ta_smtp_init - a new session in command mode */
void
ta_smtp_init(ta_smtp_stream_t *st, size_t max_message)
{
    memset(st, 0, sizeof(*st));
    st->max = max_message;
}

/* ta_smtp_start_data - content follows */
void
ta_smtp_start_data(ta_smtp_stream_t *st)
{
    st->data = 1;
    st->state = S_BOL;
    st->size = 0;
    st->too_big = 0;
    st->bare = 0;
}

/* content - hand out a piece of content, counting it against the limit */
static void
content(ta_smtp_stream_t *st, const char *p, size_t n, ta_smtp_event_t *ev)
{
    st->size += n;
    if (st->max && st->size > st->max) {
        st->too_big = 1;
        ev->type = TA_SMTP_MORE;    /* dropped */
        return;
    }
    ev->type = TA_SMTP_CONTENT;
    ev->line = p;
    ev->len = n;
}

/* crlf - a line ending as content */
static void
crlf(ta_smtp_stream_t *st, ta_smtp_event_t *ev)
{
    memcpy(st->out, "\r\n", 2);
    content(st, st->out, 2, ev);
}

/* line_break - the offset of the first CR or LF in p[0..n), or n */
static size_t
line_break(const char *p, size_t n)
{
    size_t i = 0;

#ifdef __SSE2__
    const __m128i cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n');

    for (; i + 16 <= n; i += 16) {
        __m128i  v = _mm_loadu_si128((const __m128i *) (p + i));
        unsigned m = (unsigned) _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, cr),
                                                               _mm_cmpeq_epi8(v, lf)));

        if (m)
            return i + (size_t) __builtin_ctz(m);
    }
#endif
    for (; i < n; i++)
        if (p[i] == '\r' || p[i] == '\n')
            return i;
    return n;
}

/* feed_data - DATA mode: one event at most */
static size_t
feed_data(ta_smtp_stream_t *st, const char *p, size_t n, ta_smtp_event_t *ev)
{
    size_t i = 0, j;

    while (i < n) {
        char c = p[i];

        switch (st->state) {
        case S_BOL:
            if (c == '.') {
                st->state = S_DOT;
                i++;
                continue;
            }
            st->state = S_MID;
            continue;
        case S_DOT:
            if (c == '\r') {
                st->state = S_DOT_CR;
                i++;
                continue;
            }
            st->state = S_MID;      /* the dot was stuffing: dropped */
            continue;
        case S_DOT_CR:
            if (c == '\n') {        /* CRLF . CRLF: the end */
                i++;
                st->data = 0;
                ev->type = TA_SMTP_END;
                ev->too_big = (unsigned) st->too_big;
                ev->bare = (unsigned) st->bare;
                return i;
            }
            /* ".\r" then something else: a line "." with a bare CR */
            st->state = S_MID;
            st->bare = 1;
            crlf(st, ev);
            if (ev->type == TA_SMTP_CONTENT)
                return i;
            continue;
        case S_MID:
            /*
             * a run of ordinary bytes goes out as it is, through every
             * CRLF whose next line is seen to start with anything but a
             * dot: only a dot at a line start needs the state machine
             */
            for (j = i; ; j += 2) {
                j += line_break(p + j, n - j);
                /* stop at a bare LF, a CR not seen to be a CRLF, a dot line */
                if (!(j + 2 < n && p[j] == '\r' && p[j + 1] == '\n' && p[j + 2] != '.'))
                    break;
            }
            if (j > i) {
                content(st, p + i, j - i, ev);
                if (ev->type == TA_SMTP_CONTENT)
                    return j;
                i = j;
                continue;
            }
            if (c == '\r') {
                st->state = S_CR;
                i++;
                continue;
            }
            /* a bare LF: written as CRLF, but not a line start */
            st->bare = 1;
            i++;
            crlf(st, ev);
            if (ev->type == TA_SMTP_CONTENT)
                return i;
            continue;
        case S_CR:
            if (c == '\n') {
                i++;
                st->state = S_BOL;
                crlf(st, ev);
                if (ev->type == TA_SMTP_CONTENT)
                    return i;
                continue;
            }
            /* a bare CR: written as CRLF, not a line start */
            st->bare = 1;
            st->state = S_MID;
            crlf(st, ev);
            if (ev->type == TA_SMTP_CONTENT)
                return i;
            continue;
        }
    }
    ev->type = TA_SMTP_MORE;
    return n;
}

/* feed_command - command mode: one line at most */
static size_t
feed_command(ta_smtp_stream_t *st, const char *p, size_t n, ta_smtp_event_t *ev)
{
    const char *nl = memchr(p, '\n', n);
    size_t      take = nl ? (size_t) (nl - p) : n;
    size_t      room = TA_SMTP_MAX_LINE - st->line_len;

    if (!st->discarding) {
        if (take > room) {
            st->discarding = 1;
        } else {
            memcpy(st->line + st->line_len, p, take);
            st->line_len += take;
        }
    }
    if (nl == NULL) {
        ev->type = TA_SMTP_MORE;
        return n;
    }
    ev->type = TA_SMTP_COMMAND;
    ev->too_long = (unsigned) st->discarding;
    if (st->line_len > 0 && st->line[st->line_len - 1] == '\r')
        st->line_len--;
    st->line[st->line_len] = '\0';
    ev->line = st->line;
    ev->len = st->discarding ? 0 : st->line_len;
    st->line_len = 0;
    st->discarding = 0;
    return take + 1;
}

/* ta_smtp_feed - consume bytes until one event */
size_t
ta_smtp_feed(ta_smtp_stream_t *st, const char *p, size_t n, ta_smtp_event_t *ev)
{
    memset(ev, 0, sizeof(*ev));
    if (n == 0) {
        ev->type = TA_SMTP_MORE;
        return 0;
    }
    return st->data ? feed_data(st, p, n, ev) : feed_command(st, p, n, ev);
}

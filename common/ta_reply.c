/*
 * NAME
 *	ta_reply 3
 * SUMMARY
 *	the texts of a verdict: SMTP reply, monitor header field
 * DESCRIPTION
 *	See ta_reply.h. Reasons carry bytes that came from the client (login,
 *	local part); anything that could break a reply line, a header field
 *	(control characters, CR, LF) is written as '?'.
 * STANDARDS
 *	RFC 5321 4.2.1 (multi-line replies: every line carries the code),
 *	RFC 2034 (enhanced codes), RFC 5322 2.2.3 (folding).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ta_reply.h"

#define MONITOR_NAME "X-Tenantalign: monitor; would refuse: "
#define FIELD_WIDTH  78

typedef struct {
    char   *buf;
    size_t  size;
    size_t  len;
} out_t;

/* put_clean - append bytes, control characters made harmless */
static void
put_clean(out_t *o, const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n && o->len + 1 < o->size; i++) {
        unsigned char c = (unsigned char) s[i];
        o->buf[o->len++] = (char) ((c < 0x20 || c == 0x7f) ? '?' : c);
    }
    o->buf[o->len] = '\0';
}

/* put_n - append trusted bytes (our own texts) */
static void
put_n(out_t *o, const char *s, size_t n)
{
    if (o->len + 1 >= o->size)
        return;
    if (n >= o->size - o->len)
        n = o->size - o->len - 1;
    memcpy(o->buf + o->len, s, n);
    o->len += n;
    o->buf[o->len] = '\0';
}

/* put - append a trusted NUL-terminated text */
static void
put(out_t *o, const char *s)
{
    put_n(o, s, strlen(s));
}

/* put_domain - append a domain (ours: already validated, still cleaned) */
static void
put_domain(out_t *o, const char *d)
{
    put_clean(o, d, strnlen(d, TA_DOMAIN_MAX + 1));
}

/* put_plan - " d=D s=S a=ALG" for each key to sign with */
static void
put_plan(out_t *o, const ta_verdict_t *v)
{
    size_t i;

    for (i = 0; i < v->nsign; i++) {
        const ta_key_t *k = v->sign[i];
        ta_str_t        d = ta_key_d(k, v->identity);

        put(o, i ? ", d=" : " d=");
        put_clean(o, d.data, d.len);
        put(o, " s=");
        put_clean(o, k->selector.data, k->selector.len);
        put(o, " a=");
        put(o, ta_alg_name(k->alg));
    }
}

/* reason_clean - the reason, control bytes made '?', leading spaces gone */
static size_t
reason_clean(const ta_verdict_t *v, char *dst, size_t size)
{
    out_t       o = { dst, size, 0 };
    const char *r = v->reason;
    size_t      n = strnlen(v->reason, sizeof(v->reason));

    while (n > 0 && *r == ' ') {
        r++;
        n--;
    }
    put_clean(&o, r, n);
    return o.len;
}

/*
 * fold - where the line that starts at s[0] ends so that it holds at most
 * avail octets: at the last space that fits, else (one long word) at the
 * next space. *next is where the following line starts (spaces skipped).
 */
static size_t
fold(const char *s, size_t len, size_t avail, size_t *next)
{
    size_t end;

    if (len <= avail) {
        *next = len;
        return len;
    }
    for (end = avail; end > 0 && s[end] != ' '; end--)
        continue;
    if (end == 0)
        for (end = avail; end < len && s[end] != ' '; end++)
            continue;
    *next = end;
    while (*next < len && s[*next] == ' ')
        (*next)++;
    while (end > 0 && s[end - 1] == ' ')
        end--;
    return end;
}

/* count_lines - how many lines fold() makes of text at width avail */
static size_t
count_lines(const char *s, size_t len, size_t avail)
{
    size_t pos = 0, next, lines = 0;

    do {
        (void) fold(s + pos, len - pos, avail, &next);
        pos += next;
        lines++;
    } while (pos < len);
    return lines;
}

/*
 * balanced_width - the narrowest width that folds text into no more lines
 * than the widest allowed one does: lines of even length, not a long line
 * and an orphaned word
 */
static size_t
balanced_width(const char *s, size_t len, size_t avail)
{
    size_t lines = count_lines(s, len, avail), w;

    if (lines < 2)
        return avail;
    for (w = len / lines; w < avail; w++)
        if (count_lines(s, len, w) <= lines)
            return w;
    return avail;
}

/* put_line - one reply line, in wire form (code) or local_scan form */
static void
put_line(out_t *o, const ta_verdict_t *v, const char *eol, int last,
    const char *text, size_t n, size_t *last_off)
{
    if (eol == NULL) {                  /* local_scan: Exim writes the code */
        if (o->len > 0)
            put(o, "\n");
    } else {
        if (last && last_off)
            *last_off = o->len;
        put(o, v->code);
        put(o, last ? " " : "-");
    }
    put(o, v->enhanced);
    if (n > 0) {
        put(o, " ");
        put_n(o, text, n);
    }
    if (eol != NULL)
        put(o, eol);
}

/* put_refusal - the lines of a rejection or tempfail, reason folded */
static void
put_refusal(out_t *o, const ta_verdict_t *v, const char *eol, size_t *last_off)
{
    char   text[sizeof(v->reason)], first[sizeof(v->subject_domain) + 96];
    out_t  f = { first, sizeof(first), 0 };
    size_t n, pos = 0, next, end, avail;

    if (v->action == TA_REJECT && strcmp(v->enhanced, "5.7.515") == 0) {
        put(&f, "Access denied, sending domain ");
        put_domain(&f, v->subject_domain);
        put(&f, " does not meet the required authentication level");
        put_line(o, v, eol, 0, first, f.len, last_off);
    }
    n = reason_clean(v, text, sizeof(text));
    /* "CODE-ENH " comes before each line's text */
    avail = TA_REPLY_WIDTH - 5 - strlen(v->enhanced);
    avail = balanced_width(text, n, avail);
    do {
        end = fold(text + pos, n - pos, avail, &next);
        put_line(o, v, eol, pos + next >= n, text + pos, end, last_off);
        pos += next;
    } while (pos < n);
}

/* ta_reply_format - the whole SMTP reply for a verdict */
size_t
ta_reply_format(const ta_verdict_t *v, const char *eol, char *buf, size_t size,
    size_t *last)
{
    out_t o = { buf, size, 0 };

    if (size == 0)
        return 0;
    buf[0] = '\0';
    if (last)
        *last = 0;
    if (v->action != TA_ACCEPT) {
        put_refusal(&o, v, eol, last);
        return o.len;
    }
    /* acceptances are never sent as they are (the upstream's or the MTA's
     * own 250 is): one line, for the command line tool and logs */
    put(&o, v->code);
    put(&o, " ");
    put(&o, v->enhanced);
    if (v->monitor) {
        put(&o, " accepted in monitor mode; would refuse: ");
        put_clean(&o, v->reason, strnlen(v->reason, sizeof(v->reason)));
        if (v->nsign)
            put(&o, "; sign");
    } else if (v->nsign) {
        put(&o, " accepted; sign");
    } else {
        put(&o, " accepted; not signed");
        if (v->reason[0]) {
            put(&o, ": ");
            put_clean(&o, v->reason, strnlen(v->reason, sizeof(v->reason)));
        }
    }
    put_plan(&o, v);
    if (v->rewrite_sender) {
        put(&o, "; envelope sender becomes ");
        put_clean(&o, v->new_sender, strnlen(v->new_sender, sizeof(v->new_sender)));
    }
    put(&o, eol);
    return o.len;
}

/* ta_reply_text - the reply's lines without codes, for Exim's local_scan */
size_t
ta_reply_text(const ta_verdict_t *v, char *buf, size_t size)
{
    out_t o = { buf, size, 0 };

    if (size == 0)
        return 0;
    buf[0] = '\0';
    if (v->action == TA_ACCEPT)
        return 0;
    put_refusal(&o, v, NULL, NULL);
    return o.len;
}

/* ta_monitor_field - the X-Tenantalign field of a monitored acceptance */
size_t
ta_monitor_field(const ta_verdict_t *v, const char *eol, char *buf, size_t size)
{
    out_t  o = { buf, size, 0 };
    char   text[sizeof(v->reason)];
    size_t n, pos = 0, next, end, avail = FIELD_WIDTH - (sizeof(MONITOR_NAME) - 1);

    if (size == 0)
        return 0;
    buf[0] = '\0';
    if (v->action != TA_ACCEPT || !v->monitor)
        return 0;
    put(&o, MONITOR_NAME);
    n = reason_clean(v, text, sizeof(text));
    /* folded before a space (RFC 5322 2.2.3); continuation lines start with it */
    do {
        end = fold(text + pos, n - pos, avail, &next);
        if (pos > 0) {
            put(&o, eol);
            put(&o, " ");
        }
        put_n(&o, text + pos, end);
        pos += next;
        avail = FIELD_WIDTH - 1;
    } while (pos < n);
    put(&o, eol);
    return o.len;
}

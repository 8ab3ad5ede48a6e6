/*
 * NAME
 *	ta_log 3
 * SUMMARY
 *	the one log line of a decision: key=value, or a JSON object
 * SYNOPSIS
 *	#include "ta_log.h"
 * DESCRIPTION
 *	See ta_log.h. Fields are written one at a time; each is checked to
 *	fit whole (with room kept for the closing marker) before the next, so
 *	a line cut short still parses. Values are escaped by their bytes, not
 *	by where they came from: a tenant name, a login and a reason are all
 *	treated as untrusted.
 * STANDARDS
 *	RFC 8259 (JSON); RFC 3629 (UTF-8: overlong forms, surrogates and
 *	code points above U+10FFFF are invalid).
 */
#include <stdio.h>
#include <string.h>

#include "ta_log.h"

#define TRAILER_ROOM 24     /* " truncated=yes" or ",\"truncated\":true}" and the NUL */

typedef struct {
    char           *buf;
    size_t          size;   /* usable: the caller's size less the trailer's room */
    size_t          len;
    int             full;
    ta_log_style_t  style;
    int             nfields;
} out_t;

/* put_n - append bytes, or mark the line full */
static void
put_n(out_t *o, const char *s, size_t n)
{
    if (o->full || n > o->size - o->len) {
        o->full = 1;
        return;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
}

/* put_hex - a byte as \xHH (key=value) or \u00HH (JSON) */
static void
put_hex(out_t *o, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";
    char              e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };

    if (o->style == TA_LOG_JSON)
        put_n(o, e, 6);
    else {
        e[1] = 'x';
        e[2] = hex[c >> 4];
        e[3] = hex[c & 15];
        put_n(o, e, 4);
    }
}

/* utf8_len - the length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
    size_t   len, i;
    unsigned cp;

    if (s[0] < 0xc2 || s[0] > 0xf4)
        return 0;
    len = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
    if (n < len)
        return 0;
    cp = s[0] & (0x7f >> len);
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff))
        || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* bare - a key=value value that needs no quotes */
static int
bare(const char *s, size_t n)
{
    size_t i;

    if (n == 0)
        return 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char) s[i];

        if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '=')
            return 0;
    }
    return 1;
}

/* put_escaped - a value's bytes inside quotes, escaped for the style */
static void
put_escaped(out_t *o, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *) s, *end = p + n;
    size_t               u;

    while (p < end) {
        if (*p == '"' || *p == '\\') {
            char e[2] = { '\\', (char) *p };
            put_n(o, e, 2);
            p++;
        } else if (*p < 0x20 || *p == 0x7f) {
            put_hex(o, *p++);
        } else if (*p < 0x80) {
            put_n(o, (const char *) p++, 1);
        } else if ((u = utf8_len(p, (size_t) (end - p))) > 0) {
            put_n(o, (const char *) p, u);
            p += u;
        } else if (o->style == TA_LOG_JSON) {
            put_n(o, "\xef\xbf\xbd", 3);    /* U+FFFD */
            p++;
        } else {
            put_hex(o, *p++);
        }
    }
}

/* key - the separator before a field and its key, up to where its value starts */
static void
key(out_t *o, const char *name, int json_string)
{
    if (o->style == TA_LOG_JSON) {
        put_n(o, o->nfields ? ",\"" : "\"", o->nfields ? 2 : 1);
        put_n(o, name, strlen(name));
        put_n(o, json_string ? "\":\"" : "\":", json_string ? 3 : 2);
    } else {
        if (o->nfields)
            put_n(o, " ", 1);
        put_n(o, name, strlen(name));
        put_n(o, "=", 1);
    }
}

/* done - a field written whole counts; one that did not fit is taken back */
static void
done(out_t *o, size_t mark)
{
    if (o->full)
        o->len = mark;
    else
        o->nfields++;
}

/* field - one key and its string value, whole or not at all */
static void
field(out_t *o, const char *name, const char *s, size_t n)
{
    size_t mark = o->len;
    int    quote = o->style == TA_LOG_JSON || !bare(s, n);

    if (o->full)
        return;
    key(o, name, o->style == TA_LOG_JSON);
    if (quote && o->style == TA_LOG_KV)
        put_n(o, "\"", 1);
    if (quote)
        put_escaped(o, s, n);
    else
        put_n(o, s, n);
    if (quote)
        put_n(o, "\"", 1);
    done(o, mark);
}

/* field_raw - one key and a value written as it is (a JSON number or true) */
static void
field_raw(out_t *o, const char *name, const char *kv_value, const char *json_value)
{
    size_t      mark = o->len;
    const char *v = o->style == TA_LOG_JSON ? json_value : kv_value;

    if (o->full)
        return;
    key(o, name, 0);
    put_n(o, v, strlen(v));
    done(o, mark);
}

/* field_or_dash - a string value, "-" when empty */
static void
field_or_dash(out_t *o, const char *key, ta_str_t s)
{
    if (s.len == 0)
        s = ta_str("-", 1);
    field(o, key, s.data, s.len);
}

/* field_signed - "d:s,d:s" for the signatures made */
static void
field_signed(out_t *o, const ta_verdict_t *v)
{
    char   list[TA_MAX_SIGN * (TA_DOMAIN_MAX + 66)];
    size_t n = 0, i;

    for (i = 0; i < v->nsign; i++) {
        const ta_key_t *k = v->sign[i];
        ta_str_t        d = ta_key_d(k, v->identity);
        int             w = snprintf(list + n, sizeof(list) - n, "%s%.*s:%.*s", i ? "," : "",
                                     (int) d.len, d.data, (int) k->selector.len, k->selector.data);

        if (w < 0 || (size_t) w >= sizeof(list) - n)
            break;
        n += (size_t) w;
    }
    if (n)
        field(o, "signed", list, n);
}

/* ta_log_format - one decision's log line */
size_t
ta_log_format(const ta_verdict_t *v, const ta_log_ctx_t *ctx, ta_log_style_t style,
    char *buf, size_t size)
{
    static const char *const verdicts[] = { "accept", "reject", "tempfail" };
    out_t  o;
    char   code[24], us[24], *p;
    size_t n;

    if (size == 0)
        return 0;
    buf[0] = '\0';
    if (size <= TRAILER_ROOM + 2)
        return 0;
    memset(&o, 0, sizeof(o));
    o.buf = buf;
    o.size = size - TRAILER_ROOM;
    o.style = style;
    if (style == TA_LOG_JSON)
        put_n(&o, "{", 1);
    field(&o, "stage", ctx->stage, strlen(ctx->stage));
    field_or_dash(&o, "tenant", ctx->tenant);
    field_or_dash(&o, "login", ctx->login);
    field_or_dash(&o, "stream", ctx->has_tenant ? ta_str_cstr(ta_stream_names[v->stream % TA_STREAMS])
                                                : ta_str("", 0));
    field_or_dash(&o, "qid", ctx->queue_id);
    field_or_dash(&o, "from", ta_str(v->from_domain, strnlen(v->from_domain, sizeof(v->from_domain))));
    field_or_dash(&o, "envelope", ta_str(v->envelope_domain,
                                         strnlen(v->envelope_domain, sizeof(v->envelope_domain))));
    field(&o, "verdict", verdicts[v->action % 3], strlen(verdicts[v->action % 3]));
    if (v->monitor)
        field_raw(&o, "monitor", "yes", "true");
    if (v->reason_class != TA_R_NONE && v->reason_class < TA_R_COUNT)
        field(&o, "class", ta_reason_names[v->reason_class], strlen(ta_reason_names[v->reason_class]));
    /* by hand, as us below: snprintf was a large part of a line's cost */
    n = strnlen(v->code, sizeof(v->code));
    memcpy(code, v->code, n);
    code[n++] = ' ';
    memcpy(code + n, v->enhanced, strnlen(v->enhanced, sizeof(v->enhanced)));
    n += strnlen(v->enhanced, sizeof(v->enhanced));
    field(&o, "code", code, n);
    if (v->reason[0])
        field(&o, "reason", v->reason, strnlen(v->reason, sizeof(v->reason)));
    if (v->rewrite_sender)
        field(&o, "new_sender", v->new_sender, strnlen(v->new_sender, sizeof(v->new_sender)));
    field_signed(&o, v);
    if (ctx->us >= 0) {
        us[sizeof(us) - 1] = '\0';
        p = ta_str_dec(us + sizeof(us) - 1, (unsigned long long) ctx->us);
        field_raw(&o, "us", p, p);
    }
    /* the trailer's room was kept out of o.size */
    o.size = size - 1;
    if (o.full) {
        o.full = 0;
        field_raw(&o, "truncated", "yes", "true");
    }
    if (style == TA_LOG_JSON)
        put_n(&o, "}", 1);
    buf[o.len] = '\0';
    return o.len;
}

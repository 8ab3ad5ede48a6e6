/*
 * NAME
 *	ta_reply 3
 * SUMMARY
 *	SMTP reply text and log line for a verdict
 * DESCRIPTION
 *	See ta_reply.h. Reasons carry bytes that came from the client (login,
 *	local part); anything that could break a reply line or a log line
 *	(control characters, CR, LF) is written as '?', so a client cannot
 *	inject a line into its own reply or our log.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ta_reply.h"

#define FIRST_LINE "Access denied, sending domain %s does not meet the required authentication level"

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

/* put - append trusted text (our own format strings) */
static void
put(out_t *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
put(out_t *o, const char *fmt, ...)
{
    va_list ap;
    int     n;

    if (o->len + 1 >= o->size)
        return;
    if (strchr(fmt, '%') == NULL) {     /* most calls: no formatting to do */
        n = (int) strlen(fmt);
        if ((size_t) n >= o->size - o->len)
            n = (int) (o->size - o->len - 1);
        memcpy(o->buf + o->len, fmt, (size_t) n);
        o->len += (size_t) n;
        o->buf[o->len] = '\0';
        return;
    }
    va_start(ap, fmt);
    n = vsnprintf(o->buf + o->len, o->size - o->len, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    o->len += (size_t) n < o->size - o->len ? (size_t) n : o->size - o->len - 1;
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
        ta_str_t d = k->domain.len ? k->domain : v->identity->domain;

        put(o, "%s d=", i ? "," : "");
        put_clean(o, d.data, d.len);
        put(o, " s=");
        put_clean(o, k->selector.data, k->selector.len);
        put(o, " a=%s", k->alg == TA_ALG_ED25519_SHA256 ? "ed25519-sha256" : "rsa-sha256");
    }
}

/* ta_reply_format - the whole SMTP reply for a verdict */
size_t
ta_reply_format(const ta_verdict_t *v, const char *eol, char *buf, size_t size)
{
    out_t o = { buf, size, 0 };

    if (size == 0)
        return 0;
    buf[0] = '\0';
    switch (v->action) {
    case TA_REJECT:
        put(&o, "%s-%s ", v->code, v->enhanced);
        put(&o, "Access denied, sending domain ");
        put_domain(&o, v->subject_domain);
        put(&o, " does not meet the required authentication level%s", eol);
        put(&o, "%s %s ", v->code, v->enhanced);
        put_clean(&o, v->reason, strnlen(v->reason, sizeof(v->reason)));
        put(&o, "%s", eol);
        break;
    case TA_TEMPFAIL:
        put(&o, "%s %s ", v->code, v->enhanced);
        put_clean(&o, v->reason, strnlen(v->reason, sizeof(v->reason)));
        put(&o, "%s", eol);
        break;
    case TA_ACCEPT:
        put(&o, "%s %s ", v->code, v->enhanced);
        if (v->monitor) {
            put(&o, "accepted in monitor mode; would refuse: ");
            put_clean(&o, v->reason, strnlen(v->reason, sizeof(v->reason)));
            if (v->nsign)
                put(&o, "; sign");
        } else if (v->nsign) {
            put(&o, "accepted; sign");
        } else {
            put(&o, "accepted; not signed");
            if (v->reason[0]) {
                put(&o, ": ");
                put_clean(&o, v->reason, strnlen(v->reason, sizeof(v->reason)));
            }
        }
        put_plan(&o, v);
        put(&o, "%s", eol);
        break;
    }
    return o.len;
}

/* ta_reply_text - the reply without codes on the first line, for Exim */
size_t
ta_reply_text(const ta_verdict_t *v, char *buf, size_t size)
{
    out_t o = { buf, size, 0 };

    if (size == 0)
        return 0;
    buf[0] = '\0';
    if (v->action == TA_REJECT) {
        put(&o, "%s Access denied, sending domain ", v->enhanced);
        put_domain(&o, v->subject_domain);
        put(&o, " does not meet the required authentication level\n%s ", v->enhanced);
    } else {
        put(&o, "%s ", v->enhanced);
    }
    put_clean(&o, v->reason, strnlen(v->reason, sizeof(v->reason)));
    return o.len;
}

/* ta_log_format - one key=value line describing a verdict */
size_t
ta_log_format(const ta_verdict_t *v, ta_str_t tenant, ta_str_t login, char *buf,
    size_t size)
{
    static const char *const verdicts[] = { "accept", "reject", "tempfail" };
    out_t o = { buf, size, 0 };
    size_t i;

    if (size == 0)
        return 0;
    buf[0] = '\0';
    put(&o, "tenant=");
    if (tenant.len)
        put_clean(&o, tenant.data, tenant.len);
    else
        put(&o, "-");
    put(&o, " login=");
    put_clean(&o, login.data, login.len);
    put(&o, " from=");
    put_domain(&o, v->from_domain[0] ? v->from_domain : "-");
    put(&o, " envelope=");
    put_domain(&o, v->envelope_domain[0] ? v->envelope_domain : "-");
    put(&o, " verdict=");
    put_clean(&o, verdicts[v->action], strlen(verdicts[v->action]));
    if (v->monitor)
        put(&o, "(monitor)");
    if (v->reason[0]) {
        put(&o, " reason=\"");
        for (i = 0; v->reason[i] && i < sizeof(v->reason); i++)
            put_clean(&o, v->reason[i] == '"' ? "'" : &v->reason[i], 1);
        put(&o, "\"");
    }
    if (v->rewrite_sender) {
        put(&o, " new_sender=");
        put_clean(&o, v->new_sender, strnlen(v->new_sender, sizeof(v->new_sender)));
    }
    if (v->nsign) {
        put(&o, " signed=");
        for (i = 0; i < v->nsign; i++) {
            const ta_key_t *k = v->sign[i];
            ta_str_t d = k->domain.len ? k->domain : v->identity->domain;

            if (i)
                put(&o, ",");
            put_clean(&o, d.data, d.len);
            put(&o, ":");
            put_clean(&o, k->selector.data, k->selector.len);
        }
    }
    return o.len;
}

/*
 * NAME
 *	ta_policy 3
 * SUMMARY
 *	the one decision: may this tenant send this message, and how signed
 * SYNOPSIS
 *	#include "ta_policy.h"
 *
 *	void ta_decide(const ta_policy_input_t *in, ta_verdict_t *v);
 *	void ta_verdict_tempfail(ta_verdict_t *v, const char *fmt, ...);
 * DESCRIPTION
 *	ta_decide() runs these checks in this order; the first that fails
 *	decides, with the reason given here:
 *	 1. the login belongs to a tenant        "login L is not a tenant of this relay"
 *	                                         (no login: "no SMTP AUTH login: ...")
 *	 2. the envelope sender parses            "envelope sender: WHY"
 *	 3. the header section is well formed     "message header: WHAT"
 *	 4. exactly one From: header              "message has N From: headers"
 *	 5. From: holds one mailbox, one domain   "From: WHY"
 *	 6. the From address is the tenant's      "From domain D is not a sending domain of tenant T"
 *	 7. its local part fits the pattern       "From local part L is not allowed ..."
 *	 8. null sender allowed when used         "null sender is not allowed for D"
 *	8a. DMARC where required (identity, stream) "From domain D publishes no DMARC record; ..."
 *	8b. broadcast: one-click unsubscribe      "broadcast message without one-click unsubscribe: WHAT ..."
 *	 9. envelope domain aligned with From     "envelope sender domain E is not aligned with From domain D"
 *	10. no foreign DKIM-Signature present     "message already carries a DKIM-Signature for d=X ..."
 *	11. an active key aligned with From       "no active DKIM key aligned with D"
 *	12. within the hourly caps                "tenant T reached its hourly cap: ..." (451)
 *	Holds (1a, 6a: paused 451 4.7.1, suspended 550 5.7.1) and caps are the
 *	provider's switches: monitor mode does not lift them. Every verdict
 *	but a clean acceptance names its class (ta_reason.h).
 *	Without headers (MAIL FROM time) only 1, 2, an envelope form of 6
 *	and 8, and 12 run. A failure after the identity is known becomes a monitored
 *	acceptance when the identity (or the adapter) is in monitor mode.
 *
 *	Pure: no I/O, no allocation that outlives the call. PCRE2 patterns are
 *	compiled per call (they are rare and short; the store validated them).
 * STANDARDS
 *	RFC 7489 3.1 (alignment), RFC 5321 4.5.5 (null sender), RFC 3463 and
 *	the IANA enhanced status code 5.7.515 (authentication level).
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <pcre2.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ta_hold.h"
#include "ta_orgdomain.h"
#include "ta_policy.h"
#include "ta_unsub.h"

static const ta_str_t from_name = TA_STR_LIT("From");
static const ta_str_t dkim_name = TA_STR_LIT("DKIM-Signature");

/* copy_domain - bounded copy of a counted string into a verdict field */
static void
copy_domain(char *dst, ta_str_t src)
{
    size_t n = src.len < TA_DOMAIN_MAX ? src.len : TA_DOMAIN_MAX;

    memcpy(dst, src.data, n);
    dst[n] = '\0';
}

/* set_codes - reply code and enhanced code of a verdict */
static void
set_codes(ta_verdict_t *v, ta_action_t action)
{
    v->action = action;
    switch (action) {
    case TA_ACCEPT:
        memcpy(v->code, "250", 4);
        memcpy(v->enhanced, "2.0.0", 6);
        break;
    case TA_REJECT:
        memcpy(v->code, "550", 4);
        memcpy(v->enhanced, "5.7.515", 8);
        break;
    case TA_TEMPFAIL:
        memcpy(v->code, "451", 4);
        memcpy(v->enhanced, "4.7.0", 6);
        break;
    }
}

/* settle - the action and its reason; monitor mode accepts instead, marked */
static void
settle(ta_verdict_t *v, ta_action_t action, ta_reason_t rclass, int monitor, const char *fmt,
    va_list ap)
{
    set_codes(v, monitor ? TA_ACCEPT : action);
    v->reason_class = rclass;
    vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
    v->monitor = monitor ? 1 : 0;
    v->nsign = 0;
}

/* refuse - reject with a reason, or accept under monitor mode */
static void
refuse(ta_verdict_t *v, ta_reason_t rclass, int monitor, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
refuse(ta_verdict_t *v, ta_reason_t rclass, int monitor, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    settle(v, TA_REJECT, rclass, monitor, fmt, ap);
    va_end(ap);
}

/* defer - tempfail with a reason, or accept under monitor mode */
static void
defer(ta_verdict_t *v, ta_reason_t rclass, int monitor, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
defer(ta_verdict_t *v, ta_reason_t rclass, int monitor, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    settle(v, TA_TEMPFAIL, rclass, monitor, fmt, ap);
    va_end(ap);
}

/* ta_verdict_tempfail - our fault: 451 with a reason, nothing signed (even in monitor mode) */
void
ta_verdict_tempfail(ta_verdict_t *v, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    settle(v, TA_TEMPFAIL, TA_R_SYSTEM, 0, fmt, ap);
    va_end(ap);
}

/* parent_domain - the domain one label up, or empty */
static ta_str_t
parent_domain(ta_str_t d)
{
    const char *dot = memchr(d.data, '.', d.len);

    if (dot == NULL)
        return ta_str(NULL, 0);
    return ta_str(dot + 1, d.len - (size_t) (dot + 1 - d.data));
}

/*
 * identity_score - how well an identity covers a From address; 0: not at
 * all. An exact address beats an exact domain beats a delegated zone
 * beats a subdomain or parent match, so the most specific identity wins.
 */
static int
identity_score(const ta_identity_t *id, const ta_address_t *from)
{
    ta_str_t fd = ta_str(from->domain, from->domain_len);

    switch (id->mode) {
    case TA_MODE_ADDRESS:
        if (ta_str_caseeq(fd, id->domain)
            && ta_str_caseeq(ta_str(from->local, from->local_len), id->local_part))
            return 4;
        return 0;
    case TA_MODE_DOMAIN:
        if (ta_str_caseeq(fd, id->domain))
            return 3;
        if (id->subdomains && ta_domain_within(fd, id->domain))
            return 1;
        return 0;
    case TA_MODE_DELEGATED:
        if (ta_domain_within(fd, id->domain))
            return 2;
        if (id->parent_from) {
            ta_str_t parent = parent_domain(id->domain);
            if (parent.len > 0 && ta_str_caseeq(fd, parent))
                return 1;
        }
        return 0;
    }
    return 0;
}

/* find_identity - the tenant's best identity for a From address */
static const ta_identity_t *
find_identity(const ta_tenant_t *t, const ta_address_t *from)
{
    const ta_identity_t *best = NULL;
    int                  best_score = 0, s;
    size_t               i;

    for (i = 0; i < t->nidentities; i++) {
        s = identity_score(&t->identities[i], from);
        if (s > best_score) {
            best = &t->identities[i];
            best_score = s;
        }
    }
    return best;
}

/* local_part_allowed - full match of the identity's PCRE2 pattern, if any */
static int
local_part_allowed(const ta_identity_t *id, const ta_address_t *from)
{
    pcre2_code       *re;
    pcre2_match_data *md;
    int               errcode, rc;
    PCRE2_SIZE        erroff;

    if (id->local_part_pattern.len == 0)
        return 1;
    re = pcre2_compile((PCRE2_SPTR) id->local_part_pattern.data,
                       id->local_part_pattern.len,
                       PCRE2_ANCHORED | PCRE2_ENDANCHORED | PCRE2_UTF,
                       &errcode, &erroff, NULL);
    if (re == NULL)
        return 0;       /* the store validated it: refuse rather than guess */
    md = pcre2_match_data_create_from_pattern(re, NULL);
    if (md == NULL) {
        pcre2_code_free(re);
        return 0;
    }
    rc = pcre2_match(re, (PCRE2_SPTR) from->local, from->local_len, 0, 0, md, NULL);
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    return rc >= 0;
}

/* tenant_all_monitor - every identity of the tenant is in monitor mode */
static int
tenant_all_monitor(const ta_tenant_t *t)
{
    size_t i;

    if (t->nidentities == 0)
        return 0;
    for (i = 0; i < t->nidentities; i++)
        if (!t->identities[i].monitor)
            return 0;
    return 1;
}

/* dkim_tag_d - the d= value of a DKIM-Signature field value, or empty */
static ta_str_t
dkim_tag_d(ta_str_t value)
{
    size_t i = 0, start, end;

    while (i < value.len) {
        /* skip whitespace (folding included) before a tag name */
        while (i < value.len && (value.data[i] == ' ' || value.data[i] == '\t'
               || value.data[i] == '\r' || value.data[i] == '\n'))
            i++;
        start = i;
        while (i < value.len && value.data[i] != ';')
            i++;
        end = i;
        if (i < value.len)
            i++;
        if (end - start >= 2 && value.data[start] == 'd') {
            size_t k = start + 1;
            while (k < end && (value.data[k] == ' ' || value.data[k] == '\t'))
                k++;
            if (k < end && value.data[k] == '=') {
                k++;
                while (k < end && (value.data[k] == ' ' || value.data[k] == '\t'
                       || value.data[k] == '\r' || value.data[k] == '\n'))
                    k++;
                while (end > k && (value.data[end - 1] == ' ' || value.data[end - 1] == '\t'
                       || value.data[end - 1] == '\r' || value.data[end - 1] == '\n'))
                    end--;
                return ta_str(value.data + k, end - k);
            }
        }
    }
    return ta_str(NULL, 0);
}

/* foreign_signature - a DKIM-Signature already present whose d= is not aligned */
static int
foreign_signature(const ta_headers_t *h, ta_str_t from_domain, ta_align_t mode,
    char *d_out)
{
    const ta_header_field_t *f;
    ta_str_t                 d;
    char                     norm[TA_DOMAIN_MAX + 1];
    size_t                   nlen, i;
    const char              *why;

    for (i = 0; (f = ta_headers_find(h, dkim_name, i)) != NULL; i++) {
        d = dkim_tag_d(f->value);
        if (d.len == 0 || ta_domain_normalize(d.data, d.len, norm, sizeof(norm),
                                              &nlen, &why) != TA_OK) {
            memcpy(d_out, "(unreadable)", sizeof("(unreadable)"));
            return 1;
        }
        if (!ta_aligned(ta_str(norm, nlen), from_domain, mode)) {
            copy_domain(d_out, ta_str(norm, nlen));
            return 1;
        }
    }
    return 0;
}

/* dkim_alignment - the identity's, made strict where its DMARC record says adkim=s */
static ta_align_t
dkim_alignment(const ta_identity_t *id)
{
    return id->dmarc_adkim_strict ? TA_ALIGN_STRICT : id->alignment;
}

/* spf_alignment - the identity's, made strict where its DMARC record says aspf=s */
static ta_align_t
spf_alignment(const ta_identity_t *id)
{
    return id->dmarc_aspf_strict ? TA_ALIGN_STRICT : id->alignment;
}

/* strict_why - how a refusal names strict alignment, and where it comes from */
static const char *
strict_why(const ta_identity_t *id, int dmarc_strict)
{
    if (id->alignment == TA_ALIGN_STRICT)
        return " (strict alignment)";
    return dmarc_strict ? " (strict alignment: the domain's DMARC record asks for it)" : "";
}

/* plan_signing - the identity's active keys whose d= aligns with From */
static void
plan_signing(const ta_identity_t *id, ta_str_t from_domain, ta_verdict_t *v)
{
    size_t i;

    v->nsign = 0;
    for (i = 0; i < id->nkeys && v->nsign < TA_MAX_SIGN; i++) {
        const ta_key_t *k = &id->keys[i];
        ta_str_t        d = ta_key_d(k, id);

        if (k->state == TA_KEY_ACTIVE && ta_aligned(d, from_domain, dkim_alignment(id)))
            v->sign[v->nsign++] = k;
    }
}

/* unverified_key - an aligned key that would sign but verify has not seen published */
static const ta_key_t *
unverified_key(const ta_identity_t *id, ta_str_t from_domain)
{
    size_t i;

    for (i = 0; i < id->nkeys; i++)
        if (id->keys[i].state == TA_KEY_UNVERIFIED
            && ta_aligned(ta_key_d(&id->keys[i], id), from_domain, dkim_alignment(id)))
            return &id->keys[i];
    return NULL;
}

/* dmarc_missing - why require_dmarc refuses this identity's From domain, or NULL;
 * *ours: we do not know yet (a tempfail), else the domain's owner must act */
static const char *
dmarc_missing(const ta_identity_t *id, int stream_requires, int *ours)
{
    *ours = 0;
    if (!id->require_dmarc && !stream_requires)
        return NULL;
    switch (id->dmarc) {
    case TA_IDDMARC_FOUND:
        return NULL;
    case TA_IDDMARC_NONE:
        return "publishes no DMARC record";
    case TA_IDDMARC_BROKEN:
        return "has no usable DMARC record (several records, or one that does not parse)";
    default:
        *ours = 1;
        return "has a DMARC record nobody checked yet (tenantalign verify)";
    }
}


/* envelope_identity - at MAIL FROM: an identity the envelope domain may serve */
static const ta_identity_t *
envelope_identity(const ta_tenant_t *t, ta_str_t env, int null_sender)
{
    size_t i;

    for (i = 0; i < t->nidentities; i++) {
        const ta_identity_t *id = &t->identities[i];

        if (null_sender) {
            if (id->allow_null_sender)
                return id;
            continue;
        }
        if (id->rewrite_return_path && id->return_path.len)
            return id;  /* the envelope will be replaced anyway */
        if (ta_aligned(env, id->domain, id->alignment)
            || (id->return_path.len && ta_aligned(env, id->return_path, id->alignment)))
            return id;
        if (id->mode == TA_MODE_DELEGATED && id->parent_from
            && ta_aligned(env, parent_domain(id->domain), id->alignment))
            return id;
    }
    return NULL;
}

/* hold_verdict - the provider paused (451) or suspended (550 5.7.1) this mail;
 * 1 when it did. Monitor mode does not lift it: it is the operator's switch. */
static int
hold_verdict(const ta_policy_input_t *in, const ta_identity_t *id, ta_verdict_t *v)
{
    const ta_tenant_t     *t = in->tenant;
    const ta_hold_entry_t *e;
    char                   name[TA_LOCAL_MAX * 4 + TA_DOMAIN_MAX + 2] = "";

    if (in->hold == NULL)
        return 0;
    if (id != NULL && !ta_identity_name(id, name, sizeof(name)))
        name[0] = '\0';
    e = ta_hold_find(in->hold, t->name, ta_str_cstr(name));
    if (e == NULL)
        return 0;
    set_codes(v, e->kind == TA_HOLD_SUSPEND ? TA_REJECT : TA_TEMPFAIL);
    memcpy(v->enhanced, e->kind == TA_HOLD_SUSPEND ? "5.7.1" : "4.7.1", 6);
    v->reason_class = e->kind == TA_HOLD_SUSPEND ? TA_R_SUSPENDED : TA_R_PAUSED;
    if (e->identity.len == 1 && e->identity.data[0] == '*')
        snprintf(v->reason, sizeof(v->reason), "tenant %.*s is %s by the provider: %s", (int) t->name.len,
                 t->name.data, e->kind == TA_HOLD_SUSPEND ? "suspended" : "paused", e->reason.data);
    else
        snprintf(v->reason, sizeof(v->reason), "sending as %s is %s by the provider: %s", e->identity.data,
                 e->kind == TA_HOLD_SUSPEND ? "suspended" : "paused", e->reason.data);
    v->monitor = 0;
    v->nsign = 0;
    v->held = 1;
    return 1;
}

/* the phrase naming a stream's own setting in a reason, by ta_stream_t */
static const char *const stream_why[TA_STREAMS] = {
    " of the transactional stream", " of the broadcast stream"
};

/* cap_verdict - the tenant or its stream sent its hourly cap already (451);
 * 1 when so. Like a hold, monitor mode does not lift it: it is the
 * provider's limit, not an authentication rule. */
static int
cap_verdict(const ta_policy_input_t *in, ta_verdict_t *v)
{
    const ta_tenant_t *t = in->tenant;
    uint64_t           all = 0, cap = t->streams[t->stream].hourly_cap;
    size_t             i;

    if (!in->hour_known)
        return 0;
    for (i = 0; i < TA_STREAMS; i++)
        all += in->hour_sent[i];
    if (cap && in->hour_sent[t->stream] >= cap) {
        set_codes(v, TA_TEMPFAIL);
        snprintf(v->reason, sizeof(v->reason), "tenant %.*s reached the hourly cap of its %s stream: "
                 "%llu messages in the last hour (hourly_cap %llu); try again later", (int) t->name.len,
                 t->name.data, ta_stream_names[t->stream], (unsigned long long) in->hour_sent[t->stream],
                 (unsigned long long) cap);
    } else if (t->hourly_cap && all >= t->hourly_cap) {
        set_codes(v, TA_TEMPFAIL);
        snprintf(v->reason, sizeof(v->reason), "tenant %.*s reached its hourly cap: %llu messages in "
                 "the last hour (hourly_cap %llu); try again later", (int) t->name.len, t->name.data,
                 (unsigned long long) all, (unsigned long long) t->hourly_cap);
    } else {
        return 0;
    }
    v->reason_class = TA_R_HOURLY_CAP;
    v->monitor = 0;
    v->nsign = 0;
    v->rewrite_sender = 0;
    return 1;
}

/* decide_envelope - the MAIL FROM-time check */
static void
decide_envelope(const ta_policy_input_t *in, const ta_address_t *env, ta_verdict_t *v)
{
    const ta_tenant_t   *t = in->tenant;
    const ta_identity_t *id;
    int                  monitor = in->monitor_all || tenant_all_monitor(t);
    ta_str_t             ed = ta_str(env->domain, env->domain_len);

    id = envelope_identity(t, ed, env->null_sender);
    if (id == NULL) {
        if (env->null_sender)
            refuse(v, TA_R_NULL_SENDER, monitor, "null sender is not allowed for tenant %.*s",
                   (int) t->name.len, t->name.data);
        else
            refuse(v, TA_R_ENVELOPE_NOT_OWNED, monitor, "envelope sender domain %s is not a domain of tenant %.*s",
                   env->domain, (int) t->name.len, t->name.data);
        return;
    }
    v->identity = id;
    if (!hold_verdict(in, id, v))
        (void) cap_verdict(in, v);
}

/* decide_message - checks 3 to 11, on the header section */
static void
decide_message(const ta_policy_input_t *in, const ta_address_t *envp,
    const ta_address_t *fromp, const char *from_why, int monitor, ta_verdict_t *v)
{
    const ta_tenant_t       *t = in->tenant;
    const ta_stream_conf_t  *sc = &t->streams[t->stream];
    const ta_identity_t     *id;
    ta_address_t             env = *envp, from = *fromp;
    ta_str_t                 fd, ed = ta_str(env.domain, env.domain_len);
    size_t                   nfrom = ta_headers_count(in->headers, from_name);
    char                     foreign_d[TA_DOMAIN_MAX + 1];
    const ta_key_t          *uk;
    const char              *why;
    int                      ours;

    /* 3. the header section is well formed (8-bit alone is allowed, RFC 6532) */
    if (in->headers->flags & ~(unsigned) TA_HDR_8BIT) {
        unsigned bad = in->headers->flags & ~(unsigned) TA_HDR_8BIT;
        refuse(v, TA_R_HEADER_INVALID, monitor, "message header: %s",
               ta_header_anomaly_text(bad & (~bad + 1)));
        return;
    }

    /* 4. exactly one From: header */
    if (nfrom != 1) {
        refuse(v, TA_R_HEADER_INVALID, monitor, "message has %zu From: headers", nfrom);
        return;
    }

    /* 5. From: holds exactly one mailbox with one unambiguous domain
     * (parsed once, by ta_decide: from_why is its reason when it failed) */
    if (from_why != NULL) {
        refuse(v, TA_R_HEADER_INVALID, monitor, "%s", from_why);
        return;
    }
    fd = ta_str(from.domain, from.domain_len);

    /* 6. the From address is one of the tenant's sending identities */
    id = find_identity(t, &from);
    if (id == NULL) {
        refuse(v, TA_R_FROM_NOT_OWNED, monitor, "From domain %s is not a sending domain of tenant %.*s",
               from.domain, (int) t->name.len, t->name.data);
        return;
    }
    v->identity = id;
    if (hold_verdict(in, id, v))
        return;     /* 6a. the provider paused or suspended it */
    if (id->monitor)
        monitor = 1;

    /* 7. the local part fits the identity's pattern */
    if (!local_part_allowed(id, &from)) {
        refuse(v, TA_R_FROM_NOT_OWNED, monitor, "From local part %s is not allowed for %.*s",
               from.local, (int) id->domain.len, id->domain.data);
        return;
    }

    /* 8. the null sender, only where the identity allows bounces without one */
    if (env.null_sender && !id->allow_null_sender) {
        refuse(v, TA_R_NULL_SENDER, monitor, "null sender is not allowed for %s", from.domain);
        return;
    }

    /* 8a. a DMARC record where the identity or the stream requires one (require_dmarc) */
    if ((why = dmarc_missing(id, sc->require_dmarc, &ours)) != NULL) {
        if (ours)
            defer(v, TA_R_DMARC_UNCHECKED, monitor, "From domain %s %s; require_dmarc is on%s", from.domain,
                  why, id->require_dmarc ? "" : stream_why[t->stream]);
        else
            refuse(v, TA_R_DMARC_MISSING, monitor, "From domain %s %s; this relay requires one "
                   "(require_dmarc%s)", from.domain, why, id->require_dmarc ? "" : stream_why[t->stream]);
        return;
    }

    /* 8b. broadcast mail carries one-click unsubscribe (RFC 8058) */
    if (t->stream == TA_STREAM_BROADCAST && (why = ta_unsub_missing(in->headers)) != NULL) {
        refuse(v, TA_R_UNSUBSCRIBE, monitor, "broadcast message without one-click unsubscribe: %s "
               "(bulk senders must offer it, RFC 8058)", why);
        if (v->action == TA_REJECT)
            memcpy(v->enhanced, "5.7.1", 6);    /* a content rule, not authentication */
        return;
    }

    /* 9. the envelope domain (after any rewrite) is aligned with From */
    if (!env.null_sender) {
        if (id->rewrite_return_path && id->return_path.len) {
            snprintf(v->new_sender, sizeof(v->new_sender), "%.*s@%.*s",
                     (int) env.local_len, env.local,
                     (int) id->return_path.len, id->return_path.data);
            v->rewrite_sender = 1;
            ed = id->return_path;
            copy_domain(v->envelope_domain, ed);
        }
        if (!ta_aligned(ed, fd, spf_alignment(id))) {
            refuse(v, TA_R_NOT_ALIGNED, monitor, "envelope sender domain %.*s is not aligned with From domain %s%s",
                   (int) ed.len, ed.data, from.domain, strict_why(id, id->dmarc_aspf_strict));
            v->rewrite_sender = 0;
            return;
        }
    }

    /* 10. no signature already present for a domain not aligned with From */
    if (foreign_signature(in->headers, fd, dkim_alignment(id), foreign_d)) {
        refuse(v, TA_R_FOREIGN_SIGNATURE, monitor, "message already carries a DKIM-Signature for d=%s, not aligned with From domain %s",
               foreign_d, from.domain);
        return;
    }

    /* 11. at least one active key whose d= is aligned with From */
    plan_signing(id, fd, v);
    if (v->nsign == 0 && (uk = unverified_key(id, fd)) != NULL) {
        /* the key exists but verify has not seen it in DNS (dns_check) */
        defer(v, TA_R_KEY_UNVERIFIED, monitor, "DKIM key d=%.*s s=%.*s is not seen published in DNS: publish it "
              "(tenantalign dns), then run tenantalign verify",
              (int) ta_key_d(uk, id).len, ta_key_d(uk, id).data, (int) uk->selector.len, uk->selector.data);
        return;
    }
    if (v->nsign == 0) {
        refuse(v, TA_R_NO_KEY, monitor, "no active DKIM key aligned with %s%s", from.domain,
               strict_why(id, id->dmarc_adkim_strict));
        return;
    }
}


/* ta_decide - the verdict for one message (or one MAIL FROM) */
void
ta_decide(const ta_policy_input_t *in, ta_verdict_t *v)
{
    const ta_tenant_t       *t = in->tenant;
    const ta_header_field_t *ff;
    ta_address_t             env, from;
    const char              *why = NULL, *from_why = "From: header not parsed";
    size_t                   nfrom;
    int                      monitor = in->monitor_all, env_rc;

    memset(v, 0, sizeof(*v));
    set_codes(v, TA_ACCEPT);
    memcpy(v->subject_domain, "unknown", sizeof("unknown"));
    v->stream = t ? t->stream : TA_STREAM_TRANSACTIONAL;

    /* Best effort first, for the DOMAIN of the first reply line and the log. */
    memset(&env, 0, sizeof(env));
    memset(&from, 0, sizeof(from));
    env_rc = ta_path_parse(in->mail_from.data, in->mail_from.len, &env, &why);
    if (env_rc == TA_OK) {
        memcpy(v->envelope_domain, env.domain, env.domain_len + 1);
        if (!env.null_sender)
            memcpy(v->subject_domain, env.domain, env.domain_len + 1);
    }
    nfrom = in->headers ? ta_headers_count(in->headers, from_name) : 0;
    if (nfrom == 1) {
        ff = ta_headers_find(in->headers, from_name, 0);
        if (ta_from_parse(ff->value.data, ff->value.len, &from, &from_why) == TA_OK) {
            from_why = NULL;
            memcpy(v->from_domain, from.domain, from.domain_len + 1);
            memcpy(v->subject_domain, from.domain, from.domain_len + 1);
        }
    }

    /* 1. the login belongs to a tenant */
    if (t == NULL) {
        if (in->reject_unknown_login && in->login.len == 0)
            refuse(v, TA_R_NO_LOGIN, 0, "no SMTP AUTH login: the message was not authenticated");
        else if (in->reject_unknown_login)
            refuse(v, TA_R_UNKNOWN_LOGIN, 0, "login %.*s is not a tenant of this relay",
                   (int) in->login.len, in->login.data);
        else
            v->monitor = 0;     /* configured to pass: accept, sign nothing */
        return;
    }
    if (tenant_all_monitor(t))
        monitor = 1;

    /* 1a. the provider paused or suspended the whole tenant */
    if (hold_verdict(in, NULL, v))
        return;

    /* 2. the envelope sender parses */
    if (env_rc != TA_OK) {
        refuse(v, TA_R_ENVELOPE_INVALID, monitor, "envelope sender: %s", why);
        return;
    }

    if (in->headers == NULL) {
        decide_envelope(in, &env, v);
        return;
    }

    decide_message(in, &env, &from, from_why, monitor, v);

    /* 12. an acceptance within the hourly caps (the provider's limit) */
    if (v->action == TA_ACCEPT && !v->held && cap_verdict(in, v))
        return;

    /* Monitor mode still signs what it can sign aligned with From. */
    if (v->monitor && v->identity != NULL && v->from_domain[0] != '\0')
        plan_signing(v->identity, ta_str(v->from_domain, strlen(v->from_domain)), v);
}

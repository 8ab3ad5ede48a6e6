/*
 * NAME
 *	ta_dns 3
 * SUMMARY
 *	DNS client for onboarding checks: one query, CNAMEs followed, bounded
 * SYNOPSIS
 *	#include "ta_dns.h"
 * DESCRIPTION
 *	See ta_dns.h. Two halves: the transport (exchange(): UDP tries, the
 *	TCP fallback, one deadline for the whole call) and the answer handling
 *	(parse_packet(): one response, the CNAME walk inside it, the records
 *	out). Names are kept in wire form (dname_t) and compared without case;
 *	they become text only on the way out. query() drives both: it asks,
 *	walks, and asks again for a chain's last target while the walk
 *	(walk_t: the names seen, which makes loops visible) allows.
 * STANDARDS
 *	See ta_dns.h.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <ldns/ldns.h>

#include "ta_dns.h"
#include "ta_str.h"

#define MAX_NS      3           /* resolv.conf's MAXNS */
#define WIRE_MAX    65535       /* one DNS message, UDP or TCP */
#define QUERY_MAX   512         /* a query: header, one name, OPT */
#define EDNS_SIZE   1232        /* the payload size that avoids fragments */

/* a name in wire form, uncompressed */
typedef struct {
    uint8_t o[256];
    size_t  len;
} dname_t;

/* where a CNAME walk stands: the name asked for now and every name seen */
typedef struct {
    dname_t cur;
    dname_t seen[TA_DNS_MAX_CHAIN + 1];
    size_t  nseen;
    int     follow;
    size_t  npkt;               /* responses parsed */
} walk_t;

struct ta_dns {
    struct sockaddr_storage ns[MAX_NS];
    socklen_t               nslen[MAX_NS];
    char                    nsname[MAX_NS][64];
    size_t                  nns;
    unsigned                timeout_ms, tries;
    uint8_t                 buf[WIRE_MAX];
};

/* fail - set why and return rc */
__attribute__((format(printf, 3, 4)))
static ta_dns_rc_t
fail(ta_dns_answer_t *ans, ta_dns_rc_t rc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(ans->why, sizeof(ans->why), fmt, ap);
    va_end(ap);
    return rc;
}

/* note - add a remark to why after what is there (for OK answers) */
__attribute__((format(printf, 2, 3)))
static void
note(ta_dns_answer_t *ans, const char *fmt, ...)
{
    size_t  l = strlen(ans->why);
    va_list ap;

    if (l + 3 >= sizeof(ans->why))
        return;
    if (l > 0) {
        memcpy(ans->why + l, "; ", 3);
        l += 2;
    }
    va_start(ap, fmt);
    vsnprintf(ans->why + l, sizeof(ans->why) - l, fmt, ap);
    va_end(ap);
}

/* ta_dns_rc_name - the result's name, for messages */
const char *
ta_dns_rc_name(ta_dns_rc_t rc)
{
    static const char *const names[] = {
        "OK", "NXDOMAIN", "NODATA", "TEMP", "LOOP", "CHAIN", "BAD"
    };

    return (unsigned) rc < sizeof(names) / sizeof(names[0]) ? names[rc] : "?";
}

/* type_name - a type's mnemonic for messages, or TYPEnn (RFC 3597) */
static const char *
type_name(int type, char buf[24])
{
    switch (type) {
    case TA_DNS_A:     return "A";
    case TA_DNS_NS:    return "NS";
    case TA_DNS_CNAME: return "CNAME";
    case TA_DNS_SOA:   return "SOA";
    case TA_DNS_PTR:   return "PTR";
    case TA_DNS_MX:    return "MX";
    case TA_DNS_TXT:   return "TXT";
    case TA_DNS_AAAA:  return "AAAA";
    }
    snprintf(buf, 24, "TYPE%d", type);
    return buf;
}

/* rcode_name - an rcode's mnemonic for messages */
static const char *
rcode_name(unsigned rcode, char buf[24])
{
    static const char *const names[] = {
        "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"
    };

    if (rcode < sizeof(names) / sizeof(names[0]))
        return names[rcode];
    snprintf(buf, 24, "rcode %u", rcode);
    return buf;
}

/* type_usable - a data type one may ask for: not a meta or question-only
 * type, and not WKS (obsolete, RFC 1123 2.2), whose printing in ldns looks
 * every bit of its bitmap up in /etc/services with getservbyport(): up to
 * 65535 file scans per record, through static buffers */
static int
type_usable(int type)
{
    return type > 0 && type <= 65535 && type != LDNS_RR_TYPE_OPT && type != LDNS_RR_TYPE_WKS
           && !(type >= LDNS_RR_TYPE_TKEY && type <= LDNS_RR_TYPE_ANY);
}

/*
 * Names
 */

/* name_octet_ok - an octet that may stand in a label written as plain text */
static int
name_octet_ok(uint8_t c)
{
    return c > 0x20 && c < 0x7f && c != '.';
}

/* name_from_text - plain octets "a.b.c" (one trailing dot allowed) to wire form */
static int
name_from_text(const char *text, dname_t *n, const char **why)
{
    size_t tl, i, start = 0, pos = 0;

    tl = text ? strnlen(text, 1024) : 0;
    if (tl == 0 || tl == 1024) {
        *why = tl ? "name longer than 255 octets" : "empty name";
        return -1;
    }
    if (tl > 1 && text[tl - 1] == '.')
        tl--;
    for (i = 0; i <= tl; i++) {
        if (i < tl && text[i] != '.') {
            if (!name_octet_ok((uint8_t) text[i])) {
                *why = "name with an octet that is not printable ASCII";
                return -1;
            }
            continue;
        }
        if (i == start || i - start > 63) {
            *why = i == start ? "name with an empty label" : "label longer than 63 octets";
            return -1;
        }
        if (pos + 1 + (i - start) + 1 > 255) {
            *why = "name longer than 255 octets";
            return -1;
        }
        n->o[pos++] = (uint8_t) (i - start);
        memcpy(n->o + pos, text + start, i - start);
        pos += i - start;
        start = i + 1;
    }
    n->o[pos++] = 0;
    n->len = pos;
    return 0;
}

/* name_to_text - wire form to plain lower-case text without the final dot;
 * -1 when a label cannot be written so or the text does not fit */
static int
name_to_text(const uint8_t *w, size_t wl, char *out, size_t size)
{
    size_t p = 0, o = 0, i;

    if (size < 2)
        return -1;
    if (wl >= 1 && w[0] == 0) {
        memcpy(out, ".", 2);
        return 0;
    }
    while (p < wl && w[p] != 0) {
        uint8_t l = w[p++];

        if (l > 63 || l > wl - p || o + l + 1 >= size)
            return -1;
        if (o > 0)
            out[o++] = '.';
        for (i = 0; i < l; i++) {
            uint8_t c = w[p + i];

            if (!name_octet_ok(c))
                return -1;
            out[o++] = (char) (c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
        }
        p += l;
    }
    if (p >= wl)        /* no root label: not a name */
        return -1;
    out[o] = '\0';
    return 0;
}

/* name_eq - two wire names equal without ASCII case (length octets, being
 * at most 63, are never letters) */
static int
name_eq(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
    return ta_str_caseeq(ta_str((const char *) a, al), ta_str((const char *) b, bl));
}

/* rdf_is - an ldns name equals a wire name */
static int
rdf_is(const ldns_rdf *r, const dname_t *n)
{
    return r && ldns_rdf_get_type(r) == LDNS_RDF_TYPE_DNAME
           && name_eq(ldns_rdf_data(r), ldns_rdf_size(r), n->o, n->len);
}

/* rdf_text - an ldns name as text; -1 when it cannot be written */
static int
rdf_text(const ldns_rdf *r, char *out, size_t size)
{
    if (!r || ldns_rdf_get_type(r) != LDNS_RDF_TYPE_DNAME)
        return -1;
    return name_to_text(ldns_rdf_data(r), ldns_rdf_size(r), out, size);
}

/*
 * Answer handling
 */

/* put - append n octets to record i, keeping what fits; len counts all */
static void
put(ta_dns_answer_t *ans, size_t i, const void *p, size_t n)
{
    size_t have = ans->len[i] < sizeof(ans->data[i]) - 1 ? ans->len[i] : sizeof(ans->data[i]) - 1;
    size_t room = sizeof(ans->data[i]) - 1 - have;

    memcpy(ans->data[i] + have, p, n < room ? n : room);
    ans->len[i] += n;
    have = ans->len[i] < sizeof(ans->data[i]) - 1 ? ans->len[i] : sizeof(ans->data[i]) - 1;
    ans->data[i][have] = '\0';
}

/* rr_generic - any other type: ldns's presentation of each field */
static int
rr_generic(const ldns_rr *rr, ta_dns_answer_t *ans, size_t i)
{
    ldns_buffer *b = ldns_buffer_new(256);
    size_t       k;
    int          ok = b != NULL;

    for (k = 0; ok && k < ldns_rr_rd_count(rr); k++) {
        if (k > 0)
            ldns_buffer_printf(b, " ");
        ok = ldns_rdf2buffer_str(b, ldns_rr_rdf(rr, k)) == LDNS_STATUS_OK
             && ldns_buffer_status_ok(b);
    }
    if (ok)
        put(ans, i, ldns_buffer_begin(b), ldns_buffer_position(b));
    ldns_buffer_free(b);
    return ok ? 0 : -1;
}

/* rr_text - record i of the answer from one RR of the type asked for */
static int
rr_text(const ldns_rr *rr, int type, ta_dns_answer_t *ans, size_t i)
{
    const ldns_rdf *f = ldns_rr_rd_count(rr) > 0 ? ldns_rr_rdf(rr, 0) : NULL;
    char            t[1024];
    size_t          k;

    switch (type) {
    case TA_DNS_TXT:
        /* character-strings joined: RFC 7208 3.3, RFC 6376 3.6.2.2 */
        for (k = 0; k < ldns_rr_rd_count(rr); k++) {
            const ldns_rdf *s = ldns_rr_rdf(rr, k);
            const uint8_t  *d = ldns_rdf_data(s);

            if (ldns_rdf_get_type(s) != LDNS_RDF_TYPE_STR || ldns_rdf_size(s) < 1
                || (size_t) d[0] + 1 != ldns_rdf_size(s))
                return -1;
            put(ans, i, d + 1, d[0]);
        }
        return 0;
    case TA_DNS_A:
    case TA_DNS_AAAA:
        if (!f || ldns_rr_rd_count(rr) != 1
            || ldns_rdf_size(f) != (type == TA_DNS_A ? 4u : 16u)
            || !inet_ntop(type == TA_DNS_A ? AF_INET : AF_INET6, ldns_rdf_data(f), t, sizeof(t)))
            return -1;
        put(ans, i, t, strlen(t));
        return 0;
    case TA_DNS_MX:
        if (ldns_rr_rd_count(rr) != 2 || ldns_rdf_size(f) != 2
            || rdf_text(ldns_rr_rdf(rr, 1), t, sizeof(t)) != 0)
            return -1;
        ans->pref[i] = (unsigned) ldns_rdf_data(f)[0] << 8 | ldns_rdf_data(f)[1];
        put(ans, i, t, strlen(t));
        return 0;
    case TA_DNS_CNAME:
    case TA_DNS_NS:
    case TA_DNS_PTR:
        if (ldns_rr_rd_count(rr) != 1 || rdf_text(f, t, sizeof(t)) != 0)
            return -1;
        put(ans, i, t, strlen(t));
        return 0;
    }
    return rr_generic(rr, ans, i);
}

/* collect - the records of type at w->cur, the first TA_DNS_MAX_RRS kept */
static ta_dns_rc_t
collect(const ldns_rr_list *an, int type, const walk_t *w, ta_dns_answer_t *ans)
{
    size_t k, cut = 0;
    char   tb[24];

    for (k = 0; k < ldns_rr_list_rr_count(an); k++) {
        const ldns_rr *rr = ldns_rr_list_rr(an, k);

        if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN || (int) ldns_rr_get_type(rr) != type
            || !rdf_is(ldns_rr_owner(rr), &w->cur))
            continue;
        ans->total++;
        if (ans->n == TA_DNS_MAX_RRS)
            continue;
        if (rr_text(rr, type, ans, ans->n) != 0) {
            ans->n = 0;
            return fail(ans, TA_DNS_BAD, "malformed %s record in the answer", type_name(type, tb));
        }
        if (ans->len[ans->n] >= sizeof(ans->data[0]))
            cut++;
        ans->n++;
    }
    if (ans->total > ans->n) {
        ans->partial = 1;
        note(ans, "%zu %s records, the first %d kept", ans->total, type_name(type, tb),
             TA_DNS_MAX_RRS);
    }
    if (cut) {
        ans->partial = 1;
        note(ans, "%zu records cut to %zu octets", cut, sizeof(ans->data[0]) - 1);
    }
    return TA_DNS_OK;
}

/* referral - an answer that only points at other servers: not
 * authoritative, NS records in authority and no SOA (RFC 1034 4.3.2) */
static int
referral(const ldns_pkt *pkt)
{
    const ldns_rr_list *au = ldns_pkt_authority(pkt);
    size_t              k, ns = 0;

    if (ldns_pkt_aa(pkt))
        return 0;
    for (k = 0; k < ldns_rr_list_rr_count(au); k++) {
        ldns_rr_type t = ldns_rr_get_type(ldns_rr_list_rr(au, k));

        if (t == LDNS_RR_TYPE_SOA)
            return 0;
        ns += t == LDNS_RR_TYPE_NS;
    }
    return ns > 0;
}

/* walk - follow CNAMEs at w->cur inside the answer section; the records
 * of type, the end of the chain, or *more when it leaves the packet */
static ta_dns_rc_t
walk(const ldns_pkt *pkt, int type, walk_t *w, ta_dns_answer_t *ans, int *more)
{
    const ldns_rr_list *an = ldns_pkt_answer(pkt);
    unsigned            rcode = ldns_pkt_get_rcode(pkt);
    size_t              k, links = 0;
    char                cur[256], to[256], tb[24];

    for (;;) {
        const ldns_rr *cname = NULL;
        size_t         match = 0, ncname = 0;

        for (k = 0; k < ldns_rr_list_rr_count(an); k++) {
            const ldns_rr *rr = ldns_rr_list_rr(an, k);
            int            t = (int) ldns_rr_get_type(rr);

            if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN || !rdf_is(ldns_rr_owner(rr), &w->cur))
                continue;
            if (t == type)
                match++;
            else if (t == TA_DNS_CNAME)
                ncname++, cname = rr;
        }
        if (name_to_text(w->cur.o, w->cur.len, cur, sizeof(cur)) != 0)
            return fail(ans, TA_DNS_BAD, "a name in the chain cannot be written as text");
        if (ncname > 1 || (type == TA_DNS_CNAME && match > 1))
            return fail(ans, TA_DNS_BAD, "%.200s has several CNAMEs", cur);
        if (ncname && match)
            return fail(ans, TA_DNS_BAD, "%.200s has a CNAME and %s records", cur,
                        type_name(type, tb));
        if (match) {
            if (rcode == LDNS_RCODE_NXDOMAIN)
                return fail(ans, TA_DNS_BAD, "NXDOMAIN with %s records for %.200s",
                            type_name(type, tb), cur);
            return collect(an, type, w, ans);
        }
        if (ncname) {
            const ldns_rdf *target = ldns_rr_rd_count(cname) == 1 ? ldns_rr_rdf(cname, 0) : NULL;

            if (rdf_text(target, to, sizeof(to)) != 0 || ldns_rdf_size(target) > sizeof(w->cur.o))
                return fail(ans, TA_DNS_BAD, "the CNAME target of %.200s cannot be written as text",
                            cur);
            if (!w->follow) {
                memcpy(ans->cname_chain[0], to, sizeof(to));
                ans->nchain = 1;
                return fail(ans, TA_DNS_NODATA, "%.100s is a CNAME to %.100s (not followed)",
                            cur, to);
            }
            for (k = 0; k < w->nseen; k++)
                if (rdf_is(target, &w->seen[k]))
                    return fail(ans, TA_DNS_LOOP, "CNAME loop: %.100s leads back to %.100s",
                                cur, to);
            if (ans->nchain == TA_DNS_MAX_CHAIN)
                return fail(ans, TA_DNS_CHAIN, "more than %d CNAMEs (at %.200s)",
                            TA_DNS_MAX_CHAIN, cur);
            memcpy(ans->cname_chain[ans->nchain++], to, sizeof(to));
            /* target checked above: a DNAME that fits a dname_t */
            w->cur.len = ldns_rdf_size(target);
            memcpy(w->cur.o, ldns_rdf_data(target), w->cur.len);
            w->seen[w->nseen++] = w->cur;
            links++;
            continue;
        }
        break;
    }
    /* the end of the chain, without records */
    if (rcode == LDNS_RCODE_NXDOMAIN)
        return fail(ans, TA_DNS_NXDOMAIN, "%.200s does not exist", cur);
    if (links > 0) {
        *more = 1;      /* the chain leaves this answer: ask for its end */
        return TA_DNS_OK;
    }
    if (referral(pkt))
        return fail(ans, TA_DNS_TEMP, "the server refers %.150s to other servers: it is not "
                    "authoritative for it and does not recurse", cur);
    return fail(ans, TA_DNS_NODATA, "%.200s has no %s records", cur, type_name(type, tb));
}

/*
 * tsig_records - how many TSIG records ldns_wire2pkt() would take from the
 * additional section of wire. It keeps the last and leaks the others
 * (ldns 1.8.3; NLnetLabs/ldns#317, found by fuzz_dns_answer), so an
 * answer with hundreds of them would leak some 100 octets each. RFC 8945
 * allows one, and a response to our unsigned query has none. The walk is
 * ldns's own record reader over the same positions, so it meets the
 * records ldns_wire2pkt() meets, and like it stops at the first it cannot
 * read (the leak happens before that error too). Two TSIG records need an
 * ARCOUNT of two: most answers are not walked.
 */
static unsigned
tsig_records(const uint8_t *wire, size_t len)
{
    static const ldns_pkt_section sect[4] = {
        LDNS_SECTION_QUESTION, LDNS_SECTION_ANSWER, LDNS_SECTION_AUTHORITY,
        LDNS_SECTION_ADDITIONAL,
    };
    unsigned count[4], s, i, tsig = 0;
    size_t   pos = 12;
    ldns_rr *rr;

    for (s = 0; s < 4; s++)
        count[s] = (unsigned) wire[4 + 2 * s] << 8 | wire[5 + 2 * s];
    if (count[3] < 2)
        return 0;
    for (s = 0; s < 4; s++) {
        for (i = 0; i < count[s]; i++) {
            if (ldns_wire2rr(&rr, wire, len, &pos, sect[s]) != LDNS_STATUS_OK)
                return tsig;
            if (s == 3 && ldns_rr_get_type(rr) == LDNS_RR_TYPE_TSIG) {
                tsig++;
                count[3]--;     /* as ldns_wire2pkt() lowers its arcount */
            }
            ldns_rr_free(rr);
        }
    }
    return tsig;
}

/* parse_packet - one response to (w->cur, type, IN) */
static ta_dns_rc_t
parse_packet(const uint8_t *wire, size_t len, int type, walk_t *w, ta_dns_answer_t *ans,
             int *more)
{
    ldns_pkt      *pkt = NULL;
    ldns_status    st;
    const ldns_rr *q;
    ta_dns_rc_t    rc;
    unsigned       rcode;
    char           rb[24];

    *more = 0;
    if (!wire || len < 12 || len > WIRE_MAX)
        return fail(ans, TA_DNS_BAD, "answer of %zu octets: not a DNS message", len);
    if (tsig_records(wire, len) > 1)
        return fail(ans, TA_DNS_BAD, "malformed answer: more than one TSIG record");
    st = ldns_wire2pkt(&pkt, wire, len);
    if (st != LDNS_STATUS_OK)
        return fail(ans, TA_DNS_BAD, "malformed answer: %s", ldns_get_errorstr_by_id(st));
    q = ldns_pkt_qdcount(pkt) == 1 ? ldns_rr_list_rr(ldns_pkt_question(pkt), 0) : NULL;
    if (!ldns_pkt_qr(pkt) || ldns_pkt_get_opcode(pkt) != LDNS_PACKET_QUERY || !q
        || !rdf_is(ldns_rr_owner(q), &w->cur) || (int) ldns_rr_get_type(q) != type
        || ldns_rr_get_class(q) != LDNS_RR_CLASS_IN) {
        rc = fail(ans, TA_DNS_BAD, "the answer is not a response to the question asked");
        goto done;
    }
    ans->aa = w->npkt++ == 0 ? ldns_pkt_aa(pkt) : ans->aa && ldns_pkt_aa(pkt);
    rcode = ldns_pkt_get_rcode(pkt);
    if (ldns_pkt_edns_extended_rcode(pkt) != 0) {
        rc = fail(ans, TA_DNS_TEMP, "the server answered extended rcode %u",
                  (unsigned) ldns_pkt_edns_extended_rcode(pkt) << 4 | rcode);
        goto done;
    }
    if (rcode != LDNS_RCODE_NOERROR && rcode != LDNS_RCODE_NXDOMAIN) {
        rc = fail(ans, TA_DNS_TEMP, "the server answered %s", rcode_name(rcode, rb));
        goto done;
    }
    rc = walk(pkt, type, w, ans, more);
done:
    ldns_pkt_free(pkt);
    return rc;
}

/* walk_start - a walk from name; checks the question */
static ta_dns_rc_t
walk_start(walk_t *w, const char *name, int type, int follow, ta_dns_answer_t *ans)
{
    const char *why;

    if (!type_usable(type))
        return fail(ans, TA_DNS_BAD, "type %d cannot be asked for", type);
    if (name_from_text(name, &w->cur, &why) != 0)
        return fail(ans, TA_DNS_BAD, "%s", why);
    w->seen[0] = w->cur;
    w->nseen = 1;
    w->follow = follow && type != TA_DNS_CNAME;
    w->npkt = 0;
    return TA_DNS_OK;
}

/* ta_dns_answer_parse - the answer handling alone, on one response */
ta_dns_rc_t
ta_dns_answer_parse(const uint8_t *wire, size_t len, const char *qname, int type,
                    ta_dns_answer_t *ans, char next[256])
{
    walk_t      w;
    ta_dns_rc_t rc;
    int         more = 0;

    memset(ans, 0, sizeof(*ans));
    next[0] = '\0';
    rc = walk_start(&w, qname, type, 1, ans);
    if (rc == TA_DNS_OK)
        rc = parse_packet(wire, len, type, &w, ans, &more);
    if (rc == TA_DNS_OK && more)
        memcpy(next, ans->cname_chain[ans->nchain - 1], 256);
    return rc;
}

/*
 * Transport
 */

/* errtext - strerror, without strerror's shared buffer */
static const char *
errtext(int e, char buf[64])
{
    if (strerror_r(e, buf, 64) != 0)
        snprintf(buf, 64, "error %d", e);
    return buf;
}

/* now_ms - monotonic milliseconds */
static uint64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}

/* wait_fd - until fd is ready for events or until passes: 1 ready, 0 timeout, -1 error */
static int
wait_fd(int fd, short events, uint64_t until)
{
    struct pollfd p;
    uint64_t      now;
    int           r;

    for (;;) {
        now = now_ms();
        if (now >= until)
            return 0;
        p.fd = fd;
        p.events = events;
        p.revents = 0;
        r = poll(&p, 1, (int) (until - now));
        if (r > 0)
            return 1;
        if (r < 0 && errno != EINTR)
            return -1;
    }
}

/* matches - a response to query q (RFC 5452 9.1): the ID, QR, one
 * question, the same name (any case), type and class */
static int
matches(const uint8_t *q, size_t qsect, const uint8_t *r, size_t rl)
{
    if (rl < 12 + qsect || r[0] != q[0] || r[1] != q[1] || !(r[2] & 0x80) || r[4] != 0
        || r[5] != 1)
        return 0;
    return name_eq(r + 12, qsect - 4, q + 12, qsect - 4)
           && memcmp(r + 12 + qsect - 4, q + 12 + qsect - 4, 4) == 0;
}

enum { GOT = 1, TIMEOUT = 0, NETERR = -1 };

/* udp_try - one query over UDP to server i; waits until `until` for a
 * matching datagram, ignoring others */
static int
udp_try(ta_dns_t *d, size_t i, const uint8_t *q, size_t ql, size_t qsect, uint64_t until,
        size_t *rl, int *err)
{
    int     fd, r = TIMEOUT;
    ssize_t n;

    fd = socket(d->ns[i].ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *err = errno;
        return NETERR;
    }
    /* connected: the kernel drops datagrams from other addresses and
     * reports ICMP refusals */
    if (connect(fd, (struct sockaddr *) &d->ns[i], d->nslen[i]) != 0
        || send(fd, q, ql, 0) != (ssize_t) ql) {
        *err = errno;
        close(fd);
        return NETERR;
    }
    for (;;) {
        int w = wait_fd(fd, POLLIN, until);

        if (w <= 0) {
            r = w == 0 ? TIMEOUT : NETERR;
            *err = errno;
            break;
        }
        n = recv(fd, d->buf, sizeof(d->buf), 0);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                continue;
            *err = errno;
            r = NETERR;
            break;
        }
        if (matches(q, qsect, d->buf, (size_t) n)) {
            *rl = (size_t) n;
            r = GOT;
            break;
        }
    }
    close(fd);
    return r;
}

/* io_full - send or receive exactly n octets on a non-blocking stream before until */
static int
io_full(int fd, int out, uint8_t *p, size_t n, uint64_t until, int *err)
{
    size_t  done = 0;
    ssize_t k;

    while (done < n) {
        int w = wait_fd(fd, out ? POLLOUT : POLLIN, until);

        if (w <= 0) {
            *err = w == 0 ? ETIMEDOUT : errno;
            return w == 0 ? TIMEOUT : NETERR;
        }
        k = out ? send(fd, p + done, n - done, MSG_NOSIGNAL) : recv(fd, p + done, n - done, 0);
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            continue;
        if (k <= 0) {
            *err = k == 0 ? ECONNRESET : errno;
            return NETERR;
        }
        done += (size_t) k;
    }
    return GOT;
}

/* tcp_try - the query again over TCP (RFC 7766), everything before until */
static int
tcp_try(ta_dns_t *d, size_t i, const uint8_t *q, size_t ql, size_t qsect, uint64_t until,
        size_t *rl, int *err)
{
    uint8_t   out[2 + QUERY_MAX], len[2];
    int       fd, r, e = 0;
    socklen_t el = sizeof(e);
    size_t    n;

    fd = socket(d->ns[i].ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *err = errno;
        return NETERR;
    }
    if (connect(fd, (struct sockaddr *) &d->ns[i], d->nslen[i]) != 0 && errno != EINPROGRESS) {
        *err = errno;
        close(fd);
        return NETERR;
    }
    r = wait_fd(fd, POLLOUT, until);
    if (r <= 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) != 0 || e != 0) {
        *err = r == 0 ? ETIMEDOUT : e ? e : errno;
        close(fd);
        return r == 0 ? TIMEOUT : NETERR;
    }
    out[0] = (uint8_t) (ql >> 8);
    out[1] = (uint8_t) ql;
    memcpy(out + 2, q, ql);
    r = io_full(fd, 1, out, ql + 2, until, err);
    if (r == GOT)
        r = io_full(fd, 0, len, 2, until, err);
    if (r == GOT) {
        n = (size_t) len[0] << 8 | len[1];
        r = io_full(fd, 0, d->buf, n, until, err);
        if (r == GOT && !matches(q, qsect, d->buf, n)) {
            *err = EPROTO;
            r = NETERR;
        }
        *rl = n;
    }
    close(fd);
    return r;
}

/* build_query - the query message for (name, type, IN) with RD and EDNS */
static int
build_query(const dname_t *name, int type, uint8_t *q, size_t *ql)
{
    ldns_rdf *owner = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, name->len, name->o);
    ldns_pkt *pkt;
    uint8_t  *w = NULL;
    size_t    wl = 0;
    int       ok;

    if (!owner)
        return -1;
    pkt = ldns_pkt_query_new(owner, (ldns_rr_type) type, LDNS_RR_CLASS_IN, LDNS_RD);
    if (!pkt)
        return -1;
    ldns_pkt_set_edns_udp_size(pkt, EDNS_SIZE);
    ok = ldns_pkt2wire(&w, pkt, &wl) == LDNS_STATUS_OK && wl >= 12 + name->len + 4
         && wl <= QUERY_MAX;
    if (ok) {
        memcpy(q, w, wl);
        *ql = wl;
    }
    free(w);
    ldns_pkt_free(pkt);
    return ok ? 0 : -1;
}

/* exchange - ask for (name, type) until an answer matches or deadline
 * passes; the answer is in d->buf[0..*rl) */
static ta_dns_rc_t
exchange(ta_dns_t *d, const dname_t *name, int type, uint64_t deadline, ta_dns_answer_t *ans,
         size_t *rl)
{
    uint8_t  q[QUERY_MAX];
    size_t   ql, qsect = name->len + 4, i = 0;
    unsigned t, timeouts = 0, refusals = 0;
    uint64_t now, until;
    int      r, err = 0;
    char     rb[24], eb[64];

    if (build_query(name, type, q, &ql) != 0)
        return fail(ans, TA_DNS_TEMP, "cannot build the query");
    for (t = 0; t < d->tries; t++) {
        now = now_ms();
        if (now >= deadline)
            break;
        until = now + d->timeout_ms < deadline ? now + d->timeout_ms : deadline;
        i = t % d->nns;
        if (getrandom(q, 2, 0) != 2)        /* a fresh ID for every try */
            return fail(ans, TA_DNS_TEMP, "no random numbers: %s", errtext(errno, eb));
        r = udp_try(d, i, q, ql, qsect, until, rl, &err);
        if (r == TIMEOUT) {
            timeouts++;
            continue;
        }
        if (r == NETERR) {
            refusals += err == ECONNREFUSED;
            if (err != ECONNREFUSED)
                return fail(ans, TA_DNS_TEMP, "%s: %s", d->nsname[i], errtext(err, eb));
            continue;
        }
        if (d->buf[2] & 0x02) {             /* TC: the whole answer over TCP */
            r = tcp_try(d, i, q, ql, qsect, deadline, rl, &err);
            if (r != GOT)
                return fail(ans, TA_DNS_TEMP, "%s truncated the answer, and over TCP: %s",
                            d->nsname[i], r == TIMEOUT ? "no answer in time" : errtext(err, eb));
            ans->tcp = 1;
        }
        /* another nameserver may do better than a SERVFAIL or REFUSED */
        if (((d->buf[3] & 0x0f) == LDNS_RCODE_SERVFAIL || (d->buf[3] & 0x0f) == LDNS_RCODE_REFUSED)
            && d->nns > 1 && t + 1 < d->tries) {
            snprintf(ans->why, sizeof(ans->why), "%s answered %s", d->nsname[i],
                     rcode_name(d->buf[3] & 0x0f, rb));
            continue;
        }
        return TA_DNS_OK;
    }
    if (timeouts == 0 && refusals > 0)
        return fail(ans, TA_DNS_TEMP, "%s refused the query (nothing listens on the port)",
                    d->nsname[i]);
    if (ans->why[0] && timeouts == 0)
        return TA_DNS_TEMP;
    if (t == 0)         /* the earlier questions of a CNAME chain took it all */
        return fail(ans, TA_DNS_TEMP, "no time left to ask %s within %u ms", d->nsname[0],
                    d->timeout_ms * d->tries);
    return fail(ans, TA_DNS_TEMP, "no answer from %s%s in %u tries of %u ms", d->nsname[0],
                d->nns > 1 ? " and the other nameservers" : "", t, d->timeout_ms);
}

/* query - ask, walk the answer, ask again for a chain's end */
static ta_dns_rc_t
query(ta_dns_t *d, const char *name, int type, int follow, ta_dns_answer_t *ans)
{
    walk_t      w;
    ta_dns_rc_t rc;
    uint64_t    deadline;
    size_t      rl = 0, asked;
    int         more = 0;

    memset(ans, 0, sizeof(*ans));
    if (!d)
        return fail(ans, TA_DNS_BAD, "no client");
    rc = walk_start(&w, name, type, follow, ans);
    deadline = now_ms() + (uint64_t) d->timeout_ms * d->tries;
    /* every further question follows a new CNAME: at most MAX_CHAIN more */
    for (asked = 0; rc == TA_DNS_OK && asked <= TA_DNS_MAX_CHAIN; asked++) {
        rc = exchange(d, &w.cur, type, deadline, ans, &rl);
        if (rc != TA_DNS_OK)
            break;
        ans->why[0] = '\0';
        rc = parse_packet(d->buf, rl, type, &w, ans, &more);
        if (!more)
            return rc;
    }
    if (rc == TA_DNS_OK)        /* cannot happen: the walk stops at MAX_CHAIN */
        rc = fail(ans, TA_DNS_CHAIN, "more than %d CNAMEs", TA_DNS_MAX_CHAIN);
    return rc;
}

/* ta_dns_query - one query, CNAMEs followed */
ta_dns_rc_t
ta_dns_query(ta_dns_t *d, const char *name, int type, ta_dns_answer_t *ans)
{
    return query(d, name, type, 1, ans);
}

/* ta_dns_query_raw - one query, CNAMEs not followed */
ta_dns_rc_t
ta_dns_query_raw(ta_dns_t *d, const char *name, int type, ta_dns_answer_t *ans)
{
    return query(d, name, type, 0, ans);
}

/*
 * Set-up
 */

/* add_server - one nameserver from an address (4 or 16 octets) and port */
static void
add_server(ta_dns_t *d, const void *addr, size_t alen, unsigned port)
{
    struct sockaddr_in  *s4 = (struct sockaddr_in *) &d->ns[d->nns];
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *) &d->ns[d->nns];
    int                  v6 = alen == 16;
    char                 t[INET6_ADDRSTRLEN];

    memset(&d->ns[d->nns], 0, sizeof(d->ns[0]));
    if (v6) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t) port);
        memcpy(&s6->sin6_addr, addr, 16);
        d->nslen[d->nns] = sizeof(*s6);
    } else {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t) port);
        memcpy(&s4->sin_addr, addr, 4);
        d->nslen[d->nns] = sizeof(*s4);
    }
    inet_ntop(v6 ? AF_INET6 : AF_INET, addr, t, sizeof(t));
    snprintf(d->nsname[d->nns], sizeof(d->nsname[0]), "%s%s%s:%u", v6 ? "[" : "", t,
             v6 ? "]" : "", port);
    d->nns++;
}

/* parse_server - "IP", "IP:PORT", "[IPv6]:PORT", "[IPv6]" or a bare IPv6 address */
static int
parse_server(ta_dns_t *d, const char *s)
{
    char           host[INET6_ADDRSTRLEN + 1];
    const char    *colon, *port = NULL, *h = s;
    size_t         hl, k;
    unsigned       p = 53;
    unsigned char  a[16];

    if (strnlen(s, 80) == 80)
        return -1;
    colon = strrchr(s, ':');
    if (s[0] == '[') {
        const char *end = strchr(s, ']');

        if (!end || (end[1] != '\0' && end[1] != ':'))
            return -1;
        h = s + 1;
        hl = (size_t) (end - h);
        port = end[1] == ':' ? end + 2 : NULL;
    } else if (colon && strchr(s, ':') == colon) {     /* one colon: IPv4:PORT */
        hl = (size_t) (colon - s);
        port = colon + 1;
    } else {
        hl = strlen(s);
    }
    if (hl == 0 || hl >= sizeof(host))
        return -1;
    memcpy(host, h, hl);
    host[hl] = '\0';
    if (port) {
        for (p = 0, k = 0; port[k]; k++) {
            if (port[k] < '0' || port[k] > '9' || k >= 5)
                return -1;
            p = p * 10 + (unsigned) (port[k] - '0');
        }
        if (k == 0 || p == 0 || p > 65535)
            return -1;
    }
    if (s[0] != '[' && inet_pton(AF_INET, host, a) == 1)
        add_server(d, a, 4, p);
    else if (inet_pton(AF_INET6, host, a) == 1 && (s[0] == '[' || !port))
        add_server(d, a, 16, p);
    else
        return -1;
    return 0;
}

/* system_servers - the nameservers of /etc/resolv.conf, as ldns reads it */
static int
system_servers(ta_dns_t *d, char *err, size_t errlen)
{
    ldns_resolver *r = NULL;
    ldns_status    st = ldns_resolver_new_frm_file(&r, NULL);
    size_t         k;

    if (st != LDNS_STATUS_OK) {
        snprintf(err, errlen, "cannot read the system's resolvers: %s",
                 ldns_get_errorstr_by_id(st));
        return -1;
    }
    for (k = 0; k < ldns_resolver_nameserver_count(r) && d->nns < MAX_NS; k++) {
        const ldns_rdf *a = ldns_resolver_nameservers(r)[k];

        if ((ldns_rdf_get_type(a) == LDNS_RDF_TYPE_A && ldns_rdf_size(a) == 4)
            || (ldns_rdf_get_type(a) == LDNS_RDF_TYPE_AAAA && ldns_rdf_size(a) == 16))
            add_server(d, ldns_rdf_data(a), ldns_rdf_size(a), ldns_resolver_port(r));
    }
    ldns_resolver_deep_free(r);
    if (d->nns == 0) {
        snprintf(err, errlen, "no nameserver in the system's resolver configuration");
        return -1;
    }
    return 0;
}

/* ta_dns_new - a client for server (NULL: the system's resolvers) */
ta_dns_t *
ta_dns_new(const char *server, unsigned timeout_ms, unsigned tries, char *err, size_t errlen)
{
    ta_dns_t *d = calloc(1, sizeof(*d));
    char      none[1];

    if (!err || errlen == 0) {
        err = none;
        errlen = sizeof(none);
    }
    if (!d) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    d->timeout_ms = timeout_ms == 0 ? 2000 : timeout_ms > 60000 ? 60000 : timeout_ms;
    d->tries = tries == 0 ? 2 : tries > 10 ? 10 : tries;
    if (server ? parse_server(d, server) != 0 : system_servers(d, err, errlen) != 0) {
        if (server)
            snprintf(err, errlen, "not a server address (IP, IP:PORT or [IPv6]:PORT): %.80s",
                     server);
        free(d);
        return NULL;
    }
    return d;
}

/* ta_dns_free - release a client */
void
ta_dns_free(ta_dns_t *d)
{
    free(d);
}

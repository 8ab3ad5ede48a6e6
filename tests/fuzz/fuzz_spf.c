/*
 * fuzz_spf - check_host over a small fake zone built from the input.
 *
 * Input: a first line "ADDRESS[ SENDER]" (a default IPv4 address when it
 * does not parse), then lines "NTRpayload": N a name slot ('0'-'7', mod
 * 8: the names 0.t ... 7.t), T the type (T A 6 M P, others mod 5), R the
 * rcode ('0'-'3', mod 4), payload the answers, separated by "|". Lines
 * for one slot and type add answers. A query for another name takes the
 * slot its hash picks; PTR queries take the slot of their own line
 * whatever the name. Flags in the rcode byte's high bits make the
 * resolver misbehave: fill a row with no NUL, or, having written max
 * answers, claim more.
 *
 * The check runs on 0.t twice. Asserted: the result is in the enum; at
 * most 10 lookups and 3 void lookups (the third a permerror); at most
 * TA_SPF_MAX_QUERIES resolver calls, each for a name that keeps the
 * contract (1-253 octets of printable ASCII or SP, labels of 1-63, no
 * trailing dot); why and record NUL-terminated; both runs identical.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ta_spf.h"

#define SLOTS 8
#define TYPES 5
#define ROWS  16

typedef struct {
    int         rcode, set, full, overclaim;
    size_t      n;
    const char *row[ROWS];
    size_t      len[ROWS];
} rrset_t;

static rrset_t  zone[SLOTS][TYPES];
static unsigned calls;

/* slot_of - the slot a query name maps to */
static size_t
slot_of(const char *name)
{
    uint32_t h = 2166136261u;

    if (name[0] >= '0' && name[0] <= '7' && strcmp(name + 1, ".t") == 0)
        return (size_t) (name[0] - '0');
    for (; *name; name++)
        h = (h ^ (unsigned char) *name) * 16777619u;
    return h % SLOTS;
}

/* check_name - the names check_host passes keep the resolver contract */
static void
check_name(const char *name)
{
    size_t n = strnlen(name, 300), i, label = 0;

    if (n == 0 || n > 253 || name[n - 1] == '.')
        abort();
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char) name[i];

        if (c == '.') {
            if (label == 0)
                abort();
            label = 0;
        } else if (c < 0x20 || c > 0x7e || ++label > 63)
            abort();
    }
}

/* resolve - answers from the fuzzed zone */
static ta_spf_rcode_t
resolve(void *ctx, ta_spf_qtype_t type, const char *name, char out[][TA_SPF_ROW], size_t max, size_t *n)
{
    rrset_t *rr = NULL;
    size_t   i, s, l;

    (void) ctx;
    calls++;
    check_name(name);
    if ((unsigned) type >= TYPES || max == 0)
        abort();
    if (type == TA_SPF_Q_PTR) {
        for (s = 0; s < SLOTS && rr == NULL; s++)
            if (zone[s][type].set)
                rr = &zone[s][type];
    } else
        rr = &zone[slot_of(name)][type];
    *n = 0;
    if (rr == NULL || !rr->set)
        return TA_SPF_R_NXDOMAIN;
    for (i = 0; i < rr->n && i < max; i++) {
        l = rr->len[i] < TA_SPF_ROW - 1 ? rr->len[i] : TA_SPF_ROW - 1;
        memcpy(out[i], rr->row[i], l);
        if (rr->full) {
            memset(out[i] + l, 'x', TA_SPF_ROW - l);     /* no NUL at all */
        } else
            out[i][l] = '\0';
    }
    *n = rr->overclaim && i == max ? max + 3 : i;    /* only rows written are claimed */
    return (ta_spf_rcode_t) rr->rcode;
}

/* build - the zone from the input lines after the first */
static void
build(const char *p, size_t size, size_t start)
{
    static const char types[] = "TA6MP";
    size_t            i, end, a;

    memset(zone, 0, sizeof(zone));
    while (start < size) {
        const char *nl = memchr(p + start, '\n', size - start);
        rrset_t    *rr;
        const char *t;

        end = nl ? (size_t) (nl - p) : size;
        if (end - start >= 3) {
            t = memchr(types, p[start + 1], 5);
            rr = &zone[(unsigned char) p[start] % SLOTS][t ? t - types : (unsigned char) p[start + 1] % TYPES];
            rr->set = 1;
            rr->rcode = (unsigned char) p[start + 2] % 4;
            rr->full = (p[start + 2] & 0x40) != 0;
            rr->overclaim = (p[start + 2] & 0x80) != 0;
            for (i = start + 3, a = i; i <= end && rr->n < ROWS; i++) {
                if (i < end && p[i] != '|')
                    continue;
                rr->row[rr->n] = p + a;
                rr->len[rr->n++] = i - a;
                a = i + 1;
            }
        }
        start = end + 1;
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ta_spf_outcome_t o1, o2;
    const char             *p = (const char *) data, *nl = memchr(p, '\n', size), *sp;
    char                    first[512], *sender = NULL;
    size_t                  flen = nl ? (size_t) (nl - p) : size;
    ta_ip_t                 ip;
    unsigned                c1;

    if (flen >= sizeof(first))
        flen = sizeof(first) - 1;
    memcpy(first, p, flen);
    first[flen] = '\0';
    if ((sp = memchr(first, ' ', flen)) != NULL) {
        first[sp - first] = '\0';
        sender = first + (sp - first) + 1;
    }
    if (ta_ip_parse(first, &ip) != TA_OK)
        ta_ip_parse("192.0.2.1", &ip);
    build(p, size, nl ? flen + 1 : size);
    calls = 0;
    ta_spf_check("0.t", &ip, sender, resolve, NULL, &o1);
    c1 = calls;
    calls = 0;
    ta_spf_check("0.t", &ip, sender, resolve, NULL, &o2);
    if ((unsigned) o1.result > TA_SPF_PERMERROR || o1.lookups > TA_SPF_MAX_LOOKUPS
        || o1.void_lookups > TA_SPF_MAX_VOID + 1
        || (o1.void_lookups > TA_SPF_MAX_VOID && o1.result != TA_SPF_PERMERROR)
        || c1 > TA_SPF_MAX_QUERIES
        || memchr(o1.why, '\0', sizeof(o1.why)) == NULL || o1.why[0] == '\0'
        || memchr(o1.record, '\0', sizeof(o1.record)) == NULL)
        abort();
    if (o1.result != o2.result || o1.lookups != o2.lookups || o1.void_lookups != o2.void_lookups
        || c1 != calls || strcmp(o1.why, o2.why) != 0 || strcmp(o1.record, o2.record) != 0)
        abort();
    return 0;
}

/*
 * fuzz_dns_answer - the DNS answer handling on any octets: the first octet
 * picks the question name (its low four bits: one of the names the knot
 * zones of tests/unit/test_dns.c hold, so that its captured answers seed
 * this) and one more type to try (its high four bits), the rest is the
 * response, read for each type. Nothing may crash, leak or read
 * out of bounds, and what comes back is bounded and consistent: counts
 * within their arrays, every string terminated inside its buffer, names
 * in plain lower-case text, "next" only with an OK answer that ends in it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ta_dns.h"

#include "dns_seed_names.h"

static const int types[] = {
    TA_DNS_TXT, TA_DNS_A, TA_DNS_AAAA, TA_DNS_MX, TA_DNS_CNAME, TA_DNS_NS, TA_DNS_SOA, TA_DNS_PTR,
};

/* types printed by ldns's generic path: SRV, NAPTR, LOC, APL, DS, SSHFP,
 * IPSECKEY, RRSIG, NSEC, DNSKEY, NSEC3, TLSA, HIP, SVCB, HTTPS, CAA */
static const int extra[16] = { 33, 35, 29, 42, 43, 44, 45, 46, 47, 48, 50, 52, 55, 64, 65, 257 };

static ta_dns_answer_t ans;

/* plain_name - a name as the module writes it: printable, no upper case, no space */
static void
plain_name(const char *s, size_t size)
{
    size_t n = strnlen(s, size), i;

    if (n == 0 || n == size)
        abort();
    for (i = 0; i < n; i++)
        if ((unsigned char) s[i] <= 0x20 || (unsigned char) s[i] >= 0x7f
            || (s[i] >= 'A' && s[i] <= 'Z'))
            abort();
}

/* check - the answer is bounded and consistent with rc and next */
static void
check(ta_dns_rc_t rc, int type, const char *next)
{
    size_t i, keep;

    if ((unsigned) rc > TA_DNS_BAD || ans.n > TA_DNS_MAX_RRS || ans.total < ans.n
        || ans.nchain > TA_DNS_MAX_CHAIN || strnlen(ans.why, sizeof(ans.why)) == sizeof(ans.why)
        || strnlen(next, 256) == 256)
        abort();
    if (rc != TA_DNS_OK && (ans.why[0] == '\0' || ans.n != 0 || next[0] != '\0'))
        abort();
    if (rc == TA_DNS_OK && next[0] == '\0' && ans.n == 0)
        abort();
    if (next[0] != '\0' && (ans.n != 0 || ans.nchain == 0
                            || strcmp(next, ans.cname_chain[ans.nchain - 1]) != 0))
        abort();
    if (ans.partial != (ans.total > ans.n || ans.why[0] != '\0') && rc == TA_DNS_OK)
        abort();
    for (i = 0; i < ans.nchain; i++)
        plain_name(ans.cname_chain[i], sizeof(ans.cname_chain[i]));
    for (i = 0; i < ans.n; i++) {
        keep = ans.len[i] < sizeof(ans.data[i]) ? ans.len[i] : sizeof(ans.data[i]) - 1;
        if (ans.data[i][keep] != '\0')
            abort();
        if (type != TA_DNS_TXT && strlen(ans.data[i]) != keep)
            abort();
        if (type == TA_DNS_MX || type == TA_DNS_CNAME || type == TA_DNS_NS || type == TA_DNS_PTR)
            plain_name(ans.data[i], sizeof(ans.data[i]));
        if (type != TA_DNS_MX && ans.pref[i] != 0)
            abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *qname;
    char        next[256];
    size_t      t;
    int         type;

    if (size < 1)
        return 0;
    qname = dns_seed_names[data[0] % (sizeof(dns_seed_names) / sizeof(dns_seed_names[0]))];
    for (t = 0; t <= sizeof(types) / sizeof(types[0]); t++) {
        type = t < sizeof(types) / sizeof(types[0]) ? types[t] : extra[data[0] >> 4];
        check(ta_dns_answer_parse(data + 1, size - 1, qname, type, &ans, next), type, next);
    }
    return 0;
}

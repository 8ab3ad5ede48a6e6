/*
 * NAME
 *	ta_orgdomain 3
 * SUMMARY
 *	organizational domains (Public Suffix List) and DMARC alignment
 * DESCRIPTION
 *	See ta_orgdomain.h. libpsl does the suffix matching; it wants a
 *	NUL-terminated string, so the domain is copied to a bounded buffer.
 *	Its answers are cached per thread (below).
 */
#include <libpsl.h>
#include <pthread.h>
#include <string.h>

#include "ta_domain.h"
#include "ta_orgdomain.h"

static const psl_ctx_t *psl;
static pthread_once_t psl_once = PTHREAD_ONCE_INIT;

/* psl_load - prefer Debian's publicsuffix data, else libpsl's built-in copy */
static void
psl_load(void)
{
    psl = psl_latest(NULL);
    if (psl == NULL)
        psl = psl_builtin();
}

/* ta_psl_ready - load the list once; 1 when it is usable */
int
ta_psl_ready(void)
{
    pthread_once(&psl_once, psl_load);
    return psl != NULL;
}

/*
 * A process asks about the same few domains again and again (a tenant's
 * From: domain, its return path; each alignment check asks twice), and a
 * suffix search walks the list: the latest answers are kept,
 * per thread so that no lock is taken, in a small table indexed by a hash
 * of the name. An answer is the length of the organizational domain, the
 * name's own tail, so it holds for any copy of the same bytes.
 */
#define ORG_SLOTS 64

typedef struct {
    unsigned short len;             /* of name; 0: an empty slot */
    unsigned short org_len;         /* 0: no organizational domain */
    char           name[TA_DOMAIN_MAX];
} org_slot_t;

static _Thread_local org_slot_t org_cache[ORG_SLOTS];

/* org_search - the organizational domain's length from libpsl; 0 if none */
static size_t
org_search(ta_str_t domain)
{
    char        buf[TA_DOMAIN_MAX + 1];
    const char *reg;

    memcpy(buf, domain.data, domain.len);
    buf[domain.len] = '\0';
    if (memchr(buf, '\0', domain.len) != NULL)
        return 0;
    reg = psl_registrable_domain(psl, buf);
    /* reg is a suffix of buf */
    return reg == NULL ? 0 : strlen(reg);
}

/* ta_orgdomain - public suffix plus one label */
int
ta_orgdomain(ta_str_t domain, ta_str_t *org)
{
    org_slot_t *slot;
    size_t      n;

    *org = domain;
    if (domain.len == 0 || domain.len > TA_DOMAIN_MAX || !ta_psl_ready())
        return TA_NOTFOUND;
    slot = &org_cache[ta_str_hash(domain) % ORG_SLOTS];
    if (slot->len == domain.len && memcmp(slot->name, domain.data, domain.len) == 0) {
        n = slot->org_len;
    } else {
        n = org_search(domain);
        slot->len = (unsigned short) domain.len;
        slot->org_len = (unsigned short) n;
        memcpy(slot->name, domain.data, domain.len);
    }
    if (n == 0)
        return TA_NOTFOUND;
    /* point at the same bytes of the caller's string */
    org->data = domain.data + domain.len - n;
    org->len = n;
    return TA_OK;
}

/* ta_domain_within - domain equals ancestor or is below it */
int
ta_domain_within(ta_str_t domain, ta_str_t ancestor)
{
    size_t off;

    if (ancestor.len == 0 || domain.len < ancestor.len)
        return 0;
    off = domain.len - ancestor.len;
    if (!ta_str_caseeq(ta_str(domain.data + off, ancestor.len), ancestor))
        return 0;
    return off == 0 || domain.data[off - 1] == '.';
}

/* ta_aligned - DMARC identifier alignment of two domains */
int
ta_aligned(ta_str_t a, ta_str_t b, ta_align_t mode)
{
    ta_str_t oa, ob;

    if (a.len == 0 || b.len == 0)
        return 0;
    if (ta_str_caseeq(a, b))
        return 1;
    if (mode == TA_ALIGN_STRICT)
        return 0;
    ta_orgdomain(a, &oa);
    ta_orgdomain(b, &ob);
    return ta_str_caseeq(oa, ob);
}

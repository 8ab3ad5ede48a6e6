/*
 * NAME
 *	ta_orgdomain 3
 * SUMMARY
 *	organizational domains (Public Suffix List) and DMARC alignment
 * DESCRIPTION
 *	See ta_orgdomain.h. libpsl does the suffix matching; it wants a
 *	NUL-terminated string, so the domain is copied to a bounded buffer.
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

/* ta_orgdomain - public suffix plus one label */
int
ta_orgdomain(ta_str_t domain, ta_str_t *org)
{
    char        buf[TA_DOMAIN_MAX + 1];
    const char *reg;
    size_t      n;

    *org = domain;
    if (domain.len == 0 || domain.len > TA_DOMAIN_MAX || !ta_psl_ready())
        return TA_NOTFOUND;
    memcpy(buf, domain.data, domain.len);
    buf[domain.len] = '\0';
    if (memchr(buf, '\0', domain.len) != NULL)
        return TA_NOTFOUND;
    reg = psl_registrable_domain(psl, buf);
    if (reg == NULL)
        return TA_NOTFOUND;
    n = strlen(reg);
    /* reg is a suffix of buf; point at the same bytes of the caller's string */
    org->data = domain.data + (size_t) (reg - buf);
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

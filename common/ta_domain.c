/*
 * NAME
 *	ta_domain 3
 * SUMMARY
 *	domain syntax check and normalisation to lower-case A-labels
 * DESCRIPTION
 *	See ta_domain.h. ASCII domains are checked here (the common case costs
 *	no allocation); libidn2 handles anything with a U-label or A-label.
 */
#include <idn2.h>
#include <stdlib.h>
#include <string.h>

#include "ta_domain.h"

/* ldh_label_ok - letters, digits, hyphens; no hyphen at either end */
static int
ldh_label_ok(const char *p, size_t n)
{
    size_t i;

    if (n == 0 || n > 63 || p[0] == '-' || p[n - 1] == '-')
        return 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char) p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '-'))
            return 0;
    }
    return 1;
}

/* ta_domain_normalize - check a domain and write it as lower-case A-labels */
int
ta_domain_normalize(const char *in, size_t len, char *out, size_t outsize,
    size_t *outlen, const char **why)
{
    char    buf[4 * TA_DOMAIN_MAX + 1];
    char   *ascii = NULL;
    size_t  i, start, n;
    int     eightbit = 0, has_alabel = 0, rc;

    if (len == 0) {
        *why = "empty domain";
        return TA_EINPUT;
    }
    if (in[0] == '[') {
        *why = "address literals are not accepted as domains";
        return TA_EINPUT;
    }
    if (len >= sizeof(buf)) {
        *why = "domain is too long";
        return TA_EINPUT;
    }
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char) in[i];
        if (c == 0) {
            *why = "domain contains a NUL byte";
            return TA_EINPUT;
        }
        if (c >= 0x80)
            eightbit = 1;
        else if (c <= 0x20 || c == 0x7f) {
            *why = "domain contains whitespace or a control character";
            return TA_EINPUT;
        }
    }
    if (in[0] == '.' || in[len - 1] == '.') {
        *why = "domain starts or ends with a dot";
        return TA_EINPUT;
    }

    if (!eightbit) {
        /* Plain ASCII: LDH check label by label, then lower-case. */
        for (start = 0, i = 0; i <= len; i++) {
            if (i < len && in[i] != '.')
                continue;
            n = i - start;
            if (n == 0) {
                *why = "domain has an empty label";
                return TA_EINPUT;
            }
            if (!ldh_label_ok(in + start, n)) {
                *why = "domain label is not letters, digits and hyphens";
                return TA_EINPUT;
            }
            if (n >= 4 && (in[start] | 0x20) == 'x' && (in[start + 1] | 0x20) == 'n'
                && in[start + 2] == '-' && in[start + 3] == '-')
                has_alabel = 1;
            start = i + 1;
        }
        if (len > TA_DOMAIN_MAX || len + 1 > outsize) {
            *why = "domain is too long";
            return TA_EINPUT;
        }
        for (i = 0; i < len; i++) {
            unsigned char c = (unsigned char) in[i];
            out[i] = (char) ((c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c);
        }
        out[len] = '\0';
        *outlen = len;
        if (!has_alabel)
            return TA_OK;
        /* An A-label must be a valid punycode encoding of a valid U-label. */
        rc = idn2_lookup_ul(out, &ascii, IDN2_NONTRANSITIONAL);
        if (rc != IDN2_OK) {
            *why = "domain has an invalid A-label (xn--)";
            return TA_EINPUT;
        }
        rc = strcmp(ascii, out) != 0;
        idn2_free(ascii);
        if (rc) {
            *why = "domain has a non-canonical A-label (xn--)";
            return TA_EINPUT;
        }
        return TA_OK;
    }

    /*
     * UTF-8: plain IDNA 2008, no UTS 46 mapping. Mapping would silently drop
     * or change characters (U+200B and U+FEFF vanish, U+2000 becomes a
     * space), so the domain a mail client shows could differ from the one
     * checked here; a gate refuses instead. ASCII case is folded first.
     */
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char) in[i];
        buf[i] = (char) ((c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c);
    }
    buf[len] = '\0';
    rc = idn2_lookup_u8((const uint8_t *) buf, (uint8_t **) &ascii, IDN2_NO_TR46);
    if (rc != IDN2_OK) {
        *why = "internationalised domain is not valid IDNA (look-alike or invisible characters?)";
        return TA_EINPUT;
    }
    n = strlen(ascii);
    if (n == 0 || n > TA_DOMAIN_MAX || n + 1 > outsize) {
        idn2_free(ascii);
        *why = "domain is too long";
        return TA_EINPUT;
    }
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char) ascii[i];
        out[i] = (char) ((c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c);
    }
    out[n] = '\0';
    idn2_free(ascii);
    /* The converted form must itself be a well-formed LDH name. */
    for (start = 0, i = 0; i <= n; i++) {
        if (i < n && out[i] != '.')
            continue;
        if (!ldh_label_ok(out + start, i - start)) {
            *why = "internationalised domain converts to an invalid name";
            return TA_EINPUT;
        }
        start = i + 1;
    }
    *outlen = n;
    return TA_OK;
}

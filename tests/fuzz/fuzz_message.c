/*
 * fuzz_message - a whole message through the header parser and the pure
 * decision, as tenant acme; the first line is the MAIL FROM argument. An
 * acceptance must carry a signing plan aligned with a parsed From.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ta_orgdomain.h"
#include "ta_policy.h"

#define S(lit) TA_STR_LIT(lit)
static const ta_key_t keys[] = {
    { S("s1"), TA_STR_NULL, S("/k/a.pem"), TA_ALG_RSA_SHA256, TA_KEY_ACTIVE },
};
static const ta_identity_t ids[] = {
    { TA_MODE_DOMAIN, S("acme.example"), S(""), S("bounces.acme.example"), S(""), TA_ALIGN_RELAXED, 0, 0, 0, 0, 0, 1, keys, TA_DELEG_MANUAL, 1, 0, 0 },
    { TA_MODE_DELEGATED, S("email.initech.example"), S(""), S(""), S("news|billing"), TA_ALIGN_RELAXED, 0, 1, 1, 0, 0, 1, keys, TA_DELEG_MANUAL, 1, 0, 0 },
};
static const ta_tenant_t tenant = { S("acme"), 2, ids };
static ta_header_field_t fields[TA_HEADER_MAX_FIELDS];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char       *s = (const char *) data, *nl = memchr(s, '\n', size);
    ta_policy_input_t in;
    ta_headers_t      h;
    ta_verdict_t      v;
    size_t            first = nl ? (size_t) (nl - s) : size;

    memset(&in, 0, sizeof(in));
    in.tenant = &tenant;
    in.login = ta_str("acme", 4);
    in.mail_from = ta_str(s, first);
    in.reject_unknown_login = 1;
    ta_headers_parse(&h, s + (nl ? first + 1 : size), nl ? size - first - 1 : 0, TA_EOL_CRLF,
                     fields, TA_HEADER_MAX_FIELDS);
    in.headers = &h;
    ta_decide(&in, &v);
    if (v.action == TA_ACCEPT) {
        if (v.nsign == 0 || v.from_domain[0] == '\0')
            abort();
        if (!ta_aligned(ta_str(v.from_domain, strlen(v.from_domain)), v.identity->domain, TA_ALIGN_RELAXED))
            abort();
    } else if (v.reason[0] == '\0') {
        abort();
    }
    in.headers = NULL;
    ta_decide(&in, &v);
    return 0;
}

/*
 * fuzz_dkimrec - the DKIM key record parser on any bytes: a reason on
 * every refusal; on success every value lies inside the input, the key
 * fits, and a key we would publish again (ta_dkimrec_text, its pieces
 * joined) parses back to the same key.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ta_dkimrec.h"

/* inside - a tag value is absent or lies within the input */
static void
inside(ta_str_t v, const char *p, size_t n)
{
    if (v.data != NULL && (v.data < p || v.data + v.len > p + n))
        abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ta_dkimrec_t r, back;
    const char         *p = (const char *) data, *why = NULL;
    char                out[TA_DKIMREC_TEXT_SIZE], joined[TA_DKIMREC_TEXT_SIZE];
    ta_str_t            parts[TA_DKIMREC_MAX_PARTS];
    size_t              n, np, i, j = 0;

    if (ta_dkimrec_parse(p, size, &r, &why) != TA_OK) {
        if (why == NULL || why[0] == '\0')
            abort();
        return 0;
    }
    inside(r.v, p, size);
    inside(r.h, p, size);
    inside(r.k, p, size);
    inside(r.n, p, size);
    inside(r.p, p, size);
    inside(r.s, p, size);
    inside(r.t, p, size);
    if (r.p.data == NULL || r.key_len > sizeof(r.key) || (r.revoked && r.key_len != 0)
        || (!r.revoked && r.key_len == 0)
        || (r.alg != TA_ALG_RSA_SHA256 && r.alg != TA_ALG_ED25519_SHA256))
        abort();
    if (r.revoked)
        return 0;
    n = ta_dkimrec_text((ta_dkim_alg_t) r.alg, r.key, r.key_len, 0, out, sizeof(out), parts, &np);
    if (n == 0 || n != strlen(out) || np == 0 || np > TA_DKIMREC_MAX_PARTS)
        abort();
    for (i = 0; i < np; i++) {
        if (parts[i].len > 255 || (i + 1 < np && parts[i].len != 255))
            abort();
        memcpy(joined + j, parts[i].data, parts[i].len);
        j += parts[i].len;
    }
    if (ta_dkimrec_parse(joined, j, &back, &why) != TA_OK || back.alg != r.alg
        || back.key_len != r.key_len || memcmp(back.key, r.key, r.key_len) != 0)
        abort();
    return 0;
}

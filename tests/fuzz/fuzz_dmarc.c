/*
 * fuzz_dmarc - the DMARC record parser and record picker on any bytes:
 * a reason on every refusal; on success every field in its range, the
 * raw values inside the input, the warnings a string within their buffer.
 * The picker gets the input cut at each LF: it picks exactly the one
 * record that starts with the DMARC1 version, or says why not.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ta_dmarc.h"

/* inside - a raw value is absent or lies within the input */
static void
inside(ta_str_t v, const char *p, size_t n)
{
    if (v.data != NULL && (v.data < p || v.data + v.len > p + n))
        abort();
}

/* policy_ok - a policy value within the enum */
static int
policy_ok(ta_dmarc_policy_t x)
{
    return x == TA_DMARC_NONE || x == TA_DMARC_QUARANTINE || x == TA_DMARC_REJECT;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ta_str_t txts[64];
    const char     *p = (const char *) data, *why = NULL, *nl;
    ta_dmarc_t      d;
    size_t          n = 0, i, idx = 0, records = 0, start = 0;
    int             rc;

    if (ta_dmarc_parse(p, size, &d, &why) != TA_OK) {
        if (why == NULL || why[0] == '\0')
            abort();
    } else {
        inside(d.rua, p, size);
        inside(d.ruf, p, size);
        if (!policy_ok(d.p) || !policy_ok(d.sp) || !policy_ok(d.np) || d.pct < 0 || d.pct > 100
            || (d.psd != -1 && d.psd != 'y' && d.psd != 'n' && d.psd != 'u')
            || memchr(d.warnings, '\0', sizeof(d.warnings)) == NULL
            || (d.p_defaulted && (d.p != TA_DMARC_NONE || d.sp != TA_DMARC_NONE))
            || !ta_dmarc_is_record(p, size))
            abort();
    }
    while (start <= size && n < sizeof(txts) / sizeof(txts[0])) {
        nl = size > start ? memchr(p + start, '\n', size - start) : NULL;
        i = nl ? (size_t) (nl - p) : size;
        txts[n++] = ta_str(p + start, i - start);
        start = i + 1;
    }
    for (i = 0; i < n; i++)
        records += (size_t) ta_dmarc_is_record(txts[i].data, txts[i].len);
    why = NULL;
    rc = ta_dmarc_pick(txts, n, &idx, &why);
    if ((records == 0 && rc != TA_NOTFOUND) || (records == 1 && rc != TA_OK)
        || (records > 1 && rc != TA_EINPUT) || (rc != TA_OK && (why == NULL || why[0] == '\0'))
        || (rc == TA_OK && (idx >= n || !ta_dmarc_is_record(txts[idx].data, txts[idx].len))))
        abort();
    return 0;
}

/* fuzz_eoh - the header/body boundary on any bytes, both line-ending modes:
 * cut into chunks anywhere (sizes taken from the input's first bytes) it
 * gives the one-shot offset, and the header parser and its byte-at-a-time
 * reference put the body at the same place */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ta_eoh.h"
#include "ref_headers.h"

static ta_header_field_t fields[64], ref_fields[64];

/* chunked - the boundary in the whole message, fed in chunks of the given sizes */
static size_t
chunked(const char *m, size_t n, ta_eol_t eol, const uint8_t *sizes, size_t nsizes)
{
    ta_eoh_t b;
    size_t   pos = 0, k = 0, step, at;

    ta_eoh_init(&b, eol);
    while (pos < n) {
        step = nsizes ? (size_t) sizes[k++ % nsizes] % 67 + 1 : n;
        if (step > n - pos)
            step = n - pos;
        at = ta_eoh_scan(&b, m + pos, step);
        if (at != TA_EOH_NONE) {
            if (at == 0 || at > step)
                abort();
            if (ta_eoh_scan(&b, m + pos + at, n - pos - at) != TA_EOH_NONE && n - pos - at > 0)
                abort();    /* once found, nothing more is a boundary */
            return pos + at;
        }
        pos += step;
    }
    return TA_EOH_NONE;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *sizes = data;
    size_t         nsizes = size ? data[0] % 8 : 0, n, one;
    const char    *m;
    ta_headers_t   h, r;
    ta_eoh_t       b;
    int            eol;

    if (size < 1 + nsizes)
        return 0;
    sizes = data + 1;
    m = (const char *) data + 1 + nsizes;
    n = size - 1 - nsizes;
    for (eol = 0; eol < 2; eol++) {
        ta_eoh_init(&b, (ta_eol_t) eol);
        one = ta_eoh_scan(&b, m, n);
        if (one != TA_EOH_NONE && (one == 0 || one > n))
            abort();
        if (chunked(m, n, (ta_eol_t) eol, sizes, nsizes) != one)
            abort();
        ta_headers_parse(&h, m, n, (ta_eol_t) eol, fields, 64);
        ref_headers_parse(&r, m, n, (ta_eol_t) eol, ref_fields, 64);
        if (r.body_offset != (one == TA_EOH_NONE ? n : one) || h.body_offset != r.body_offset)
            abort();
    }
    return 0;
}

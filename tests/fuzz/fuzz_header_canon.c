/*
 * fuzz_header_canon - one header field (the input, any bytes) through both
 * header canonicalisations: relaxed must equal a step-by-step reference of
 * RFC 6376 3.4.2 (name lower-cased and trimmed, CR and LF dropped, each
 * whitespace run one space, the value trimmed at both ends, CRLF added);
 * simple must give the field's bytes back, a missing final line ending
 * added. Both must stay within the documented 2 * len + 2 bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ta_dkim.h"
#include "ref_header_canon.h"

#define MAX_FIELD 4096

static char out[2 * MAX_FIELD + 2], ref[MAX_FIELD + 2];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *) data;
    size_t      n, want;

    if (size > MAX_FIELD)
        return 0;
    n = ta_header_canon(TA_CANON_RELAXED, TA_EOL_CRLF, ta_str(s, size), out);
    want = ref_relaxed_header(s, size, ref);
    if (n != want || memcmp(out, ref, n) != 0 || n > 2 * size + 2)
        abort();

    n = ta_header_canon(TA_CANON_SIMPLE, TA_EOL_CRLF, ta_str(s, size), out);
    if (n > 2 * size + 2 || n < size || memcmp(out, s, size) != 0)
        abort();
    if (n != size && !(n == size + 2 && memcmp(out + size, "\r\n", 2) == 0))
        abort();
    return 0;
}

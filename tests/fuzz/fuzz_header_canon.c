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

#define MAX_FIELD 4096

static char out[2 * MAX_FIELD + 2], ref[2 * MAX_FIELD + 2], val[MAX_FIELD];

/* relaxed_reference - the slow, obvious way; 0 when there is no colon */
static size_t
relaxed_reference(const char *s, size_t len)
{
    const char *colon = memchr(s, ':', len);
    size_t      name_end, i, n = 0, vn = 0, a, b;

    if (colon == NULL)
        return 0;
    name_end = (size_t) (colon - s);
    while (name_end > 0 && (s[name_end - 1] == ' ' || s[name_end - 1] == '\t'))
        name_end--;
    for (i = 0; i < name_end; i++)
        ref[n++] = (char) ((s[i] >= 'A' && s[i] <= 'Z') ? s[i] + 32 : s[i]);
    ref[n++] = ':';
    for (i = (size_t) (colon - s) + 1; i < len; i++) {
        char c = s[i] == '\t' ? ' ' : s[i];
        if (c == '\r' || c == '\n' || (c == ' ' && vn > 0 && val[vn - 1] == ' '))
            continue;
        val[vn++] = c;
    }
    for (a = 0; a < vn && val[a] == ' '; a++)
        ;
    for (b = vn; b > a && val[b - 1] == ' '; b--)
        ;
    memcpy(ref + n, val + a, b - a);
    n += b - a;
    ref[n++] = '\r';
    ref[n++] = '\n';
    return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *) data;
    size_t      n, want;

    if (size > MAX_FIELD)
        return 0;
    n = ta_header_canon(TA_CANON_RELAXED, TA_EOL_CRLF, ta_str(s, size), out);
    want = relaxed_reference(s, size);
    if (n != want || memcmp(out, ref, n) != 0 || n > 2 * size + 2)
        abort();

    n = ta_header_canon(TA_CANON_SIMPLE, TA_EOL_CRLF, ta_str(s, size), out);
    if (n > 2 * size + 2 || n < size || memcmp(out, s, size) != 0)
        abort();
    if (n != size && !(n == size + 2 && memcmp(out + size, "\r\n", 2) == 0))
        abort();
    return 0;
}

/*
 * fuzz_canon - differential: the body hash of any input must not depend on
 * how it is split into chunks, in both canonicalisations and line-ending
 * modes; and in relaxed mode it must equal a line-by-line reference
 * written straight from RFC 6376 3.4.4. The first byte chooses the chunk
 * sizes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ta_dkim.h"

static ta_body_canon_t a, b;
static char            ref[1 << 20];

/*
 * relaxed_reference - RFC 6376 3.4.4 the slow, obvious way: split into
 * lines at the line ending (CRLF, or LF), squeeze whitespace runs to one
 * space, drop it at line ends, drop empty lines at the end, end every line
 * with CRLF. A bare CR or LF is content. Returns the length, or 0 when the
 * input is too large for the buffer.
 */
static size_t
relaxed_reference(const uint8_t *p, size_t n, int crlf)
{
    size_t i = 0, out = 0, keep = 0, start;

    if (3 * n + 2 > sizeof(ref))
        return 0;
    while (i < n) {
        start = out;
        while (i < n && !(crlf ? (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n') : p[i] == '\n')) {
            if (p[i] == ' ' || p[i] == '\t') {
                while (i < n && (p[i] == ' ' || p[i] == '\t'))
                    i++;
                ref[out++] = ' ';
                continue;
            }
            ref[out++] = (char) p[i++];
        }
        i += (i < n) ? (crlf ? 2 : 1) : 0;
        if (out > start && ref[out - 1] == ' ')
            out--;
        ref[out++] = '\r';
        ref[out++] = '\n';
        if (out - start > 2)
            keep = out;                 /* the last line with content */
    }
    return keep;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char h1[32], h2[32];
    size_t        i, step;
    int           mode;

    if (size < 1)
        return 0;
    step = (size_t) (data[0] % 13) + 1;
    data++;
    size--;
    for (mode = 0; mode < 4; mode++) {
        ta_canon_t c = (mode & 1) ? TA_CANON_SIMPLE : TA_CANON_RELAXED;
        ta_eol_t   e = (mode & 2) ? TA_EOL_LF : TA_EOL_CRLF;

        ta_body_canon_init(&a, c, e, NULL);
        ta_body_canon_init(&b, c, e, NULL);
        ta_body_canon_update(&a, (const char *) data, size);
        for (i = 0; i < size; ) {
            size_t n = size - i < step ? size - i : step;
            ta_body_canon_update(&b, (const char *) data + i, n);
            i += n;
            step = step % 7 + 1;
        }
        ta_body_canon_final(&a, h1);
        ta_body_canon_final(&b, h2);
        ta_body_canon_free(&a);
        ta_body_canon_free(&b);
        if (memcmp(h1, h2, 32) != 0)
            abort();
        if (c == TA_CANON_RELAXED) {
            size_t        n = relaxed_reference(data, size, e == TA_EOL_CRLF);
            unsigned char h3[32];
            unsigned      hl;

            if (n > 0 || size < sizeof(ref) / 3) {
                EVP_Digest(ref, n, h3, &hl, EVP_sha256(), NULL);
                if (memcmp(h1, h3, 32) != 0)
                    abort();
            }
        }
    }
    return 0;
}

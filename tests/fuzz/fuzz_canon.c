/*
 * fuzz_canon - differential: the body hash of any input must not depend on
 * how it is split into chunks, in both canonicalisations and line-ending
 * modes. The first byte chooses the chunk sizes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ta_dkim.h"

static ta_body_canon_t a, b;

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

        ta_body_canon_init(&a, c, e);
        ta_body_canon_init(&b, c, e);
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
    }
    return 0;
}

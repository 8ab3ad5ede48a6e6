/*
 * fuzz_hold - the hold file parser on any bytes: an error names a line; a
 * hold that parses is written back, and the text written parses to the
 * same text again; every entry it holds is found by ta_hold_find.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ta_hold.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ta_hold_t *h, *h2;
    char       err[256], *out, *out2;
    size_t     len, len2;

    err[0] = '\0';
    if (ta_hold_parse((const char *) data, size, &h, err, sizeof(err)) != TA_OK) {
        if (err[0] == '\0' || h != NULL)
            abort();
        return 0;
    }
    if (ta_hold_format(h, &out, &len) != TA_OK)
        abort();
    if (ta_hold_parse(out, len, &h2, err, sizeof(err)) != TA_OK)
        abort();
    if (ta_hold_format(h2, &out2, &len2) != TA_OK || len2 != len || memcmp(out, out2, len) != 0)
        abort();
    (void) ta_hold_find(h, ta_str("acme", 4), ta_str("acme.example", 12));
    free(out);
    free(out2);
    ta_hold_free(h);
    ta_hold_free(h2);
    return 0;
}

/*
 * fuzz_state - the onboarding state file parser on any bytes: an error
 * names a line; a state that parses is written back, and the text written
 * parses to the same text again (what verify writes, compile can read).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ta_state.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const ta_state_rotation_t *rot[4];
    ta_state_t                *s, *s2;
    char                       err[256], *out, *out2;
    size_t                     len, len2;

    err[0] = '\0';
    if (ta_state_parse((const char *) data, size, &s, err, sizeof(err)) != TA_OK) {
        if (err[0] == '\0' || s != NULL)
            abort();
        return 0;
    }
    (void) ta_state_dmarc(s, ta_str_cstr("a.example"));
    (void) ta_state_rotations(s, ta_str_cstr("a.example"), rot, 4);
    if (ta_state_format(s, &out, &len) != TA_OK)
        abort();
    if (ta_state_parse(out, len, &s2, err, sizeof(err)) != TA_OK)
        abort();
    if (ta_state_format(s2, &out2, &len2) != TA_OK || len2 != len || memcmp(out, out2, len) != 0)
        abort();
    free(out);
    free(out2);
    ta_state_free(s);
    ta_state_free(s2);
    return 0;
}

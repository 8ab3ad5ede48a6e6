/*
 * fuzz_unsub - the one-click unsubscribe check (ta_unsub) on any header
 * section: it answers, and its answer agrees with a plain reading - no
 * List-Unsubscribe field means that is what it names, and an acceptance
 * means exactly one of each field, the Post field's value exactly
 * "List-Unsubscribe=One-Click" once trimmed, and "https://" (any case)
 * somewhere after a '<' in List-Unsubscribe.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ta_unsub.h"

static ta_header_field_t fields[256];

/* has_https_plain - "<" then "https://" in any case, anywhere in v */
static int
has_https_plain(ta_str_t v)
{
    size_t i;

    for (i = 0; i + 9 <= v.len; i++)
        if (v.data[i] == '<' && strncasecmp(v.data + i + 1, "https://", 8) == 0)
            return 1;
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const ta_str_t unsub = TA_STR_LIT("List-Unsubscribe"), post = TA_STR_LIT("List-Unsubscribe-Post");
    ta_headers_t h;
    const char  *why;
    ta_str_t     pv;
    int          eol;

    for (eol = 0; eol < 2; eol++) {
        ta_headers_parse(&h, (const char *) data, size, (ta_eol_t) eol, fields, 256);
        why = ta_unsub_missing(&h);
        if (ta_headers_count(&h, unsub) == 0 && (why == NULL || strcmp(why, "no List-Unsubscribe field") != 0))
            abort();
        if (why != NULL)
            continue;
        if (ta_headers_count(&h, unsub) != 1 || ta_headers_count(&h, post) != 1
            || !has_https_plain(ta_headers_find(&h, unsub, 0)->value))
            abort();
        pv = ta_headers_find(&h, post, 0)->value;
        while (pv.len && strchr(" \t\r\n", pv.data[0]) != NULL) {
            pv.data++;
            pv.len--;
        }
        while (pv.len && strchr(" \t\r\n", pv.data[pv.len - 1]) != NULL)
            pv.len--;
        if (pv.len != 26 || memcmp(pv.data, "List-Unsubscribe=One-Click", 26) != 0)
            abort();
    }
    return 0;
}

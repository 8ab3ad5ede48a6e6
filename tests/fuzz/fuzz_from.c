/* fuzz_from - the From: mailbox parser; a success must be a clean address */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ta_address.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ta_address_t a;
    const char  *why = NULL;
    size_t       i;

    if (ta_from_parse((const char *) data, size, &a, &why) != TA_OK) {
        if (why == NULL || why[0] == '\0')
            abort();
        return 0;
    }
    if (a.domain_len == 0 || a.domain_len != strlen(a.domain) || a.local_len == 0
        || a.local_len >= sizeof(a.local) || a.local[a.local_len] != '\0')
        abort();
    for (i = 0; i < a.domain_len; i++) {
        char c = a.domain[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
            abort();
    }
    if (memchr(a.local, '\r', a.local_len) || memchr(a.local, '\n', a.local_len))
        abort();
    return 0;
}

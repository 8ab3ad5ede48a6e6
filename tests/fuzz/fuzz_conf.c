/* fuzz_conf - the tenant source parser on any text (no key checks: no I/O) */
#include <stdint.h>
#include <stdlib.h>

#include "ta_conf.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ta_conf_errors_t errs;
    ta_conf_t              *c;
    size_t                  i, j;

    errs.n = 0;
    c = ta_conf_parse((const char *) data, size, "fuzz.conf", "/k", NULL, NULL, NULL, &errs);
    if (c == NULL)
        return 0;
    if (errs.n != 0)
        abort();
    for (i = 0; i < c->ntenants; i++) {
        if (c->tenants[i].nlogins == 0 || c->tenants[i].tenant.nidentities == 0)
            abort();
        for (j = 0; j < c->tenants[i].tenant.nidentities; j++)
            if (c->tenants[i].tenant.identities[j].domain.len == 0)
                abort();
    }
    ta_conf_free(c);
    return 0;
}

/* fuzz_store - open and look up a store file of any content: never crash */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "ta_store.h"

static char fuzz_store_path[64];

static void
remove_store_file(void)
{
    (void) unlink(fuzz_store_path);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE        *f;
    ta_store_t  *st;
    ta_tenant_t *t;
    char         err[256];
    static const char *const logins[] = { "acme", "globex", "a", "" };
    size_t       i;

    /* the input is written to a file each run: on tmpfs (/dev/shm) when
     * there is one, since ext4 flushes a file truncated and rewritten on
     * close, which left this target waiting on the disk at 4 % of a CPU */
    if (fuzz_store_path[0] == '\0') {
        snprintf(fuzz_store_path, sizeof(fuzz_store_path), "%s/fuzz_store.%d.cdb",
                 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (int) getpid());
        atexit(remove_store_file);
    }
    f = fopen(fuzz_store_path, "wb");
    if (f == NULL)
        return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    if (ta_store_open(fuzz_store_path, &st, err, sizeof(err)) != TA_OK)
        return 0;
    for (i = 0; i < 4; i++) {
        if (ta_store_lookup(st, ta_str_cstr(logins[i]), &t, err, sizeof(err)) == TA_OK) {
            size_t j, k;
            for (j = 0; j < t->nidentities; j++)
                for (k = 0; k < t->identities[j].nkeys; k++)
                    (void) t->identities[j].keys[k].selector.len;
            ta_tenant_free(t);
        }
    }
    {
        ta_provider_t *pv = ta_store_provider(st, err, sizeof(err));
        size_t         j, n = 0;

        if (pv != NULL) {
            for (j = 0; j < pv->nns; j++)
                n += pv->ns[j].len;
            for (j = 0; j < pv->negress; j++)
                n += pv->egress[j].len;
            if (pv->nns > TA_PROVIDER_MAX_NS || pv->negress > TA_PROVIDER_MAX_EGRESS || n > size)
                abort();
            free(pv);
        }
    }
    ta_store_close(st);
    return 0;
}

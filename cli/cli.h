/* cli.h - the commands of the tenantalign program; each gets argv from its own name on */
#ifndef TA_CLI_H
#define TA_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "ta_provider.h"
#include "ta_tenant.h"

#define TA_VERSION "0.1.0"

enum {
    TA_EXIT_OK = 0,         /* accept, success */
    TA_EXIT_REJECT = 1,     /* reject, bad input */
    TA_EXIT_TEMPFAIL = 2,   /* tempfail, system error */
    TA_EXIT_USAGE = 64      /* EX_USAGE */
};

/* ta_cli_read - a whole message from PATH ("-": standard input), at most
 * 64 MB; NULL with errno set on failure */
char *ta_cli_read(const char *path, size_t *len);

/* ta_cli_json - a JSON string literal of n bytes, control characters escaped */
void ta_cli_json(FILE *o, const char *s, size_t n);

/* the identities of a source or a store (cli_tenants.c) */
typedef struct {
    const ta_tenant_t   *tenant;
    const ta_identity_t *id;
} ta_cli_id_t;

typedef struct {
    const char          *tenant, *identity;     /* the filters */
    size_t               n, cap;
    ta_cli_id_t         *v;
    struct ta_store     *store;
    struct ta_conf      *conf;
    ta_tenant_t        **owned;                 /* a store's records */
    size_t               nowned;
    ta_provider_t       *provider;              /* a store's, allocated */
    const ta_provider_t *provider_ref;          /* a source's */
} ta_cli_ids_t;

int  ta_cli_identities(const char *store, const char *source, const char *tenant,
    const char *identity, ta_cli_ids_t *ids, const char *cmd);
const ta_provider_t *ta_cli_provider(const ta_cli_ids_t *ids);
void ta_cli_identities_free(ta_cli_ids_t *ids);
void ta_cli_identity_name(const ta_identity_t *id, char *buf, size_t size);
/* the public bytes of a key, read from its file (cmd_dns.c) */
int  ta_cli_public_bytes(void *ctx, const ta_key_t *key, unsigned char *out, size_t size,
    size_t *len, char *err, size_t errlen);

int ta_cmd_compile(int argc, char **argv);
int ta_cmd_check(int argc, char **argv);
int ta_cmd_sign(int argc, char **argv);
int ta_cmd_keygen(int argc, char **argv);
int ta_cmd_dns(int argc, char **argv);
int ta_cmd_verify(int argc, char **argv);

#endif

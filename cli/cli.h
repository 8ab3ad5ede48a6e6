/* cli.h - the commands of the tenantalign program; each gets argv from its own name on */
#ifndef TA_CLI_H
#define TA_CLI_H

#include <stddef.h>
#include <stdint.h>
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

struct ta_state;

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

int  ta_cli_identities(const char *store, const char *source, const struct ta_state *state,
    int64_t now, const char *tenant, const char *identity, ta_cli_ids_t *ids, const char *cmd);
const ta_provider_t *ta_cli_provider(const ta_cli_ids_t *ids);
void ta_cli_identities_free(ta_cli_ids_t *ids);
/* a new private key in a new file (cmd_keygen.c); alg rsa2048, rsa3072 or ed25519 */
struct evp_pkey_st;
int  ta_cli_new_key(const char *alg, const char *path, unsigned mode, struct evp_pkey_st **out,
    const char *cmd);

/* the onboarding state file (cli_state.c) */
int  ta_cli_state_load(const char *path, int must_exist, struct ta_state **out, const char *cmd);
int  ta_cli_lock(const char *path, const char *cmd);
int  ta_cli_state_save(const char *path, const struct ta_state *st, const char *cmd);
/* --now EPOCH, or the time (tests and dry runs ask what happens at a given time) */
int  ta_cli_now(const char *arg, int64_t *now, const char *cmd);
int  ta_cli_write_atomic(const char *path, const char *text, size_t len, unsigned mode,
    const char *cmd);

int ta_cmd_compile(int argc, char **argv);
int ta_cmd_check(int argc, char **argv);
int ta_cmd_sign(int argc, char **argv);
int ta_cmd_keygen(int argc, char **argv);
int ta_cmd_dns(int argc, char **argv);
int ta_cmd_verify(int argc, char **argv);
int ta_cmd_rotate(int argc, char **argv);
int ta_cmd_hold(int argc, char **argv);
int ta_cmd_stats(int argc, char **argv);

#endif

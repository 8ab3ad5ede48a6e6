/*
 * NAME
 *	ta_store_compile 3
 * SUMMARY
 *	tenant source to compiled store
 * SYNOPSIS
 *	#include "ta_store.h"
 *
 *	int ta_store_compile(const char *source, const char *store,
 *	                     ta_compile_opts_t *opts, char *err, size_t errlen);
 * DESCRIPTION
 *	Reads and parses the source (ta_conf), checks what spans tenants (a
 *	login or a key file used by two tenants) and every key file (regular
 *	file, not readable or writable by others, a private key of the
 *	declared algorithm, RSA of at least 1024 bits), then writes the cdb to
 *	a temporary file beside the store, fsyncs it and renames it into place:
 *	readers see the old store or the new one, never a mixture. On error
 *	nothing is left behind and err holds every problem, one per line.
 */
#include <cdb.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ta_conf.h"
#include "ta_dkimrec.h"
#include "ta_lifecycle.h"
#include "ta_store.h"
#include "ta_store_format.h"

/* A hash table of (key bytes -> tenant index), for logins and key files. */
typedef struct {
    const char *key;
    size_t      len;
    size_t      tenant;
} slot_t;

typedef struct {
    slot_t *slots;
    size_t  mask;
} table_t;

/* fnv1a - hash of a byte string */
static uint64_t
fnv1a(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    size_t   i;

    for (i = 0; i < n; i++) {
        h ^= (unsigned char) s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static int
table_init(table_t *t, size_t n)
{
    size_t size = 16;

    while (size < n * 2)
        size <<= 1;
    t->slots = calloc(size, sizeof(slot_t));
    t->mask = size - 1;
    return t->slots != NULL;
}

/* table_put - insert; the tenant already holding the key, or (size_t) -1 */
static size_t
table_put(table_t *t, const char *key, size_t len, size_t tenant)
{
    size_t i = (size_t) fnv1a(key, len) & t->mask;

    while (t->slots[i].key != NULL) {
        if (t->slots[i].len == len && memcmp(t->slots[i].key, key, len) == 0)
            return t->slots[i].tenant;
        i = (i + 1) & t->mask;
    }
    t->slots[i].key = key;
    t->slots[i].len = len;
    t->slots[i].tenant = tenant;
    return (size_t) -1;
}

/* check_key_file - what is wrong with a key file, or NULL */
static int
check_key_file(void *ctx, const ta_key_t *k, char *err, size_t errlen)
{
    struct stat st;
    FILE       *f;
    EVP_PKEY   *pkey;
    int         id;

    (void) ctx;
    if (stat(k->key_file.data, &st) != 0) {
        snprintf(err, errlen, "key file %s: %s", k->key_file.data, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "key file %s is not a regular file", k->key_file.data);
        return -1;
    }
    if (st.st_mode & (S_IROTH | S_IWOTH)) {
        snprintf(err, errlen, "key file %s is readable or writable by others (mode %04o): chmod o-rwx",
                 k->key_file.data, (unsigned) (st.st_mode & 07777));
        return -1;
    }
    f = fopen(k->key_file.data, "r");
    if (f == NULL) {
        snprintf(err, errlen, "key file %s: %s", k->key_file.data, strerror(errno));
        return -1;
    }
    pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (pkey == NULL) {
        /* RFC 8463's raw base64 Ed25519 seed is checked when it is loaded. */
        if (k->alg == TA_ALG_ED25519_SHA256 && st.st_size < 64)
            return 0;
        snprintf(err, errlen, "key file %s does not hold a PEM private key", k->key_file.data);
        return -1;
    }
    id = EVP_PKEY_get_base_id(pkey);
    if ((k->alg == TA_ALG_RSA_SHA256) != (id == EVP_PKEY_RSA)
        || (k->alg == TA_ALG_ED25519_SHA256) != (id == EVP_PKEY_ED25519)) {
        snprintf(err, errlen, "key file %s holds a %s key, not %s", k->key_file.data,
                 id == EVP_PKEY_RSA ? "RSA" : id == EVP_PKEY_ED25519 ? "Ed25519" : "other",
                 k->alg == TA_ALG_RSA_SHA256 ? "rsa-sha256" : "ed25519-sha256");
        EVP_PKEY_free(pkey);
        return -1;
    }
    if (id == EVP_PKEY_RSA && EVP_PKEY_get_bits(pkey) < 1024) {
        snprintf(err, errlen, "key file %s: RSA key of %d bits is too short (RFC 8301: at least 1024)",
                 k->key_file.data, EVP_PKEY_get_bits(pkey));
        EVP_PKEY_free(pkey);
        return -1;
    }
    EVP_PKEY_free(pkey);
    return 0;
}

/* A growable output buffer for one record. */
typedef struct {
    unsigned char *p;
    size_t         len, cap;
    int            oom;
} buf_t;

static void
put_bytes(buf_t *b, const void *d, size_t n)
{
    if (b->len + n > b->cap) {
        size_t         cap = b->cap ? b->cap : 256;
        unsigned char *np;

        while (cap < b->len + n)
            cap *= 2;
        np = realloc(b->p, cap);
        if (np == NULL) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
}

static void
put_u8(buf_t *b, unsigned v)
{
    unsigned char c = (unsigned char) v;

    put_bytes(b, &c, 1);
}

static void
put_u16(buf_t *b, size_t v)
{
    unsigned char c[2] = { (unsigned char) (v & 0xff), (unsigned char) (v >> 8) };

    put_bytes(b, c, 2);
}

static void
put_u32(buf_t *b, uint32_t v)
{
    unsigned char c[4] = { (unsigned char) v, (unsigned char) (v >> 8), (unsigned char) (v >> 16),
                           (unsigned char) (v >> 24) };

    put_bytes(b, c, 4);
}

static void
put_str(buf_t *b, ta_str_t s)
{
    put_u16(b, s.len);
    if (s.len)
        put_bytes(b, s.data, s.len);
}

/* encode - one tenant record (see ta_store_format.h) */
static void
encode(buf_t *b, const ta_tenant_t *t)
{
    size_t i, k;

    b->len = 0;
    put_str(b, t->name);
    put_u16(b, t->nidentities);
    for (i = 0; i < t->nidentities; i++) {
        const ta_identity_t *id = &t->identities[i];

        put_u8(b, id->mode);
        put_u8(b, id->alignment);
        put_u8(b, (id->monitor ? TA_IDF_MONITOR : 0) | (id->allow_null_sender ? TA_IDF_NULL_SENDER : 0)
                  | (id->parent_from ? TA_IDF_PARENT_FROM : 0) | (id->subdomains ? TA_IDF_SUBDOMAINS : 0)
                  | (id->rewrite_return_path ? TA_IDF_REWRITE : 0));
        put_u8(b, ((unsigned) id->dns & TA_IDO_DNS_MASK) | (id->dns_check ? 0 : TA_IDO_NO_DNS_CHECK)
                  | (id->require_dmarc ? TA_IDO_REQUIRE_DMARC : 0));
        put_u8(b, ((unsigned) id->dmarc & TA_IDD_DMARC_MASK) | (id->dmarc_adkim_strict ? TA_IDD_ADKIM_STRICT : 0)
                  | (id->dmarc_aspf_strict ? TA_IDD_ASPF_STRICT : 0));
        put_str(b, id->domain);
        put_str(b, id->local_part);
        put_str(b, id->return_path);
        put_str(b, id->local_part_pattern);
        put_u16(b, id->nkeys);
        for (k = 0; k < id->nkeys; k++) {
            put_str(b, id->keys[k].selector);
            put_str(b, id->keys[k].domain);
            put_str(b, id->keys[k].key_file);
            put_u8(b, id->keys[k].alg);
            put_u8(b, id->keys[k].state);
        }
    }
    /* version 4: the streams; the login's stream last, set per login */
    put_u32(b, t->hourly_cap);
    for (i = 0; i < TA_STREAMS; i++) {
        put_u8(b, t->streams[i].require_dmarc ? TA_STF_REQUIRE_DMARC : 0);
        put_u32(b, t->streams[i].hourly_cap);
    }
    put_u8(b, TA_STREAM_TRANSACTIONAL);
}

/* encode_provider - the provider block (see ta_store_format.h) */
static void
encode_provider(buf_t *b, const ta_provider_t *pv)
{
    size_t i;

    b->len = 0;
    put_u8(b, (pv->require_dmarc ? TA_PROV_REQUIRE_DMARC : 0) | (pv->present ? TA_PROV_PRESENT : 0));
    put_u8(b, pv->nns);
    for (i = 0; i < pv->nns; i++)
        put_str(b, pv->ns[i]);
    put_str(b, pv->cname_zone);
    put_str(b, pv->return_path_cname);
    put_str(b, pv->return_path_mx);
    put_u16(b, pv->return_path_mx_pref);
    put_str(b, pv->spf_include);
    put_u8(b, pv->negress);
    for (i = 0; i < pv->negress; i++)
        put_str(b, pv->egress[i]);
    put_str(b, pv->dmarc_rua);
}

/* join_errors - every collected error, one per line */
static void
join_errors(const ta_conf_errors_t *errs, char *err, size_t errlen)
{
    size_t i, n = 0, kept = errs->n < TA_CONF_MAX_ERRORS ? errs->n : TA_CONF_MAX_ERRORS;

    err[0] = '\0';
    for (i = 0; i < kept && n + 1 < errlen; i++)
        n += (size_t) snprintf(err + n, errlen - n, "%s%s", i ? "\n" : "", errs->msg[i]);
    if (errs->n > kept && n + 1 < errlen)
        snprintf(err + n, errlen - n, "\n... and %zu more errors", errs->n - kept);
}

/* cross_checks - logins and key files shared between tenants */
static void
cross_checks(const ta_conf_t *c, const char *file, int check_keys, ta_conf_errors_t *errs)
{
    table_t     logins, keyfiles;
    size_t      i, j, k, other, nkeys = 0, nlogins = 0;
    struct stat st;
    char       *devino, (*dv)[32];

    for (i = 0; i < c->ntenants; i++) {
        nlogins += c->tenants[i].nlogins;
        for (j = 0; j < c->tenants[i].tenant.nidentities; j++)
            nkeys += c->tenants[i].tenant.identities[j].nkeys;
    }
    if (!table_init(&logins, nlogins) || !table_init(&keyfiles, nkeys)) {
        ta_conf_error(errs, "%s: out of memory", file);
        free(logins.slots);
        return;
    }
    dv = calloc(nkeys ? nkeys : 1, sizeof(*dv));
    devino = (char *) dv;
    for (i = 0; i < c->ntenants; i++) {
        const ta_conf_tenant_t *ct = &c->tenants[i];

        for (j = 0; j < ct->nlogins; j++) {
            other = table_put(&logins, ct->logins[j].data, ct->logins[j].len, i);
            if (other != (size_t) -1)
                ta_conf_error(errs, "%s:%zu: login %s already belongs to tenant %s", file, ct->line,
                              ct->logins[j].data, c->tenants[other].tenant.name.data);
            if (ct->logins[j].len > 255)
                ta_conf_error(errs, "%s:%zu: login longer than 255 octets", file, ct->line);
        }
        if (!check_keys || dv == NULL)
            continue;
        for (j = 0; j < ct->tenant.nidentities; j++) {
            const ta_identity_t *id = &ct->tenant.identities[j];

            for (k = 0; k < id->nkeys; k++) {
                if (stat(id->keys[k].key_file.data, &st) != 0)
                    continue;       /* reported by the key check */
                snprintf(*dv, sizeof(*dv), "%llx:%llx", (unsigned long long) st.st_dev,
                         (unsigned long long) st.st_ino);
                other = table_put(&keyfiles, *dv, strlen(*dv), i);
                if (other != (size_t) -1 && other != i)
                    ta_conf_error(errs, "%s:%zu: key file %s is also used by tenant %s: a DKIM key must "
                                  "belong to one tenant", file, ct->line, id->keys[k].key_file.data,
                                  c->tenants[other].tenant.name.data);
                dv++;
            }
        }
    }
    free(devino);
    free(logins.slots);
    free(keyfiles.slots);
}

/* write_store - the cdb, to a temporary file renamed over store */
static int
write_store(const ta_conf_t *c, const char *store, const ta_compile_opts_t *opts,
    char *err, size_t errlen)
{
    struct cdb_make cm;
    char            tmp[PATH_MAX], key[1 + 256];
    unsigned char   meta[16];
    buf_t           b = { NULL, 0, 0, 0 };
    size_t          i, j;
    int             fd, rc = TA_ESYSTEM;

    if (snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", store) >= (int) sizeof(tmp)) {
        snprintf(err, errlen, "store path too long");
        return TA_ESYSTEM;
    }
    fd = mkstemp(tmp);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
        return TA_ESYSTEM;
    }
    /* Readable by the MTA's group, not by everyone: it names key files. */
    fchmod(fd, 0640);
    if (cdb_make_start(&cm, fd) != 0)
        goto fail;
    memcpy(meta, TA_STORE_MAGIC, 4);
    for (i = 0; i < 4; i++) {
        meta[4 + i] = (unsigned char) (TA_STORE_VERSION >> (8 * i));
        meta[8 + i] = (unsigned char) ((uint32_t) c->ntenants >> (8 * i));
        meta[12 + i] = (unsigned char) ((c->reject_unknown_login ? 1u : 0u) >> (8 * i));
    }
    if (cdb_make_add(&cm, TA_STORE_META_KEY, TA_STORE_META_KLEN, meta, sizeof(meta)) != 0)
        goto fail;
    encode_provider(&b, &c->provider);
    if (b.oom || cdb_make_add(&cm, TA_STORE_PROVIDER_KEY, TA_STORE_PROVIDER_KLEN, b.p, (unsigned) b.len) != 0)
        goto fail;
    for (i = 0; i < c->ntenants; i++) {
        encode(&b, &c->tenants[i].tenant);
        if (b.oom || b.len > 0xffffff) {
            snprintf(err, errlen, "tenant %s: record too large or out of memory", c->tenants[i].tenant.name.data);
            goto fail_msg;
        }
        /* by name too (pause, suspend): the tenant's first login */
        if (c->tenants[i].tenant.name.len <= 255 && c->tenants[i].nlogins > 0) {
            key[0] = 'T';
            memcpy(key + 1, c->tenants[i].tenant.name.data, c->tenants[i].tenant.name.len);
            if (cdb_make_add(&cm, key, (unsigned) c->tenants[i].tenant.name.len + 1,
                             c->tenants[i].logins[0].data, (unsigned) c->tenants[i].logins[0].len) != 0)
                goto fail;
        }
        for (j = 0; j < c->tenants[i].nlogins; j++) {
            b.p[b.len - 1] = (char) c->tenants[i].login_streams[j];
            key[0] = 'L';
            memcpy(key + 1, c->tenants[i].logins[j].data, c->tenants[i].logins[j].len);
            if (cdb_make_add(&cm, key, (unsigned) c->tenants[i].logins[j].len + 1, b.p, (unsigned) b.len) != 0)
                goto fail;
        }
        if (opts && opts->progress && i && i % 100000 == 0)
            fprintf(stderr, "compile: %zu of %zu tenants written\n", i, c->ntenants);
    }
    if (cdb_make_finish(&cm) != 0 || fsync(fd) != 0)
        goto fail;
    if (close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (rename(tmp, store) != 0)
        goto fail;
    free(b.p);
    return TA_OK;
fail:
    snprintf(err, errlen, "cannot write store %s: %s", store, strerror(errno));
fail_msg:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    free(b.p);
    return rc;
}

/* read_source - the whole source file */
static char *
read_source(const char *path, size_t *len, char *err, size_t errlen)
{
    struct stat st;
    char       *buf;
    int         fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t     r;
    size_t      got = 0;

    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    buf = malloc((size_t) st.st_size + 1);
    if (buf == NULL) {
        snprintf(err, errlen, "%s: out of memory", path);
        close(fd);
        return NULL;
    }
    while (got < (size_t) st.st_size && (r = read(fd, buf + got, (size_t) st.st_size - got)) > 0)
        got += (size_t) r;
    close(fd);
    *len = got;
    return buf;
}

/* ta_store_compile - validate a source and write its store */
int
ta_store_compile(const char *source, const char *store, ta_compile_opts_t *opts,
    char *err, size_t errlen)
{
    ta_conf_errors_t *errs;
    ta_conf_t        *c;
    char             *text, dir[PATH_MAX], *real;
    size_t            len;
    int               rc, check_keys = !(opts && opts->skip_key_checks);

    text = read_source(source, &len, err, errlen);
    if (text == NULL)
        return TA_ESYSTEM;
    /* relative key paths are relative to the source file's directory */
    real = realpath(source, NULL);
    snprintf(dir, sizeof(dir), "%s", real ? real : source);
    free(real);
    errs = calloc(1, sizeof(*errs));
    if (errs == NULL) {
        free(text);
        snprintf(err, errlen, "out of memory");
        return TA_ESYSTEM;
    }
    if (opts && opts->progress)
        fprintf(stderr, "compile: parsing %s (%zu bytes)\n", source, len);
    c = ta_conf_parse(text, len, source, dirname(dir), check_keys ? check_key_file : NULL, NULL,
                      opts ? opts->warn : NULL, errs);
    free(text);
    if (c != NULL) {
        if (opts && opts->progress)
            fprintf(stderr, "compile: %zu tenants parsed; checking\n", c->ntenants);
        cross_checks(c, source, check_keys, errs);
    }
    if (c == NULL || errs->n > 0) {
        join_errors(errs, err, errlen);
        ta_conf_free(c);
        free(errs);
        return TA_EINPUT;
    }
    free(errs);
    if (check_keys) {
        /* what verify saw and rotate made: the keys' effective states */
        ta_lifecycle_counts_t counts;

        rc = ta_lifecycle_apply(c, opts ? opts->state : NULL, opts ? opts->now : 0,
                                ta_dkimrec_fingerprint, NULL, &counts, opts ? opts->warn : NULL,
                                err, errlen);
        if (rc != TA_OK) {
            ta_conf_free(c);
            return rc;
        }
        if (opts)
            memcpy(opts->by_state, counts.by_state, sizeof(counts.by_state));
    }
    rc = write_store(c, store, opts, err, errlen);
    ta_conf_free(c);
    return rc;
}

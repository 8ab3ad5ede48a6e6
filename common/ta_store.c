/*
 * NAME
 *	ta_store 3
 * SUMMARY
 *	the compiled tenant store: open read-only, look up a login
 * SYNOPSIS
 *	#include "ta_store.h"
 * DESCRIPTION
 *	See ta_store.h and ta_store_format.h. tinycdb maps the file; a lookup
 *	is a hash probe whatever the tenant count. The record found is decoded
 *	into one allocation, so the caller's tenant outlives a refresh. Every
 *	length read from the file is checked against the record's end: a
 *	corrupt store is an error, never a crash.
 */
#include <cdb.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ta_clock.h"
#include "ta_file.h"
#include "ta_store.h"
#include "ta_store_format.h"

struct ta_store {
    char               *path;
    int                 fd;
    struct cdb          cdb;
    struct stat         st;         /* of the file mapped */
    time_t              checked;    /* monotonic second of the last stat */
    ta_store_settings_t settings;
    uint32_t            ntenants;
    /* the file at path, as the last stat found it */
    int                 usable;     /* it is the file mapped */
    char                why[320];   /* why not, while !usable */
    int                 bad_kind;   /* 0 none, 1 the path is missing, 2 a bad file */
    struct stat         bad;        /* that bad file: not read again while it stays */
    unsigned            bad_seq;    /* one more at each new bad file or disappearance */
};


/* le32 - a little-endian u32 */
static uint32_t
le32(const unsigned char *p)
{
    return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

/*
 * whole_cdb - the file is a whole constant database: every hash table its
 * header points to lies after the header and inside the file, and the
 * last one ends where the file ends (tinycdb writes the tables last, back
 * to back). A store cut short anywhere, or with bytes after it, fails: a
 * cut store would otherwise still answer for the logins whose records
 * survived.
 */
static int
whole_cdb(int fd, off_t size)
{
    unsigned char hdr[2048];
    uint64_t      end = 2048, pos, n;
    size_t        i;

    if (pread(fd, hdr, sizeof(hdr), 0) != (ssize_t) sizeof(hdr))
        return 0;
    for (i = 0; i < 256; i++) {
        pos = le32(hdr + 8 * i);
        n = le32(hdr + 8 * i + 4);
        if (n == 0)
            continue;
        if (pos < 2048 || pos + n * 8 > (uint64_t) size)
            return 0;
        if (pos + n * 8 > end)
            end = pos + n * 8;
    }
    return end == (uint64_t) size;
}

/* map_file - open and check one store file */
static int
map_file(const char *path, int *fdp, struct cdb *cdb, struct stat *st,
    ta_store_settings_t *settings, uint32_t *ntenants, char *err, size_t errlen)
{
    const unsigned char *meta;
    unsigned             len;
    int                  fd;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open store %s: %s", path, strerror(errno));
        return TA_ESYSTEM;
    }
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
        snprintf(err, errlen, "store %s is not a regular file", path);
        close(fd);
        return TA_ESYSTEM;
    }
    if (st->st_size < 2048 || !whole_cdb(fd, st->st_size) || cdb_init(cdb, fd) != 0) {
        snprintf(err, errlen, "store %s is truncated or not a tenant store", path);
        close(fd);
        return TA_ESYSTEM;
    }
    if (cdb_find(cdb, TA_STORE_META_KEY, TA_STORE_META_KLEN) <= 0
        || (len = cdb_datalen(cdb)) < 16
        || (meta = cdb_get(cdb, len, cdb_datapos(cdb))) == NULL
        || memcmp(meta, TA_STORE_MAGIC, 4) != 0) {
        snprintf(err, errlen, "store %s is corrupt or not a tenant store (no header record)", path);
        cdb_free(cdb);
        close(fd);
        return TA_ESYSTEM;
    }
    if (le32(meta + 4) < TA_STORE_VERSION_MIN || le32(meta + 4) > TA_STORE_VERSION) {
        snprintf(err, errlen, "store %s has format version %u; this program reads versions %u to %u: recompile it",
                 path, le32(meta + 4), TA_STORE_VERSION_MIN, TA_STORE_VERSION);
        cdb_free(cdb);
        close(fd);
        return TA_ESYSTEM;
    }
    *ntenants = le32(meta + 8);
    settings->reject_unknown_login = (le32(meta + 12) & 1) != 0;
    settings->version = le32(meta + 4);
    *fdp = fd;
    return TA_OK;
}

/* ta_store_open - map a store read-only */
int
ta_store_open(const char *path, ta_store_t **out, char *err, size_t errlen)
{
    ta_store_t *st;

    *out = NULL;
    st = calloc(1, sizeof(*st));
    if (st == NULL || (st->path = strdup(path)) == NULL) {
        free(st);
        snprintf(err, errlen, "out of memory");
        return TA_ESYSTEM;
    }
    if (map_file(path, &st->fd, &st->cdb, &st->st, &st->settings, &st->ntenants, err, errlen) != TA_OK) {
        free(st->path);
        free(st);
        return TA_ESYSTEM;
    }
    st->checked = ta_monotonic_second();
    st->usable = 1;
    *out = st;
    return TA_OK;
}

/* unusable - the store on disk cannot be used: say why (and count a new bad file) */
static int
unusable(ta_store_t *st, int kind, const struct stat *sb, const char *why, char *err, size_t errlen)
{
    if (kind != st->bad_kind || (kind == 2 && !ta_same_file(sb, &st->bad)))
        st->bad_seq++;
    st->bad_kind = kind;
    if (sb != NULL)
        st->bad = *sb;
    st->usable = 0;
    if (why != st->why)         /* the same bad file again: its reason is kept already */
        snprintf(st->why, sizeof(st->why), "%s", why);
    snprintf(err, errlen, "%s", st->why);
    return TA_ESYSTEM;
}

/*
 * ta_store_refresh - follow the file at the store's path; at most one stat
 * a second. A replaced file is mapped; a missing or broken one makes the
 * store unusable (TA_ESYSTEM, err says why) until a good file is in place:
 * the old mapping is not served from, so that every process answers alike
 * (one started after the damage has no old mapping to serve from).
 */
int
ta_store_refresh(ta_store_t *st, char *err, size_t errlen)
{
    struct stat         sb, nst;
    struct cdb          ncdb;
    ta_store_settings_t nset;
    uint32_t            nt;
    int                 nfd;
    time_t              now = ta_monotonic_second();
    char                why[320];

    if (now == st->checked) {
        if (!st->usable)
            snprintf(err, errlen, "%s", st->why);
        return st->usable ? TA_OK : TA_ESYSTEM;
    }
    st->checked = now;
    if (stat(st->path, &sb) != 0) {
        snprintf(why, sizeof(why), "store %s: %s", st->path, strerror(errno));
        return unusable(st, 1, NULL, why, err, errlen);
    }
    if (ta_same_file(&sb, &st->st)) {
        st->usable = 1;
        st->bad_kind = 0;
        return TA_OK;
    }
    if (st->bad_kind == 2 && ta_same_file(&sb, &st->bad))
        return unusable(st, 2, &sb, st->why, err, errlen);
    if (map_file(st->path, &nfd, &ncdb, &nst, &nset, &nt, why, sizeof(why)) != TA_OK)
        return unusable(st, 2, &sb, why, err, errlen);
    cdb_free(&st->cdb);
    close(st->fd);
    st->fd = nfd;
    st->cdb = ncdb;
    st->st = nst;
    st->settings = nset;
    st->ntenants = nt;
    st->usable = 1;
    st->bad_kind = 0;
    return TA_OK;
}

/* ta_store_bad_seq - how many times the store on disk went bad (a new bad file, or gone) */
unsigned
ta_store_bad_seq(const ta_store_t *st)
{
    return st->bad_seq;
}

/* ta_store_settings - store-wide settings */
const ta_store_settings_t *
ta_store_settings(const ta_store_t *st)
{
    return &st->settings;
}

/* ta_store_count - how many tenants the store holds */
size_t
ta_store_count(const ta_store_t *st)
{
    return st->ntenants;
}

/* A bounds-checked reader over one record. */
typedef struct {
    const unsigned char *p, *end;
    int                  bad;
    unsigned             version;   /* the store's format version */
} rd_t;

static unsigned
rd_u8(rd_t *r)
{
    if (r->bad || r->p + 1 > r->end) {
        r->bad = 1;
        return 0;
    }
    return *r->p++;
}

static uint32_t
rd_u32(rd_t *r)
{
    uint32_t v;

    if (r->bad || r->p + 4 > r->end) {
        r->bad = 1;
        return 0;
    }
    v = le32(r->p);
    r->p += 4;
    return v;
}

static unsigned
rd_u16(rd_t *r)
{
    unsigned v;

    if (r->bad || r->p + 2 > r->end) {
        r->bad = 1;
        return 0;
    }
    v = (unsigned) r->p[0] | (unsigned) r->p[1] << 8;
    r->p += 2;
    return v;
}

/* rd_str - a string: into *out (copied into the pool) when pool is set */
static ta_str_t
rd_str(rd_t *r, char **pool, size_t *strbytes)
{
    unsigned n = rd_u16(r);
    ta_str_t s = { "", 0 };

    if (r->bad || (size_t) (r->end - r->p) < n) {
        r->bad = 1;
        return s;
    }
    if (pool != NULL) {
        memcpy(*pool, r->p, n);
        (*pool)[n] = '\0';
        s = ta_str(*pool, n);
        *pool += n + 1;
    } else {
        *strbytes += n + 1;
    }
    r->p += n;
    return s;
}

/*
 * decode - two passes over a record: the first (pool NULL) counts what to
 * allocate and validates, the second fills the allocation.
 */
static void
decode(rd_t *r, ta_tenant_t *t, ta_identity_t *ids, ta_key_t *keys, char **pool,
    size_t *nids, size_t *nkeys, size_t *strbytes)
{
    unsigned i, k, n, nk, flags;
    ta_str_t name;

    *nids = *nkeys = 0;
    name = rd_str(r, pool, strbytes);
    n = rd_u16(r);
    if (t != NULL) {
        t->name = name;
        t->nidentities = n;
        t->identities = ids;
    }
    for (i = 0; i < n && !r->bad; i++) {
        ta_identity_t id;

        memset(&id, 0, sizeof(id));
        id.mode = (ta_identity_mode_t) rd_u8(r);
        id.alignment = (ta_align_t) rd_u8(r);
        flags = rd_u8(r);
        if (id.mode > TA_MODE_ADDRESS || id.alignment > TA_ALIGN_STRICT)
            r->bad = 1;
        id.monitor = (flags & TA_IDF_MONITOR) != 0;
        id.allow_null_sender = (flags & TA_IDF_NULL_SENDER) != 0;
        id.parent_from = (flags & TA_IDF_PARENT_FROM) != 0;
        id.subdomains = (flags & TA_IDF_SUBDOMAINS) != 0;
        id.rewrite_return_path = (flags & TA_IDF_REWRITE) != 0;
        flags = r->version >= 2 ? rd_u8(r) : 0;
        id.dns = (ta_delegation_t) (flags & TA_IDO_DNS_MASK);
        id.dns_check = (flags & TA_IDO_NO_DNS_CHECK) == 0;
        id.require_dmarc = (flags & TA_IDO_REQUIRE_DMARC) != 0;
        if (id.dns > TA_DELEG_NS)
            r->bad = 1;
        flags = r->version >= 3 ? rd_u8(r) : 0;
        id.dmarc = (ta_id_dmarc_t) (flags & TA_IDD_DMARC_MASK);
        id.dmarc_adkim_strict = (flags & TA_IDD_ADKIM_STRICT) != 0;
        id.dmarc_aspf_strict = (flags & TA_IDD_ASPF_STRICT) != 0;
        id.domain = rd_str(r, pool, strbytes);
        id.local_part = rd_str(r, pool, strbytes);
        id.return_path = rd_str(r, pool, strbytes);
        id.local_part_pattern = rd_str(r, pool, strbytes);
        nk = rd_u16(r);
        id.nkeys = nk;
        id.keys = keys ? keys + *nkeys : NULL;
        for (k = 0; k < nk && !r->bad; k++) {
            ta_key_t key;

            key.selector = rd_str(r, pool, strbytes);
            key.domain = rd_str(r, pool, strbytes);
            key.key_file = rd_str(r, pool, strbytes);
            key.alg = (ta_dkim_alg_t) rd_u8(r);
            key.state = (ta_key_state_t) rd_u8(r);
            if (key.alg > TA_ALG_ED25519_SHA256
                || key.state > (r->version >= 3 ? TA_KEY_UNVERIFIED : TA_KEY_REVOKED))
                r->bad = 1;
            if (keys != NULL)
                keys[*nkeys] = key;
            (*nkeys)++;
        }
        if (ids != NULL)
            ids[*nids] = id;
        (*nids)++;
    }
    if (r->version >= 4) {
        uint32_t          cap = rd_u32(r);
        ta_stream_conf_t  sc[TA_STREAMS];
        unsigned          stream;

        memset(sc, 0, sizeof(sc));
        for (i = 0; i < TA_STREAMS; i++) {
            flags = rd_u8(r);
            sc[i].require_dmarc = (flags & TA_STF_REQUIRE_DMARC) != 0;
            sc[i].hourly_cap = rd_u32(r);
        }
        stream = rd_u8(r);
        if (stream >= TA_STREAMS)
            r->bad = 1;
        if (t != NULL) {
            t->hourly_cap = cap;
            memcpy(t->streams, sc, sizeof(sc));
            t->stream = (ta_stream_t) (stream < TA_STREAMS ? stream : 0);
        }
    } else if (t != NULL) {
        t->hourly_cap = 0;
        memset(t->streams, 0, sizeof(t->streams));
        t->stream = TA_STREAM_TRANSACTIONAL;
    }
    if (r->p != r->end)
        r->bad = 1;
}

/* tenant_record - the record the cdb cursor is on, decoded into one allocation */
static int
tenant_record(ta_store_t *st, ta_str_t login, ta_tenant_t **out, char *err, size_t errlen)
{
    const unsigned char *rec;
    unsigned             len;
    rd_t                 r;
    size_t               nids, nkeys, strbytes = 0, size;
    char                *mem, *pool;
    ta_tenant_t         *t;

    if ((len = cdb_datalen(&st->cdb)) == 0
        || (rec = cdb_get(&st->cdb, len, cdb_datapos(&st->cdb))) == NULL) {
        snprintf(err, errlen, "store %s is corrupt (lookup failed)", st->path);
        return TA_ESYSTEM;
    }
    r.p = rec;
    r.end = rec + len;
    r.bad = 0;
    r.version = st->settings.version;
    decode(&r, NULL, NULL, NULL, NULL, &nids, &nkeys, &strbytes);
    if (r.bad) {
        snprintf(err, errlen, "store %s is corrupt (bad record for login %.*s)", st->path,
                 (int) login.len, login.data);
        return TA_ESYSTEM;
    }
    size = sizeof(ta_tenant_t) + nids * sizeof(ta_identity_t) + nkeys * sizeof(ta_key_t) + strbytes;
    mem = malloc(size);
    if (mem == NULL) {
        snprintf(err, errlen, "out of memory");
        return TA_ESYSTEM;
    }
    t = (ta_tenant_t *) mem;
    pool = mem + sizeof(ta_tenant_t) + nids * sizeof(ta_identity_t) + nkeys * sizeof(ta_key_t);
    r.p = rec;
    r.bad = 0;
    decode(&r, t, (ta_identity_t *) (mem + sizeof(ta_tenant_t)),
           (ta_key_t *) (mem + sizeof(ta_tenant_t) + nids * sizeof(ta_identity_t)),
           &pool, &nids, &nkeys, &strbytes);
    *out = t;
    return TA_OK;
}

/* find - the record under PREFIX NAME: 1 found (the cdb positioned on it),
 * 0 not found, -1 corrupt */
static int
find(ta_store_t *st, char prefix, ta_str_t name)
{
    char key[1 + 256];

    if (name.len == 0 || name.len > 255)
        return 0;
    key[0] = prefix;
    memcpy(key + 1, name.data, name.len);
    return cdb_find(&st->cdb, key, (unsigned) name.len + 1);
}

/* ta_store_lookup - the tenant acting for a login */
int
ta_store_lookup(ta_store_t *st, ta_str_t login, ta_tenant_t **out, char *err, size_t errlen)
{
    int rc = find(st, 'L', login);

    *out = NULL;
    if (rc == 0)
        return TA_NOTFOUND;
    if (rc < 0) {
        snprintf(err, errlen, "store %s is corrupt (lookup failed)", st->path);
        return TA_ESYSTEM;
    }
    return tenant_record(st, login, out, err, errlen);
}

/* ta_store_tenant - a tenant by its name (stores compiled since the name
 * index: TA_NOTFOUND otherwise) */
int
ta_store_tenant(ta_store_t *st, ta_str_t name, ta_tenant_t **out, char *err, size_t errlen)
{
    char        login[256];
    const char *v;
    unsigned    vlen;
    int         rc = find(st, 'T', name);

    *out = NULL;
    if (rc == 0)
        return TA_NOTFOUND;
    vlen = cdb_datalen(&st->cdb);
    if (rc < 0 || vlen == 0 || vlen > 255 || (v = cdb_get(&st->cdb, vlen, cdb_datapos(&st->cdb))) == NULL) {
        snprintf(err, errlen, "store %s is corrupt (lookup failed)", st->path);
        return TA_ESYSTEM;
    }
    memcpy(login, v, vlen);
    return ta_store_lookup(st, ta_str(login, vlen), out, err, errlen);
}

/* same_tenant - is the record under the cursor the previous login's tenant?
 * compile writes a tenant's logins one after another with the same record,
 * but for its last byte (the login's stream) from format 4 on; cdb keeps
 * that order */
static int
same_tenant(ta_store_t *st, const char **prev, unsigned *prevlen)
{
    unsigned    len = cdb_datalen(&st->cdb), cmp;
    const char *rec = cdb_get(&st->cdb, len, cdb_datapos(&st->cdb));
    int         same;

    if (rec == NULL)
        return 0;               /* tenant_record reports the damage */
    cmp = st->settings.version >= 4 && len > 0 ? len - 1 : len;
    same = *prev != NULL && *prevlen == len && memcmp(*prev, rec, cmp) == 0;
    *prev = rec;
    *prevlen = len;
    return same;
}

/* each - every tenant once, lent to lend or given to give */
static int
each(ta_store_t *st, int (*lend)(const ta_tenant_t *t, void *arg),
    int (*give)(ta_tenant_t *t, void *arg), void *arg, char *err, size_t errlen)
{
    unsigned     pos, klen, prevlen = 0;
    const char  *k, *prev = NULL;
    ta_tenant_t *t;
    int          rc;

    cdb_seqinit(&pos, &st->cdb);
    while ((rc = cdb_seqnext(&pos, &st->cdb)) > 0) {
        klen = cdb_keylen(&st->cdb);
        k = cdb_get(&st->cdb, klen, cdb_keypos(&st->cdb));
        if (k == NULL || klen < 2 || k[0] != 'L')
            continue;                   /* the settings and name records */
        if (same_tenant(st, &prev, &prevlen))
            continue;                   /* its next login */
        if (tenant_record(st, ta_str(k + 1, klen - 1), &t, err, errlen) != TA_OK)
            return TA_ESYSTEM;
        if (give != NULL) {
            rc = give(t, arg);
        } else {
            rc = lend(t, arg);
            ta_tenant_free(t);
        }
        if (rc != 0)
            break;
    }
    if (rc < 0) {
        snprintf(err, errlen, "store %s is corrupt (iteration failed)", st->path);
        return TA_ESYSTEM;
    }
    return TA_OK;
}

/* ta_store_each - every tenant once, lent to fn */
int
ta_store_each(ta_store_t *st, int (*fn)(const ta_tenant_t *t, void *arg), void *arg,
    char *err, size_t errlen)
{
    return each(st, fn, NULL, arg, err, errlen);
}

/* ta_store_each_owned - every tenant once, given to fn (which frees it) */
int
ta_store_each_owned(ta_store_t *st, int (*fn)(ta_tenant_t *t, void *arg), void *arg,
    char *err, size_t errlen)
{
    return each(st, NULL, fn, arg, err, errlen);
}

/* ta_tenant_free - release a looked-up tenant */
void
ta_tenant_free(ta_tenant_t *t)
{
    free(t);
}

/* ta_store_close - unmap and free */
void
ta_store_close(ta_store_t *st)
{
    if (st == NULL)
        return;
    cdb_free(&st->cdb);
    close(st->fd);
    free(st->path);
    free(st);
}

/* ta_store_provider - the provider block, in one allocation (free()) */
ta_provider_t *
ta_store_provider(ta_store_t *st, char *err, size_t errlen)
{
    const unsigned char *rec = NULL;
    unsigned             len = 0, flags, i, pass;
    size_t               strbytes = 0;
    char                *pool = NULL;
    ta_provider_t        pv, *out = NULL;
    rd_t                 r;

    if (cdb_find(&st->cdb, TA_STORE_PROVIDER_KEY, TA_STORE_PROVIDER_KLEN) > 0) {
        len = cdb_datalen(&st->cdb);
        rec = cdb_get(&st->cdb, len, cdb_datapos(&st->cdb));
    }
    /* two passes, as decode(): count, then copy into the allocation */
    for (pass = 0; pass < 2; pass++) {
        memset(&pv, 0, sizeof(pv));
        if (rec != NULL) {
            r.p = rec;
            r.end = rec + len;
            r.bad = 0;
            r.version = st->settings.version;
            flags = rd_u8(&r);
            pv.require_dmarc = (flags & TA_PROV_REQUIRE_DMARC) != 0;
            pv.present = (flags & TA_PROV_PRESENT) != 0;
            pv.nns = rd_u8(&r);
            if (pv.nns > TA_PROVIDER_MAX_NS)
                r.bad = 1;
            for (i = 0; i < pv.nns && !r.bad; i++)
                pv.ns[i] = rd_str(&r, pass ? &pool : NULL, &strbytes);
            pv.cname_zone = rd_str(&r, pass ? &pool : NULL, &strbytes);
            pv.return_path_cname = rd_str(&r, pass ? &pool : NULL, &strbytes);
            pv.return_path_mx = rd_str(&r, pass ? &pool : NULL, &strbytes);
            pv.return_path_mx_pref = rd_u16(&r);
            pv.spf_include = rd_str(&r, pass ? &pool : NULL, &strbytes);
            pv.negress = rd_u8(&r);
            if (pv.negress > TA_PROVIDER_MAX_EGRESS)
                r.bad = 1;
            for (i = 0; i < pv.negress && !r.bad; i++)
                pv.egress[i] = rd_str(&r, pass ? &pool : NULL, &strbytes);
            pv.dmarc_rua = rd_str(&r, pass ? &pool : NULL, &strbytes);
            if (r.bad || r.p != r.end) {
                snprintf(err, errlen, "store %s is corrupt (bad provider record)", st->path);
                free(out);
                return NULL;
            }
        }
        if (pass == 0) {
            out = malloc(sizeof(*out) + strbytes + 1);
            if (out == NULL) {
                snprintf(err, errlen, "out of memory");
                return NULL;
            }
            pool = (char *) (out + 1);
        }
    }
    *out = pv;
    return out;
}

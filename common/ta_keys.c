/*
 * NAME
 *	ta_keys 3
 * SUMMARY
 *	DKIM private keys: loaded lazily, parsed once, cached by file
 * SYNOPSIS
 *	#include "ta_keys.h"
 * DESCRIPTION
 *	See ta_keys.h. The cache is a short list: a process serves one tenant
 *	(Exim) or a working set of tenants (nginx); it is bounded and the
 *	least recently added entry is dropped when full. The file's bytes are
 *	wiped from memory once parsed.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ta_clock.h"
#include "ta_ed25519.h"
#include "ta_keys.h"

#define MAX_KEY_FILE 65536

typedef struct {
    char          *path;
    time_t         checked;         /* monotonic second of the last stat */
    dev_t          dev;
    ino_t          ino;
    off_t          size;
    struct timespec mtime;
    ta_dkim_alg_t  alg;
    int            has_secret;      /* Ed25519: the key's bytes for libsodium */
    unsigned char  secret[TA_ED25519_SECRET_LEN];
} entry_t;

static entry_t         cache[TA_KEY_CACHE_SIZE];
static size_t          next_slot;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
/* what lookups compare, packed beside the entries (slot i of each is entry
 * i's): a lookup reads a few cache lines, not one per entry (the nginx
 * worker looks a key up for every message). hashes: FNV-1a of the path,
 * compared before the path itself; keys: the parsed key, NULL if none */
static uint32_t        hashes[TA_KEY_CACHE_SIZE];
static EVP_PKEY       *keys[TA_KEY_CACHE_SIZE];

/* used - the entries ever filled: slots are taken in order */
static size_t
used(void)
{
    return next_slot < TA_KEY_CACHE_SIZE ? next_slot : TA_KEY_CACHE_SIZE;
}

/* b64_seed - the RFC 8463 form: base64 of a 32-byte Ed25519 private key */
static EVP_PKEY *
b64_seed(const char *data, size_t len)
{
    unsigned char buf[64], seed[48];
    size_t        n = 0, i;
    int           out;
    EVP_PKEY     *k;

    for (i = 0; i < len; i++) {
        char c = data[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
            continue;
        if (n == sizeof(buf) - 1)
            return NULL;
        buf[n++] = (unsigned char) c;
    }
    if (n != 44)
        return NULL;
    out = EVP_DecodeBlock(seed, buf, (int) n);
    if (out != 33 || buf[43] != '=' || buf[42] == '=')
        return NULL;
    k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
    OPENSSL_cleanse(seed, sizeof(seed));
    OPENSSL_cleanse(buf, sizeof(buf));
    return k;
}

/* has_pem_begin - the data holds a PEM "-----BEGIN" line */
static int
has_pem_begin(const char *data, size_t len)
{
    size_t i;

    for (i = 0; i + 10 <= len; i++)
        if (data[i] == '-' && memcmp(data + i, "-----BEGIN", 10) == 0)
            return 1;
    return 0;
}

/* ta_key_parse - a private key from memory, of the type alg asks for */
int
ta_key_parse(const char *data, size_t len, ta_dkim_alg_t alg, EVP_PKEY **out,
    char *err, size_t errlen)
{
    EVP_PKEY *k = NULL;
    BIO      *bio;
    int       id;

    *out = NULL;
    if (has_pem_begin(data, len)) {
        bio = BIO_new_mem_buf(data, (int) len);
        if (bio == NULL) {
            snprintf(err, errlen, "out of memory");
            return TA_ESYSTEM;
        }
        k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
        BIO_free(bio);
    } else {
        k = b64_seed(data, len);
    }
    if (k == NULL) {
        snprintf(err, errlen, "not a PEM private key or a base64 Ed25519 key");
        return TA_EINPUT;
    }
    id = EVP_PKEY_get_base_id(k);
    if (alg == TA_ALG_RSA_SHA256 ? id != EVP_PKEY_RSA : id != EVP_PKEY_ED25519) {
        snprintf(err, errlen, "holds a %s key, not the %s key declared",
                 id == EVP_PKEY_RSA ? "RSA" : id == EVP_PKEY_ED25519 ? "Ed25519" : "non-DKIM",
                 alg == TA_ALG_RSA_SHA256 ? "RSA" : "Ed25519");
        EVP_PKEY_free(k);
        return TA_EINPUT;
    }
    *out = k;
    return TA_OK;
}

/* read_key_file - the file's bytes, after the permission checks */
static char *
read_key_file(const char *path, struct stat *st, size_t *len, char *err, size_t errlen)
{
    int     fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    char   *buf;
    ssize_t r;
    size_t  got = 0;

    if (fd < 0 && errno == ELOOP)
        fd = open(path, O_RDONLY | O_CLOEXEC);      /* a symlink is fine; its target is checked */
    if (fd < 0) {
        snprintf(err, errlen, "key file %s: %s", path, strerror(errno));
        return NULL;
    }
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
        snprintf(err, errlen, "key file %s is not a regular file", path);
        close(fd);
        return NULL;
    }
    if (st->st_mode & (S_IROTH | S_IWOTH)) {
        snprintf(err, errlen, "key file %s is readable or writable by others (mode %04o); refused",
                 path, (unsigned) (st->st_mode & 07777));
        close(fd);
        return NULL;
    }
    if (st->st_size <= 0 || st->st_size > MAX_KEY_FILE) {
        snprintf(err, errlen, "key file %s has an implausible size", path);
        close(fd);
        return NULL;
    }
    buf = malloc((size_t) st->st_size);
    if (buf == NULL) {
        snprintf(err, errlen, "out of memory");
        close(fd);
        return NULL;
    }
    while (got < (size_t) st->st_size && (r = read(fd, buf + got, (size_t) st->st_size - got)) > 0)
        got += (size_t) r;
    close(fd);
    *len = got;
    return buf;
}

/* hand_out - a reference of the caller's own to a cached key */
static int
hand_out(EVP_PKEY *k, EVP_PKEY **out, char *err, size_t errlen)
{
    if (EVP_PKEY_up_ref(k) != 1) {
        snprintf(err, errlen, "out of memory");
        return TA_ESYSTEM;
    }
    *out = k;
    return TA_OK;
}

/* ta_key_get - the cached key of a file, loading it when new or replaced */
int
ta_key_get(const char *path, ta_dkim_alg_t alg, EVP_PKEY **out, char *err, size_t errlen)
{
    struct stat st;
    entry_t    *e = NULL;
    char       *buf, why[160];
    size_t      i, n, len = 0;
    int         rc;
    uint32_t    h = ta_str_hash(ta_str_cstr(path));
    time_t      now = ta_monotonic_second();
    EVP_PKEY   *k;

    *out = NULL;
    pthread_mutex_lock(&lock);
    for (i = 0, n = used(); i < n; i++) {
        if (hashes[i] == h && cache[i].path != NULL && cache[i].alg == alg
            && strcmp(cache[i].path, path) == 0) {
            e = &cache[i];
            break;
        }
    }
    /* the file is looked at once a second at most: a key replaced, or its
     * permissions loosened, counts within a second, and a busy process
     * does not stat it for every message */
    if (e != NULL && e->checked == now) {
        rc = hand_out(keys[e - cache], out, err, errlen);
        pthread_mutex_unlock(&lock);
        return rc;
    }
    if (stat(path, &st) != 0) {
        snprintf(err, errlen, "key file %s: %s", path, strerror(errno));
        pthread_mutex_unlock(&lock);
        return TA_ESYSTEM;
    }
    if (e != NULL && e->dev == st.st_dev && e->ino == st.st_ino && e->size == st.st_size
        && e->mtime.tv_sec == st.st_mtim.tv_sec && e->mtime.tv_nsec == st.st_mtim.tv_nsec
        && !(st.st_mode & (S_IROTH | S_IWOTH))) {
        e->checked = now;
        rc = hand_out(keys[e - cache], out, err, errlen);
        pthread_mutex_unlock(&lock);
        return rc;
    }
    buf = read_key_file(path, &st, &len, err, errlen);
    if (buf == NULL) {
        pthread_mutex_unlock(&lock);
        return TA_ESYSTEM;
    }
    rc = ta_key_parse(buf, len, alg, &k, why, sizeof(why));
    OPENSSL_cleanse(buf, len);
    free(buf);
    if (rc != TA_OK) {
        snprintf(err, errlen, "key file %s: %s", path, why);
        pthread_mutex_unlock(&lock);
        return TA_ESYSTEM;
    }
    /* replace an older entry for the same file, else the next slot; a
     * transaction still signing with the old key holds its own reference */
    if (e == NULL)
        e = &cache[next_slot++ % TA_KEY_CACHE_SIZE];
    free(e->path);
    EVP_PKEY_free(keys[e - cache]);
    keys[e - cache] = NULL;
    ta_ed25519_wipe(e->secret);
    /* copied out of OpenSSL once here rather than at every signature */
    e->has_secret = alg == TA_ALG_ED25519_SHA256 && ta_ed25519_secret(k, e->secret);
    e->path = strdup(path);
    if (e->path == NULL) {
        EVP_PKEY_free(k);
        ta_ed25519_wipe(e->secret);
        e->has_secret = 0;
        snprintf(err, errlen, "out of memory");
        pthread_mutex_unlock(&lock);
        return TA_ESYSTEM;
    }
    hashes[e - cache] = h;
    e->checked = now;
    e->dev = st.st_dev;
    e->ino = st.st_ino;
    e->size = st.st_size;
    e->mtime = st.st_mtim;
    e->alg = alg;
    keys[e - cache] = k;
    rc = hand_out(k, out, err, errlen);
    pthread_mutex_unlock(&lock);
    return rc;
}

/* ta_key_ed25519_secret - the secret of a key the caller holds a
 * reference to: while it does, an entry holding the same pointer holds
 * that very key */
int
ta_key_ed25519_secret(EVP_PKEY *key, unsigned char sk[TA_ED25519_SECRET_LEN])
{
    size_t i, n;

    pthread_mutex_lock(&lock);
    for (i = 0, n = used(); i < n; i++) {
        if (keys[i] == key && cache[i].has_secret) {
            memcpy(sk, cache[i].secret, TA_ED25519_SECRET_LEN);
            pthread_mutex_unlock(&lock);
            return 1;
        }
    }
    pthread_mutex_unlock(&lock);
    return ta_ed25519_secret(key, sk);      /* not a cached key */
}

/* ta_keys_flush - forget every cached key */
void
ta_keys_flush(void)
{
    size_t i;

    pthread_mutex_lock(&lock);
    for (i = 0; i < TA_KEY_CACHE_SIZE; i++) {
        free(cache[i].path);
        EVP_PKEY_free(keys[i]);
        ta_ed25519_wipe(cache[i].secret);
        cache[i].has_secret = 0;
        cache[i].path = NULL;
        keys[i] = NULL;
    }
    pthread_mutex_unlock(&lock);
}

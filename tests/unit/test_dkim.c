/*
 * test_dkim - canonicalisation (RFC 6376 3.4.5 example, empty bodies, any
 * chunking), RFC 8463 A.3 in process, keys (formats, permissions, cache).
 * Run from the repository root (tests/run.sh does).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <openssl/pem.h>

#include "ta_dkim.h"
#include "../fuzz/ref_header_canon.h"
#include "ta_ed25519.h"
#include "ta_keys.h"

#define VEC "tests/dkim/vectors/"

static void
body_hash(ta_canon_t mode, ta_eol_t eol, const char *b, size_t n, size_t chunk, char out[48])
{
    ta_body_canon_t *c = malloc(sizeof(*c));
    unsigned char    h[32];
    size_t           i;

    assert_non_null(c);
    assert_int_equal(ta_body_canon_init(c, mode, eol, NULL), TA_OK);
    if (chunk == 0)
        chunk = n ? n : 1;
    for (i = 0; i < n; i += chunk)
        ta_body_canon_update(c, b + i, n - i < chunk ? n - i : chunk);
    ta_body_canon_final(c, h);
    ta_body_canon_free(c);
    free(c);
    EVP_EncodeBlock((unsigned char *) out, h, 32);
}

static void
test_rfc6376_example(void **state)
{
    static const char f1[] = "A: X\r\n", f2[] = "B : Y\t\r\n\tZ  \r\n";
    char              out[64], h1[48], h2[48];
    size_t            n;

    (void) state;
    n = ta_header_canon(TA_CANON_RELAXED, TA_EOL_CRLF, ta_str(f1, sizeof(f1) - 1), out);
    assert_memory_equal(out, "a:X\r\n", n);
    n = ta_header_canon(TA_CANON_RELAXED, TA_EOL_CRLF, ta_str(f2, sizeof(f2) - 1), out);
    assert_int_equal(n, 7);
    assert_memory_equal(out, "b:Y Z\r\n", n);
    n = ta_header_canon(TA_CANON_SIMPLE, TA_EOL_CRLF, ta_str(f2, sizeof(f2) - 1), out);
    assert_memory_equal(out, f2, n);
    /* the body example: relaxed " C\r\nD E\r\n", simple " C \r\nD \t E\r\n" */
#define BODY " C \r\nD \t E\r\n\r\n\r\n"
    body_hash(TA_CANON_RELAXED, TA_EOL_CRLF, BODY, sizeof(BODY) - 1, 0, h1);
    body_hash(TA_CANON_SIMPLE, TA_EOL_CRLF, " C\r\nD E\r\n", 9, 0, h2);
    assert_string_equal(h1, h2);    /* relaxed output == the simple hash of the relaxed text */
    body_hash(TA_CANON_SIMPLE, TA_EOL_CRLF, BODY, sizeof(BODY) - 1, 0, h1);
    body_hash(TA_CANON_SIMPLE, TA_EOL_CRLF, " C \r\nD \t E\r\n", 12, 0, h2);
    assert_string_equal(h1, h2);
}

/* test_header_canon_reference - 20,000 random fields against the reference */
static void
test_header_canon_reference(void **state)
{
    static const char names[][16] = { "From", "sUBJECT", "X-a", "to \t", "DKIM-Signature" };
    static const char alphabet[] = "aZ9;=<@> \t\t  \r\n\r\n\x80\xff\x01:";
    char              field[600], got[1400], want[1400];
    size_t            len, i, vlen, gn, wn;
    unsigned          x = 19088743u;
    int               k;

    (void) state;
    for (k = 0; k < 20000; k++) {
        x ^= x << 13; x ^= x >> 17; x ^= x << 5;
        len = (size_t) snprintf(field, sizeof(field), "%s:", names[x % 5]);
        vlen = (x >> 8) % 200;
        for (i = 0; i < vlen; i++) {
            x ^= x << 13; x ^= x >> 17; x ^= x << 5;
            field[len++] = alphabet[x % (sizeof(alphabet) - 1)];
        }
        if (x & 1) {
            field[len++] = '\r';
            field[len++] = '\n';
        }
        gn = ta_header_canon(TA_CANON_RELAXED, TA_EOL_CRLF, ta_str(field, len), got);
        wn = ref_relaxed_header(field, len, want);
        assert_int_equal(gn, wn);
        assert_memory_equal(got, want, gn);
    }
}

static void
test_empty_body(void **state)
{
    char h[48];

    (void) state;
    body_hash(TA_CANON_RELAXED, TA_EOL_CRLF, "", 0, 0, h);
    assert_string_equal(h, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
    body_hash(TA_CANON_SIMPLE, TA_EOL_CRLF, "", 0, 0, h);
    assert_string_equal(h, "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=");
    body_hash(TA_CANON_RELAXED, TA_EOL_CRLF, "\r\n\r\n \t\r\n", 8, 0, h);
    assert_string_equal(h, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
    body_hash(TA_CANON_SIMPLE, TA_EOL_CRLF, "\r\n\r\n", 4, 0, h);
    assert_string_equal(h, "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=");
}

static void
test_rfc_body_hashes(void **state)
{
    static const char b[] = "Hi.\r\n\r\nWe lost the game.  Are you hungry yet?\r\n\r\nJoe.\r\n\r\n";
    char              h[48];

    (void) state;
    /* RFC 8463 A.3 (relaxed) */
    body_hash(TA_CANON_RELAXED, TA_EOL_CRLF, b, sizeof(b) - 1, 0, h);
    assert_string_equal(h, "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=");
    /* RFC 6376 A.2's body, simple (the value dkimpy's corrected example carries;
     * the RFC's own bh= there is known to be wrong) */
    body_hash(TA_CANON_SIMPLE, TA_EOL_CRLF, b, sizeof(b) - 1, 0, h);
    assert_string_equal(h, "4bLNXImK9drULnmePzZNEBleUanJCX5PIsDIFoH4KTQ=");
}

static unsigned
lcg(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return (*s >> 16) & 0x7fff;
}

static void
test_chunking(void **state)
{
    static const char alphabet[] = "ab  \t\r\n\n\r.x";
    char              buf[3000], lf[3000], one[48], many[48];
    unsigned          seed = 42, i, k, len, mode, chunk;

    (void) state;
    for (i = 0; i < 300; i++) {
        len = lcg(&seed) % sizeof(buf);
        for (k = 0; k < len; k++)
            buf[k] = alphabet[lcg(&seed) % (sizeof(alphabet) - 1)];
        for (mode = 0; mode < 4; mode++) {
            ta_canon_t c = (mode & 1) ? TA_CANON_SIMPLE : TA_CANON_RELAXED;
            ta_eol_t   e = (mode & 2) ? TA_EOL_LF : TA_EOL_CRLF;
            body_hash(c, e, buf, len, 0, one);
            for (chunk = 1; chunk < 20; chunk += 3) {
                body_hash(c, e, buf, len, chunk, many);
                assert_string_equal(one, many);
            }
        }
        /* LF text hashes as its CRLF form */
        size_t n = 0;
        for (k = 0; k < len; k++)
            if (buf[k] != '\r')
                lf[n++] = buf[k];
        char crlf[6000];
        size_t m = 0;
        for (k = 0; k < n; k++) {
            if (lf[k] == '\n')
                crlf[m++] = '\r';
            crlf[m++] = lf[k];
        }
        body_hash(TA_CANON_RELAXED, TA_EOL_LF, lf, n, 0, one);
        body_hash(TA_CANON_RELAXED, TA_EOL_CRLF, crlf, m, 0, many);
        assert_string_equal(one, many);
    }
}

/*
 * test_text_blocks - text as mail carries it (words, single spaces, now
 * and then a double space, tab, trailing space, empty lines, rarely a bare
 * CR or LF): hashed whole it goes through the 64-byte block path; in small
 * chunks, byte-wise. Both must agree, at every size around the blocks,
 * with CRLF line ends and with LF ones (where a CR is content).
 */
static void
test_text_blocks(void **state)
{
    static const char *const tokens[] = {
        "word", "mail", "x", " ", " ", " ", " ", "  ", "\t", " \t ", " \r\n", "\r\n", "\r\n",
        "\r\n\r\n", "\t\r\n", "\r\n\r\n\r\n", ".", NULL, "\r", "\n", "\r\r\n", "\n\r"
    };
    char     blank[400];                /* NULL above: 200 line ends, some with spaces */
    char     buf[6000], one[48], many[48];
    unsigned seed = 7, i, k, chunk, eol;
    size_t   len, t;

    (void) state;
    for (k = 0; k < sizeof(blank); k += 2)
        memcpy(blank + k, k % 38 == 6 ? "  " : "\r\n", 2);
    for (i = 0; i < 600; i++) {
        size_t want = lcg(&seed) % 5000;
        int    bare = lcg(&seed) % 4 == 0;      /* most bodies have no bare CR or LF */

        for (len = 0; len < want; ) {
            t = lcg(&seed) % (sizeof(tokens) / sizeof(tokens[0]) - (bare ? 0 : 4));
            if (tokens[t] == NULL) {
                memcpy(buf + len, blank, sizeof(blank));
                len += sizeof(blank);
            } else {
                memcpy(buf + len, tokens[t], strlen(tokens[t]));
                len += strlen(tokens[t]);
            }
        }
        for (k = 0; k < 3 && len > 0; k++) {    /* endings: cut anywhere */
            size_t n = k == 0 ? len : lcg(&seed) % len;

            for (eol = 0; eol < 2; eol++) {     /* wire format, and LF line ends (Exim's spool) */
                ta_eol_t e = eol ? TA_EOL_LF : TA_EOL_CRLF;

                body_hash(TA_CANON_RELAXED, e, buf, n, 0, one);
                for (chunk = 1; chunk < 200; chunk = chunk * 3 + 4) {
                    body_hash(TA_CANON_RELAXED, e, buf, n, chunk, many);
                    assert_string_equal(one, many);
                }
            }
        }
    }
}

static char *
slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *b = malloc(65536);

    assert_non_null(f);
    *len = fread(b, 1, 65536, f);
    fclose(f);
    return b;
}

static void
test_rfc8463_in_process(void **state)
{
    static const char *const names[] = { "from", "to", "subject", "date", "message-id", "from", "subject", "date" };
    size_t             mlen, slen, klen, olen;
    char              *msg = slurp(VEC "rfc8463-message.eml", &mlen), *want = slurp(VEC "rfc8463-signed.eml", &slen);
    char              *kr = slurp(VEC "rfc8463-rsa.pem", &klen), err[200], out[4096];
    char              *ke;
    size_t             kelen;
    EVP_PKEY          *rsa, *ed;
    ta_dkim_opts_t     o;
    ta_dkim_t         *d;
    ta_headers_t       h;
    static ta_header_field_t f[64];

    (void) state;
    ke = slurp(VEC "rfc8463-ed25519.key", &kelen);
    assert_int_equal(ta_key_parse(kr, klen, TA_ALG_RSA_SHA256, &rsa, err, sizeof(err)), TA_OK);
    assert_int_equal(ta_key_parse(ke, kelen, TA_ALG_ED25519_SHA256, &ed, err, sizeof(err)), TA_OK);
    memset(&o, 0, sizeof(o));
    o.headers = names;
    o.nheaders = 8;
    o.timestamp = 1528637909;
    o.identity = "@football.example.com";
    d = ta_dkim_new(&o);
    assert_int_equal(ta_dkim_add_signer(d, ta_str_cstr("football.example.com"), ta_str_cstr("brisbane"),
                                        TA_ALG_ED25519_SHA256, ed, err, sizeof(err)), TA_OK);
    assert_int_equal(ta_dkim_add_signer(d, ta_str_cstr("football.example.com"), ta_str_cstr("test"),
                                        TA_ALG_RSA_SHA256, rsa, err, sizeof(err)), TA_OK);
    assert_non_null(strstr(err, "1024 bits"));      /* a warning, not a refusal */
    ta_headers_parse(&h, msg, mlen, TA_EOL_CRLF, f, 64);
    assert_int_equal(ta_dkim_headers(d, &h), TA_OK);
    /* the body in odd chunks */
    for (size_t i = h.body_offset; i < mlen; i += 3)
        ta_dkim_body(d, msg + i, mlen - i < 3 ? mlen - i : 3);
    assert_int_equal(ta_dkim_finish(d, out, sizeof(out), &olen, NULL, err, sizeof(err)), TA_OK);
    assert_int_equal(olen, slen - mlen);
    assert_memory_equal(out, want, olen);
    ta_dkim_free(d);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ed);
    free(msg);
    free(want);
    free(kr);
    free(ke);
}

/*
 * test_ed25519_matches_openssl - libsodium signs what OpenSSL would: random
 * seeds (from a fixed start) and messages of 0 to 300 bytes, both signers,
 * the same 64 bytes; and a key that is not Ed25519 is refused
 */
static void
test_ed25519_matches_openssl(void **state)
{
    unsigned char seed[32], msg[300], ours[64], theirs[64], sk[TA_ED25519_SECRET_LEN];
    unsigned      x = 2463534242u;
    size_t        len, slen, i;
    int           n;
    EVP_PKEY     *key, *rsa;
    EVP_MD_CTX   *ctx;

    (void) state;
    for (n = 0; n < 200; n++) {
        for (i = 0; i < sizeof(seed); i++) {
            x ^= x << 13; x ^= x >> 17; x ^= x << 5;
            seed[i] = (unsigned char) x;
        }
        len = x % (sizeof(msg) + 1);
        for (i = 0; i < len; i++) {
            x ^= x << 13; x ^= x >> 17; x ^= x << 5;
            msg[i] = (unsigned char) x;
        }
        key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, sizeof(seed));
        assert_non_null(key);
        ctx = EVP_MD_CTX_new();
        slen = sizeof(theirs);
        assert_int_equal(EVP_DigestSignInit(ctx, NULL, NULL, NULL, key), 1);
        assert_int_equal(EVP_DigestSign(ctx, theirs, &slen, msg, len), 1);
        assert_int_equal(slen, 64);
        assert_int_equal(ta_ed25519_secret(key, sk), 1);
        assert_int_equal(ta_ed25519_sign_secret(sk, msg, len, ours), 1);
        assert_memory_equal(ours, theirs, 64);
        EVP_MD_CTX_free(ctx);
        EVP_PKEY_free(key);
    }
    rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 1024);
    assert_non_null(rsa);
    assert_int_equal(ta_ed25519_secret(rsa, sk), 0);
    EVP_PKEY_free(rsa);
}

/* next_second - wait until the key cache's clock (monotonic, coarse) ticks */
static void
next_second(void)
{
    struct timespec a, b;

    clock_gettime(CLOCK_MONOTONIC_COARSE, &a);
    do {
        usleep(10000);
        clock_gettime(CLOCK_MONOTONIC_COARSE, &b);
    } while (b.tv_sec == a.tv_sec);
}

/* write_key - k as a PEM file at a new mkstemp path, mode 0600 */
static void
write_key(char *path, EVP_PKEY *k)
{
    int   fd = mkstemp(path);
    FILE *f;

    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    chmod(path, 0600);
}

static void
test_keys(void **state)
{
    char      path[] = "/tmp/ta-test-keyXXXXXX", err[300];
    EVP_PKEY *k, *k2, *small, *pk;
    ta_dkim_t *d;
    ta_dkim_opts_t o;

    (void) state;
    pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    write_key(path, pk);
    assert_int_equal(ta_key_get(path, TA_ALG_ED25519_SHA256, &k, err, sizeof(err)), TA_OK);
    assert_int_equal(ta_key_get(path, TA_ALG_ED25519_SHA256, &k2, err, sizeof(err)), TA_OK);
    assert_ptr_equal(k, k2);                        /* parsed once */
    EVP_PKEY_free(k2);
    assert_int_equal(ta_key_get(path, TA_ALG_RSA_SHA256, &k2, err, sizeof(err)), TA_ESYSTEM);
    assert_non_null(strstr(err, "not the RSA key"));
    /* the file is looked at once a second: loosened permissions count then */
    chmod(path, 0644);
    next_second();
    assert_int_equal(ta_key_get(path, TA_ALG_ED25519_SHA256, &k2, err, sizeof(err)), TA_ESYSTEM);
    assert_non_null(strstr(err, "readable or writable by others"));
    assert_null(strstr(err, "PRIVATE"));
    chmod(path, 0600);
    assert_int_equal(ta_key_get(path, TA_ALG_ED25519_SHA256, &k2, err, sizeof(err)), TA_OK);
    EVP_PKEY_free(k2);
    unlink(path);
    next_second();
    assert_int_equal(ta_key_get(path, TA_ALG_ED25519_SHA256, &k2, err, sizeof(err)), TA_ESYSTEM);
    assert_int_equal(ta_key_get("/etc", TA_ALG_ED25519_SHA256, &k2, err, sizeof(err)), TA_ESYSTEM);
    assert_int_equal(ta_key_parse("garbage", 7, TA_ALG_ED25519_SHA256, &k2, err, sizeof(err)), TA_EINPUT);
    /* RSA under 1024 bits is refused */
    small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 512);
    memset(&o, 0, sizeof(o));
    d = ta_dkim_new(&o);
    assert_int_equal(ta_dkim_add_signer(d, ta_str_cstr("a.example"), ta_str_cstr("s"), TA_ALG_RSA_SHA256,
                                        small, err, sizeof(err)), TA_EINPUT);
    assert_int_equal(ta_dkim_add_signer(d, ta_str_cstr("a.example"), ta_str_cstr("s"), TA_ALG_RSA_SHA256,
                                        pk, err, sizeof(err)), TA_EINPUT);
    assert_int_equal(ta_dkim_add_signer(d, ta_str_cstr("bad domain"), ta_str_cstr("s"), TA_ALG_ED25519_SHA256,
                                        pk, err, sizeof(err)), TA_EINPUT);
    ta_dkim_free(d);
    EVP_PKEY_free(small);
    EVP_PKEY_free(pk);
    ta_keys_flush();
    EVP_PKEY_free(k);                               /* ours outlives the cache's */
}

/*
 * test_key_outlives_cache - a transaction that took a key keeps it when
 * the cache drops it meanwhile (the file rotated, the entry evicted): it
 * still signs, and ASan sees no use after free.
 */
static void
test_key_outlives_cache(void **state)
{
    static const char msg[] = "From: a@a.example\r\nSubject: s\r\n\r\nbody\r\n";
    char              path[] = "/tmp/ta-test-keyXXXXXX", err[300], out[2048];
    EVP_PKEY         *pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"), *k;
    ta_dkim_opts_t    o;
    ta_dkim_t        *d;
    ta_headers_t      h;
    ta_header_field_t fields[8];
    size_t            olen;

    (void) state;
    write_key(path, pk);
    assert_int_equal(ta_key_get(path, TA_ALG_ED25519_SHA256, &k, err, sizeof(err)), TA_OK);
    memset(&o, 0, sizeof(o));
    d = ta_dkim_new(&o);
    assert_int_equal(ta_dkim_add_signer(d, ta_str_cstr("a.example"), ta_str_cstr("s"), TA_ALG_ED25519_SHA256,
                                        k, err, sizeof(err)), TA_OK);
    EVP_PKEY_free(k);                   /* ours is gone, */
    ta_keys_flush();                    /* and the cache's: the signer's own remains */
    unlink(path);
    assert_int_equal(ta_headers_parse(&h, msg, sizeof(msg) - 1, TA_EOL_CRLF, fields, 8), TA_OK);
    assert_int_equal(ta_dkim_headers(d, &h), TA_OK);
    ta_dkim_body(d, msg + h.body_offset, sizeof(msg) - 1 - h.body_offset);
    assert_int_equal(ta_dkim_finish(d, out, sizeof(out), &olen, NULL, err, sizeof(err)), TA_OK);
    assert_non_null(strstr(out, "a=ed25519-sha256"));
    ta_dkim_free(d);
    EVP_PKEY_free(pk);
}

/*
 * test_key_secret_follows_key - the Ed25519 secret the cache hands out is
 * the one of the very key asked about: two cached keys, then the cache
 * flushed while the caller still holds one; an RSA key has none
 */
static void
test_key_secret_follows_key(void **state)
{
    char          pa[] = "/tmp/ta-test-keyXXXXXX", pb[] = "/tmp/ta-test-keyXXXXXX", err[300];
    EVP_PKEY     *a = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"), *b = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    EVP_PKEY     *ka, *kb, *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 1024);
    unsigned char want_a[64], want_b[64], got[64];

    (void) state;
    write_key(pa, a);
    write_key(pb, b);
    assert_int_equal(ta_ed25519_secret(a, want_a), 1);
    assert_int_equal(ta_ed25519_secret(b, want_b), 1);
    assert_memory_not_equal(want_a, want_b, 64);
    assert_int_equal(ta_key_get(pa, TA_ALG_ED25519_SHA256, &ka, err, sizeof(err)), TA_OK);
    assert_int_equal(ta_key_get(pb, TA_ALG_ED25519_SHA256, &kb, err, sizeof(err)), TA_OK);
    assert_int_equal(ta_key_ed25519_secret(kb, got), 1);
    assert_memory_equal(got, want_b, 64);
    assert_int_equal(ta_key_ed25519_secret(ka, got), 1);
    assert_memory_equal(got, want_a, 64);
    ta_keys_flush();                    /* ka is still ours: OpenSSL answers */
    assert_int_equal(ta_key_ed25519_secret(ka, got), 1);
    assert_memory_equal(got, want_a, 64);
    assert_int_equal(ta_key_ed25519_secret(rsa, got), 0);
    unlink(pa);
    unlink(pb);
    EVP_PKEY_free(ka);
    EVP_PKEY_free(kb);
    EVP_PKEY_free(a);
    EVP_PKEY_free(b);
    EVP_PKEY_free(rsa);
}

/*
 * test_key_cache_wraps - more keys than the cache holds, twice round: every
 * lookup gives the key of its own file and that key's secret, whether it
 * was still cached or had been evicted and loaded again
 */
static void
test_key_cache_wraps(void **state)
{
    enum { N = TA_KEY_CACHE_SIZE + 40 };
    static char          paths[N][32];
    static unsigned char pubs[N][32];
    unsigned char        want[64], got[64], pub[32];
    size_t               i, publen;
    int                  round;
    EVP_PKEY            *k, *own;
    char                 err[300];

    (void) state;
    for (i = 0; i < N; i++) {
        own = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        strcpy(paths[i], "/tmp/ta-test-keyXXXXXX");
        write_key(paths[i], own);
        publen = sizeof(pubs[i]);
        assert_int_equal(EVP_PKEY_get_raw_public_key(own, pubs[i], &publen), 1);
        EVP_PKEY_free(own);
    }
    for (round = 0; round < 2; round++) {
        for (i = 0; i < N; i++) {
            assert_int_equal(ta_key_get(paths[i], TA_ALG_ED25519_SHA256, &k, err, sizeof(err)), TA_OK);
            assert_int_equal(ta_ed25519_secret(k, want), 1);
            assert_int_equal(ta_key_ed25519_secret(k, got), 1);
            assert_memory_equal(got, want, 64);
            /* and the key is the file's */
            publen = sizeof(pub);
            assert_int_equal(EVP_PKEY_get_raw_public_key(k, pub, &publen), 1);
            assert_memory_equal(pub, pubs[i], 32);
            assert_memory_equal(got + 32, pubs[i], 32);
            EVP_PKEY_free(k);
        }
    }
    for (i = 0; i < N; i++)
        unlink(paths[i]);
    ta_keys_flush();
}

/*
 * test_signature_field_reference - the DKIM-Signature field's canonical
 * form, written beside the field as it is built, checked the slow way:
 * domains, selectors and identities of random lengths (so folds fall
 * everywhere), explicit and default header lists, an identity that
 * relaxed canonicalisation changes; each Ed25519 signature verified by
 * OpenSSL over the reference canonicalisation of the selected fields and
 * of the field itself with b= emptied
 */
/* ref_field_hdata - the canonical header data an h= value selects from the
 * test message's fields (below), the bottom-most unused instance first */
static size_t
ref_field_hdata(const char *h, char *out)
{
    static const char *const fields[] = {
        "From: Ann <a@x.example>\r\n", "To: b@y.example\r\n", "Subject: one \t two\r\n  three\r\n",
        "To:  c@y.example \r\n"
    };
    char   name[64];
    size_t n = 0, used[4] = { 0 }, i, k;

    for (;;) {
        while (*h == ' ' || *h == ':')
            h++;
        for (k = 0; h[k] && strchr(" :;", h[k]) == NULL && k < sizeof(name) - 1; k++)
            name[k] = h[k];
        for (i = 4; k > 0 && i-- > 0; ) {
            if (strncasecmp(fields[i], name, k) == 0 && fields[i][k] == ':' && !used[i]) {
                used[i] = 1;
                n += ref_relaxed_header(fields[i], strlen(fields[i]) - 2, out + n);
                break;
            }
        }
        h += k;
        if (*h != ' ')          /* ";" (or the end): the list is over */
            return n;
    }
}

static void
test_signature_field_reference(void **state)
{
    static const char msg[] = "From: Ann <a@x.example>\r\nTo: b@y.example\r\nSubject: one \t two\r\n  three\r\n"
                              "To:  c@y.example \r\n\r\nbody\r\n";
    static const char *const lists[][4] = {
        { "from", "to", "subject", NULL }, { "From", "TO", "to", "to" }, { "subject", "DATE", "from", "X-ZZ" }
    };
    static const char *const ids[] = { NULL, "@d", "x.y@d", "a  b@d", "t\tb@d" };
    static const char        lc[] = "abcdefghijklmnopqrstuvwxyz0123456789-";
    static ta_header_field_t f[16];
    unsigned char            seed[32], sig[80], hash[32];
    char                     dom[256], sel[64], id[300], out[8192], hdata[2048], canon[4096], b64[200];
    size_t                   olen, hn, cn, bn, i, n;
    unsigned                 x = 3141592653u;
    int                      k, j;
    ta_headers_t             h;

    (void) state;
    for (i = 0; i < sizeof(seed); i++)
        seed[i] = (unsigned char) (i * 7 + 1);
    EVP_PKEY *key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, sizeof(seed));
    assert_non_null(key);
    ta_headers_parse(&h, msg, sizeof(msg) - 1, TA_EOL_CRLF, f, 16);
    for (k = 0; k < 600; k++) {
        ta_dkim_opts_t o;
        ta_dkim_t     *d;
        char           err[200];
        const char    *b, *e;
        EVP_MD_CTX    *vc;

        x ^= x << 13; x ^= x >> 17; x ^= x << 5;
        n = 1 + x % 200;
        for (i = 0; i < n; i++) {
            x ^= x << 13; x ^= x >> 17; x ^= x << 5;
            dom[i] = (i % 9 == 8 && i + 1 < n) ? '.' : lc[x % 36];
        }
        dom[n] = '\0';
        n = 1 + (x >> 9) % 60;
        for (i = 0; i < n; i++)
            sel[i] = lc[(x >> (i % 20)) % 26];
        sel[n] = '\0';
        memset(&o, 0, sizeof(o));
        o.timestamp = 1000000000 + (long long) (x % 900000000);
        o.expire = (x & 8) ? 604800 : 0;
        o.body_canon = (x & 16) ? TA_CANON_SIMPLE : TA_CANON_RELAXED;
        if (ids[k % 5] != NULL) {
            snprintf(id, sizeof(id), "%s%.*s", ids[k % 5], (int) (x % 60), dom);
            o.identity = id;
        }
        if (k % 4 != 3) {
            o.headers = lists[k % 4 % 3];
            for (o.nheaders = 0; o.nheaders < 4 && lists[k % 4 % 3][o.nheaders]; o.nheaders++)
                ;
        }
        d = ta_dkim_new(&o);
        assert_non_null(d);
        assert_int_equal(ta_dkim_add_signer(d, ta_str_cstr(dom), ta_str_cstr(sel), TA_ALG_ED25519_SHA256,
                                            key, err, sizeof(err)), TA_OK);
        assert_int_equal(ta_dkim_headers(d, &h), TA_OK);
        ta_dkim_body(d, msg + h.body_offset, sizeof(msg) - 1 - h.body_offset);
        assert_int_equal(ta_dkim_finish(d, out, sizeof(out), &olen, NULL, err, sizeof(err)), TA_OK);
        ta_dkim_free(d);

        /* lines within the fold width unless one token is longer; b= last */
        for (b = out; b < out + olen; b = e + 2) {
            e = strstr(b, "\r\n");
            assert_non_null(e);
            if (e - b > 60 && strlen(dom) <= 40 && strlen(sel) <= 40 && (o.identity == NULL || strlen(id) <= 40))
                fail_msg("case %d: a line longer than the fold width:\n%.*s", k, (int) olen, out);
        }
        b = strstr(out, "\r\n b=");
        assert_non_null(b);
        b += 5;
        for (bn = 0, e = b; e < out + olen; e++)
            if (*e != '\r' && *e != '\n' && *e != ' ')
                b64[bn++] = *e;
        b64[bn] = '\0';
        assert_int_equal(EVP_DecodeBlock(sig, (unsigned char *) b64, (int) bn), 66);

        /* the field with b= empty, canonicalised the slow way, no CRLF */
        cn = ref_relaxed_header(out, (size_t) (b - out), canon) - 2;
        canon[cn] = '\0';
        b = strstr(canon, " h=");       /* unfolded: every tag after "; " */
        assert_non_null(b);
        for (e = b + 3; *e != ';'; e++)
            if (*e >= 'A' && *e <= 'Z')
                fail_msg("case %d: h= not in lower case: %s", k, b);
        hn = ref_field_hdata(b + 3, hdata);

        vc = EVP_MD_CTX_new();
        EVP_MD_CTX *hc = EVP_MD_CTX_new();
        unsigned    hl = 32;
        assert_int_equal(EVP_DigestInit_ex(hc, EVP_sha256(), NULL), 1);
        EVP_DigestUpdate(hc, hdata, hn);
        EVP_DigestUpdate(hc, canon, cn);
        EVP_DigestFinal_ex(hc, hash, &hl);
        assert_int_equal(EVP_DigestVerifyInit(vc, NULL, NULL, NULL, key), 1);
        j = EVP_DigestVerify(vc, sig, 64, hash, 32);
        if (j != 1)
            fail_msg("case %d: signature over the reference canonical form does not verify:\n%.*s", k,
                     (int) olen, out);
        EVP_MD_CTX_free(vc);
        EVP_MD_CTX_free(hc);
    }
    EVP_PKEY_free(key);
}

static void
test_fix_eol(void **state)
{
    char   out[64];
    size_t n = ta_dkim_fix_eol("a\nb\rc\r\nd", 8, out);

    (void) state;
    assert_int_equal(n, 10);
    assert_memory_equal(out, "a\r\nb\r\nc\r\nd", n);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc6376_example),
        cmocka_unit_test(test_header_canon_reference),
        cmocka_unit_test(test_empty_body),
        cmocka_unit_test(test_rfc_body_hashes),
        cmocka_unit_test(test_chunking),
        cmocka_unit_test(test_text_blocks),
        cmocka_unit_test(test_rfc8463_in_process),
        cmocka_unit_test(test_ed25519_matches_openssl),
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_key_outlives_cache),
        cmocka_unit_test(test_key_secret_follows_key),
        cmocka_unit_test(test_key_cache_wraps),
        cmocka_unit_test(test_signature_field_reference),
        cmocka_unit_test(test_fix_eol),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

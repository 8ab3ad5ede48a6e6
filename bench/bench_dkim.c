/*
 * bench_dkim - DKIM signing throughput beside the OpenSSL floor measured
 * in the same run. Not a test: prints one table.
 *
 * For 2 KB, 50 KB and 5 MB messages and each algorithm: messages/s and MB/s
 * for a whole signature (header parse, canonicalisation, body hash, sign),
 * keys loaded through the key cache as the adapters load them. Floors:
 * the raw sign operation alone (RSA-2048, Ed25519; and libsodium's Ed25519,
 * which tenantalign signs with, beside it), SHA-256 over 16 KB blocks,
 * and our relaxed body canonicalisation + hash over the same text. Rates
 * are medians of 5 runs; every ratio is the median of 21 short alternating
 * pairs (ours, then its floor), so that the machine's drift falls on both
 * sides of it.
 *
 * usage: bench_dkim [--csv] [seconds-per-measurement]   (default 0.3)
 * --csv: only "SIZE ALG MSGS_PER_S" lines, for bench/dkim/peers.sh
 */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "ta_dkim.h"
#include "ta_ed25519.h"
#include "ta_keys.h"

#define RUNS 5

static double budget = 0.3;

typedef void (*op_t)(void *ctx);

/* rate_once - operations per second of fn over one timed run of secs */
static double
rate_once(op_t fn, void *ctx, double secs)
{
    double t0 = bench_now(), t;
    long   n = 0;

    do {
        fn(ctx);
        n++;
    } while ((t = bench_now()) - t0 < secs);
    return n / (t - t0);
}

/* rate - median operations per second of fn over RUNS timed runs */
static double
rate(op_t fn, void *ctx)
{
    double r[RUNS];
    int    i;

    fn(ctx);        /* warm up */
    for (i = 0; i < RUNS; i++)
        r[i] = rate_once(fn, ctx, budget / RUNS);
    return bench_median(r, RUNS);
}

/* make_message - a plausible message of about size bytes, CRLF */
static char *
make_message(size_t size, size_t *len)
{
    static const char hdr[] =
        "Received: from client.example (client.example [192.0.2.1]) by relay.example\r\n"
        "\twith ESMTPSA id 1a2b3c; Tue, 24 Nov 2026 10:00:00 +0000\r\n"
        "From: \"Acme Newsletter\" <news@acme.example>\r\n"
        "To: Customer <someone@customer.example>\r\n"
        "Subject: Your November statement is ready\r\n"
        "Date: Tue, 24 Nov 2026 10:00:00 +0000\r\n"
        "Message-ID: <20261124100000.1234@acme.example>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "List-Unsubscribe: <https://acme.example/u/1234>\r\n"
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n\r\n";
    /* plain text as mail carries it: mostly clean lines, a double space
     * after a full stop, a trailing space, an empty line */
    static const char line[] =
        "Dear customer, your statement for November is ready. You can see it online.\r\n"
        "It lists every payment we received this month.  Log in to download it.\r\n"
        "Thank you for your business. \r\n"
        "\r\n";
    char  *m = malloc(size + sizeof(hdr) + sizeof(line));
    size_t n = sizeof(hdr) - 1;

    memcpy(m, hdr, n);
    while (n < size) {
        memcpy(m + n, line, sizeof(line) - 1);
        n += sizeof(line) - 1;
    }
    *len = n;
    return m;
}

/* make_base64 - an attachment's body: 76-column base64 lines, CRLF */
static char *
make_base64(size_t size, size_t *len)
{
    static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char    *m = malloc(size + 80);
    size_t   n = 0, k;
    unsigned x = 12345;

    while (n < size) {
        for (k = 0; k < 76; k++) {
            x = x * 1103515245u + 12345u;
            m[n++] = b64[(x >> 16) & 63];
        }
        m[n++] = '\r';
        m[n++] = '\n';
    }
    *len = n;
    return m;
}

typedef struct {
    const char        *msg;
    size_t             len;
    EVP_PKEY          *key;
    ta_dkim_alg_t      alg;
    ta_header_field_t *fields;
    unsigned char      secret[TA_ED25519_SECRET_LEN];   /* Ed25519, from the key cache */
} sign_ctx_t;

/* cached - the key as the adapters hold it: through the key cache (which
 * keeps an Ed25519 key's secret for libsodium beside it) */
static EVP_PKEY *
cached(EVP_PKEY *k, ta_dkim_alg_t alg)
{
    char      path[] = "/tmp/bench-dkim-keyXXXXXX", err[300];
    int       fd = mkstemp(path);
    FILE     *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    EVP_PKEY *out = NULL;

    if (f == NULL || PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) != 1 || fclose(f) != 0
        || ta_key_get(path, alg, &out, err, sizeof(err)) != TA_OK) {
        fprintf(stderr, "bench_dkim: cannot load a key through the cache (%s)\n", path);
        exit(1);
    }
    unlink(path);
    EVP_PKEY_free(k);
    return out;
}

/* sign_message - one whole signature, as an adapter makes it */
static void
sign_message(void *p)
{
    sign_ctx_t    *c = p;
    ta_dkim_opts_t o;
    ta_dkim_t     *d;
    ta_headers_t   h;
    char           out[4096], err[128];
    size_t         olen, i;

    memset(&o, 0, sizeof(o));
    o.timestamp = 1790000000;
    d = ta_dkim_new(&o);
    ta_dkim_add_signer(d, ta_str("acme.example", 12), ta_str("s1", 2), c->alg, c->key, err, sizeof(err));
    ta_headers_parse(&h, c->msg, c->len, TA_EOL_CRLF, c->fields, 64);
    ta_dkim_headers(d, &h);
    /* the body as it arrives from a socket: 16 KB reads */
    for (i = h.body_offset; i < c->len; i += 16384)
        ta_dkim_body(d, c->msg + i, c->len - i < 16384 ? c->len - i : 16384);
    if (ta_dkim_finish(d, out, sizeof(out), &olen, NULL, err, sizeof(err)) != TA_OK) {
        fprintf(stderr, "bench_dkim: %s\n", err);
        exit(1);
    }
    ta_dkim_free(d);
}

/* raw_sign - the OpenSSL floor: one signature over a 32-byte digest */
static void
raw_sign(void *p)
{
    sign_ctx_t    *c = p;
    unsigned char  dg[32] = { 1 }, sig[512];
    size_t         slen = sizeof(sig);
    EVP_PKEY_CTX  *pc;
    EVP_MD_CTX    *mc;

    if (c->alg == TA_ALG_RSA_SHA256) {
        pc = EVP_PKEY_CTX_new(c->key, NULL);
        EVP_PKEY_sign_init(pc);
        EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING);
        EVP_PKEY_CTX_set_signature_md(pc, EVP_sha256());
        EVP_PKEY_sign(pc, sig, &slen, dg, sizeof(dg));
        EVP_PKEY_CTX_free(pc);
    } else {
        mc = EVP_MD_CTX_new();
        EVP_DigestSignInit(mc, NULL, NULL, NULL, c->key);
        EVP_DigestSign(mc, sig, &slen, dg, sizeof(dg));
        EVP_MD_CTX_free(mc);
    }
}

/* sodium_sign - the same Ed25519 signature as tenantalign makes it (libsodium) */
static void
sodium_sign(void *p)
{
    sign_ctx_t    *c = p;
    unsigned char  dg[32] = { 1 }, sig[64];

    ta_ed25519_sign_secret(c->secret, dg, sizeof(dg), sig);
}

typedef struct {
    const char *data;
    size_t      len;
} buf_ctx_t;

/*
 * sign_vs_floor - our msgs/s for a row and its ratio to the sign floor:
 * short runs of the two alternate, PAIRS times; medians of our rates and
 * of the per-pair ratios, so that the machine's drift falls on both sides
 */
#define PAIRS 21

static void
sign_vs_floor(void *c, double *ours, double *ratio)
{
    double o[PAIRS], q[PAIRS], f;
    int    i;

    sign_message(c);
    for (i = 0; i < PAIRS; i++) {
        f = rate_once(raw_sign, c, budget / PAIRS);
        o[i] = rate_once(sign_message, c, budget / PAIRS);
        q[i] = o[i] / f;
    }
    *ours = bench_median(o, PAIRS);
    *ratio = bench_median(q, PAIRS);
}

/* sha256_only - the hash floor over the same bytes */
static void
sha256_only(void *p)
{
    buf_ctx_t    *b = p;
    unsigned char h[32];
    unsigned      hl;
    EVP_MD_CTX   *mc = EVP_MD_CTX_new();
    size_t        i;

    EVP_DigestInit_ex(mc, EVP_sha256(), NULL);
    for (i = 0; i < b->len; i += 16384)
        EVP_DigestUpdate(mc, b->data + i, b->len - i < 16384 ? b->len - i : 16384);
    EVP_DigestFinal_ex(mc, h, &hl);
    EVP_MD_CTX_free(mc);
}

/* canon_relaxed - our relaxed body canonicalisation + hash */
static void
canon_relaxed(void *p)
{
    static ta_body_canon_t c;
    buf_ctx_t    *b = p;
    unsigned char h[32];
    size_t        i;

    ta_body_canon_init(&c, TA_CANON_RELAXED, TA_EOL_CRLF, NULL);
    for (i = 0; i < b->len; i += 16384)
        ta_body_canon_update(&c, b->data + i, b->len - i < 16384 ? b->len - i : 16384);
    ta_body_canon_final(&c, h);
    ta_body_canon_free(&c);
}

/*
 * body_rates - MB/s of sha256 alone and of our canonicalisation + hash over
 * one 5 MB body, and their ratio: the two passes alternate, PAIRS times,
 * and the ratio is the median of each pair's, so that the machine's drift
 * falls on both sides of a ratio alike.
 */
static void
body_rates(char *(*make)(size_t, size_t *), double *sha, double *can, double *ratio)
{
    double    ts[PAIRS], tc[PAIRS], r[PAIRS], t0;
    buf_ctx_t b;
    size_t    len;
    int       i;

    b.data = make(5 * 1024 * 1024, &len);
    b.len = len;
    sha256_only(&b);
    canon_relaxed(&b);
    for (i = 0; i < PAIRS; i++) {
        t0 = bench_now();
        sha256_only(&b);
        ts[i] = bench_now() - t0;
        t0 = bench_now();
        canon_relaxed(&b);
        tc[i] = bench_now() - t0;
        r[i] = ts[i] / tc[i];
    }
    *sha = len / bench_median(ts, PAIRS) / 1e6;
    *can = len / bench_median(tc, PAIRS) / 1e6;
    *ratio = bench_median(r, PAIRS);
    free((char *) b.data);
}

int
main(int argc, char **argv)
{
    static const size_t sizes[] = { 2048, 50 * 1024, 5 * 1024 * 1024 };
    static const char *const names[] = { "2 KB", "50 KB", "5 MB" };
    EVP_PKEY          *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 2048);
    EVP_PKEY          *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    static ta_header_field_t fields[64];
    sign_ctx_t         c;
    double             floor_rsa, floor_ed, sodium_ed, r, sha, can, sha64, can64, ratio, ratio64;
    size_t             s, len;
    int                a;
    char              *msg;

    int                csv = argc > 1 && strcmp(argv[1], "--csv") == 0;

    if (argc > 1 + csv)
        budget = atof(argv[1 + csv]);
    rsa = cached(rsa, TA_ALG_RSA_SHA256);
    ed = cached(ed, TA_ALG_ED25519_SHA256);
    if (csv) {
        c.fields = fields;
        for (s = 0; s < 3; s++) {
            msg = make_message(sizes[s], &len);
            c.msg = msg;
            c.len = len;
            for (a = 0; a < 2; a++) {
                c.alg = a ? TA_ALG_ED25519_SHA256 : TA_ALG_RSA_SHA256;
                c.key = a ? ed : rsa;
                printf("%zu %s %.1f\n", sizes[s], a ? "ed25519" : "rsa2048", rate(sign_message, &c));
            }
            free(msg);
        }
        return 0;
    }
    c.fields = fields;
    c.key = rsa;
    c.alg = TA_ALG_RSA_SHA256;
    floor_rsa = rate(raw_sign, &c);
    c.key = ed;
    c.alg = TA_ALG_ED25519_SHA256;
    floor_ed = rate(raw_sign, &c);
    ta_key_ed25519_secret(ed, c.secret);
    sodium_ed = rate(sodium_sign, &c);
    body_rates(make_message, &sha, &can, &ratio);
    body_rates(make_base64, &sha64, &can64, &ratio64);

    printf("## DKIM signing, one core (medians of %d runs)\n\n", RUNS);
    printf("| floor (OpenSSL, same run) | rate |\n|---|---|\n");
    printf("| rsa2048 sign | %.0f/s (%.0f us) |\n", floor_rsa, 1e6 / floor_rsa);
    printf("| ed25519 sign | %.0f/s (%.0f us) |\n", floor_ed, 1e6 / floor_ed);
    printf("| ed25519 sign by libsodium, as tenantalign signs (not OpenSSL) | %.0f/s (%.0f us) = %.2f x OpenSSL |\n",
           sodium_ed, 1e6 / sodium_ed, sodium_ed / floor_ed);
    printf("| sha256, 16 KB blocks | %.0f MB/s |\n", sha);
    printf("| relaxed body canonicalisation + sha256 (ours), plain text | %.0f MB/s = %.2f x sha256 (target >= 0.80) |\n",
           can, ratio);
    printf("| the same, base64 attachment body | %.0f MB/s = %.2f x sha256 (%.0f MB/s) |\n\n",
           can64, ratio64, sha64);
    printf("| message | alg | msgs/s | MB/s | ratio to sign floor (median of %d alternating pairs) |\n"
           "|---|---|---|---|---|\n", PAIRS);
    for (s = 0; s < 3; s++) {
        msg = make_message(sizes[s], &len);
        c.msg = msg;
        c.len = len;
        for (a = 0; a < 2; a++) {
            c.alg = a ? TA_ALG_ED25519_SHA256 : TA_ALG_RSA_SHA256;
            c.key = a ? ed : rsa;
            sign_vs_floor(&c, &r, &ratio);
            printf("| %s | %s | %.0f | %.1f | %.2f%s |\n", names[s], a ? "ed25519" : "rsa2048", r,
                   r * len / 1e6, ratio,
                   s == 0 ? (a ? " (target >= 0.60)" : " (target >= 0.95)") : "");
        }
        free(msg);
    }
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ed);
    return 0;
}

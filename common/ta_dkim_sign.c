/*
 * NAME
 *	ta_dkim_sign 3
 * SUMMARY
 *	DKIM signatures (rsa-sha256, ed25519-sha256) of one message
 * SYNOPSIS
 *	#include "ta_dkim.h"
 * DESCRIPTION
 *	See ta_dkim.h. The selected header fields are canonicalised once into
 *	a buffer shared by every signer; each signer then hashes that buffer
 *	and its own DKIM-Signature field (b= empty), and signs.
 *
 *	The field is laid out as RFC 8463's examples are: tags in the order
 *	v a c d [i] q s t [x] h bh b, h= names separated by " : ", folded
 *	before a tag or an h= name (with its colon) that would pass column
 *	59, b= on its own lines. With the RFC's keys, message, --headers and --timestamp the
 *	output is the published one byte for byte.
 * STANDARDS
 *	RFC 6376 3.5, 3.7, 5.4 and 5.4.2 (several instances of a field are
 *	signed from the bottom up; a name listed more often than the field is
 *	present signs nothing, and so forbids adding one); RFC 8301; RFC 8463.
 */
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ta_dkim.h"
#include "ta_ed25519.h"
#include "ta_keys.h"

#define FOLD_WIDTH 59

/* signed, and oversigned, when the caller names none; in lower case, as
 * h= has them (ta_dkim_headers lowercases only names a caller gives) */
const char *const ta_dkim_default_headers[] = {
    "from", "to", "cc", "subject", "date", "message-id", "reply-to", "sender",
    "in-reply-to", "references", "mime-version", "content-type",
    "content-transfer-encoding", "list-unsubscribe", "list-unsubscribe-post",
    "list-id"
};
const size_t ta_dkim_ndefault_headers =
    sizeof(ta_dkim_default_headers) / sizeof(ta_dkim_default_headers[0]);

typedef struct {
    char           domain[256];
    char           selector[64];
    ta_dkim_alg_t  alg;
    EVP_PKEY      *key;
    unsigned char  secret[TA_ED25519_SECRET_LEN];   /* Ed25519, for libsodium */
} signer_t;

struct ta_dkim {
    ta_dkim_opts_t  opts;
    long long       t;
    signer_t        signers[TA_DKIM_MAX_SIGNERS];
    size_t          nsigners;
    char           *hdata;          /* canonical selected fields */
    size_t          hlen;
    char           *hlist;          /* "from : to : ..." */
    size_t          hlist_len;
    int             headers_done;
    ta_body_canon_t body;
};

/* ta_dkim_new - a signing context; NULL when out of memory */
ta_dkim_t *
ta_dkim_new(const ta_dkim_opts_t *opts)
{
    ta_dkim_t *d = malloc(sizeof(*d));

    if (d == NULL)
        return NULL;
    memset(d, 0, offsetof(ta_dkim_t, body));
    d->opts = *opts;
    if (d->opts.sha256 == NULL)
        d->opts.sha256 = EVP_sha256();
    d->t = opts->timestamp ? opts->timestamp : (long long) time(NULL);
    if (ta_body_canon_init(&d->body, opts->body_canon, opts->eol, d->opts.sha256) != TA_OK) {
        free(d);
        return NULL;
    }
    return d;
}

/* copy_label - a bounded, checked copy of a domain or selector */
static int
copy_label(char *dst, size_t size, ta_str_t s)
{
    size_t i;

    if (s.len == 0 || s.len >= size)
        return 0;
    for (i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char) s.data[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
              || c == '-' || c == '.' || c == '_'))
            return 0;
    }
    memcpy(dst, s.data, s.len);
    dst[s.len] = '\0';
    return 1;
}

/* ta_dkim_add_signer - one more signature; err may hold a warning on success */
int
ta_dkim_add_signer(ta_dkim_t *d, ta_str_t domain, ta_str_t selector, ta_dkim_alg_t alg,
    EVP_PKEY *key, char *err, size_t errlen)
{
    signer_t *s;
    int       id = EVP_PKEY_get_base_id(key), bits;

    if (errlen)
        err[0] = '\0';
    if (d->nsigners == TA_DKIM_MAX_SIGNERS) {
        snprintf(err, errlen, "more than %d signatures", TA_DKIM_MAX_SIGNERS);
        return TA_EINPUT;
    }
    s = &d->signers[d->nsigners];
    if (!copy_label(s->domain, sizeof(s->domain), domain)
        || !copy_label(s->selector, sizeof(s->selector), selector)) {
        snprintf(err, errlen, "invalid d= or s= value");
        return TA_EINPUT;
    }
    if (alg == TA_ALG_RSA_SHA256) {
        if (id != EVP_PKEY_RSA) {
            snprintf(err, errlen, "key for s=%s is not an RSA key", s->selector);
            return TA_EINPUT;
        }
        bits = EVP_PKEY_get_bits(key);
        if (bits < 1024) {
            snprintf(err, errlen, "RSA key for s=%s has %d bits; RFC 8301 requires at least 1024", s->selector, bits);
            return TA_EINPUT;
        }
        if (bits < 2048)
            snprintf(err, errlen, "warning: RSA key for s=%s has %d bits; use 2048 or more", s->selector, bits);
    } else if (id != EVP_PKEY_ED25519 || !ta_key_ed25519_secret(key, s->secret)) {
        snprintf(err, errlen, "key for s=%s is not an Ed25519 key", s->selector);
        return TA_EINPUT;
    }
    if (EVP_PKEY_up_ref(key) != 1) {
        snprintf(err, errlen, "out of memory");
        return TA_ESYSTEM;
    }
    s->alg = alg;
    s->key = key;       /* our own reference: the key cache may drop its own meanwhile */
    d->nsigners++;
    return TA_OK;
}

/* reserve - room for n more bytes and a NUL in a heap buffer */
static int
reserve(char **buf, size_t len, size_t *cap, size_t n)
{
    char  *nb;
    size_t c;

    if (len + n + 1 <= *cap)
        return TA_OK;
    c = *cap ? *cap : 1024;
    while (c < len + n + 1)
        c *= 2;
    nb = realloc(*buf, c);
    if (nb == NULL)
        return TA_ESYSTEM;
    *buf = nb;
    *cap = c;
    return TA_OK;
}

/* append - grow-and-copy into a heap buffer */
static int
append(char **buf, size_t *len, size_t *cap, const char *p, size_t n)
{
    if (reserve(buf, *len, cap, n) != TA_OK)
        return TA_ESYSTEM;
    memcpy(*buf + *len, p, n);
    *len += n;
    (*buf)[*len] = '\0';
    return TA_OK;
}

/* ta_dkim_headers - choose and canonicalise the fields to sign */
int
ta_dkim_headers(ta_dkim_t *d, const ta_headers_t *h)
{
    const char *const *names = d->opts.headers;
    size_t             nnames = d->opts.nheaders, i, j, k, present, used, reps;
    size_t             hcap = 0, lcap = 0;
    int                rc = TA_OK;

    if (names == NULL) {
        names = ta_dkim_default_headers;
        nnames = ta_dkim_ndefault_headers;
    }
    for (i = 0; i < nnames && rc == TA_OK; i++) {
        ta_str_t name = ta_str_cstr(names[i]);

        present = ta_headers_count(h, name);
        if (d->opts.headers == NULL) {
            reps = present + 1;         /* oversign */
            used = 0;
        } else {
            /* explicit list: this is the (used+1)-th mention of the name */
            for (used = 0, j = 0; j < i; j++)
                used += ta_str_caseeq(ta_str_cstr(names[j]), name);
            reps = 1;
        }
        for (k = 0; k < reps && rc == TA_OK; k++, used++) {
            if (d->hlist_len)
                rc = append(&d->hlist, &d->hlist_len, &lcap, " : ", 3);
            if (rc == TA_OK)
                rc = append(&d->hlist, &d->hlist_len, &lcap, name.data, name.len);
            /* h= in lower case; the default names are already */
            if (rc == TA_OK && d->opts.headers != NULL) {
                char *q = d->hlist + d->hlist_len - name.len;

                for (j = 0; j < name.len; j++)
                    q[j] = (char) ((q[j] >= 'A' && q[j] <= 'Z') ? q[j] + ('a' - 'A') : q[j]);
            }
            if (used >= present || rc != TA_OK)
                continue;                       /* signs "nothing": none may be added */
            /* instances are taken from the bottom up */
            const ta_header_field_t *f = ta_headers_find(h, name, present - 1 - used);
            /* canonicalised in place: the form is never longer than 2 * raw + 2 */
            rc = reserve(&d->hdata, d->hlen, &hcap, 2 * f->raw.len + 2);
            if (rc == TA_OK) {
                d->hlen += ta_header_canon(d->opts.header_canon, d->opts.eol, f->raw, d->hdata + d->hlen);
                d->hdata[d->hlen] = '\0';
            }
        }
    }
    if (rc == TA_OK && d->hlist_len == 0)
        rc = TA_EINPUT;
    d->headers_done = rc == TA_OK;
    return rc;
}

/* ta_dkim_body - hash a chunk of the body */
int
ta_dkim_body(ta_dkim_t *d, const char *chunk, size_t len)
{
    ta_body_canon_update(&d->body, chunk, len);
    return TA_OK;
}

/*
 * The DKIM-Signature field being written: folded, and for relaxed header
 * canonicalisation its canonical form beside it (unfolded, the name in
 * lower case, no space after the colon), so that the field is not
 * canonicalised again once built. Both halves of one buffer sized for
 * the longest field; a write past it sets oom.
 */
typedef struct {
    char   *p;          /* the folded field */
    size_t  len, col;
    char   *c;          /* its relaxed canonical form, or NULL */
    size_t  clen;
    size_t  cap;        /* of each half */
    int     first;      /* the value's first token: no space in c */
    int     oom;
} field_t;

/* field_room - n more bytes at the end of the folded field, or NULL (and
 * oom set) when they would pass the buffer */
static char *
field_room(field_t *f, size_t n)
{
    char *p;

    if (f->oom || n > f->cap - f->len) {
        f->oom = 1;
        return NULL;
    }
    p = f->p + f->len;
    f->len += n;
    f->col += n;
    return p;
}

/* field_raw - bytes of the folded field alone (folds, the b= value) */
static void
field_raw(field_t *f, const char *s, size_t n)
{
    char *p = field_room(f, n);

    if (p != NULL)
        memcpy(p, s, n);
}

/* field_put - bytes of the field and of its canonical form */
static void
field_put(field_t *f, const char *s, size_t n)
{
    field_raw(f, s, n);
    if (f->c == NULL || f->oom)
        return;
    memcpy(f->c + f->clen, s, n);       /* clen <= len: it fits */
    f->clen += n;
}

/* field_tag - " tag=value;" as one token ("d=" "example.com" ";"), folded
 * first when it would pass the width; written once and copied whole to the
 * canonical form, less the space before the first tag */
static void
field_tag(field_t *f, const char *tag, size_t tl, const char *v, size_t vlen,
    const char *end, size_t el)
{
    size_t n = 1 + tl + vlen + el, skip;
    char  *p;

    if (f->col + n > FOLD_WIDTH) {
        field_raw(f, "\r\n", 2);
        f->col = 0;
    }
    p = field_room(f, n);
    if (p == NULL)
        return;
    p[0] = ' ';
    memcpy(p + 1, tag, tl);
    memcpy(p + 1 + tl, v, vlen);
    memcpy(p + 1 + tl + vlen, end, el);
    skip = f->first;
    f->first = 0;
    if (f->c != NULL) {
        memcpy(f->c + f->clen, p + skip, n - skip);     /* clen <= len: it fits */
        f->clen += n - skip;
    }
}

#define field_tag_s(f, tag, v, vlen, end) \
    field_tag(f, tag, sizeof(tag) - 1, v, vlen, end, sizeof(end) - 1)

/* field_num - " tag=N;" */
static void
field_num(field_t *f, const char *tag, size_t tl, long long v)
{
    char  num[24];
    char *p = ta_str_dec(num + sizeof(num), v < 0 ? 0 - (unsigned long long) v : (unsigned long long) v);

    if (v < 0)
        *--p = '-';
    field_tag(f, tag, tl, p, (size_t) (num + sizeof(num) - p), ";", 1);
}

/* canon_plain - text whose relaxed form is itself: printable ASCII and
 * single spaces (domains and selectors are checked when added) */
static int
canon_plain(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char) s[i];
        if (ch > 0x7e || ch < 0x20 || (ch == ' ' && i + 1 < n && s[i + 1] == ' '))
            return 0;
    }
    return 1;
}

/* field_size - room for the longest field: every tag at its longest, the
 * h= names and i= with a fold before each, b= for an 8192-bit key */
static size_t
field_size(const ta_dkim_t *d)
{
    size_t ilen = d->opts.identity ? strlen(d->opts.identity) : 0;

    return 4096 + 2 * ilen + 3 * d->hlist_len;
}

/* build_field - the DKIM-Signature field up to and including "b=" */
static void
build_field(const ta_dkim_t *d, const signer_t *s, const char *bh, field_t *f)
{
    static const char *const canon[2][2] = {
        { "simple/simple", "simple/relaxed" }, { "relaxed/simple", "relaxed/relaxed" }
    };
    const char *p, *end, *sep, *v;

    f->len = 0;
    f->col = 0;
    f->clen = 0;
    f->first = 1;
    field_raw(f, "DKIM-Signature:", 15);
    if (f->c != NULL) {
        memcpy(f->c, "dkim-signature:", 15);
        f->clen = 15;
    }
    field_tag_s(f, "v=", "1", 1, ";");
    if (s->alg == TA_ALG_RSA_SHA256)
        field_tag_s(f, "a=", "rsa-sha256", 10, ";");
    else
        field_tag_s(f, "a=", "ed25519-sha256", 14, ";");
    v = canon[d->opts.header_canon != TA_CANON_SIMPLE][d->opts.body_canon != TA_CANON_SIMPLE];
    field_tag_s(f, "c=", v, strlen(v), ";");
    field_tag_s(f, "d=", s->domain, strlen(s->domain), ";");
    if (d->opts.identity)
        field_tag_s(f, "i=", d->opts.identity, strlen(d->opts.identity), ";");
    field_tag_s(f, "q=", "dns/txt", 7, ";");
    field_tag_s(f, "s=", s->selector, strlen(s->selector), ";");
    field_num(f, "t=", 2, d->t);
    if (d->opts.expire > 0)
        field_num(f, "x=", 2, d->t + d->opts.expire);
    /* h=: each name with the " :" after it as one token, so that a line
     * never starts with a colon */
    p = d->hlist;
    end = d->hlist + d->hlist_len;
    while (p < end) {
        size_t tl = p == d->hlist ? 2 : 0;

        for (sep = p; (sep = memchr(sep, ' ', (size_t) (end - sep))) != NULL; sep++) {
            if (end - sep >= 3 && sep[1] == ':' && sep[2] == ' ')
                break;
        }
        if (sep != NULL)
            field_tag(f, "h=", tl, p, (size_t) (sep - p), " :", 2);
        else
            field_tag(f, "h=", tl, p, (size_t) (end - p), ";", 1);
        p = sep ? sep + 3 : end;
    }
    field_tag_s(f, "bh=", bh, strlen(bh), ";");
    field_raw(f, "\r\n", 2);
    field_put(f, " b=", 3);
    f->col = 3;
}

/* sign_one - the b= value of one signer */
static int
sign_one(const ta_dkim_t *d, const signer_t *s, const char *canon_field, size_t cflen,
    char *b64, size_t b64size, char *err, size_t errlen)
{
    EVP_MD_CTX   *ctx = EVP_MD_CTX_new();
    unsigned char sig[1024], hash[32];
    size_t        siglen = sizeof(sig);
    unsigned      hlen = 32;
    int           ok = 0;

    if (ctx == NULL) {
        snprintf(err, errlen, "out of memory");
        return TA_ESYSTEM;
    }
    if (s->alg == TA_ALG_RSA_SHA256) {
        ok = EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, s->key) == 1
             && EVP_PKEY_get_size(s->key) <= (int) sizeof(sig)
             && EVP_DigestSignUpdate(ctx, d->hdata, d->hlen) == 1
             && EVP_DigestSignUpdate(ctx, canon_field, cflen) == 1
             && EVP_DigestSignFinal(ctx, sig, &siglen) == 1;
    } else {
        /* RFC 8463: Ed25519 (pure) over the SHA-256 of the header data */
        ok = EVP_DigestInit_ex(ctx, d->opts.sha256, NULL) == 1
             && EVP_DigestUpdate(ctx, d->hdata, d->hlen) == 1
             && EVP_DigestUpdate(ctx, canon_field, cflen) == 1
             && EVP_DigestFinal_ex(ctx, hash, &hlen) == 1
             && ta_ed25519_sign_secret(s->secret, hash, sizeof(hash), sig);
        siglen = 64;
    }
    EVP_MD_CTX_free(ctx);
    if (!ok || b64size < 4 * ((siglen + 2) / 3) + 1) {
        snprintf(err, errlen, "signing with s=%s failed", s->selector);
        return TA_ESYSTEM;
    }
    EVP_EncodeBlock((unsigned char *) b64, sig, (int) siglen);
    return TA_OK;
}

/* put_out - copy to the caller's buffer, CRLF turned into its eol */
static int
put_out(const ta_dkim_t *d, char *out, size_t outsize, size_t *outlen, const char *p, size_t n)
{
    size_t i;

    if (d->opts.eol == TA_EOL_CRLF) {
        if (*outlen + n >= outsize)
            return TA_ESYSTEM;
        memcpy(out + *outlen, p, n);
        *outlen += n;
        out[*outlen] = '\0';
        return TA_OK;
    }
    for (i = 0; i < n; i++) {
        if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n')
            continue;
        if (*outlen + 1 >= outsize)
            return TA_ESYSTEM;
        out[(*outlen)++] = p[i];
    }
    out[*outlen] = '\0';
    return TA_OK;
}

/* ta_dkim_finish - every signature field, in the order of the signers */
int
ta_dkim_finish(ta_dkim_t *d, char *out, size_t outsize, size_t *outlen, size_t *ends,
    char *err, size_t errlen)
{
    unsigned char bh[32];
    char          bh64[48], b64[1400], *buf, *canon;
    size_t        i, cflen, o, n;
    field_t       f;
    int           rc = TA_OK, plain;

    *outlen = 0;
    if (outsize)
        out[0] = '\0';
    if (!d->headers_done || d->nsigners == 0) {
        snprintf(err, errlen, "nothing to sign (no headers or no key)");
        return TA_EINPUT;
    }
    memset(&f, 0, sizeof(f));
    f.cap = field_size(d);
    buf = malloc(2 * f.cap);
    if (buf == NULL) {
        snprintf(err, errlen, "out of memory");
        return TA_ESYSTEM;
    }
    f.p = buf;
    /* the canonical form is written beside the field unless some text in
     * it would change under relaxed canonicalisation */
    plain = d->opts.header_canon != TA_CANON_SIMPLE && canon_plain(d->hlist, d->hlist_len)
            && (d->opts.identity == NULL || canon_plain(d->opts.identity, strlen(d->opts.identity)));
    ta_body_canon_final(&d->body, bh);
    EVP_EncodeBlock((unsigned char *) bh64, bh, 32);
    for (i = 0; i < d->nsigners && rc == TA_OK; i++) {
        f.c = plain ? buf + f.cap : NULL;
        f.oom = 0;
        build_field(d, &d->signers[i], bh64, &f);
        if (f.oom) {
            snprintf(err, errlen, "signature field too long");
            rc = TA_ESYSTEM;
            break;
        }
        /* the field as hashed: canonicalised, b= empty, no final CRLF */
        if (d->opts.header_canon == TA_CANON_SIMPLE) {
            canon = f.p;
            cflen = f.len;
        } else if (plain) {
            canon = f.c;
            cflen = f.clen;
        } else {
            canon = buf + f.cap;
            cflen = ta_header_canon(d->opts.header_canon, TA_EOL_CRLF, ta_str(f.p, f.len), canon) - 2;
        }
        rc = sign_one(d, &d->signers[i], canon, cflen, b64, sizeof(b64), err, errlen);
        if (rc != TA_OK)
            break;
        /* b= folded at the same width */
        n = strlen(b64);
        for (o = 0; o < n; ) {
            size_t room = FOLD_WIDTH - f.col, take = n - o < room ? n - o : room;
            field_raw(&f, b64 + o, take);
            o += take;
            if (o < n) {
                field_raw(&f, "\r\n ", 3);
                f.col = 1;
            }
        }
        field_raw(&f, "\r\n", 2);
        if (f.oom || put_out(d, out, outsize, outlen, f.p, f.len) != TA_OK) {
            snprintf(err, errlen, "signature does not fit the output buffer");
            rc = TA_ESYSTEM;
        } else if (ends) {
            ends[i] = *outlen;
        }
    }
    free(buf);
    return rc;
}

/* ta_dkim_free - release the context and its references to the keys */
void
ta_dkim_free(ta_dkim_t *d)
{
    size_t i;

    if (d == NULL)
        return;
    for (i = 0; i < d->nsigners; i++) {
        EVP_PKEY_free(d->signers[i].key);
        if (d->signers[i].alg == TA_ALG_ED25519_SHA256)
            ta_ed25519_wipe(d->signers[i].secret);
    }
    ta_body_canon_free(&d->body);
    free(d->hdata);
    free(d->hlist);
    free(d);
}

/* ta_dkim_fix_eol - bare CR or LF to CRLF; out holds 2 * len; returns length */
size_t
ta_dkim_fix_eol(const char *in, size_t len, char *out)
{
    size_t i, n = 0;

    for (i = 0; i < len; i++) {
        if (in[i] == '\r') {
            out[n++] = '\r';
            out[n++] = '\n';
            if (i + 1 < len && in[i + 1] == '\n')
                i++;
        } else if (in[i] == '\n') {
            out[n++] = '\r';
            out[n++] = '\n';
        } else {
            out[n++] = in[i];
        }
    }
    return n;
}

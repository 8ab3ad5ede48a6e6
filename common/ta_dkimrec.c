/*
 * NAME
 *	ta_dkimrec 3
 * SUMMARY
 *	DKIM key records: parse what a customer published, write what we publish
 * SYNOPSIS
 *	#include "ta_dkimrec.h"
#include "ta_keys.h"
 * DESCRIPTION
 *	See ta_dkimrec.h. One pass over the tag-list, each tag checked against
 *	those seen before (a key record has a handful; the list is bounded),
 *	then the values that need it are read: k=, t=, s=, h= and p=.
 */
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

#include "ta_dkimrec.h"
#include "ta_keys.h"

/* is_wsp - SP or HTAB */
static int
is_wsp(char c)
{
    return c == ' ' || c == '\t';
}

/* is_alpha - an ASCII letter */
static int
is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* skip_fws - the offset after folding whitespace at p[i..len): WSP, and
 * CRLF only when WSP follows it (RFC 5322 FWS without obsolete forms) */
static size_t
skip_fws(const char *p, size_t len, size_t i)
{
    for (;;) {
        if (i < len && is_wsp(p[i]))
            i++;
        else if (i + 2 < len && p[i] == '\r' && p[i + 1] == '\n' && is_wsp(p[i + 2]))
            i += 3;
        else
            return i;
    }
}

/* ta_taglist_init - read a tag-list from its start */
void
ta_taglist_init(ta_taglist_t *tl, const char *p, size_t len, int nocase)
{
    tl->p = p;
    tl->len = len;
    tl->pos = 0;
    tl->nocase = nocase;
    tl->n = 0;
}

/* spec - one tag-spec of an RFC 6376 3.2 tag-list, syntax only */
static int
spec(ta_taglist_t *tl, ta_tag_t *tag, const char **why)
{
    const char *p = tl->p;
    size_t      len = tl->len, i = skip_fws(p, len, tl->pos), start, end;

    if (i >= len) {
        tl->pos = len;
        return 0;
    }
    if (p[i] == ';') {
        /* ";;" or a list starting with ";": the caller decides */
        tag->name = ta_str(p + i, 0);
        tag->value = ta_str(p + i, 0);
        tl->pos = i + 1;
        return 1;
    }
    if (!is_alpha(p[i])) {
        *why = "a tag name does not start with a letter";
        return -1;
    }
    start = i;
    while (i < len && (is_alpha(p[i]) || (p[i] >= '0' && p[i] <= '9') || p[i] == '_'))
        i++;
    tag->name = ta_str(p + start, i - start);
    i = skip_fws(p, len, i);
    if (i >= len || p[i] != '=') {
        *why = "a tag name is not followed by '='";
        return -1;
    }
    i = skip_fws(p, len, i + 1);
    start = end = i;
    while (i < len && p[i] != ';') {
        unsigned char c = (unsigned char) p[i];
        size_t        j;

        if (c >= 0x21 && c <= 0x7e) {
            end = ++i;
            continue;
        }
        /* whitespace inside a value is kept; trailing whitespace is not */
        j = skip_fws(p, len, i);
        if (j == i) {
            *why = "a tag value holds a control character, an 8-bit byte or a bare line break";
            return -1;
        }
        i = j;
    }
    tag->value = ta_str(p + start, end - start);
    tl->pos = i < len ? i + 1 : len;
    return 1;
}

/* ta_taglist_next - the next tag, checked against those seen before */
int
ta_taglist_next(ta_taglist_t *tl, ta_tag_t *tag, const char **why)
{
    size_t i;
    int    rc = spec(tl, tag, why);

    if (rc != 1 || tag->name.len == 0)
        return rc;
    if (tl->n == TA_TAGLIST_MAX) {
        *why = "more than 64 tags";
        return -1;
    }
    for (i = 0; i < tl->n; i++)
        if (tl->nocase ? ta_str_caseeq(tl->seen[i], tag->name) : ta_str_eq(tl->seen[i], tag->name)) {
            *why = "a tag occurs twice (RFC 6376 3.2: the tag-list is invalid)";
            return -1;
        }
    tl->seen[tl->n++] = tag->name;
    return 1;
}

/* field - where the value of a tag this module knows is kept; NULL for others */
static ta_str_t *
field(ta_dkimrec_t *r, ta_str_t name)
{
    if (name.len != 1)
        return NULL;
    switch (name.data[0]) {     /* tag names are case-sensitive (RFC 6376 3.2) */
    case 'v': return &r->v;
    case 'h': return &r->h;
    case 'k': return &r->k;
    case 'n': return &r->n;
    case 'p': return &r->p;
    case 's': return &r->s;
    case 't': return &r->t;
    default: return NULL;
    }
}

/* list_has - a colon-separated list (whitespace around items allowed)
 * holds word, compared without case as ABNF literals are */
static int
list_has(ta_str_t v, const char *word)
{
    ta_str_t w = ta_str_cstr(word);
    size_t   i = 0, start, end;

    while (i <= v.len) {
        start = i;
        while (i < v.len && v.data[i] != ':')
            i++;
        end = i;
        while (start < end && (is_wsp(v.data[start]) || v.data[start] == '\r' || v.data[start] == '\n'))
            start++;
        while (end > start && (is_wsp(v.data[end - 1]) || v.data[end - 1] == '\r' || v.data[end - 1] == '\n'))
            end--;
        if (ta_str_caseeq(ta_str(v.data + start, end - start), w))
            return 1;
        i++;
    }
    return 0;
}

/*
 * b64_decode - the base64 of p= into out, whitespace skipped; "=" padding
 * optional but, when present, complete and last. Returns TA_OK, or
 * TA_EINPUT with *why.
 */
static int
b64_decode(ta_str_t in, unsigned char *out, size_t size, size_t *outlen, const char **why)
{
    static const char alphabet[64] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned          acc = 0;
    int               bits = 0;
    size_t            i, n = 0, digits = 0, pad = 0;
    const char       *hit;

    for (i = 0; i < in.len; i++) {
        char c = in.data[i];

        if (is_wsp(c) || c == '\r' || c == '\n')
            continue;
        if (c == '=') {
            if (++pad > 2)
                goto bad;
            continue;
        }
        hit = memchr(alphabet, c, sizeof(alphabet));
        if (hit == NULL || pad > 0)
            goto bad;
        acc = (acc << 6) | (unsigned) (hit - alphabet);
        bits += 6;
        digits++;
        if (bits >= 8) {
            bits -= 8;
            if (n == size) {
                *why = "p= is longer than the largest key we read (1100 bytes)";
                return TA_EINPUT;
            }
            out[n++] = (unsigned char) (acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (digits % 4 == 1 || (pad > 0 && (digits + pad) % 4 != 0))
        goto bad;
    *outlen = n;
    return TA_OK;
bad:
    *why = "p= is not valid base64";
    return TA_EINPUT;
}

/* ta_dkimrec_parse - read a DKIM key record */
int
ta_dkimrec_parse(const char *txt, size_t len, ta_dkimrec_t *r, const char **why)
{
    ta_taglist_t  tl;
    ta_str_t     *slot;
    size_t        i, plain = 0;
    ta_tag_t      tag;
    int           rc;

    memset(r, 0, sizeof(*r));
    r->alg = TA_ALG_RSA_SHA256;
    ta_taglist_init(&tl, txt, len, 0);
    while ((rc = ta_taglist_next(&tl, &tag, why)) == 1) {
        if (tag.name.len == 0) {
            *why = "an empty tag-spec (\";;\")";
            return TA_EINPUT;
        }
        if ((slot = field(r, tag.name)) != NULL)
            *slot = tag.value;
        if (slot == &r->v && tl.n != 1) {
            *why = "v= is not the first tag";
            return TA_EINPUT;
        }
    }
    if (rc < 0)
        return TA_EINPUT;
    if (r->v.data != NULL && !ta_str_eq(r->v, ta_str("DKIM1", 5))) {
        *why = "v= is not DKIM1";
        return TA_EINPUT;
    }
    if (r->p.data == NULL) {
        *why = "no p= tag";
        return TA_EINPUT;
    }
    if (r->t.data != NULL) {
        r->testing = (unsigned) list_has(r->t, "y");
        r->strict = (unsigned) list_has(r->t, "s");
    }
    if (r->h.data != NULL)
        r->hash_refused = (unsigned) !list_has(r->h, "sha256");
    for (i = 0; i < r->p.len; i++)
        if (!is_wsp(r->p.data[i]) && r->p.data[i] != '\r' && r->p.data[i] != '\n')
            plain++;
    if (plain == 0)
        r->revoked = 1;
    else if (b64_decode(r->p, r->key, sizeof(r->key), &r->key_len, why) != TA_OK)
        return TA_EINPUT;
    if (r->s.data != NULL && !list_has(r->s, "email") && !list_has(r->s, "*")) {
        *why = "s= names neither email nor *: the key is not for mail";
        return TA_EINPUT;
    }
    if (r->k.data != NULL) {
        if (ta_str_caseeq(r->k, ta_str("rsa", 3)))
            r->alg = TA_ALG_RSA_SHA256;
        else if (ta_str_caseeq(r->k, ta_str("ed25519", 7)))
            r->alg = TA_ALG_ED25519_SHA256;
        else {
            r->alg = -1;
            *why = "unknown k= (neither rsa nor ed25519)";
            return TA_EINPUT;
        }
    }
    return TA_OK;
}

/* ta_dkimrec_text - the record we publish, as 255-octet character-strings */
size_t
ta_dkimrec_text(ta_dkim_alg_t alg, const unsigned char *pub, size_t pub_len, int revoked,
    char *out, size_t size, ta_str_t *parts, size_t *nparts)
{
    char   rec[32 + 4 * ((TA_DKIMREC_KEY_MAX + 2) / 3) + 1];
    size_t n, i, piece, o = 0, k = 0;

    if (pub_len > TA_DKIMREC_KEY_MAX || (alg != TA_ALG_RSA_SHA256 && alg != TA_ALG_ED25519_SHA256))
        return 0;
    n = (size_t) snprintf(rec, sizeof(rec), "v=DKIM1; k=%s; p=",
                          alg == TA_ALG_ED25519_SHA256 ? "ed25519" : "rsa");
    if (!revoked && pub_len > 0)
        n += (size_t) EVP_EncodeBlock((unsigned char *) rec + n, pub, (int) pub_len);
    for (i = 0; i < n; i += piece) {
        piece = n - i > 255 ? 255 : n - i;
        /* separator, two quotes, the piece, and the final NUL */
        if (o + (k > 0) + 2 + piece + 1 > size || k == TA_DKIMREC_MAX_PARTS)
            return 0;
        if (k > 0)
            out[o++] = ' ';
        out[o++] = '"';
        if (parts != NULL)
            parts[k] = ta_str(out + o, piece);
        memcpy(out + o, rec + i, piece);
        o += piece;
        out[o++] = '"';
        k++;
    }
    if (o + 1 > size)
        return 0;
    out[o] = '\0';
    if (nparts != NULL)
        *nparts = k;
    return o;
}

/* ta_dkimrec_public - p='s bytes for a key we hold */
int
ta_dkimrec_public(EVP_PKEY *key, unsigned char *out, size_t size, size_t *len)
{
    unsigned char *p = out;
    size_t         raw = size;
    int            id = EVP_PKEY_get_base_id(key), n;

    if (id == EVP_PKEY_RSA) {
        n = i2d_PUBKEY(key, NULL);
        if (n <= 0 || (size_t) n > size || i2d_PUBKEY(key, &p) != n)
            return TA_ESYSTEM;
        *len = (size_t) n;
        return TA_OK;
    }
    if (id == EVP_PKEY_ED25519) {
        if (EVP_PKEY_get_raw_public_key(key, out, &raw) != 1)
            return TA_ESYSTEM;
        *len = raw;
        return TA_OK;
    }
    return TA_EINPUT;
}

/* ta_dkimrec_matches - a record publishes our key under our algorithm */
int
ta_dkimrec_matches(const ta_dkimrec_t *r, EVP_PKEY *key)
{
    unsigned char pub[TA_DKIMREC_KEY_MAX];
    size_t        n;
    int           id = EVP_PKEY_get_base_id(key);

    if (r->revoked || r->key_len == 0)
        return 0;
    if (!(id == EVP_PKEY_RSA && r->alg == TA_ALG_RSA_SHA256)
        && !(id == EVP_PKEY_ED25519 && r->alg == TA_ALG_ED25519_SHA256))
        return 0;
    if (ta_dkimrec_public(key, pub, sizeof(pub), &n) != TA_OK)
        return 0;
    return n == r->key_len && memcmp(pub, r->key, n) == 0;
}

/* ta_dkimrec_key_public - p='s bytes for a key file, loaded through the key cache
 * (a ta_onboard_pub_fn) */
int
ta_dkimrec_key_public(void *ctx, const ta_key_t *key, unsigned char *out, size_t size, size_t *len,
    char *err, size_t errlen)
{
    char      path[4096], why[256];
    EVP_PKEY *pkey;
    int       rc;

    (void) ctx;
    snprintf(path, sizeof(path), "%.*s", (int) key->key_file.len, key->key_file.data);
    if (ta_key_get(path, key->alg, &pkey, why, sizeof(why)) != TA_OK) {
        snprintf(err, errlen, "key %.*s: %s", (int) key->selector.len, key->selector.data, why);
        return TA_ESYSTEM;
    }
    rc = ta_dkimrec_public(pkey, out, size, len);
    EVP_PKEY_free(pkey);
    if (rc != TA_OK)
        snprintf(err, errlen, "key %s: cannot encode its public half", path);
    return rc;
}

/* ta_dkimrec_fingerprint - the SHA-256 of a key file's public half, in hex
 * (a ta_fpr_fn: what the state file knows a key by) */
int
ta_dkimrec_fingerprint(void *ctx, const ta_key_t *key, char hex[65], char *err, size_t errlen)
{
    static const char digits[] = "0123456789abcdef";
    unsigned char     pub[TA_DKIMREC_KEY_MAX], md[32];
    unsigned int      mdlen = 0, i;
    size_t            n;

    if (ta_dkimrec_key_public(ctx, key, pub, sizeof(pub), &n, err, errlen) != TA_OK)
        return TA_ESYSTEM;
    if (EVP_Digest(pub, n, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32) {
        snprintf(err, errlen, "key %.*s: SHA-256 failed", (int) key->selector.len, key->selector.data);
        return TA_ESYSTEM;
    }
    for (i = 0; i < 32; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[64] = '\0';
    return TA_OK;
}

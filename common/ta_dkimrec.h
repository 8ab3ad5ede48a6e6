/*
 * NAME
 *	ta_dkimrec 3h
 * SUMMARY
 *	DKIM key records: parse what a customer published, write what we publish
 * SYNOPSIS
 *	int    ta_dkimrec_parse(const char *txt, size_t len, ta_dkimrec_t *r,
 *	                        const char **why);
 *	size_t ta_dkimrec_text(ta_dkim_alg_t alg, const unsigned char *pub,
 *	                       size_t pub_len, int revoked, char *out, size_t size,
 *	                       ta_str_t *parts, size_t *nparts);
 *	int    ta_dkimrec_public(EVP_PKEY *key, unsigned char *out, size_t size,
 *	                         size_t *len);
 *	int    ta_dkimrec_matches(const ta_dkimrec_t *r, EVP_PKEY *key);
 *	int    ta_dkimrec_key_public(void *ctx, const ta_key_t *key,
 *	                             unsigned char *out, size_t size, size_t *len,
 *	                             char *err, size_t errlen);
 *	int    ta_dkimrec_fingerprint(void *ctx, const ta_key_t *key,
 *	                              char hex[65], char *err, size_t errlen);
 *
 *	void   ta_taglist_init(ta_taglist_t *tl, const char *p, size_t len,
 *	                       int nocase);
 *	int    ta_taglist_next(ta_taglist_t *tl, ta_tag_t *tag, const char **why);
 * DESCRIPTION
 *	ta_dkimrec_parse() reads the text of a key record (the TXT record at
 *	SELECTOR._domainkey.DOMAIN, its character-strings already joined).
 *	Every tag value is kept raw in r (pointing into txt, whitespace around
 *	it removed; data NULL when the tag is absent); r->alg, r->revoked,
 *	r->testing, r->strict, r->hash_refused and r->key[0..key_len) are
 *	what they mean. Unknown tags are ignored. It returns TA_OK, or
 *	TA_EINPUT with *why a static reason: tag-list syntax, a duplicate tag,
 *	more than TA_TAGLIST_MAX tags, an empty tag-spec, v= not first or not "DKIM1", no
 *	p=, p= not base64 or longer than r->key holds, an unknown k= (r->alg is
 *	then -1, the rest of r filled in), s= naming neither "email" nor "*".
 *
 *	ta_dkimrec_text() writes the record we publish for a public key (the
 *	bytes of ta_dkimrec_public()): "v=DKIM1; k=rsa; p=BASE64" (k=ed25519
 *	for Ed25519; "p=" empty when revoked), cut into DNS character-strings
 *	of at most 255 octets, in zone-file form: "\"...\" \"...\"",
 *	NUL-terminated. When parts is not NULL it receives (room for
 *	TA_DKIMREC_MAX_PARTS) the pieces, pointing into out, and *nparts their
 *	number. Returns the length written, or 0 when out is too small
 *	(TA_DKIMREC_TEXT_SIZE is always enough) or pub_len is over
 *	TA_DKIMREC_KEY_MAX.
 *
 *	ta_dkimrec_public() writes the bytes p= carries for a key we hold: the
 *	DER SubjectPublicKeyInfo for RSA, the raw 32 octets for Ed25519. It
 *	returns TA_OK, TA_EINPUT for any other key type, TA_ESYSTEM when
 *	OpenSSL fails or out is too small.
 *
 *	ta_dkimrec_matches() returns 1 when a parsed record carries exactly the
 *	public half of key, as ta_dkimrec_public() writes it, and names the
 *	key's algorithm in k=; 0 otherwise (revoked records included). An RSA
 *	key published as a bare PKCS#1 RSAPublicKey does not match: OpenDKIM,
 *	among others, reads only SubjectPublicKeyInfo.
 *
 *	ta_dkimrec_key_public() loads a key file (through the key cache) and
 *	writes its public half as ta_dkimrec_public() does (the shape of
 *	ta_onboard's ta_onboard_pub_fn); ta_dkimrec_fingerprint() writes the
 *	SHA-256 of that in hex: the name the state file (ta_state) knows the
 *	key by (the shape of ta_lifecycle's ta_fpr_fn).
 *
 *	ta_taglist_init() and ta_taglist_next() are the tag-list reader both
 *	this module and ta_dmarc use. Each call of ta_taglist_next() reads one
 *	tag-spec and its ";" and returns 1 with tag->name and tag->value
 *	(whitespace around them removed; an empty tag-spec, as in ";;", comes
 *	back with an empty name for the caller to judge), 0 at the end of the
 *	list (trailing whitespace after the last ";" is allowed), -1 with
 *	*why on a syntax error, a tag name seen before (compared without case
 *	when nocase is set: DKIM compares with case, DMARC's ABNF without) or
 *	more than TA_TAGLIST_MAX tags.
 * STANDARDS
 *	RFC 6376 3.2 (tag-list), 3.6.1 (key records), 3.6.2.2 (TXT strings
 *	joined); RFC 8463 (Ed25519: p= is the raw key); RFC 8301 (sha1 gone:
 *	r->hash_refused when h= leaves out sha256); RFC 1035 3.3 (255-octet
 *	character-strings). RFC 6376 says p= holds an RSAPublicKey; the DKIM
 *	world (and RFC 6376's own example) uses SubjectPublicKeyInfo, and so do
 *	we. Departures: FWS is SP, HTAB and CRLF followed by SP or HTAB; any
 *	other CR or LF is a syntax error. Leftover bits of the last base64
 *	digit are ignored, as every decoder does.
 */
#ifndef TA_DKIMREC_H
#define TA_DKIMREC_H

#include <openssl/evp.h>

#include "ta_str.h"
#include "ta_tenant.h"

#define TA_DKIMREC_KEY_MAX   1100   /* p= bytes kept: RSA-8192 SPKI is 1062 */
#define TA_TAGLIST_MAX       64     /* tags in a list: bounds the duplicate check */
#define TA_DKIMREC_MAX_PARTS 8      /* character-strings of the longest record we write */
#define TA_DKIMREC_TEXT_SIZE 2048   /* zone-file form of the longest record we write */

typedef struct {
    ta_str_t v, h, k, n, p, s, t;     /* raw tag values (whitespace removed around them); data NULL when absent */
    int      alg;                      /* TA_ALG_RSA_SHA256 / TA_ALG_ED25519_SHA256 from k= (default rsa), -1 unknown k= */
    unsigned revoked:1;                /* p= present and empty */
    unsigned testing:1;                /* t=y */
    unsigned strict:1;                 /* t=s */
    unsigned hash_refused:1;           /* h= present without sha256: our signatures would fail */
    unsigned char key[TA_DKIMREC_KEY_MAX]; size_t key_len;   /* p= base64-decoded (whitespace inside p= allowed and skipped) */
} ta_dkimrec_t;

typedef struct {
    ta_str_t name, value;
} ta_tag_t;

typedef struct {
    const char *p;
    size_t      len, pos;
    int         nocase;
    size_t      n;                      /* tags read, empty tag-specs not counted */
    ta_str_t    seen[TA_TAGLIST_MAX];   /* their names */
} ta_taglist_t;

int    ta_dkimrec_parse(const char *txt, size_t len, ta_dkimrec_t *r, const char **why);
size_t ta_dkimrec_text(ta_dkim_alg_t alg, const unsigned char *pub, size_t pub_len, int revoked,
    char *out, size_t size, ta_str_t *parts, size_t *nparts);
int    ta_dkimrec_public(EVP_PKEY *key, unsigned char *out, size_t size, size_t *len);
int    ta_dkimrec_matches(const ta_dkimrec_t *r, EVP_PKEY *key);
int    ta_dkimrec_key_public(void *ctx, const ta_key_t *key, unsigned char *out, size_t size,
    size_t *len, char *err, size_t errlen);
int    ta_dkimrec_fingerprint(void *ctx, const ta_key_t *key, char hex[65], char *err, size_t errlen);

void   ta_taglist_init(ta_taglist_t *tl, const char *p, size_t len, int nocase);
int    ta_taglist_next(ta_taglist_t *tl, ta_tag_t *tag, const char **why);

#endif

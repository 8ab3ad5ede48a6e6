/*
 * NAME
 *	ta_dkim 3h
 * SUMMARY
 *	DKIM signing: rsa-sha256 and ed25519-sha256, streaming body hash
 * SYNOPSIS
 *	ta_dkim_t *ta_dkim_new(const ta_dkim_opts_t *opts);
 *	int  ta_dkim_add_signer(ta_dkim_t *d, ta_str_t domain, ta_str_t selector,
 *	                        ta_dkim_alg_t alg, EVP_PKEY *key, char *err, size_t errlen);
 *	int  ta_dkim_headers(ta_dkim_t *d, const ta_headers_t *h);
 *	int  ta_dkim_body(ta_dkim_t *d, const char *chunk, size_t len);
 *	int  ta_dkim_finish(ta_dkim_t *d, char *out, size_t outsize, size_t *outlen,
 *	                    size_t *ends, char *err, size_t errlen);
 *	void ta_dkim_free(ta_dkim_t *d);
 *
 *	int  ta_body_canon_init(ta_body_canon_t *c, ta_canon_t mode, ta_eol_t eol,
 *	                        const EVP_MD *sha256);
 *	void ta_body_canon_update(ta_body_canon_t *c, const char *p, size_t n);
 *	void ta_body_canon_final(ta_body_canon_t *c, unsigned char hash[32]);
 * DESCRIPTION
 *	A ta_dkim_t makes one or more signatures of one message (several keys,
 *	e.g. rsa + ed25519, or two selectors during a rotation). The body is
 *	canonicalised and hashed once, in one pass, in chunks split anywhere;
 *	the message is never needed contiguous.
 *
 *	Call order: ta_dkim_new, ta_dkim_add_signer for each key (the context
 *	takes its own reference to it), ta_dkim_headers with the header section,
 *	ta_dkim_body any number of times, ta_dkim_finish, ta_dkim_free.
 *	ta_dkim_finish writes the DKIM-Signature fields, in the order the
 *	signers were added, each line ending in opts->eol, ready to be put
 *	above the message; ends, when not NULL, receives the offset just
 *	after each field (one per signer). TA_DKIM_OUT_SIZE(n) bytes hold n
 *	fields.
 *
 *	What is signed: by default every field of ta_dkim_default_headers that
 *	is present, once per instance plus once more (oversigning: a field of
 *	those names added in transit breaks the signature); opts->headers
 *	replaces the list and is used as given. l= is never emitted; t= always;
 *	x= when opts->expire is set; i= when opts->identity is set.
 *
 *	Line endings: in TA_EOL_LF mode (Exim's spool) a LF ends a line and
 *	is hashed as CRLF, as the message will travel. In TA_EOL_CRLF mode
 *	only CRLF ends a line; a bare CR or LF is hashed as the byte it is, so
 *	callers deliver what they hashed: ta_dkim_fix_eol() turns a bare CR or
 *	LF into CRLF for callers that want that normalisation first.
 *
 *	The body canoniser is public for tests and benchmarks.
 * STANDARDS
 *	RFC 6376 (3.4 canonicalisation, 3.5 tags, 3.7 hashes, 5.4 header
 *	selection), RFC 8301 (rsa-sha1 gone, RSA >= 1024 bits), RFC 8463
 *	(ed25519-sha256: PureEdDSA over the SHA-256 of the header hash input).
 */
#ifndef TA_DKIM_H
#define TA_DKIM_H

#include <openssl/evp.h>

#include "ta_header.h"
#include "ta_tenant.h"

#define TA_DKIM_MAX_SIGNERS 8
#define TA_DKIM_FIELD_MAX   4096      /* one DKIM-Signature field, RSA-4096 and a long h= included */
#define TA_DKIM_OUT_SIZE(n) (2048 + TA_DKIM_FIELD_MAX * (size_t) (n))

typedef enum {
    TA_CANON_RELAXED = 0,
    TA_CANON_SIMPLE = 1
} ta_canon_t;

typedef struct {
    ta_canon_t          header_canon;   /* default (0) relaxed */
    ta_canon_t          body_canon;     /* default (0) relaxed */
    ta_eol_t            eol;            /* of the input, and of the fields written */
    const char *const  *headers;        /* NULL: ta_dkim_default_headers, oversigned */
    size_t              nheaders;
    long long           timestamp;      /* t=; 0: now */
    long long           expire;         /* x= = t= + expire; 0: no x= */
    const char         *identity;       /* i=; NULL: none */
    const EVP_MD       *sha256;         /* fetched once by the caller (an implicit
                                           fetch costs more than hashing a 2 KB
                                           header); NULL: fetched at each use */
} ta_dkim_opts_t;

extern const char *const ta_dkim_default_headers[];
extern const size_t      ta_dkim_ndefault_headers;

typedef struct ta_dkim ta_dkim_t;

ta_dkim_t *ta_dkim_new(const ta_dkim_opts_t *opts);
int  ta_dkim_add_signer(ta_dkim_t *d, ta_str_t domain, ta_str_t selector,
    ta_dkim_alg_t alg, EVP_PKEY *key, char *err, size_t errlen);
int  ta_dkim_headers(ta_dkim_t *d, const ta_headers_t *h);
int  ta_dkim_body(ta_dkim_t *d, const char *chunk, size_t len);
int  ta_dkim_finish(ta_dkim_t *d, char *out, size_t outsize, size_t *outlen,
    size_t *ends, char *err, size_t errlen);
void ta_dkim_free(ta_dkim_t *d);
size_t ta_dkim_fix_eol(const char *in, size_t len, char *out);

/* The streaming body canoniser (ta_dkim_canon.c). */
typedef struct {
    EVP_MD_CTX    *md;
    ta_canon_t     mode;
    ta_eol_t       eol;
    size_t         pending_crlf;    /* line ends held back: trailing empty lines vanish */
    unsigned       wsp:1;           /* relaxed: whitespace held back in this line */
    unsigned       cr:1;            /* CRLF mode: the last chunk ended with CR */
    unsigned       content:1;       /* anything emitted at all */
    unsigned       ended:1;         /* the output ends with a line end */
    size_t         used;
    unsigned char  buf[16384];      /* output gathered for the hash */
} ta_body_canon_t;

int  ta_body_canon_init(ta_body_canon_t *c, ta_canon_t mode, ta_eol_t eol,
    const EVP_MD *sha256);
void ta_body_canon_update(ta_body_canon_t *c, const char *p, size_t n);
void ta_body_canon_final(ta_body_canon_t *c, unsigned char hash[32]);
void ta_body_canon_free(ta_body_canon_t *c);

/* Header canonicalisation of one field (raw, with its line ending) into out;
 * returns the length; out must hold 2 * raw.len + 2 bytes. */
size_t ta_header_canon(ta_canon_t mode, ta_eol_t eol, ta_str_t raw, char *out);

#endif

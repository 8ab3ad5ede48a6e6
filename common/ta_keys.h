/*
 * NAME
 *	ta_keys 3h
 * SUMMARY
 *	DKIM private keys: loaded lazily, parsed once, cached by file
 * SYNOPSIS
 *	int  ta_key_get(const char *path, ta_dkim_alg_t alg, EVP_PKEY **out,
 *	                char *err, size_t errlen);
 *	int  ta_key_parse(const char *data, size_t len, ta_dkim_alg_t alg,
 *	                  EVP_PKEY **out, char *err, size_t errlen);
 *	int  ta_key_ed25519_secret(EVP_PKEY *key, unsigned char sk[64]);
 *	void ta_keys_flush(void);
 * DESCRIPTION
 *	ta_key_get() returns the key in path, parsed on first use and kept
 *	(parsing a PEM key costs more than an RSA signature). The file is
 *	looked at again once a second at most: replaced (device, inode, size
 *	or mtime changed), it is read again. It refuses a file that is not
 *	regular or that others may read or write, and a key of another type
 *	than alg. The caller gets its own reference and frees it
 *	(EVP_PKEY_free): the cache may replace or evict its entry meanwhile.
 *	Thread-safe.
 *
 *	Accepted formats: PEM RSA (PKCS#1 or PKCS#8), PEM Ed25519 (PKCS#8),
 *	and the base64 32-byte Ed25519 private key of RFC 8463 A.1.
 *	Error texts name the file and the problem, never key material.
 *
 *	ta_key_ed25519_secret() writes the Ed25519 secret libsodium signs
 *	with (ta_ed25519.h) for a key the caller holds a reference to: from
 *	the cache, where it was copied out of OpenSSL when the key was
 *	loaded, or else from OpenSSL. Returns 0 if key is not Ed25519. The
 *	cache wipes its copies when it drops a key.
 */
#ifndef TA_KEYS_H
#define TA_KEYS_H

#include <openssl/evp.h>

#include "ta_ed25519.h"
#include "ta_tenant.h"

int  ta_key_get(const char *path, ta_dkim_alg_t alg, EVP_PKEY **out, char *err, size_t errlen);
int  ta_key_parse(const char *data, size_t len, ta_dkim_alg_t alg, EVP_PKEY **out,
    char *err, size_t errlen);
int  ta_key_ed25519_secret(EVP_PKEY *key, unsigned char sk[TA_ED25519_SECRET_LEN]);
void ta_keys_flush(void);

#define TA_KEY_CACHE_SIZE  256      /* parsed keys a process keeps */

#endif

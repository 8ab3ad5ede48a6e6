/*
 * NAME
 *	ta_ed25519 3h
 * SUMMARY
 *	Ed25519 signatures of a key loaded by OpenSSL, made by libsodium
 * SYNOPSIS
 *	int ta_ed25519_sign(EVP_PKEY *key, const unsigned char *msg,
 *	                    size_t len, unsigned char sig[64]);
 *	int ta_ed25519_secret(EVP_PKEY *key, unsigned char sk[64]);
 *	int ta_ed25519_sign_secret(const unsigned char sk[64],
 *	                    const unsigned char *msg, size_t len,
 *	                    unsigned char sig[64]);
 *	void ta_ed25519_wipe(unsigned char sk[64]);
 * DESCRIPTION
 *	ta_ed25519_sign() writes the RFC 8032 Ed25519 signature of msg with
 *	key, an Ed25519 EVP_PKEY. Keys are parsed and held by OpenSSL like
 *	every other key; the signature itself is libsodium's, which signs in
 *	less than half the time of OpenSSL 3.0's (bench/bench_dkim prints
 *	both). Ed25519 is deterministic: the bytes are the ones OpenSSL would
 *	write. The key's private half is copied to the stack for the call
 *	and wiped after it. Returns 1, or 0 if the key is not Ed25519 or
 *	libsodium cannot start. Thread-safe.
 *
 *	Copying the key out of OpenSSL costs about a microsecond (a provider
 *	export); the key cache does it once per key: ta_ed25519_secret()
 *	writes the 64-byte secret (seed, then public key), 0 if the key is
 *	not Ed25519; ta_ed25519_sign_secret() signs with it;
 *	ta_ed25519_wipe() clears it where the compiler cannot drop the
 *	stores. Whoever holds a secret wipes it.
 * STANDARDS
 *	RFC 8032 5.1.6; RFC 8463 (ed25519-sha256 signs the SHA-256 digest).
 */
#ifndef TA_ED25519_H
#define TA_ED25519_H

#include <openssl/evp.h>
#include <stddef.h>

#define TA_ED25519_SECRET_LEN 64

int  ta_ed25519_sign(EVP_PKEY *key, const unsigned char *msg, size_t len, unsigned char sig[64]);
int  ta_ed25519_secret(EVP_PKEY *key, unsigned char sk[TA_ED25519_SECRET_LEN]);
int  ta_ed25519_sign_secret(const unsigned char sk[TA_ED25519_SECRET_LEN], const unsigned char *msg,
    size_t len, unsigned char sig[64]);
void ta_ed25519_wipe(unsigned char sk[TA_ED25519_SECRET_LEN]);

#endif

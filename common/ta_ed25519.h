/*
 * NAME
 *	ta_ed25519 3h
 * SUMMARY
 *	Ed25519 signatures of a key loaded by OpenSSL, made by libsodium
 * SYNOPSIS
 *	int ta_ed25519_secret(EVP_PKEY *key, unsigned char sk[64]);
 *	int ta_ed25519_sign_secret(const unsigned char sk[64],
 *	                    const unsigned char *msg, size_t len,
 *	                    unsigned char sig[64]);
 *	void ta_ed25519_wipe(unsigned char sk[64]);
 * DESCRIPTION
 *	Keys are parsed and held by OpenSSL like every other key; the Ed25519
 *	signature itself is libsodium's, which signs in less than half the
 *	time of OpenSSL 3.0's (bench/bench_dkim prints both). Ed25519 is
 *	deterministic: the bytes are the ones OpenSSL would write.
 *
 *	ta_ed25519_secret() copies the key out of OpenSSL as the 64-byte
 *	secret libsodium signs with (seed, then public key): a provider
 *	export, dearer than the signature's own bookkeeping, so the key cache
 *	does it once per key (ta_keys.h). Returns 0 if key is not Ed25519.
 *	ta_ed25519_sign_secret() writes the RFC 8032 signature of msg with
 *	it; returns 0 if libsodium cannot start. ta_ed25519_wipe() clears a
 *	secret where the compiler cannot drop the stores: whoever holds a
 *	secret wipes it. Thread-safe.
 * STANDARDS
 *	RFC 8032 5.1.6; RFC 8463 (ed25519-sha256 signs the SHA-256 digest).
 */
#ifndef TA_ED25519_H
#define TA_ED25519_H

#include <openssl/evp.h>
#include <stddef.h>

#define TA_ED25519_SECRET_LEN 64

int  ta_ed25519_secret(EVP_PKEY *key, unsigned char sk[TA_ED25519_SECRET_LEN]);
int  ta_ed25519_sign_secret(const unsigned char sk[TA_ED25519_SECRET_LEN], const unsigned char *msg,
    size_t len, unsigned char sig[64]);
void ta_ed25519_wipe(unsigned char sk[TA_ED25519_SECRET_LEN]);

#endif

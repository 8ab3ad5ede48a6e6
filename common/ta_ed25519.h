/*
 * NAME
 *	ta_ed25519 3h
 * SUMMARY
 *	Ed25519 signatures of a key loaded by OpenSSL, made by libsodium
 * SYNOPSIS
 *	int ta_ed25519_sign(EVP_PKEY *key, const unsigned char *msg,
 *	                    size_t len, unsigned char sig[64]);
 * DESCRIPTION
 *	ta_ed25519_sign() writes the RFC 8032 Ed25519 signature of msg with
 *	key, an Ed25519 EVP_PKEY. Keys are parsed and held by OpenSSL like
 *	every other key; the signature itself is libsodium's, which signs in
 *	less than half the time of OpenSSL 3.0's (bench/bench_dkim prints
 *	both). Ed25519 is deterministic: the bytes are the ones OpenSSL would
 *	write. The key's private half is copied to the stack for the call
 *	and wiped after it. Returns 1, or 0 if the key is not Ed25519 or
 *	libsodium cannot start. Thread-safe.
 * STANDARDS
 *	RFC 8032 5.1.6; RFC 8463 (ed25519-sha256 signs the SHA-256 digest).
 */
#ifndef TA_ED25519_H
#define TA_ED25519_H

#include <openssl/evp.h>
#include <stddef.h>

int ta_ed25519_sign(EVP_PKEY *key, const unsigned char *msg, size_t len, unsigned char sig[64]);

#endif

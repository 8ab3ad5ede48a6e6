/*
 * NAME
 *	ta_ed25519 3
 * SUMMARY
 *	Ed25519 signatures of a key loaded by OpenSSL, made by libsodium
 * SYNOPSIS
 *	#include "ta_ed25519.h"
 * DESCRIPTION
 *	See ta_ed25519.h. libsodium's secret key is the 32-byte seed followed
 *	by the public key; OpenSSL keeps both (the public half derived when
 *	the key was parsed), so the copy costs no scalar multiplication.
 */
#include <pthread.h>
#include <sodium.h>

#include "ta_ed25519.h"

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;
static int            sodium_ready;

static void
start_sodium(void)
{
    sodium_ready = sodium_init() >= 0;
}

/* ta_ed25519_sign - msg signed with key, libsodium doing the arithmetic */
int
ta_ed25519_sign(EVP_PKEY *key, const unsigned char *msg, size_t len, unsigned char sig[64])
{
    unsigned char sk[crypto_sign_ed25519_SECRETKEYBYTES];
    size_t        seedlen = crypto_sign_ed25519_SEEDBYTES;
    size_t        publen = crypto_sign_ed25519_PUBLICKEYBYTES;
    int           ok;

    if (pthread_once(&sodium_once, start_sodium) != 0 || !sodium_ready
        || EVP_PKEY_get_base_id(key) != EVP_PKEY_ED25519)
        return 0;
    ok = EVP_PKEY_get_raw_private_key(key, sk, &seedlen) == 1
         && seedlen == crypto_sign_ed25519_SEEDBYTES
         && EVP_PKEY_get_raw_public_key(key, sk + seedlen, &publen) == 1
         && publen == crypto_sign_ed25519_PUBLICKEYBYTES
         && crypto_sign_ed25519_detached(sig, NULL, msg, len, sk) == 0;
    sodium_memzero(sk, sizeof(sk));
    return ok;
}

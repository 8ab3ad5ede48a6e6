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

/* start - libsodium initialised once per process */
static int
start(void)
{
    return pthread_once(&sodium_once, start_sodium) == 0 && sodium_ready;
}

/* ta_ed25519_secret - the key's seed and public key, libsodium's layout */
int
ta_ed25519_secret(EVP_PKEY *key, unsigned char sk[TA_ED25519_SECRET_LEN])
{
    size_t seedlen = crypto_sign_ed25519_SEEDBYTES;
    size_t publen = crypto_sign_ed25519_PUBLICKEYBYTES;

    if (EVP_PKEY_get_base_id(key) != EVP_PKEY_ED25519
        || EVP_PKEY_get_raw_private_key(key, sk, &seedlen) != 1
        || seedlen != crypto_sign_ed25519_SEEDBYTES
        || EVP_PKEY_get_raw_public_key(key, sk + seedlen, &publen) != 1
        || publen != crypto_sign_ed25519_PUBLICKEYBYTES) {
        sodium_memzero(sk, TA_ED25519_SECRET_LEN);
        return 0;
    }
    return 1;
}

/* ta_ed25519_sign_secret - msg signed with a secret from ta_ed25519_secret */
int
ta_ed25519_sign_secret(const unsigned char sk[TA_ED25519_SECRET_LEN], const unsigned char *msg,
    size_t len, unsigned char sig[64])
{
    return start() && crypto_sign_ed25519_detached(sig, NULL, msg, len, sk) == 0;
}

/* ta_ed25519_wipe - forget a secret */
void
ta_ed25519_wipe(unsigned char sk[TA_ED25519_SECRET_LEN])
{
    sodium_memzero(sk, TA_ED25519_SECRET_LEN);
}

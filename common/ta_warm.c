/*
 * NAME
 *	ta_warm 3
 * SUMMARY
 *	once per process: what the first message would otherwise pay for
 * SYNOPSIS
 *	#include "ta_engine.h"
 *
 *	void ta_engine_preload(void);
 * DESCRIPTION
 *	ta_engine_preload() loads the Public Suffix List, sets up OpenSSL's
 *	PEM key decoders and SHA-256, and makes one throwaway signature per
 *	algorithm with a key generated here, so that the signing paths'
 *	first-use set-up is done. An MTA that forks per connection (Exim)
 *	calls it in the daemon, so every connection starts with it done; an
 *	nginx worker calls it when it starts. The tenants' own keys are never
 *	used here (ta_engine_warm_keys parses them, without signing: RSA
 *	blinding state would otherwise be shared by every forked child).
 *	Idempotent and cheap after the first call.
 */
#include <openssl/decoder.h>
#include <openssl/evp.h>

#include "ta_engine.h"
#include "ta_orgdomain.h"

/* warm_sign - generate a throwaway key of a type and sign once with it */
static void
warm_sign(const char *type, size_t bits)
{
    EVP_PKEY      *k;
    EVP_MD_CTX    *ctx;
    unsigned char  sig[512];
    size_t         len = sizeof(sig);

    k = bits ? EVP_PKEY_Q_keygen(NULL, NULL, type, bits) : EVP_PKEY_Q_keygen(NULL, NULL, type);
    ctx = EVP_MD_CTX_new();
    if (k != NULL && ctx != NULL
        && EVP_DigestSignInit(ctx, NULL, bits ? EVP_sha256() : NULL, NULL, k) == 1)
        (void) EVP_DigestSign(ctx, sig, &len, (const unsigned char *) "warm", 4);
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(k);
}

/* warm_decoder - OpenSSL's PEM decoder set-up for one key type */
static void
warm_decoder(const char *type)
{
    OSSL_DECODER_CTX *dctx;
    EVP_PKEY         *pkey = NULL;

    dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, "PEM", NULL, type,
                                         OSSL_KEYMGMT_SELECT_KEYPAIR, NULL, NULL);
    OSSL_DECODER_CTX_free(dctx);
}

/* ta_engine_preload - the process's one-time set-up, done now */
void
ta_engine_preload(void)
{
    static int done;
    EVP_MD    *md;

    if (done)
        return;
    done = 1;
    (void) ta_psl_ready();
    warm_decoder("RSA");
    warm_decoder("ED25519");
    md = EVP_MD_fetch(NULL, "SHA256", NULL);
    EVP_MD_free(md);
    warm_sign("ED25519", 0);
    warm_sign("RSA", 1024);
}

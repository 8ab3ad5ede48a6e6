/*
 * NAME
 *	cmd_keygen 1
 * SUMMARY
 *	tenantalign keygen: a new DKIM key and its DNS record
 * SYNOPSIS
 *	tenantalign keygen --alg rsa2048|rsa3072|ed25519 --domain D --selector S --out DIR
 * DESCRIPTION
 *	Writes DIR/D.S.pem (PKCS#8 PEM, mode 0600, never over an existing
 *	file) and prints the TXT record to publish at S._domainkey.D, its
 *	value split into strings of at most 255 octets as DNS requires.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char keygen_usage[] =
    "usage: tenantalign keygen --alg rsa2048|rsa3072|ed25519 --domain D --selector S --out DIR\n"
    "\n"
    "Writes the private key to DIR/D.S.pem (mode 0600) and prints the DNS TXT record\n"
    "for S._domainkey.D.\n"
    "exit status: 0 written, 1 bad input, 2 system error, 64 usage error\n";

/* ta_cmd_keygen - tenantalign keygen */
int
ta_cmd_keygen(int argc, char **argv)
{
    static const struct option opts[] = {
        { "alg", required_argument, NULL, 'a' },
        { "domain", required_argument, NULL, 'd' },
        { "selector", required_argument, NULL, 's' },
        { "out", required_argument, NULL, 'o' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    const char    *alg = NULL, *domain = NULL, *selector = NULL, *dir = NULL;
    char           path[4096], *p64 = NULL;
    unsigned char *der = NULL, raw[32];
    size_t         rawlen = sizeof(raw), plen, i;
    int            c, fd, derlen, rsa = 0, ok;
    EVP_PKEY      *k = NULL;
    FILE          *f;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'a': alg = optarg; break;
        case 'd': domain = optarg; break;
        case 's': selector = optarg; break;
        case 'o': dir = optarg; break;
        case 'h': fputs(keygen_usage, stdout); return TA_EXIT_OK;
        default: fputs(keygen_usage, stderr); return TA_EXIT_USAGE;
        }
    }
    if (!alg || !domain || !selector || !dir || optind != argc
        || (strcmp(alg, "rsa2048") && strcmp(alg, "rsa3072") && strcmp(alg, "ed25519"))
        || strchr(domain, '/') || strchr(selector, '/')) {
        fputs(keygen_usage, stderr);
        return TA_EXIT_USAGE;
    }
    rsa = alg[0] == 'r';
    k = rsa ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) (strcmp(alg, "rsa2048") == 0 ? 2048 : 3072))
            : EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    if (k == NULL) {
        fprintf(stderr, "tenantalign keygen: key generation failed\n");
        return TA_EXIT_TEMPFAIL;
    }
    snprintf(path, sizeof(path), "%s/%s.%s.pem", dir, domain, selector);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "tenantalign keygen: %s: %s\n", path, strerror(errno));
        EVP_PKEY_free(k);
        return errno == EEXIST ? TA_EXIT_REJECT : TA_EXIT_TEMPFAIL;
    }
    f = fdopen(fd, "w");
    ok = f != NULL && PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) == 1;
    if (f == NULL || fclose(f) != 0 || !ok) {
        fprintf(stderr, "tenantalign keygen: cannot write %s\n", path);
        unlink(path);
        EVP_PKEY_free(k);
        return TA_EXIT_TEMPFAIL;
    }
    /* p=: the SubjectPublicKeyInfo for RSA, the raw 32 bytes for Ed25519 (RFC 8463) */
    if (rsa) {
        derlen = i2d_PUBKEY(k, &der);
        ok = derlen > 0;
    } else {
        ok = EVP_PKEY_get_raw_public_key(k, raw, &rawlen) == 1;
        derlen = (int) rawlen;
    }
    if (ok) {
        p64 = malloc(4 * ((size_t) derlen + 2) / 3 + 4);
        ok = p64 != NULL;
    }
    if (!ok) {
        fprintf(stderr, "tenantalign keygen: cannot encode the public key\n");
        EVP_PKEY_free(k);
        OPENSSL_free(der);
        return TA_EXIT_TEMPFAIL;
    }
    EVP_EncodeBlock((unsigned char *) p64, rsa ? der : raw, derlen);
    fprintf(stderr, "tenantalign keygen: private key written to %s (mode 0600)\n", path);
    {
        char   rec[2048];
        size_t n = (size_t) snprintf(rec, sizeof(rec), "v=DKIM1; k=%s; p=%s", rsa ? "rsa" : "ed25519", p64);

        printf("%s._domainkey.%s. IN TXT (", selector, domain);
        for (i = 0; i < n; i += plen) {
            plen = n - i > 255 ? 255 : n - i;
            printf(" \"%.*s\"", (int) plen, rec + i);
        }
        printf(" )\n");
    }
    free(p64);
    OPENSSL_free(der);
    EVP_PKEY_free(k);
    return TA_EXIT_OK;
}

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
#include "ta_dkimrec.h"

static const char keygen_usage[] =
    "usage: tenantalign keygen --alg rsa2048|rsa3072|ed25519 --domain D --selector S --out DIR\n"
    "\n"
    "Writes the private key to DIR/D.S.pem (mode 0600) and prints the DNS TXT record\n"
    "for S._domainkey.D.\n"
    "exit status: 0 written, 1 bad input, 2 system error, 64 usage error\n";

/* ta_cli_new_key - generate a key (rsa2048, rsa3072, ed25519) into a new file at path */
int
ta_cli_new_key(const char *alg, const char *path, unsigned mode, EVP_PKEY **out, const char *cmd)
{
    EVP_PKEY *k;
    FILE     *f;
    int       fd, ok;

    *out = NULL;
    k = alg[0] == 'r' ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) (strcmp(alg, "rsa2048") == 0 ? 2048 : 3072))
                      : EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    if (k == NULL) {
        fprintf(stderr, "%s: key generation failed\n", cmd);
        return TA_EXIT_TEMPFAIL;
    }
    /* never over an existing file: a key in use must not change under its name */
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        fprintf(stderr, "%s: %s: %s\n", cmd, path, strerror(errno));
        EVP_PKEY_free(k);
        return errno == EEXIST ? TA_EXIT_REJECT : TA_EXIT_TEMPFAIL;
    }
    f = fdopen(fd, "w");
    ok = f != NULL && PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) == 1;
    if (f == NULL || fclose(f) != 0 || !ok) {
        fprintf(stderr, "%s: cannot write %s\n", cmd, path);
        unlink(path);
        EVP_PKEY_free(k);
        return TA_EXIT_TEMPFAIL;
    }
    *out = k;
    return TA_EXIT_OK;
}

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
    char           path[4096], rec[TA_DKIMREC_TEXT_SIZE];
    unsigned char  pub[TA_DKIMREC_KEY_MAX];
    size_t         publen = 0;
    int            c, rsa = 0;
    EVP_PKEY      *k = NULL;

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
    snprintf(path, sizeof(path), "%s/%s.%s.pem", dir, domain, selector);
    if ((c = ta_cli_new_key(alg, path, 0600, &k, "tenantalign keygen")) != TA_EXIT_OK)
        return c;
    /* the record as `tenantalign dns` writes it (ta_dkimrec: p= per RFC 8463
     * for Ed25519, 255-octet strings) */
    if (ta_dkimrec_public(k, pub, sizeof(pub), &publen) != TA_OK
        || ta_dkimrec_text(rsa ? TA_ALG_RSA_SHA256 : TA_ALG_ED25519_SHA256, pub, publen, 0,
                           rec, sizeof(rec), NULL, NULL) == 0) {
        fprintf(stderr, "tenantalign keygen: cannot encode the public key\n");
        EVP_PKEY_free(k);
        return TA_EXIT_TEMPFAIL;
    }
    fprintf(stderr, "tenantalign keygen: private key written to %s (mode 0600)\n", path);
    printf("%s._domainkey.%s. IN TXT ( %s )\n", selector, domain, rec);
    EVP_PKEY_free(k);
    return TA_EXIT_OK;
}

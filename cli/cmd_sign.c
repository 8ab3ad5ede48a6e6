/*
 * NAME
 *	cmd_sign 1
 * SUMMARY
 *	tenantalign sign: DKIM-sign a message
 * SYNOPSIS
 *	tenantalign sign --key FILE --domain D --selector S [--alg A]
 *	                 [--key FILE --selector S ...] [--headers h1:h2:...]
 *	                 [--timestamp T] [--expire SECS] [--identity I]
 *	                 [--canon H/B] [FILE|-]
 * DESCRIPTION
 *	Each --key starts a signature; --selector, --domain and --alg after it
 *	apply to that one (--domain and --alg may also be given once for all;
 *	the algorithm defaults to the key's type). The signed message goes to
 *	standard output: the DKIM-Signature fields, then the message. A bare
 *	CR or LF in a CRLF message is made CRLF first, so that what is output
 *	is exactly what was signed; so is a missing final line ending, as SMTP
 *	adds one on the wire anyway.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ta_dkim.h"
#include "ta_keys.h"

static const char sign_usage[] =
    "usage: tenantalign sign --key FILE --domain D --selector S [--alg rsa-sha256|ed25519-sha256]\n"
    "                        [--key FILE --selector S [--domain D] [--alg A] ...]\n"
    "                        [--headers h1:h2:...] [--timestamp T] [--expire SECS]\n"
    "                        [--identity I] [--canon relaxed/relaxed] [FILE|-]\n"
    "\n"
    "Writes the message in FILE (or standard input) to standard output with one\n"
    "DKIM-Signature per --key on top. Without --headers, the usual fields are signed\n"
    "and oversigned (each present one once more, so none can be added in transit).\n"
    "exit status: 0 signed, 1 bad input or key, 2 system error, 64 usage error\n";

typedef struct {
    const char *key, *domain, *selector, *alg;
} sig_arg_t;

/* parse_canon - "relaxed/simple" and friends */
static int
parse_canon(const char *s, ta_dkim_opts_t *o)
{
    const char *slash = strchr(s, '/');
    size_t      hl = slash ? (size_t) (slash - s) : strlen(s);
    const char *b = slash ? slash + 1 : "simple";   /* RFC 6376: body defaults to simple */

    if (hl == 7 && strncmp(s, "relaxed", 7) == 0)
        o->header_canon = TA_CANON_RELAXED;
    else if (hl == 6 && strncmp(s, "simple", 6) == 0)
        o->header_canon = TA_CANON_SIMPLE;
    else
        return -1;
    if (strcmp(b, "relaxed") == 0)
        o->body_canon = TA_CANON_RELAXED;
    else if (strcmp(b, "simple") == 0)
        o->body_canon = TA_CANON_SIMPLE;
    else
        return -1;
    return 0;
}

/* ta_cmd_sign - tenantalign sign */
int
ta_cmd_sign(int argc, char **argv)
{
    static const struct option opts[] = {
        { "key", required_argument, NULL, 'k' },
        { "domain", required_argument, NULL, 'd' },
        { "selector", required_argument, NULL, 's' },
        { "alg", required_argument, NULL, 'a' },
        { "headers", required_argument, NULL, 'H' },
        { "timestamp", required_argument, NULL, 't' },
        { "expire", required_argument, NULL, 'x' },
        { "identity", required_argument, NULL, 'i' },
        { "canon", required_argument, NULL, 'c' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    sig_arg_t           sigs[TA_DKIM_MAX_SIGNERS];
    const char         *global_domain = NULL, *global_alg = NULL, *path = "-", *hl = NULL;
    const char         *hnames[256];
    char               *msg = NULL, *fixed = NULL, *hcopy = NULL, *out = NULL, err[512], *tok;
    size_t              nsig = 0, len = 0, hlen, outlen, i;
    int                 c, rc = TA_EXIT_REJECT;
    ta_dkim_opts_t      o;
    ta_dkim_t          *d = NULL;
    ta_headers_t        h;
    ta_header_field_t  *fields = NULL;
    EVP_PKEY           *key;

    memset(&o, 0, sizeof(o));
    memset(sigs, 0, sizeof(sigs));
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            if (nsig == TA_DKIM_MAX_SIGNERS) {
                fprintf(stderr, "tenantalign sign: at most %d keys\n", TA_DKIM_MAX_SIGNERS);
                return TA_EXIT_USAGE;
            }
            sigs[nsig++].key = optarg;
            break;
        case 'd': if (nsig) sigs[nsig - 1].domain = optarg; else global_domain = optarg; break;
        case 's': if (nsig) sigs[nsig - 1].selector = optarg; else { fputs(sign_usage, stderr); return TA_EXIT_USAGE; } break;
        case 'a': if (nsig) sigs[nsig - 1].alg = optarg; else global_alg = optarg; break;
        case 'H': hl = optarg; break;
        case 't': o.timestamp = strtoll(optarg, NULL, 10); break;
        case 'x': o.expire = strtoll(optarg, NULL, 10); break;
        case 'i': o.identity = optarg; break;
        case 'c':
            if (parse_canon(optarg, &o) != 0) {
                fprintf(stderr, "tenantalign sign: --canon must be relaxed|simple[/relaxed|simple]\n");
                return TA_EXIT_USAGE;
            }
            break;
        case 'h': fputs(sign_usage, stdout); return TA_EXIT_OK;
        default: fputs(sign_usage, stderr); return TA_EXIT_USAGE;
        }
    }
    if (nsig == 0 || argc - optind > 1) {
        fputs(sign_usage, stderr);
        return TA_EXIT_USAGE;
    }
    for (i = 0; i < nsig; i++) {
        /* a key without its own --domain signs for the one before it */
        if (sigs[i].domain == NULL)
            sigs[i].domain = i ? sigs[i - 1].domain : global_domain;
        if (sigs[i].alg == NULL)
            sigs[i].alg = global_alg;
        if (sigs[i].domain == NULL || sigs[i].selector == NULL) {
            fprintf(stderr, "tenantalign sign: key %s needs %s\n", sigs[i].key,
                    sigs[i].domain == NULL ? "--domain" : "--selector (after its --key)");
            return TA_EXIT_USAGE;
        }
        if (sigs[i].alg && strcmp(sigs[i].alg, "rsa-sha256") && strcmp(sigs[i].alg, "ed25519-sha256")) {
            fprintf(stderr, "tenantalign sign: key %s: --alg must be rsa-sha256 or ed25519-sha256, not %s\n",
                    sigs[i].key, sigs[i].alg);
            return TA_EXIT_USAGE;
        }
    }
    if (optind < argc)
        path = argv[optind];
    msg = ta_cli_read(path, &len);
    if (msg == NULL) {
        fprintf(stderr, "tenantalign sign: %s: %s\n", path, strerror(errno));
        return TA_EXIT_TEMPFAIL;
    }
    {
        const char *nl = memchr(msg, '\n', len);
        o.eol = (nl != NULL && nl > msg && nl[-1] == '\r') ? TA_EOL_CRLF : TA_EOL_LF;
    }
    if (o.eol == TA_EOL_CRLF) {
        fixed = malloc(2 * len + 1);
        if (fixed == NULL)
            goto oom;
        len = ta_dkim_fix_eol(msg, len, fixed);
        free(msg);
        msg = fixed;
        fixed = NULL;
    }
    /*
     * On the wire a message always ends with a line ending (SMTP adds it
     * before the final dot); verifiers disagree on how to canonicalise an
     * unterminated last line, so sign and output the message as it will
     * travel.
     */
    if (len > 0 && msg[len - 1] != '\n') {
        fixed = realloc(msg, len + 2);
        if (fixed == NULL)
            goto oom;
        msg = fixed;
        fixed = NULL;
        if (o.eol == TA_EOL_CRLF)
            msg[len++] = '\r';
        msg[len++] = '\n';
    }
    if (hl != NULL) {
        hcopy = strdup(hl);
        if (hcopy == NULL)
            goto oom;
        for (tok = strtok(hcopy, ":"); tok && o.nheaders < 256; tok = strtok(NULL, ":")) {
            while (*tok == ' ')
                tok++;
            for (char *e = tok + strlen(tok); e > tok && e[-1] == ' '; )
                *--e = '\0';
            hnames[o.nheaders++] = tok;
        }
        o.headers = hnames;
    }
    fields = calloc(TA_HEADER_MAX_FIELDS, sizeof(*fields));
    d = ta_dkim_new(&o);
    if (fields == NULL || d == NULL)
        goto oom;
    for (i = 0; i < nsig; i++) {
        ta_dkim_alg_t alg = TA_ALG_RSA_SHA256;
        int           got;

        if (sigs[i].alg)
            alg = strcmp(sigs[i].alg, "ed25519-sha256") == 0 ? TA_ALG_ED25519_SHA256 : TA_ALG_RSA_SHA256;
        got = ta_key_get(sigs[i].key, alg, &key, err, sizeof(err));
        if (got != TA_OK && sigs[i].alg == NULL) {
            alg = TA_ALG_ED25519_SHA256;        /* not RSA: try Ed25519 */
            got = ta_key_get(sigs[i].key, alg, &key, err, sizeof(err));
        }
        if (got != TA_OK
            || ta_dkim_add_signer(d, ta_str_cstr(sigs[i].domain), ta_str_cstr(sigs[i].selector),
                                  alg, key, err, sizeof(err)) != TA_OK) {
            EVP_PKEY_free(key);
            fprintf(stderr, "tenantalign sign: %s\n", err);
            goto done;
        }
        EVP_PKEY_free(key);                     /* the signer holds its own */
        if (err[0])
            fprintf(stderr, "tenantalign sign: %s\n", err);
    }
    ta_headers_parse(&h, msg, len, o.eol, fields, TA_HEADER_MAX_FIELDS);
    if (h.flags & ~(unsigned) TA_HDR_8BIT)
        fprintf(stderr, "tenantalign sign: warning: %s\n",
                ta_header_anomaly_text((h.flags & ~(unsigned) TA_HDR_8BIT) & (~(h.flags & ~(unsigned) TA_HDR_8BIT) + 1)));
    hlen = h.body_offset;
    if (ta_dkim_headers(d, &h) != TA_OK) {
        fprintf(stderr, "tenantalign sign: no header fields to sign\n");
        goto done;
    }
    ta_dkim_body(d, msg + hlen, len - hlen);
    out = malloc(TA_DKIM_OUT_SIZE(nsig));
    if (out == NULL)
        goto oom;
    if (ta_dkim_finish(d, out, TA_DKIM_OUT_SIZE(nsig), &outlen, NULL, err, sizeof(err)) != TA_OK) {
        fprintf(stderr, "tenantalign sign: %s\n", err);
        rc = TA_EXIT_TEMPFAIL;
        goto done;
    }
    if (fwrite(out, 1, outlen, stdout) != outlen || fwrite(msg, 1, len, stdout) != len || fflush(stdout) != 0) {
        fprintf(stderr, "tenantalign sign: write: %s\n", strerror(errno));
        rc = TA_EXIT_TEMPFAIL;
        goto done;
    }
    rc = TA_EXIT_OK;
    goto done;
oom:
    fprintf(stderr, "tenantalign sign: out of memory\n");
    rc = TA_EXIT_TEMPFAIL;
done:
    ta_dkim_free(d);
    ta_keys_flush();
    free(fields);
    free(hcopy);
    free(out);
    free(msg);
    return rc;
}

/*
 * odkim_verify - verify every DKIM signature of each message with
 * libopendkim (OpenDKIM's library), keys from a file instead of DNS.
 *
 * usage: odkim_verify [--expect-fail] DNSFILE MSG...
 * DNSFILE lines: "selector._domainkey.domain<TAB>TXT value".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <opendkim/dkim.h>

/* read_file - a whole file */
static unsigned char *
read_file(const char *path, size_t *len)
{
    FILE          *f = fopen(path, "rb");
    unsigned char *buf;
    long           n;

    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0)
        return NULL;
    rewind(f);
    buf = malloc((size_t) n + 1);
    if (buf == NULL || fread(buf, 1, (size_t) n, f) != (size_t) n) {
        fclose(f);
        free(buf);
        return NULL;
    }
    fclose(f);
    *len = (size_t) n;
    return buf;
}

int
main(int argc, char **argv)
{
    DKIM_LIB      *lib;
    DKIM          *dkim;
    DKIM_STAT      st;
    DKIM_SIGINFO **sigs;
    int            nsigs, i, a = 1, expect_fail = 0, bad = 0, ok, qm = DKIM_QUERY_FILE;
    size_t         len;
    unsigned char *msg;
    char           detail[512];

    if (argc > 1 && strcmp(argv[1], "--expect-fail") == 0) {
        expect_fail = 1;
        a++;
    }
    if (argc - a < 2) {
        fprintf(stderr, "usage: odkim_verify [--expect-fail] DNSFILE MSG...\n");
        return 64;
    }
    lib = dkim_init(NULL, NULL);
    if (lib == NULL)
        return 2;
    dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_QUERYMETHOD, &qm, sizeof(qm));
    dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_QUERYINFO, argv[a], strlen(argv[a]));
    for (i = a + 1; i < argc; i++) {
        msg = read_file(argv[i], &len);
        if (msg == NULL) {
            perror(argv[i]);
            bad++;
            continue;
        }
        dkim = dkim_verify(lib, (const unsigned char *) argv[i], NULL, &st);
        ok = 0;
        detail[0] = '\0';
        if (dkim != NULL) {
            dkim_chunk(dkim, msg, len);
            dkim_chunk(dkim, NULL, 0);
            st = dkim_eom(dkim, NULL);
            if (dkim_getsiglist(dkim, &sigs, &nsigs) == DKIM_STAT_OK && nsigs > 0) {
                int s;
                ok = 1;
                for (s = 0; s < nsigs; s++) {
                    unsigned flags = dkim_sig_getflags(sigs[s]);
                    int      pass = (flags & DKIM_SIGFLAG_PASSED) && dkim_sig_getbh(sigs[s]) == DKIM_SIGBH_MATCH;
                    snprintf(detail + strlen(detail), sizeof(detail) - strlen(detail), "%s%s(%s)",
                             s ? ", " : "", pass ? "pass" : "fail",
                             dkim_sig_geterrorstr(dkim_sig_geterror(sigs[s])));
                    if (!pass)
                        ok = 0;
                }
            }
            dkim_free(dkim);
        }
        printf("%s opendkim %s [%s] eom=%s\n", ok != expect_fail ? "ok" : "FAIL", argv[i], detail,
               dkim_getresultstr(st));
        if (ok == expect_fail)
            bad++;
        free(msg);
    }
    dkim_close(lib);
    return bad ? 1 : 0;
}

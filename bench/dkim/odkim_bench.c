/*
 * odkim_bench - libopendkim (OpenDKIM's library) signing in process, the
 * same messages as bench_dkim, relaxed/relaxed; the key is handed over per
 * message as libopendkim's API wants (it parses it each time).
 * usage: odkim_bench RSAKEY ED25519KEY SECONDS; prints "SIZE ALG MSGS_PER_S".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <opendkim/dkim.h>

static double
now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static unsigned char *
slurp(const char *p)
{
    FILE          *f = fopen(p, "rb");
    unsigned char *b = calloc(1, 65536);

    if (f == NULL || b == NULL)
        exit(2);
    if (fread(b, 1, 65535, f) == 0)
        exit(2);
    fclose(f);
    return b;
}

int
main(int argc, char **argv)
{
    static const char hdr[] =
        "Received: from client.example (client.example [192.0.2.1]) by relay.example\r\n"
        "\twith ESMTPSA id 1a2b3c; Tue, 24 Nov 2026 10:00:00 +0000\r\n"
        "From: \"Acme Newsletter\" <news@acme.example>\r\n"
        "To: Customer <someone@customer.example>\r\n"
        "Subject: Your November statement is ready\r\n"
        "Date: Tue, 24 Nov 2026 10:00:00 +0000\r\n"
        "Message-ID: <20261124100000.1234@acme.example>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "List-Unsubscribe: <https://acme.example/u/1234>\r\n"
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n\r\n";
    static const char line[] =
        "Dear customer, your statement for November is ready. You can see it online.\r\n"
        "It lists every payment we received this month.  Log in to download it.\r\n"
        "Thank you for your business. \r\n\r\n";
    static const size_t sizes[] = { 2048, 51200, 5242880 };
    unsigned char *keys[2];
    DKIM_LIB      *lib = dkim_init(NULL, NULL);
    double         secs, t0;
    size_t         s, len;
    int            a;
    long           n;
    char          *msg;

    if (argc != 4 || lib == NULL)
        return 64;
    keys[0] = slurp(argv[1]);
    keys[1] = slurp(argv[2]);
    secs = atof(argv[3]);
    for (s = 0; s < 3; s++) {
        msg = malloc(sizes[s] + sizeof(hdr) + sizeof(line));
        len = sizeof(hdr) - 1;
        memcpy(msg, hdr, len);
        while (len < sizes[s]) {
            memcpy(msg + len, line, sizeof(line) - 1);
            len += sizeof(line) - 1;
        }
        for (a = 0; a < 2; a++) {
            n = 0;
            t0 = now();
            while (now() - t0 < secs) {
                DKIM_STAT     st;
                unsigned char sig[4096];
                DKIM *d = dkim_sign(lib, (unsigned char *) "bench", NULL, keys[a], (unsigned char *) "s1",
                                    (unsigned char *) "acme.example", DKIM_CANON_RELAXED, DKIM_CANON_RELAXED,
                                    a ? DKIM_SIGN_ED25519SHA256 : DKIM_SIGN_RSASHA256, -1, &st);
                if (d == NULL) {
                    fprintf(stderr, "dkim_sign: %d\n", st);
                    return 1;
                }
                dkim_chunk(d, (unsigned char *) msg, len);
                dkim_chunk(d, NULL, 0);
                if (dkim_eom(d, NULL) != DKIM_STAT_OK
                    || dkim_getsighdr(d, sig, sizeof(sig), strlen("DKIM-Signature: ")) != DKIM_STAT_OK) {
                    fprintf(stderr, "dkim_eom failed\n");
                    return 1;
                }
                dkim_free(d);
                n++;
            }
            printf("%zu %s %.1f\n", sizes[s], a ? "ed25519" : "rsa2048", n / (now() - t0));
        }
        free(msg);
    }
    dkim_close(lib);
    return 0;
}

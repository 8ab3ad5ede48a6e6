/*
 * bench_policy - decisions per second: header parse + the pure decision,
 * beside the header parse alone (the baseline, measured in the same run).
 * Medians of 5 runs of N decisions each. Not a test: prints a table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "ta_header.h"
#include "ta_policy.h"

#define S(lit) TA_STR_LIT(lit)
#define RUNS 5

static const ta_key_t keys[] = {
    { S("s1"), TA_STR_NULL, S("/k/s1.pem"), TA_ALG_RSA_SHA256, TA_KEY_ACTIVE },
    { S("e1"), TA_STR_NULL, S("/k/e1.pem"), TA_ALG_ED25519_SHA256, TA_KEY_ACTIVE },
};
static const ta_identity_t ids[] = {
    { TA_MODE_DOMAIN, S("acme.example"), S(""), S("bounces.acme.example"), S(""),
      TA_ALIGN_RELAXED, 0, 0, 0, 0, 0, 2, keys, TA_DELEG_MANUAL, 1, 0, 0, 0, TA_IDDMARC_UNKNOWN, 0, 0 },
};
static const ta_tenant_t tenant = { S("acme"), 1, ids, TA_STREAM_TRANSACTIONAL, 0, { { 0, 0, 0, 0 }, { 0, 0, 0, 0 } } };

static const char message[] =
    "Received: from client.example (client.example [192.0.2.1])\r\n"
    "\tby relay.example with ESMTPSA id 1a2b3c; Tue, 24 Nov 2026 10:00:00 +0000\r\n"
    "From: \"Acme Newsletter\" <news@acme.example>\r\n"
    "To: Customer <someone@customer.example>\r\n"
    "Subject: =?utf-8?q?Your_November_statement?=\r\n"
    "Date: Tue, 24 Nov 2026 10:00:00 +0000\r\n"
    "Message-ID: <20261124100000.1234@acme.example>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "List-Unsubscribe: <https://acme.example/u/1234>\r\n"
    "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
    "\r\n";

static ta_header_field_t fields[TA_HEADER_MAX_FIELDS];

int
main(int argc, char **argv)
{
    long              n = argc > 1 ? atol(argv[1]) : 200000, i;
    double            parse[RUNS], full[RUNS], t0;
    int               r;
    ta_headers_t      h;
    ta_policy_input_t in;
    ta_verdict_t      v;
    volatile size_t   sink = 0;

    memset(&in, 0, sizeof(in));
    in.tenant = &tenant;
    in.login = ta_str_cstr("acme");
    in.mail_from = ta_str_cstr("<bounce-1234@bounces.acme.example>");
    in.headers = &h;
    for (r = 0; r < RUNS; r++) {
        t0 = bench_now();
        for (i = 0; i < n; i++) {
            ta_headers_parse(&h, message, sizeof(message) - 1, TA_EOL_CRLF, fields, TA_HEADER_MAX_FIELDS);
            sink += h.nfields;
        }
        parse[r] = n / (bench_now() - t0);
        t0 = bench_now();
        for (i = 0; i < n; i++) {
            ta_headers_parse(&h, message, sizeof(message) - 1, TA_EOL_CRLF, fields, TA_HEADER_MAX_FIELDS);
            ta_decide(&in, &v);
            sink += v.nsign;
        }
        full[r] = n / (bench_now() - t0);
        if (v.action != TA_ACCEPT || v.nsign != 2) {
            fprintf(stderr, "bench_policy: unexpected verdict: %s\n", v.reason);
            return 1;
        }
    }
    bench_median(parse, RUNS);
    bench_median(full, RUNS);
    printf("| policy (median of %d x %ld) | per second | us each | ratio to parse alone |\n", RUNS, n);
    printf("|---|---|---|---|\n");
    printf("| header parse alone (baseline) | %.0f | %.2f | 1.00 |\n", parse[RUNS / 2], 1e6 / parse[RUNS / 2]);
    printf("| parse + decision | %.0f | %.2f | %.2f |\n", full[RUNS / 2], 1e6 / full[RUNS / 2],
           full[RUNS / 2] / parse[RUNS / 2]);
    return sink == 0;
}

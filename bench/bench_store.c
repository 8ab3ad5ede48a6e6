/*
 * bench_store - the tenant store at 1,000,000 tenants: compile time, open
 * time, lookup cost, decisions per second (lookup + header parse + pure
 * decision). Baselines measured in the same run: a raw tinycdb probe of the
 * same keys (lookup), writing the source text (compile). Then the hold
 * (`tenantalign pause` at this size: find the tenant, rewrite STORE.hold
 * of 10,000 holds, rename; a process reading it; a decision with it,
 * against one without in the same run). Not a test: prints a table.
 * Medians of 5 runs.
 *
 * usage: bench_store [tenants]   (default 1000000)
 */
#include <cdb.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "ta_header.h"
#include "ta_hold.h"
#include "ta_hold_watch.h"
#include "ta_policy.h"
#include "ta_store.h"

#define RUNS 5
#define LOOKUPS 200000

static unsigned
rnd(unsigned *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/*
 * decisions - decisions per second over LOOKUPS / 4 random tenants: lookup,
 * header parse, the pure decision, with hold (NULL: none). Every tenant not
 * held must be accepted and signed twice; -1 when one is not.
 */
static double
decisions(ta_store_t *st, long n, unsigned *seed, const ta_hold_t *hold)
{
    static ta_header_field_t fields[64];
    ta_headers_t             h;
    ta_policy_input_t        in;
    ta_verdict_t             v;
    ta_tenant_t             *t;
    char                     key[32], from[64], msg[256], err[256];
    double                   t0 = bench_now();
    long                     i;
    int                      klen, ml;

    for (i = 0; i < LOOKUPS / 4; i++) {
        unsigned id = rnd(seed) % (unsigned) n;

        klen = snprintf(key, sizeof(key), "u%u", id);
        snprintf(from, sizeof(from), "<bounce@b.d%u.example>", id);
        ml = snprintf(msg, sizeof(msg), "From: News <news@d%u.example>\r\nTo: c@customer.example\r\n"
                      "Subject: hello\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\n\r\n", id);
        if (ta_store_lookup(st, ta_str(key, (size_t) klen), &t, err, sizeof(err)) != TA_OK)
            return -1;
        ta_headers_parse(&h, msg, (size_t) ml, TA_EOL_CRLF, fields, 64);
        memset(&in, 0, sizeof(in));
        in.tenant = t;
        in.login = ta_str(key, (size_t) klen);
        in.mail_from = ta_str_cstr(from);
        in.headers = &h;
        in.hold = hold;
        ta_decide(&in, &v);
        ta_tenant_free(t);
        if (!v.held && (v.action != TA_ACCEPT || v.nsign != 2)) {
            fprintf(stderr, "bench_store: unexpected verdict %s\n", v.reason);
            return -1;
        }
    }
    return (LOOKUPS / 4) / (bench_now() - t0);
}

int
main(int argc, char **argv)
{
    long              n = argc > 1 ? atol(argv[1]) : 1000000, i;
    char              dir[] = "/tmp/ta-bench-storeXXXXXX", src[128], store[128], err[4096], key[32];
    double            t0, t_write, t_compile, opens[RUNS], look[RUNS], raw[RUNS], dec[RUNS];
    double            pause[RUNS], reread[RUNS], dec_hold[RUNS], dec_nohold[RUNS];
    ta_hold_t        *hold;
    ta_hold_watch_t  *watch;
    const ta_hold_t  *seen;
    char              holdpath[160], tmp[200], *text, *ftext;
    size_t            tlen, flen;
    FILE             *f;
    ta_store_t       *st;
    ta_tenant_t      *t;
    ta_compile_opts_t o;
    unsigned          seed = 12345;
    int               r, fd, klen;
    struct cdb        cdb;
    volatile long     sink = 0;

    if (mkdtemp(dir) == NULL)
        return 1;
    snprintf(src, sizeof(src), "%s/tenants.conf", dir);
    snprintf(store, sizeof(store), "%s/tenants.cdb", dir);

    /* the source: one login, one identity, two keys per tenant */
    t0 = bench_now();
    f = fopen(src, "w");
    for (i = 0; i < n; i++)
        fprintf(f, "tenant t%ld { login u%ld; identity d%ld.example { mode domain; return_path b.d%ld.example;\n"
                   "  key s1 { algorithm rsa-sha256; file /k/d%ld.s1.pem; state active; }\n"
                   "  key e1 { algorithm ed25519-sha256; file /k/d%ld.e1.pem; state active; } } }\n",
                i, i, i, i, i, i);
    fclose(f);
    t_write = bench_now() - t0;

    memset(&o, 0, sizeof(o));
    o.skip_key_checks = 1;      /* a million key files would measure the file system */
    t0 = bench_now();
    if (ta_store_compile(src, store, &o, err, sizeof(err)) != TA_OK) {
        fprintf(stderr, "bench_store: %s\n", err);
        return 1;
    }
    t_compile = bench_now() - t0;

    for (r = 0; r < RUNS; r++) {
        t0 = bench_now();
        if (ta_store_open(store, &st, err, sizeof(err)) != TA_OK)
            return 1;
        opens[r] = bench_now() - t0;
        ta_store_close(st);
    }

    ta_store_open(store, &st, err, sizeof(err));
    fd = open(store, O_RDONLY);
    cdb_init(&cdb, fd);
    for (r = 0; r < RUNS; r++) {
        t0 = bench_now();
        for (i = 0; i < LOOKUPS; i++) {
            key[0] = 'L';
            klen = 1 + snprintf(key + 1, sizeof(key) - 1, "u%u", rnd(&seed) % (unsigned) n);
            sink += cdb_find(&cdb, key, (unsigned) klen);
        }
        raw[r] = (bench_now() - t0) / LOOKUPS;
        t0 = bench_now();
        for (i = 0; i < LOOKUPS; i++) {
            klen = snprintf(key, sizeof(key), "u%u", rnd(&seed) % (unsigned) n);
            if (ta_store_lookup(st, ta_str(key, (size_t) klen), &t, err, sizeof(err)) != TA_OK)
                return 1;
            sink += (long) t->nidentities;
            ta_tenant_free(t);
        }
        look[r] = (bench_now() - t0) / LOOKUPS;
        /* a decision: lookup, parse the header section, decide */
        if ((dec[r] = decisions(st, n, &seed, NULL)) < 0)
            return 1;
    }
    cdb_free(&cdb);
    close(fd);

    /* the hold: 10,000 tenants on hold, as a file beside the store */
    snprintf(holdpath, sizeof(holdpath), "%s.hold", store);
    snprintf(tmp, sizeof(tmp), "%s.tmp", holdpath);
    hold = ta_hold_new();
    for (i = 0; i < 10000; i++) {
        klen = snprintf(key, sizeof(key), "t%ld", (i * 97) % n);
        ta_hold_set(hold, i % 10 ? TA_HOLD_PAUSE : TA_HOLD_SUSPEND, ta_str(key, (size_t) klen), ta_str("", 0), 1,
                    1796000000, ta_str_cstr("billing overdue"));
    }
    ta_hold_format(hold, &text, &tlen);
    f = fopen(holdpath, "w");
    fwrite(text, 1, tlen, f);
    fclose(f);
    free(text);
    watch = ta_hold_watch_new(store);
    for (r = 0; r < RUNS; r++) {
        ta_hold_t   *h2;
        ta_tenant_t *tt;
        ta_store_t  *pst;

        /* what `tenantalign pause` does: open the store, find the tenant by
         * name, read the hold file, set, write a new file, rename */
        t0 = bench_now();
        if (ta_store_open(store, &pst, err, sizeof(err)) != TA_OK)
            return 1;
        klen = snprintf(key, sizeof(key), "t%u", rnd(&seed) % (unsigned) n);
        if (ta_store_tenant(pst, ta_str(key, (size_t) klen), &tt, err, sizeof(err)) != TA_OK)
            return 1;
        ta_tenant_free(tt);
        ta_store_close(pst);
        f = fopen(holdpath, "r");
        ftext = malloc(tlen + 4096);
        flen = fread(ftext, 1, tlen + 4096, f);
        fclose(f);
        if (ta_hold_parse(ftext, flen, &h2, err, sizeof(err)) != TA_OK)
            return 1;
        free(ftext);
        ta_hold_set(h2, TA_HOLD_PAUSE, ta_str(key, (size_t) klen), ta_str("", 0), 1, 1796000001,
                    ta_str_cstr("paused by the bench"));
        ta_hold_format(h2, &text, &flen);
        f = fopen(tmp, "w");
        fwrite(text, 1, flen, f);
        fflush(f);
        fsync(fileno(f));
        fclose(f);
        rename(tmp, holdpath);
        pause[r] = bench_now() - t0;
        free(text);
        ta_hold_free(h2);
        /* a running process: its next look (at most a second later) reads it */
        sleep(1);
        t0 = bench_now();
        if (ta_hold_watch_get(watch, &seen, err, sizeof(err)) != TA_OK || seen == NULL
            || ta_hold_find(seen, ta_str(key, (size_t) klen), ta_str("", 0)) == NULL)
            return 1;
        reread[r] = bench_now() - t0;
    }
    /* a decision with 10,000 holds, alternating with the same without */
    for (r = 0; r < RUNS; r++)
        if ((dec_hold[r] = decisions(st, n, &seed, seen)) < 0 || (dec_nohold[r] = decisions(st, n, &seed, NULL)) < 0)
            return 1;
    ta_hold_watch_free(watch);
    ta_hold_free(hold);
    ta_store_close(st);

    printf("## Tenant store, %ld tenants (medians of %d runs)\n\n", n, RUNS);
    printf("| measure | value | baseline (same run) | target |\n|---|---|---|---|\n");
    printf("| compile (parse, check, write cdb, fsync, rename) | %.2f s | writing the source: %.2f s | <= 10 s (%.2f of it) |\n",
           t_compile, t_write, t_compile / 10);
    printf("| open | %.3f ms | | <= 1 ms (%.2f of it) |\n", bench_median(opens, RUNS) * 1e3, bench_median(opens, RUNS) * 1e3);
    printf("| lookup (find + decode record) | %.2f us = %.0f/s | raw cdb_find: %.2f us (x%.1f) | <= 2 us (%.2f of it) |\n",
           bench_median(look, RUNS) * 1e6, 1 / bench_median(look, RUNS), bench_median(raw, RUNS) * 1e6, bench_median(look, RUNS) / bench_median(raw, RUNS), bench_median(look, RUNS) * 1e6 / 2);
    printf("| decision (lookup + header parse + policy) | %.0f/s (%.2f us) | | |\n", bench_median(dec, RUNS), 1e6 / bench_median(dec, RUNS));
    printf("| pause (open, find the tenant by name, rewrite a hold of 10,000, fsync, rename) | %.1f ms | | in effect <= 2 s: this + the 1 s stat rule |\n",
           bench_median(pause, RUNS) * 1e3);
    printf("| a running process reads the new hold (10,000 entries) | %.1f ms | | |\n", bench_median(reread, RUNS) * 1e3);
    printf("| decision with 10,000 holds | %.0f/s (%.2f us) | without, alternated: %.2f us (x%.3f) | |\n",
           bench_median(dec_hold, RUNS), 1e6 / bench_median(dec_hold, RUNS), 1e6 / bench_median(dec_nohold, RUNS),
           bench_median(dec_nohold, RUNS) / bench_median(dec_hold, RUNS));
    snprintf(err, sizeof(err), "rm -rf %s", dir);
    return system(err) != 0 || sink == 0;
}

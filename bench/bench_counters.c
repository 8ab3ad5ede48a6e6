/*
 * bench_counters - what the counter table costs a decision: ns per call of
 * ta_counters_count, ta_counters_hour and ta_counters_hour_add alone, and
 * of the three together as the engine makes them for one message (hour
 * when deciding, hour_add when accepted, count when final), on a warm
 * table of 1, 10,000 and 1,000,000 distinct tenants picked at random.
 * The baseline, measured alternately in the same run, is the loop picking
 * a tenant without counting; medians of 5 alternated runs. Also the first
 * message of each tenant (the insert) while the table fills. Not a test:
 * prints a table. The table lives in DIR (default /dev/shm, else /tmp):
 * 1,000,000 tenants touch about 1.1 GB of it.
 *
 * usage: bench_counters [DIR]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "ta_counters.h"

#define RUNS  5
#define CALLS 1000000L
#define T0    1800000000LL

enum { BASE, COUNT, HOUR, HOUR_ADD, MESSAGE, KINDS };

static unsigned
rnd(unsigned *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* run - seconds for CALLS picks of a random tenant, doing kind with each */
static double
run(ta_counters_t *c, const ta_str_t *names, unsigned n, int kind, unsigned *seed, volatile uint64_t *sink)
{
    ta_count_t what = { TA_COUNT_ACCEPTED, TA_R_NONE, 2048, { 0, 1 } };
    uint64_t   hour[TA_STREAMS];
    double     t0 = bench_now();
    long       i;

    for (i = 0; i < CALLS; i++) {
        ta_str_t name = names[rnd(seed) % n];

        switch (kind) {
        case BASE:
            *sink += (unsigned char) name.data[0];
            break;
        case COUNT:
            ta_counters_count(c, name, TA_STREAM_TRANSACTIONAL, &what);
            break;
        case HOUR:
            ta_counters_hour(c, name, T0 + i / 1000, hour);
            *sink += hour[0];
            break;
        case HOUR_ADD:
            ta_counters_hour_add(c, name, TA_STREAM_TRANSACTIONAL, T0 + i / 1000);
            break;
        default:
            ta_counters_hour(c, name, T0 + i / 1000, hour);
            ta_counters_hour_add(c, name, TA_STREAM_TRANSACTIONAL, T0 + i / 1000);
            ta_counters_count(c, name, TA_STREAM_TRANSACTIONAL, &what);
            *sink += hour[0];
            break;
        }
    }
    return bench_now() - t0;
}

int
main(int argc, char **argv)
{
    static const unsigned sizes[] = { 1, 10000, 1000000 };
    const char           *dir = argc > 1 ? argv[1] : access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    volatile uint64_t     sink = 0;
    ta_count_t            first = { TA_COUNT_ACCEPTED, TA_R_NONE, 2048, { 0, 1 } };
    double                t[KINDS][RUNS], ns[KINDS], insert;
    ta_str_t             *names;
    char                 *text, path[4096], err[512];
    unsigned              seed = 2463534242u, z, n;
    size_t                s;
    int                   k, r;

    names = malloc(sizeof(*names) * 1000000);
    text = malloc(32 * 1000000);
    if (names == NULL || text == NULL)
        return 1;
    for (z = 0; z < 1000000; z++)
        names[z] = ta_str(text + 32 * z, (size_t) snprintf(text + 32 * z, 32, "tenant-%07u.example", z));
    printf("| counter table (median of %d x %ld calls, random tenants) | count ns | hour ns | hour_add ns "
           "| one message: all three, ns | first message of a tenant, ns | baseline ns |\n", RUNS, CALLS);
    printf("|---|---|---|---|---|---|---|\n");
    for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        ta_counters_t *c;

        n = sizes[s];
        snprintf(path, sizeof(path), "%s/bench_counters.%ld.counters", dir, (long) getpid());
        unlink(path);
        c = ta_counters_open(path, 0600, err, sizeof(err));
        if (c == NULL || ta_counters_problem(c) != NULL) {
            fprintf(stderr, "bench_counters: %s\n", c ? ta_counters_problem(c) : err);
            return 1;
        }
        /* fill: every tenant's first message */
        insert = bench_now();
        for (z = 0; z < n; z++)
            ta_counters_count(c, names[z], TA_STREAM_TRANSACTIONAL, &first);
        insert = (bench_now() - insert) / n * 1e9;
        for (r = 0; r < RUNS; r++)
            for (k = 0; k < KINDS; k++)
                t[k][r] = run(c, names, n, k, &seed, &sink);
        for (k = 0; k < KINDS; k++)
            ns[k] = bench_median(t[k], RUNS) / CALLS * 1e9;
        printf("| %u tenant%s | %.0f | %.0f | %.0f | %.0f | %.0f | %.1f |\n", n, n == 1 ? "" : "s",
               ns[COUNT] - ns[BASE], ns[HOUR] - ns[BASE], ns[HOUR_ADD] - ns[BASE], ns[MESSAGE] - ns[BASE],
               insert, ns[BASE]);
        {
            uint64_t tenants, over;

            ta_counters_info(c, &tenants, NULL, &over);
            if (tenants != n || over != 0) {
                fprintf(stderr, "bench_counters: %llu tenants, %llu overflow\n",
                        (unsigned long long) tenants, (unsigned long long) over);
                return 1;
            }
        }
        ta_counters_close(c);
        unlink(path);
    }
    printf("(the baseline, subtracted from each column but the first message: picking a random tenant;\n"
           " a 2 KB ed25519 decision is 20-40 us, 1%% of it 200-400 ns)\n");
    free(names);
    free(text);
    return sink == 42;
}

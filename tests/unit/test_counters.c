/*
 * test_counters - the per-tenant counter table: counts land in their
 * rows, long names, the (none) and (other) rows, the hourly window across
 * buckets, exact totals from 8 processes at once, a table removed,
 * damaged, of garbage, of a newer or an older format, in a directory
 * that cannot be written, on a full file system; the alarm said once. The
 * handle's cache of rows: emptied when the table is made again or
 * replaced (the tenants numbered otherwise, the table smaller), not
 * believed when the table changes under it, right with more tenants than
 * it holds.
 *
 * `test_counters --write-fixture FILE [exim|nginx]` writes the table
 * tests/cli/stats.sh reads (see fixture() for what it holds);
 * `test_counters --write-seeds DIR` the seed tables of fuzz_counters
 * (tests/fuzz/corpus/fuzz_counters: made again when the format changes).
 */
#define _GNU_SOURCE     /* unshare(CLONE_NEWNS) for the full file system test */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "ta_counters.h"

#define T0 1800000000LL     /* a time on a bucket boundary: 1800000000 = 300 * 6000000 */

static char dir[] = "/tmp/ta-test-countersXXXXXX";
static char path[4096];

static int
setup(void **state)
{
    (void) state;
    strcpy(dir + strlen(dir) - 6, "XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/t.counters", dir);
    return 0;
}

static int
teardown(void **state)
{
    char cmd[4200];

    (void) state;
    snprintf(cmd, sizeof(cmd), "chmod -R u+rwx %s; rm -rf %s", dir, dir);
    return system(cmd);
}

/* table - a new table of capacity rows at path */
static ta_counters_t *
table(uint32_t capacity)
{
    char           err[512];
    ta_counters_t *c = ta_counters_open_capacity(path, 0640, capacity, err, sizeof(err));

    assert_non_null(c);
    if (ta_counters_problem(c) != NULL)
        fail_msg("open: %s", ta_counters_problem(c));
    assert_string_equal(err, "");
    return c;
}

/* one verdict into the table */
static void
count(ta_counters_t *c, const char *tenant, ta_stream_t st, ta_count_verdict_t v, ta_reason_t r,
    uint64_t bytes, unsigned rsa, unsigned ed)
{
    ta_count_t what = { v, r, bytes, { rsa, ed } };

    ta_counters_count(c, ta_str_cstr(tenant), st, &what);
}

typedef struct {
    const char        *name;    /* NULL: by special */
    int                special;
    int                found;
    ta_counters_row_t  row;
} want_t;

static int
match(const ta_counters_row_t *row, void *arg)
{
    want_t *w = arg;

    if (w->name != NULL ? (row->special == 0 && row->name_len == strlen(w->name)
                           && memcmp(row->name, w->name, row->name_len) == 0)
                        : row->special == w->special) {
        w->found++;
        w->row = *row;
    }
    return 0;
}

/* row_of - the row of a tenant (special: 1 none, 2 other), asserting there is exactly one */
static ta_counters_row_t
row_of(ta_counters_t *c, const char *name, int special, int64_t now)
{
    want_t w = { name, special, 0, { { 0 }, 0, 0, { { 0 } } } };

    ta_counters_each(c, now, match, &w);
    if (w.found != 1)
        fail_msg("%s: %d rows", name ? name : special == 1 ? "(none)" : "(other)", w.found);
    return w.row;
}

static int
count_rows(const ta_counters_row_t *row, void *arg)
{
    (void) row;
    ++*(int *) arg;
    return 0;
}

static int
rows(ta_counters_t *c)
{
    int n = 0;

    ta_counters_each(c, T0, count_rows, &n);
    return n;
}

static int
exists(const char *p)
{
    struct stat sb;

    return stat(p, &sb) == 0;
}

static int fixture(const char *p, const char *kind);

static void
test_counts(void **state)
{
    ta_counters_t    *c;
    ta_counters_row_t r;
    uint64_t          tenants, cap, over, hour[TA_STREAMS];
    struct stat       sb;

    (void) state;
    assert_int_equal(fixture(path, "exim"), 0);     /* what stats.sh reads, below */
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0644);
    assert_int_equal((size_t) sb.st_size, ta_counters_file_size(64));
    c = table(64);
    /* out of range: ignored, or (a reason) counted as none */
    count(c, "beta", (ta_stream_t) 2, TA_COUNT_ACCEPTED, TA_R_NONE, 9, 0, 0);
    count(c, "beta", TA_STREAM_TRANSACTIONAL, (ta_count_verdict_t) 9, TA_R_NONE, 9, 0, 0);
    count(c, "beta", TA_STREAM_TRANSACTIONAL, TA_COUNT_REFUSED, (ta_reason_t) 99, 0, 0, 0);

    r = row_of(c, "acme", 0, T0);
    assert_int_equal(r.s[0].accepted, 3);
    assert_int_equal(r.s[0].bytes, 3000);
    assert_int_equal(r.s[0].sig[0], 3);
    assert_int_equal(r.s[0].sig[1], 3);
    assert_int_equal(r.s[0].denied[TA_R_NOT_ALIGNED], 1);
    assert_int_equal(r.s[0].hour, 3);
    assert_int_equal(r.s[1].accepted, 0);
    assert_int_equal(r.s[1].bytes, 100);       /* relayed in monitor mode */
    assert_int_equal(r.s[1].denied[TA_R_UNSUBSCRIBE], 2);
    assert_int_equal(r.s[1].denied[TA_R_HOURLY_CAP], 1);
    assert_int_equal(r.s[1].would[TA_R_FROM_NOT_OWNED], 1);
    assert_int_equal(r.s[1].hour, 0);
    r = row_of(c, "beta", 0, T0);
    assert_int_equal(r.s[0].accepted, 1);
    assert_int_equal(r.s[0].bytes, 500);
    assert_int_equal(r.s[0].sig[0], 1);
    assert_int_equal(r.s[0].denied[TA_R_NONE], 1);
    assert_int_equal(r.s[1].accepted, 0);
    assert_int_equal(row_of(c, "we\"ird\\name", 0, T0).s[0].accepted, 1);
    assert_int_equal(row_of(c, "bad\xffname\xc3\xa9", 0, T0).s[0].accepted, 1);
    assert_int_equal(row_of(c, NULL, 1, T0).s[0].denied[TA_R_UNKNOWN_LOGIN], 2);
    assert_int_equal(rows(c), 6);              /* (other) only when not empty */

    ta_counters_info(c, &tenants, &cap, &over);
    assert_int_equal(tenants, 5);
    assert_int_equal(cap, 62);
    assert_int_equal(over, 0);

    /* a reader sees the same; unknown tenants have an empty window */
    {
        char           err[512];
        ta_counters_t *rd = ta_counters_open_read(path, err, sizeof(err));

        assert_non_null(rd);
        r = row_of(rd, "acme", 0, T0);
        assert_int_equal(r.s[0].bytes, 3000);
        count(rd, "acme", TA_STREAM_TRANSACTIONAL, TA_COUNT_ACCEPTED, TA_R_NONE, 1, 0, 0);   /* no effect */
        ta_counters_hour(rd, ta_str_cstr("nobody"), T0, hour);
        assert_int_equal(hour[0] + hour[1], 0);
        ta_counters_close(rd);
    }
    r = row_of(c, "acme", 0, T0);
    assert_int_equal(r.s[0].accepted, 3);
    ta_counters_close(c);

    /* and again after closing: the table persists */
    c = table(64);
    r = row_of(c, "acme", 0, T0);
    assert_int_equal(r.s[0].accepted, 3);
    ta_counters_close(c);

    /* NULL handles */
    count(NULL, "acme", TA_STREAM_TRANSACTIONAL, TA_COUNT_ACCEPTED, TA_R_NONE, 1, 0, 0);
    ta_counters_hour_add(NULL, ta_str_cstr("acme"), TA_STREAM_TRANSACTIONAL, T0);
    hour[0] = hour[1] = 7;
    ta_counters_hour(NULL, ta_str_cstr("acme"), T0, hour);
    assert_int_equal(hour[0] + hour[1], 0);
    assert_null(ta_counters_problem(NULL));
    assert_null(ta_counters_alarm(NULL));
    assert_int_equal(ta_counters_each(NULL, T0, match, NULL), 0);
    ta_counters_info(NULL, &tenants, &cap, &over);
    assert_int_equal(tenants + cap + over, 0);
    ta_counters_close(NULL);
}

static void
test_names(void **state)
{
    ta_counters_t    *c;
    ta_counters_row_t r;
    char              a[320], b[120], cut[100];
    uint64_t          tenants;

    (void) state;
    c = table(64);
    memset(a, 'a', sizeof(a));
    memset(b, 'a', sizeof(b));
    b[100] = 'b';               /* the same first 87 octets, another name */
    ta_counters_count(c, ta_str(a, 100), TA_STREAM_TRANSACTIONAL, &(ta_count_t) { TA_COUNT_ACCEPTED, 0, 1, { 0, 0 } });
    ta_counters_count(c, ta_str(a, 100), TA_STREAM_TRANSACTIONAL, &(ta_count_t) { TA_COUNT_ACCEPTED, 0, 1, { 0, 0 } });
    ta_counters_count(c, ta_str(b, 101), TA_STREAM_TRANSACTIONAL, &(ta_count_t) { TA_COUNT_ACCEPTED, 0, 1, { 0, 0 } });
    ta_counters_count(c, ta_str(a, 101), TA_STREAM_TRANSACTIONAL, &(ta_count_t) { TA_COUNT_ACCEPTED, 0, 1, { 0, 0 } });
    ta_counters_count(c, ta_str(a, 87), TA_STREAM_TRANSACTIONAL, &(ta_count_t) { TA_COUNT_ACCEPTED, 0, 1, { 0, 0 } });
    ta_counters_count(c, ta_str(a, 300), TA_STREAM_TRANSACTIONAL, &(ta_count_t) { TA_COUNT_ACCEPTED, 0, 1, { 0, 0 } });
    ta_counters_info(c, &tenants, NULL, NULL);
    assert_int_equal(tenants, 5);              /* 100 a, 101 a..b, 101 a, 87 a, 300 a */
    ta_counters_count(c, ta_str(a, 300), TA_STREAM_TRANSACTIONAL, &(ta_count_t) { TA_COUNT_ACCEPTED, 0, 1, { 0, 0 } });
    ta_counters_count(c, ta_str(b, 101), TA_STREAM_TRANSACTIONAL, &(ta_count_t) { TA_COUNT_ACCEPTED, 0, 1, { 0, 0 } });
    ta_counters_info(c, &tenants, NULL, NULL);
    assert_int_equal(tenants, 5);
    /* the 87-octet name is whole, the longer ones cut with "~" */
    r = row_of(c, (memcpy(cut, a, 87), cut[87] = '\0', cut), 0, T0);
    assert_int_equal(r.s[0].accepted, 1);
    memcpy(cut, a, 87);
    cut[87] = '~';
    cut[88] = '\0';
    {
        want_t w = { cut, 0, 0, { { 0 }, 0, 0, { { 0 } } } };

        ta_counters_each(c, T0, match, &w);
        assert_int_equal(w.found, 4);           /* four long names, shown alike, rows apart */
    }
    /* the empty name: the (none) row */
    count(c, "", TA_STREAM_BROADCAST, TA_COUNT_REFUSED, TA_R_UNKNOWN_LOGIN, 0, 0, 0);
    r = row_of(c, NULL, 1, T0);
    assert_int_equal(r.s[1].denied[TA_R_UNKNOWN_LOGIN], 1);
    assert_int_equal(r.name_len, 0);
    ta_counters_info(c, &tenants, NULL, NULL);
    assert_int_equal(tenants, 5);
    ta_counters_close(c);
}

static void
test_overflow(void **state)
{
    ta_counters_t    *c;
    ta_counters_row_t r;
    uint64_t          tenants, cap, over, hour[TA_STREAMS];
    char              alarm_seen = 0;

    (void) state;
    c = table(4);               /* rows for 2 tenants */
    count(c, "t1", TA_STREAM_TRANSACTIONAL, TA_COUNT_ACCEPTED, TA_R_NONE, 10, 0, 0);
    count(c, "t2", TA_STREAM_TRANSACTIONAL, TA_COUNT_ACCEPTED, TA_R_NONE, 10, 0, 0);
    count(c, "t3", TA_STREAM_TRANSACTIONAL, TA_COUNT_ACCEPTED, TA_R_NONE, 10, 0, 0);
    count(c, "t4", TA_STREAM_BROADCAST, TA_COUNT_REFUSED, TA_R_NO_KEY, 0, 0, 0);
    count(c, "t1", TA_STREAM_TRANSACTIONAL, TA_COUNT_ACCEPTED, TA_R_NONE, 10, 0, 0);
    ta_counters_hour_add(c, ta_str_cstr("t3"), TA_STREAM_TRANSACTIONAL, T0);
    ta_counters_info(c, &tenants, &cap, &over);
    assert_int_equal(tenants, 2);
    assert_int_equal(cap, 2);
    assert_int_equal(over, 2);
    r = row_of(c, "t1", 0, T0);
    assert_int_equal(r.s[0].accepted, 2);
    r = row_of(c, NULL, 2, T0);
    assert_int_equal(r.s[0].accepted, 1);
    assert_int_equal(r.s[0].bytes, 10);
    assert_int_equal(r.s[1].denied[TA_R_NO_KEY], 1);
    assert_int_equal(r.s[0].hour, 1);           /* a tenant counted as (other) has no window of its own */
    ta_counters_hour(c, ta_str_cstr("t3"), T0, hour);
    assert_int_equal(hour[0] + hour[1], 0);
    assert_int_equal(rows(c), 3);
    /* a full table is not a problem of the table */
    assert_null(ta_counters_problem(c));
    if (ta_counters_alarm(c) != NULL)
        alarm_seen = 1;
    assert_int_equal(alarm_seen, 0);
    ta_counters_close(c);
}

static void
test_hour(void **state)
{
    ta_counters_t *c;
    uint64_t       h[TA_STREAMS];
    int            i;

    (void) state;
    c = table(64);
#define HOUR(at, t, b) do { ta_counters_hour(c, ta_str_cstr("acme"), (at), h); \
                            assert_int_equal(h[0], (t)); assert_int_equal(h[1], (b)); } while (0)
    ta_counters_hour_add(c, ta_str_cstr("acme"), TA_STREAM_TRANSACTIONAL, T0);        /* bucket 0 */
    ta_counters_hour_add(c, ta_str_cstr("acme"), TA_STREAM_TRANSACTIONAL, T0 + 299);  /* bucket 0 */
    ta_counters_hour_add(c, ta_str_cstr("acme"), TA_STREAM_BROADCAST, T0 + 300);      /* bucket 1 */
    HOUR(T0, 2, 0);
    HOUR(T0 + 299, 2, 0);
    HOUR(T0 + 300, 2, 1);
    HOUR(T0 - 1, 0, 0);                         /* before them: none */
    /* bucket 0 counts while it is one of the last twelve: to T0 + 3599 */
    HOUR(T0 + 3599, 2, 1);
    HOUR(T0 + 3600, 0, 1);
    HOUR(T0 + 3899, 0, 1);
    HOUR(T0 + 3900, 0, 0);
    /* a message in bucket 12 reuses bucket 0's place: the stale count goes */
    ta_counters_hour_add(c, ta_str_cstr("acme"), TA_STREAM_TRANSACTIONAL, T0 + 3600);
    HOUR(T0 + 3600, 1, 1);
    HOUR(T0 + 3599, 0, 1);                      /* bucket 0's two are gone; 12 is ahead of 11 */
    /* one every five minutes for two hours: always twelve in the window */
    for (i = 0; i < 24; i++)
        ta_counters_hour_add(c, ta_str_cstr("beta"), TA_STREAM_BROADCAST, T0 + 7200 + 300 * i + 17);
    ta_counters_hour(c, ta_str_cstr("beta"), T0 + 7200 + 300 * 23 + 17, h);
    assert_int_equal(h[1], 12);
    assert_int_equal(h[0], 0);
    ta_counters_hour(c, ta_str_cstr("beta"), T0 + 7200 + 300 * 23 + 17 + 3600, h);
    assert_int_equal(h[1], 0);
    /* unknown tenants, negative times */
    ta_counters_hour(c, ta_str_cstr("gamma"), T0, h);
    assert_int_equal(h[0] + h[1], 0);
    ta_counters_hour_add(c, ta_str_cstr("gamma"), TA_STREAM_TRANSACTIONAL, -5);
    ta_counters_hour(c, ta_str_cstr("gamma"), 0, h);
    assert_int_equal(h[0], 1);
    /* rows carry the window at the time asked */
    assert_int_equal(row_of(c, "acme", 0, T0 + 3600).s[0].hour, 1);
    assert_int_equal(row_of(c, "acme", 0, T0 + 3600).s[1].hour, 1);
#undef HOUR
    ta_counters_close(c);
}

#define PROCS   8
#define PER     20000
#define TENANTS 50

/* message - the i-th message of process k: tenant (TENANTS: none), stream, verdict */
static void
message(int k, int i, int *tenant, ta_stream_t *st, ta_count_t *what)
{
    int v = i % 5;

    *tenant = (i * 7 + k * 3) % (TENANTS + 1);
    *st = (ta_stream_t) ((i / 5) % 2);
    memset(what, 0, sizeof(*what));
    if (v <= 1) {
        what->verdict = TA_COUNT_ACCEPTED;
        what->bytes = (uint64_t) (i % 1000) + 1;
        what->sigs[0] = 1;
        what->sigs[1] = i % 3 == 0;
    } else if (v == 2) {
        what->verdict = TA_COUNT_REFUSED;
        what->reason = (ta_reason_t) (TA_R_SYNTAX + i % 14);
    } else if (v == 3) {
        what->verdict = TA_COUNT_TEMPFAILED;
        what->reason = (ta_reason_t) (TA_R_PAUSED + i % 7);
    } else {
        what->verdict = TA_COUNT_WOULD_REFUSE;
        what->reason = (ta_reason_t) (TA_R_SYNTAX + i % 21);
        what->bytes = 3;
    }
}

static void
tenant_name(int t, char *buf, size_t len)
{
    if (t == TENANTS)
        buf[0] = '\0';
    else
        snprintf(buf, len, "tenant-%02d.example", t);
}

static void
test_processes(void **state)
{
    static ta_counters_row_t want[TENANTS + 1];
    ta_counters_t           *c;
    ta_counters_row_t        got;
    ta_count_t               what;
    ta_stream_t              st;
    char                     name[64], go;
    int                      k, i, t, status, gate[2];
    pid_t                    pid[PROCS];
    uint64_t                 tenants, over;

    (void) state;
    c = table(1024);            /* the parent's handle: children 0-3 count through it (forked) */
    assert_int_equal(pipe(gate), 0);
    for (k = 0; k < PROCS; k++) {
        pid[k] = fork();
        assert_true(pid[k] >= 0);
        if (pid[k] == 0) {
            ta_counters_t *own = k < PROCS / 2 ? c : ta_counters_open_capacity(path, 0640, 1024, NULL, 0);

            close(gate[1]);
            if (read(gate[0], &go, 1) != 0)     /* all start together: inserts race */
                _exit(3);
            for (i = 0; i < PER; i++) {
                message(k, i, &t, &st, &what);
                tenant_name(t, name, sizeof(name));
                ta_counters_hour_add(own, ta_str_cstr(name), st, T0 + i % 600);
                ta_counters_count(own, ta_str_cstr(name), st, &what);
            }
            _exit(ta_counters_problem(own) == NULL ? 0 : 2);
        }
    }
    close(gate[0]);
    close(gate[1]);
    for (k = 0; k < PROCS; k++) {
        assert_int_equal(waitpid(pid[k], &status, 0), pid[k]);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    /* what they counted */
    memset(want, 0, sizeof(want));
    for (k = 0; k < PROCS; k++)
        for (i = 0; i < PER; i++) {
            ta_counters_row_t *w;

            message(k, i, &t, &st, &what);
            w = &want[t];
            switch (what.verdict) {
            case TA_COUNT_ACCEPTED: w->s[st].accepted++; break;
            case TA_COUNT_WOULD_REFUSE: w->s[st].would[what.reason]++; break;
            default: w->s[st].denied[what.reason]++; break;
            }
            if (what.verdict == TA_COUNT_ACCEPTED || what.verdict == TA_COUNT_WOULD_REFUSE) {
                w->s[st].bytes += what.bytes;
                w->s[st].sig[0] += what.sigs[0];
                w->s[st].sig[1] += what.sigs[1];
            }
            w->s[st].hour++;    /* all within buckets 0 and 1 */
        }
    for (t = 0; t <= TENANTS; t++) {
        tenant_name(t, name, sizeof(name));
        got = row_of(c, t == TENANTS ? NULL : name, t == TENANTS ? 1 : 0, T0 + 600);
        if (memcmp(got.s, want[t].s, sizeof(got.s)) != 0)
            fail_msg("tenant %d: counts differ (accepted %llu, wanted %llu)", t,
                     (unsigned long long) got.s[0].accepted, (unsigned long long) want[t].s[0].accepted);
    }
    ta_counters_info(c, &tenants, NULL, &over);
    assert_int_equal(over, 0);
    assert_true(tenants >= TENANTS && tenants < TENANTS + PROCS * TENANTS);   /* rows lost in races: unused */
    assert_int_equal(rows(c), TENANTS + 1);     /* abandoned rows are not shown */
    ta_counters_close(c);
}

static void
test_removed(void **state)
{
    ta_counters_t    *c;
    ta_counters_row_t r;

    (void) state;
    c = table(64);
    count(c, "acme", TA_STREAM_TRANSACTIONAL, TA_COUNT_ACCEPTED, TA_R_NONE, 1, 0, 0);
    assert_int_equal(unlink(path), 0);
    /* within the second: still counting in the old table */
    count(c, "acme", TA_STREAM_TRANSACTIONAL, TA_COUNT_ACCEPTED, TA_R_NONE, 1, 0, 0);
    /* the real once-a-second check */
    usleep(1100 * 1000);
    count(c, "acme", TA_STREAM_TRANSACTIONAL, TA_COUNT_ACCEPTED, TA_R_NONE, 1, 0, 0);
    assert_true(exists(path));
    assert_null(ta_counters_problem(c));
    r = row_of(c, "acme", 0, T0);
    assert_int_equal(r.s[0].accepted, 1);
    /* replaced by another table (rename over it): followed */
    {
        char           other[4200];
        ta_counters_t *o;

        snprintf(other, sizeof(other), "%s/other.counters", dir);
        o = ta_counters_open_capacity(other, 0640, 64, NULL, 0);
        count(o, "acme", TA_STREAM_TRANSACTIONAL, TA_COUNT_ACCEPTED, TA_R_NONE, 1, 0, 0);
        count(o, "acme", TA_STREAM_TRANSACTIONAL, TA_COUNT_ACCEPTED, TA_R_NONE, 1, 0, 0);
        ta_counters_close(o);
        assert_int_equal(rename(other, path), 0);
    }
    ta_counters_recheck(c);
    r = row_of(c, "acme", 0, T0);
    assert_int_equal(r.s[0].accepted, 2);
    ta_counters_close(c);
}

/* corrupt_file - write len octets at offset of path, in place */
static void
poke(const char *p, off_t offset, const void *data, size_t len)
{
    int fd = open(p, O_WRONLY);

    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, data, len, offset), (ssize_t) len);
    close(fd);
}

static void
test_damaged(void **state)
{
    ta_counters_t    *c;
    ta_counters_row_t r;
    char              bad[4200], err[512];
    const char       *a;
    struct stat       sb;
    FILE             *f;
    int               i;

    (void) state;
    snprintf(bad, sizeof(bad), "%s.corrupt", path);
    c = table(64);
    count(c, "acme", TA_STREAM_TRANSACTIONAL, TA_COUNT_ACCEPTED, TA_R_NONE, 1, 0, 0);
    assert_null(ta_counters_alarm(c));
    /* the magic overwritten in place */
    poke(path, 0, "XXXX", 4);
    ta_counters_recheck(c);
    count(c, "acme", TA_STREAM_TRANSACTIONAL, TA_COUNT_ACCEPTED, TA_R_NONE, 1, 0, 0);
    assert_true(exists(bad));
    assert_null(ta_counters_problem(c));
    r = row_of(c, "acme", 0, T0);
    assert_int_equal(r.s[0].accepted, 1);       /* a new table */
    a = ta_counters_alarm(c);
    assert_non_null(a);
    if (strstr(a, "no TACOUNT1 magic") == NULL || strstr(a, "kept as") == NULL)
        fail_msg("alarm: %s", a);
    assert_null(ta_counters_alarm(c));          /* once */
    /* the reader refuses the kept one */
    assert_null(ta_counters_open_read(bad, err, sizeof(err)));
    if (strstr(err, "not a counter table") == NULL)
        fail_msg("read: %s", err);
    /* the capacity field changed: the check value no longer matches */
    poke(path, 16, "\x10\0\0\0", 4);
    ta_counters_recheck(c);
    count(c, "acme", TA_STREAM_TRANSACTIONAL, TA_COUNT_ACCEPTED, TA_R_NONE, 1, 0, 0);
    assert_non_null(a = ta_counters_alarm(c));
    if (strstr(a, "damaged header") == NULL)
        fail_msg("alarm: %s", a);
    /* cut in place (what operators must not do; here the table is not used at the time) */
    assert_int_equal(truncate(path, 8192), 0);
    ta_counters_recheck(c);
    count(c, "acme", TA_STREAM_TRANSACTIONAL, TA_COUNT_ACCEPTED, TA_R_NONE, 1, 0, 0);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal((size_t) sb.st_size, ta_counters_file_size(64));
    ta_counters_close(c);

    /* a file of garbage where the table should be, at open */
    f = fopen(path, "w");
    assert_non_null(f);
    for (i = 0; i < 100000; i++)
        fputc((i * 7919) & 0xff, f);
    fclose(f);
    c = ta_counters_open_capacity(path, 0640, 64, err, sizeof(err));
    assert_null(ta_counters_problem(c));
    assert_int_equal(stat(bad, &sb), 0);
    assert_int_equal(sb.st_size, 100000);       /* the older .corrupt replaced */
    count(c, "acme", TA_STREAM_TRANSACTIONAL, TA_COUNT_ACCEPTED, TA_R_NONE, 1, 0, 0);
    assert_int_equal(row_of(c, "acme", 0, T0).s[0].accepted, 1);
    ta_counters_close(c);

    /* an empty file, and a short one */
    f = fopen(path, "w");
    fclose(f);
    c = ta_counters_open_capacity(path, 0640, 64, NULL, 0);
    assert_null(ta_counters_problem(c));
    ta_counters_close(c);
    assert_int_equal(truncate(path, 100), 0);
    c = ta_counters_open_capacity(path, 0640, 64, NULL, 0);
    assert_null(ta_counters_problem(c));
    ta_counters_close(c);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal((size_t) sb.st_size, ta_counters_file_size(64));
}

/* set_version - a table's format number changed, the header sealed again */
static void
set_version(uint32_t v)
{
    unsigned char hdr[64];
    int           fd = open(path, O_RDWR);

    assert_true(fd >= 0);
    assert_int_equal(pread(fd, hdr, sizeof(hdr), 0), (ssize_t) sizeof(hdr));
    memcpy(hdr + 8, &v, 4);
    ta_counters_seal(hdr);
    assert_int_equal(pwrite(fd, hdr, sizeof(hdr), 0), (ssize_t) sizeof(hdr));
    close(fd);
}

static void
test_formats(void **state)
{
    ta_counters_t *c;
    size_t         size = ta_counters_file_size(64);
    unsigned char *buf = aligned_alloc(64, size);
    char           err[512], bad[4200];
    FILE          *f;

    (void) state;
    assert_non_null(buf);
    snprintf(bad, sizeof(bad), "%s.corrupt", path);
    c = table(64);
    count(c, "acme", TA_STREAM_TRANSACTIONAL, TA_COUNT_ACCEPTED, TA_R_NONE, 1, 0, 0);
    ta_counters_close(c);
    f = fopen(path, "r");
    assert_int_equal(fread(buf, 1, size, f), size);
    fclose(f);
    assert_int_equal(ta_counters_validate(buf, size, err, sizeof(err)), TA_OK);
    assert_int_equal(ta_counters_validate(buf, size - 1, err, sizeof(err)), TA_EINPUT);
    assert_int_equal(ta_counters_validate(NULL, 0, err, sizeof(err)), TA_EINPUT);
    /* in memory: counts go into the buffer */
    c = ta_counters_open_mem(buf, size, err, sizeof(err));
    assert_non_null(c);
    count(c, "acme", TA_STREAM_TRANSACTIONAL, TA_COUNT_ACCEPTED, TA_R_NONE, 1, 0, 0);
    count(c, "new", TA_STREAM_TRANSACTIONAL, TA_COUNT_ACCEPTED, TA_R_NONE, 1, 0, 0);
    assert_int_equal(row_of(c, "acme", 0, T0).s[0].accepted, 2);
    assert_int_equal(row_of(c, "new", 0, T0).s[0].accepted, 1);   /* within the first rows' space */
    ta_counters_close(c);
    assert_null(ta_counters_open_mem(buf + 1, size - 1, err, sizeof(err)));
    free(buf);

    /* a newer format, sound: left alone, nothing counted, said */
    set_version(3);
    c = ta_counters_open_capacity(path, 0640, 64, err, sizeof(err));
    assert_non_null(ta_counters_problem(c));
    if (strstr(err, "newer tenantalign (format 3") == NULL)
        fail_msg("open: %s", err);
    count(c, "acme", TA_STREAM_TRANSACTIONAL, TA_COUNT_ACCEPTED, TA_R_NONE, 1, 0, 0);
    assert_false(exists(bad));
    ta_counters_close(c);
    assert_null(ta_counters_open_read(path, err, sizeof(err)));
    if (strstr(err, "newer tenantalign") == NULL)
        fail_msg("read: %s", err);
    /* an older one (format 1: another row layout): replaced, and said */
    set_version(1);
    c = ta_counters_open_capacity(path, 0640, 64, err, sizeof(err));
    assert_null(ta_counters_problem(c));
    assert_true(exists(bad));
    assert_int_equal(rows(c), 0);
    {
        const char *a = ta_counters_alarm(c);

        if (a == NULL || strstr(a, "an older format (1)") == NULL)
            fail_msg("alarm: %s", a ? a : "none");
    }
    ta_counters_close(c);
    /* missing: the reader says so and makes nothing */
    unlink(path);
    assert_null(ta_counters_open_read(path, err, sizeof(err)));
    if (strstr(err, "No such file") == NULL)
        fail_msg("read: %s", err);
    assert_false(exists(path));
}

/* counted - count tenant "tN" once, accepted on stream 0, with bytes octets */
static void
counted(ta_counters_t *c, int n, uint64_t bytes)
{
    char name[32];

    snprintf(name, sizeof(name), "t%d", n);
    count(c, name, TA_STREAM_TRANSACTIONAL, TA_COUNT_ACCEPTED, TA_R_NONE, bytes, 0, 1);
}

/* row_n - the row of tenant "tN" */
static ta_counters_row_t
row_n(ta_counters_t *c, int n)
{
    char name[32];

    snprintf(name, sizeof(name), "t%d", n);
    return row_of(c, name, 0, T0);
}

/* has_row - whether the row is the tenant named arg: each() stops at it */
static int
has_row(const ta_counters_row_t *row, void *arg)
{
    const char *want = arg;

    return row->special == 0 && row->name_len == strlen(want) && memcmp(row->name, want, row->name_len) == 0;
}

static void
test_cache_recreated(void **state)
{
    ta_counters_t    *c, *o;
    ta_counters_row_t r;
    char              other[4200], name[32];
    uint64_t          tenants, over, h[TA_STREAMS];
    int               i;

    (void) state;
    /* t0..t99 in rows 2..101 of a table of 256: the handle's cache has them */
    c = table(256);
    for (i = 0; i < 100; i++)
        counted(c, i, 1);
    for (i = 0; i < 100; i++)
        counted(c, i, 1);
    assert_int_equal(row_n(c, 0).s[0].accepted, 2);
    /* another table takes its place: 64 rows, tenants first seen in the
     * other order (t99 in row 2, where t0 was), t38..t99 filling it */
    snprintf(other, sizeof(other), "%s/other.counters", dir);
    o = ta_counters_open_capacity(other, 0640, 64, NULL, 0);
    assert_null(ta_counters_problem(o));
    for (i = 99; i >= 38; i--)
        counted(o, i, 1000);
    ta_counters_close(o);
    assert_int_equal(rename(other, path), 0);
    ta_counters_recheck(c);
    /* every count now lands in the new table's row of its tenant; rows
     * the old table had past the new one's end are not touched */
    for (i = 0; i < 100; i++) {
        counted(c, i, 1);
        snprintf(name, sizeof(name), "t%d", i);
        ta_counters_hour_add(c, ta_str_cstr(name), TA_STREAM_BROADCAST, T0);
    }
    for (i = 38; i < 100; i++) {
        r = row_n(c, i);
        if (r.s[0].accepted != 2 || r.s[0].bytes != 1001 || r.s[0].sig[1] != 2 || r.s[1].hour != 1)
            fail_msg("t%d: accepted %llu, octets %llu", i, (unsigned long long) r.s[0].accepted,
                     (unsigned long long) r.s[0].bytes);
    }
    for (i = 0; i < 38; i++) {
        snprintf(name, sizeof(name), "t%d", i);
        assert_int_equal(ta_counters_each(c, T0, has_row, name), 0);
        ta_counters_hour(c, ta_str_cstr(name), T0, h);
        assert_int_equal(h[0] + h[1], 0);
    }
    r = row_of(c, NULL, 2, T0);
    assert_int_equal(r.s[0].accepted, 38);
    assert_int_equal(r.s[0].bytes, 38);
    assert_int_equal(r.s[1].hour, 38);
    ta_counters_info(c, &tenants, NULL, &over);
    assert_int_equal(tenants, 62);
    assert_int_equal(over, 38);                 /* t0..t37: the messages, not their windows */
    ta_counters_close(c);

    /* made again after removal: the same, the tenants numbered afresh */
    c = table(64);
    counted(c, 5, 1);
    counted(c, 7, 1);
    assert_int_equal(unlink(path), 0);
    o = table(64);                              /* (made at once, under another inode) */
    counted(o, 7, 1);
    counted(o, 5, 1);
    counted(o, 5, 1);
    ta_counters_close(o);
    ta_counters_recheck(c);
    counted(c, 5, 1);
    counted(c, 7, 1);
    assert_int_equal(row_n(c, 5).s[0].accepted, 3);
    assert_int_equal(row_n(c, 7).s[0].accepted, 2);
    ta_counters_close(c);
}

/* slurp - the whole file at p, in memory aligned for a table */
static unsigned char *
slurp(const char *p, size_t size)
{
    unsigned char *buf = aligned_alloc(64, size);
    FILE          *f = fopen(p, "r");

    assert_non_null(buf);
    assert_non_null(f);
    assert_int_equal(fread(buf, 1, size, f), size);
    fclose(f);
    return buf;
}

static void
test_cache_stale(void **state)
{
    ta_counters_t    *c, *mem;
    ta_counters_row_t r;
    size_t            size = ta_counters_file_size(64), row;
    unsigned char    *a, *b;
    int               i;

    (void) state;
    /* two tables of one shape: t1, t2, t3 in that order, and in the other */
    c = table(64);
    for (i = 1; i <= 3; i++)
        counted(c, i, 10);
    ta_counters_close(c);
    a = slurp(path, size);
    unlink(path);
    c = table(64);
    for (i = 3; i >= 1; i--)
        counted(c, i, 100);
    ta_counters_close(c);
    b = slurp(path, size);
    /* a handle caches the rows of the first, which is then overwritten by
     * the second without the handle mapping anything: the rows it
     * remembers now hold other tenants, and its counts must not go there */
    mem = ta_counters_open_mem(a, size, NULL, 0);
    assert_non_null(mem);
    for (i = 1; i <= 3; i++)
        counted(mem, i, 1);
    assert_int_equal(row_n(mem, 1).s[0].bytes, 11);
    memcpy(a, b, size);
    for (i = 1; i <= 3; i++)
        counted(mem, i, (uint64_t) i);
    for (i = 1; i <= 3; i++) {
        r = row_n(mem, i);
        assert_int_equal(r.s[0].accepted, 2);
        assert_int_equal(r.s[0].bytes, 100 + i);
    }
    /* a row whose key is damaged is not believed either: the tenant gets a
     * new row. Format 2: the rows' lines of stream 0 (key and counts, 64
     * octets) come first after the index. */
    row = ta_counters_file_size(64) - ta_counters_file_size(63);
    memset(a + size - 64 * row + 2 * 64, 0, 64);   /* row 2: t3 */
    counted(mem, 3, 1);
    assert_int_equal(rows(mem), 4);             /* t3's old row still shows by name, and its new one */
    ta_counters_close(mem);
    free(a);
    free(b);
}

static void
test_cache_many(void **state)
{
    ta_counters_t    *c;
    ta_counters_row_t r;
    uint64_t          tenants, over;
    int               i, round;

    (void) state;
    /* more tenants than the cache has entries (16,384; 8 in a set): each
     * counted in its own row, whether remembered or probed again */
    c = table(32768);
    for (round = 1; round <= 3; round++)
        for (i = 0; i < 20000; i++)
            counted(c, (i * 7919) % 20000, (uint64_t) round);
    ta_counters_info(c, &tenants, NULL, &over);
    assert_int_equal(tenants, 20000);
    assert_int_equal(over, 0);
    for (i = 0; i < 20000; i += 997) {
        r = row_n(c, i);
        assert_int_equal(r.s[0].accepted, 3);
        assert_int_equal(r.s[0].bytes, 6);
    }
    ta_counters_close(c);
}

/* unwritable - a table in a directory this process cannot write */
static void
unwritable(void)
{
    ta_counters_t *c;
    const char    *a;
    char           sub[4200], p[4300];

    snprintf(sub, sizeof(sub), "%s/ro", dir);
    snprintf(p, sizeof(p), "%s/t.counters", sub);
    c = ta_counters_open_capacity(p, 0640, 64, NULL, 0);
    assert_non_null(c);
    assert_non_null(ta_counters_problem(c));
    if (strstr(ta_counters_problem(c), "Permission denied") == NULL)
        fail_msg("problem: %s", ta_counters_problem(c));
    a = ta_counters_alarm(c);
    assert_non_null(a);
    assert_null(ta_counters_alarm(c));          /* once */
    /* counting nothing, answering zeros, without a crash */
    count(c, "acme", TA_STREAM_TRANSACTIONAL, TA_COUNT_ACCEPTED, TA_R_NONE, 1, 0, 0);
    ta_counters_hour_add(c, ta_str_cstr("acme"), TA_STREAM_TRANSACTIONAL, T0);
    assert_int_equal(rows(c), 0);
    assert_null(ta_counters_alarm(c));
    assert_false(exists(p));
    ta_counters_close(c);
}

static void
test_unwritable(void **state)
{
    char        sub[4200];
    pid_t       pid;
    int         status;
    ta_counters_t *c;

    (void) state;
    snprintf(sub, sizeof(sub), "%s/ro", dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    if (geteuid() != 0) {
        assert_int_equal(chmod(sub, 0555), 0);
        unwritable();
        assert_int_equal(chmod(sub, 0755), 0);
    } else {
        assert_int_equal(chmod(dir, 0755), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            if (setgid(65534) != 0 || setuid(65534) != 0)
                _exit(3);
            unwritable();
            _exit(0);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    /* made by root in a directory of another user's: that user's */
    if (geteuid() == 0) {
        struct stat sb;
        char        p[4300];

        snprintf(sub, sizeof(sub), "%s/theirs", dir);
        assert_int_equal(mkdir(sub, 0755), 0);
        assert_int_equal(chown(sub, 65534, 65534), 0);
        snprintf(p, sizeof(p), "%s/t.counters", sub);
        c = ta_counters_open_capacity(p, 0600, 64, NULL, 0);
        assert_null(ta_counters_problem(c));
        ta_counters_close(c);
        assert_int_equal(stat(p, &sb), 0);
        assert_int_equal(sb.st_uid, 65534);
        assert_int_equal(sb.st_gid, 65534);
        assert_int_equal(sb.st_mode & 0777, 0600);
    }
    /* a directory that does not exist: the problem says so; it is made later */
    snprintf(sub, sizeof(sub), "%s/later/t.counters", dir);
    c = ta_counters_open_capacity(sub, 0640, 64, NULL, 0);
    assert_non_null(ta_counters_problem(c));
    assert_non_null(ta_counters_alarm(c));
    snprintf(sub, sizeof(sub), "%s/later", dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    ta_counters_recheck(c);
    count(c, "acme", TA_STREAM_TRANSACTIONAL, TA_COUNT_ACCEPTED, TA_R_NONE, 1, 0, 0);
    assert_null(ta_counters_problem(c));
    assert_null(ta_counters_alarm(c));          /* recovered: nothing more to say */
    assert_int_equal(row_of(c, "acme", 0, T0).s[0].accepted, 1);
    ta_counters_close(c);
    /* a path that is a directory, a symbolic link: refused, not followed or renamed */
    c = ta_counters_open_capacity(dir, 0640, 64, NULL, 0);
    assert_non_null(ta_counters_problem(c));
    ta_counters_close(c);
    snprintf(sub, sizeof(sub), "%s/link.counters", dir);
    assert_int_equal(symlink(path, sub), 0);
    c = ta_counters_open_capacity(sub, 0640, 64, NULL, 0);
    assert_non_null(ta_counters_problem(c));
    ta_counters_close(c);
}

/* full - on a 4 MB file system: new tenants beyond the first rows' space go to (other), no SIGBUS */
static int
full(void)
{
    char           mnt[4200], p[4300], filler[4300], name[32];
    ta_counters_t *c;
    uint64_t       tenants, over;
    const char    *a;
    int            fd, i;
    static char    block[4096];

    snprintf(mnt, sizeof(mnt), "%s/full", dir);
    if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0
        || mount("tmpfs", mnt, "tmpfs", 0, "size=4m") != 0)
        return 4;               /* cannot: skipped */
    snprintf(p, sizeof(p), "%s/t.counters", mnt);
    c = ta_counters_open_capacity(p, 0640, 4096, NULL, 0);       /* 4.5 MB, 1.2 MB reserved */
    if (ta_counters_problem(c) != NULL)
        return 5;
    snprintf(filler, sizeof(filler), "%s/filler", mnt);
    fd = open(filler, O_WRONLY | O_CREAT, 0600);
    while (write(fd, block, sizeof(block)) > 0)
        ;
    close(fd);
    for (i = 0; i < 1100; i++) {               /* 1022 rows have space */
        snprintf(name, sizeof(name), "t%d", i);
        count(c, name, TA_STREAM_TRANSACTIONAL, TA_COUNT_ACCEPTED, TA_R_NONE, 1, 0, 0);
        ta_counters_hour_add(c, ta_str_cstr(name), TA_STREAM_TRANSACTIONAL, T0);
    }
    ta_counters_info(c, &tenants, NULL, &over);
    if (tenants != 1022 || over != 78)
        return 6;
    if (ta_counters_problem(c) != NULL || (a = ta_counters_alarm(c)) == NULL
        || strstr(a, "no disk space") == NULL || ta_counters_alarm(c) != NULL)
        return 7;
    /* space again: new tenants get rows (a second after the failure) */
    unlink(filler);
    usleep(1100 * 1000);
    count(c, "late", TA_STREAM_TRANSACTIONAL, TA_COUNT_ACCEPTED, TA_R_NONE, 1, 0, 0);
    ta_counters_info(c, &tenants, NULL, &over);
    if (tenants != 1023 || over != 78)
        return 8;
    ta_counters_close(c);
    return 0;
}

static void
test_full_disk(void **state)
{
    char  mnt[4200];
    pid_t pid;
    int   status;

    (void) state;
    snprintf(mnt, sizeof(mnt), "%s/full", dir);
    assert_int_equal(mkdir(mnt, 0755), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(full());
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) == 4) {
        printf("# full disk test not run: no mount namespace (needs root)\n");
        return;
    }
    if (WEXITSTATUS(status) != 0)
        fail_msg("full file system: step %d failed", WEXITSTATUS(status));
}

/*
 * fixture - the table tests/cli/stats.sh reads. exim: acme (both streams,
 * every kind of count), beta, a name with a quote and a backslash, a name
 * that is not UTF-8, a name cut at 87 octets, the (none) row; hourly
 * window 3 for acme at T0. nginx: acme 2 more accepted, and gamma.
 * fixture_of makes it with another capacity (the fuzz seeds: of 4, most
 * of those tenants in (other)), and with more, when many: six tenants
 * counted on both streams, with windows.
 */
static int
fixture_of(const char *p, const char *kind, uint32_t capacity, int many)
{
    ta_counters_t *c = ta_counters_open_capacity(p, 0644, capacity, NULL, 0);
    char           long_name[100], name[16];
    int            i;

    if (c == NULL || ta_counters_problem(c) != NULL) {
        fprintf(stderr, "fixture: %s\n", c ? ta_counters_problem(c) : "out of memory");
        return 1;
    }
    if (strcmp(kind, "nginx") == 0) {
        count(c, "acme", TA_STREAM_TRANSACTIONAL, TA_COUNT_ACCEPTED, TA_R_NONE, 200, 0, 2);
        count(c, "acme", TA_STREAM_TRANSACTIONAL, TA_COUNT_ACCEPTED, TA_R_NONE, 300, 1, 1);
        ta_counters_hour_add(c, ta_str_cstr("acme"), TA_STREAM_TRANSACTIONAL, T0);
        for (i = 0; i < 7; i++)
            count(c, "gamma", TA_STREAM_BROADCAST, TA_COUNT_REFUSED, TA_R_SUSPENDED, 0, 0, 0);
        ta_counters_close(c);
        return 0;
    }
    for (i = 0; i < 3; i++) {
        count(c, "acme", TA_STREAM_TRANSACTIONAL, TA_COUNT_ACCEPTED, TA_R_NONE, 1000, 1, 1);
        ta_counters_hour_add(c, ta_str_cstr("acme"), TA_STREAM_TRANSACTIONAL, T0 - 60 * i);
    }
    count(c, "acme", TA_STREAM_TRANSACTIONAL, TA_COUNT_REFUSED, TA_R_NOT_ALIGNED, 0, 0, 0);
    count(c, "acme", TA_STREAM_BROADCAST, TA_COUNT_REFUSED, TA_R_UNSUBSCRIBE, 0, 0, 0);
    count(c, "acme", TA_STREAM_BROADCAST, TA_COUNT_REFUSED, TA_R_UNSUBSCRIBE, 0, 0, 0);
    count(c, "acme", TA_STREAM_BROADCAST, TA_COUNT_TEMPFAILED, TA_R_HOURLY_CAP, 0, 0, 0);
    count(c, "acme", TA_STREAM_BROADCAST, TA_COUNT_WOULD_REFUSE, TA_R_FROM_NOT_OWNED, 100, 0, 0);
    count(c, "beta", TA_STREAM_TRANSACTIONAL, TA_COUNT_ACCEPTED, TA_R_NONE, 500, 1, 0);
    count(c, "we\"ird\\name", TA_STREAM_TRANSACTIONAL, TA_COUNT_ACCEPTED, TA_R_NONE, 1, 0, 0);
    count(c, "bad\xffname\xc3\xa9", TA_STREAM_TRANSACTIONAL, TA_COUNT_ACCEPTED, TA_R_NONE, 1, 0, 0);
    memset(long_name, 'l', sizeof(long_name));
    ta_counters_count(c, ta_str(long_name, sizeof(long_name)), TA_STREAM_TRANSACTIONAL,
                      &(ta_count_t) { TA_COUNT_ACCEPTED, TA_R_NONE, 1, { 0, 0 } });
    count(c, "", TA_STREAM_TRANSACTIONAL, TA_COUNT_REFUSED, TA_R_UNKNOWN_LOGIN, 0, 0, 0);
    count(c, "", TA_STREAM_TRANSACTIONAL, TA_COUNT_REFUSED, TA_R_UNKNOWN_LOGIN, 0, 0, 0);
    for (i = 10; many && i < 16; i++) {
        snprintf(name, sizeof(name), "t%d", i);
        count(c, name, (ta_stream_t) (i % 2), TA_COUNT_ACCEPTED, TA_R_NONE, (uint64_t) i, 1, 0);
        ta_counters_hour_add(c, ta_str_cstr(name), (ta_stream_t) (i % 2), T0 + 60 * i);
    }
    ta_counters_close(c);
    return 0;
}

static int
fixture(const char *p, const char *kind)
{
    return fixture_of(p, kind, 64, 0);
}

/* seeds - fuzz_counters' seed tables in d, made anew */
static int
seeds(const char *d)
{
    static const struct {
        const char *name;
        uint32_t    capacity;
    } s[] = { { "full4", 4 }, { "table16", 16 }, { "table32", 32 } };
    char   p[4200];
    size_t i;

    for (i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", d, s[i].name);
        unlink(p);
        if (fixture_of(p, "exim", s[i].capacity, s[i].capacity == 32) != 0)
            return 1;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_overflow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hour, setup, teardown),
        cmocka_unit_test_setup_teardown(test_processes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_removed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_formats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_recreated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_stale, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_many, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unwritable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_disk, setup, teardown),
    };

    if (argc >= 3 && strcmp(argv[1], "--write-fixture") == 0)
        return fixture(argv[2], argc > 3 ? argv[3] : "exim");
    if (argc >= 3 && strcmp(argv[1], "--write-seeds") == 0)
        return seeds(argv[2]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}

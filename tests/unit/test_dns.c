/*
 * test_dns - the DNS client. Offline: server strings, question checks and
 * the answer handling on messages built here (chains, loops, the chain
 * limit, CNAME conflicts, names that cannot be written, long and NUL-holding
 * TXT, referrals, rcodes). Against a knotd started here on 127.0.0.1 (the
 * knot tests skip when knotd is absent): a DKIM key in several strings, an
 * in-zone chain, a chain into another zone (asked again), loops in and
 * across zones, a 20-link chain, NXDOMAIN, NODATA, a referral, MX, A,
 * AAAA, SOA, 40 TXT records (TCP fallback, TA_DNS_MAX_RRS), a zone
 * reloaded with knotc, forged datagrams ignored, truncation without TCP,
 * eight threads at once; and the timeouts: a silent port takes
 * timeout * tries, a closed one answers at once.
 *
 * TA_DNS_CORPUS=DIR also writes knot's answers there as seeds for
 * fuzz_dns_answer (one selector octet, then the message).
 */
#define _XOPEN_SOURCE 700      /* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <cmocka.h>
#include <ldns/ldns.h>

#include "ta_dns.h"

#ifndef KNOTD
#define KNOTD "/usr/sbin/knotd"
#endif
#define KNOTC "/usr/sbin/knotc"

/* the DKIM record published in 255-octet strings: a 2048-bit RSA key */
static const char dkim[] =
    "v=DKIM1; k=rsa; p="
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAyUadyHYh+fP4wTK7CFmnvcTAS58E8SOx"
    "kXsJ4+NouQW6w22jNhDJ7ahDHftoAYkNbJYOwijEotviqe2vEJyxq1+5NLgukJjCyg2qQ0v1N5Xd"
    "/iv+8a2sfin3oqH4ps2MCuAg7/Vnxw1Z2prBtSFoQxmDIkpRQfTHNYWX7KDRH3egF5RgN15hEIdR"
    "vrbBN65jHrO7Yp5BKh/mEmrArplmMM1YHiMmXSuouQ2iFS+1waHBo3PODtxB0n+LoG6gNziVTrBm"
    "hKRD1vqB/wRiPKEpZbKhSeNQ/caGKAPAxJVCDWfTxIPiYIIrtQpG259glPub5HXa4uWqYqfB7jFl"
    "Pb13mwIDAQAB";

#include "../fuzz/dns_seed_names.h"

static char  dir[] = "/tmp/ta-test-dnsXXXXXX";
static char  conf[128], logpath[128], server[32];
static int   port;
static pid_t knotd = -1;
static int   knot_up;
static ta_dns_answer_t ans;

/* elapsed_ms - milliseconds since t0 */
static long
elapsed_ms(const struct timespec *t0)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0->tv_sec) * 1000L + (t.tv_nsec - t0->tv_nsec) / 1000000L;
}

/*
 * knotd
 */

/* write_zones - both zone files; serial and the text at reload.example.test vary */
static void
write_zones(unsigned serial, const char *reload_text)
{
    char  p[160];
    FILE *f;
    int   i;

    snprintf(p, sizeof(p), "%s/example.test.zone", dir);
    f = fopen(p, "w");
    assert_non_null(f);
    fprintf(f, "$ORIGIN example.test.\n$TTL 300\n"
               "@ SOA ns hostmaster %u 3600 600 86400 300\n@ NS ns\nns A 127.0.0.1\n"
               "@ MX 10 mx1\n@ MX 20 mx2.provider.test.\n"
               "@ TXT \"v=spf1 ip4:192.0.2.0/24 include:_spf.provider.test -all\"\n"
               "mx1 A 192.0.2.1\nmx1 AAAA 2001:db8::1\nempty A 192.0.2.7\n"
               "s1._domainkey TXT \"%.255s\" \"%s\"\n"
               "chain1 CNAME chain2\nchain2 CNAME chain3\nchain3 TXT \"end of chain\"\n"
               "out CNAME s2.provider.test.\nxloop CNAME xloop.provider.test.\n"
               "loop1 CNAME loop2\nloop2 CNAME loop1\n"
               "dangling CNAME nope\nsub NS ns.elsewhere.test.\n"
               "reload TXT \"%s\"\n",
            serial, dkim, dkim + 255, reload_text);
    for (i = 1; i <= 20; i++)
        fprintf(f, "long%d CNAME long%d\n", i, i + 1);
    fprintf(f, "long21 TXT \"end of the long chain\"\n");
    for (i = 1; i <= 40; i++)
        fprintf(f, "many TXT \"record %02d of forty, padded to make the answer long\"\n", i);
    fclose(f);
    snprintf(p, sizeof(p), "%s/provider.test.zone", dir);
    f = fopen(p, "w");
    assert_non_null(f);
    fprintf(f, "$ORIGIN provider.test.\n$TTL 300\n"
               "@ SOA ns hostmaster 1 3600 600 86400 300\n@ NS ns\nns A 127.0.0.1\n"
               "s2 TXT \"provider key\"\nxloop CNAME xloop.example.test.\n");
    fclose(f);
}

/* spawn - run argv with output to the log; the child dies with us */
static pid_t
spawn(char *const argv[])
{
    pid_t pid = fork();

    if (pid == 0) {
        int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0600);

        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

/* port_free - nothing bound on 127.0.0.1:p, UDP or TCP */
static int
port_free(int p)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t) p) };
    int                u = socket(AF_INET, SOCK_DGRAM, 0), t = socket(AF_INET, SOCK_STREAM, 0);
    int                ok;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok = bind(u, (struct sockaddr *) &sa, sizeof(sa)) == 0
         && bind(t, (struct sockaddr *) &sa, sizeof(sa)) == 0;
    close(u);
    close(t);
    return ok;
}

/* knot_answers - knotd serves both zones */
static int
knot_answers(void)
{
    char      err[128];
    ta_dns_t *d = ta_dns_new(server, 100, 1, err, sizeof(err));
    int       ok;

    ok = d && ta_dns_query(d, "example.test", TA_DNS_SOA, &ans) == TA_DNS_OK
         && ta_dns_query(d, "provider.test", TA_DNS_SOA, &ans) == TA_DNS_OK;
    ta_dns_free(d);
    return ok;
}

/* knot_start - knotd in a temporary directory on a free port of 3000-3599 */
static int
knot_start(void **state)
{
    char            *argv[] = { KNOTD, "-c", conf, NULL };
    struct timespec  t0;
    FILE            *f;
    int              i;

    (void) state;
    if (!mkdtemp(dir))
        return -1;
    snprintf(conf, sizeof(conf), "%s/knot.conf", dir);
    snprintf(logpath, sizeof(logpath), "%s/knotd.log", dir);
    for (i = 0, port = 0; i < 600 && !port; i++) {
        int p = 3000 + (int) ((unsigned) (getpid() + i * 7) % 600);

        if (port_free(p))
            port = p;
    }
    if (!port)
        return -1;
    snprintf(server, sizeof(server), "127.0.0.1:%d", port);
    write_zones(1, "before");
    f = fopen(conf, "w");
    if (!f)
        return -1;
    fprintf(f, "server:\n    listen: 127.0.0.1@%d\n    rundir: %s\n"
               "control:\n    listen: %s/knot.sock\ndatabase:\n    storage: %s\n"
               "log:\n  - target: stderr\n    any: warning\n"
               "template:\n  - id: default\n    journal-content: none\n    zonefile-sync: -1\n"
               "zone:\n  - domain: example.test\n    file: %s/example.test.zone\n"
               "  - domain: provider.test\n    file: %s/provider.test.zone\n",
            port, dir, dir, dir, dir, dir);
    fclose(f);
    knotd = spawn(argv);
    if (knotd < 0)
        return -1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (elapsed_ms(&t0) < 5000) {
        if (knot_answers()) {
            knot_up = 1;
            return 0;
        }
        usleep(10000);
    }
    fprintf(stderr, "knotd did not answer on %s (log: %s)\n", server, logpath);
    return -1;
}

/* rm_one - nftw callback */
static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st, (void) flag, (void) ftw;
    return remove(p);
}

/* knot_stop - stop knotd, remove the directory */
static int
knot_stop(void **state)
{
    int i, status;

    (void) state;
    if (knotd > 0) {
        kill(knotd, SIGTERM);
        for (i = 0; i < 300 && waitpid(knotd, &status, WNOHANG) == 0; i++)
            usleep(10000);
        if (i == 300) {
            kill(knotd, SIGKILL);
            waitpid(knotd, &status, 0);
        }
        knotd = -1;
    }
    if (dir[sizeof(dir) - 7] != 'X')
        nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
    return 0;
}

/* ask - one query to knot with a fresh client */
static ta_dns_rc_t
ask(const char *name, int type, int raw)
{
    char        err[128];
    ta_dns_t   *d;
    ta_dns_rc_t rc;

    assert_true(knot_up);
    d = ta_dns_new(server, 1000, 2, err, sizeof(err));
    assert_non_null(d);
    rc = raw ? ta_dns_query_raw(d, name, type, &ans) : ta_dns_query(d, name, type, &ans);
    ta_dns_free(d);
    return rc;
}

/* knot_tcp - the query over TCP to knot; the answer's length or 0 */
static size_t
knot_tcp(const uint8_t *q, size_t ql, uint8_t *r, size_t size)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port) };
    struct timeval     tv = { .tv_sec = 2 };
    uint8_t            out[2 + 512], len[2];
    int                fd = socket(AF_INET, SOCK_STREAM, 0);
    size_t             n = 0, got = 0;
    ssize_t            k;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    out[0] = (uint8_t) (ql >> 8);
    out[1] = (uint8_t) ql;
    memcpy(out + 2, q, ql);
    if (ql <= 512 && connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0
        && send(fd, out, ql + 2, 0) == (ssize_t) (ql + 2) && recv(fd, len, 2, MSG_WAITALL) == 2) {
        n = (size_t) len[0] << 8 | len[1];
        while (n <= size && got < n && (k = recv(fd, r + got, n - got, 0)) > 0)
            got += (size_t) k;
    }
    close(fd);
    return n > 0 && got == n ? n : 0;
}

/* knot_raw - send a query message to knot, return its answer's length
 * (UDP, TCP when truncated) */
static size_t
knot_raw(const uint8_t *q, size_t ql, uint8_t *r, size_t size)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port) };
    struct pollfd      p;
    int                fd = socket(AF_INET, SOCK_DGRAM, 0);
    ssize_t            n = -1;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0 && send(fd, q, ql, 0) == (ssize_t) ql) {
        p.fd = fd;
        p.events = POLLIN;
        if (poll(&p, 1, 2000) == 1)
            n = recv(fd, r, size, 0);
    }
    close(fd);
    if (n > 2 && (r[2] & 0x02))
        return knot_tcp(q, ql, r, size);
    return n > 0 ? (size_t) n : 0;
}

/*
 * Offline
 */

static void
test_server_strings(void **state)
{
    static const char *const good[] = {
        "127.0.0.1", "127.0.0.1:53", "192.0.2.1:65535", "[::1]:5353", "[::1]", "::1",
        "2001:db8::53",
    };
    static const char *const bad[] = {
        "", "localhost", "1.2.3.4:", "1.2.3.4:0", "1.2.3.4:65536", "1.2.3.4:123456",
        "1.2.3.4:12a", "1.2.3.4:-1", "[::1", "[::1]x", "[::1]:", "[1.2.3.4]:53", "1.2.3",
        "::1]:53", "127.0.0.1:53:53",
        "1111111111111111111111111111111111111111111111111111111111111111111111111111111111",
    };
    char      err[128];
    ta_dns_t *d;
    size_t    i;

    (void) state;
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        d = ta_dns_new(good[i], 0, 0, err, sizeof(err));
        if (!d)
            fprintf(stderr, "refused %s: %s\n", good[i], err);
        assert_non_null(d);
        ta_dns_free(d);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        d = ta_dns_new(bad[i], 0, 0, err, sizeof(err));
        if (d)
            fprintf(stderr, "accepted %s\n", bad[i]);
        assert_null(d);
        assert_non_null(strstr(err, "not a server address"));
    }
    /* the system's resolvers: works or says why, never crashes */
    d = ta_dns_new(NULL, 0, 0, err, sizeof(err));
    assert_true(d != NULL || err[0] != '\0');
    ta_dns_free(d);
}

static void
test_bad_questions(void **state)
{
    static const char *const names[] = {
        "", ".", "a..test", ".a.test", "a.test..", "ex ample.test", "caf\xc3\xa9.test",
        "tab\t.test",
        "a234567890123456789012345678901234567890123456789012345678901234.test",
    };
    char            err[128], longname[400], next[256];
    ta_dns_t       *d;
    size_t          i;
    struct timespec t0;

    (void) state;
    /* nothing is sent: the port does not matter */
    d = ta_dns_new("127.0.0.1:9", 1000, 1, err, sizeof(err));
    assert_non_null(d);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        assert_int_equal(ta_dns_query(d, names[i], TA_DNS_TXT, &ans), TA_DNS_BAD);
        assert_true(ans.why[0] != '\0');
    }
    /* 127 labels of one octet: 255 octets on the wire; one more is too long */
    for (i = 0; i < 127; i++)
        memcpy(longname + 2 * i, "a.", 2);
    longname[2 * 127 - 1] = '\0';
    assert_int_equal(ta_dns_answer_parse((const uint8_t *) "", 0, longname, TA_DNS_TXT, &ans, next),
                     TA_DNS_BAD);
    assert_null(strstr(ans.why, "longer than 255"));
    memcpy(longname + 2 * 127 - 1, ".a", 3);
    assert_int_equal(ta_dns_query(d, longname, TA_DNS_TXT, &ans), TA_DNS_BAD);
    assert_non_null(strstr(ans.why, "longer than 255"));
    /* meta types */
    assert_int_equal(ta_dns_query(d, "a.test", 255, &ans), TA_DNS_BAD);
    assert_int_equal(ta_dns_query(d, "a.test", 252, &ans), TA_DNS_BAD);
    assert_int_equal(ta_dns_query(d, "a.test", 41, &ans), TA_DNS_BAD);
    assert_int_equal(ta_dns_query(d, "a.test", 0, &ans), TA_DNS_BAD);
    assert_int_equal(ta_dns_query(d, "a.test", 70000, &ans), TA_DNS_BAD);
    assert_int_equal(ta_dns_query(NULL, "a.test", TA_DNS_TXT, &ans), TA_DNS_BAD);
    assert_true(elapsed_ms(&t0) < 100);
    ta_dns_free(d);
}

/* mkpkt - a response message: question (qname, type), flags, rcode, and
 * records in zone-file form, "an:" or "au:" before each for its section */
static size_t
mkpkt(uint8_t *out, size_t size, const char *qname, int type, int aa, int rcode,
      const char *const *rrs)
{
    ldns_pkt *p = ldns_pkt_query_new(ldns_dname_new_frm_str(qname), (ldns_rr_type) type,
                                     LDNS_RR_CLASS_IN, LDNS_RD);
    uint8_t  *w = NULL;
    size_t    wl = 0;

    assert_non_null(p);
    ldns_pkt_set_id(p, 4711);
    ldns_pkt_set_qr(p, 1);
    ldns_pkt_set_aa(p, aa);
    ldns_pkt_set_rcode(p, (uint8_t) rcode);
    for (; rrs && *rrs; rrs++) {
        ldns_rr *rr = NULL;

        assert_int_equal(ldns_rr_new_frm_str(&rr, *rrs + 3, 300, NULL, NULL), LDNS_STATUS_OK);
        ldns_pkt_push_rr(p, strncmp(*rrs, "au:", 3) == 0 ? LDNS_SECTION_AUTHORITY : LDNS_SECTION_ANSWER,
                         rr);
    }
    assert_int_equal(ldns_pkt2wire(&w, p, &wl), LDNS_STATUS_OK);
    assert_true(wl <= size);
    memcpy(out, w, wl);
    free(w);
    ldns_pkt_free(p);
    return wl;
}

/* parse - mkpkt, then the answer handling for (qname, type) */
static ta_dns_rc_t
parse(const char *qname, int type, int aa, int rcode, const char *const *rrs, char next[256])
{
    static uint8_t w[65536];
    size_t         n = mkpkt(w, sizeof(w), qname, type, aa, rcode, rrs);

    return ta_dns_answer_parse(w, n, qname, type, &ans, next);
}

static void
test_parse_chains(void **state)
{
    const char *leaves[] = { "an:a.test. CNAME b.other.", NULL };
    const char *chain[] = { "an:a.test. CNAME B.Test.", "an:b.test. CNAME c.test.",
                            "an:c.test. TXT \"hi\"", NULL };
    const char *loop[] = { "an:a.test. CNAME b.test.", "an:b.test. CNAME A.test.", NULL };
    const char *self[] = { "an:a.test. CNAME a.test.", NULL };
    const char *two[] = { "an:a.test. CNAME b.test.", "an:a.test. CNAME c.test.", NULL };
    const char *mixed[] = { "an:a.test. CNAME b.test.", "an:a.test. TXT \"x\"", NULL };
    const char *dangling[] = { "an:a.test. CNAME b.test.", NULL };
    const char *dotted[] = { "an:a.test. CNAME x\\.y.test.", NULL };
    const char *spaced[] = { "an:a.test. CNAME x\\032y.test.", NULL };
    const char *eight[12], *nine[12];
    char        next[256], rr[8][64], rr9[9][64];
    int         i;

    (void) state;
    assert_int_equal(parse("a.test", TA_DNS_TXT, 1, 0, leaves, next), TA_DNS_OK);
    assert_int_equal(ans.n, 0);
    assert_string_equal(next, "b.other");
    assert_int_equal(ans.nchain, 1);
    assert_string_equal(ans.cname_chain[0], "b.other");

    assert_int_equal(parse("a.test", TA_DNS_TXT, 1, 0, chain, next), TA_DNS_OK);
    assert_string_equal(next, "");
    assert_int_equal(ans.n, 1);
    assert_string_equal(ans.data[0], "hi");
    assert_int_equal(ans.nchain, 2);
    assert_string_equal(ans.cname_chain[0], "b.test");     /* lower case */
    assert_string_equal(ans.cname_chain[1], "c.test");
    assert_true(ans.aa);

    assert_int_equal(parse("a.test", TA_DNS_TXT, 1, 0, loop, next), TA_DNS_LOOP);
    assert_int_equal(parse("a.test", TA_DNS_TXT, 1, 0, self, next), TA_DNS_LOOP);
    assert_int_equal(parse("a.test", TA_DNS_TXT, 1, 0, two, next), TA_DNS_BAD);
    assert_int_equal(parse("a.test", TA_DNS_TXT, 1, 0, mixed, next), TA_DNS_BAD);
    assert_int_equal(parse("a.test", TA_DNS_CNAME, 1, 0, two, next), TA_DNS_BAD);
    assert_int_equal(parse("a.test", TA_DNS_TXT, 1, LDNS_RCODE_NXDOMAIN, dangling, next),
                     TA_DNS_NXDOMAIN);
    assert_int_equal(ans.nchain, 1);
    assert_string_equal(next, "");
    assert_int_equal(parse("a.test", TA_DNS_TXT, 1, 0, dotted, next), TA_DNS_BAD);
    assert_int_equal(parse("a.test", TA_DNS_TXT, 1, 0, spaced, next), TA_DNS_BAD);
    /* a CNAME asked for is a record, not followed */
    assert_int_equal(parse("a.test", TA_DNS_CNAME, 1, 0, chain, next), TA_DNS_OK);
    assert_int_equal(ans.n, 1);
    assert_string_equal(ans.data[0], "b.test");
    assert_int_equal(ans.nchain, 0);

    /* eight links and data: fine; nine: TA_DNS_CHAIN */
    for (i = 0; i < 8; i++) {
        snprintf(rr[i], sizeof(rr[i]), "an:l%d.test. CNAME l%d.test.", i, i + 1);
        eight[i] = rr[i];
    }
    eight[8] = "an:l8.test. A 192.0.2.8";
    eight[9] = NULL;
    assert_int_equal(parse("l0.test", TA_DNS_A, 1, 0, eight, next), TA_DNS_OK);
    assert_int_equal(ans.nchain, 8);
    assert_string_equal(ans.data[0], "192.0.2.8");
    for (i = 0; i < 9; i++) {
        snprintf(rr9[i], sizeof(rr9[i]), "an:l%d.test. CNAME l%d.test.", i, i + 1);
        nine[i] = rr9[i];
    }
    nine[9] = "an:l9.test. A 192.0.2.9";
    nine[10] = NULL;
    assert_int_equal(parse("l0.test", TA_DNS_A, 1, 0, nine, next), TA_DNS_CHAIN);
    assert_int_equal(ans.nchain, 8);
}

/* long_txt - "an:OWNER TXT" with five strings of 255 octets (line: 1400 octets) */
static void
long_txt(char *line, const char *owner)
{
    size_t l, i;

    l = (size_t) snprintf(line, 64, "an:%s TXT", owner);
    for (i = 0; i < 5; i++) {
        line[l++] = ' ';
        line[l++] = '"';
        memset(line + l, 'k', 255);
        l += 255;
        line[l++] = '"';
    }
    line[l] = '\0';
}

static void
test_parse_records(void **state)
{
    const char *nul[] = { "an:a.test. TXT \"x\\000y\"", NULL };
    const char *mx[] = { "an:a.test. MX 5 Mail.A.test.", "an:a.test. MX 10 b.test.",
                         "an:b.test. A 192.0.2.1", NULL };
    const char *other[] = { "an:a.test. TXT \"elsewhere\"", "an:a.test. CH TXT \"chaos\"", NULL };
    const char *soa[] = { "an:a.test. SOA ns.a.test. h.a.test. 7 1 2 3 4", NULL };
    const char *nxdata[] = { "an:a.test. TXT \"there\"", NULL };
    const char *referral[] = { "au:a.test. NS ns.elsewhere.", NULL };
    const char *negative[] = { "au:test. SOA ns.test. h.test. 1 1 1 1 1", "au:a.test. NS ns.x.", NULL };
    char        next[256], line[1500];
    const char *longtxt[2] = { line, NULL };

    (void) state;
    assert_int_equal(parse("a.test", TA_DNS_TXT, 1, 0, nul, next), TA_DNS_OK);
    assert_int_equal(ans.len[0], 3);
    assert_memory_equal(ans.data[0], "x\0y", 4);

    assert_int_equal(parse("a.test", TA_DNS_MX, 1, 0, mx, next), TA_DNS_OK);
    assert_int_equal(ans.n, 2);
    assert_string_equal(ans.data[0], "mail.a.test");
    assert_int_equal(ans.pref[0], 5);
    assert_string_equal(ans.data[1], "b.test");
    assert_int_equal(ans.pref[1], 10);

    /* another name's and another class's records do not count */
    assert_int_equal(parse("b.test", TA_DNS_TXT, 1, 0, other, next), TA_DNS_NODATA);
    assert_int_equal(parse("a.test", TA_DNS_TXT, 1, 0, other, next), TA_DNS_OK);
    assert_int_equal(ans.n, 1);
    assert_string_equal(ans.data[0], "elsewhere");

    assert_int_equal(parse("a.test", TA_DNS_SOA, 1, 0, soa, next), TA_DNS_OK);
    assert_string_equal(ans.data[0], "ns.a.test. h.a.test. 7 1 2 3 4");

    /* five strings of 255: joined, cut to 1023 with a note */
    long_txt(line, "a.test.");
    assert_int_equal(parse("a.test", TA_DNS_TXT, 1, 0, longtxt, next), TA_DNS_OK);
    assert_int_equal(ans.n, 1);
    assert_int_equal(ans.len[0], 1275);
    assert_int_equal(strlen(ans.data[0]), 1023);
    assert_true(ans.partial);
    assert_non_null(strstr(ans.why, "cut"));

    /* rcodes and negative answers */
    assert_int_equal(parse("a.test", TA_DNS_TXT, 1, LDNS_RCODE_NXDOMAIN, nxdata, next), TA_DNS_BAD);
    assert_int_equal(parse("a.test", TA_DNS_TXT, 1, LDNS_RCODE_NXDOMAIN, NULL, next), TA_DNS_NXDOMAIN);
    assert_int_equal(parse("a.test", TA_DNS_TXT, 1, 0, NULL, next), TA_DNS_NODATA);
    assert_int_equal(parse("a.test", TA_DNS_TXT, 1, LDNS_RCODE_SERVFAIL, NULL, next), TA_DNS_TEMP);
    assert_non_null(strstr(ans.why, "SERVFAIL"));
    assert_int_equal(parse("a.test", TA_DNS_TXT, 1, LDNS_RCODE_REFUSED, NULL, next), TA_DNS_TEMP);
    assert_int_equal(parse("a.test", TA_DNS_TXT, 1, LDNS_RCODE_FORMERR, NULL, next), TA_DNS_TEMP);
    assert_int_equal(parse("a.test", TA_DNS_TXT, 0, 0, referral, next), TA_DNS_TEMP);
    assert_non_null(strstr(ans.why, "refers"));
    assert_int_equal(parse("a.test", TA_DNS_TXT, 1, 0, referral, next), TA_DNS_NODATA);
    assert_int_equal(parse("a.test", TA_DNS_TXT, 0, 0, negative, next), TA_DNS_NODATA);
}

static void
test_parse_bounds(void **state)
{
    static uint8_t w[70000];
    const char    *one[] = { "an:a.test. TXT \"x\"", NULL };
    char           next[256];
    size_t         n;

    (void) state;
    assert_int_equal(ta_dns_answer_parse(NULL, 0, "a.test", TA_DNS_TXT, &ans, next), TA_DNS_BAD);
    memset(w, 0, sizeof(w));
    assert_int_equal(ta_dns_answer_parse(w, 11, "a.test", TA_DNS_TXT, &ans, next), TA_DNS_BAD);
    assert_int_equal(ta_dns_answer_parse(w, 65536, "a.test", TA_DNS_TXT, &ans, next), TA_DNS_BAD);
    assert_int_equal(ta_dns_answer_parse(w, 300, "a.test", TA_DNS_TXT, &ans, next), TA_DNS_BAD);
    n = mkpkt(w, sizeof(w), "a.test", TA_DNS_TXT, 1, 0, one);
    assert_int_equal(ta_dns_answer_parse(w, n, "a.test", TA_DNS_TXT, &ans, next), TA_DNS_OK);
    /* every cut of a good message is refused or read within its length */
    for (size_t k = 0; k < n; k++)
        assert_int_not_equal(ta_dns_answer_parse(w, k, "a.test", TA_DNS_TXT, &ans, next), TA_DNS_OK);
    /* an answer to another question, or not an answer */
    assert_int_equal(ta_dns_answer_parse(w, n, "b.test", TA_DNS_TXT, &ans, next), TA_DNS_BAD);
    assert_int_equal(ta_dns_answer_parse(w, n, "a.test", TA_DNS_A, &ans, next), TA_DNS_BAD);
    assert_int_equal(ta_dns_answer_parse(w, n, "A.TEST.", TA_DNS_TXT, &ans, next), TA_DNS_OK);
    w[2] &= 0x7f;
    assert_int_equal(ta_dns_answer_parse(w, n, "a.test", TA_DNS_TXT, &ans, next), TA_DNS_BAD);
}

/* add_tsig - a TSIG record (root owner, hmac-sha256., empty MAC) at the
 * end of message w of n octets, counted in ARCOUNT; the new length */
static size_t
add_tsig(uint8_t *w, size_t n)
{
    static const uint8_t tsig[] = {
        0, 0x00, 0xfa, 0x00, 0xff, 0, 0, 0, 0, 0, 29,         /* ., TSIG, ANY, TTL 0, rdlen */
        11, 'h', 'm', 'a', 'c', '-', 's', 'h', 'a', '2', '5', '6', 0,
        0, 0, 0, 0, 0, 1, 1, 0x2c, 0, 0, 0x12, 0x67, 0, 0, 0, 0, /* time, fudge, MAC, id, error, other */
    };
    unsigned ar = (unsigned) w[10] << 8 | w[11];

    memcpy(w + n, tsig, sizeof(tsig));
    ar++;
    w[10] = (uint8_t) (ar >> 8);
    w[11] = (uint8_t) ar;
    return n + sizeof(tsig);
}

/* more than one TSIG record read: refused before ldns_wire2pkt(), which
 * would keep the last and leak the others (the sanitizer run's leak check
 * fails this test without the guard). ldns lowers ARCOUNT for each TSIG it
 * reads, so two are read only when ARCOUNT is at least three. */
static void
test_parse_tsig(void **state)
{
    static uint8_t w[70000];
    const char    *one[] = { "an:a.test. TXT \"x\"", NULL };
    char           next[256];
    size_t         n, k;

    (void) state;
    n = add_tsig(w, mkpkt(w, sizeof(w), "a.test", TA_DNS_TXT, 1, 0, one));
    assert_int_equal(ta_dns_answer_parse(w, n, "a.test", TA_DNS_TXT, &ans, next), TA_DNS_OK);
    assert_string_equal(ans.data[0], "x");
    n = add_tsig(w, n);         /* ARCOUNT 2: the second is never read */
    assert_int_equal(ta_dns_answer_parse(w, n, "a.test", TA_DNS_TXT, &ans, next), TA_DNS_OK);
    w[11]++;                    /* ARCOUNT 3: both are */
    assert_int_equal(ta_dns_answer_parse(w, n, "a.test", TA_DNS_TXT, &ans, next), TA_DNS_BAD);
    assert_non_null(strstr(ans.why, "more than one TSIG record"));
    /* many, and a record counted after them that is not there: refused
     * as well, since ldns_wire2pkt() leaks before it fails */
    for (k = 0; k < 500; k++)
        n = add_tsig(w, n);
    w[10] = 0x04;
    assert_int_equal(ta_dns_answer_parse(w, n, "a.test", TA_DNS_TXT, &ans, next), TA_DNS_BAD);
    assert_non_null(strstr(ans.why, "more than one TSIG record"));
}

/*
 * Timeouts (no knot needed)
 */

/* udp_bound - a UDP socket on 127.0.0.1 that nobody reads; its port in *p */
static int
udp_bound(int *p)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    socklen_t          l = sizeof(sa);
    int                fd = socket(AF_INET, SOCK_DGRAM, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *) &sa, &l), 0);
    *p = ntohs(sa.sin_port);
    return fd;
}

static void
test_timeout(void **state)
{
    static const unsigned plan[][2] = { { 300, 2 }, { 200, 3 }, { 150, 1 } };
    char            err[128], srv[32];
    ta_dns_t       *d;
    struct timespec t0;
    long            ms, want;
    size_t          i;
    int             p, fd = udp_bound(&p);

    (void) state;
    snprintf(srv, sizeof(srv), "127.0.0.1:%d", p);
    for (i = 0; i < sizeof(plan) / sizeof(plan[0]); i++) {
        d = ta_dns_new(srv, plan[i][0], plan[i][1], err, sizeof(err));
        assert_non_null(d);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        assert_int_equal(ta_dns_query(d, "s1._domainkey.example.test", TA_DNS_TXT, &ans), TA_DNS_TEMP);
        ms = elapsed_ms(&t0);
        want = (long) (plan[i][0] * plan[i][1]);
        fprintf(stderr, "# silent server, %u ms x %u tries: TEMP after %ld ms (%s)\n", plan[i][0],
                plan[i][1], ms, ans.why);
        assert_true(ms >= want - 5 && ms <= want + 100);
        assert_non_null(strstr(ans.why, "no answer"));
        ta_dns_free(d);
    }
    close(fd);
}

static void
test_closed_port(void **state)
{
    char            err[128], srv[32];
    ta_dns_t       *d;
    struct timespec t0;
    int             p, fd = udp_bound(&p);

    (void) state;
    close(fd);          /* now nothing listens there */
    snprintf(srv, sizeof(srv), "127.0.0.1:%d", p);
    d = ta_dns_new(srv, 2000, 2, err, sizeof(err));
    assert_non_null(d);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(ta_dns_query(d, "example.test", TA_DNS_TXT, &ans), TA_DNS_TEMP);
    assert_true(elapsed_ms(&t0) < 200);
    assert_non_null(strstr(ans.why, "refused"));
    ta_dns_free(d);
}

/*
 * Against knot
 */

static void
test_knot_txt(void **state)
{
    (void) state;
    assert_int_equal(ask("s1._domainkey.example.test", TA_DNS_TXT, 0), TA_DNS_OK);
    assert_int_equal(ans.n, 1);
    assert_int_equal(ans.len[0], strlen(dkim));
    assert_string_equal(ans.data[0], dkim);        /* two strings joined, nothing between */
    assert_true(ans.aa);
    assert_false(ans.partial);
    assert_int_equal(ask("example.test", TA_DNS_TXT, 0), TA_DNS_OK);
    assert_string_equal(ans.data[0], "v=spf1 ip4:192.0.2.0/24 include:_spf.provider.test -all");
}

static void
test_knot_chains(void **state)
{
    (void) state;
    /* in-zone: knot puts the whole chain in the answer */
    assert_int_equal(ask("chain1.example.test", TA_DNS_TXT, 0), TA_DNS_OK);
    assert_string_equal(ans.data[0], "end of chain");
    assert_int_equal(ans.nchain, 2);
    assert_string_equal(ans.cname_chain[0], "chain2.example.test");
    assert_string_equal(ans.cname_chain[1], "chain3.example.test");
    /* into the other zone: asked again */
    assert_int_equal(ask("out.example.test", TA_DNS_TXT, 0), TA_DNS_OK);
    assert_string_equal(ans.data[0], "provider key");
    assert_int_equal(ans.nchain, 1);
    assert_string_equal(ans.cname_chain[0], "s2.provider.test");
    /* raw: the CNAME itself */
    assert_int_equal(ask("out.example.test", TA_DNS_CNAME, 1), TA_DNS_OK);
    assert_int_equal(ans.n, 1);
    assert_string_equal(ans.data[0], "s2.provider.test");
    assert_int_equal(ask("out.example.test", TA_DNS_TXT, 1), TA_DNS_NODATA);
    assert_int_equal(ans.nchain, 1);
    assert_string_equal(ans.cname_chain[0], "s2.provider.test");
    assert_int_equal(ask("chain1.example.test", TA_DNS_CNAME, 0), TA_DNS_OK);
    assert_string_equal(ans.data[0], "chain2.example.test");
    /* loops, in one zone and across the two */
    assert_int_equal(ask("loop1.example.test", TA_DNS_TXT, 0), TA_DNS_LOOP);
    assert_int_equal(ask("xloop.example.test", TA_DNS_TXT, 0), TA_DNS_LOOP);
    assert_int_equal(ans.nchain, 1);
    /* 20 links (knot gives 5 at a time): TA_DNS_CHAIN after 8; 8 are fine */
    assert_int_equal(ask("long1.example.test", TA_DNS_TXT, 0), TA_DNS_CHAIN);
    assert_int_equal(ans.nchain, TA_DNS_MAX_CHAIN);
    assert_int_equal(ask("long13.example.test", TA_DNS_TXT, 0), TA_DNS_OK);
    assert_int_equal(ans.nchain, 8);
    assert_string_equal(ans.data[0], "end of the long chain");
    assert_int_equal(ask("long12.example.test", TA_DNS_TXT, 0), TA_DNS_CHAIN);
}

static void
test_knot_negative(void **state)
{
    (void) state;
    assert_int_equal(ask("nope.example.test", TA_DNS_TXT, 0), TA_DNS_NXDOMAIN);
    assert_int_equal(ask("empty.example.test", TA_DNS_TXT, 0), TA_DNS_NODATA);
    assert_int_equal(ask("dangling.example.test", TA_DNS_TXT, 0), TA_DNS_NXDOMAIN);
    assert_int_equal(ans.nchain, 1);
    assert_string_equal(ans.cname_chain[0], "nope.example.test");
    assert_int_equal(ask("x.sub.example.test", TA_DNS_TXT, 0), TA_DNS_TEMP);
    assert_non_null(strstr(ans.why, "refers"));
    assert_int_equal(ask("other.invalid", TA_DNS_TXT, 0), TA_DNS_TEMP);     /* REFUSED */
    assert_non_null(strstr(ans.why, "REFUSED"));
}

static void
test_knot_addresses(void **state)
{
    (void) state;
    assert_int_equal(ask("example.test", TA_DNS_MX, 0), TA_DNS_OK);
    assert_int_equal(ans.n, 2);
    for (size_t i = 0; i < 2; i++) {
        if (ans.pref[i] == 10)
            assert_string_equal(ans.data[i], "mx1.example.test");
        else
            assert_string_equal(ans.data[i], "mx2.provider.test");
    }
    assert_int_equal(ans.pref[0] + ans.pref[1], 30);
    assert_int_equal(ask("mx1.example.test", TA_DNS_A, 0), TA_DNS_OK);
    assert_string_equal(ans.data[0], "192.0.2.1");
    assert_int_equal(ask("mx1.example.test", TA_DNS_AAAA, 0), TA_DNS_OK);
    assert_string_equal(ans.data[0], "2001:db8::1");
    assert_int_equal(ask("example.test", TA_DNS_NS, 0), TA_DNS_OK);
    assert_string_equal(ans.data[0], "ns.example.test");
    assert_int_equal(ask("example.test", TA_DNS_SOA, 0), TA_DNS_OK);
    assert_non_null(strstr(ans.data[0], "ns.example.test. hostmaster.example.test. "));
}

static void
test_knot_many(void **state)
{
    (void) state;
    assert_int_equal(ask("many.example.test", TA_DNS_TXT, 0), TA_DNS_OK);
    assert_true(ans.tcp);             /* 2.5 KB do not fit 1232: TC, then TCP */
    assert_int_equal(ans.n, TA_DNS_MAX_RRS);
    assert_int_equal(ans.total, 40);
    assert_true(ans.partial);
    assert_non_null(strstr(ans.why, "40 TXT records, the first 32 kept"));
    for (size_t i = 0; i < ans.n; i++)
        assert_non_null(strstr(ans.data[i], "of forty"));
}

static void
test_knot_reload(void **state)
{
    char *argv[] = { KNOTC, "-c", conf, "-b", "zone-reload", "example.test", NULL };
    pid_t pid;
    int   status, i;

    (void) state;
    assert_int_equal(ask("reload.example.test", TA_DNS_TXT, 0), TA_DNS_OK);
    assert_string_equal(ans.data[0], "before");
    write_zones(2, "after");
    pid = spawn(argv);
    assert_true(pid > 0);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* -b waits for the reload; allow a moment all the same */
    for (i = 0; i < 100; i++) {
        assert_int_equal(ask("reload.example.test", TA_DNS_TXT, 0), TA_DNS_OK);
        if (strcmp(ans.data[0], "after") == 0)
            break;
        usleep(10000);
    }
    assert_string_equal(ans.data[0], "after");
    write_zones(3, "before");       /* back, for the tests after */
    pid = spawn(argv);
    assert_int_equal(waitpid(pid, &status, 0), pid);
}

/* what the forger sends before (or instead of) knot's answer */
typedef struct {
    int fd;
    int truncate;           /* send knot's answer with TC set, no TCP behind it */
} forger_t;

/* forger - read one query; answer with a wrong ID, a wrong question, a
 * non-response, then the real answer from knot */
static void *
forger(void *arg)
{
    forger_t               *f = arg;
    static uint8_t          q[512], r[65536], x[65536];
    struct sockaddr_storage from;
    socklen_t               fl = sizeof(from);
    struct pollfd           p = { .fd = f->fd, .events = POLLIN };
    ssize_t                 ql;
    size_t                  rl;

    if (poll(&p, 1, 3000) != 1)
        return NULL;
    ql = recvfrom(f->fd, q, sizeof(q), 0, (struct sockaddr *) &from, &fl);
    if (ql < 12 || (rl = knot_raw(q, (size_t) ql, r, sizeof(r))) < 14)
        return NULL;
    if (f->truncate) {
        r[2] |= 0x02;
        sendto(f->fd, r, rl, 0, (struct sockaddr *) &from, fl);
        return NULL;
    }
    memcpy(x, r, rl);
    x[1] ^= 0x5a;                                   /* another ID, and NXDOMAIN */
    x[3] = (uint8_t) ((x[3] & 0xf0) | LDNS_RCODE_NXDOMAIN);
    sendto(f->fd, x, rl, 0, (struct sockaddr *) &from, fl);
    memcpy(x, r, rl);
    x[13] ^= 0x01;                                  /* another name, same ID */
    sendto(f->fd, x, rl, 0, (struct sockaddr *) &from, fl);
    memcpy(x, r, rl);
    x[2] &= 0x7f;                                   /* a query, not a response */
    sendto(f->fd, x, rl, 0, (struct sockaddr *) &from, fl);
    sendto(f->fd, x, 5, 0, (struct sockaddr *) &from, fl);     /* a scrap */
    sendto(f->fd, r, rl, 0, (struct sockaddr *) &from, fl);
    return NULL;
}

static void
test_knot_forged(void **state)
{
    char      err[128], srv[32];
    forger_t  f;
    pthread_t t;
    ta_dns_t *d;
    int       p;

    (void) state;
    assert_true(knot_up);
    f.fd = udp_bound(&p);
    f.truncate = 0;
    snprintf(srv, sizeof(srv), "127.0.0.1:%d", p);
    d = ta_dns_new(srv, 2000, 1, err, sizeof(err));
    assert_non_null(d);
    assert_int_equal(pthread_create(&t, NULL, forger, &f), 0);
    assert_int_equal(ta_dns_query(d, "chain1.example.test", TA_DNS_TXT, &ans), TA_DNS_OK);
    assert_string_equal(ans.data[0], "end of chain");
    pthread_join(t, NULL);
    /* truncated, and nothing on TCP: TEMP at once, saying so */
    f.truncate = 1;
    assert_int_equal(pthread_create(&t, NULL, forger, &f), 0);
    assert_int_equal(ta_dns_query(d, "chain1.example.test", TA_DNS_TXT, &ans), TA_DNS_TEMP);
    assert_non_null(strstr(ans.why, "truncated"));
    pthread_join(t, NULL);
    ta_dns_free(d);
    close(f.fd);
}

/* worker - one thread, its own client, many queries */
static void *
worker(void *arg)
{
    static const struct { const char *name; int type; ta_dns_rc_t rc; const char *first; } q[] = {
        { "s1._domainkey.example.test", TA_DNS_TXT, TA_DNS_OK, NULL },
        { "chain1.example.test", TA_DNS_TXT, TA_DNS_OK, "end of chain" },
        { "out.example.test", TA_DNS_TXT, TA_DNS_OK, "provider key" },
        { "loop1.example.test", TA_DNS_TXT, TA_DNS_LOOP, NULL },
        { "nope.example.test", TA_DNS_TXT, TA_DNS_NXDOMAIN, NULL },
        { "mx1.example.test", TA_DNS_AAAA, TA_DNS_OK, "2001:db8::1" },
        { "many.example.test", TA_DNS_TXT, TA_DNS_OK, NULL },
    };
    ta_dns_answer_t *a = malloc(sizeof(*a));
    char             err[128];
    ta_dns_t        *d = ta_dns_new(server, 2000, 2, err, sizeof(err));
    size_t           i, bad = 0;

    for (i = 0; a && d && i < 70; i++) {
        size_t k = (i + (size_t) (uintptr_t) arg) % (sizeof(q) / sizeof(q[0]));

        if (ta_dns_query(d, q[k].name, q[k].type, a) != q[k].rc
            || (q[k].first && strcmp(a->data[0], q[k].first) != 0)
            || (q[k].rc == TA_DNS_OK && q[k].type == TA_DNS_TXT && !q[k].first
                && a->len[0] < 40))
            bad++;
    }
    if (!a || !d)
        bad = 1000;
    ta_dns_free(d);
    free(a);
    return (void *) (uintptr_t) bad;
}

static void
test_knot_threads(void **state)
{
    pthread_t t[8];
    void     *bad;
    size_t    i, total = 0;

    (void) state;
    assert_true(knot_up);
    for (i = 0; i < 8; i++)
        assert_int_equal(pthread_create(&t[i], NULL, worker, (void *) (uintptr_t) i), 0);
    for (i = 0; i < 8; i++) {
        pthread_join(t[i], &bad);
        total += (size_t) (uintptr_t) bad;
    }
    assert_int_equal(total, 0);
}

/* test_knot_corpus - (run only with TA_DNS_CORPUS=DIR) knot's answers (exact octets)
 * to every seed name and type, and a few made here, as fuzz_dns_answer inputs */
static void
test_knot_corpus(void **state)
{
    static const int types[] = { TA_DNS_TXT, TA_DNS_A, TA_DNS_AAAA, TA_DNS_MX, TA_DNS_CNAME,
                                 TA_DNS_NS, TA_DNS_SOA };
    static const char *const chain9[] = {
        "an:chain1.example.test. CNAME c1.test.", "an:c1.test. CNAME c2.test.",
        "an:c2.test. CNAME c3.test.", "an:c3.test. CNAME c4.test.", "an:c4.test. CNAME c5.test.",
        "an:c5.test. CNAME c6.test.", "an:c6.test. CNAME c7.test.", "an:c7.test. CNAME c8.test.",
        "an:c8.test. CNAME c9.test.", "an:c9.test. TXT \"deep\"", NULL };
    static const char *const self[] = { "an:loop1.example.test. CNAME LOOP1.example.test.", NULL };
    static const char *const texts[] = {
        "an:s1._domainkey.example.test. TXT \"a\\000b\" \"\" \"c\"",
        "an:s1._domainkey.example.test. TXT \"x\"", "an:s1._domainkey.example.test. CH TXT \"y\"",
        "an:S1._DOMAINKEY.example.test. A 192.0.2.1", NULL };
    static const char *const odd[] = { "an:out.example.test. CNAME x\\.y.test.", NULL };
    static const char *const conflict[] = { "an:example.test. MX 1 A.Example.TEST.",
                                            "an:example.test. CNAME b.test.", NULL };
    static const char *const refer[] = { "au:x.sub.example.test. NS ns.other.", NULL };
    static const struct { size_t name; int type, rcode; const char *const *rrs; } made[] = {
        { 2, TA_DNS_TXT, 0, chain9 }, { 4, TA_DNS_TXT, 0, self }, { 1, TA_DNS_TXT, 0, texts },
        { 3, TA_DNS_TXT, 0, odd }, { 0, TA_DNS_MX, 0, conflict }, { 8, TA_DNS_TXT, 0, refer },
        { 2, TA_DNS_TXT, LDNS_RCODE_NXDOMAIN, chain9 },
    };
    static char      line[1500];
    const char      *longtxt[] = { line, NULL };
    const char      *out = getenv("TA_DNS_CORPUS");
    static uint8_t   r[65536];
    size_t           i, k, rl, wl;
    uint8_t         *w;
    char             path[4096];
    FILE            *f;

    (void) state;
    assert_true(knot_up && out);
    for (i = 0; i < sizeof(dns_seed_names) / sizeof(dns_seed_names[0]); i++)
        for (k = 0; k < sizeof(types) / sizeof(types[0]); k++) {
            ldns_pkt *q = ldns_pkt_query_new(ldns_dname_new_frm_str(dns_seed_names[i]),
                                             (ldns_rr_type) types[k], LDNS_RR_CLASS_IN, LDNS_RD);

            ldns_pkt_set_id(q, (uint16_t) (i * 16 + k + 1));
            ldns_pkt_set_edns_udp_size(q, 4096);
            assert_int_equal(ldns_pkt2wire(&w, q, &wl), LDNS_STATUS_OK);
            rl = knot_raw(w, wl, r + 1, sizeof(r) - 1);
            free(w);
            ldns_pkt_free(q);
            if (rl == 0)
                continue;
            r[0] = (uint8_t) i;
            snprintf(path, sizeof(path), "%s/knot-%s-%d", out, dns_seed_names[i], types[k]);
            f = fopen(path, "wb");
            assert_non_null(f);
            fwrite(r, 1, rl + 1, f);
            fclose(f);
        }
    /* and answers knot would not give */
    for (i = 0; i < sizeof(made) / sizeof(made[0]); i++) {
        rl = mkpkt(r + 1, sizeof(r) - 1, dns_seed_names[made[i].name], made[i].type, 1, made[i].rcode,
                   made[i].rrs);
        r[0] = (uint8_t) made[i].name;
        snprintf(path, sizeof(path), "%s/made-%zu", out, i);
        f = fopen(path, "wb");
        assert_non_null(f);
        fwrite(r, 1, rl + 1, f);
        fclose(f);
    }
    /* a TXT record of five 255-octet strings: cut to 1023 */
    long_txt(line, "s1._domainkey.example.test.");
    rl = mkpkt(r + 1, sizeof(r) - 1, dns_seed_names[1], TA_DNS_TXT, 1, 0, longtxt);
    r[0] = 1;
    snprintf(path, sizeof(path), "%s/made-long-txt", out);
    f = fopen(path, "wb");
    assert_non_null(f);
    fwrite(r, 1, rl + 1, f);
    fclose(f);
}

int
main(void)
{
    /* offline first, then knot's; the corpus writer last */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_server_strings),
        cmocka_unit_test(test_bad_questions),
        cmocka_unit_test(test_parse_chains),
        cmocka_unit_test(test_parse_records),
        cmocka_unit_test(test_parse_bounds),
        cmocka_unit_test(test_parse_tsig),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_closed_port),
        cmocka_unit_test(test_knot_txt),
        cmocka_unit_test(test_knot_chains),
        cmocka_unit_test(test_knot_negative),
        cmocka_unit_test(test_knot_addresses),
        cmocka_unit_test(test_knot_many),
        cmocka_unit_test(test_knot_reload),
        cmocka_unit_test(test_knot_forged),
        cmocka_unit_test(test_knot_threads),
        cmocka_unit_test(test_knot_corpus),
    };
    const size_t offline = 7, all = sizeof(tests) / sizeof(tests[0]);
    int          knot = access(KNOTD, X_OK) == 0, rc;

    signal(SIGPIPE, SIG_IGN);
    /* cmocka's skip() prints "not ok ... # SKIP", which tests/run.sh counts
     * as a failure: without knotd the knot tests are left out and one
     * "ok ... # SKIP" line says so */
    rc = _cmocka_run_group_tests("test_dns", tests,
                                 knot ? all - (getenv("TA_DNS_CORPUS") ? 0 : 1) : offline,
                                 knot ? knot_start : NULL, knot ? knot_stop : NULL);
    if (!knot)
        printf("ok test_dns_knot # SKIP %s not installed\n", KNOTD);
    return rc;
}

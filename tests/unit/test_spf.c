/* test_spf - SPF check_host over a static fake zone: every mechanism, the lookup and void limits, loops, redirect, macros, bad records */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "ta_spf.h"

#define R_OK    TA_SPF_R_OK
#define TXT     TA_SPF_Q_TXT
#define A       TA_SPF_Q_A
#define AAAA    TA_SPF_Q_AAAA
#define MX      TA_SPF_Q_MX
#define PTR     TA_SPF_Q_PTR

/* one RRset of the fake zone; a name with no entry of the asked type is
 * NODATA, a name with no entry at all NXDOMAIN */
typedef struct {
    const char     *name;
    ta_spf_qtype_t  type;
    ta_spf_rcode_t  rcode;
    const char     *answers[16];
} rr_t;

static const rr_t zone[] = {
    { "all.test", TXT, R_OK, { "v=spf1 -all" } },
    { "ip4.test", TXT, R_OK, { "v=spf1 ip4:192.0.2.0/24 ip4:198.51.100.7 -all" } },
    { "ip6.test", TXT, R_OK, { "v=spf1 ip6:2001:db8:1::/48 ~all" } },
    { "ip0.test", TXT, R_OK, { "v=spf1 ip4:0.0.0.0/0 ip6:::/0 -all" } },
    /* a */
    { "a.test", TXT, R_OK, { "v=spf1 a a:other.test/24 a//64 ?all" } },
    { "a.test", A, R_OK, { "192.0.2.10" } },
    { "a.test", AAAA, R_OK, { "2001:db8::10" } },
    { "other.test", A, R_OK, { "junk", "2001:db8::1", "198.51.100.1" } },
    { "adual.test", TXT, R_OK, { "v=spf1 a:other.test/16//32 -all" } },
    /* mx */
    { "mx.test", TXT, R_OK, { "v=spf1 mx mx:mx2.test/24 -all" } },
    { "mx.test", MX, R_OK, { "mail1.mx.test", "mail2.mx.test." } },
    { "mail1.mx.test", A, R_OK, { "192.0.2.21" } },
    { "mail2.mx.test", A, R_OK, { "192.0.2.22" } },
    { "mail2.mx.test", AAAA, R_OK, { "2001:db8::22" } },
    { "mx2.test", MX, R_OK, { "m.mx2.test" } },
    { "m.mx2.test", A, R_OK, { "198.51.100.50" } },
    { "mx10.test", TXT, R_OK, { "v=spf1 mx ip4:192.0.2.1 -all" } },
    { "mx10.test", MX, R_OK, { "m1.test", "m2.test", "m3.test", "m4.test", "m5.test", "m6.test", "m7.test",
                               "m8.test", "m9.test", "m10.test" } },
    { "mx11.test", TXT, R_OK, { "v=spf1 mx ip4:192.0.2.1 -all" } },
    { "mx11.test", MX, R_OK, { "m1.test", "m2.test", "m3.test", "m4.test", "m5.test", "m6.test", "m7.test",
                               "m8.test", "m9.test", "m10.test", "m11.test" } },
    { "nullmx.test", TXT, R_OK, { "v=spf1 mx ?all" } },
    { "nullmx.test", MX, R_OK, { "." } },
    { "mxtemp.test", TXT, R_OK, { "v=spf1 mx -all" } },
    { "mxtemp.test", MX, R_OK, { "temp.test" } },
    /* ptr */
    { "ptr.test", TXT, R_OK, { "v=spf1 ptr -all" } },
    { "99.2.0.192.in-addr.arpa", PTR, R_OK, { "evil.example", "host.ptr.test." } },
    { "host.ptr.test", A, R_OK, { "192.0.2.99" } },
    { "98.2.0.192.in-addr.arpa", PTR, R_OK, { "host2.ptr.test" } },
    { "host2.ptr.test", A, R_OK, { "192.0.2.1" } },
    { "97.2.0.192.in-addr.arpa", PTR, TA_SPF_R_TEMP, { NULL } },
    { "ptr6.test", TXT, R_OK, { "v=spf1 ptr:ptr6.test -all" } },
    { "9.9.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa", PTR, R_OK, { "h.PTR6.test" } },
    { "h.ptr6.test", AAAA, R_OK, { "2001:db8::99" } },
    /* exists and macros */
    { "exists.test", TXT, R_OK, { "v=spf1 exists:%{ir}.%{v}._spf.%{d} -all" } },
    { "10.2.0.192.in-addr._spf.exists.test", A, R_OK, { "127.0.0.2" } },
    { "macro.test", TXT, R_OK, { "v=spf1 exists:%{l}.%{o}.%{d2}.%{h}.%{i}.m.test -all" } },
    { "ex6.test", TXT, R_OK, { "v=spf1 exists:%{ir}.%{v}.x.test -all" } },
    { "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.x.test", A, R_OK, { "127.0.0.2" } },
    { "longmacro.test", TXT, R_OK, { "v=spf1 exists:%{l}.%{l}.%{l}.%{l}.%{l}.end.test -all" } },
    /* include */
    { "include.test", TXT, R_OK, { "v=spf1 include:inc1.test include:inc2.test -all" } },
    { "inc1.test", TXT, R_OK, { "google-site-verification=xyz", "v=spf1 ip4:192.0.2.1 -all" } },
    { "inc2.test", TXT, R_OK, { "v=spf1 ip4:192.0.2.2 ?all" } },
    { "incnone.test", TXT, R_OK, { "v=spf1 include:nospf.test -all" } },
    { "incnx.test", TXT, R_OK, { "v=spf1 include:nx.test -all" } },
    { "inctemp.test", TXT, R_OK, { "v=spf1 include:temp.test -all" } },
    { "incperm.test", TXT, R_OK, { "v=spf1 include:bad.test ip4:192.0.2.1 -all" } },
    { "bad.test", TXT, R_OK, { "v=spf1 ip4:192.0.2.1 foo:bar -all" } },
    { "incmacro.test", TXT, R_OK, { "v=spf1 include:_i.%{d} -all" } },
    { "_i.incmacro.test", TXT, R_OK, { "v=spf1 exists:%{d}.x.test -all" } },
    { "_i.incmacro.test.x.test", A, R_OK, { "127.0.0.1" } },
    { "nospf.test", TXT, R_OK, { "hello", "v=spf10 -all" } },
    { "temp.test", TXT, TA_SPF_R_TEMP, { NULL } },
    { "temp.test", A, TA_SPF_R_TEMP, { NULL } },
    { "temp.test", AAAA, TA_SPF_R_TEMP, { NULL } },
    { "temp.test", MX, TA_SPF_R_TEMP, { NULL } },
    { "loop.test", TXT, R_OK, { "v=spf1 include:loop.test -all" } },
    { "loopa.test", TXT, R_OK, { "v=spf1 ip4:192.0.2.1 include:loopb.test -all" } },
    { "loopb.test", TXT, R_OK, { "v=spf1 redirect=loopa.test" } },
    /* redirect, exp, unknown modifiers */
    { "redirect.test", TXT, R_OK, { "v=spf1 redirect=target.test" } },
    { "target.test", TXT, R_OK, { "v=spf1 ip4:192.0.2.5 -all" } },
    { "redirall.test", TXT, R_OK, { "v=spf1 redirect=target.test ?all" } },
    { "redirnone.test", TXT, R_OK, { "v=spf1 redirect=nospf.test" } },
    { "redirmacro.test", TXT, R_OK, { "v=spf1 ip4:192.0.2.9 redirect=_spf.%{d}" } },
    { "_spf.redirmacro.test", TXT, R_OK, { "v=spf1 exists:%{d}.x.test -all" } },
    { "_spf.redirmacro.test.x.test", A, R_OK, { "127.0.0.1" } },
    { "exp.test", TXT, R_OK, { "v=spf1 exp=explain.%{d} -all" } },
    { "explain.exp.test", TXT, R_OK, { "%{i} is not one of %{d}'s servers" } },
    { "unknownmod.test", TXT, R_OK, { "v=spf1 foo=bar%{d} ip4:192.0.2.1 x-y.z=%{l} -all" } },
    /* record selection */
    { "two.test", TXT, R_OK, { "v=spf1 -all", "v=spf1 +all" } },
    { "upper.test", TXT, R_OK, { "V=SPF1 IP4:192.0.2.1 -ALL" } },
    { "empty.test", TXT, R_OK, { "v=spf1" } },
    { "spaces.test", TXT, R_OK, { "v=spf1   ip4:192.0.2.1    -all   " } },
    { "nodata.test", A, R_OK, { "192.0.2.1" } },
    { "rec.test", TXT, R_OK, { NULL } },          /* the record under test: see dynamic */
    /* limits: the worked counts of the seed FAQ */
    { "_spf.g.test", TXT, R_OK, { "v=spf1 include:_nb1.g.test include:_nb2.g.test include:_nb3.g.test ~all" } },
    { "_nb1.g.test", TXT, R_OK, { "v=spf1 ip4:203.0.113.0/28 ~all" } },
    { "_nb2.g.test", TXT, R_OK, { "v=spf1 ip4:203.0.113.16/28 ~all" } },
    { "_nb3.g.test", TXT, R_OK, { "v=spf1 ip6:2001:db8:3::/48 ~all" } },
    { "google4.test", TXT, R_OK, { "v=spf1 include:_spf.g.test ~all" } },
    { "mg.test", TXT, R_OK, { "v=spf1 include:mga.test include:mgb.test ~all" } },
    { "mga.test", TXT, R_OK, { "v=spf1 ip4:198.51.100.128/25 ~all" } },
    { "mgb.test", TXT, R_OK, { "v=spf1 ip4:198.51.100.64/26 ~all" } },
    { "x1.test", TXT, R_OK, { "v=spf1 ip4:192.0.2.201 ~all" } },
    { "x2.test", TXT, R_OK, { "v=spf1 ip4:192.0.2.202 ~all" } },
    { "seed7.test", TXT, R_OK, { "v=spf1 include:_spf.g.test include:mg.test ~all" } },
    { "seed9.test", TXT, R_OK, { "v=spf1 a mx include:_spf.g.test include:mg.test ~all" } },
    { "seed9.test", A, R_OK, { "192.0.2.9" } },
    { "seed9.test", MX, R_OK, { "seed9.test" } },
    { "seed10.test", TXT, R_OK, { "v=spf1 a:seed9.test mx:seed9.test include:_spf.g.test include:mg.test "
                                  "include:x1.test ~all" } },
    { "seed11.test", TXT, R_OK, { "v=spf1 a:seed9.test mx:seed9.test include:_spf.g.test include:mg.test "
                                  "include:x1.test include:x2.test ~all" } },
    { "ten.test", TXT, R_OK, { "v=spf1 a:h1.test a:h2.test a:h3.test a:h4.test a:h5.test a:h6.test "
                               "a:h7.test a:h8.test a:h9.test a:h10.test ip4:192.0.2.1 -all" } },
    { "eleven.test", TXT, R_OK, { "v=spf1 a:h1.test a:h2.test a:h3.test a:h4.test a:h5.test a:h6.test "
                                  "a:h7.test a:h8.test a:h9.test a:h10.test a:h11.test ip4:192.0.2.1 -all" } },
    { "h1.test", A, R_OK, { "198.51.100.1" } }, { "h2.test", A, R_OK, { "198.51.100.2" } },
    { "h3.test", A, R_OK, { "198.51.100.3" } }, { "h4.test", A, R_OK, { "198.51.100.4" } },
    { "h5.test", A, R_OK, { "198.51.100.5" } }, { "h6.test", A, R_OK, { "198.51.100.6" } },
    { "h7.test", A, R_OK, { "198.51.100.7" } }, { "h8.test", A, R_OK, { "198.51.100.8" } },
    { "h9.test", A, R_OK, { "198.51.100.9" } }, { "h10.test", A, R_OK, { "198.51.100.10" } },
    { "h11.test", A, R_OK, { "198.51.100.11" } },
    { "void2.test", TXT, R_OK, { "v=spf1 a:nx1.test mx:nodata.test ip4:192.0.2.1 -all" } },
    { "void3.test", TXT, R_OK, { "v=spf1 a:nx1.test mx:nodata.test exists:nx3.test ip4:192.0.2.1 -all" } },
    { "voidmx.test", TXT, R_OK, { "v=spf1 mx:mx.test mx:mx2.test a:nx1.test a:nx2.test ip6:2001:db8::1 -all" } },
};

/* the fake resolver's state: the record of rec.test, and a log of queries */
static struct {
    const char *dynamic;
    char        log[16384];
    unsigned    calls;
} fake;

/* resolve - answer from the zone above */
static ta_spf_rcode_t
resolve(void *ctx, ta_spf_qtype_t type, const char *name, char out[][TA_SPF_ROW], size_t max, size_t *n)
{
    static const char *const types[] = { "TXT", "A", "AAAA", "MX", "PTR" };
    size_t                   i, k, l = strlen(fake.log);
    int                      known = 0;

    (void) ctx;
    fake.calls++;
    if (l + strlen(name) + 8 < sizeof(fake.log))
        sprintf(fake.log + l, "%s %s\n", types[type], name);
    *n = 0;
    if (strcasecmp(name, "rec.test") == 0 && type == TXT && fake.dynamic != NULL) {
        snprintf(out[0], TA_SPF_ROW, "%s", fake.dynamic);
        *n = 1;
        return TA_SPF_R_OK;
    }
    for (i = 0; i < sizeof(zone) / sizeof(zone[0]); i++) {
        if (strcasecmp(zone[i].name, name) != 0)
            continue;
        known = 1;
        if (zone[i].type != type)
            continue;
        for (k = 0; zone[i].answers[k] != NULL && k < max; k++)
            snprintf(out[k], TA_SPF_ROW, "%s", zone[i].answers[k]);
        *n = k;
        return zone[i].rcode;
    }
    return known ? TA_SPF_R_NODATA : TA_SPF_R_NXDOMAIN;
}

/* check - ta_spf_check for a domain and an address in text */
static ta_spf_result_t
check(const char *domain, const char *ip, const char *sender, ta_spf_outcome_t *o)
{
    ta_ip_t a;

    assert_int_equal(ta_ip_parse(ip, &a), TA_OK);
    fake.log[0] = '\0';
    fake.calls = 0;
    ta_spf_check(domain, &a, sender, resolve, NULL, o);
    assert_true(o->lookups <= TA_SPF_MAX_LOOKUPS);
    assert_true(fake.calls <= TA_SPF_MAX_QUERIES);
    assert_true(strlen(o->why) < sizeof(o->why) && o->why[0] != '\0');
    return o->result;
}

/* expect - result, lookups and void lookups of one check */
#define expect(dom_, ip_, res_, look_, void_) do { \
        ta_spf_outcome_t o_; \
        ta_spf_result_t  r_ = check(dom_, ip_, NULL, &o_); \
        if (r_ != (res_) || o_.lookups != (look_) || o_.void_lookups != (void_)) \
            fail_msg("%s %s: %s (%u lookups, %u void), wanted %s (%u, %u): %s", dom_, ip_, \
                     ta_spf_result_name(r_), o_.lookups, o_.void_lookups, \
                     ta_spf_result_name(res_), (unsigned) (look_), (unsigned) (void_), o_.why); \
    } while (0)

static void
test_ip(void **state)
{
    (void) state;
    expect("all.test", "192.0.2.1", TA_SPF_FAIL, 0, 0);
    expect("ip4.test", "192.0.2.77", TA_SPF_PASS, 0, 0);
    expect("ip4.test", "198.51.100.7", TA_SPF_PASS, 0, 0);
    expect("ip4.test", "198.51.100.8", TA_SPF_FAIL, 0, 0);
    expect("ip4.test", "2001:db8::1", TA_SPF_FAIL, 0, 0);
    expect("ip4.test", "::ffff:192.0.2.1", TA_SPF_PASS, 0, 0);    /* IPv4-mapped is IPv4 */
    expect("ip6.test", "2001:db8:1::5", TA_SPF_PASS, 0, 0);
    expect("ip6.test", "2001:db8:2::5", TA_SPF_SOFTFAIL, 0, 0);
    expect("ip6.test", "192.0.2.1", TA_SPF_SOFTFAIL, 0, 0);
    expect("ip0.test", "203.0.113.9", TA_SPF_PASS, 0, 0);
    expect("ip0.test", "2001:db8::9", TA_SPF_PASS, 0, 0);
}

static void
test_a_mx_ptr(void **state)
{
    ta_spf_outcome_t o;

    (void) state;
    expect("a.test", "192.0.2.10", TA_SPF_PASS, 1, 0);
    expect("a.test", "198.51.100.200", TA_SPF_PASS, 2, 0);
    /* a//64: AAAA of a.test; a:other.test has no AAAA: a void lookup */
    expect("a.test", "2001:db8::ffff", TA_SPF_PASS, 3, 1);
    expect("a.test", "203.0.113.1", TA_SPF_NEUTRAL, 3, 0);
    expect("adual.test", "198.51.1.1", TA_SPF_PASS, 1, 0);
    expect("adual.test", "198.50.1.1", TA_SPF_FAIL, 1, 0);
    expect("mx.test", "192.0.2.22", TA_SPF_PASS, 1, 0);
    expect("mx.test", "198.51.100.99", TA_SPF_PASS, 2, 0);
    /* mail1 has no AAAA: not a void lookup (only the MX query is the term's) */
    expect("mx.test", "2001:db8::22", TA_SPF_PASS, 1, 0);
    expect("mx.test", "2001:db8::23", TA_SPF_FAIL, 2, 0);
    assert_int_equal(check("mx.test", "192.0.2.21", NULL, &o), TA_SPF_PASS);
    assert_string_equal(fake.log, "TXT mx.test\nMX mx.test\nA mail1.mx.test\n");
    /* 10 MX names are looked up, 11 are a permerror */
    expect("mx10.test", "192.0.2.1", TA_SPF_PASS, 1, 0);
    assert_int_equal(check("mx10.test", "192.0.2.1", NULL, &o), TA_SPF_PASS);
    assert_int_equal(fake.calls, 12);
    expect("mx11.test", "192.0.2.1", TA_SPF_PERMERROR, 1, 0);
    expect("nullmx.test", "192.0.2.1", TA_SPF_NEUTRAL, 1, 0);
    expect("mxtemp.test", "192.0.2.1", TA_SPF_TEMPERROR, 1, 0);
    /* ptr: validated names only, and only those under the target */
    expect("ptr.test", "192.0.2.99", TA_SPF_PASS, 1, 0);
    assert_int_equal(check("ptr.test", "192.0.2.99", NULL, &o), TA_SPF_PASS);
    assert_string_equal(fake.log, "TXT ptr.test\nPTR 99.2.0.192.in-addr.arpa\nA host.ptr.test\n");
    expect("ptr.test", "192.0.2.98", TA_SPF_FAIL, 1, 0);
    expect("ptr.test", "192.0.2.97", TA_SPF_FAIL, 1, 0);            /* a DNS error: no match */
    expect("ptr.test", "192.0.2.96", TA_SPF_FAIL, 1, 1);
    expect("ptr6.test", "2001:db8::99", TA_SPF_PASS, 1, 0);
}

static void
test_exists_and_macros(void **state)
{
    ta_spf_outcome_t o;
    const char      *p;

    (void) state;
    expect("exists.test", "192.0.2.10", TA_SPF_PASS, 1, 0);
    expect("exists.test", "192.0.2.11", TA_SPF_FAIL, 1, 1);
    expect("exists.test", "::ffff:192.0.2.10", TA_SPF_PASS, 1, 0);
    expect("ex6.test", "2001:db8::cb01", TA_SPF_PASS, 1, 0);
    /* exists queries A even for an IPv6 client */
    assert_int_equal(check("ex6.test", "2001:db8::cb01", NULL, &o), TA_SPF_PASS);
    assert_non_null(strstr(fake.log, "\nA 1.0.b.c."));
    /* the macros seen in the query name: sender given, and not */
    assert_int_equal(check("macro.test", "192.0.2.3", "strong-bad@email.example.com", &o), TA_SPF_FAIL);
    assert_non_null(strstr(fake.log, "A strong-bad.email.example.com.macro.test.macro.test.192.0.2.3.m.test\n"));
    assert_int_equal(check("macro.test", "192.0.2.3", NULL, &o), TA_SPF_FAIL);
    assert_non_null(strstr(fake.log, "A postmaster.macro.test.macro.test.macro.test.192.0.2.3.m.test\n"));
    assert_int_equal(check("macro.test", "192.0.2.3", "example.org", &o), TA_SPF_FAIL);
    assert_non_null(strstr(fake.log, "A postmaster.example.org.macro.test."));
    /* an expansion over 253 octets loses labels on the left */
    assert_int_equal(check("longmacro.test", "192.0.2.3",
                           "abcdefghijklmnopqrstuvwxyz.abcdefghijklmnopqrstuvwxyz.abcdef@x.test", &o),
                     TA_SPF_FAIL);
    p = strstr(fake.log, "\nA ");
    assert_non_null(p);
    p += 3;
    assert_true(strchr(p, '\n') - p <= 253);
    assert_true(strchr(p, '\n') - p > 200);
    assert_memory_equal(strchr(p, '\n') - 9, ".end.test", 9);
    assert_true(p[-1] == ' ' && p[0] != '.');
    /* include and redirect change %{d} */
    expect("incmacro.test", "192.0.2.1", TA_SPF_PASS, 2, 0);
    expect("redirmacro.test", "192.0.2.1", TA_SPF_PASS, 2, 0);
    expect("redirmacro.test", "192.0.2.9", TA_SPF_PASS, 0, 0);
}

static void
test_expand(void **state)
{
    /* RFC 7208 7.4 */
    static const struct {
        const char *spec, *want;
    } cases[] = {
        { "%{s}", "strong-bad@email.example.com" },
        { "%{o}", "email.example.com" },
        { "%{d}", "email.example.com" },
        { "%{d4}", "email.example.com" },
        { "%{d3}", "email.example.com" },
        { "%{d2}", "example.com" },
        { "%{d1}", "com" },
        { "%{dr}", "com.example.email" },
        { "%{d2r}", "example.email" },
        { "%{l}", "strong-bad" },
        { "%{l-}", "strong.bad" },
        { "%{lr}", "strong-bad" },
        { "%{lr-}", "bad.strong" },
        { "%{l1r-}", "strong" },
        { "%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com" },
        { "%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com" },
        { "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", "bad.strong.lp.3.2.0.192.in-addr._spf.example.com" },
        { "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "3.2.0.192.in-addr.strong.lp._spf.example.com" },
        { "%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net" },
        /* more */
        { "%{d999}", "email.example.com" },
        { "%{d1000000000000}", "email.example.com" },
        { "%{S}", "strong-bad%40email.example.com" },
        { "%{L}", "strong-bad" },
        { "%{D2R}", "example.email" },
        { "%{l-.}", "strong.bad" },
        { "%{lr=-+,/_.}", "bad.strong" },
        { "%{p}.%{h}", "unknown.email.example.com" },
        { "a%%b%_c%-d", "a%b c%20d" },
        { "", "" },
    };
    static const char *const bad[] = {
        "%", "%x", "%{", "%{d", "%{d2", "%{x}", "%{d0}", "%{c}", "%{r}", "%{t}", "%{d2r.x}",
        "a b", "a\tb", "caf\xc3\xa9", "%{dr2}", "%{}",
    };
    ta_spf_macro_env_t env;
    char               out[512];
    size_t             i, len;
    const char        *why;

    (void) state;
    env.domain = "email.example.com";
    env.sender = "strong-bad@email.example.com";
    assert_int_equal(ta_ip_parse("192.0.2.3", &env.ip), TA_OK);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (ta_spf_expand(ta_str_cstr(cases[i].spec), &env, out, sizeof(out), &len, &why) != TA_OK
            || strcmp(out, cases[i].want) != 0 || len != strlen(out))
            fail_msg("%s: \"%s\", wanted \"%s\"", cases[i].spec, out, cases[i].want);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (ta_spf_expand(ta_str_cstr(bad[i]), &env, out, sizeof(out), &len, &why) != TA_EINPUT)
            fail_msg("%s expanded to \"%s\"", bad[i], out);
    /* RFC 7208 7.4, IPv6 */
    assert_int_equal(ta_ip_parse("2001:db8::cb01", &env.ip), TA_OK);
    assert_int_equal(ta_spf_expand(ta_str_cstr("%{ir}.%{v}._spf.%{d2}"), &env, out, sizeof(out), &len, &why),
                     TA_OK);
    assert_string_equal(out, "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com");
    /* the output bound holds */
    assert_int_equal(ta_spf_expand(ta_str_cstr("%{s}"), &env, out, 28, &len, &why), TA_EINPUT);
    assert_int_equal(ta_spf_expand(ta_str_cstr("%{s}"), &env, out, 29, &len, &why), TA_OK);
}

static void
test_include_redirect(void **state)
{
    ta_spf_outcome_t o;

    (void) state;
    expect("include.test", "192.0.2.1", TA_SPF_PASS, 1, 0);
    expect("include.test", "192.0.2.2", TA_SPF_PASS, 2, 0);
    expect("include.test", "192.0.2.3", TA_SPF_FAIL, 2, 0);
    assert_int_equal(check("include.test", "192.0.2.2", NULL, &o), TA_SPF_PASS);
    assert_non_null(strstr(o.why, "include:inc2.test"));
    assert_non_null(strstr(o.why, "ip4:192.0.2.2"));
    assert_string_equal(o.record, "v=spf1 include:inc1.test include:inc2.test -all");
    /* include of a domain with no SPF record, a DNS error, a broken record */
    expect("incnone.test", "192.0.2.1", TA_SPF_PERMERROR, 1, 0);
    expect("incnx.test", "192.0.2.1", TA_SPF_PERMERROR, 1, 0);
    expect("inctemp.test", "192.0.2.1", TA_SPF_TEMPERROR, 1, 0);
    expect("incperm.test", "192.0.2.1", TA_SPF_PERMERROR, 1, 0);
    /* loops end at the lookup limit */
    assert_int_equal(check("loop.test", "192.0.2.1", NULL, &o), TA_SPF_PERMERROR);
    assert_int_equal(o.lookups, 10);
    assert_non_null(strstr(o.why, "more than 10 DNS lookups"));
    expect("loopa.test", "192.0.2.1", TA_SPF_PASS, 0, 0);
    expect("loopa.test", "192.0.2.2", TA_SPF_PERMERROR, 10, 0);
    /* redirect: used when nothing matched and there is no all */
    expect("redirect.test", "192.0.2.5", TA_SPF_PASS, 1, 0);
    expect("redirect.test", "192.0.2.6", TA_SPF_FAIL, 1, 0);
    expect("redirall.test", "192.0.2.5", TA_SPF_NEUTRAL, 0, 0);
    expect("redirnone.test", "192.0.2.5", TA_SPF_PERMERROR, 1, 0);
    /* exp is never fetched; unknown modifiers are ignored */
    assert_int_equal(check("exp.test", "192.0.2.5", NULL, &o), TA_SPF_FAIL);
    assert_string_equal(fake.log, "TXT exp.test\n");
    expect("unknownmod.test", "192.0.2.1", TA_SPF_PASS, 0, 0);
}

static void
test_selection(void **state)
{
    ta_spf_outcome_t o;

    (void) state;
    expect("two.test", "192.0.2.1", TA_SPF_PERMERROR, 0, 0);
    expect("upper.test", "192.0.2.1", TA_SPF_PASS, 0, 0);
    expect("upper.test", "192.0.2.2", TA_SPF_FAIL, 0, 0);
    expect("empty.test", "192.0.2.1", TA_SPF_NEUTRAL, 0, 0);
    expect("spaces.test", "192.0.2.1", TA_SPF_PASS, 0, 0);
    expect("nospf.test", "192.0.2.1", TA_SPF_NONE, 0, 0);
    expect("nodata.test", "192.0.2.1", TA_SPF_NONE, 0, 0);
    expect("nx.test", "192.0.2.1", TA_SPF_NONE, 0, 0);
    expect("temp.test", "192.0.2.1", TA_SPF_TEMPERROR, 0, 0);
    expect("ip4.test.", "192.0.2.1", TA_SPF_PASS, 0, 0);       /* a trailing dot */
    expect("IP4.Test", "192.0.2.1", TA_SPF_PASS, 0, 0);
    /* RFC 7208 4.3: a malformed or single-label domain is none, without a query */
    assert_int_equal(check("test", "192.0.2.1", NULL, &o), TA_SPF_NONE);
    assert_int_equal(fake.calls, 0);
    expect("a..test", "192.0.2.1", TA_SPF_NONE, 0, 0);
    expect(".test", "192.0.2.1", TA_SPF_NONE, 0, 0);
    expect("", "192.0.2.1", TA_SPF_NONE, 0, 0);
    expect("a b.test", "192.0.2.1", TA_SPF_NONE, 0, 0);
    expect("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.test", "192.0.2.1",
           TA_SPF_NONE, 0, 0);
    {
        char big[300];

        memset(big, 'a', sizeof(big));
        for (size_t i = 10; i < sizeof(big); i += 10)
            big[i] = '.';
        big[sizeof(big) - 1] = '\0';
        expect(big, "192.0.2.1", TA_SPF_NONE, 0, 0);
    }
}

static void
test_limits(void **state)
{
    (void) state;
    /* the seed FAQ's worked counts */
    expect("google4.test", "192.0.2.1", TA_SPF_SOFTFAIL, 4, 0);
    expect("seed7.test", "192.0.2.1", TA_SPF_SOFTFAIL, 7, 0);
    expect("seed9.test", "192.0.2.1", TA_SPF_SOFTFAIL, 9, 0);
    expect("seed10.test", "192.0.2.1", TA_SPF_SOFTFAIL, 10, 0);
    expect("seed11.test", "192.0.2.1", TA_SPF_PERMERROR, 10, 0);
    /* evaluation is lazy: a match before the eleventh term stands */
    expect("seed11.test", "192.0.2.201", TA_SPF_PASS, 10, 0);
    expect("seed11.test", "203.0.113.1", TA_SPF_PASS, 4, 0);
    expect("ten.test", "192.0.2.1", TA_SPF_PASS, 10, 0);
    expect("eleven.test", "192.0.2.1", TA_SPF_PERMERROR, 10, 0);
    /* void lookups: 2 are fine, the third is a permerror */
    expect("void2.test", "192.0.2.1", TA_SPF_PASS, 2, 2);
    expect("void3.test", "192.0.2.1", TA_SPF_PERMERROR, 3, 3);
    /* for an IPv6 client, MX hosts without AAAA are not void lookups */
    expect("voidmx.test", "2001:db8::1", TA_SPF_PASS, 4, 2);
}

static void
test_records(void **state)
{
    /* records at rec.test: syntax errors anywhere are a permerror, before evaluation */
    static const struct {
        const char     *record;
        ta_spf_result_t result;
    } cases[] = {
        { "v=spf1 +all", TA_SPF_PASS },
        { "v=spf1 ?all", TA_SPF_NEUTRAL },
        { "v=spf1 ~all", TA_SPF_SOFTFAIL },
        { "v=spf1 -all", TA_SPF_FAIL },
        { "v=spf1 +all foo", TA_SPF_PERMERROR },
        { "v=spf1 +all bogus:x.test", TA_SPF_PERMERROR },
        { "v=spf1 +all ip4:192.0.2.300", TA_SPF_PERMERROR },
        { "v=spf1 +all ip4:192.0.2.0/33", TA_SPF_PERMERROR },
        { "v=spf1 +all ip4:192.0.2.0/024", TA_SPF_PERMERROR },
        { "v=spf1 +all ip4:192.0.2.0/", TA_SPF_PERMERROR },
        { "v=spf1 +all ip4:192.0.2.01", TA_SPF_PERMERROR },
        { "v=spf1 +all ip4:2001:db8::1", TA_SPF_PERMERROR },
        { "v=spf1 +all ip4", TA_SPF_PERMERROR },
        { "v=spf1 +all ip6:2001:db8::/129", TA_SPF_PERMERROR },
        { "v=spf1 +all ip6:192.0.2.1", TA_SPF_PERMERROR },
        { "v=spf1 +all ip6:2001:db8::1//64", TA_SPF_PERMERROR },
        { "v=spf1 +all a:foo", TA_SPF_PERMERROR },            /* one label: no "." toplabel */
        { "v=spf1 +all a:example.123", TA_SPF_PERMERROR },    /* all-numeric toplabel */
        { "v=spf1 +all a:example.-x", TA_SPF_PERMERROR },
        { "v=spf1 +all a:", TA_SPF_PERMERROR },
        { "v=spf1 +all a:x.test/", TA_SPF_PERMERROR },
        { "v=spf1 +all a/33", TA_SPF_PERMERROR },
        { "v=spf1 +all mx//129", TA_SPF_PERMERROR },
        { "v=spf1 +all mx/24/", TA_SPF_PERMERROR },
        { "v=spf1 +all ptr/24", TA_SPF_PERMERROR },
        { "v=spf1 +all include:", TA_SPF_PERMERROR },
        { "v=spf1 +all include", TA_SPF_PERMERROR },
        { "v=spf1 +all exists", TA_SPF_PERMERROR },
        { "v=spf1 +all exists:%{d", TA_SPF_PERMERROR },
        { "v=spf1 +all exists:%{x}.test", TA_SPF_PERMERROR },
        { "v=spf1 +all exists:%{d0}.test", TA_SPF_PERMERROR },
        { "v=spf1 +all exists:%{c}.test", TA_SPF_PERMERROR },
        { "v=spf1 +all all:x", TA_SPF_PERMERROR },
        { "v=spf1 +all -redirect=x.test", TA_SPF_PERMERROR },
        { "v=spf1 +all redirect:x.test", TA_SPF_PERMERROR },
        { "v=spf1 +all redirect=", TA_SPF_PERMERROR },
        { "v=spf1 +all redirect=x.test redirect=y.test", TA_SPF_PERMERROR },
        { "v=spf1 +all exp=x.test exp=y.test", TA_SPF_PERMERROR },
        { "v=spf1 +all exp=x", TA_SPF_PERMERROR },
        { "v=spf1 +all foo=%{c}", TA_SPF_PERMERROR },
        { "v=spf1 +all foo=%", TA_SPF_PERMERROR },
        { "v=spf1 +all 1foo=x", TA_SPF_PERMERROR },
        { "v=spf1 +all *all", TA_SPF_PERMERROR },
        { "v=spf1 +all\t-all", TA_SPF_PERMERROR },            /* only SP separates terms */
        { "v=spf1 +all a:x.test\x7f", TA_SPF_PERMERROR },
        { "v=spf1 +all a:caf\xc3\xa9.test", TA_SPF_PERMERROR },
        /* fine */
        { "v=spf1 a:%{d}/24 -all", TA_SPF_FAIL },
        { "v=spf1 a:macro%%percent%_%_space%-url-space.example.com -all", TA_SPF_FAIL },
        { "v=spf1 exists:%{ir}.%{d}. -all", TA_SPF_FAIL },
        { "v=spf1 a:x.test. ip4:192.0.2.0/0 ~all", TA_SPF_PASS },
        { "v=spf1 foo=%% bar-2.x_y=anything ?all", TA_SPF_NEUTRAL },
        { "v=spf1 IP4:192.0.2.1 Include:inc1.test -ALL", TA_SPF_PASS },
        { "v=spf1 a:x-1.test mx:a.1-2 -all", TA_SPF_FAIL },    /* "1-2" is a toplabel */
        { "v=spf1 mx:1-2 -all", TA_SPF_PERMERROR },            /* but not a domain-end alone */
        { "v=spf1 ptr:x.test ip6:::ffff:192.0.2.1 -all", TA_SPF_FAIL },
    };
    ta_spf_outcome_t o;
    size_t           i;

    (void) state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fake.dynamic = cases[i].record;
        if (check("rec.test", "192.0.2.1", NULL, &o) != cases[i].result)
            fail_msg("\"%s\": %s (%s), wanted %s", cases[i].record, ta_spf_result_name(o.result), o.why,
                     ta_spf_result_name(cases[i].result));
        if (o.result == TA_SPF_PERMERROR && strstr(o.why, "syntax error") != NULL
            && strncmp(o.record, cases[i].record, sizeof(o.record) - 1) != 0)
            fail_msg("record not kept: %s", o.record);
    }
    /* macros may put spaces in a query name: the resolver gets octets */
    fake.dynamic = "v=spf1 a:macro%%percent%_%_space%-url-space.example.com -all";
    assert_int_equal(check("rec.test", "192.0.2.1", NULL, &o), TA_SPF_FAIL);
    assert_string_equal(fake.log, "TXT rec.test\nA macro%percent  space%20url-space.example.com\n");
    /* a record over 255 octets (several strings joined), and one longer than the outcome holds */
    {
        static char rec[TA_SPF_ROW];
        size_t      n = (size_t) sprintf(rec, "v=spf1");

        for (i = 0; i < 60; i++)
            n += (size_t) sprintf(rec + n, " ip4:198.51.100.%zu", i);
        strcpy(rec + n, " ip4:192.0.2.1 -all");
        fake.dynamic = rec;
        assert_int_equal(check("rec.test", "192.0.2.1", NULL, &o), TA_SPF_PASS);
        assert_int_equal(strlen(o.record), sizeof(o.record) - 1);
        assert_memory_equal(o.record, rec, sizeof(o.record) - 1);
        /* a row the resolver had to cut is taken as too long */
        memset(rec, 'x', sizeof(rec));
        memcpy(rec, "v=spf1 ", 7);
        rec[sizeof(rec) - 1] = '\0';
        assert_int_equal(check("rec.test", "192.0.2.1", NULL, &o), TA_SPF_PERMERROR);
        assert_non_null(strstr(o.why, "longer"));
        /* a literal name of 253 octets is queried, 254 is a permerror; a 64-octet label too */
        for (size_t last = 56; last <= 57; last++) {
            const char *q;

            n = (size_t) sprintf(rec, "v=spf1 a:");
            for (i = 0; i < 3; i++) {
                memset(rec + n, 'a', 63);
                rec[n + 63] = '.';
                n += 64;
            }
            memset(rec + n, 'b', last);
            n += last;
            strcpy(rec + n, ".test ip4:192.0.2.1 -all");
            if (last == 57) {
                assert_int_equal(check("rec.test", "192.0.2.1", NULL, &o), TA_SPF_PERMERROR);
                assert_non_null(strstr(o.why, "not a valid domain name"));
                continue;
            }
            assert_int_equal(check("rec.test", "192.0.2.1", NULL, &o), TA_SPF_PASS);
            assert_int_equal(o.lookups, 1);
            q = strstr(fake.log, "\nA ");
            assert_non_null(q);
            assert_int_equal(strchr(q + 3, '\n') - (q + 3), 253);
        }
        for (size_t label = 63; label <= 64; label++) {
            n = (size_t) sprintf(rec, "v=spf1 a:");
            memset(rec + n, 'a', label);
            strcpy(rec + n + label, ".test -all");
            assert_int_equal(check("rec.test", "192.0.2.1", NULL, &o), label == 63 ? TA_SPF_FAIL : TA_SPF_PERMERROR);
        }
    }
    fake.dynamic = NULL;
}

static void
test_errors(void **state)
{
    static const struct {
        const char     *record, *why;
        ta_spf_result_t result;
    } cases[] = {
        { "v=spf1 mx:mxtemp.test -all", "DNS error", TA_SPF_TEMPERROR },
        { "v=spf1 mx:temp.test -all", "DNS error looking up MX temp.test", TA_SPF_TEMPERROR },
        { "v=spf1 exists:temp.test -all", "DNS error looking up A temp.test", TA_SPF_TEMPERROR },
        { "v=spf1 a:temp.test -all", "DNS error looking up A temp.test", TA_SPF_TEMPERROR },
        { "v=spf1 a:nx1.test a:nx2.test a:nx3.test -all", "more than 2 void", TA_SPF_PERMERROR },
        { "v=spf1 a:nx1.test a:nx2.test mx:nx3.test -all", "more than 2 void", TA_SPF_PERMERROR },
        { "v=spf1 a:nx1.test a:nx2.test ptr -all", "more than 2 void", TA_SPF_PERMERROR },
        { "v=spf1 a:h1.test a:h2.test a:h3.test a:h4.test a:h5.test a:h6.test a:h7.test a:h8.test "
          "a:h9.test a:h10.test redirect=target.test", "at 'redirect=target.test'", TA_SPF_PERMERROR },
        { "v=spf1 redirect=%{l}..test", "not a valid domain name", TA_SPF_PERMERROR },
        { "v=spf1 include:%{l}.x", "nx.x has no SPF record", TA_SPF_PERMERROR },
        { "v=spf1 exists:%{S}%{S}%{S}%{S}%{S}%{S}%{S}%{S}%{S}.test", "too long", TA_SPF_PERMERROR },
    };
    ta_spf_outcome_t o;
    ta_ip_t          ip;
    char             sender[400];
    size_t           i;

    (void) state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fake.dynamic = cases[i].record;
        if (check("rec.test", "192.0.2.1", i == 9 ? "nx@x" : "a+b+c+d+e+f+g+h+i+j+k+l+m+n+o+p+q+r+s+t+u+v+w+x+y+z"
                  "+a+b+c+d+e+f+g+h+i+j+k+l+m+n+o+p+q+r+s+t+u+v+w+x+y+z+a+b+c+d+e+f+g+h+i+j+k+l+m+n+o+p"
                  "+q+r+s+t+u+v+w+x+y+z+a+b+c+d+e+f+g+h+i+j+k+l+m+n+o+p+q+r+s+t+u+v+w+x+y+z+a+b+c+d+e+f"
                  "+g+h+i+j+k+l+m+n+o+p+q+r+s+t+u+v+w+x+y+z@x.test", &o) != cases[i].result
            || strstr(o.why, cases[i].why) == NULL)
            fail_msg("\"%s\": %s (%s), wanted %s (%s)", cases[i].record, ta_spf_result_name(o.result),
                     o.why, ta_spf_result_name(cases[i].result), cases[i].why);
    }
    fake.dynamic = NULL;
    /* bad arguments, a sender too long for macros */
    assert_int_equal(ta_ip_parse("192.0.2.1", &ip), TA_OK);
    ta_spf_check(NULL, &ip, NULL, resolve, NULL, &o);
    assert_int_equal(o.result, TA_SPF_NONE);
    ta_spf_check("ip4.test", NULL, NULL, resolve, NULL, &o);
    assert_int_equal(o.result, TA_SPF_NONE);
    ta_spf_check("ip4.test", &ip, NULL, NULL, NULL, &o);
    assert_int_equal(o.result, TA_SPF_NONE);
    ip.family = 12345;
    ta_spf_check("ip4.test", &ip, NULL, resolve, NULL, &o);
    assert_int_equal(o.result, TA_SPF_NONE);
    memset(sender, 'a', sizeof(sender));
    strcpy(sender + sizeof(sender) - 8, "@x.test");
    assert_int_equal(check("ip4.test", "192.0.2.1", sender, &o), TA_SPF_NONE);
    assert_non_null(strstr(o.why, "sender"));
    sender[320 - 7] = '\0';
    strcat(sender, "@x.test");                      /* 320 octets: fine */
    assert_int_equal(check("ip4.test", "192.0.2.1", sender, &o), TA_SPF_PASS);
}

static void
test_ip_parse(void **state)
{
    ta_ip_t ip;

    (void) state;
    assert_int_equal(ta_ip_parse("192.0.2.1", &ip), TA_OK);
    assert_int_equal(ip.family, AF_INET);
    assert_int_equal(ip.addr[3], 1);
    assert_int_equal(ta_ip_parse("2001:db8::1", &ip), TA_OK);
    assert_int_equal(ip.family, AF_INET6);
    assert_int_equal(ip.addr[15], 1);
    assert_int_equal(ta_ip_parse("::ffff:192.0.2.1", &ip), TA_OK);
    assert_int_equal(ta_ip_parse("", &ip), TA_EINPUT);
    assert_int_equal(ta_ip_parse("192.0.2", &ip), TA_EINPUT);
    assert_int_equal(ta_ip_parse("192.0.2.01", &ip), TA_EINPUT);
    assert_int_equal(ta_ip_parse("192.0.2.1 ", &ip), TA_EINPUT);
    assert_int_equal(ta_ip_parse("2001:db8::1%eth0", &ip), TA_EINPUT);
    assert_int_equal(ta_ip_parse("1111:2222:3333:4444:5555:6666:7777:8888:9999", &ip), TA_EINPUT);
    assert_int_equal(ta_ip_parse("0000:0000:0000:0000:0000:ffff:255.255.255.255.", &ip), TA_EINPUT);
    assert_string_equal(ta_spf_result_name(TA_SPF_PERMERROR), "permerror");
    assert_string_equal(ta_spf_result_name((ta_spf_result_t) 99), "?");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ip),
        cmocka_unit_test(test_a_mx_ptr),
        cmocka_unit_test(test_exists_and_macros),
        cmocka_unit_test(test_expand),
        cmocka_unit_test(test_include_redirect),
        cmocka_unit_test(test_selection),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_records),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_ip_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

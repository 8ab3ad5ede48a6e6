/*
 * odkim_live - verify every DKIM signature of a message with libopendkim
 * (OpenDKIM's library), its keys looked up in DNS at an authoritative
 * server on 127.0.0.1:PORT.
 *
 * usage: odkim_live [--expect-fail] PORT MSG
 *
 * OpenDKIM's own resolver (libresolv) cannot be sent to another port than
 * 53, so its DNS hooks (dkim_dns_set_query_*) are given a resolver that
 * can: ldns, asking that server and following CNAMEs as a recursive
 * resolver would (an authoritative server answers one zone at a time).
 * OpenDKIM reads the reply packet itself, as it reads libresolv's.
 */
#include <ldns/ldns.h>
#include <opendkim/dkim.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ldns_resolver *res;

typedef struct {
    size_t len;
} reply_t;

/* query_start - the whole lookup, done at once: the reply lands in buf */
static int
query_start(void *srv, int type, unsigned char *query, unsigned char *buf, size_t buflen, void **qh)
{
    ldns_rdf *name = ldns_dname_new_frm_str((const char *) query);
    ldns_pkt *pkt = NULL;
    uint8_t  *wire = NULL;
    size_t    wlen = 0;
    reply_t  *r;
    int       hops;

    (void) srv;
    for (hops = 0; name != NULL && hops < 8; hops++) {
        ldns_rr_list *txt, *cname;

        if (pkt)
            ldns_pkt_free(pkt);
        pkt = NULL;
        if (ldns_resolver_send(&pkt, res, name, (ldns_rr_type) type, LDNS_RR_CLASS_IN, LDNS_RD) != LDNS_STATUS_OK)
            break;
        txt = ldns_pkt_rr_list_by_type(pkt, (ldns_rr_type) type, LDNS_SECTION_ANSWER);
        cname = ldns_pkt_rr_list_by_type(pkt, LDNS_RR_TYPE_CNAME, LDNS_SECTION_ANSWER);
        ldns_rdf_deep_free(name);
        name = NULL;
        if (txt == NULL && cname != NULL)
            name = ldns_rdf_clone(ldns_rr_rdf(ldns_rr_list_rr(cname, ldns_rr_list_rr_count(cname) - 1), 0));
        ldns_rr_list_deep_free(txt);
        ldns_rr_list_deep_free(cname);
    }
    if (name)
        ldns_rdf_deep_free(name);
    r = calloc(1, sizeof(*r));
    if (r == NULL || pkt == NULL || ldns_pkt2wire(&wire, pkt, &wlen) != LDNS_STATUS_OK || wlen > buflen) {
        free(r);
        free(wire);
        if (pkt)
            ldns_pkt_free(pkt);
        return -1;
    }
    memcpy(buf, wire, wlen);
    r->len = wlen;
    free(wire);
    ldns_pkt_free(pkt);
    *qh = r;
    return 0;
}

/* query_waitreply - the reply query_start already has */
static int
query_waitreply(void *srv, void *qh, struct timeval *to, size_t *bytes, int *error, int *dnssec)
{
    (void) srv;
    (void) to;
    *bytes = ((reply_t *) qh)->len;
    if (error)
        *error = 0;
    if (dnssec)
        *dnssec = DKIM_DNSSEC_UNKNOWN;
    return DKIM_DNS_SUCCESS;
}

/* query_cancel - done with a reply */
static int
query_cancel(void *srv, void *qh)
{
    (void) srv;
    free(qh);
    return 0;
}

int
main(int argc, char **argv)
{
    DKIM_LIB      *lib;
    DKIM          *dkim;
    DKIM_STAT      st;
    DKIM_SIGINFO **sigs;
    ldns_rdf      *ns;
    FILE          *f;
    unsigned char *msg;
    char           detail[512] = "";
    long           n;
    int            a = 1, expect_fail = 0, nsigs = 0, ok = 0, s;

    if (argc > 1 && strcmp(argv[1], "--expect-fail") == 0) {
        expect_fail = 1;
        a++;
    }
    if (argc - a != 2) {
        fprintf(stderr, "usage: odkim_live [--expect-fail] PORT MSG\n");
        return 64;
    }
    res = ldns_resolver_new();
    ns = ldns_rdf_new_frm_str(LDNS_RDF_TYPE_A, "127.0.0.1");
    if (res == NULL || ns == NULL || ldns_resolver_push_nameserver(res, ns) != LDNS_STATUS_OK)
        return 2;
    ldns_resolver_set_port(res, (uint16_t) atoi(argv[a]));
    ldns_resolver_set_retry(res, 2);
    f = fopen(argv[a + 1], "rb");
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0
        || (msg = malloc((size_t) n + 1)) == NULL || fread(msg, 1, (size_t) n, f) != (size_t) n) {
        perror(argv[a + 1]);
        return 2;
    }
    fclose(f);
    lib = dkim_init(NULL, NULL);
    if (lib == NULL)
        return 2;
    dkim_dns_set_query_start(lib, query_start);
    dkim_dns_set_query_waitreply(lib, query_waitreply);
    dkim_dns_set_query_cancel(lib, query_cancel);
    dkim = dkim_verify(lib, (const unsigned char *) argv[a + 1], NULL, &st);
    if (dkim != NULL) {
        dkim_chunk(dkim, msg, (size_t) n);
        dkim_chunk(dkim, NULL, 0);
        st = dkim_eom(dkim, NULL);
        if (dkim_getsiglist(dkim, &sigs, &nsigs) == DKIM_STAT_OK && nsigs > 0) {
            ok = 1;
            for (s = 0; s < nsigs; s++) {
                unsigned flags = dkim_sig_getflags(sigs[s]);
                int      pass = (flags & DKIM_SIGFLAG_PASSED) && dkim_sig_getbh(sigs[s]) == DKIM_SIGBH_MATCH;

                snprintf(detail + strlen(detail), sizeof(detail) - strlen(detail), "%ss=%s %s(%s)",
                         s ? ", " : "", dkim_sig_getselector(sigs[s]), pass ? "pass" : "fail",
                         dkim_sig_geterrorstr(dkim_sig_geterror(sigs[s])));
                ok &= pass;
            }
        }
        dkim_free(dkim);
    }
    printf("%s opendkim [%s] eom=%s\n", ok != expect_fail ? "ok" : "FAIL", detail, dkim_getresultstr(st));
    dkim_close(lib);
    ldns_resolver_deep_free(res);
    free(msg);
    return ok != expect_fail ? 0 : 1;
}

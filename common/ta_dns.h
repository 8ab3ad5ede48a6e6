/*
 * NAME
 *	ta_dns 3h
 * SUMMARY
 *	DNS client for onboarding checks: one query, CNAMEs followed, bounded
 * SYNOPSIS
 *	ta_dns_t   *ta_dns_new(const char *server, unsigned timeout_ms,
 *	                       unsigned tries, char *err, size_t errlen);
 *	void        ta_dns_free(ta_dns_t *d);
 *	ta_dns_rc_t ta_dns_query(ta_dns_t *d, const char *name, int type,
 *	                         ta_dns_answer_t *ans);
 *	ta_dns_rc_t ta_dns_query_raw(ta_dns_t *d, const char *name, int type,
 *	                             ta_dns_answer_t *ans);
 *	ta_dns_rc_t ta_dns_answer_parse(const uint8_t *wire, size_t len,
 *	                                const char *qname, int type,
 *	                                ta_dns_answer_t *ans, char next[256]);
 *	const char *ta_dns_rc_name(ta_dns_rc_t rc);
 * DESCRIPTION
 *	ta_dns_new() returns a client for one server, given as "IP", "IP:PORT",
 *	"[IPv6]:PORT" or a bare IPv6 address (port 53 by default; no host
 *	names), or, for server NULL, for the first three nameservers of
 *	/etc/resolv.conf (read with ldns). timeout_ms is the wait for one try
 *	(0: 2000, at most 60000), tries the number of tries (0: 2, at most
 *	10). On failure it returns NULL with the reason in err.
 *
 *	ta_dns_query() asks for the records of type (an RR type number:
 *	TA_DNS_TXT, TA_DNS_A, ...) at name and follows CNAMEs: a chain inside
 *	the answer is used as it stands; when the chain leaves the answer its
 *	last target is asked for in turn. It returns
 *	TA_DNS_OK        ans->n records (see below);
 *	TA_DNS_NXDOMAIN  the name, or the last name of its CNAME chain, does
 *	                 not exist;
 *	TA_DNS_NODATA    it exists without records of type;
 *	TA_DNS_TEMP      no usable answer: timeout, connection refused,
 *	                 SERVFAIL, REFUSED or another rcode, or a referral
 *	                 (the server is not authoritative for the name and
 *	                 does not recurse: ask a resolver);
 *	TA_DNS_LOOP      a CNAME leads back to a name already seen;
 *	TA_DNS_CHAIN     more than TA_DNS_MAX_CHAIN CNAMEs;
 *	TA_DNS_BAD       a malformed answer, an answer to another question,
 *	                 a name that cannot be written as below, an unusable
 *	                 name or type in the question.
 *	Whatever the result, ans->cname_chain[0..nchain) holds the CNAME
 *	targets followed from name, in order, and for anything but a plain
 *	TA_DNS_OK ans->why says in words what happened.
 *
 *	ta_dns_query_raw() is the same without following CNAMEs: type CNAME
 *	gives NAME's own target as a record; for any other type a name that is
 *	a CNAME gives TA_DNS_NODATA with its target in cname_chain[0]
 *	(nchain 1). ta_dns_query() with type CNAME never follows either.
 *
 *	ta_dns_answer_parse() is the answer handling alone, on one response
 *	in wire format to the question (qname, type, IN): it fills ans as
 *	ta_dns_query() does and, when the chain leaves the packet, returns
 *	TA_DNS_OK with ans->n 0 and the name still to ask for in next (else
 *	next is ""). The fuzz target drives it.
 *
 *	Names. Names go in and come out as plain octets: printable ASCII
 *	labels joined by ".", no trailing dot (one is accepted on input), no
 *	zone-file escapes ("\\" is an octet like any other). On input a label
 *	is 1 to 63 octets and the name at most 255 octets on the wire. Names
 *	in answers come out in lower case; one that cannot be written so (a
 *	label holding ".", a space, a control or 8-bit octet) makes the whole
 *	answer TA_DNS_BAD: it could not be compared or asked for faithfully.
 *
 *	Records. data[i] is NUL-terminated text: TXT, the record's
 *	character-strings joined without separators (RFC 7208 3.3, RFC 6376
 *	3.6.2.2), raw octets that may include NUL; A and AAAA, the address
 *	(inet_ntop); MX, the exchange name with its preference in pref[i];
 *	CNAME, NS, PTR, the name; other types, ldns's presentation of the
 *	rdata fields joined by spaces (WKS cannot be asked for: ldns prints it
 *	through getservbyport(), one /etc/services scan per bit, with shared
 *	buffers). len[i] is the length of the whole
 *	text: when len[i] >= sizeof data[i] the record was cut to
 *	sizeof data[i] - 1 octets.
 *
 *	Limits (decisions). An answer is one DNS message, at most 65535
 *	octets (longer input to ta_dns_answer_parse() is TA_DNS_BAD). Of the
 *	matching records the first TA_DNS_MAX_RRS are kept, total counts all;
 *	records dropped or cut set partial and a note in why, and the result
 *	stays TA_DNS_OK: a caller that concludes from the absence of a record
 *	must treat partial as "unknown". Two CNAMEs at one name, a CNAME
 *	beside records of type, and NXDOMAIN with records are TA_DNS_BAD.
 *	EDNS is always sent; a server that answers FORMERR to it is
 *	TA_DNS_TEMP (no retry without EDNS).
 *
 *	Transport. Queries go over UDP with EDNS (payload 1232, no DO bit, RD
 *	set), a fresh socket and random source port and a random ID
 *	(getrandom) per try; a datagram whose ID or question does not match is
 *	ignored, as RFC 5452 asks. A truncated (TC) answer is asked again over
 *	TCP. Tries rotate over the nameservers; SERVFAIL and REFUSED move on to
 *	the next nameserver when there are several. One call of ta_dns_query()
 *	- every try, the TCP fallback and the queries along a CNAME chain -
 *	ends within timeout_ms * tries: a server that does not answer gives
 *	TA_DNS_TEMP after that long, a closed port (ICMP refusal) at once.
 *	ldns builds and parses the messages; the sockets are ours because
 *	ldns_send() (1.8.3) accepts the first datagram without checking its
 *	ID, waits timeout afresh for every TCP read, draws IDs from an
 *	unseeded random(), and marks a server that timed out once as
 *	unreachable for the resolver's life.
 *
 *	Threads. A ta_dns_t is used by one thread at a time; several, one per
 *	thread, run in parallel: each has its own buffer and sockets, and the
 *	ldns functions used (packet building, wire parsing, rdata printing
 *	short of WKS, resolv.conf reading) keep no shared mutable state (in
 *	ldns 1.8.3 the only mutable static is in GOST key code, unused here;
 *	its random() for IDs is not used). ta_dns_answer_parse() is
 *	reentrant.
 *
 *	XXX: a stub cannot know zone cuts: when the server is authoritative,
 *	records in its answer for names outside its zones (a CNAME target
 *	elsewhere, with data) are taken as it gives them. Verdicts that matter
 *	should come from a resolver.
 * STANDARDS
 *	RFC 1035 (messages, 4.2.2 TCP), RFC 2181 10.1 (a CNAME has no other
 *	data), RFC 6604 (the rcode belongs to the last name of a chain),
 *	RFC 5452 9.1 (accept only answers matching ID and question),
 *	RFC 6891 (EDNS), RFC 7766 (TCP), RFC 1034 4.3.2 (CNAMEs).
 */
#ifndef TA_DNS_H
#define TA_DNS_H

#include <stddef.h>
#include <stdint.h>

#define TA_DNS_MAX_CHAIN 8
#define TA_DNS_MAX_RRS   32

/* RR type numbers (RFC 1035, RFC 3596), the same as ldns's LDNS_RR_TYPE_* */
#define TA_DNS_A     1
#define TA_DNS_NS    2
#define TA_DNS_CNAME 5
#define TA_DNS_SOA   6
#define TA_DNS_PTR   12
#define TA_DNS_MX    15
#define TA_DNS_TXT   16
#define TA_DNS_AAAA  28

typedef struct ta_dns ta_dns_t;

typedef enum {
    TA_DNS_OK = 0,
    TA_DNS_NXDOMAIN,
    TA_DNS_NODATA,
    TA_DNS_TEMP,        /* timeout, SERVFAIL, REFUSED, network, referral */
    TA_DNS_LOOP,        /* CNAME loop */
    TA_DNS_CHAIN,       /* CNAME chain longer than TA_DNS_MAX_CHAIN */
    TA_DNS_BAD          /* malformed or unusable answer or question */
} ta_dns_rc_t;

typedef struct {
    size_t   n;                                     /* records kept */
    char     data[TA_DNS_MAX_RRS][1024];            /* their text (see above) */
    size_t   len[TA_DNS_MAX_RRS];                   /* whole length; >= 1024: cut */
    unsigned pref[TA_DNS_MAX_RRS];                  /* MX preference */
    size_t   total;                                 /* matching records in the answer */
    int      partial;                               /* records dropped or cut */
    char     cname_chain[TA_DNS_MAX_CHAIN][256];    /* CNAME targets followed */
    size_t   nchain;
    int      aa;                                    /* every answer used was authoritative */
    int      tcp;                                   /* some answer came over TCP */
    char     why[256];                              /* what happened, in words */
} ta_dns_answer_t;

ta_dns_t   *ta_dns_new(const char *server, unsigned timeout_ms, unsigned tries,
                       char *err, size_t errlen);
void        ta_dns_free(ta_dns_t *d);
ta_dns_rc_t ta_dns_query(ta_dns_t *d, const char *name, int type, ta_dns_answer_t *ans);
ta_dns_rc_t ta_dns_query_raw(ta_dns_t *d, const char *name, int type, ta_dns_answer_t *ans);
ta_dns_rc_t ta_dns_answer_parse(const uint8_t *wire, size_t len, const char *qname, int type,
                                ta_dns_answer_t *ans, char next[256]);
const char *ta_dns_rc_name(ta_dns_rc_t rc);

#endif

#!/usr/bin/python3
"""dkim_live.py PORT MSG: verify every DKIM signature of a message with dkimpy,
each key looked up in DNS at the authoritative server on 127.0.0.1:PORT (real
queries with dnspython, CNAMEs followed as a resolver would: an authoritative
server answers one zone at a time). Prints one line: "ok" or "FAIL", then
d=/s= and dkimpy's result per signature. Exit 0 when the message has at
least one signature and all verify."""
import sys
import dkim
import dns.message
import dns.query
import dns.rdatatype

PORT = int(sys.argv[1])


def dnsfunc(name, timeout=5):
    """the TXT record at name, strings joined, following up to 8 CNAMEs"""
    qname = name.decode() if isinstance(name, bytes) else name
    for _ in range(8):
        reply = dns.query.udp(dns.message.make_query(qname, "TXT"), "127.0.0.1", port=PORT, timeout=2)
        target = None
        for rrset in reply.answer:
            if rrset.rdtype == dns.rdatatype.TXT:
                return b"".join(rrset[0].strings)
            if rrset.rdtype == dns.rdatatype.CNAME:
                target = rrset[0].target.to_text()
        if target is None:
            return None
        qname = target
    return None


msg = open(sys.argv[2], "rb").read()
d = dkim.DKIM(msg)
sigs = [h[1] for h in d.headers if h[0].lower() == b"dkim-signature"]
results = []
for i, sig in enumerate(sigs):
    tags = dict(t.strip().split(b"=", 1) for t in sig.split(b";") if b"=" in t)
    label = "d=%s s=%s" % (tags.get(b"d", b"?").decode(), tags.get(b"s", b"?").decode())
    try:
        ok = d.verify(idx=i, dnsfunc=dnsfunc)
    except dkim.DKIMException as e:
        ok = "error: %s" % e
    results.append((label, ok is True, ok))
good = bool(results) and all(r[1] for r in results)
print("%s %s" % ("ok" if good else "FAIL", "; ".join("%s %s" % (r[0], r[2]) for r in results)))
sys.exit(0 if good else 1)

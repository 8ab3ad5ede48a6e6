#!/usr/bin/env bash
# tests/dns/dns_cmd.sh - `tenantalign dns` for every delegation mode: the
# zone output (from the source and from the compiled store, alike) loaded
# unchanged into a real authoritative server (knot on 127.0.0.1), and every
# record the JSON output lists answered by it as planned: key records split
# into 255-octet strings and joined back, CNAMEs, MX, NS, SPF, DMARC.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib_knot.sh"
onboard_dir dns DNS_TEST_PORT 3300
onboard_fixture
check "dns: zone output from the source" sh -c '"$1" dns --state state tenants.conf >src.zone' _ "$TA"
check "dns: the store gives the same records" sh -c '"$1" dns --store tenants.cdb >store.zone && cmp -s src.zone store.zone' _ "$TA"
check "dns: json output parses" sh -c '"$1" dns --format json tenants.conf >recs.json && /usr/bin/python3 -m json.tool recs.json >/dev/null' _ "$TA"
check "dns: a filter that matches nothing exits 1" sh -c '! "$1" dns --tenant nobody tenants.conf 2>/dev/null' _ "$TA"
check "dns: revoked key published as p=" grep -q '^g0._domainkey.globex.example.	3600	IN	TXT	"v=DKIM1; k=rsa; p="$' src.zone

zones_from "$W/src.zone" "$W/knot"
knot_start "$W/knot" "$PORT" $ZONES || { fail "knot started with the dns output"; finish; }
ok "knot loaded the zone output unchanged"

/usr/bin/python3 - recs.json "$PORT" <<'PY'
import json, sys, dns.message, dns.query, dns.rdatatype
port = int(sys.argv[2])
bad = 0
for r in json.load(open(sys.argv[1])):
    q = dns.message.make_query(r["name"], r["type"])
    ans = dns.query.udp(q, "127.0.0.1", port=port, timeout=2)
    got = []
    for rrset in ans.answer + ans.authority:
        if rrset.name.to_text() != r["name"] or dns.rdatatype.to_text(rrset.rdtype) != r["type"]:
            continue
        for rd in rrset:
            if r["type"] == "TXT":
                if any(len(s) > 255 for s in rd.strings):
                    bad += 1
                got.append('"' + b"".join(rd.strings).decode() + '"')
            else:
                got.append(rd.to_text())
    want = r["data"] if r["type"] != "TXT" else '"' + r["data"].replace('" "', "")[1:-1] + '"'
    if want not in got:
        print("not answered as planned: %s %s %s -> %s" % (r["name"], r["type"], want, got))
        bad += 1
print(("ok" if bad == 0 else "not ok") + " dns: every planned record answered by knot as planned (%d records)" % len(json.load(open(sys.argv[1]))))
PY
check "dns: an RSA key record is two strings of at most 255 octets" /usr/bin/python3 - "$PORT" <<'PY'
import sys, dns.message, dns.query
a = dns.query.udp(dns.message.make_query("s1.acme.example.dkim.esp.example.", "TXT"), "127.0.0.1", port=int(sys.argv[1]), timeout=2)
strings = a.answer[0][0].strings
sys.exit(0 if len(strings) == 2 and all(len(s) <= 255 for s in strings) else 1)
PY
finish

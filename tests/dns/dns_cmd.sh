#!/usr/bin/env bash
# tests/dns/dns_cmd.sh - `tenantalign dns` for every delegation mode: the
# zone output (from the source and from the compiled store, alike) loaded
# unchanged into a real authoritative server (knot on 127.0.0.1), and every
# record the JSON output lists answered by it as planned: key records split
# into 255-octet strings and joined back, CNAMEs, MX, NS, SPF, DMARC.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib_knot.sh"
[ -x /usr/sbin/knotd ] || { skip "dns command" "knot not installed"; finish; }
W=$(mktemp -d /tmp/ta-dns.XXXXXX)
PORT=${DNS_TEST_PORT:-3300}
trap 'knot_stop "$W/knot"; rm -rf "$W"' EXIT
cd "$W" || exit 1
mkdir -p keys
for k in acme.example:s1:rsa2048 acme.example:s2:ed25519 email.initech.example:s1:ed25519 globex.example:g1:rsa2048; do
    IFS=: read -r d s a <<<"$k"
    "$TA" keygen --alg "$a" --domain "$d" --selector "$s" --out keys >/dev/null 2>&1 || fail "keygen $k"
done
cat >tenants.conf <<'SRC'
provider {
    name_servers ns1.esp.example ns2.esp.example;
    cname_zone dkim.esp.example;
    return_path_mx mx.esp.example 10;
    spf_include _spf.esp.example;
    egress 192.0.2.10 2001:db8::10;
    dmarc_rua mailto:dmarc@esp.example;
}
tenant acme { login acme;
    identity acme.example { mode domain; dns cname; return_path bounces.acme.example;
        key s1 { algorithm rsa-sha256; file keys/acme.example.s1.pem; state active; }
        key s2 { algorithm ed25519-sha256; file keys/acme.example.s2.pem; state pending; } }
    identity email.initech.example { mode delegated; dns delegated; return_path bounces.email.initech.example;
        key s1 { algorithm ed25519-sha256; file keys/email.initech.example.s1.pem; state active; } } }
tenant globex { login globex;
    identity globex.example { mode domain; return_path rp.globex.example;
        key g1 { algorithm rsa-sha256; file keys/globex.example.g1.pem; state active; }
        key g0 { algorithm rsa-sha256; file keys/globex.example.g1.pem; state revoked; } } }
SRC
"$TA" compile --quiet tenants.conf tenants.cdb 2>/dev/null || { fail "compile"; finish; }
check "dns: zone output from the source" sh -c '"$1" dns tenants.conf >src.zone' _ "$TA"
check "dns: the store gives the same records" sh -c '"$1" dns --store tenants.cdb >store.zone && cmp -s src.zone store.zone' _ "$TA"
check "dns: json output parses" sh -c '"$1" dns --format json tenants.conf >recs.json && /usr/bin/python3 -m json.tool recs.json >/dev/null' _ "$TA"
check "dns: a filter that matches nothing exits 1" sh -c '! "$1" dns --tenant nobody tenants.conf 2>/dev/null' _ "$TA"
check "dns: revoked key published as p=" grep -q '^g0._domainkey.globex.example.	3600	IN	TXT	"v=DKIM1; k=rsa; p="$' src.zone

# every line of the output, as it is, into the zone it belongs to
ZONES="example email.initech.example dkim.esp.example"
for z in $ZONES; do zone_head "$z" >"$W/$z.zone"; done
/usr/bin/python3 - src.zone $ZONES <<'PY'
import sys
zones = sorted(sys.argv[2:], key=len, reverse=True)
for line in open(sys.argv[1]):
    if not line.strip() or line.startswith(";"):
        continue
    owner = line.split("\t", 1)[0]
    apex = next(z for z in zones if owner == z + "." or owner.endswith("." + z + "."))
    open(apex + ".zone", "a").write(line)
PY
mkdir -p knot
for z in $ZONES; do mv "$z.zone" knot/; done
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

#!/usr/bin/env bash
# tests/dns/verify_cmd.sh - `tenantalign verify` against a real authoritative
# server (knot on 127.0.0.1): every mode's `dns` output, loaded, verifies;
# then every failure verify must report is provoked by editing a zone and
# reloading it - a missing key, another key, a CNAME to nowhere, a CNAME
# loop, SPF over 10 lookups, void lookups, DMARC missing (a FAIL where
# require_dmarc), duplicate, malformed, adkim=s reported - and a server
# that does not answer is reported within its timeout.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib_knot.sh"
onboard_dir verify VERIFY_TEST_PORT 3310
onboard_fixture
"$TA" dns tenants.conf >src.zone || { fail "dns"; finish; }
zones_from "$W/src.zone" "$W/knot"
knot_start "$W/knot" "$PORT" $ZONES || { fail "knot started"; finish; }
V() { "$TA" verify --server "127.0.0.1:$PORT" --timeout 500 "$@"; }

# vcheck NAME IDENTITY CHECK STATUS TEXT: the JSON report of IDENTITY has a
# check CHECK (its name's start) with STATUS and TEXT in what it found
vcheck() {
    local name=$1 id=$2 what=$3 status=$4 text=$5
    V --json --identity "$id" tenants.conf >"$W/v.json" 2>"$W/v.err"
    if /usr/bin/python3 - "$W/v.json" "$what" "$status" "$text" <<'PY'
import json, sys
reps = json.load(open(sys.argv[1]))
ok = any(c["check"].startswith(sys.argv[2]) and c["status"] == sys.argv[3] and sys.argv[4] in c["found"]
         for r in reps for c in r["checks"])
sys.exit(0 if ok else 1)
PY
    then ok "verify: $name"; else fail "verify: $name"; cat "$W/v.json" "$W/v.err" | head -40 | sed 's/^/# /'; fi
}
V tenants.conf >"$W/all.txt" 2>&1; rc=$?
check "verify: every mode's dns output, published, verifies (exit 0)" [ $rc -eq 0 ]
[ $rc -eq 0 ] || sed 's/^/# /' "$W/all.txt" | head -60
check "verify: from the store too" sh -c '"$1" verify --server "127.0.0.1:$2" --store tenants.cdb >/dev/null' _ "$TA" "$PORT"
vcheck "pending key published: ready to activate" acme.example "dkim s2" OK "ready to activate"
vcheck "revoked key seen as p=" globex.example "dkim g0" OK "safe to remove"
vcheck "CNAME delegation followed to the key" acme.example "dkim s1" OK "our key is published"
vcheck "NS delegation" email.initech.example "delegation" OK "NS ns1.esp.example"
vcheck "SPF passes for the egress addresses" acme.example "spf" OK "192.0.2.10 passes"
vcheck "SPF through the delegated zone" email.initech.example "spf" OK "2001:db8::10 passes"

zone_edit dkim.esp.example 're.sub(r"(?m)^s1\.acme\.example\.dkim\.esp\.example\..*\n", "", t)'
vcheck "missing key record: FAIL" acme.example "dkim s1" FAIL "no key record"
check "verify: a failure exits 1" sh -c '"$1" verify --server "127.0.0.1:$2" --identity acme.example tenants.conf >/dev/null; [ $? -eq 1 ]' _ "$TA" "$PORT"
"$TA" keygen --alg rsa2048 --domain other.example --selector x --out "$W" >/dev/null 2>&1
other=$(openssl pkey -in "$W/other.example.x.pem" -pubout -outform DER 2>/dev/null | base64 -w0)
zone_edit example "re.sub(r'(?m)^(g1\._domainkey\.globex\.example\.\t3600\tIN\tTXT\t).*$', r'\g<1>\"v=DKIM1; k=rsa; p=$other\"', t)"
vcheck "another key published: FAIL" globex.example "dkim g1" FAIL "not ours"
zone_edit example 're.sub(r"(?m)^(s2\._domainkey\.acme\.example\.\t3600\tIN\tCNAME\t).*$", r"\g<1>nowhere.dkim.esp.example.", t)'
vcheck "CNAME to nowhere: the CNAME check fails" acme.example "cname" FAIL "points to nowhere.dkim.esp.example"
vcheck "CNAME to nowhere: no key record" acme.example "dkim s2" WARN "not published yet"
zone_edit example 're.sub(r"(?m)^(s2\._domainkey\.acme\.example\.\t3600\tIN\tCNAME\t).*$", r"\g<1>loop.example.", t) + "loop.example.\t3600\tIN\tCNAME\ts2._domainkey.acme.example.\n"'
vcheck "CNAME loop: FAIL" acme.example "dkim s2" FAIL "loop"
spf11=$(for i in $(seq 11); do printf ' include:i%d.esp.example' "$i"; done)
zone_edit esp.example "t.replace('ip4:192.0.2.10 ip4:192.0.2.11 ip6:2001:db8::10 -all', '$spf11 ip4:192.0.2.10 ip4:192.0.2.11 ip6:2001:db8::10 -all') + ''.join('i%d\tIN\tTXT\t\"v=spf1 -all\"\n' % i for i in range(1, 12))"
vcheck "SPF over 10 DNS lookups: FAIL" globex.example "spf" FAIL "permerror"
zone_edit esp.example "re.sub(r'(?m)^_spf\t.*$', '_spf\tIN\tTXT\t\"v=spf1 a:v1.esp.example a:v2.esp.example a:v3.esp.example ip4:192.0.2.10 ip4:192.0.2.11 ip6:2001:db8::10 -all\"', t)"
vcheck "SPF with 3 void lookups: FAIL" globex.example "spf" FAIL "void"
zone_edit example 're.sub(r"(?m)^_dmarc\.globex\.example\..*\n", "", t)'
vcheck "no DMARC record: WARN" globex.example "dmarc" WARN "no DMARC record"
sed -i 's/identity globex.example { mode domain;/identity globex.example { mode domain; require_dmarc on;/' tenants.conf
vcheck "no DMARC record with require_dmarc: FAIL" globex.example "dmarc" FAIL "require_dmarc"
zone_edit example 't + "_dmarc.globex.example.\t3600\tIN\tTXT\t\"v=DMARC1; p=none\"\n_dmarc.globex.example.\t3600\tIN\tTXT\t\"v=DMARC1; p=reject\"\n"'
vcheck "two DMARC records: FAIL" globex.example "dmarc" FAIL "multiple"
zone_edit example 're.sub(r"(?m)^_dmarc\.globex\.example\..*\n", "", t) + "_dmarc.globex.example.\t3600\tIN\tTXT\t\"v=DMARC1 p=none\"\n"'
vcheck "malformed DMARC record: FAIL" globex.example "dmarc" FAIL "_dmarc.globex.example"
zone_edit example 're.sub(r"(?m)^_dmarc\.globex\.example\..*\n", "", t) + "_dmarc.globex.example.\t3600\tIN\tTXT\t\"v=DMARC1; p=reject; adkim=s; aspf=s\"\n"'
vcheck "adkim=s and aspf=s reported" globex.example "dmarc" OK "adkim=s (strict DKIM alignment), aspf=s"

knot_stop "$W/knot"; sleep 0.2
start=$(date +%s%N)
V tenants.conf >/dev/null 2>"$W/dead.err"; rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "verify: a server that does not answer: exit 2" [ $rc -eq 2 ]
check "verify: ... reported within 10 s whatever the identities ($ms ms)" [ "$ms" -lt 10000 ]
check "verify: ... said once" [ "$(grep -c 'does not answer' "$W/dead.err")" -eq 1 ]
finish

#!/usr/bin/env bash
# tests/dns/state_policy.sh - what verify sees reaches the gate: verify
# --state records it (knot on 127.0.0.1), compile --state folds it into the
# store, and the decision (tenantalign check, the adapters' code) acts on
# it: keys sign once seen published and stop when they vanish, require_dmarc
# refuses a From domain without DMARC, adkim=s / aspf=s make alignment
# strict; DNS trouble changes nothing, a damaged state file is refused.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib_knot.sh"
onboard_dir state STATE_TEST_PORT 3320
onboard_fixture
"$TA" dns --state state tenants.conf >src.zone || { fail "dns"; finish; }
zones_from "$W/src.zone" "$W/knot"
knot_start "$W/knot" "$PORT" $ZONES || { fail "knot started"; finish; }
V() { "$TA" verify --server "127.0.0.1:$PORT" --timeout 500 --state state "$@" tenants.conf; }
C() { "$TA" compile --state state tenants.conf tenants.cdb "$@"; }
msg() { printf 'From: %s\r\nTo: someone@customer.example\r\nSubject: hello\r\n\r\nHello.\r\n' "$1"; }
# decide LOGIN MAILFROM FROM: the reply of the adapters' decision (first line + reason)
decide() { msg "$3" | "$TA" check --store tenants.cdb --login "$1" --mail-from "$2" - 2>/dev/null; }

# before verify: nothing seen, nothing signs (451, never an unsigned pass)
out=$(decide acme '<b@bounces.acme.example>' 'a@acme.example')
check "never verified: 451" grep -q '^451 4.7.0 ' <<<"$out"

V >v1.txt 2>&1; rc=$?
check "verify --state: exit 0 with everything published" [ $rc -eq 0 ]
[ $rc -eq 0 ] || sed 's/^/# /' v1.txt | head -30
check "state: the active key recorded as published" grep -q '^key acme.example s1 [0-9a-f]\{64\} published [0-9]' state
check "state: the pending key too" grep -q '^key acme.example s2 [0-9a-f]\{64\} published ' state
check "state: the revoked key seen as p=" grep -q '^key globex.example g0 [0-9a-f]\{64\} revoked ' state
check "state: DMARC found, relaxed" grep -q '^dmarc globex.example found r r ' state
C >c1.txt 2>&1
check "compile --state: the verified keys active" grep -q 'keys: 3 active, 1 pending, 0 retiring, 1 revoked, 0 unverified' c1.txt
out=$(decide acme '<b@bounces.acme.example>' 'a@acme.example')
check "verified: signed" grep -q '^250 2.0.0 accepted; sign d=acme.example s=s1 a=rsa-sha256$' <<<"$out"
out=$(decide globex '<b@rp.globex.example>' 'a@globex.example')
check "verified (manual TXT): signed" grep -q '^250 2.0.0 accepted; sign d=globex.example s=g1' <<<"$out"

# DNS trouble: nothing recorded, nothing changes
cp state state.before
knot_stop "$W/knot"; sleep 0.2
V >/dev/null 2>&1; rc=$?
check "server down: verify exits 2" [ $rc -eq 2 ]
check "server down: the state file untouched" cmp -s state state.before
knot_start "$W/knot" "$PORT" $ZONES || { fail "knot restarted"; finish; }

# DMARC: aspf=s and adkim=s make alignment strict
zone_edit example 're.sub(r"(?m)^_dmarc\.globex\.example\..*\n", "", t) + "_dmarc.globex.example.\t3600\tIN\tTXT\t\"v=DMARC1; p=reject; aspf=s\"\n"'
V --identity globex.example >/dev/null 2>&1; C >/dev/null 2>&1
check "state: aspf=s recorded" grep -q '^dmarc globex.example found r s ' state
out=$(decide globex '<b@rp.globex.example>' 'a@globex.example')
check "aspf=s: the return path is no longer aligned (550)" grep -q '^550 5.7.515 ' <<<"$out"
check "aspf=s: the reason says why" [ "$(reason <<<"$out")" = "envelope sender domain rp.globex.example is not aligned with From domain globex.example (strict alignment: the domain's DMARC record asks for it)" ]
out=$(decide globex '<b@globex.example>' 'a@globex.example')
check "aspf=s: the From domain itself still passes" grep -q '^250 ' <<<"$out"

# require_dmarc: a From domain without a DMARC record is refused, precisely
zone_edit example 're.sub(r"(?m)^_dmarc\.globex\.example\..*\n", "", t)'
sed -i 's/identity globex.example { mode domain;/identity globex.example { mode domain; require_dmarc on;/' tenants.conf
V --identity globex.example >/dev/null 2>&1; C >/dev/null 2>&1
check "state: no DMARC recorded" grep -q '^dmarc globex.example none ' state
out=$(decide globex '<b@globex.example>' 'a@globex.example')
check "require_dmarc, none published: 550 5.7.515" grep -q '^550 5.7.515 ' <<<"$out"
check "require_dmarc: the reason" [ "$(reason <<<"$out")" = "From domain globex.example publishes no DMARC record; this relay requires one (require_dmarc)" ]
zone_edit example 't + "_dmarc.globex.example.\t3600\tIN\tTXT\t\"v=DMARC1; p=none\"\n_dmarc.globex.example.\t3600\tIN\tTXT\t\"v=DMARC1; p=reject\"\n"'
V --identity globex.example >/dev/null 2>&1; C >/dev/null 2>&1
out=$(decide globex '<b@globex.example>' 'a@globex.example')
check "require_dmarc, two records (no policy): refused" [ "$(reason <<<"$out")" = "From domain globex.example has no usable DMARC record (several records, or one that does not parse); this relay requires one (require_dmarc)" ]
zone_edit example 're.sub(r"(?m)^_dmarc\.globex\.example\..*\n", "", t) + "_dmarc.globex.example.\t3600\tIN\tTXT\t\"v=DMARC1; p=quarantine; adkim=s\"\n"'
V --identity globex.example >/dev/null 2>&1; C >/dev/null 2>&1
out=$(decide globex '<b@globex.example>' 'a@globex.example')
check "require_dmarc, one record: signed again" grep -q '^250 2.0.0 accepted; sign d=globex.example s=g1' <<<"$out"
check "state: adkim=s recorded" grep -q '^dmarc globex.example found s r ' state

# a key replaced in DNS by another: it stops signing at the next compile
"$TA" keygen --alg rsa2048 --domain other.example --selector x --out "$W" >/dev/null 2>&1
other=$(openssl pkey -in "$W/other.example.x.pem" -pubout -outform DER 2>/dev/null | base64 -w0)
zone_edit example "re.sub(r'(?m)^(g1\._domainkey\.globex\.example\.\t3600\tIN\tTXT\t).*$', r'\g<1>\"v=DMARC1; k=rsa; p=$other\"'.replace('DMARC1', 'DKIM1'), t)"
V --identity globex.example >/dev/null 2>&1
check "state: the key no longer published" grep -q '^key globex.example g1 [0-9a-f]\{64\} missing [1-9]' state
C >c2.txt 2>&1
check "compile: says the key no longer signs" grep -q 'key g1 is no longer seen in DNS (tenantalign verify): it does not sign' c2.txt
out=$(decide globex '<b@globex.example>' 'a@globex.example')
check "key gone from DNS: 451 naming it" [ "$(reason <<<"$out")" = "DKIM key d=globex.example s=g1 is not seen published in DNS: publish it (tenantalign dns), then run tenantalign verify" ]

# dns_check off: the identity signs as the source says, whatever DNS says
sed -i 's/identity globex.example { mode domain;/identity globex.example { mode domain; dns_check off;/' tenants.conf
C >/dev/null 2>&1
out=$(decide globex '<b@globex.example>' 'a@globex.example')
check "dns_check off: signed" grep -q '^250 2.0.0 accepted; sign d=globex.example s=g1' <<<"$out"

# a damaged state file: compile refuses it and keeps the store
cp tenants.cdb tenants.keep
head -c 200 state >state.cut
"$TA" compile --state state.cut tenants.conf tenants.cdb >/dev/null 2>c3.txt; rc=$?
check "truncated state: compile exits 2" [ $rc -eq 2 ]
check "truncated state: says where" grep -q 'state file state.cut: line [0-9]*: ' c3.txt
check "truncated state: the store untouched" cmp -s tenants.cdb tenants.keep
"$TA" compile --state nosuch tenants.conf tenants.cdb >/dev/null 2>c4.txt; rc=$?
check "missing state: compile exits 2 and says who writes it" sh -c '[ $0 -eq 2 ] && grep -q "state file nosuch: No such file or directory (tenantalign verify --state writes it)" c4.txt' "$rc"
finish

#!/usr/bin/env bash
# tests/cli/check.sh - `tenantalign check` on the example tenants: verdicts,
# reply text, exit codes, JSON, and our own faults (missing/corrupt store,
# missing or loose key) as tempfails.
. "$(dirname "$0")/../lib.sh"
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
cd "$TOP"

if [ ! -x "$TA" ]; then fail "cli binary missing"; finish; fi
msg() { printf 'From: %s\r\nTo: someone@customer.example\r\nSubject: hello\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\nMessage-ID: <1@x>\r\n\r\nHello.\r\n' "$1"; }

# As written (dns_check on) and with no verify state, no key has been seen in
# DNS: compile keeps them unverified, says so, and the gate tempfails rather
# than pass unsigned. tests/dns/ covers the keys verify has seen.
"$TA" compile examples/tenants.conf "$W/unverified.cdb" >"$W/compile.out" 2>&1
check "compile examples as written: exit 0" [ $? -eq 0 ]
check "compile: each unverified key named" grep -q "warning: tenant acme, identity acme.example: key s1 is not seen in DNS yet (tenantalign verify): it does not sign" "$W/compile.out"
check "compile: the count of keys that do not sign" grep -q "keys: 0 active, 0 pending, 0 retiring, 0 revoked, 3 unverified (not signing)" "$W/compile.out"
out=$(msg news@acme.example | "$TA" check --store "$W/unverified.cdb" --login acme --mail-from '<b@bounces.acme.example>' - 2>/dev/null); rc=$?
check "never-verified keys: 451, exit 2" [ $rc -eq 2 ] && grep -q '^451 4.7.0 ' <<<"$out"
check "never-verified keys: the reason names the key" [ "$(reason <<<"$out")" = "DKIM key d=acme.example s=s1 is not seen published in DNS: publish it (tenantalign dns), then run tenantalign verify" ]
out=$(msg news@acme.example | "$TA" check --store "$W/unverified.cdb" --login acme --mail-from '<b@bounces.acme.example>' --monitor - 2>/dev/null); rc=$?
check "never-verified keys, monitor: accepted unsigned, marked" grep -q '^250 2.0.0 accepted in monitor mode; would refuse: DKIM key d=acme.example s=s1 is not seen' <<<"$out"

# The rest: the examples with dns_check off (no DNS in this test)
{ echo "dns_check off;"; sed "s#\.\./build/keys/#$TOP/build/keys/#" examples/tenants.conf; } >"$W/tenants.conf"
"$TA" compile "$W/tenants.conf" "$W/store.cdb" >"$W/compile.out" 2>&1; rc=$?
[ $rc -eq 0 ] || { cat "$W/compile.out"; fail "compile examples"; finish; }
ok "compile examples/tenants.conf with dns_check off"

# run LOGIN MAILFROM FROM [extra args]: sets out, rc
run() { local l=$1 m=$2 f=$3; shift 3
        out=$(msg "$f" | "$TA" check --store "$W/store.cdb" --login "$l" --mail-from "$m" "$@" - 2>"$W/err"); rc=$?; }

run acme '<b@bounces.acme.example>' 'Acme <news@acme.example>'
check "aligned: exit 0" [ $rc -eq 0 ]
check "aligned: 250 with both keys" grep -q '^250 2.0.0 accepted; sign d=acme.example s=s1 a=rsa-sha256, d=acme.example s=e1 a=ed25519-sha256$' <<<"$out"
check "aligned: log line on stderr" grep -q 'stage=data tenant=acme login=acme stream=transactional qid=- from=acme.example envelope=bounces.acme.example verdict=accept .*signed=acme.example:s1,acme.example:e1 us=' "$W/err"

run acme '<b@bounces.acme.example>' 'ceo@globex.example'
check "spoofed From: exit 1" [ $rc -eq 1 ]
check "spoofed From: Microsoft wording first" [ "$(head -1 <<<"$out")" = "550-5.7.515 Access denied, sending domain globex.example does not meet the required authentication level" ]
check "spoofed From: reason after it" [ "$(reason <<<"$out")" = "From domain globex.example is not a sending domain of tenant acme" ]
check "spoofed From: every line carries the code, none over 75 but the first" every_line_coded 550 5.7.515 "$out"

run acme '<b@mail.other.example>' 'news@acme.example'
check "unaligned envelope: reject with reason" [ "$(reason <<<"$out")" = "envelope sender domain mail.other.example is not aligned with From domain acme.example" ]

run mallory '<b@acme.example>' 'news@acme.example'
check "unknown login: reject" grep -q '^550 5.7.515 login mallory is not a tenant of this relay$' <<<"$out"

run acme '<>' 'news@acme.example'
check "null sender: reject" grep -q 'null sender is not allowed' <<<"$out"

out=$(printf 'From: a@acme.example\r\nFrom: b@globex.example\r\n\r\nx\r\n' | "$TA" check --store "$W/store.cdb" --login acme --mail-from '<a@acme.example>' - 2>/dev/null); rc=$?
check "two From headers: reject" [ $rc -eq 1 ]
check "two From headers: reason" grep -q 'message has 2 From: headers' <<<"$out"

run globex '<b@globex.example>' 'x@globex.example' --json
check "json: valid and accept" python3 -c 'import json,sys; v=json.loads(sys.argv[1]); assert v["action"]=="accept" and v["tenant"]=="globex" and v["sign"][0]["d"]=="globex.example", v' "$out"

run acme '<b@acme.example>' 'x@globex.example' --monitor
check "monitor: accept with would-be reason" grep -q '^250 2.0.0 accepted in monitor mode; would refuse: From domain globex.example' <<<"$out"
check "monitor: exit 0" [ $rc -eq 0 ]

# LF input is read as LF text (--eol auto)
out=$(printf 'From: news@acme.example\nSubject: x\n\nbody\n' | "$TA" check --store "$W/store.cdb" --login acme --mail-from 'b@acme.example' - 2>/dev/null); rc=$?
check "LF message: accept" [ $rc -eq 0 ]

# our faults: tempfail 451, exit 2
out=$(msg news@acme.example | "$TA" check --store "$W/missing.cdb" --login acme --mail-from '<b@acme.example>' - 2>/dev/null); rc=$?
check "missing store: exit 2" [ $rc -eq 2 ]
check "missing store: 451" grep -q '^451[- ]4.7.0 tenant store unavailable' <<<"$out"
head -c 100 /dev/urandom >"$W/corrupt.cdb"
out=$(msg news@acme.example | "$TA" check --store "$W/corrupt.cdb" --login acme --mail-from '<b@acme.example>' - 2>/dev/null); rc=$?
check "corrupt store: exit 2 with 451" [ $rc -eq 2 ] && grep -q '^451 ' <<<"$out"
head -c 2000 "$W/store.cdb" >"$W/trunc.cdb"
out=$(msg news@acme.example | "$TA" check --store "$W/trunc.cdb" --login acme --mail-from '<b@acme.example>' - 2>/dev/null); rc=$?
check "truncated store: exit 2 with 451" [ $rc -eq 2 ] && grep -q '^451 ' <<<"$out"

# a key that vanished after compile: tempfail, never an unsigned pass
mkdir -p "$W/ex/keys"
cp build/keys/acme.example.s1.pem build/keys/acme.example.e1.pem build/keys/globex.example.s1.pem "$W/ex/keys/"
chmod 600 "$W/ex/keys/"*.pem
{ echo "dns_check off;"; sed "s#../build/keys/#keys/#" examples/tenants.conf; } >"$W/ex/tenants.conf"
"$TA" compile "$W/ex/tenants.conf" "$W/ex/store.cdb" >/dev/null 2>&1
rm "$W/ex/keys/acme.example.e1.pem"
out=$(msg news@acme.example | "$TA" check --store "$W/ex/store.cdb" --login acme --mail-from '<b@acme.example>' - 2>/dev/null); rc=$?
check "missing key: exit 2" [ $rc -eq 2 ]
check "missing key: 451 naming the key" grep -q '^451[- ]4.7.0 DKIM key d=acme.example s=e1 unusable' <<<"$out"
chmod 644 "$W/ex/keys/acme.example.s1.pem"
out=$(msg x@globex.example | "$TA" check --store "$W/ex/store.cdb" --login acme --mail-from '<b@acme.example>' - 2>/dev/null)
check "loose key unaffected tenant still decided" grep -q '^550' <<<"$out"
cp build/keys/acme.example.e1.pem "$W/ex/keys/"; chmod 600 "$W/ex/keys/acme.example.e1.pem"
out=$(msg news@acme.example | "$TA" check --store "$W/ex/store.cdb" --login acme --mail-from '<b@acme.example>' - 2>&1); rc=$?
check "world-readable key: tempfail" [ $rc -eq 2 ]
check "world-readable key: key material not printed" bash -c '! grep -q "PRIVATE KEY\|MII" <<<"$1"' _ "$out"

# usage
"$TA" check --help >/dev/null; check "check --help exit 0" [ $? -eq 0 ]
"$TA" check --login x >/dev/null 2>&1; check "check usage error exit 64" [ $? -eq 64 ]
"$TA" --help >/dev/null; check "--help exit 0" [ $? -eq 0 ]
"$TA" frobnicate >/dev/null 2>&1; check "unknown command exit 64" [ $? -eq 64 ]
# --at-mail: the check the adapters make at MAIL FROM, no message read
out=$("$TA" check --store "$W/store.cdb" --login acme --mail-from '<b@paypal.example>' --at-mail 2>"$W/err" </dev/null); rc=$?
check "at-mail: foreign sender refused, exit 1" [ $rc -eq 1 ]
check "at-mail: the adapters' reason" [ "$(reason <<<"$out")" = "envelope sender domain paypal.example is not a domain of tenant acme" ]
check "at-mail: logged as at MAIL FROM" grep -q '^tenantalign: stage=mail tenant=acme login=acme stream=transactional qid=- from=- envelope=paypal.example verdict=reject' "$W/err"
out=$("$TA" check --store "$W/store.cdb" --login acme --mail-from '<b@bounces.acme.example>' --at-mail 2>/dev/null </dev/null); rc=$?
check "at-mail: own sender accepted" test "$rc:$out" = "0:250 2.1.0 sender accepted"

finish

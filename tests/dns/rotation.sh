#!/usr/bin/env bash
# tests/dns/rotation.sh - a whole DKIM key rotation under CNAME delegation,
# step by step, with real parts: knot on 127.0.0.1 serving the customer's
# zone and the provider's CNAME zone, Exim with the plugin, and stock nginx
# with the module in front of a plain Exim. At every step one message goes
# through each adapter and its signature is verified by dkimpy querying
# knot (CNAMEs followed), and by OpenDKIM's library, its DNS hooks pointed
# at the same server: the gate never signs with an unpublished key and
# never stops signing. The customer's zone never changes after onboarding.
# Then a dated selector for an identity with manual TXT records.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib_knot.sh"
. "$TOP/tests/e2e/lib_exim.sh"
. "$TOP/tests/e2e/lib_nginx.sh"
onboard_dir rotation ROTATION_TEST_PORT 3330
EPORT=$((PORT + 4)) RPORT=$((PORT + 6)) NPORT=$((PORT + 8))
trap 'nginx_stop "$W/nginx"; exim_stop "$W/exim"; exim_stop "$W/relay"; knot_stop "$W/knot"; rm -rf "$W"' EXIT
chmod 755 "$W"
cc -O1 -o "$W/odkim" "$TOP/tests/dns/odkim_live.c" -lopendkim -lldns || { fail "build odkim_live"; finish; }
install -d -m 2750 -g Debian-exim keys
"$TA" keygen --alg rsa2048 --domain acme.example --selector s1 --out keys >/dev/null 2>&1
"$TA" keygen --alg rsa2048 --domain globex.example --selector g1 --out keys >/dev/null 2>&1
chmod 640 keys/*.pem
cat >tenants.conf <<'SRC'
provider {
    cname_zone dkim.esp.example;
    return_path_mx mx.esp.example 10;
    spf_include _spf.esp.example;
    egress 192.0.2.10;
    dmarc_rua mailto:dmarc@esp.example;
}
tenant acme { login acme;
    identity acme.example { mode domain; dns cname; return_path bounces.acme.example;
        key s1 { algorithm rsa-sha256; file keys/acme.example.s1.pem; state active; } } }
tenant globex { login globex;
    identity globex.example { mode domain; dns manual;
        key g1 { algorithm rsa-sha256; file keys/globex.example.g1.pem; state active; } } }
SRC
T0=1796000000                       # 2026-11-30: the rotation's clock (--now), days apart
DAY=86400
serial=1
# publish T: the records `dns` plans at time T, loaded into knot
publish() { "$TA" dns --state state --now "$1" tenants.conf >dns.zone && serial=$((serial + 1)) \
            && zones_republish dns.zone "$serial"; }
# gate T: verify, then compile at time T into the store both adapters read
gate() {
    "$TA" verify --server "127.0.0.1:$PORT" --timeout 500 --state state --now "$1" tenants.conf >verify.out 2>&1
    "$TA" compile --quiet --state state --now "$1" tenants.conf store.new 2>compile.err \
        && chgrp Debian-exim store.new && mv store.new "$W/exim/tenants.cdb"
    sleep 1.2                       # the adapters stat the store at most once a second
}
customer_zone() { grep -v 'SOA' "$W/knot/example.zone" | grep 'acme\.example'; }

printf 'tenantalign-state 1\n' >state
exim_setup "$W/exim" "$EPORT" local_scan && exim_setup "$W/relay" "$RPORT" relay || { fail "exim setup"; finish; }
publish "$T0"
knot_start "$W/knot" "$PORT" $ZONES || { fail "knot started"; finish; }
gate "$T0"
exim_start "$W/exim" && exim_start "$W/relay" || { fail "exim started"; finish; }
nginx_setup "$W/nginx" "$NPORT" "$RPORT" "$W/exim/tenants.cdb"
nginx_start "$W/nginx" || { fail "nginx started"; finish; }
customer_zone >customer.0

n=0
# send STEP WANT_SELECTOR: one message through each adapter, signed with that
# selector only, verified by dkimpy against knot
send() {
    local step=$1 want=$2 via port box dir f
    for via in exim nginx; do
        n=$((n + 1))
        printf 'From: news@acme.example\r\nTo: someone@customer.example\r\nSubject: %s %s\r\nMessage-ID: <%s.%s@acme.example>\r\n\r\nHello.\r\n' \
            "$step" "$via" "$n" "$via" >"m$n.eml"
        if [ $via = exim ]; then port=$EPORT dir=$W/exim; else port=$NPORT dir=$W/relay; fi
        box=$(ls "$dir/mail/inbox/new" 2>/dev/null | wc -l)
        reply=$(/usr/bin/python3 "$TOP/tests/e2e/smtp_send.py" --port "$port" --login acme \
                --mail-from b@bounces.acme.example "m$n.eml")
        check "$step, $via: 250" grep -q '^0 DATA 250 ' <<<"$reply" || echo "# $reply"
        exim_wait_delivery "$dir" inbox $((box + 1)) || { fail "$step, $via: delivered"; continue; }
        f=$(grep -l "Message-ID: <$n.$via@" "$dir"/mail/inbox/new/* | head -1)
        sed 's/$/\r/' "$f" >"signed.$n"; f=signed.$n
        check "$step, $via: signed with $want only" \
            sh -c '[ "$(grep -c "^DKIM-Signature:" "$1")" -eq 1 ] && grep -A3 "^DKIM-Signature:" "$1" | grep -q "s=$2;"' _ "$f" "$want"
        out=$(/usr/bin/python3 "$TOP/tests/dns/dkim_live.py" "$PORT" "$f")
        check "$step, $via: dkimpy verifies it against DNS" grep -q '^ok ' <<<"$out" || echo "# $out"
        out=$("$W/odkim" "$PORT" "$f")
        check "$step, $via: OpenDKIM verifies it against DNS" grep -q '^ok ' <<<"$out" || echo "# $out"
    done
}

# 0. onboarded: s1 verified and signing; the customer published once, s2's CNAME included
check "onboarding: verify passes" grep -q '^tenant acme, identity acme.example (dns cname): OK' verify.out
check "onboarding: the customer's CNAME for the next selector is planned" grep -q '^s2\._domainkey\.acme\.example\..*CNAME.*s2\.acme\.example\.dkim\.esp\.example\.' customer.0
send "step 0 (s1 active)" s1
first_s1=signed.$n

# 1. rotate: s2 pending, s1 still signs; the provider publishes s2 in its zone
"$TA" rotate --state state --identity acme.example --now $((T0 + DAY)) tenants.conf >rotate.out 2>&1
check "rotate: s2 pending, replacing s1" grep -q 'rsa-sha256 key s2 is pending (replaces s1)' rotate.out
check "rotate: the provider publishes it, the customer does nothing" \
    sh -c 'grep -q "the provider publishes: s2.acme.example.dkim.esp.example. 3600 IN TXT" rotate.out && grep -q "customer: nothing to do" rotate.out'
check "rotate: the new key readable by the daemons' group" sh -c '[ "$(stat -c %G:%a keys/acme.example.s2.*.pem)" = Debian-exim:640 ]'
"$TA" rotate --state state --identity acme.example --now $((T0 + DAY)) tenants.conf >rotate2.out 2>&1; rc=$?
check "rotate again while pending: refused (exit 1)" sh -c '[ $0 -eq 1 ] && grep -q "key s2 is pending: one rotation at a time" rotate2.out' "$rc"
gate $((T0 + DAY))
send "step 1 (s2 pending, not yet published)" s1
publish $((T0 + DAY))
send "step 1 (s2 published by the provider)" s1
check "step 1: the customer's zone unchanged" sh -c 'customer_zone() { grep -v SOA "$1/knot/example.zone" | grep "acme\.example"; }; customer_zone "$1" | cmp -s - customer.0' _ "$W"

# 2. verify sees s2: it signs; s1 retires (still published: mail signed with it verifies)
gate $((T0 + DAY + 3600))
check "step 2: verify saw s2" grep -q '^key acme.example s2 [0-9a-f]* published ' state
send "step 2 (s2 active, s1 retiring)" s2
out=$(/usr/bin/python3 "$TOP/tests/dns/dkim_live.py" "$PORT" "$first_s1")
check "step 2: mail signed with s1 at step 0 still verifies" grep -q '^ok ' <<<"$out"
check "step 2: ... for OpenDKIM too" sh -c '"$0" "$1" "$2" >/dev/null' "$W/odkim" "$PORT" "$first_s1"
"$TA" dns --state state --now $((T0 + DAY + 3600)) --format text tenants.conf >dns2.txt
check "step 2: dns says s1 is retiring" grep -q 'retiring: keep it published' dns2.txt

# 3. the retiring window (7 days) is over: s1 revoked (p=), reported safe to remove
publish $((T0 + 9 * DAY))
gate $((T0 + 9 * DAY))
send "step 3 (s1 revoked)" s2
check "step 3: s1 published as p=" grep -q '^s1\.acme\.example\.dkim\.esp\.example\..*"v=DKIM1; k=rsa; p="' dns.zone
check "step 3: verify: revoked key safe to remove" grep -q 'dkim s1 .*safe to remove from DNS' verify.out
out=$(/usr/bin/python3 "$TOP/tests/dns/dkim_live.py" "$PORT" "$first_s1")
check "step 3: mail signed with the revoked s1 no longer verifies" grep -q '^FAIL ' <<<"$out"
check "step 3: ... for OpenDKIM neither" sh -c '"$0" --expect-fail "$1" "$2" >/dev/null' "$W/odkim" "$PORT" "$first_s1"
check "step 3: the customer's zone still unchanged" sh -c 'grep -v SOA "$1/knot/example.zone" | grep "acme\.example" | cmp -s - customer.0' _ "$W"

# 4. the next rotation takes s1 again (alternation), without the customer
"$TA" rotate --state state --identity acme.example --now $((T0 + 30 * DAY)) tenants.conf >rotate3.out 2>&1
check "next rotation: s1 again, replacing s2" grep -q 'rsa-sha256 key s1 is pending (replaces s2)' rotate3.out
gate $((T0 + 30 * DAY))
send "step 4 (new s1 pending, unpublished)" s2

# manual TXT: a dated selector, and the customer publishes it
"$TA" rotate --state state --identity globex.example --now $((T0 + DAY)) tenants.conf >rotate4.out 2>&1
check "manual: dated selector" grep -q 'rsa-sha256 key 20261201 is pending (replaces g1)' rotate4.out
check "manual: the customer publishes it" grep -q 'the customer publishes: 20261201._domainkey.globex.example. 3600 IN TXT' rotate4.out
check "no logged private key material" sh -c '! grep -rq "PRIVATE KEY" "$1"/exim/log "$1"/relay/log "$1"/nginx/logs verify.out compile.err rotate*.out' _ "$W"
finish

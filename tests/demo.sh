#!/usr/bin/env bash
# tests/demo.sh - the demo behind `./build.sh demo`: the example tenants'
# DNS records (tenantalign dns) served by a real authoritative server (knot
# on 127.0.0.1), checked by tenantalign verify, whose results compile folds
# into the store; then a real Exim relay with the tenantalign plugin on
# 127.0.0.1: one aligned message signed and delivered, its signatures
# verified by dkimpy against that DNS, one spoofed message refused with 550
# 5.7.515. Then the same two messages through Debian's nginx mail proxy with
# ngx_mail_tenantalign_module, in front of a plain Exim relay.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/e2e/lib_exim.sh"
. "$(dirname "$0")/e2e/lib_nginx.sh"
. "$(dirname "$0")/dns/lib_knot.sh"
W=$TOP/build/demo
PORT=${DEMO_PORT:-2700}
DNSPORT=$((PORT + 20))
rm -rf "$W"; mkdir -p "$W"; chmod 755 "$W"
trap 'exim_stop "$W/exim"; exim_stop "$W/relay"; nginx_stop "$W/nginx"; knot_stop "$W/knot"' EXIT
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
status=0

say "Onboarding: the records examples/tenants.conf needs (tenantalign dns), for the customers and the provider"
"$TA" dns examples/tenants.conf >"$W/records.zone" || status=1
grep -v '^;' "$W/records.zone" | grep -v '^$' | cut -c1-110 | sed 's/^/   /'
zones_from "$W/records.zone" "$W/knot"
knot_start "$W/knot" "$DNSPORT" $ZONES || { echo "knot did not start"; exit 1; }
say "Published by knot on 127.0.0.1:$DNSPORT; tenantalign verify --state, then compile --state"
"$TA" verify --server "127.0.0.1:$DNSPORT" --state "$W/state" examples/tenants.conf >"$W/verify.txt"
echo "   verify exit $?:"; grep -E '^tenant|^ +(FAIL|WARN)' "$W/verify.txt" | sed 's/^/   /'
"$TA" compile --state "$W/state" examples/tenants.conf "$W/tenants.cdb" | sed 's/^/   /'
export TA_STATE=$W/state        # the relays below compile their copies with it
exim_setup "$W/exim" "$PORT" local_scan && exim_start "$W/exim" || { echo "Exim did not start"; exit 1; }
echo "Exim $(exim4 -bV 2>/dev/null | head -1 | awk '{print $3}') relay with tenantalign_exim.so listening on 127.0.0.1:$PORT"

cat >"$W/aligned.eml" <<MSG
From: Acme News <news@acme.example>
To: Someone <someone@customer.example>
Subject: Your November statement
Date: $(date -R)
Message-ID: <demo.$$@acme.example>

Hello, your statement is ready.
MSG
sed 's/Acme News <news@acme.example>/"Globex CEO" <ceo@globex.example>/' "$W/aligned.eml" >"$W/spoofed.eml"

say "1. Tenant acme sends as acme.example (aligned): expect 250, signed"
swaks --server 127.0.0.1 --port "$PORT" --auth PLAIN --auth-user acme --auth-password secret \
      --from bounce@bounces.acme.example --to someone@customer.example --data "$W/aligned.eml" \
      2>&1 | grep -E '^ *(<-|->|<\*\*) *(MAIL|RCPT|DATA|AUTH|[0-9]{3})' | grep -v -- '-> *[A-Za-z0-9+/=]*$' | sed 's/^/   /'
if exim_wait_delivery "$W/exim" inbox 1; then
    f=$(ls "$W"/exim/mail/inbox/new/* | head -1)
    echo "   delivered: $f"
    sed -n '/^DKIM-Signature/,/^From:/p' "$f" | sed 's/^/   | /'
    sed 's/$/\r/' "$f" >"$W/delivered.eml"
    echo "   independent check (dkimpy, keys looked up in the DNS above):"
    /usr/bin/python3 tests/dns/dkim_live.py "$DNSPORT" "$W/delivered.eml" | sed 's/^/   /' || status=1
else
    echo "   NOT delivered"; status=1
fi

say "2. Tenant acme sends as globex.example (spoofed): expect 550 5.7.515"
out=$(swaks --server 127.0.0.1 --port "$PORT" --auth PLAIN --auth-user acme --auth-password secret \
      --from bounce@bounces.acme.example --to someone@customer.example --data "$W/spoofed.eml" 2>&1)
grep -E '^ *(<-|->|<\*\*) *(MAIL|RCPT|DATA|[0-9]{3})' <<<"$out" | grep -v '^ *<-  250-' | sed 's/^/   /'
grep -q '5.7.515 Access denied, sending domain globex.example does not meet the required authentication level' <<<"$out" || status=1

say "Exim's log: one line per decision"
grep 'tenantalign:' "$(exim_mainlog "$W/exim")" | sed 's/^/   /'

if [ -f "$NGINX_SO" ]; then
    say "3. The same through Debian's nginx mail proxy with ngx_mail_tenantalign_module"
    exim_setup "$W/relay" $((PORT + 12)) relay && exim_start "$W/relay" || status=1
    nginx_setup "$W/nginx" $((PORT + 10)) $((PORT + 12)) "$W/relay/tenants.cdb" enforce
    nginx_start "$W/nginx" || { echo "   nginx did not start"; status=1; }
    echo "   nginx on 127.0.0.1:$((PORT + 10)) -> Exim relay (no plugin) on 127.0.0.1:$((PORT + 12))"
    out=$(swaks --server 127.0.0.1 --port $((PORT + 10)) --auth PLAIN --auth-user acme --auth-password secret \
          --from bounce@bounces.acme.example --to someone@customer.example --data "$W/aligned.eml" 2>&1)
    grep -E '^ *(<-|->|<\*\*) *(MAIL|RCPT|DATA|[0-9]{3})' <<<"$out" | grep -v '^ *<-  250-' | sed 's/^/   /'
    if exim_wait_delivery "$W/relay" inbox 1; then
        sed 's/$/\r/' "$(ls "$W"/relay/mail/inbox/new/* | head -1)" >"$W/via-nginx.eml"
        /usr/bin/python3 tests/dns/dkim_live.py "$DNSPORT" "$W/via-nginx.eml" | sed 's/^/   /' || status=1
    else
        echo "   NOT delivered"; status=1
    fi
    out=$(swaks --server 127.0.0.1 --port $((PORT + 10)) --auth PLAIN --auth-user acme --auth-password secret \
          --from bounce@bounces.acme.example --to someone@customer.example --data "$W/spoofed.eml" 2>&1)
    grep -E '^ *<\*\* ' <<<"$out" | sed 's/^/   /'
    grep -q '5.7.515 Access denied, sending domain globex.example does not meet the required authentication level' <<<"$out" || status=1
    echo "   nginx's log:"
    grep -o 'tenantalign: .* while' "$W/nginx/logs/error.log" | sed 's/ while$//; s/^/   /'
fi

say "4. What the operator's Prometheus sees: tenantalign stats (both adapters' counter tables)"
tables=(--counters "$W/exim/counters/exim.counters")
[ -f "$W/nginx/counters/nginx.counters" ] && tables+=(--counters "$W/nginx/counters/nginx.counters")
"$TA" stats --prometheus "${tables[@]}" | grep '^tenantalign_messages_total' | sed 's/^/   /' || status=1

say "$( [ $status -eq 0 ] && echo 'demo OK' || echo 'demo FAILED' )"
exit $status

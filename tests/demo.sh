#!/usr/bin/env bash
# tests/demo.sh - the demo behind `./build.sh demo`: a real Exim relay with
# the tenantalign plugin on 127.0.0.1, the example tenant acme, one aligned
# message signed and delivered, one spoofed message refused with 550 5.7.515.
# Then the same two messages through Debian's nginx mail proxy with
# ngx_mail_tenantalign_module, in front of a plain Exim relay.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/e2e/lib_exim.sh"
. "$(dirname "$0")/e2e/lib_nginx.sh"
W=$TOP/build/demo
PORT=${DEMO_PORT:-2700}
rm -rf "$W"; mkdir -p "$W"; chmod 755 "$W"
trap 'exim_stop "$W/exim"; exim_stop "$W/relay"; nginx_stop "$W/nginx"' EXIT
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
status=0

say "Tenant source (examples/tenants.conf), compiled to a store"
"$TA" compile examples/tenants.conf "$W/tenants.cdb"
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
    for k in s1 e1; do tests/dkim/pubdns $k acme.example "$W/exim/keys/acme.example.$k.pem"; done >"$W/dns"
    sed 's/$/\r/' "$f" >"$W/delivered.eml"
    echo "   independent check (dkimpy, keys given offline):"
    tests/dkim/verify_dkimpy.py "$W/dns" "$W/delivered.eml" | sed 's/^/   /' || status=1
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
        for k in s1 e1; do tests/dkim/pubdns $k acme.example "$W/relay/keys/acme.example.$k.pem"; done >"$W/dns2"
        tests/dkim/verify_dkimpy.py "$W/dns2" "$W/via-nginx.eml" | sed 's/^/   /' || status=1
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

say "$( [ $status -eq 0 ] && echo 'demo OK' || echo 'demo FAILED' )"
exit $status

#!/usr/bin/env bash
# tests/e2e/hold_e2e.sh - pause, resume, suspend and unsuspend through both
# adapters, with a real retrying client: a tenant's own Exim, relaying to
# the gate with SMTP AUTH through a smarthost route, as an ESP's customer
# would. Paused: 451 4.7.1 with the reason at MAIL FROM, the message stays
# in the client's queue; resumed: the client's next queue run delivers it,
# exactly once. Suspended: 550 5.7.1, bounced by the client. An identity
# held alone, the rest of the tenant unaffected. Changes take effect in
# running processes within about a second (no restart, no compile).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib_exim.sh"
. "$(dirname "$0")/lib_nginx.sh"
P=${HOLD_TEST_PORT:-2760}
W=$(mktemp -d /tmp/ta-hold.XXXXXX)
trap 'nginx_stop "$W/n"; exim_stop "$W/a"; exim_stop "$W/up"; [ -n "${KEEP:-}" ] || rm -rf "$W"' EXIT
chmod 755 "$W"
exim_setup "$W/a" "$P" local_scan && exim_start "$W/a" || { fail "exim with the plugin"; finish; }
exim_setup "$W/up" $((P + 4)) relay && exim_start "$W/up" || { fail "upstream exim"; finish; }
STORE=$W/a/tenants.cdb
nginx_setup "$W/n" $((P + 2)) $((P + 4)) "$STORE" enforce
nginx_start "$W/n" || { fail "nginx started"; finish; }

# client NAME PORT: the tenant's own Exim (queue only, no daemon), with a
# smarthost route to the gate on PORT and AUTH PLAIN as acme
client() {
    local d=$W/$1
    mkdir -p "$d/spool" "$d/log"
    cat >"$d/exim.conf" <<CONF
primary_hostname = client.acme.example
spool_directory = $d/spool
log_file_path = $d/log/%slog
never_users =
trusted_users = root
host_lookup =
begin routers
gate:
  driver = manualroute
  route_list = * 127.0.0.1::$2
  self = send
  transport = to_gate
begin transports
to_gate:
  driver = smtp
  hosts_require_auth = *
  hosts_avoid_tls = *
begin retry
* * F,1d,1m
begin authenticators
plain:
  driver = plaintext
  public_name = PLAIN
  client_send = ^acme^secret
CONF
    chown -R Debian-exim:Debian-exim "$d/spool" "$d/log"
}
# submit NAME FROM: a message into the client's queue (not sent yet)
submit() {
    printf 'From: %s\nTo: someone@customer.example\nSubject: held %s\nMessage-ID: <%s.%s@acme.example>\n\nHello.\n' \
        "$2" "$RANDOM" "$RANDOM" "$1" | /usr/sbin/exim4 -C "$W/$1/exim.conf" -odq -f bounce@bounces.acme.example someone@customer.example
}
queue_run() { /usr/sbin/exim4 -C "$W/$1/exim.conf" -qff 2>/dev/null; sleep 0.5; }
# queued NAME: the tenant's messages in the client's queue (not its bounces)
queued() { /usr/sbin/exim4 -C "$W/$1/exim.conf" -bp | grep -c '<bounce@bounces.acme.example>'; }
# told NAME TEXT: the client's log has the gate's reply (multi-line replies
# are logged with their lines joined by a literal \n)
told() { grep -qF "$2" "$W/$1/log/mainlog"; }
delivered() { ls "$1/mail/inbox/new" 2>/dev/null | wc -l; }
hold() { "$TA" "$@" --store "$STORE" >/dev/null && sleep 1.1; }     # the adapters look once a second

client via_exim "$P"
client via_nginx $((P + 2))

for via in via_exim via_nginx; do
    [ $via = via_exim ] && box=$W/a || box=$W/up
    n0=$(delivered "$box")
    hold pause --tenant acme --reason "billing overdue: call support"
    submit $via news@acme.example
    queue_run $via
    check "$via: paused: the message stays in the client's queue" [ "$(queued $via)" -eq 1 ]
    check "$via: paused: the client was told 451 4.7.1 with the reason" \
        told $via '451-4.7.1 tenant acme is paused by the provider:\n451 4.7.1 billing overdue: call support' 
    check "$via: paused: nothing delivered" [ "$(delivered "$box")" -eq "$n0" ]
    hold resume --tenant acme
    queue_run $via
    check "$via: resumed: the client's retry delivered it" exim_wait_delivery "$box" inbox $((n0 + 1)) 10
    check "$via: resumed: the client's queue is empty" [ "$(queued $via)" -eq 0 ]
    sleep 0.5
    check "$via: resumed: delivered exactly once" [ "$(delivered "$box")" -eq $((n0 + 1)) ]

    # suspended: refused for good, the client bounces it
    hold suspend --tenant acme --reason "abuse report 4711"
    submit $via news@acme.example
    queue_run $via
    check "$via: suspended: 550 5.7.1 with the reason" \
        told $via '550 5.7.1 tenant acme is suspended by the provider: abuse report 4711'
    check "$via: suspended: bounced by the client, not queued" \
        sh -c '[ "$1" -eq 0 ] && grep -q "\*\* someone@customer.example R=gate" "$2"' _ "$(queued $via)" "$W/$via/log/mainlog"
    hold unsuspend --tenant acme

    # one identity held: the rest of the tenant goes on
    n1=$(delivered "$box")
    hold pause --tenant acme --identity acme.example --reason "DNS being fixed"
    submit $via news@acme.example
    queue_run $via
    check "$via: identity paused: 451 4.7.1 naming it" \
        told $via '451-4.7.1 sending as acme.example is paused\n451 4.7.1 by the provider: DNS being fixed' 
    check "$via: identity paused: still queued" [ "$(queued $via)" -eq 1 ]
    hold resume --tenant acme --identity acme.example
    queue_run $via
    check "$via: identity resumed: delivered" exim_wait_delivery "$box" inbox $((n1 + 1)) 10
done

# the gate's own log: one line per decision, with the reason
check "the gate's log says why it held the mail" grep -q 'verdict=tempfail class=paused code="451 4.7.1" reason="tenant acme is paused by the provider: billing overdue: call support"' "$(exim_mainlog "$W/a")"
# a damaged hold file: who is suspended cannot be told, so 451 for everyone
printf 'tenantalign-hold 1\npause acme' >"$STORE.hold"
sleep 1.1
r=$(/usr/bin/python3 "$TOP/tests/e2e/smtp_send.py" --port "$P" --login acme --mail-from bounce@bounces.acme.example <(printf 'From: news@acme.example\r\n\r\nx\r\n'))
check "damaged hold file: 451 naming it" bash -c 'grep -q "^0 MAIL 451 4.7.0 hold file " <<<"$1" && grep -q "truncated" <<<"$1"' _ "$r"
rm -f "$STORE.hold"
sleep 1.1
r=$(/usr/bin/python3 "$TOP/tests/e2e/smtp_send.py" --port "$P" --login acme --mail-from bounce@bounces.acme.example <(printf 'From: news@acme.example\r\n\r\nx\r\n'))
check "no hold file: nobody held" grep -q '^0 DATA 250' <<<"$r"
check "every log line parses" /usr/bin/python3 "$TOP/tests/e2e/log_tally.py" "$(exim_mainlog "$W/a")" "$W/n/logs/error.log"
finish

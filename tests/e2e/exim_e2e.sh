#!/usr/bin/env bash
# tests/e2e/exim_e2e.sh - the Exim plugin in a real private Exim on
# 127.0.0.1 (Debian's exim4-daemon-heavy), driven by swaks and smtplib:
# aligned mail delivered and its signatures verified by dkimpy, Mail::DKIM
# and OpenDKIM; every refusal class 550 5.7.515 with nothing delivered; our
# faults 451 with Exim still running; store replaced live; monitor mode;
# several messages per session; MAIL FROM refused early; the DATA-ACL
# dlfunc; one log line per decision.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib_exim.sh"
. "$(dirname "$0")/lib_cases.sh"
[ -x /usr/sbin/exim4 ] || { skip "exim e2e" "exim4-daemon-heavy not installed"; finish; }
[ -f "$EXIM_SO" ] || { fail "exim plugin not built ($EXIM_SO)"; finish; }
W=$(mktemp -d /tmp/ta-exim.XXXXXX); chmod 755 "$W"   # Exim drops to Debian-exim
PORT=${EXIM_TEST_PORT:-2525}
trap 'exim_stop "$W/a"; exim_stop "$W/b"; [ -n "${KEEP:-}" ] || rm -rf "$W"' EXIT
D=$TOP/tests/dkim
SEND="/usr/bin/python3 $TOP/tests/e2e/smtp_send.py --port $PORT"

msg() { make_msg "$@"; }
delivered() { ls "$W/a/mail/inbox/new" 2>/dev/null | wc -l; }

exim_setup "$W/a" "$PORT" local_scan || { fail "exim setup"; finish; }
exim_start "$W/a" || { fail "exim start"; finish; }
ok "private Exim with the plugin started on 127.0.0.1:$PORT"
for k in s1 e1; do "$D/pubdns" $k acme.example "$W/a/keys/acme.example.$k.pem"; done >"$W/dns"
"$D/pubdns" s1 globex.example "$W/a/keys/globex.example.s1.pem" >>"$W/dns"
cc -O1 -o "$W/odkim" "$D/odkim_verify.c" -lopendkim

# 1. aligned mail, sent with swaks, delivered and signed by both keys
msg "$W/ok.eml" 'Acme News <news@acme.example>'
out=$(swaks --server 127.0.0.1 --port "$PORT" --auth PLAIN --auth-user acme --auth-password secret \
      --from bounce@bounces.acme.example --to someone@customer.example --data "$W/ok.eml" 2>&1)
check "aligned: swaks gets 250" grep -q '^<-  250 OK id=' <<<"$out"
check "aligned: delivered" exim_wait_delivery "$W/a" inbox 1
f=$(ls "$W"/a/mail/inbox/new/* | head -1)
sed 's/$/\r/' "$f" >"$W/delivered.eml"
check "aligned: two signatures at the top (above Received)" \
    bash -c 'grep -n "^DKIM-Signature\|^Received" "$1" | head -3 | tr "\n" " " | grep -q "DKIM-Signature.*DKIM-Signature.*Received"' _ "$W/delivered.eml"
check "aligned: rsa then ed25519, d=acme.example" bash -c 'grep -A1 "^DKIM-Signature" "$1" | tr -d "\r\n" | grep -q "a=rsa-sha256.*d=acme.example.*a=ed25519-sha256.*d=acme.example"' _ "$W/delivered.eml"
check "delivered copy: dkimpy verifies" "$D/verify_dkimpy.py" "$W/dns" "$W/delivered.eml"
check "delivered copy: Mail::DKIM verifies (rsa)" "$D/verify_maildkim.pl" "$W/dns" "$W/delivered.eml"
check "delivered copy: OpenDKIM verifies" "$W/odkim" "$W/dns" "$W/delivered.eml"
check "log: one line with tenant, domains, verdict, d=/s=, time" grep -q \
    'tenantalign: stage=data tenant=acme login=acme stream=transactional qid=[0-9A-Za-z-]* from=acme.example envelope=bounces.acme.example verdict=accept code="250 2.0.0" signed=acme.example:s1,acme.example:e1 us=[0-9]' "$(exim_mainlog "$W/a")"

# 2. refusals at DATA: 550 5.7.515 with the reason, nothing delivered
n0=$(delivered)
refuse() {  # refuse NAME MAILFROM FROM-VALUE REASON [extra headers]
    local name=$1 mf=$2 from=$3 reason=$4; shift 4
    msg "$W/r.eml" "$from" "$@"
    local r; r=$($SEND --login acme --mail-from "$mf" "$W/r.eml")
    # smtp_send.py reads raw lines: every line's codes checked, then "550 5.7.515 first | reason"
    if grep -q "550 5.7.515 Access denied, sending domain .* does not meet the required authentication level | .*$reason" <<<"$r"; then
        ok "$name: 550 5.7.515 with reason"
    else
        fail "$name: got [$r]"
    fi
}
refuse "spoofed From" bounce@acme.example 'ceo@globex.example' 'From domain globex.example is not a sending domain of tenant acme'
refuse "look-alike From" bounce@acme.example 'ceo@evilacme.example' 'not a sending domain of tenant acme'
refuse "two From headers" bounce@acme.example 'news@acme.example' 'message has 2 From: headers' 'From: ceo@globex.example'
refuse "From list" bounce@acme.example 'news@acme.example, ceo@globex.example' 'more than one mailbox'
refuse "group syntax" bounce@acme.example 'g: ceo@globex.example;' 'group syntax'
refuse "display-name address" bounce@acme.example 'ceo@globex.example <news@acme.example>' 'display name contains an address'
refuse "route syntax" bounce@acme.example '<@acme.example:ceo@globex.example>' 'source route'
refuse "comment address" bounce@acme.example 'ceo@globex.example (news@acme.example)' 'comment contains address syntax'
refuse "encoded-word address" bounce@acme.example '=?utf-8?q?ceo=40globex.example?= <news@acme.example>' 'encoded-word hides an address'
refuse "unbalanced quote" bounce@acme.example '"news <news@acme.example>' 'unbalanced quote'
refuse "foreign pre-signature" bounce@acme.example 'news@acme.example' 'DKIM-Signature for d=evil.example' 'DKIM-Signature: v=1; a=rsa-sha256; d=evil.example; s=x; h=from; bh=x; b=y'
refuse "From : with space" bounce@acme.example 'news@acme.example' 'message header:' 'From : ceo@globex.example'
check "refusals: nothing delivered" [ "$(delivered)" -eq "$n0" ]

# 3. refusals at MAIL FROM (the dlfunc), before any data
r=$($SEND --login acme --mail-from bounce@mail.other.example "$W/ok.eml")
# Exim splits ACL messages longer than ~75 characters over several lines
check "unaligned envelope: refused at MAIL with 550 5.7.515" grep -q '^0 MAIL 550 5.7.515 Access denied, sending domain mail.other.example does not meet the required authentication level | envelope sender domain mail.other.example is not a domain of tenant' <<<"$r"
r=$($SEND --login mallory --mail-from news@acme.example "$W/ok.eml")
check "unknown login: refused at MAIL" grep -q '^0 MAIL 550 5.7.515 .*login mallory is not a tenant of this relay' <<<"$r"
r=$($SEND --login acme --mail-from '<>' "$W/ok.eml")
check "null sender: refused at MAIL" grep -q '^0 MAIL 550 5.7.515 .*null sender is not allowed for tenant acme' <<<"$r"
# (a source route in MAIL FROM is stripped by Exim itself, RFC 5321 appendix C:
#  the envelope that travels is the bare address, which the plugin then checks)
check "MAIL refusals: nothing delivered" [ "$(delivered)" -eq "$n0" ]

# 4. several messages in one session: accept, refuse, accept
msg "$W/m1.eml" 'news@acme.example'; msg "$W/m2.eml" 'ceo@globex.example'; msg "$W/m3.eml" 'billing@acme.example'
r=$($SEND --login acme --mail-from bounce@bounces.acme.example "$W/m1.eml" "$W/m2.eml" "$W/m3.eml")
check "one session: 250, 550, 250" bash -c 'grep -q "^0 DATA 250" <<<"$1" && grep -q "^1 DATA 550 5.7.515" <<<"$1" && grep -q "^2 DATA 250" <<<"$1"' _ "$r"
check "one session: two delivered" exim_wait_delivery "$W/a" inbox $((n0 + 2))

# 5. the store replaced while the daemon runs: the next connection uses it
sed -i 's/login globex;/login globex2;/' "$W/a/tenants.src"
"$TA" compile --quiet "$W/a/tenants.src" "$W/a/tenants.new" && chgrp Debian-exim "$W/a/tenants.new" && mv "$W/a/tenants.new" "$W/a/tenants.cdb"
sleep 1.1
msg "$W/g.eml" 'news@globex.example'
r=$($SEND --login globex --mail-from b@globex.example "$W/g.eml")
check "store replaced: old login now unknown" grep -q 'login globex is not a tenant' <<<"$r"
r=$($SEND --login globex2 --mail-from b@globex.example "$W/g.eml")
check "store replaced: new login accepted" grep -q '^0 DATA 250' <<<"$r"

# 6. our faults: 451, nothing lost, Exim keeps running
cp "$W/a/tenants.cdb" "$W/tenants.good"
head -c 3000 /dev/urandom >"$W/a/tenants.bad" && chgrp Debian-exim "$W/a/tenants.bad" && mv "$W/a/tenants.bad" "$W/a/tenants.cdb"
sleep 1.1
r=$($SEND --login acme --mail-from bounce@acme.example "$W/ok.eml")
check "corrupt store: 451 (at MAIL)" grep -q '^0 MAIL 451 4.7.0 tenant store unavailable' <<<"$r"
check "corrupt store: the reason in Exim's main log" grep -q 'tenantalign: store .*tenants.cdb is truncated or not a tenant store' "$W/a/log/mainlog"
check "corrupt store: and in its panic log" grep -q 'tenantalign: store .*tenants.cdb is truncated or not a tenant store' "$W/a/log/paniclog"
cp "$W/tenants.good" "$W/a/tenants.cdb"
sleep 1.1
mv "$W/a/keys/acme.example.e1.pem" "$W/a/keys/e1.away"
sleep 1.1                   # key files are looked at once a second
n1=$(delivered)
r=$($SEND --login acme --mail-from bounce@acme.example "$W/ok.eml")
check "missing key: 451 naming the key" grep -q '^0 DATA 451 4.7.0 DKIM key d=acme.example s=e1 unusable' <<<"$r"
mv "$W/a/keys/e1.away" "$W/a/keys/acme.example.e1.pem"
r=$($SEND --login acme --mail-from bounce@acme.example "$W/ok.eml")
check "after our faults: Exim still running and accepting" grep -q '^0 DATA 250' <<<"$r"
check "missing key: the 451 message was not delivered" exim_wait_delivery "$W/a" inbox $((n1 + 1))
sleep 0.5
check "missing key: exactly one new delivery" [ "$(delivered)" -eq $((n1 + 1)) ]

# 7. monitor mode: accepted, marked, logged
exim_mode "$W/a" monitor
msg "$W/mon.eml" 'ceo@globex.example'
r=$($SEND --login acme --mail-from bounce@acme.example "$W/mon.eml")
check "monitor: spoofed From accepted" grep -q '^0 DATA 250' <<<"$r"
exim_wait_delivery "$W/a" inbox $((n1 + 2))
check "monitor: X-Tenantalign header says why" grep -rq 'X-Tenantalign: monitor; would refuse: From domain globex.example' "$W/a/mail/inbox/new"
check "monitor: logged as a monitored accept" grep -q 'verdict=accept monitor=yes class=from_not_owned code="250 2.0.0" reason="From domain globex.example' "$(exim_mainlog "$W/a")"
exim_mode "$W/a" enforce

# 8. the DATA-ACL dlfunc, for Exims without local_scan_path
PORT2=$((PORT + 1))
exim_setup "$W/b" "$PORT2" data_acl && exim_start "$W/b" || fail "second exim"
r=$(/usr/bin/python3 "$TOP/tests/e2e/smtp_send.py" --port "$PORT2" --login acme --mail-from bounce@mail.other.example "$W/ok.eml")
check "data ACL: unaligned envelope 550 5.7.515 at DATA" grep -q '^0 DATA 550 5.7.515 Access denied.* | envelope sender domain mail.other.example is not aligned with From' <<<"$r"
r=$(/usr/bin/python3 "$TOP/tests/e2e/smtp_send.py" --port "$PORT2" --login acme --mail-from bounce@acme.example "$W/ok.eml")
check "data ACL: aligned accepted" grep -q '^0 DATA 250' <<<"$r"
if exim_wait_delivery "$W/b" inbox 1; then
    sed 's/$/\r/' "$(ls "$W"/b/mail/inbox/new/* | head -1)" >"$W/b.eml"
    check "data ACL: delivered copy verified by dkimpy" "$D/verify_dkimpy.py" "$W/dns" "$W/b.eml"
    check "data ACL: delivered copy verified by OpenDKIM" "$W/odkim" "$W/dns" "$W/b.eml"
else
    fail "data ACL: delivered"
fi

# 8b. the cases both adapters share (tests/e2e/lib_cases.sh): the envelope
# rewrite, raw reply lines at MAIL FROM and at DATA, smuggled MAIL lines
cases_rewrite_tenant "$W/a" "$W/dns"
case_rewrite exim "$PORT" "$W/a" "$(exim_mainlog "$W/a")" "$W/dns"
case_replies exim "$PORT" "$W/a" "$(exim_mainlog "$W/a")"
n2=$(delivered)

# 9. local submissions are left alone (not SMTP AUTH)
printf 'From: ceo@globex.example\nSubject: local\n\nhi\n' | TENANTALIGN_CONF=$W/a/tenantalign.conf \
    /usr/sbin/exim4 -C "$W/a/exim.conf" -odi -f root@relay.tenantalign.test someone@customer.example 2>/dev/null
check "local submission: not policed, delivered" exim_wait_delivery "$W/a" inbox $((n2 + 1))

# 9b. police_local = yes: a session without SMTP AUTH is policed, and
# refused at MAIL FROM with a reason that says so (no empty login)
sed -i 's/^police_local = no$/police_local = yes/' "$W/a/tenantalign.conf"
r=$($SEND --mail-from bounce@bounces.acme.example "$W/ok.eml" 2>&1)
check "police_local: unauthenticated refused at MAIL, exact raw reply" [ "$r" = "0 MAIL 550 5.7.515 Access denied, sending domain bounces.acme.example does not meet the required authentication level | no SMTP AUTH login: the message was not authenticated" ]
check "police_local: logged with login=-" grep -q \
    'tenantalign: stage=mail tenant=- login=- stream=- qid=- from=- envelope=bounces.acme.example verdict=reject class=no_login code="550 5.7.515" reason="no SMTP AUTH login: the message was not authenticated"' "$(exim_mainlog "$W/a")"
sed -i 's/^police_local = yes$/police_local = no/' "$W/a/tenantalign.conf"

# 9c. a comment after a value (the file takes whole-line comments only):
# every policed message tempfails, the reply naming the line and the value
# (the last line: the counter table is read before it, and counts the 451)
sed -i 's/^log_format = kv$/log_format = kv      # or json/' "$W/a/tenantalign.conf"
r=$($SEND --login acme --mail-from bounce@bounces.acme.example "$W/ok.eml" 2>&1)
check "tenantalign.conf, a comment after a value: 451 at MAIL naming line and value" bash -c \
    'grep -q "^0 MAIL 451 4.7.0 " <<<"$1" && grep -q "tenantalign.conf:[0-9]*: unknown key or bad value: log_format = .kv *# or json. (a comment must be a line of its own)" <<<"${1//| /}"' _ "$r"
sed -i 's/^log_format = kv      # or json$/log_format = kv/' "$W/a/tenantalign.conf"

# 10. the daemon preloads the plugin, OpenSSL and the store's keys before it
# forks: connections still sign (with the keys parsed in the daemon)
exim_stop "$W/a"; sleep 0.3
sed -i "s|^message_size_limit = .*|&\nsmtp_accept_max_per_host = \${dlfunc{$EXIM_SO}{tenantalign_preload}{0}{keys}}|" "$W/a/exim.conf"
exim_start "$W/a" || fail "exim with the preload started"
n3=$(delivered)
r=$($SEND --login acme --mail-from bounce@bounces.acme.example "$W/ok.eml" "$W/ok.eml")
check "preload (keys): two messages accepted" bash -c 'grep -q "^0 DATA 250" <<<"$1" && grep -q "^1 DATA 250" <<<"$1"' _ "$r"
if exim_wait_delivery "$W/a" inbox $((n3 + 2)); then
    sed 's/$/\r/' "$(ls -t "$W/a/mail/inbox/new"/* | head -1)" >"$W/preload.eml"
    check "preload (keys): delivered copy verifies (dkimpy)" "$D/verify_dkimpy.py" "$W/dns" "$W/preload.eml"
else
    fail "preload (keys): delivered"
fi
# the preload says, at the first connection, which files Exim's own user
# cannot read: here a key only root may read. (A daemon running as root
# checks the files' modes for that user; one that dropped to it - as here,
# with -C - finds out by reading them.)
exim_stop "$W/a"; sleep 0.3
chmod 600 "$W/a/keys/acme.example.e1.pem"
exim_start "$W/a" || fail "exim with the preload restarted"
r=$($SEND --login acme --mail-from bounce@bounces.acme.example "$W/ok.eml")
check "preload: a key Debian-exim cannot read is said once, naming user and file" \
    grep -q 'tenantalign: warning: 1 active DKIM key .*user Debian-exim.*: their messages get 451; the first: tenant acme: .*acme.example.e1.pem' "$(exim_mainlog "$W/a")"
chmod 640 "$W/a/keys/acme.example.e1.pem"
check "no crash, no panic" bash -c '! grep -q "signal\|crash" "$1"/log/paniclog 2>/dev/null' _ "$W/a"

# 11. the concurrency settings as the snippet and README give them are
#     Exim main options it takes (a comment after a value is an error)
check "concurrency snippet: Exim takes it, with the values README names" bash -c '[ "$(/usr/sbin/exim4 -C "$1" -bP smtp_accept_max smtp_accept_max_per_host queue_run_max 2>&1)" = "smtp_accept_max = 200
smtp_accept_max_per_host = 64
queue_run_max = 10" ]' _ "$TOP/modules/exim4/conf.d/main/02_tenantalign_concurrency"
for sect in "### Concurrency" "## Reliability"; do
    awk -v s="$sect" 'index($0, s) == 1 { on = 1; next } on && /^##/ { on = 0 } on && /^    / { sub(/^    /, ""); print }' \
        "$TOP/README.md" | grep -E '^(#|smtp_accept|queue_run|remote_max)' >"$W/readme-settings.conf"
    check "README's Exim settings ($sect): Exim takes them" \
        bash -c 'grep -q "^smtp_accept_max" "$1" && /usr/sbin/exim4 -C "$1" -bV >/dev/null 2>&1' _ "$W/readme-settings.conf"
done
# every decision line parses, and the counter tables hold exactly what was logged
for d in a b; do
    "$TA" stats --json --counters "$W/$d/counters/exim.counters" >"$W/$d.stats.json"
    check "exim ($d): every log line parses; the counts equal the decisions logged" \
        /usr/bin/python3 "$TOP/tests/e2e/log_tally.py" --stats "$W/$d.stats.json" "$(exim_mainlog "$W/$d")"
done
finish

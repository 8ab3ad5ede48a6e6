#!/usr/bin/env bash
# tests/e2e/nginx_e2e.sh - Debian's stock nginx mail proxy with
# ngx_mail_tenantalign_module, in front of a real Exim relay, on 127.0.0.1:
# the verdict cases of the Exim tests, delivered copies verified by dkimpy,
# Mail::DKIM and OpenDKIM; byte-exact cases (pipelining, post-auth commands,
# EHLO filtering, every smuggling sequence, half-close, several
# transactions); STARTTLS; monitor; size limit; our faults; reloads with and
# without the module.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib_exim.sh"
. "$(dirname "$0")/lib_nginx.sh"
. "$(dirname "$0")/lib_cases.sh"
[ -x /usr/sbin/nginx ] && [ -f /usr/lib/nginx/modules/ngx_mail_module.so ] || { skip "nginx e2e" "nginx or libnginx-mod-mail missing"; finish; }
[ -f "$NGINX_SO" ] || { fail "nginx module not built ($NGINX_SO)"; finish; }
W=$(mktemp -d /tmp/ta-nginx.XXXXXX); chmod 755 "$W"
P=${NGINX_TEST_PORT:-2600}
trap 'nginx_stop "$W/n"; exim_stop "$W/up"; rm -rf "$W"' EXIT
D=$TOP/tests/dkim
SEND="/usr/bin/python3 $TOP/tests/e2e/smtp_send.py"
INBOX=$W/up/mail/inbox

# a short receive timeout upstream, so that an idle upstream connection shows
# its second port offers no CHUNKING and does offer PIPECONNECT (Debian's
# default): clients with password secret.alt go there
export EXIM_ALT_PORT=$((P + 21)) NGINX_ALT_UPSTREAM=$((P + 21))
EXIM_RECEIVE_TIMEOUT=3s exim_setup "$W/up" $((P + 20)) relay && exim_start "$W/up" || { fail "upstream exim"; finish; }
STORE=$W/up/tenants.cdb
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=relay.tenantalign.test -days 2 \
    -keyout "$W/tls.key" -out "$W/tls.crt" 2>/dev/null
chgrp Debian-exim "$W/tls.key"; chmod 640 "$W/tls.key"
mkdir -p "$W/n"
# signing in the thread pool and messages up with BDAT (the default, auto:
# the upstream offers CHUNKING) everywhere but on the monitor and 64k
# servers: they sign on the event loop and send DATA
EXTRA="
    tenantalign_thread_pool tenantalign;
    server { listen 127.0.0.1:$((P + 2)); protocol smtp; tenantalign monitor; tenantalign_thread_pool off;
             tenantalign_upstream_bdat off; }
    server { listen 127.0.0.1:$((P + 3)); protocol smtp; tenantalign_max_message_size 8k; }
    server { listen 127.0.0.1:$((P + 4)); protocol smtp; tenantalign_store $W/missing.cdb; }
    server { listen 127.0.0.1:$((P + 5)); protocol smtp; starttls on;
             ssl_certificate $W/tls.crt; ssl_certificate_key $W/tls.key; }
    server { listen 127.0.0.1:$((P + 6)); protocol smtp; tenantalign off; }
    server { listen 127.0.0.1:$((P + 7)); protocol smtp; tenantalign_upstream_keepalive 1s; }
    server { listen 127.0.0.1:$((P + 8)); protocol smtp; tenantalign_buffer_size 64k; tenantalign_thread_pool off;
             tenantalign_upstream_bdat off; }
    server { listen 127.0.0.1:$((P + 9)); protocol smtp; tenantalign_buffer_size 4k;
             tenantalign_temp_path $W/n/temp-ro; }
    server { listen 127.0.0.1:$((P + 10)); protocol smtp; tenantalign_upstream_bdat on; }"
nginx_setup "$W/n" "$P" $((P + 20)) "$STORE" enforce "$EXTRA"
nginx_start "$W/n" || { fail "nginx with the module started"; cat "$W/n/logs/error.log" | tail -5; finish; }
ok "stock nginx with ngx_mail_tenantalign_module started on 127.0.0.1:$P"
for k in s1 e1; do "$D/pubdns" $k acme.example "$W/up/keys/acme.example.$k.pem"; done >"$W/dns"
cc -O1 -o "$W/odkim" "$D/odkim_verify.c" -lopendkim
delivered() { ls "$INBOX/new" 2>/dev/null | wc -l; }

msg() { make_msg "$@"; }

# 1. aligned, with swaks, through nginx to Exim: delivered, signed, verified
msg "$W/ok.eml" 'Acme News <news@acme.example>'
out=$(swaks --server 127.0.0.1 --port "$P" --auth PLAIN --auth-user acme --auth-password secret \
      --from bounce@bounces.acme.example --to someone@customer.example --data "$W/ok.eml" 2>&1)
check "aligned via nginx: 250 from the upstream" grep -q '^<-  250 OK id=' <<<"$out"
check "aligned via nginx: delivered" exim_wait_delivery "$W/up" inbox 1
sed 's/$/\r/' "$(ls "$INBOX"/new/* | head -1)" >"$W/delivered.eml"
check "delivered copy: dkimpy verifies" "$D/verify_dkimpy.py" "$W/dns" "$W/delivered.eml"
check "delivered copy: Mail::DKIM verifies (rsa)" "$D/verify_maildkim.pl" "$W/dns" "$W/delivered.eml"
check "delivered copy: OpenDKIM verifies" "$W/odkim" "$W/dns" "$W/delivered.eml"
check "nginx log: one line per decision" grep -q 'tenantalign: stage=data tenant=acme login=acme stream=transactional qid=[0-9A-Za-z-]* from=acme.example envelope=bounces.acme.example verdict=accept code="250 2.0.0" signed=acme.example:s1,acme.example:e1 us=' "$W/n/logs/error.log"

# 2. the verdict cases of the Exim tests, through nginx
n0=$(delivered)
refuse() {  # refuse NAME MAILFROM FROM REASON [extra headers]
    local name=$1 mf=$2 from=$3 reason=$4 r; shift 4
    msg "$W/r.eml" "$from" "$@"
    r=$($SEND --port "$P" --login acme --mail-from "$mf" "$W/r.eml" 2>&1)
    if grep -q "550 5.7.515 Access denied, sending domain .* does not meet the required authentication level | .*$reason" <<<"$r"; then
        ok "nginx: $name: 550 5.7.515 with reason"
    else
        fail "nginx: $name: got [$r]"
    fi
}
refuse "spoofed From" bounce@acme.example 'ceo@globex.example' 'From domain globex.example is not a sending domain of tenant acme'
refuse "two From headers" bounce@acme.example 'news@acme.example' 'message has 2 From: headers' 'From: ceo@globex.example'
refuse "From list" bounce@acme.example 'news@acme.example, ceo@globex.example' 'more than one mailbox'
refuse "display-name address" bounce@acme.example 'ceo@globex.example <news@acme.example>' 'display name contains an address'
refuse "encoded-word address" bounce@acme.example '=?utf-8?q?ceo=40globex.example?= <news@acme.example>' 'encoded-word hides an address'
refuse "From : with space" bounce@acme.example 'news@acme.example' 'message header:' 'From : ceo@globex.example'
r=$($SEND --port "$P" --login acme --mail-from bounce@mail.other.example "$W/ok.eml" 2>&1)
check "nginx: unaligned envelope refused at MAIL" grep -q '^0 MAIL 550 5.7.515 .*envelope sender domain mail.other.example is not a domain of tenant acme' <<<"$r"
r=$($SEND --port "$P" --login mallory --mail-from news@acme.example "$W/ok.eml" 2>&1)
check "nginx: unknown login refused at MAIL" grep -q '^0 MAIL 550 5.7.515 .*login mallory is not a tenant' <<<"$r"
r=$($SEND --port "$P" --login acme --mail-from '<>' "$W/ok.eml" 2>&1)
check "nginx: null sender refused at MAIL" grep -q '^0 MAIL 550 5.7.515 .*null sender' <<<"$r"
check "nginx: refused MAIL FROM never reached the upstream" bash -c '! grep -q "mail.other.example" "$1"' _ "$(exim_mainlog "$W/up")"
sleep 0.5
check "nginx: refusals: nothing delivered" [ "$(delivered)" -eq "$n0" ]

# 2b. the cases both adapters share (tests/e2e/lib_cases.sh): the envelope
# rewrite - replayed upstream pipelined (after the probe EHLO) and one
# command at a time (no probe: DATA) - raw reply lines, smuggled MAIL lines
cases_rewrite_tenant "$W/up" "$W/dns"
case_rewrite nginx "$P" "$W/up" "$W/n/logs/error.log" "$W/dns"
case_rewrite "nginx, replay one command at a time" $((P + 8)) "$W/up" "$W/n/logs/error.log" "$W/dns"
case_replies nginx "$P" "$W/up" "$W/n/logs/error.log"
# the upstream refuses the rewritten sender: a tempfail, nothing delivered
cases_rewrite_tenant "$W/up" "$W/dns" rf refused.example
n0=$(delivered)
msg "$W/rf.eml" 'news@refused.example'
for port in "$P" $((P + 8)); do
    r=$($SEND --port "$port" --login rf --mail-from news@refused.example "$W/rf.eml" "$W/rf.eml" 2>&1)
    check "replay refused upstream (port $port): 451 4.3.0, twice in one session" \
        bash -c '[ "$(grep -c "^[01] DATA 451 4.3.0 the upstream refused the rewritten envelope sender or a recipient$" <<<"$1")" -eq 2 ]' _ "$r"
done
check "replay refused upstream: logged with the upstream's reply" grep -q 'the upstream refused the rewritten envelope: "550 5.7.1 this relay refuses' "$W/n/logs/error.log"
sleep 0.5
check "replay refused upstream: nothing delivered" [ "$(delivered)" -eq "$n0" ]

ehlo_offers() {     # whether 127.0.0.1:$1 offers CHUNKING, PIPECONNECT
    /usr/bin/python3 -c 'import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1])); s.ehlo("t.test")
print(s.has_extn("chunking"), s.has_extn("pipeconnect")); s.quit()' "$1"
}
check "upstream main port: CHUNKING, no PIPECONNECT" test "$(ehlo_offers $((P + 20)))" = "True False"
check "upstream second port: PIPECONNECT, no CHUNKING" test "$(ehlo_offers $((P + 21)))" = "False True"

# 3. byte-exact cases, against both upstream ports (DATA and PIPECONNECT there)
/usr/bin/python3 "$TOP/tests/e2e/nginx_cases.py" "$P" "$INBOX" || true
/usr/bin/python3 "$TOP/tests/e2e/nginx_cases.py" "$P" "$INBOX" secret.alt "upstream with PIPECONNECT, no CHUNKING" || true

# 4. STARTTLS before AUTH: the wrappers survive the handshake
n0=$(delivered)
r=$($SEND --port $((P + 5)) --starttls --login acme --mail-from bounce@acme.example "$W/ok.eml" "$W/r.eml" 2>&1)
msg "$W/spoof.eml" 'ceo@globex.example'
r2=$($SEND --port $((P + 5)) --starttls --login acme --mail-from bounce@acme.example "$W/spoof.eml" 2>&1)
check "STARTTLS: aligned accepted" grep -q '^0 DATA 250' <<<"$r"
check "STARTTLS: spoofed refused (no bypass)" grep -q '^0 DATA 550 5.7.515' <<<"$r2"

# 5. monitor mode: accepted and marked
n0=$(delivered)
r=$($SEND --port $((P + 2)) --login acme --mail-from bounce@acme.example "$W/spoof.eml" 2>&1)
check "monitor: spoofed From accepted" grep -q '^0 DATA 250' <<<"$r"
exim_wait_delivery "$W/up" inbox $((n0 + 1))
check "monitor: X-Tenantalign says why" grep -rq 'X-Tenantalign: monitor; would refuse: From domain globex.example' "$INBOX/new"

# 6. size limit: 552, nothing forwarded
head -c 20000 /dev/zero | tr '\0' 'x' | fold -w 70 | sed 's/$/\r/' >"$W/big.body"
{ printf 'From: news@acme.example\r\nSubject: big\r\n\r\n'; cat "$W/big.body"; } >"$W/big.eml"
r=$($SEND --port $((P + 3)) --login acme --mail-from bounce@acme.example "$W/big.eml" 2>&1)
diag "size limit reply: $r"
check "size limit: 552" grep -q "^0 DATA 552 5.3.4" <<<"$r"

# 6b. a 3 MB message: in memory (1 MB default buffer, then spilled) and with
# a 64 KB buffer (spilled early); read back and sent up in 64 KB windows
{ printf 'From: news@acme.example\r\nSubject: large\r\nMessage-ID: <large@acme.example>\r\n\r\n'
  for i in $(seq 40000); do printf '.line %05d of a large message, some text to fill it up to size\r\n' "$i"; done; } >"$W/large.eml"
for port in "$P" $((P + 8)); do
    n0=$(delivered)
    r=$($SEND --port "$port" --login acme --mail-from bounce@acme.example "$W/large.eml" 2>&1)
    check "3 MB message (port $port): 250" grep -q '^0 DATA 250' <<<"$r"
    if exim_wait_delivery "$W/up" inbox $((n0 + 1)); then
        f=$(ls -t "$INBOX"/new/* | head -1)
        sed 's/$/\r/' "$f" >"$W/large-delivered.eml"
        check "3 MB message (port $port): every line arrived, dots intact" bash -c '[ "$(grep -c "^\.line " "$1")" -eq 40000 ]' _ "$W/large-delivered.eml"
        check "3 MB message (port $port): dkimpy verifies" "$D/verify_dkimpy.py" "$W/dns" "$W/large-delivered.eml"
    else
        fail "3 MB message (port $port): delivered"
    fi
done
check "temp files are unlinked: the temp directory is empty" bash -c '[ -d "$1" ] && [ -z "$(ls -A "$1")" ]' _ "$W/n/temp"
# a temp directory the worker cannot write: 451, nothing delivered
chmod 0500 "$W/n/temp-ro"
n0=$(delivered)
r=$($SEND --port $((P + 9)) --login acme --mail-from bounce@acme.example "$W/large.eml" 2>&1)
diag "unwritable temp path: $r"
check "unwritable temp path: 451" grep -q '^0 DATA 451 4.3.0 cannot write the temporary file' <<<"$r"
sleep 1
check "unwritable temp path: nothing delivered" test "$(delivered)" -eq "$n0"
chmod 0700 "$W/n/temp-ro"

# 7. our faults: 451, nginx keeps running
r=$($SEND --port $((P + 4)) --login acme --mail-from bounce@acme.example "$W/ok.eml" 2>&1)
check "missing store: 451 at MAIL" grep -q '^0 MAIL 451 4.7.0 tenant store unavailable' <<<"$r"
mv "$W/up/keys/acme.example.e1.pem" "$W/e1.away"
sleep 1.1                   # key files are looked at once a second
r=$($SEND --port "$P" --login acme --mail-from bounce@acme.example "$W/ok.eml" 2>&1)
check "missing key: 451 naming the key" grep -q '^0 DATA 451 4.7.0 DKIM key d=acme.example s=e1 unusable' <<<"$r"
mv "$W/e1.away" "$W/up/keys/acme.example.e1.pem"
r=$($SEND --port "$P" --login acme --mail-from bounce@acme.example "$W/ok.eml" 2>&1)
check "after our faults: accepted again" grep -q '^0 DATA 250' <<<"$r"

# the store replaced by a truncated file, then removed, under running
# workers: 451 (not the old mapping's answers), said once each at error
# level; 250 again as soon as a good store is back
alarms() { grep -F "$STORE" "$W/n/logs/error.log" | grep -c '\[error\].*tenantalign: tenant store unusable'; }
cp "$STORE" "$W/store.good"
head -c "$(( $(stat -c %s "$W/store.good") - 100 ))" "$W/store.good" >"$W/store.cut" && chgrp Debian-exim "$W/store.cut" && mv "$W/store.cut" "$STORE"
sleep 1.1
r=$($SEND --port "$P" --login acme --mail-from bounce@acme.example "$W/ok.eml" "$W/ok.eml" 2>&1)
check "truncated store, running worker: 451 at MAIL, twice" bash -c '[ "$(grep -c "^[01] MAIL 451 4.7.0 tenant store unavailable: store .* is truncated" <<<"$1")" -eq 2 ]' _ "$r"
check "truncated store: said once at error level" [ "$(alarms)" -eq 1 ]
rm "$STORE"
sleep 1.1
r=$($SEND --port "$P" --login acme --mail-from bounce@acme.example "$W/ok.eml" 2>&1)
check "store removed, running worker: 451 at MAIL" grep -q '^0 MAIL 451 4.7.0 tenant store unavailable: store .*No such file' <<<"$r"
check "store removed: said once more" [ "$(alarms)" -eq 2 ]
cp "$W/store.good" "$STORE.new" && chgrp Debian-exim "$STORE.new" && mv "$STORE.new" "$STORE"
sleep 1.1
r=$($SEND --port "$P" --login acme --mail-from bounce@acme.example "$W/ok.eml" 2>&1)
check "good store back: 250 at once" grep -q '^0 DATA 250' <<<"$r"

# a key the workers' user cannot read is said when a worker starts (warn
# level, in the mail block's error_log: the main one keeps errors only),
# not first by a tenant's 451
chmod 600 "$W/up/keys/acme.example.e1.pem"
nginx_reload "$W/n"
# (a new worker under ASan takes a while to start: wait for its line)
for i in $(seq 50); do grep -q 'active DKIM key unusable by this process' "$W/n/logs/error.log" && break; sleep 0.2; done
check "unreadable key: said at worker start, naming the user and the file" grep -q '\[warn\].*tenantalign: 1 active DKIM key unusable by this process (user Debian-exim, uid [0-9]*): their messages get 451; the first: tenant acme: .*acme.example.e1.pem.*Permission denied' "$W/n/logs/error.log"
chmod 640 "$W/up/keys/acme.example.e1.pem"
nginx_reload "$W/n"
sleep 1

# 7b. a slow upload (6 s) to an upstream that drops idle clients after 3 s:
#     hidden NOOPs keep it alive and the message is delivered; without them
#     (default 60 s) the client is told 421, not dropped
slow_upload() {
    /usr/bin/python3 - "$1" <<'PY'
import base64, socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
f = s.makefile("rb")
def reply():
    while True:
        l = f.readline()
        if len(l) < 4 or l[3:4] != b"-":
            return l.decode().strip()
reply(); s.sendall(b"EHLO slow.test\r\n"); reply()
s.sendall(b"AUTH PLAIN " + base64.b64encode(b"\0acme\0secret") + b"\r\n"); reply()
s.sendall(b"MAIL FROM:<bounce@acme.example>\r\n"); reply()
s.sendall(b"RCPT TO:<someone@customer.example>\r\n"); reply()
s.sendall(b"DATA\r\n"); reply()
s.sendall(b"From: news@acme.example\r\nSubject: slow\r\n\r\n")
try:
    for i in range(12):
        time.sleep(0.5)
        s.sendall(b"line %d of a slow upload\r\n" % i)
    s.sendall(b".\r\n")
except OSError:
    pass
print(reply())
PY
}
n0=$(delivered)
r=$(slow_upload $((P + 7)))
check "slow upload: upstream kept alive, 250" grep -q '^250' <<<"$r"
check "slow upload: delivered" exim_wait_delivery "$W/up" inbox $((n0 + 1))
r=$(slow_upload "$P")
check "slow upload without keepalive: client told 421, not dropped" grep -q '^421 4.4.2' <<<"$r"

# 8. tenantalign off on a server: a plain proxy
r=$($SEND --port $((P + 6)) --login acme --mail-from bounce@acme.example "$W/spoof.eml" 2>&1)
check "tenantalign off: stock proxy behaviour" grep -q '^0 DATA 250' <<<"$r"

# 9. tenantalign_upstream_bdat auto (the default): BDAT where the upstream
# offers CHUNKING (Exim logs a message received in chunks with K), DATA where
# it does not; on: BDAT without asking
mainlog=$(exim_mainlog "$W/up")
n0=$(delivered)
r=$($SEND --port "$P" --login acme --mail-from bounce@bounces.acme.example "$W/ok.eml" "$W/ok.eml" 2>&1)
check "bdat auto, upstream with CHUNKING: both messages 250" test "$(grep -c '^[01] DATA 250' <<<"$r")" = 2
check "bdat auto, upstream with CHUNKING: delivered" exim_wait_delivery "$W/up" inbox $((n0 + 2))
check "bdat auto, upstream with CHUNKING: sent with BDAT" \
    test "$(grep '<= bounce@bounces.acme.example' "$mainlog" | tail -2 | grep -c ' K ')" = 2
sed 's/$/\r/' "$(ls -t "$INBOX"/new/* | head -1)" >"$W/auto.eml"
check "bdat auto: delivered copy verifies (dkimpy)" "$D/verify_dkimpy.py" "$W/dns" "$W/auto.eml"
r=$($SEND --port "$P" --password secret.alt --login acme --mail-from bounce@bounces.acme.example "$W/ok.eml" 2>&1)
check "bdat auto, upstream without CHUNKING: 250" grep -q '^0 DATA 250' <<<"$r"
check "bdat auto, upstream without CHUNKING: delivered" exim_wait_delivery "$W/up" inbox $((n0 + 3))
check "bdat auto, upstream without CHUNKING: sent with DATA" \
    bash -c 'grep "<= bounce@bounces.acme.example" "$1" | tail -1 | grep -v " K " | grep -q "P=esmtp"' _ "$mainlog"
r=$($SEND --port $((P + 10)) --login acme --mail-from bounce@bounces.acme.example "$W/ok.eml" 2>&1)
check "bdat on: 250, delivered, sent with BDAT" bash -c 'grep -q "^0 DATA 250" <<<"$2" && sleep 1 &&
    grep "<= bounce@bounces.acme.example" "$1" | tail -1 | grep -q " K "' _ "$mainlog" "$r"
check "the upstream saw no SMTP synchronization error" bash -c '! grep -q "synchronization error" "$1"' _ "$mainlog"

# 10. reloads: without the module, and back; no worker crashes
cp "$W/n/nginx.conf" "$W/n/with.conf"
sed -e '/ngx_mail_tenantalign_module.so/d' -e '/tenantalign/d' "$W/n/with.conf" >"$W/n/nginx.conf"
nginx_reload "$W/n"; sleep 1
r=$($SEND --port "$P" --login acme --mail-from bounce@acme.example "$W/spoof.eml" 2>&1)
check "reload without the module: proxying works" grep -q '^0 DATA 250' <<<"$r"
cp "$W/n/with.conf" "$W/n/nginx.conf"
nginx_reload "$W/n"; sleep 1
r=$($SEND --port "$P" --login acme --mail-from bounce@acme.example "$W/spoof.eml" 2>&1)
check "reload with the module again: enforcing" grep -q '^0 DATA 550 5.7.515' <<<"$r"
check "no worker crashed" bash -c '! grep -q "exited on signal" "$1"' _ "$W/n/logs/error.log"

# a pipelining client whose MAIL the module refuses: its RCPTs are answered
# here (503 5.5.1), never sent up as RCPT-without-MAIL (Exim drops a session
# after three such protocol errors); five refused transactions in one session
r=$(/usr/bin/python3 - "$P" <<'PY'
import base64, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
f = s.makefile("rb")
def reply():
    lines = []
    while True:
        l = f.readline()
        if not l:
            return "EOF"
        lines.append(l.decode().strip())
        if l[3:4] != b"-":
            return lines[-1]
reply(); s.sendall(b"EHLO c.test\r\n"); reply()
s.sendall(b"AUTH PLAIN " + base64.b64encode(b"\0acme\0secret") + b"\r\n"); reply()
for i in range(5):
    s.sendall(b"MAIL FROM:<x@mail.other.example>\r\nRCPT TO:<someone@customer.example>\r\nDATA\r\n")
    print(reply()[:3], reply(), reply()[:3])
    s.sendall(b"RSET\r\n")
    print(reply()[:3])
PY
)
check "pipelined RCPT after a refused MAIL: answered here, five times" \
    bash -c '[ "$(grep -c "^550 503 5.5.1 no sender: MAIL FROM was not accepted 554$" <<<"$1")" -eq 5 ] && [ "$(grep -c "^250$" <<<"$1")" -eq 5 ]' _ "$r"
check "... and the upstream saw no protocol error" bash -c '! grep -q "too many syntax or protocol errors\|RCPT without MAIL\|sender not yet given" "$1"' _ "$(exim_mainlog "$W/up")"

# the example mail block shipped in modules/nginx is valid for this nginx
mkdir -p "$W/ex"
{ echo "load_module /usr/lib/nginx/modules/ngx_mail_module.so;"; echo "load_module $NGINX_SO;"
  echo "events {}"; echo "pid $W/ex/pid;"
  sed -e "s|/etc/ssl/certs/relay.pem|$W/tls.crt|; s|/etc/ssl/private/relay.key|$W/tls.key|" \
      -e "s|/var/lib/nginx/tenantalign|$W/ex/temp|; s|/var/log/nginx/error.log|$W/ex/error.log|" "$TOP/modules/nginx/mail-example.conf"; } >"$W/ex/nginx.conf"
check "modules/nginx/mail-example.conf passes nginx -t" \
    nginx_bin -t -q -p "$W/ex" -c "$W/ex/nginx.conf" -e "$W/ex/error.log"
# every decision line parses, and the counter table holds exactly what was logged
"$TA" stats --json --counters "$W/n/counters/nginx.counters" >"$W/n.stats.json"
check "nginx: every log line parses; the counts equal the decisions logged" \
    /usr/bin/python3 "$TOP/tests/e2e/log_tally.py" --stats "$W/n.stats.json" "$W/n/logs/error.log"
finish

#!/usr/bin/env bash
# tests/e2e/nginx_valgrind.sh - the nginx module under valgrind: stock nginx
# as one process (master_process off) in front of a real Exim, driven
# through accepted, refused, oversized, spilled, pipelined and
# many-transaction sessions; no invalid access, no uninitialised read, no
# definite leak.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib_exim.sh"
. "$(dirname "$0")/lib_nginx.sh"
[ -x /usr/sbin/nginx ] && [ -f /usr/lib/nginx/modules/ngx_mail_module.so ] || { skip "nginx valgrind" "nginx or libnginx-mod-mail missing"; finish; }
command -v valgrind >/dev/null || { skip "nginx valgrind" "valgrind missing"; finish; }
[ -f "$NGINX_SO" ] || { fail "nginx module not built ($NGINX_SO)"; finish; }
W=$(mktemp -d /tmp/ta-nginx-vg.XXXXXX); chmod 755 "$W"
P=${NGINX_VG_PORT:-2750}
trap '[ -n "${VG:-}" ] && kill "$VG" 2>/dev/null; [ -f "$W/n/auth.pid" ] && kill "$(cat "$W/n/auth.pid")"; exim_stop "$W/up"; rm -rf "$W"' EXIT
SEND="/usr/bin/python3 $TOP/tests/e2e/smtp_send.py"
INBOX=$W/up/mail/inbox

exim_setup "$W/up" $((P + 20)) relay && exim_start "$W/up" || { fail "upstream exim"; finish; }
mkdir -p "$W/n"
nginx_setup "$W/n" "$P" $((P + 20)) "$W/up/tenants.cdb" enforce "
    tenantalign_thread_pool tenantalign;
    server { listen 127.0.0.1:$((P + 2)); protocol smtp; tenantalign_buffer_size 16k;
             tenantalign_upstream_bdat on; }
    server { listen 127.0.0.1:$((P + 3)); protocol smtp; tenantalign_max_message_size 8k; }
    server { listen 127.0.0.1:$((P + 4)); protocol smtp; tenantalign monitor; tenantalign_thread_pool off; tenantalign_upstream_bdat off; }"
sed -i '/^user /d' "$W/n/nginx.conf"
/usr/bin/python3 "$TOP/tests/e2e/auth_http.py" $(cat "$W/n/auth.args") &
echo $! >"$W/n/auth.pid"
valgrind -q --keep-debuginfo=yes --num-callers=40 --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
    --show-leak-kinds=definite --suppressions="$TOP/tests/e2e/valgrind.supp" --log-file="$W/vg.log" \
    /usr/sbin/nginx -p "$W/n" -c "$W/n/nginx.conf" -e "$W/n/logs/error.log" \
    -g 'daemon off; master_process off;' &
VG=$!
for i in $(seq 200); do (exec 3<>/dev/tcp/127.0.0.1/"$P") 2>/dev/null && break; sleep 0.1; done
(exec 3<>/dev/tcp/127.0.0.1/"$P") 2>/dev/null && ok "nginx under valgrind listening" || { fail "nginx under valgrind started"; cat "$W/vg.log" "$W/n/logs/error.log" | tail; finish; }

make_msg "$W/ok.eml" 'news@acme.example'
make_msg "$W/spoof.eml" 'ceo@globex.example'
{ printf 'From: news@acme.example\r\nSubject: large\r\n\r\n'
  for i in $(seq 3000); do printf '.line %05d of a larger message\r\n' "$i"; done; } >"$W/large.eml"
head -c 20000 /dev/zero | tr '\0' x | fold -w 70 | sed 's/$/\r/' >"$W/big.body"
{ printf 'From: news@acme.example\r\nSubject: big\r\n\r\n'; cat "$W/big.body"; } >"$W/big.eml"

r=$($SEND --port "$P" --login acme --mail-from bounce@acme.example "$W/ok.eml" "$W/spoof.eml" "$W/large.eml" 2>&1)
check "valgrind: accept, refuse, large in one session" bash -c 'grep -q "^0 DATA 250" <<<"$1" && grep -q "^1 DATA 550 5.7.515" <<<"$1" && grep -q "^2 DATA 250" <<<"$1"' _ "$r"
r=$($SEND --port $((P + 2)) --login acme --mail-from bounce@acme.example "$W/large.eml" "$W/spoof.eml" "$W/large.eml" 2>&1)
check "valgrind: spilled to the temp file" bash -c 'grep -q "^0 DATA 250" <<<"$1" && grep -q "^2 DATA 250" <<<"$1"' _ "$r"
r=$($SEND --port $((P + 3)) --login acme --mail-from bounce@acme.example "$W/big.eml" "$W/ok.eml" 2>&1)
check "valgrind: oversized 552, then accepted" bash -c 'grep -q "^0 DATA 552" <<<"$1" && grep -q "^1 DATA 250" <<<"$1"' _ "$r"
r=$($SEND --port $((P + 4)) --login acme --mail-from bounce@acme.example "$W/spoof.eml" 2>&1)
check "valgrind: monitor" grep -q "^0 DATA 250" <<<"$r"
r=$($SEND --port "$P" --login mallory --mail-from news@acme.example "$W/ok.eml" 2>&1)
check "valgrind: unknown login" grep -q "^0 MAIL 550 5.7.515" <<<"$r"
set -- ; for i in $(seq 20); do set -- "$@" "$W/ok.eml" "$W/spoof.eml"; done
r=$($SEND --port "$P" --login acme --mail-from bounce@acme.example "$@" 2>&1)
check "valgrind: 40 transactions in one session" test "$(grep -c ' DATA ' <<<"$r")" -eq 40
/usr/bin/python3 "$TOP/tests/e2e/nginx_cases.py" "$P" "$INBOX" >"$W/cases.out" 2>&1
check "valgrind: the byte-exact cases pass under valgrind" bash -c '! grep -q "^not ok" "$1" && grep -q "^ok" "$1"' _ "$W/cases.out"
grep "^not ok" "$W/cases.out" | head -5 | while read -r l; do diag "$l"; done

# clients that vanish right after the final dot, while the thread signs
/usr/bin/python3 - "$P" <<'PY'
import base64, socket, sys
for i in range(10):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    f = s.makefile("rb")
    f.readline()
    auth = base64.b64encode(b"\0acme\0secret")
    s.sendall(b"EHLO c\r\n")
    while f.readline()[3:4] == b"-":
        pass
    s.sendall(b"AUTH PLAIN " + auth + b"\r\n")
    f.readline()
    s.sendall(b"MAIL FROM:<bounce@acme.example>\r\nRCPT TO:<x@customer.example>\r\nDATA\r\n")
    for _ in range(3):
        f.readline()
    s.sendall(b"From: news@acme.example\r\nSubject: gone\r\n\r\nbye\r\n.\r\n")
    s.close()
PY
sleep 1
r=$($SEND --port "$P" --login acme --mail-from bounce@acme.example "$W/ok.eml" 2>&1)
check "valgrind: after clients vanished mid-signing, still serving" grep -q "^0 DATA 250" <<<"$r"

kill -QUIT "$VG"; wait "$VG"; rc=$?; VG=
check "valgrind: nginx exited cleanly (rc $rc)" test "$rc" -eq 0
check "valgrind: no errors reported" bash -c '! grep -q "==[0-9]*== [A-Z]" "$1"' _ "$W/vg.log"
grep "==" "$W/vg.log" | grep -v "by 0x[0-9A-F]*: ???" | head -80 | while read -r l; do diag "$l"; done
finish

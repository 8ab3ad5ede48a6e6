#!/usr/bin/env bash
# tests/soak/soak.sh - the faulted soak: Debian's stock nginx with
# ngx_mail_tenantalign_module in front of a plain Exim relay, and clients
# straight into a second Exim with the tenantalign plugin, all on 127.0.0.1;
# concurrent clients (tests/soak/client.py) send aligned, spoofed and
# vanishing mail through both while faults are injected on a schedule; once
# the queues have drained, tests/soak/ledger.py checks what every client was
# told against what was delivered. Then a memory phase: long sessions through
# nginx, no faults, the workers' RSS read after the first 1,000 messages and
# at the end.
#
# usage: tests/soak/soak.sh [N [MEM]]
#   N    messages of the faulted phase, split between the two topologies
#        (default 20000)
#   MEM  messages of the memory phase, all through nginx (default 100000)
# environment:
#   SOAK_CLIENTS=32    concurrent clients (faulted phase; memory phase: 16)
#   SOAK_CYCLES=K      rounds of the fault schedule (default 1 per 10,000)
#   SOAK_HOLD=SECS     how long a store, key or temp path stays bad (whole
#                      seconds, default 4)
#   SOAK_RSS_BOUND=1   fail when a worker's RSS at the end exceeds its RSS
#                      after 1,000 messages by more than max(8 MB, 10 %),
#                      or its highest RSS in the later half of the memory
#                      phase exceeds that of the earlier half by more than
#                      max(4 MB, 10 %) (on by default when MEM >= 10000)
#   SOAK_PORT=3800     ports PORT (nginx), PORT+1 (its auth_http), PORT+20
#                      (the relay behind nginx), PORT+30 (Exim with plugin)
#   SOAK_KEEP=1        keep the work directory
# Prints TAP lines (tests/lib.sh) and, last, one summary line:
#   soak: sent=... 250=... 4xx=... 5xx=... delivered=... verified=...
#         faults=... failures=... rss=... time=...
# The faults, and what a client is told (the ledger holds each to it):
#   store_replace      a recompiled store renamed over the live one: nothing
#   upstream_kill      the relay behind nginx killed (SIGKILL to the daemon
#                      and its receivers), restarted 1 s later: sessions
#                      in flight get 421 4.4.2 from nginx, new ones fail at
#                      AUTH until it is back; what the relay had spooled is
#                      delivered after the restart
#   nginx_reload       nginx -s reload: old workers finish their sessions
#   store_corrupt      the store renamed over by a truncated copy (the second
#                      time: random bytes) for HOLD seconds: MAIL gets 451
#                      4.7.0 in nginx and Exim
#   key_removed        acme's e1 key file moved away for HOLD seconds: acme's
#                      messages get 451 4.7.0 DKIM key ... unusable
#   temp_unwritable    nginx's tenantalign_temp_path mode 000 for HOLD
#                      seconds: messages larger than the 128k buffer get
#                      451 4.3.0
#   exim_restart       the plugin Exim's daemon stopped and started again:
#                      sessions in flight finish, new connections are
#                      refused meanwhile
# Every wait is bounded; the whole run is bounded by SOAK_DEADLINE seconds
# (default 7200).
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/e2e/lib_exim.sh"
. "$TOP/tests/e2e/lib_nginx.sh"
PY=/usr/bin/python3
N=${1:-20000}
MEM=${2:-100000}
CLIENTS=${SOAK_CLIENTS:-32}
HOLD=${SOAK_HOLD:-4}
CYCLES=${SOAK_CYCLES:-$(( N / 10000 > 0 ? N / 10000 : 1 ))}
DEADLINE=${SOAK_DEADLINE:-7200}
BOUND=${SOAK_RSS_BOUND:-$(( MEM >= 10000 ? 1 : 0 ))}
P=${SOAK_PORT:-3800}
UP=$((P + 20)) EX=$((P + 30))
T0=$(date +%s)

[ -x /usr/sbin/nginx ] && [ -f /usr/lib/nginx/modules/ngx_mail_module.so ] || { skip "soak" "nginx or libnginx-mod-mail missing"; finish; }
[ -x /usr/sbin/exim4 ] || { skip "soak" "exim4-daemon-heavy missing"; finish; }
[ -f "$NGINX_SO" ] && [ -f "$EXIM_SO" ] && [ -x "$TA" ] || { fail "soak: build first ($BUILD)"; finish; }
$PY -c 'import dkim' 2>/dev/null || { skip "soak" "python3-dkim missing"; finish; }

W=$(mktemp -d /tmp/ta-soak.XXXXXX); chmod 755 "$W"
CLIENT_PID=
# our_pids DIR: every process of the Exim whose configuration is DIR/exim.conf
# (daemon, receivers, deliveries, queue runners carry "-C DIR/exim.conf")
our_pids() { pgrep -f -- "-C $1/exim.conf" || true; }
# receivers DIR: its daemon and receiving processes
receivers() {
    local p
    for p in $(our_pids "$1"); do grep -qa -- '-bd' "/proc/$p/cmdline" 2>/dev/null && echo "$p"; done
}
cleanup() {
    [ -n "$CLIENT_PID" ] && kill "$CLIENT_PID" 2>/dev/null
    nginx_stop "$W/n" 2>/dev/null
    exim_stop "$W/up"; exim_stop "$W/ex"
    local p
    for p in $(our_pids "$W/up") $(our_pids "$W/ex"); do kill "$p" 2>/dev/null; done
    if [ -n "${SOAK_KEEP:-}" ]; then echo "# kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT

# Exim's defaults stop a soak (and an ESP) early: 20 connections at once,
# 10 messages a connection before delivery waits for the next queue run,
# 1,000 messages a connection
concurrency() {
    sed -i 's|^message_size_limit = .*|&\
smtp_accept_max = 200\
smtp_accept_max_per_host = 200\
smtp_accept_queue_per_connection = 0\
smtp_accept_max_per_connection = 1000000|' "$1/exim.conf"
}
exim_setup "$W/up" "$UP" relay && concurrency "$W/up" && exim_start "$W/up" || { fail "soak: relay exim"; finish; }
exim_setup "$W/ex" "$EX" local_scan && concurrency "$W/ex" && exim_start "$W/ex" || { fail "soak: exim with the plugin"; finish; }
mkdir -p "$W/n"
NGINX_WORKERS=2 nginx_setup "$W/n" "$P" "$UP" "$W/up/tenants.cdb" enforce "
    tenantalign_thread_pool tenantalign;
    tenantalign_buffer_size 128k;"
nginx_start "$W/n" || { fail "soak: nginx with the module"; finish; }
for k in s1 e1; do "$TOP/tests/dkim/pubdns" $k acme.example "$W/up/keys/acme.example.$k.pem"; done >"$W/dns"
"$TOP/tests/dkim/pubdns" s1 globex.example "$W/up/keys/globex.example.s1.pem" >>"$W/dns"
for s in up ex; do cp "$W/$s/tenants.cdb" "$W/$s.good"; done
ok "soak: nginx on $P (relay $UP), Exim with the plugin on $EX"

# flog KIND start|end|at: the fault log the ledger reads
flog() { echo "$(date +%s.%N) $1 $2" >>"$W/faults"; }
: >"$W/faults"
# gate N: clients may start transactions numbered below N (client.py --gate)
gate() { echo $(( $1 < N ? $1 : N )) >"$W/gate"; }
# hold KIND: a fault lasts HOLD seconds; meanwhile the gate follows the
# clients, so that traffic meets the fault all along, but keeps $reserve
# transactions back for the faults still to come
reserve=0
hold() {
    local t g
    flog "$1" start
    for t in $(seq $((HOLD * 5))); do
        g=$(( $(progress faulted) + CLIENTS ))
        gate $(( g < N - reserve ? g : N - reserve ))
        sleep 0.2
    done
    flog "$1" end
}
# put SRC STORE: rename a file over a store, as an operator's deploy does
put() { cp "$1" "$2.new" && chgrp Debian-exim "$2.new" && chmod 644 "$2.new" && mv "$2.new" "$2"; }
round=0
f_store_replace() {
    local s
    for s in up ex; do
        "$TA" compile --quiet "$W/$s/tenants.src" "$W/$s.fresh" && put "$W/$s.fresh" "$W/$s/tenants.cdb"
    done
    for s in up ex; do cp "$W/$s/tenants.cdb" "$W/$s.good"; done
    flog store_replace at
}
f_store_corrupt() {
    local s sz
    for s in up ex; do
        sz=$(stat -c %s "$W/$s.good")
        if [ $((round % 2)) -eq 0 ]; then head -c $((sz - 100)) "$W/$s.good" >"$W/$s.bad"
        else head -c "$sz" /dev/urandom >"$W/$s.bad"; fi
        put "$W/$s.bad" "$W/$s/tenants.cdb"
    done
    hold store_corrupt
    for s in up ex; do put "$W/$s.good" "$W/$s/tenants.cdb"; done
}
f_key_removed() {
    local s
    for s in up ex; do mv "$W/$s/keys/acme.example.e1.pem" "$W/$s/e1.away"; done
    hold key_removed
    for s in up ex; do mv "$W/$s/e1.away" "$W/$s/keys/acme.example.e1.pem"; done
}
f_temp_unwritable() {
    local mode
    mode=$(stat -c %a "$W/n/temp")
    chmod 000 "$W/n/temp"
    hold temp_unwritable
    chmod "$mode" "$W/n/temp"
}
f_upstream_kill() {
    local p i
    # the daemon and its receivers (forks of it: "-bd" in their command
    # line); deliveries run as "exim -Mc" and finish: a delivery killed
    # between writing the mailbox and its spool update is delivered again
    # by the next queue run (Exim delivers at least once), which the ledger
    # would count as a duplicate that is not the gate's doing
    for p in $(receivers "$W/up"); do kill -KILL "$p" 2>/dev/null; done
    flog upstream_kill at
    for i in $(seq 50); do [ -z "$(receivers "$W/up")" ] && break; sleep 0.1; done
    sleep 1
    exim_start "$W/up" || fail "soak: relay restarted after the kill"
}
f_nginx_reload() { nginx_reload "$W/n" && flog nginx_reload at; }
f_exim_restart() {
    local i
    exim_stop "$W/ex"; flog exim_restart at
    # until the old daemon has let the port go: a new one that cannot bind
    # waits 30 s before it tries again (daemon_startup_sleep), and
    # exim_start would take the old one's answer for the new one's
    for i in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$EX") 2>/dev/null || break; sleep 0.1; done
    exim_start "$W/ex" || fail "soak: exim with the plugin restarted"
}
# the faults that last come first: they need traffic while they last
SCHEDULE=(store_replace store_corrupt key_removed temp_unwritable upstream_kill nginx_reload exim_restart)

# run_clients NAME ARGS...: client.py in the background, faults while it runs
progress() { cat "$W/$1.progress" 2>/dev/null || echo 0; }
run_faulted() {
    local total=$(( ${#SCHEDULE[@]} * CYCLES )) i=0 kind next step
    # the schedule adapts: each next fault comes after an equal share of
    # the transactions still to go; the gate lets clients run half a share
    # past that point, so that the fault meets traffic whatever the faults
    # before it took (idle clients wait in their sessions)
    step=$(( N / (total + 1) )); next=$step
    gate $(( next + step / 2 ))
    timeout $((DEADLINE + 300)) $PY "$TOP/tests/soak/client.py" --run-id faulted --out "$W/faulted.jsonl" \
        --progress "$W/faulted.progress" --gate "$W/gate" --target nginx:"$P" --target exim:"$EX" \
        --clients "$CLIENTS" --messages "$N" --session 1-8 --mix faulted --deadline "$DEADLINE" \
        >"$W/faulted.out" 2>&1 &
    CLIENT_PID=$!
    while kill -0 "$CLIENT_PID" 2>/dev/null; do
        if [ $i -lt $total ] && [ "$(progress faulted)" -ge "$next" ]; then
            kind=${SCHEDULE[$((i % ${#SCHEDULE[@]}))]}
            round=$((i / ${#SCHEDULE[@]}))
            diag "fault $((i + 1))/$total at $(progress faulted) of $N: $kind"
            reserve=$(( (total - i - 1) * 2 * CLIENTS ))
            "f_$kind"
            i=$((i + 1))
            step=$(( (N - $(progress faulted)) / (total - i + 1) ))
            next=$(( $(progress faulted) + step ))
            if [ $i -lt $total ]; then gate $(( next + step / 2 )); else gate "$N"; fi
            continue
        fi
        sleep 0.2
    done
    wait "$CLIENT_PID"; local rc=$?
    CLIENT_PID=
    cat "$W/faulted.out"
    check "soak: faulted phase: clients finished (none stuck)" [ $rc -eq 0 ]
    check "soak: faulted phase: every scheduled fault injected ($i of $total)" [ $i -eq $total ]
}

# drain DIR: queue runs until the Exim's queue is empty (at most 180 s)
drain() {
    local n end=$(( $(date +%s) + 180 ))
    while [ "$(date +%s)" -lt $end ]; do
        n=$(/usr/sbin/exim4 -C "$1/exim.conf" -bpc 2>/dev/null || echo 1)
        [ "$n" = 0 ] && return 0
        TENANTALIGN_CONF=$1/tenantalign.conf timeout 30 /usr/sbin/exim4 -C "$1/exim.conf" -qff >/dev/null 2>&1
        sleep 1
    done
    return 1
}

workers() { pgrep -P "$(cat "$W/n/nginx.pid")" -f 'worker process$' | paste -sd,; }

run_faulted
# the memory phase: the workers that run now serve all of it (no reload)
for i in $(seq 100); do [ -z "$(pgrep -P "$(cat "$W/n/nginx.pid")" -f 'shutting down')" ] && break; sleep 0.1; done
WPIDS=$(workers)
FIRST=$(( MEM / 5 < 1000 ? MEM / 5 : 1000 ))
mc=$(( CLIENTS / 2 > 0 ? CLIENTS / 2 : 1 ))
if [ "$MEM" -gt 0 ]; then
    timeout $((DEADLINE + 300)) $PY "$TOP/tests/soak/client.py" --run-id memory --out "$W/memory.jsonl" \
        --progress "$W/memory.progress" --target nginx:"$P" --clients "$mc" --messages "$MEM" \
        --session 200-1000 --mix memory --seed 2 --deadline "$DEADLINE" \
        --rss-pids "$WPIDS" --rss-first "$FIRST" >"$W/memory.out" 2>&1
    check "soak: memory phase: clients finished (none stuck)" [ $? -eq 0 ]
    cat "$W/memory.out"
fi
check "soak: relay queue drained" drain "$W/up"
check "soak: plugin Exim queue drained" drain "$W/ex"

# the ledger
tx=(--tx "$W/faulted.jsonl"); [ -f "$W/memory.jsonl" ] && tx+=(--tx "$W/memory.jsonl")
$PY "$TOP/tests/soak/ledger.py" "${tx[@]}" --mail "$W/up/mail/inbox" --mail "$W/ex/mail/inbox" \
    --dns "$W/dns" --faults "$W/faults" --spill $((128 * 1024)) >"$W/ledger.out" 2>&1
lrc=$?
cat "$W/ledger.out"
check "soak: ledger: every 250 delivered once, intact, signed and aligned; nothing refused delivered" [ $lrc -eq 0 ]

# no crash: nginx workers, Exim's panic logs (the store alarms are expected there)
check "soak: no nginx worker exited on a signal" bash -c '! grep -q "exited on signal" "$1"' _ "$W/n/logs/error.log"
# (with -C, Exim says "exim user lost privilege" at each re-exec: expected)
unexpected() { cat "$W/up/log/paniclog" "$W/ex/log/paniclog" 2>/dev/null | grep -v -e 'tenantalign: .*store' -e 'lost privilege for using -C'; }
panics=$(unexpected | grep -c .)
check "soak: nothing unexpected in Exim's panic logs ($panics lines)" [ "$panics" -eq 0 ]
[ "$panics" -eq 0 ] || unexpected | head -5
# nginx must speak clean SMTP upstream whatever its clients do
check "soak: the relay saw no protocol error from nginx" \
    bash -c '! grep -E "too many syntax or protocol errors|synchronization error" "$1" | grep -q .' _ "$W/up/log/mainlog"
grep -E "too many syntax or protocol errors|synchronization error" "$W/up/log/mainlog" | head -3 | sed 's/^/# /'
check "soak: no Exim process with the plugin died of a signal" \
    bash -c '! grep -E "signal ([0-9]|1[0-46-9]|[2-9][0-9])\b|crash" "$1" | grep -q .' _ "$W/ex/log/mainlog"

# memory: each worker's RSS at the end against its RSS after FIRST messages
rss=""
rssok=1
while read -r _ pid first last; do
    [ -n "$first" ] && [ "$first" != None ] && [ "$last" != None ] || { rssok=0; continue; }
    grow=$((last - first)); lim=$(( first / 10 > 8192 ? first / 10 : 8192 ))
    rss="$rss${rss:+,}$pid:${first}k->${last}k"
    [ "$grow" -le "$lim" ] || rssok=0
done < <(grep '^rss ' "$W/memory.out" 2>/dev/null)
at=$(sed -n 's/^rss-at //p' "$W/memory.out" 2>/dev/null)
diag "nginx worker RSS after ${at%% *} and after ${at##* } messages through nginx: $rss"
# the sharper test: sampled through the run, a leak lifts the later half's
# peak over the earlier half's; a worker that had little of the first
# messages does not pass it on the 8 MB floor alone
peaks=""
peaksok=1
while read -r _ pid early late; do
    [ -n "$late" ] && [ "$early" != None ] && [ "$late" != None ] || { peaksok=0; continue; }
    lim=$(( early / 10 > 4096 ? early / 10 : 4096 ))
    peaks="$peaks${peaks:+,}$pid:${early}k->${late}k"
    [ $((late - early)) -le "$lim" ] || peaksok=0
done < <(grep '^rss-peaks ' "$W/memory.out" 2>/dev/null)
diag "nginx worker RSS peaks, earlier and later half of the memory phase: $peaks"
if [ "$BOUND" = 1 ]; then
    check "soak: nginx worker RSS flat: at most max(8 MB, 10 %) above its RSS after ${at%% *} messages" [ $rssok = 1 ]
    check "soak: nginx worker RSS peak of the later half at most max(4 MB, 10 %) above the earlier half's" [ $peaksok = 1 ]
fi

summary=$(sed -n 's/^ledger: //p' "$W/ledger.out")
echo "soak: $summary rss=[${rss:-none}] after=[${at:-}] peaks=[${peaks:-none}] time=$(( $(date +%s) - T0 ))s tap_failures=$_ta_failures"
finish

#!/usr/bin/env bash
# bench/exim/run.sh - messages/s through a real Exim relaying to postfix's
# smtp-sink: plain Exim, Exim signing with its own transport DKIM, and Exim
# with the tenantalign plugin (rsa2048, ed25519), concurrency 1 and 8; CPU per
# message (the Exim daemon's reaped children); and what the plugin adds per
# connection. Not a test: prints one table. MSGS=N to change the load.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP"
. tests/lib.sh
. tests/e2e/lib_exim.sh
MSGS=${MSGS:-160}
W=$(mktemp -d /tmp/ta-bench-exim.XXXXXX); chmod 755 "$W"
PF=$TOP/build/postfix-tools
trap 'exim_stop "$W/e" 2>/dev/null; [ -n "${SINK:-}" ] && kill $SINK 2>/dev/null; rm -rf "$W"' EXIT

# postfix's smtp-sink, unpacked (installing postfix would remove exim4)
if [ ! -x "$PF/usr/sbin/smtp-sink" ]; then
    (cd "$W" && apt-get download postfix >/dev/null 2>&1) && dpkg-deb -x "$W"/postfix_*.deb "$PF" || { echo "no smtp-sink"; exit 1; }
fi
LD_LIBRARY_PATH=$PF/usr/lib/postfix "$PF/usr/sbin/smtp-sink" -u nobody -c 127.0.0.1:2799 1000 >/dev/null &
SINK=$!
sleep 0.3

exim_setup "$W/e" 2790 local_scan >/dev/null || exit 1
# bench tenants: one key each, so each run signs once
cat >"$W/e/bench.src" <<SRC
dns_check off;
tenant brsa { login brsa; identity acme.example { mode domain; return_path bounces.acme.example;
    key s1 { algorithm rsa-sha256; file keys/acme.example.s1.pem; state active; } } }
tenant bed { login bed; identity acme.example { mode domain; return_path bounces.acme.example;
    key e1 { algorithm ed25519-sha256; file keys/acme.example.e1.pem; state active; } } }
tenant plain { login plain; identity acme.example { mode domain; policy monitor; } }
SRC
"$TA" compile --quiet "$W/e/bench.src" "$W/e/tenants.cdb" 2>/dev/null && chgrp Debian-exim "$W/e/tenants.cdb"
cp "$W/e/keys/acme.example.s1.pem" "$W/e/exim-dkim-rsa.pem"; cp "$W/e/keys/acme.example.e1.pem" "$W/e/exim-dkim-ed.pem"
chgrp Debian-exim "$W/e"/exim-dkim-*.pem; chmod 640 "$W/e"/exim-dkim-*.pem
# relay everything to the sink; optional Exim DKIM on the transport
cp "$W/e/exim.conf" "$W/e/exim.base"
variant() {     # variant plugin|plain|eximdkim-rsa|eximdkim-ed
    local v=$1 dkim=""
    sed -e "s#^  driver = accept#  driver = manualroute\n  route_data = 127.0.0.1::2799\n  self = send#" \
        -e "s#^  transport = maildir#  transport = to_sink#" "$W/e/exim.base" >"$W/e/exim.conf"
    case $v in
    eximdkim-rsa) dkim="  dkim_domain = acme.example\n  dkim_selector = s1\n  dkim_private_key = $W/e/exim-dkim-rsa.pem\n  dkim_canon = relaxed" ;;
    eximdkim-ed)  dkim="  dkim_domain = acme.example\n  dkim_selector = e1\n  dkim_private_key = $W/e/exim-dkim-ed.pem\n  dkim_canon = relaxed" ;;
    esac
    # deliver every message at once, however many a connection carries
    sed -i 's/^message_size_limit = .*/&\nsmtp_accept_queue_per_connection = 0/' "$W/e/exim.conf"
    if [ "$v" = plugin-preload ]; then
        sed -i "s|^smtp_accept_queue_per_connection = 0|&\nsmtp_accept_max_per_host = \${dlfunc{$EXIM_SO}{tenantalign_preload}{0}}|" "$W/e/exim.conf"
    elif [ "$v" = plugin-preload-keys ]; then
        sed -i "s|^smtp_accept_queue_per_connection = 0|&\nsmtp_accept_max_per_host = \${dlfunc{$EXIM_SO}{tenantalign_preload}{0}{keys}}|" "$W/e/exim.conf"
    elif [ "$v" != plugin ]; then
        sed -i -e '/^local_scan_path/d' -e '/tenantalign_mail/,+4d' "$W/e/exim.conf"
    fi
    printf 'to_sink:\n  driver = smtp\n  hosts_try_fastopen =\n%b\n' "$dkim" >"$W/e/transport"
    sed -i "/^begin transports\$/r $W/e/transport" "$W/e/exim.conf"
}
# CPU of the whole machine (Exim's receiving and delivery processes, the load
# client, the sink), in ticks: deliveries are detached from the daemon, so
# its own children's times would miss them. Same client and sink in every row.
cpu_all() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8}' /proc/stat; }
HZ=$(getconf CLK_TCK)
drained() {     # until Exim's queue is empty (every message delivered to the sink)
    local i
    for i in $(seq 600); do
        [ -z "$(find "$W/e/spool/input" -name '*-D' 2>/dev/null | head -1)" ] && return 0
        sleep 0.1
    done
    return 1
}

run() {     # run VARIANT LOGIN CONC -> "msgs/s p50 p99 cpu_ms"
    local v=$1 login=$2 conc=$3 c0 c1 t0 t1 out
    exim_stop "$W/e"; sleep 0.2
    variant "$v"
    exim_start "$W/e" || { echo "0 0 0 0"; return; }
    /usr/bin/python3 bench/exim/load.py --port 2790 --login "$login" --conc "$conc" --msgs 8 >/dev/null   # warm up
    drained
    c0=$(cpu_all); t0=$(date +%s.%N)
    out=$(/usr/bin/python3 bench/exim/load.py --port 2790 --login "$login" --conc "$conc" --msgs "$MSGS")
    drained
    t1=$(date +%s.%N); c1=$(cpu_all)
    # msgs/s counts delivered messages (queue drained); latency is the client's
    awk -v n="$MSGS" -v t0="$t0" -v t1="$t1" -v c0="$c0" -v c1="$c1" -v hz="$HZ" -v o="$out" \
        'BEGIN{split(o, f, " "); printf "%.1f %s %s %.1f", n/(t1-t0), f[2], f[3], (c1-c0)*1000/hz/n}'
}

if [ "${PER_CONNECTION_ONLY:-0}" != 1 ]; then
echo "## Exim relay -> smtp-sink, 2 KB messages, $MSGS per run, connection reused"
echo
echo "| path | conc | delivered msgs/s | p50 ms | p99 ms | CPU ms/msg (all processes) |"
echo "|---|---|---|---|---|---|"
for conc in 1 8; do
    for spec in "plain plain" "eximdkim-rsa plain" "eximdkim-ed plain" "plugin brsa" "plugin bed"; do
        set -- $spec
        r=$(run "$1" "$2" "$conc")
        name=$1; [ "$1" = plugin ] && name="tenantalign plugin ($2)"; [ "$2" = plain ] && [ "$1" = plugin ] && name="tenantalign plugin (monitor, no key)"
        printf '| %s | %s | %s | %s | %s | %s |\n' "$name" "$conc" $r
    done
done

echo
fi
echo "## What the plugin adds per connection (one message per connection, sequential)"
echo
echo "| path | delivered msgs/s | p50 ms | p99 ms | CPU ms/msg (all processes) | plugin's own time per decision, median us |"
echo "|---|---|---|---|---|---|"
MSGS=${PC_MSGS:-40}
for spec in "plain plain" "eximdkim-rsa plain" "plugin brsa" "plugin-preload brsa" "plugin-preload-keys brsa"; do
    set -- $spec
    exim_stop "$W/e"; sleep 0.2; variant "$1"; exim_start "$W/e"; sleep 0.3
    c0=$(cpu_all); t0=$(date +%s.%N)
    l0=$(wc -l <"$W/e/log/mainlog" 2>/dev/null || echo 0)
    out=$(/usr/bin/python3 bench/exim/load.py --port 2790 --login "$2" --conc 1 --msgs $MSGS --per-connection)
    drained; t1=$(date +%s.%N); c1=$(cpu_all)
    us=$(tail -n +$((l0 + 1)) "$W/e/log/mainlog" | grep -o 'us=[0-9]*' | sed 's/us=//' | sort -n | awk '{a[NR]=$1} END{print NR ? a[int((NR+1)/2)] : "-"}')
    printf '| %s | %s | %s |\n' "$1" "$(awk -v n="$MSGS" -v t0="$t0" -v t1="$t1" -v c0="$c0" -v c1="$c1" -v hz="$HZ" -v o="$out" \
        'BEGIN{split(o, f, " "); printf "%.1f | %s | %s | %.1f", n/(t1-t0), f[2], f[3], (c1-c0)*1000/hz/n}')" "$us"
done
grep -o 'us=[0-9]*' "$W/e/log/mainlog" | sed 's/us=//' | sort -n | awk '{a[NR]=$1} END{if (NR) printf "\nplugin time per decision (its own log, us): median %d, max %d over %d messages\n", a[int((NR+1)/2)], a[NR], NR}'

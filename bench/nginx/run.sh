#!/usr/bin/env bash
# bench/nginx/run.sh - messages/s and latency through Debian's nginx mail proxy
# with ngx_mail_tenantalign_module (rsa2048, ed25519) beside the same nginx
# proxying without it (tenantalign off), to bench/nginx/sink.c (an SMTP sink
# that offers CHUNKING, which postfix's smtp-sink does not); 2 KB, 50 KB and
# 5 MB, concurrency 1 and 8; signing on the loop, in the thread pool, and with
# BDAT upstream; the nginx worker's CPU per message, set against
# the RSA-2048 sign operation measured in the same run; worker memory per
# in-flight message. Not a test: prints tables. MSGS=N to change the load,
# ROUNDS=N the repetitions (medians are printed), SIZES, CONCS and SPECS the
# rows, NGINX_WORKERS=auto Debian's worker_processes (default 1; the memory
# figures need one worker and are left out otherwise).
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP"
. tests/lib.sh
. tests/e2e/lib_nginx.sh
MSGS=${MSGS:-800}
. bench/nginx/setup.sh
HZ=$(getconf CLK_TCK)
NCPU=$(nproc)
ROUNDS=${ROUNDS:-3}
floors=$("$BUILD/bench/bench_dkim" 0.5)
floor=$(sed -n 's/^| rsa2048 sign | [0-9]*\/s (\([0-9]*\) us) |$/\1/p' <<<"$floors")
floor_ed=$(sed -n 's/^| ed25519 sign | [0-9]*\/s (\([0-9]*\) us) |$/\1/p' <<<"$floors")
# busy ticks of the whole machine: client, sink, nginx and the kernel's loopback work
busy() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8}' /proc/stat; }

run() {     # run PORT LOGIN CONC SIZE -> "msgs/s p50 p99 fail worker_us machine_us"
    local c0 c1 b0 b1 out n=$MSGS
    [ "$4" -gt 100000 ] && n=$((MSGS / 20))
    /usr/bin/python3 bench/nginx/load.py "$1" "$2" "$3" 16 "$4" >/dev/null
    c0=$(cpu); b0=$(busy)
    out=$(/usr/bin/python3 bench/nginx/load.py "$1" "$2" "$3" "$n" "$4")
    c1=$(cpu); b1=$(busy)
    echo "$out $(awk -v a="$c0" -v b="$c1" -v hz="$HZ" -v n="$n" 'BEGIN{printf "%.0f", (b-a)*1e6/hz/n}')" \
         "$(awk -v a="$b0" -v b="$b1" -v hz="$HZ" -v n="$n" 'BEGIN{printf "%.0f", (b-a)*1e6/hz/n}')"
}

# The machine is noisy: every path runs ROUNDS times, the rounds interleaved
# (stock, then each module path, again), and each figure is the median of
# its rounds; a ratio is the median of the per-round ratios, each against
# the stock run of its own round.
raw=$W/raw
: >"$raw"
for size in ${SIZES:-2048 51200 5242880}; do
    for conc in ${CONCS:-1 8}; do
        for round in $(seq "$ROUNDS"); do
            read -r s_rate s_p50 s_p99 s_fail s_cpu s_all <<<"$(run 2892 brsa $conc $size)"
            echo "$size $conc stock $s_rate 1 $s_p50 $s_p99 $s_cpu $s_all - $s_fail" >>"$raw"
            # port_login
            for spec in ${SPECS:-2897_bnone 2890_bed 2896_bed 2890_brsa 2894_brsa 2895_brsa}; do
                set -- ${spec/_/ }
                port=$1 login=$2
                read -r rate p50 p99 fail cpu_us all_us <<<"$(run $port $login $conc $size)"
                alg=ed25519; [ $login = brsa ] && alg=rsa2048
                [ $port = 2890 ] && alg="$alg,DATA"
                [ $port = 2894 ] && alg="$alg,pool,DATA"
                [ $port = 2895 ] && alg="$alg,pool,BDAT"
                [ $port = 2896 ] && alg="$alg,auto"
                [ $login = bnone ] && alg="unsigned,auto"
                extra=-
                [ $login = brsa ] && extra=$(awk -v c="$cpu_us" -v s="$s_cpu" -v f="$floor" 'BEGIN{printf "%.2f", (c-s)/f}')
                echo "$size $conc $alg $rate $(awk -v a="$rate" -v b="$s_rate" 'BEGIN{print a/b}') $p50 $p99 $cpu_us $all_us $extra $fail" >>"$raw"
            done
        done
    done
done

echo "## nginx mail proxy (worker_processes ${NGINX_WORKERS:-1}) -> bench/nginx/sink.c, $MSGS messages per run, medians of $ROUNDS interleaved rounds"
echo "## (same run: RSA-2048 sign ${floor} us, Ed25519 sign ${floor_ed} us)"
echo
/usr/bin/python3 - "$raw" <<'PY'
import sys, statistics
rows, order = {}, []
for line in open(sys.argv[1]):
    f = line.split()
    key = tuple(f[:3])
    if key not in rows:
        rows[key] = []
        order.append(key)
    rows[key].append(f[3:])
def med(vals, fmt):
    v = [float(x) for x in vals if x != "-"]
    return fmt % statistics.median(v) if v else ""
print("| size | conc | path | msgs/s | ratio to stock | p50 ms | p99 ms | worker CPU us/msg | machine CPU us/msg | extra worker CPU / RSA sign |")
print("|---|---|---|---|---|---|---|---|---|---|")
for key in order:
    r = rows[key]
    col = lambda i: [x[i] for x in r]
    path = "stock nginx" if key[2] == "stock" else "module, " + key[2].replace("pool", "thread pool").replace(
        "unsigned", "no signature (monitor mode: a tenant without keys)").replace(
        "auto", "defaults (BDAT auto)").replace(",", ", ")
    print("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (key[0], key[1], path,
          med(col(0), "%.0f"), med(col(1), "%.2f"), med(col(2), "%.2f"), med(col(3), "%.2f"),
          med(col(4), "%.0f"), med(col(5), "%.0f"), med(col(6), "%.2f")))
    failed = sum(int(x) for x in col(7))
    if failed:
        print("  (%d messages failed)" % failed)
PY
echo
[ "${NGINX_WORKERS:-1}" = 1 ] || exit 0
# VmHWM only grows: a fresh worker, and the spilled case (smaller peak) first
nginx_stop "$W/n"; nginx_start "$W/n" || exit 1
/usr/bin/python3 bench/nginx/load.py 2890 bed 8 16 2048 >/dev/null
rss0=$(awk '/VmHWM/ {print $2}' "/proc/$(worker)/status")
/usr/bin/python3 bench/nginx/load.py 2890 bed 8 16 5242880 >/dev/null
hwm1=$(awk '/VmHWM/ {print $2}' "/proc/$(worker)/status")
/usr/bin/python3 bench/nginx/load.py 2893 bed 8 16 5242880 >/dev/null
hwm2=$(awk '/VmHWM/ {print $2}' "/proc/$(worker)/status")
echo "worker memory, 8 x 5 MB (5,120 kB) messages in flight: peak RSS after 2 KB messages ${rss0} kB;"
echo "- default tenantalign_buffer_size 1m (spilled): peak ${hwm1} kB, $(( (hwm1 - rss0) / 8 )) kB per in-flight message"
echo "- tenantalign_buffer_size 8m (all in memory): peak ${hwm2} kB, at most $(( (hwm2 - rss0) / 8 )) kB per in-flight message (target: message size + 64 kB = 5,184 kB)"

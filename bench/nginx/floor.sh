#!/usr/bin/env bash
# bench/nginx/floor.sh - how near stock nginx the module could come with
# Ed25519 signing, on this machine. It builds a copy of the module with
# bench/nginx/floor.patch, in which tenant "floor" (no keys, monitor mode)
# pays what no DKIM signature can do without - SHA-256 of the body as
# received and one libsodium Ed25519 signature of that hash - and none of
# the rest (canonicalisation, header hash, the field, key lookup), and
# alternates four paths: stock nginx (tenantalign off), the module without a
# signature, that floor, and the module signing with ed25519 (the defaults).
# Each round runs the four in a rotated order, as the path run right after
# stock measured faster; printed are the medians and quartiles of the
# per-round ratios to stock and the worker's user and system CPU per
# message (nginx runs one worker). Not a test. SIZES (default "2048
# 5242880"), ROUNDS (15), MSGS (3000 messages per run; a fiftieth of that
# above 100 KB), CONC (8).
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP"
. tests/lib.sh
ROUNDS=${ROUNDS:-15} MSGS=${MSGS:-3000} CONC=${CONC:-8} SIZES=${SIZES:-2048 5242880}
W=$(mktemp -d /tmp/ta-bench-nginx.XXXXXX)
trap 'rm -rf "$W"' EXIT
mkdir "$W/src"
cp -a Makefile common nginx "$W/src/"
patch -s -d "$W/src" -p1 <bench/nginx/floor.patch || exit 1
make -s -C "$W/src" BUILD="$W/build" lib nginx >"$W/build.log" 2>&1 || { tail -20 "$W/build.log"; exit 1; }
NGINX_SO=$W/build/ngx_mail_tenantalign_module.so
. tests/e2e/lib_nginx.sh
. bench/nginx/setup.sh

ticks() { awk '{print $14, $15}' "/proc/$(worker)/stat"; }
paths=(2892:bnone 2897:bnone 2897:floor 2896:bed)
raw=$W/raw
for size in $SIZES; do
    n=$MSGS
    [ "$size" -gt 100000 ] && n=$((MSGS / 50))
    for r in $(seq "$ROUNDS"); do
        for i in 0 1 2 3; do
            p=${paths[$(((i + r) % 4))]}
            /usr/bin/python3 bench/nginx/load.py "${p%%:*}" "${p#*:}" "$CONC" $((n / 10 > CONC ? n / 10 : CONC)) "$size" >/dev/null
            read -r u0 s0 <<<"$(ticks)"
            out=$(/usr/bin/python3 bench/nginx/load.py "${p%%:*}" "${p#*:}" "$CONC" "$n" "$size")
            read -r u1 s1 <<<"$(ticks)"
            echo "$size $n $r $p $out $((u1 - u0)) $((s1 - s0))" >>"$raw"
        done
    done
done
echo "## nginx mail proxy, concurrency $CONC, $ROUNDS rounds of $MSGS messages per path (a fiftieth above 100 KB)"
echo
/usr/bin/python3 - "$raw" "$(getconf CLK_TCK)" <<'PY'
import sys, statistics as st, collections
hz = int(sys.argv[2])
names = {"2892:bnone": "stock nginx", "2897:bnone": "module, no signature (monitor, a tenant without keys)",
         "2897:floor": "floor: the same + SHA-256 of the body + one Ed25519 signature",
         "2896:bed": "module, ed25519 (defaults)"}
runs, sizes = collections.defaultdict(dict), []
for line in open(sys.argv[1]):
    size, n, r, p, rate, p50, p99, fail, u, s = line.split()
    n = int(n)
    runs[size, p][r] = (float(rate), float(u) * 1e6 / hz / n, float(s) * 1e6 / hz / n, int(fail))
    if size not in sizes:
        sizes.append(size)
print("| size | path | msgs/s | ratio to stock: median (quartiles) | worker user us/msg | worker system us/msg |")
print("|---|---|---|---|---|---|")
for size in sizes:
    for p in names:
        d, base = runs[size, p], runs[size, "2892:bnone"]
        ratio = [d[r][0] / base[r][0] for r in d]
        q = st.quantiles(ratio, n=4) if len(ratio) > 1 else [ratio[0]] * 3
        med = lambda i: st.median(v[i] for v in d.values())
        print("| %s | %s | %.0f | %.2f (%.2f-%.2f) | %.0f | %.0f |" % (
            size, names[p], med(0), st.median(ratio), q[0], q[2], med(1), med(2)))
        if sum(v[3] for v in d.values()):
            print("  (%d messages failed)" % sum(v[3] for v in d.values()))
PY

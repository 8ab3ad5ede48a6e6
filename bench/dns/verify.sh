#!/usr/bin/env bash
# bench/dns/verify.sh - `tenantalign verify` of N identities (default
# 10,000; N=...) against a local authoritative server (knot on 127.0.0.1)
# serving their records as `tenantalign dns` plans them: each identity a
# domain of its own with an Ed25519 key, a return path (MX and SPF, whose
# include is one more lookup) and a DMARC record. Prints the wall time, the
# time per identity and the queries per second knot answered (its
# mod-stats), at each CONCS concurrency (default "8 32"). Target: 10,000
# identities in at most 10 s. Not a test: prints a table.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/tests/lib.sh"
. "$TOP/tests/dns/lib_knot.sh"
N=${N:-10000}
PORT=${PORT:-3320}
W=$(mktemp -d /tmp/ta-bench-dns.XXXXXX)
trap 'knot_stop "$W/knot"; rm -rf "$W"' EXIT
cd "$W" || exit 1
mkdir keys
"$TA" keygen --alg ed25519 --domain bench.example --selector b1 --out keys >/dev/null 2>&1
{ printf 'provider { return_path_mx mx.esp.example 10; spf_include _spf.esp.example; egress 192.0.2.10; dmarc_rua mailto:d@esp.example; }\n'
  printf 'tenant bulk { login bulk;\n'
  for i in $(seq -w 1 "$N"); do
      printf '  identity d%s.bench.example { mode domain; return_path rp.d%s.bench.example;\n' "$i" "$i"
      printf '    key b1 { algorithm ed25519-sha256; file keys/bench.example.b1.pem; state active; } }\n'
  done
  printf '}\n'; } >tenants.conf
"$TA" compile --quiet tenants.conf tenants.cdb 2>/dev/null || { echo "compile failed"; exit 1; }
"$TA" dns tenants.conf >records.zone || { echo "dns failed"; exit 1; }
ZONES="example esp.example"
mkdir knot
for z in $ZONES; do zone_head "$z" >"knot/$z.zone"; done
printf 'esp\tIN\tNS\tns.esp.example.\n' >>knot/example.zone
printf '_spf\tIN\tTXT\t"v=spf1 ip4:192.0.2.10 -all"\nmx\tIN\tA\t192.0.2.25\n' >>knot/esp.example.zone
grep -v '^;' records.zone | grep -v '^$' >>knot/example.zone
knot_start "$W/knot" "$PORT" $ZONES || { echo "knot did not start"; exit 1; }
echo "## tenantalign verify, $N identities, knot on 127.0.0.1 ($(nproc) cores)"
echo
echo "| concurrency | wall s | ms per identity | queries/s | result |"
echo "|---|---|---|---|---|"
for conc in ${CONCS:-8 32}; do
    q0=$(knot_queries "$W/knot")
    t0=$(date +%s%N)
    "$TA" verify --server "127.0.0.1:$PORT" --concurrency "$conc" tenants.conf >verify.out 2>verify.err
    rc=$?
    t1=$(date +%s%N)
    q1=$(knot_queries "$W/knot")
    awk -v c="$conc" -v ns=$((t1 - t0)) -v n="$N" -v q=$((q1 - q0)) -v rc="$rc" 'BEGIN {
        s = ns / 1e9; printf "| %d | %.2f | %.3f | %.0f | exit %d, %d queries |\n", c, s, s * 1000 / n, q / s, rc, q }'
done
grep -c ': OK$' verify.out | sed 's/^/identities OK in the last run: /'
# the state file: verify recording every result, and compile folding it in
t0=$(date +%s%N)
"$TA" verify --server "127.0.0.1:$PORT" --state state tenants.conf >/dev/null 2>&1; rc=$?
t1=$(date +%s%N)
"$TA" compile --quiet --state state tenants.conf tenants.cdb 2>/dev/null
t2=$(date +%s%N)
awk -v a=$((t1 - t0)) -v b=$((t2 - t1)) -v n="$N" -v rc="$rc" -v lines="$(grep -c '^key ' state)" 'BEGIN {
    printf "verify --state (concurrency 8): %.2f s, exit %d, %d keys recorded; compile --state: %.2f s (%.3f ms per identity)\n",
           a / 1e9, rc, lines, b / 1e9, b / 1e6 / n }'

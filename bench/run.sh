#!/usr/bin/env bash
# bench/run.sh [store|dkim|policy|counters|engine|exim|nginx|nginx-floor|dns ...]: run the
# benchmarks (all by default) and print their tables. Not tests: figures
# vary with the machine; each table carries its own baseline measured in the
# same run.
set -u
cd "$(dirname "$0")/.."
B=${BUILD:-build}
want=${*:-store dkim policy counters engine exim nginx nginx-floor dns}
for b in $want; do
    case $b in
    store)  "$B/bench/bench_store" ;;
    dkim)   "$B/bench/bench_dkim"; echo; bash bench/dkim/peers.sh ;;
    policy) "$B/bench/bench_policy" ;;
    counters) "$B/bench/bench_counters" ;;
    engine) "$B/bench/bench_engine" ;;
    exim)   [ -x bench/exim/run.sh ] && bash bench/exim/run.sh || echo "(no Exim benchmark yet)" ;;
    nginx)  [ -x bench/nginx/run.sh ] && bash bench/nginx/run.sh || echo "(no nginx benchmark yet)" ;;
    nginx-floor) bash bench/nginx/floor.sh ;;
    dns)    bash bench/dns/verify.sh ;;
    *) echo "unknown benchmark $b" >&2; exit 64 ;;
    esac
    echo
done

#!/usr/bin/env bash
# run-one.sh FUZZER SECONDS: run one libFuzzer target from its seed corpus
# for SECONDS; ok when it finds nothing.
set -u
f=$1 secs=$2
name=$(basename "$f")
top=$(cd "$(dirname "$0")/../.." && pwd)
seeds="$top/tests/fuzz/corpus/$name"
work="$top/build/fuzz/work/$name"
mkdir -p "$work"
args=("$work")
[ -d "$seeds" ] && args+=("$seeds")
if "$f" -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$work/" "${args[@]}" >"$work.log" 2>&1; then
    echo "ok $name ran ${secs}s: $(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$work.log" | grep -o '[0-9]*$') inputs"
else
    tail -n 40 "$work.log"
    echo "not ok $name (crash reproducer in $work)"
    exit 1
fi

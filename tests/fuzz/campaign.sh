#!/usr/bin/env bash
# campaign.sh - the long fuzz campaign (tests/fuzz/CAMPAIGN.md), one run at a time.
#
#   tests/fuzz/campaign.sh run FUZZER SECONDS [CPU]
#                                               fuzz from the committed corpus plus
#                                               the campaign's own, at nice 19, for
#                                               SECONDS of wall time or until the
#                                               fuzzer has had CPU seconds, and
#                                               append one line to the run log
#   tests/fuzz/campaign.sh merge FUZZER         minimize committed + campaign corpus
#                                               into tests/fuzz/corpus/NAME
#   tests/fuzz/campaign.sh replay FUZZER        run every committed input once
#   tests/fuzz/campaign.sh report               CPU hours so far per target, from
#                                               the run log (a Markdown table)
#
# The run log (tests/fuzz/campaign-runs.log, committed: the campaign's
# record) has one line per run: UTC start, target, the commit it was built
# from, wall seconds, CPU seconds (user+sys, what the 1 CPU-hour counts),
# execs, final cov/ft, corpus size, and what a stop found: "crash(FILE)" when
# the artifact crashes again when run alone, "not-reproduced(FILE)" when it
# does not (a niced run starved past its timeout), "stopped" when it was
# stopped with SIGINT (pkill -INT -f build/campaign/fuzz/): the way to pause
# the campaign, since a run paused with SIGSTOP ends in a false timeout.
# CPU time, not wall time, is what counts: the campaign runs niced beside
# other work and may get a fraction of a CPU.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
log="$top/tests/fuzz/campaign-runs.log"
cmd=${1:-}
if [ "$cmd" = report ]; then
    # every target in tests/fuzz/, with or without runs
    for t in "$top"/tests/fuzz/fuzz_*.c; do basename "$t" .c; done |
    awk -v runlog="$log" '
        BEGIN {
            while ((getline line < runlog) > 0) {
                n = split(line, w, " ")
                t = w[2]
                for (i = 3; i <= n; i++) {
                    if (w[i] ~ /^cpu=/)   cpu[t] += substr(w[i], 5)
                    if (w[i] ~ /^execs=/) execs[t] += substr(w[i], 7)
                }
                runs[t]++
                last[t] = substr(w[1], 1, 10)
            }
            print "| target | runs | CPU hours | execs | last run | of 1 CPU-hour |"
            print "|---|---|---|---|---|---|"
        }
        {
            h = cpu[$1] / 3600
            printf "| %s | %d | %.2f | %d | %s | %s |\n", $1, runs[$1], h, execs[$1],
                   (runs[$1] ? last[$1] : "-"), (h >= 1 ? "done" : sprintf("%d%%", h * 100))
        }'
    exit 0
fi
f=${2:-}
name=$(basename "$f")
seeds="$top/tests/fuzz/corpus/$name"
work="$top/build/fuzz-campaign/$name"
mkdir -p "$work/corpus" "$work/crashes"

case $cmd in
run)
    secs=$3
    cpu_budget=${4:-}
    start=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    commit=$(git -C "$top" rev-parse --short=7 HEAD 2>/dev/null || echo unknown)
    t0=$(date +%s)
    out="$work/run-$(date -u +%Y%m%dT%H%M%S).log"
    args=("$work/corpus")
    [ -d "$seeds" ] && args+=("$seeds")
    # a CPU budget: several lanes share the CPUs, so wall time says little
    # about what a run had; a watcher stops the fuzzer with SIGINT once its
    # own user+system time reaches the budget, and leaves a mark that it did
    budget_mark="$out.budget"
    if [ -n "$cpu_budget" ]; then
        (
            tck=$(getconf CLK_TCK)
            while sleep 5; do
                timer=$(pgrep -P $$ -x time) || continue
                pid=$(pgrep -P "$timer") || continue
                ticks=$(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null) || continue
                if [ "$ticks" -ge $(( cpu_budget * tck )) ]; then
                    touch "$budget_mark"; kill -INT "$pid"; exit 0
                fi
            done
        ) &
        watcher=$!
    fi
    # -timeout is generous: a niced run can be starved for seconds on a busy
    # machine; a timeout found is run again alone below before it counts
    /usr/bin/time -f 'cpu %U %S' -o "$out.time" nice -n 19 "$f" \
        -max_total_time="$secs" -max_len=65536 -timeout="${TIMEOUT:-120}" -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$work/crashes/" "${args[@]}" >"$out" 2>&1
    rc=$?
    [ -n "$cpu_budget" ] && kill "$watcher" 2>/dev/null
    wall=$(( $(date +%s) - t0 ))
    cpu=$(awk '/^cpu/ { printf "%.0f", $2 + $3 }' "$out.time")
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$out" | grep -o '[0-9]*$')
    last=$(grep -E '^#[0-9]+' "$out" | tail -n 1)
    cov=$(grep -o 'cov: [0-9]*' <<<"$last" | grep -o '[0-9]*')
    ft=$(grep -o 'ft: [0-9]*' <<<"$last" | grep -o '[0-9]*')
    corp=$(grep -o 'corp: [0-9]*' <<<"$last" | grep -o '[0-9]*')
    finding=none
    if [ $rc -eq 72 ] && [ -e "$budget_mark" ]; then
        # stopped by the watcher: the run had its CPU budget
        finding=none
    elif [ $rc -eq 72 ]; then
        # libFuzzer's exit code for SIGINT: the run was stopped on purpose
        # (between sessions, or to quiet the machine), nothing was found
        finding=stopped
    elif [ $rc -ne 0 ]; then
        a=$(ls -t "$work/crashes" | head -n 1)
        # the artifact alone, not niced: does it really crash or hang?
        if timeout 60 "$f" -timeout=10 "$work/crashes/$a" >"$out.again" 2>&1; then
            finding="not-reproduced($a)"
        else
            finding="crash($a)"
        fi
    fi
    printf '%s %s commit=%s wall=%s cpu=%s execs=%s cov=%s ft=%s corp=%s finding=%s\n' \
        "$start" "$name" "$commit" "$wall" "$cpu" "${execs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" \
        "$finding" >>"$log"
    tail -n 1 "$log"
    [ $rc -eq 72 ] && exit 0
    exit $rc ;;
merge)
    # -merge=1 keeps the smallest set of inputs that covers what all of them cover
    new="$work/merged"
    rm -rf "$new"; mkdir -p "$new" "$seeds"
    "$f" -merge=1 -max_len=65536 -timeout=10 -rss_limit_mb=2048 "$new" "$seeds" "$work/corpus" \
        >"$work/merge.log" 2>&1 || { tail -n 20 "$work/merge.log"; exit 1; }
    # inputs named by hand (a finding's artifact, cited in CAMPAIGN.md) stay
    # under their names; -merge=1 would keep them only as a hash, or not at all
    find "$seeds" -maxdepth 1 -type f ! -regex '.*/[0-9a-f]\{40\}' -exec cp -p {} "$new/" \;
    rm -rf "$seeds"; mv "$new" "$seeds"
    echo "$name: $(ls "$seeds" | wc -l) inputs, $(du -sk "$seeds" | cut -f1) KB" ;;
replay)
    # every committed input once (libFuzzer runs files given as arguments and exits)
    [ -d "$seeds" ] || { echo "ok $name: no corpus"; exit 0; }
    if find "$seeds" -type f -print0 | xargs -0 -r "$f" -runs=1 -timeout=10 \
            -rss_limit_mb=2048 >"$work/replay.log" 2>&1; then
        echo "ok $name replayed $(ls "$seeds" | wc -l) inputs"
    else
        tail -n 30 "$work/replay.log"; echo "not ok $name replay"; exit 1
    fi ;;
*)
    sed -n '2,14p' "$0"; exit 64 ;;
esac

#!/usr/bin/env bash
# Runs every test and prints one summary line "N passed, N failed" (skips
# after it). Test programs print TAP-style lines ("ok X", "not ok X",
# "ok X # SKIP why"); a program that fails without saying which test failed
# counts as one failure under its own name.
#
# usage: tests/run.sh [--quick]   (--quick: no sanitizer build, no e2e)
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"
quick=0
[ "${1:-}" = "--quick" ] && quick=1
LOG=${LOG:-$TOP/build/test-logs}
mkdir -p "$LOG"
pass=0 failed=0 skipped=0
failed_names=()

# run_prog LABEL CMD...: run, keep the log, count its TAP lines
run_prog() {
    local label=$1; shift
    local log="$LOG/${label//\//_}.log" rc p f s
    echo "== $label"
    "$@" >"$log" 2>&1
    rc=$?
    p=$(grep -cE '^ok ' "$log"); s=$(grep -cE '^ok .*# SKIP' "$log")
    f=$(grep -cE '^not ok ' "$log")
    p=$((p - s))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1; echo "not ok $label (exit status $rc)" >>"$log"
    fi
    pass=$((pass + p)); failed=$((failed + f)); skipped=$((skipped + s))
    if [ "$f" -gt 0 ]; then
        failed_names+=("$label")
        grep -E '^not ok ' "$log" | sed 's/^/   /'
        tail -n 30 "$log" | sed 's/^/   | /'
    fi
    echo "   $p passed, $f failed, $s skipped ($log)"
}

export CMOCKA_MESSAGE_OUTPUT=TAP

# 1. unit tests, normal build
for t in build/tests/test_*; do
    [ -x "$t" ] || continue
    run_prog "unit/$(basename "$t")" "$t"
done

if [ $quick -eq 0 ]; then
    # 2. the same unit tests under ASan + UBSan
    for t in build/asan/tests/test_*; do
        [ -x "$t" ] || continue
        ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
            run_prog "asan/$(basename "$t")" "$t"
    done

    # 3. each fuzz target: its whole committed corpus replayed (ASan + UBSan),
    # then fuzzed briefly (longer: ./build.sh fuzz SECONDS; the campaign:
    # tests/fuzz/CAMPAIGN.md)
    for f in build/fuzz/fuzz_*; do
        [ -x "$f" ] || continue
        run_prog "fuzz/$(basename "$f") corpus" tests/fuzz/campaign.sh replay "$f"
        run_prog "fuzz/$(basename "$f")" tests/fuzz/run-one.sh "$f" "${FUZZ_SECONDS:-10}"
    done

    # 4. CLI, verifier and end-to-end scripts
    for s in tests/cli/*.sh tests/dkim/*.sh tests/dns/*.sh tests/e2e/*.sh tests/deb/*.sh tests/soak/soak_test.sh; do
        [ -f "$s" ] || continue
        case $(basename "$s") in lib_*) continue ;; esac   # sourced helpers
        run_prog "${s#tests/}" bash "$s"
    done
fi

echo
[ ${#failed_names[@]} -gt 0 ] && echo "failed in: ${failed_names[*]}"
echo "$pass passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]

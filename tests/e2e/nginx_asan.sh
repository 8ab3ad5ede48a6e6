#!/usr/bin/env bash
# tests/e2e/nginx_asan.sh - the whole nginx e2e suite once more with the
# module built with ASan + UBSan (make BUILD=build/asan SAN=1 nginx; the
# core library instrumented too), loaded into Debian's packaged nginx run
# with the sanitizers' runtimes preloaded (nginx itself is not rebuilt:
# that is the equivalent the issue allows); then the small faulted soak
# (tests/soak/soak_test.sh: both topologies, every fault once, the ledger)
# with the same module in nginx. Clean means every e2e and soak check
# passes and the sanitizers wrote no report.
. "$(dirname "$0")/../lib.sh"
SO=$TOP/build/asan/ngx_mail_tenantalign_module.so
[ -f "$SO" ] || { skip "nginx ASan" "module not built with SAN=1 ($SO)"; finish; }
[ -f "$(gcc -print-file-name=libasan.so)" ] || { skip "nginx ASan" "no libasan"; finish; }
R=$(mktemp -d /tmp/ta-nginx-asan.XXXXXX)
trap 'rm -rf "$R"' EXIT
chmod 1777 "$R"                     # the workers (Debian-exim) write their reports here
# suite_clean NAME LOG MIN: LOG (TAP lines) has no failure and more than MIN
# checks that ran (skips not counted)
suite_clean() {
    local passed failed
    passed=$(grep '^ok ' "$2" | grep -vc '# SKIP')
    failed=$(grep -c '^not ok ' "$2")
    grep -E '^not ok |^soak:' "$2" | sed 's/^/# /'
    check "$1 with the ASan+UBSan module: $passed ok, $failed not ok" [ "$failed" -eq 0 ] && [ "$passed" -gt "$3" ]
}
NGINX_SO=$SO NGINX_SAN=$R NGINX_TEST_PORT=${NGINX_ASAN_PORT:-2800} bash "$TOP/tests/e2e/nginx_e2e.sh" >"$R/e2e.log" 2>&1
suite_clean "the nginx e2e suite" "$R/e2e.log" 100
# ports 3900-3931: beside soak_test.sh's 3850-3881 and a full soak's 3800
NGINX_SO=$SO NGINX_SAN=$R SOAK_PORT=${NGINX_ASAN_SOAK_PORT:-3900} bash "$TOP/tests/soak/soak_test.sh" >"$R/soak.log" 2>&1
suite_clean "the small soak" "$R/soak.log" 5
reports=$(ls "$R" | grep -E '^(asan|ubsan)\.' || true)
check "no ASan or UBSan report" [ -z "$reports" ]
for f in $reports; do head -30 "$R/$f" | sed 's/^/# /'; done
finish

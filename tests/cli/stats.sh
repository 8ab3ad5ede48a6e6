#!/usr/bin/env bash
# tests/cli/stats.sh - `tenantalign stats` on counter tables written by the
# unit test's fixture writer (test_counters --write-fixture): Prometheus
# lines exactly (names, labels, escaping of a quote, a backslash, octets
# that are not UTF-8, a cut name), two tables summed, JSON, --top,
# --textfile, a damaged or missing table, usage errors, and the default
# directory (in a private mount namespace, when root).
. "$(dirname "$0")/../lib.sh"
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
cd "$TOP"
FIX=$BUILD/tests/test_counters
NOW=1800000000

if [ ! -x "$TA" ] || [ ! -x "$FIX" ]; then fail "stats: cli or test_counters missing (make all unit)"; finish; fi
"$FIX" --write-fixture "$W/exim.counters" exim && "$FIX" --write-fixture "$W/nginx.counters" nginx \
    || { fail "stats: fixture tables"; finish; }

# one table, Prometheus (the default)
out=$("$TA" stats --counters "$W/exim.counters" --now $NOW 2>"$W/err"); rc=$?
check "one table: exit 0, nothing on stderr" [ $rc -eq 0 ] && [ ! -s "$W/err" ]
want() { grep -qxF -- "$1" <<<"$out" || { diag "missing: $1"; return 1; }; }
not() { ! "$@"; }
check "accepted" want 'tenantalign_messages_total{tenant="acme",stream="transactional",verdict="accepted"} 3'
check "refused by class" want 'tenantalign_messages_total{tenant="acme",stream="transactional",verdict="refused",reason="not_aligned"} 1'
check "broadcast refusal" want 'tenantalign_messages_total{tenant="acme",stream="broadcast",verdict="refused",reason="unsubscribe_missing"} 2'
check "tempfailed by class" want 'tenantalign_messages_total{tenant="acme",stream="broadcast",verdict="tempfailed",reason="hourly_cap"} 1'
check "would_refuse" want 'tenantalign_messages_total{tenant="acme",stream="broadcast",verdict="would_refuse",reason="from_not_owned"} 1'
check "(none) row" want 'tenantalign_messages_total{tenant="(none)",stream="transactional",verdict="refused",reason="unknown_login"} 2'
check "signatures" want 'tenantalign_signatures_total{tenant="acme",stream="transactional",algorithm="ed25519-sha256"} 3'
check "bytes" want 'tenantalign_message_bytes_total{tenant="acme",stream="transactional"} 3000'
check "bytes relayed in monitor mode" want 'tenantalign_message_bytes_total{tenant="acme",stream="broadcast"} 100'
check "hourly window" want 'tenantalign_hour_messages{tenant="acme",stream="transactional"} 3'
check "quote and backslash escaped" want 'tenantalign_messages_total{tenant="we\"ird\\name",stream="transactional",verdict="accepted"} 1'
check "not UTF-8: \\xHH, valid UTF-8 kept" want 'tenantalign_messages_total{tenant="bad\\xffnameé",stream="transactional",verdict="accepted"} 1'
check "cut name ends in ~" want "tenantalign_messages_total{tenant=\"$(printf 'l%.0s' $(seq 87))~\",stream=\"transactional\",verdict=\"accepted\"} 1"
check "table gauges, by table" want "tenantalign_counter_tenants{table=\"$W/exim.counters\"} 5"
check "capacity" want "tenantalign_counter_capacity{table=\"$W/exim.counters\"} 62"
check "overflow" want "tenantalign_counter_overflow_total{table=\"$W/exim.counters\"} 0"
check "HELP and TYPE for every family" [ "$(grep -c '^# TYPE ' <<<"$out")" -eq 7 ] && [ "$(grep -c '^# HELP ' <<<"$out")" -eq 7 ]
check "TYPE counter/gauge" want '# TYPE tenantalign_messages_total counter' && want '# TYPE tenantalign_hour_messages gauge'
check "only non-zero series" not grep -qE '^[a-z_]+\{tenant=.*\} 0$' <<<"$out"
check "no timestamps: name{labels} value" bash -c '! grep -vE "^#|^[a-z_]+\{[^ ]*\} [0-9]+$" <<<"$1" | grep -v "tenant=\"we" | grep -q .' _ "$out"
# series sorted by tenant then stream within each family
order=$(grep '^tenantalign_messages_total' <<<"$out" | sed -E 's/^[^{]*\{tenant="(([^"\\]|\\.)*)",stream="([a-z]+)".*/\1 \3/' | uniq)
check "sorted by tenant, then stream" [ "$order" = "$(printf '%s\n' '(none) transactional' 'acme transactional' 'acme broadcast' 'bad\\xffnameé transactional' 'beta transactional' "$(printf 'l%.0s' $(seq 87))~ transactional" 'we\"ird\\name transactional')" ]
# the window moves: an hour later it is empty, and not shown
out2=$("$TA" stats --counters "$W/exim.counters" --now $((NOW + 3600)))
check "window empty an hour later" not grep -q '^tenantalign_hour_messages{' <<<"$out2"

# two tables: the same tenant summed, each table its own gauges
out=$("$TA" stats --counters "$W/exim.counters" --counters "$W/nginx.counters" --now $NOW); rc=$?
check "two tables: exit 0" [ $rc -eq 0 ]
check "two tables: acme summed" want 'tenantalign_messages_total{tenant="acme",stream="transactional",verdict="accepted"} 5'
check "two tables: signatures summed" want 'tenantalign_signatures_total{tenant="acme",stream="transactional",algorithm="ed25519-sha256"} 6'
check "two tables: window summed" want 'tenantalign_hour_messages{tenant="acme",stream="transactional"} 4'
check "two tables: a tenant of one" want 'tenantalign_messages_total{tenant="gamma",stream="broadcast",verdict="refused",reason="suspended"} 7'
check "two tables: one series each" [ "$(grep -c '^tenantalign_messages_total{tenant="acme",stream="transactional",verdict="accepted"}' <<<"$out")" -eq 1 ]
check "two tables: gauges of both" want "tenantalign_counter_tenants{table=\"$W/nginx.counters\"} 2"
"$TA" stats --prometheus --counters "$W/exim.counters" --counters "$W/nginx.counters" --now $NOW >"$W/p2"
check "--prometheus is the default" [ "$(cat "$W/p2")" = "$out" ]

# JSON
"$TA" stats --json --counters "$W/exim.counters" --counters "$W/nginx.counters" --now $NOW >"$W/j" 2>&1; rc=$?
check "json: exit 0" [ $rc -eq 0 ]
check "json: parses" python3 -c 'import json,sys; json.load(sys.stdin)' <"$W/j"
check "json: contents" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
t = {x["tenant"]: x["streams"] for x in d["tenants"]}
a = t["acme"]
assert a["transactional"]["accepted"] == 5 and a["transactional"]["bytes"] == 3500, a
assert a["transactional"]["signatures"] == {"rsa-sha256": 4, "ed25519-sha256": 6}, a
assert a["transactional"]["refused"] == {"not_aligned": 1} and a["transactional"]["hour"] == 4, a
assert a["broadcast"]["tempfailed"] == {"hourly_cap": 1} and a["broadcast"]["would_refuse"] == {"from_not_owned": 1}, a
assert t["(none)"]["transactional"]["refused"] == {"unknown_login": 2}
assert "we\"ird\\name" in t and "bad\\xffname\u00e9" in t, list(t)
assert [x["tenant"] for x in d["tenants"]] == sorted(t, key=lambda s: s.encode()), list(t)
assert len(d["tables"]) == 2 and d["capacity"] == 124 and d["overflow"] == 0, d["tables"]
' "$W/j"

# --top
out=$("$TA" stats --json --top 2 --counters "$W/exim.counters" --counters "$W/nginx.counters")
check "--top 2 json: the two busiest, busiest first" python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert [x["tenant"] for x in d["tenants"]] == ["acme", "gamma"], d' "$out"
out=$("$TA" stats --top 1 --counters "$W/exim.counters" --counters "$W/nginx.counters")
check "--top 1: only acme's series" [ "$(grep -E '^tenantalign_[a-z_]+\{tenant=' <<<"$out" | grep -vc 'tenant="acme"')" -eq 0 ] && grep -q 'tenant="acme"' <<<"$out"
out=$("$TA" stats --top 2 --counters "$W/exim.counters" --counters "$W/nginx.counters")
check "--top 2 prometheus: by name" [ "$(grep '^tenantalign_messages_total' <<<"$out" | sed -E 's/.*tenant="([^"]*)".*/\1/' | uniq | paste -sd,)" = "acme,gamma" ]

# --textfile: the file appears whole, mode 0644 whatever the umask, no temporary left, nothing on stdout
mkdir "$W/tf"
out=$(umask 077; "$TA" stats --textfile "$W/tf" --counters "$W/exim.counters" --now $NOW); rc=$?
check "--textfile: exit 0, nothing on stdout" [ $rc -eq 0 ] && [ -z "$out" ]
check "--textfile: tenantalign.prom, nothing else" [ "$(ls -A "$W/tf")" = "tenantalign.prom" ]
check "--textfile: mode 0644" [ "$(stat -c %a "$W/tf/tenantalign.prom")" = 644 ]
check "--textfile: the Prometheus text" [ "$(cat "$W/tf/tenantalign.prom")" = "$("$TA" stats --counters "$W/exim.counters" --now $NOW)" ]
check "--textfile: no timestamps" bash -c '! grep -vE "^#|\} [0-9]+$" "$1" | grep -q .' _ "$W/tf/tenantalign.prom"
"$TA" stats --textfile "$W/nodir" --counters "$W/exim.counters" 2>"$W/err"; rc=$?
check "--textfile into a missing directory: exit 2, said" [ $rc -eq 2 ] && grep -q '^tenantalign stats: cannot write' "$W/err"

# a damaged table: exit 2 naming it, nothing written; a missing one too
cp "$W/exim.counters" "$W/bad.counters"
printf 'XXXX' | dd of="$W/bad.counters" conv=notrunc status=none
out=$("$TA" stats --counters "$W/exim.counters" --counters "$W/bad.counters" 2>"$W/err"); rc=$?
check "damaged table: exit 2" [ $rc -eq 2 ]
check "damaged table: named" grep -q "^tenantalign stats: counter table $W/bad.counters: not a counter table" "$W/err"
check "damaged table: no output" [ -z "$out" ]
check "damaged table: left as it is" [ ! -e "$W/bad.counters.corrupt" ] && cmp -s <(head -c 4 "$W/bad.counters") <(printf XXXX)
"$TA" stats --textfile "$W/tf" --counters "$W/bad.counters" 2>/dev/null; rc=$?
check "damaged table: the textfile kept" [ $rc -eq 2 ] && grep -q 'tenant="acme"' "$W/tf/tenantalign.prom"
head -c 10000 "$W/exim.counters" >"$W/short.counters"
"$TA" stats --counters "$W/short.counters" 2>"$W/err"; rc=$?
check "cut table: exit 2 with its size" [ $rc -eq 2 ] && grep -q "short.counters: size 10000" "$W/err"
"$TA" stats --counters "$W/missing.counters" 2>"$W/err"; rc=$?
check "missing table given: exit 2" [ $rc -eq 2 ] && grep -q "missing.counters: No such file" "$W/err"

# usage
"$TA" stats --json --prometheus --counters "$W/exim.counters" >/dev/null 2>&1; rc=$?
check "--json --prometheus: 64" [ $rc -eq 64 ]
"$TA" stats --json --textfile "$W/tf" --counters "$W/exim.counters" >/dev/null 2>&1; rc=$?
check "--json --textfile: 64" [ $rc -eq 64 ]
for bad in 0 -1 x 1x ''; do
    "$TA" stats --top "$bad" --counters "$W/exim.counters" >/dev/null 2>&1; rc=$?
    check "--top '$bad': 64" [ $rc -eq 64 ]
done
"$TA" stats extra --counters "$W/exim.counters" >/dev/null 2>&1; rc=$?
check "an operand: 64" [ $rc -eq 64 ]
"$TA" stats --help | grep -q '^usage: tenantalign stats'
check "--help" [ $? -eq 0 ]
"$TA" --help | grep -q '^  stats '
check "listed in tenantalign --help" [ $? -eq 0 ]

# the default directory, in a mount namespace of its own (root only)
if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
    out=$(unshare -m bash -c '
        mount --make-rprivate / && mount -t tmpfs tmpfs /var/lib || exit 9
        d=/var/lib/tenantalign/counters; mkdir -p "$d"
        cp "$1/exim.counters" "$1/nginx.counters" "$d/" && cp "$1/bad.counters" "$d/x.counters.corrupt"
        touch "$d/notes.txt"; cp "$1/bad.counters" "$d/.hidden.counters"
        "$2" stats --now "$3"; echo "rc=$?"
        cp "$1/bad.counters" "$d/z.counters"; "$2" stats >/dev/null 2>"$1/err"; echo "rc=$?"
        rm -r "$d"; "$2" stats 2>>"$1/err"; echo "rc=$?"' _ "$W" "$TA" $NOW)
    check "default directory: every *.counters, summed" want 'tenantalign_messages_total{tenant="acme",stream="transactional",verdict="accepted"} 5'
    check "default directory: in name order, others left out" [ "$(grep -o 'counter_tenants{table="[^"]*"' <<<"$out" | paste -sd,)" = 'counter_tenants{table="/var/lib/tenantalign/counters/exim.counters",counter_tenants{table="/var/lib/tenantalign/counters/nginx.counters"' ]
    check "default directory: exit 0" grep -qx 'rc=0' <<<"$out"
    check "default directory: a damaged table is an error" grep -qx 'rc=2' <<<"$(sed -n 2p <<<"$(grep '^rc=' <<<"$out")")" && grep -q 'z.counters: not a counter table' "$W/err"
    check "default directory missing: exit 2, said" [ "$(grep '^rc=' <<<"$out" | tail -1)" = rc=2 ] && grep -q '/var/lib/tenantalign/counters: No such file' "$W/err"
else
    skip "stats: the default directory" "needs root and unshare"
fi
finish

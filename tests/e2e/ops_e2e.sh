#!/usr/bin/env bash
# tests/e2e/ops_e2e.sh - the ESP's daily operations through both adapters,
# with JSON log lines: streams (a transactional login; a broadcast login
# with and without RFC 8058 one-click unsubscribe, its fields covered by
# the DKIM signature; a broadcast stream that requires DMARC), hourly caps,
# the counters (`tenantalign stats`: Prometheus, JSON, --top, --textfile)
# and, after concurrent clients through Exim's forked processes and two
# nginx workers, the counts equal to the decisions logged, line for line.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib_exim.sh"
. "$(dirname "$0")/lib_nginx.sh"
P=${OPS_TEST_PORT:-3950}
W=$(mktemp -d /tmp/ta-ops.XXXXXX)
trap 'nginx_stop "$W/n"; exim_stop "$W/a"; exim_stop "$W/up"; [ -n "${KEEP:-}" ] || rm -rf "$W"' EXIT
chmod 755 "$W"
export TA_LOG_FORMAT=json NGINX_WORKERS=2
exim_setup "$W/a" "$P" local_scan || { fail "exim set-up"; finish; }
STORE=$W/a/tenants.cdb

# The ESP's tenants for this test: keys made here, their DNS for dkimpy
DNS=$W/dns.txt
: >"$DNS"
for d in news.example nodmarc.example capco.example; do
    "$TA" keygen --alg ed25519 --domain $d --selector e1 --out "$W/a/keys" 2>/dev/null \
        | sed -E 's/^([^ ]*)\. IN TXT \( "(.*)" \)$/\1\t\2/' >>"$DNS"
done
chgrp Debian-exim "$W/a/keys"/*.pem && chmod 640 "$W/a/keys"/*.pem
cat >>"$W/a/tenants.src" <<'SRC'
tenant news {
    login news;                         # transactional (the default)
    login news-bulk broadcast;          # separate credentials for bulk mail
    stream broadcast { require_dmarc on; }
    identity news.example { mode domain; key e1 { algorithm ed25519-sha256; file keys/news.example.e1.pem; state active; } }
    identity nodmarc.example { mode domain; key e1 { algorithm ed25519-sha256; file keys/nodmarc.example.e1.pem; state active; } }
}
tenant capco {
    login capco;
    stream transactional { hourly_cap 3; }
    identity capco.example { mode domain; key e1 { algorithm ed25519-sha256; file keys/capco.example.e1.pem; state active; } }
}
SRC
# what `tenantalign verify --state` records of the From domains' DMARC
# (tests/dns/ runs verify itself against knot)
now=$(date +%s)
printf 'tenantalign-state 1\ndmarc news.example found r r %s\ndmarc nodmarc.example none r r %s\n' "$now" "$now" >"$W/state"
check "compile: streams and caps in the source" "$TA" compile --quiet --state "$W/state" "$W/a/tenants.src" "$STORE"
chgrp Debian-exim "$STORE"
exim_start "$W/a" || { fail "exim with the plugin"; finish; }
exim_setup "$W/up" $((P + 4)) relay && exim_start "$W/up" || { fail "upstream exim"; finish; }
nginx_setup "$W/n" $((P + 2)) $((P + 4)) "$STORE" enforce
nginx_start "$W/n" || { fail "nginx started"; finish; }

send() { /usr/bin/python3 "$TOP/tests/e2e/smtp_send.py" "$@"; }
unsub=("List-Unsubscribe: <mailto:u@news.example>, <https://news.example/u/42>"
       "List-Unsubscribe-Post: List-Unsubscribe=One-Click")
make_msg "$W/tx.eml" "alerts@news.example"
make_msg "$W/bulk-bare.eml" "letter@news.example"
make_msg "$W/bulk.eml" "letter@news.example" "${unsub[@]}"
make_msg "$W/bulk-nodmarc.eml" "letter@nodmarc.example" "${unsub[@]}"
make_msg "$W/tx-nodmarc.eml" "alerts@nodmarc.example"
make_msg "$W/cap.eml" "x@capco.example"

for via in exim nginx; do
    [ $via = exim ] && port=$P box=$W/a || port=$((P + 2)) box=$W/up
    n0=$(ls "$box/mail/inbox/new" 2>/dev/null | wc -l)
    r=$(send --port $port --login news --mail-from b@news.example "$W/tx.eml")
    check "$via: transactional login: 250" grep -q '^0 DATA 250' <<<"$r"
    r=$(send --port $port --login news-bulk --mail-from b@news.example "$W/bulk-bare.eml")
    check "$via: broadcast without one-click unsubscribe: 550 5.7.1 naming what is missing" \
        grep -q '^0 DATA 550 5.7.1 broadcast message without one-click unsubscribe: no List-Unsubscribe field' <<<"${r// | / }"
    r=$(send --port $port --login news-bulk --mail-from b@news.example "$W/bulk.eml")
    check "$via: broadcast with one-click unsubscribe: 250" grep -q '^0 DATA 250' <<<"$r"
    r=$(send --port $port --login news-bulk --mail-from b@nodmarc.example "$W/bulk-nodmarc.eml")
    check "$via: broadcast stream requires DMARC: 550 naming the stream's rule" \
        bash -c 'grep -q "^0 DATA 550 5.7.515 " <<<"$1" && grep -q "publishes no DMARC record; this relay requires one (require_dmarc of the broadcast stream)" <<<"$(tr -d "|" <<<"$1" | tr -s " ")"' _ "$r"
    r=$(send --port $port --login news --mail-from b@nodmarc.example "$W/tx-nodmarc.eml")
    check "$via: the same domain in the transactional stream: 250" grep -q '^0 DATA 250' <<<"$r"
    check "$via: three delivered" exim_wait_delivery "$box" inbox $((n0 + 3)) 10
    # the broadcast message as delivered: its unsubscribe fields signed
    bulk=$(grep -l "List-Unsubscribe-Post" $(ls -t "$box"/mail/inbox/new/* | head -n 3) | head -n 1)
    check "$via: broadcast: dkimpy verifies" "$TOP/tests/dkim/verify_dkimpy.py" "$DNS" "$bulk"
    check "$via: broadcast: h= covers (and oversigns) both unsubscribe fields" /usr/bin/python3 -c '
import re, sys
m = open(sys.argv[1], "rb").read().split(b"\n\n")[0].replace(b"\n\t", b"").replace(b"\n ", b"")
h = [x.strip().lower() for x in re.search(rb"h=([^;]*)", m).group(1).split(b":")]
sys.exit(0 if h.count(b"list-unsubscribe") == 2 and h.count(b"list-unsubscribe-post") == 2 else 1)' "$bulk"
    sed 's#https://news.example/u/42#https://evil.example/u#' "$bulk" >"$W/tampered.eml"
    check "$via: broadcast: a changed List-Unsubscribe breaks the signature" \
        "$TOP/tests/dkim/verify_dkimpy.py" --expect-fail "$DNS" "$W/tampered.eml"

    # hourly cap 3 (transactional stream of capco): the fourth waits
    r=$(send --port $port --login capco --mail-from b@capco.example "$W/cap.eml" "$W/cap.eml" "$W/cap.eml" "$W/cap.eml")
    check "$via: hourly cap: three accepted" [ "$(grep -c ' DATA 250' <<<"$r")" -eq 3 ]
    check "$via: hourly cap: the fourth gets 451 naming the limit" \
        grep -q '^3 MAIL 451 4.7.0 tenant capco reached the hourly cap of its' <<<"$r"
done

# The counters: each adapter's table
stats() { "$TA" stats --counters "$W/a/counters/exim.counters" --counters "$W/n/counters/nginx.counters" "$@"; }
prom=$(stats --prometheus)
check "stats: accepted broadcast counted (both adapters summed)" \
    grep -qx 'tenantalign_messages_total{tenant="news",stream="broadcast",verdict="accepted"} 2' <<<"$prom"
check "stats: refusals by reason class" \
    grep -qx 'tenantalign_messages_total{tenant="news",stream="broadcast",verdict="refused",reason="unsubscribe_missing"} 2' <<<"$prom"
check "stats: the cap's tempfails" \
    grep -qx 'tenantalign_messages_total{tenant="capco",stream="transactional",verdict="tempfailed",reason="hourly_cap"} 2' <<<"$prom"
check "stats: signatures by algorithm" \
    grep -qx 'tenantalign_signatures_total{tenant="capco",stream="transactional",algorithm="ed25519-sha256"} 6' <<<"$prom"
check "stats: the hourly window" \
    grep -qx 'tenantalign_hour_messages{tenant="capco",stream="transactional"} 6' <<<"$prom"
check "stats: HELP and TYPE lines" grep -qx '# TYPE tenantalign_messages_total counter' <<<"$prom"
check "stats --json parses" /usr/bin/python3 -c 'import json, sys; json.load(sys.stdin)' < <(stats --json)
check "stats --top 1: the busiest tenant only (news: 10 messages, capco: 8)" \
    bash -c '[ "$(grep -o "tenant=\"[^\"]*\"" <<<"$1" | sort -u)" = "tenant=\"news\"" ]' _ "$(stats --prometheus --top 1)"
mkdir -p "$W/textfile"
out=$(stats --textfile "$W/textfile")
check "stats --textfile: the file alone (no temporary left), nothing on stdout" \
    bash -c '[ -z "$1" ] && [ -s "$2/tenantalign.prom" ] && [ "$(ls -A "$2" | wc -l)" -eq 1 ]' _ "$out" "$W/textfile"
check "stats --textfile: the same text as --prometheus" diff -q <(stats --prometheus) "$W/textfile/tenantalign.prom"

# Concurrent clients: 8 through Exim (a process each), 8 through nginx's
# two workers, mixed tenants and verdicts
# (not a bare `wait`: nginx's auth_http responder is a job of this shell too)
pids=()
for i in $(seq 8); do
    for port in $P $((P + 2)); do
        send --port $port --login news --mail-from b@news.example "$W/tx.eml" "$W/tx.eml" "$W/bulk.eml" >/dev/null &
        pids+=($!)
        send --port $port --login news-bulk --mail-from b@news.example "$W/bulk.eml" "$W/bulk-bare.eml" "$W/tx.eml" >/dev/null &
        pids+=($!)
        send --port $port --login nobody --mail-from b@news.example "$W/tx.eml" >/dev/null &
        pids+=($!)
    done
done
wait "${pids[@]}"
sleep 0.5
"$TA" stats --json --counters "$W/a/counters/exim.counters" >"$W/exim.json"
"$TA" stats --json --counters "$W/n/counters/nginx.counters" >"$W/nginx.json"
tally() { /usr/bin/python3 "$TOP/tests/e2e/log_tally.py" "$@" | sed 's/^/# /'; return "${PIPESTATUS[0]}"; }
check "exim (a process per client): every JSON log line parses; the counts equal the decisions logged" \
    tally --stats "$W/exim.json" "$(exim_mainlog "$W/a")"
check "nginx (2 workers): every JSON log line parses; the counts equal the decisions logged" \
    tally --stats "$W/nginx.json" "$W/n/logs/error.log"
check "nginx: accepted lines carry the upstream's queue id, which the upstream logged" /usr/bin/python3 -c '
import json, re, sys
ids = set(re.findall(r"^\S+ \S+ (\S+) <= ", open(sys.argv[2]).read(), re.M))
n = 0
for line in open(sys.argv[1]):
    m = re.search(r"tenantalign: (\{.*\})", line)
    if m:
        d = json.loads(m.group(1))
        if d["verdict"] == "accept":
            n += 1
            if d["qid"] not in ids:
                sys.exit("qid %s not in the upstream log" % d["qid"])
sys.exit(0 if n else 1)' "$W/n/logs/error.log" "$(exim_mainlog "$W/up")"
check "exim: accepted lines carry Exim's message id" \
    bash -c 'grep "tenantalign: {" "$1" | grep "\"verdict\":\"accept\"" | grep -qv "\"qid\":\"[0-9A-Za-z]\{6\}-[0-9A-Za-z]\{6,11\}-[0-9A-Za-z]\{2,4\}\""; [ $? -eq 1 ]' _ "$(exim_mainlog "$W/a")"

# A damaged table is set aside and recreated; mail is never refused for it
printf 'garbage' | dd of="$W/a/counters/exim.counters" conv=notrunc status=none
sleep 1.1
r=$(send --port $P --login news --mail-from b@news.example "$W/tx.eml")
check "a damaged counter table: mail still accepted" grep -q '^0 DATA 250' <<<"$r"
check "a damaged counter table: set aside as .corrupt" [ -e "$W/a/counters/exim.counters.corrupt" ]
check "a damaged counter table: a new one counts" \
    bash -c '"$1" stats --prometheus --counters "$2" | grep -qx "tenantalign_messages_total{tenant=\"news\",stream=\"transactional\",verdict=\"accepted\"} 1"' _ "$TA" "$W/a/counters/exim.counters"
rm -f "$W/n/counters/nginx.counters"
sleep 1.1
r=$(send --port $((P + 2)) --login news --mail-from b@news.example "$W/tx.eml")
check "a removed counter table: mail still accepted, the table made anew" \
    bash -c 'grep -q "^0 DATA 250" <<<"$1" && [ -e "$2" ]' _ "$r" "$W/n/counters/nginx.counters"
finish

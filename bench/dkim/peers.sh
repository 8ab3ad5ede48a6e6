#!/usr/bin/env bash
# bench/dkim/peers.sh: the same messages signed in process by libopendkim and
# Mail::DKIM (both from Debian), beside ours measured in the same run.
# rspamd is not installed here (its signer runs inside rspamd's own Lua
# runtime; no in-process library API), so it is not measured.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP"
B=${BUILD:-build}
SECS=${SECS:-1}
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
cp build/keys/acme.example.s1.pem "$W/rsa.pem"; cp build/keys/acme.example.e1.pem "$W/ed.pem"
cc -O2 -o "$W/odkim_bench" bench/dkim/odkim_bench.c -lopendkim || exit 1
"$B/bench/bench_dkim" --csv "$SECS" >"$W/ours"
"$W/odkim_bench" "$W/rsa.pem" "$W/ed.pem" "$SECS" >"$W/odkim"
perl bench/dkim/maildkim_bench.pl "$W/rsa.pem" "$SECS" >"$W/maildkim"
echo "## In-process signers, same messages, same run (msgs/s; ours / theirs)"
echo
echo "| size | alg | tenantalign | libopendkim | ratio | Mail::DKIM | ratio |"
echo "|---|---|---|---|---|---|---|"
while read -r size alg ours; do
    o=$(awk -v s="$size" -v a="$alg" '$1==s && $2==a {print $3}' "$W/odkim")
    m=$(awk -v s="$size" -v a="$alg" '$1==s && $2==a {print $3}' "$W/maildkim")
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$size" "$alg" "$ours" "${o:--}" \
        "$([ -n "$o" ] && awk -v x="$ours" -v y="$o" 'BEGIN{printf "%.1f", x/y}')" "${m:-n/a (no ed25519)}" \
        "$([ -n "$m" ] && awk -v x="$ours" -v y="$m" 'BEGIN{printf "%.1f", x/y}')"
done <"$W/ours"

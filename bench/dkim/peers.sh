#!/usr/bin/env bash
# bench/dkim/peers.sh: the same messages signed in process by libopendkim,
# Mail::DKIM and rspamd (all from Debian), beside ours measured in the same run.
# rspamd's signer runs inside its own Lua runtime: rspamd_bench.sh drives it
# through `rspamadm lua` (no daemon), per message a new task, rspamd's MIME
# parse, then the dkim module's sign (what its dkim_signing plugin calls); its
# signatures are checked with dkimpy before its numbers are shown.
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
rsp="n/a (rspamd not installed)"
: >"$W/rspamd"
if command -v rspamadm >/dev/null; then
    mkdir "$W/rspamd.sig"
    { bash tests/dkim/pubdns s1 acme.example "$W/rsa.pem"; bash tests/dkim/pubdns e1 acme.example "$W/ed.pem"; } >"$W/dns"
    if ! bash bench/dkim/rspamd_bench.sh "$W/rsa.pem" "$W/ed.pem" "$SECS" "$W/rspamd.sig" >"$W/rspamd.out"; then
        rsp="n/a (rspamd_bench.sh failed)"
    elif /usr/bin/python3 tests/dkim/verify_dkimpy.py "$W/dns" "$W"/rspamd.sig/*.eml >"$W/rspamd.verify"; then
        mv "$W/rspamd.out" "$W/rspamd"
    else
        cat "$W/rspamd.verify" >&2; rsp="n/a (signature did not verify)"
    fi
fi
echo "## In-process signers, same messages, same run (msgs/s; ours / theirs)"
echo
echo "| size | alg | tenantalign | libopendkim | ratio | Mail::DKIM | ratio | rspamd | ratio |"
echo "|---|---|---|---|---|---|---|---|---|"
while read -r size alg ours; do
    o=$(awk -v s="$size" -v a="$alg" '$1==s && $2==a {print $3}' "$W/odkim")
    m=$(awk -v s="$size" -v a="$alg" '$1==s && $2==a {print $3}' "$W/maildkim")
    r=$(awk -v s="$size" -v a="$alg" '$1==s && $2==a {print $3}' "$W/rspamd")
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$size" "$alg" "$ours" "${o:--}" \
        "$([ -n "$o" ] && awk -v x="$ours" -v y="$o" 'BEGIN{printf "%.1f", x/y}')" "${m:-n/a (no ed25519)}" \
        "$([ -n "$m" ] && awk -v x="$ours" -v y="$m" 'BEGIN{printf "%.1f", x/y}')" "${r:-$rsp}" \
        "$([ -n "$r" ] && awk -v x="$ours" -v y="$r" 'BEGIN{printf "%.1f", x/y}')"
done <"$W/ours"

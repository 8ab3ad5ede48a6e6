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
ROUNDS=${ROUNDS:-3}
# The machine drifts: the four signers take turns, ROUNDS times, and each
# ratio is the median of the per-round ratios (rates: medians of rounds).
for round in $(seq "$ROUNDS"); do
    "$B/bench/bench_dkim" --csv "$SECS" | sed "s/^/$round /" >>"$W/ours"
    "$W/odkim_bench" "$W/rsa.pem" "$W/ed.pem" "$SECS" | sed "s/^/$round /" >>"$W/odkim"
    perl bench/dkim/maildkim_bench.pl "$W/rsa.pem" "$SECS" | sed "s/^/$round /" >>"$W/maildkim"
    rsp="n/a (rspamd not installed)"
    command -v rspamadm >/dev/null || continue
    rm -rf "$W/rspamd.sig"; mkdir "$W/rspamd.sig"
    { bash tests/dkim/pubdns s1 acme.example "$W/rsa.pem"; bash tests/dkim/pubdns e1 acme.example "$W/ed.pem"; } >"$W/dns"
    if ! bash bench/dkim/rspamd_bench.sh "$W/rsa.pem" "$W/ed.pem" "$SECS" "$W/rspamd.sig" >"$W/rspamd.out"; then
        rsp="n/a (rspamd_bench.sh failed)"
    elif /usr/bin/python3 tests/dkim/verify_dkimpy.py "$W/dns" "$W"/rspamd.sig/*.eml >"$W/rspamd.verify"; then
        sed "s/^/$round /" "$W/rspamd.out" >>"$W/rspamd"
    else
        cat "$W/rspamd.verify" >&2; rsp="n/a (signature did not verify)"
    fi
done
echo "## In-process signers, same messages, same run (msgs/s; ours / theirs; medians of $ROUNDS rounds)"
echo
/usr/bin/python3 - "$W" "$rsp" <<'PY'
import os, sys, statistics
w, rsp = sys.argv[1], sys.argv[2]
def load(name):
    d = {}
    path = os.path.join(w, name)
    if os.path.exists(path):
        for line in open(path):
            rnd, size, alg, rate = line.split()
            d.setdefault((size, alg), {})[rnd] = float(rate)
    return d
ours, peers = load("ours"), [("libopendkim", load("odkim"), "-"),
                             ("Mail::DKIM", load("maildkim"), "n/a (no ed25519)"),
                             ("rspamd", load("rspamd"), rsp)]
print("| size | alg | tenantalign | " + " | ".join("%s | ratio" % p[0] for p in peers) + " |")
print("|---|---|---" + "|---|---" * len(peers) + "|")
for key in sorted(ours, key=lambda k: (int(k[0]), k[1] != "rsa2048")):
    cells = ["%.1f" % statistics.median(ours[key].values())]
    for name, d, missing in peers:
        theirs = d.get(key)
        if not theirs:
            cells += [missing, ""]
            continue
        ratios = [ours[key][r] / theirs[r] for r in theirs if r in ours[key]]
        cells += ["%.1f" % statistics.median(theirs.values()), "%.2f" % statistics.median(ratios)]
    print("| %s | %s | %s |" % (key[0], key[1], " | ".join(cells)))
PY

#!/usr/bin/env bash
# rspamd_bench.sh RSAKEY ED25519KEY SECONDS [OUTDIR]: rspamd's DKIM signer in
# process (rspamadm lua running rspamd_bench.lua; no rspamd daemon), the same
# messages as bench_dkim; prints "SIZE ALG MSGS_PER_S". With OUTDIR, also
# writes one signed message per size and algorithm there, for verification.
# The ed25519 key is handed to rspamd in its own format (base64 of the 32-byte
# seed, what `rspamadm dkim_keygen -t ed25519` writes): rspamd 3.4 takes a PEM
# key as RSA only, and ed25519 keys only as a raw or base64 seed.
set -eu
[ $# -ge 3 ] || { echo "usage: $0 RSAKEY ED25519KEY SECONDS [OUTDIR]" >&2; exit 64; }
HERE=$(cd "$(dirname "$0")" && pwd)
command -v rspamadm >/dev/null || { echo "rspamadm not found (apt-get install rspamd)" >&2; exit 1; }
rsa=$(readlink -f "$1")
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
openssl pkey -in "$2" -outform DER | tail -c 32 | base64 -w0 >"$W/ed.key"
cat >"$W/rspamd.conf" <<'EOF'
options { filters = "dkim"; }
logging { type = "console"; level = "error"; }
dkim { }
EOF
args=(-a "$W/rspamd.conf" -a "$rsa" -a "$W/ed.key" -a "$3")
[ $# -ge 4 ] && args+=(-a "$(readlink -f "$4")")
# rspamadm warns about the minimal config's missing actions/groups on stderr
rspamadm lua -b "${args[@]}" "$HERE/rspamd_bench.lua" \
    2> >(grep -v -i -e '^no actions defined$' -e '^no symbol groups defined$' >&2)

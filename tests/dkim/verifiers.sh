#!/usr/bin/env bash
# tests/dkim/verifiers.sh - every signature we make, checked by three
# independent verifiers with keys supplied offline: dkimpy (python3-dkim),
# Mail::DKIM (libmail-dkim-perl) and OpenDKIM (libopendkim). Also: RFC 8463
# A.3 reproduced byte for byte, keygen's DNS record, ~200 generated messages
# signed and verified, tampered copies failing.
. "$(dirname "$0")/../lib.sh"
D=$TOP/tests/dkim
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
N=${DKIM_PROPERTY_MESSAGES:-200}
SEED=${DKIM_SEED:-$(date +%s)}
diag "seed $SEED (DKIM_SEED=$SEED reproduces)"

cc -O1 -o "$W/odkim" "$D/odkim_verify.c" -lopendkim || { fail "build odkim_verify"; finish; }
cp "$D"/vectors/rfc8463-* "$W/"
chmod 600 "$W"/rfc8463-rsa.pem "$W"/rfc8463-ed25519.key   # git keeps no modes

# verdict NAME CMD...: run a verifier, keep its log, one TAP line
verdict() {
    local name=$1; shift
    if "$@" >"$W/v.log" 2>&1; then ok "$name"; else fail "$name"; grep -v '^ok' "$W/v.log" | head -5; fi
}
# all3 NAME DNS FILES...: the three verifiers agree every signature passes
all3() {
    local name=$1 dns=$2; shift 2
    verdict "$name: dkimpy" "$D/verify_dkimpy.py" "$dns" "$@"
    verdict "$name: Mail::DKIM" "$D/verify_maildkim.pl" "$dns" "$@"
    verdict "$name: OpenDKIM" "$W/odkim" "$dns" "$@"
}
# none3 NAME DNS FILES...: the three verifiers agree each message fails
none3() {
    local name=$1 dns=$2; shift 2
    verdict "$name: dkimpy rejects" "$D/verify_dkimpy.py" --expect-fail "$dns" "$@"
    verdict "$name: Mail::DKIM rejects" "$D/verify_maildkim.pl" --expect-fail "$dns" "$@"
    verdict "$name: OpenDKIM rejects" "$W/odkim" --expect-fail "$dns" "$@"
}

# 1. RFC 8463 A.3, byte for byte, from the A.1 keys
{ "$D/pubdns" brisbane football.example.com "$W/rfc8463-ed25519.key"
  "$D/pubdns" test football.example.com "$W/rfc8463-rsa.pem"; } >"$W/rfc.dns"
"$TA" sign --domain football.example.com \
    --key "$W/rfc8463-ed25519.key" --selector brisbane --alg ed25519-sha256 \
    --key "$W/rfc8463-rsa.pem" --selector test --alg rsa-sha256 \
    --identity @football.example.com --headers from:to:subject:date:message-id:from:subject:date \
    --timestamp 1528637909 "$W/rfc8463-message.eml" >"$W/rfc-out.eml" 2>/dev/null
check "RFC 8463 A.3 reproduced byte for byte (ed25519 and rsa)" cmp -s "$W/rfc-out.eml" "$W/rfc8463-signed.eml"
all3 "RFC 8463 A.3" "$W/rfc.dns" "$W/rfc8463-signed.eml"
skip "RFC 8463 A.3: Mail::DKIM ed25519" "Debian 12 Mail::DKIM 1.20230212 has no ed25519-sha256 (its RSA signatures are verified)"

# 2. keygen: files 0600, DNS record equal to the key's public half
"$TA" keygen --alg rsa2048 --domain acme.example --selector r1 --out "$W" >"$W/r1.txt" 2>/dev/null
"$TA" keygen --alg ed25519 --domain acme.example --selector e1 --out "$W" >"$W/e1.txt" 2>/dev/null
check "keygen rsa2048: private key mode 0600" [ "$(stat -c %a "$W/acme.example.r1.pem")" = 600 ]
check "keygen ed25519: private key mode 0600" [ "$(stat -c %a "$W/acme.example.e1.pem")" = 600 ]
"$TA" keygen --alg ed25519 --domain acme.example --selector e1 --out "$W" >/dev/null 2>&1
check "keygen refuses to overwrite" [ $? -eq 1 ]
{ "$D/pubdns" r1 acme.example "$W/acme.example.r1.pem"; "$D/pubdns" e1 acme.example "$W/acme.example.e1.pem"; } >"$W/our.dns"
joined() { sed 's/^[^(]*( *//; s/ *)$//; s/" "//g; s/"//g' "$1"; }
check "keygen rsa: TXT record matches the key" [ "$(joined "$W/r1.txt")" = "$(cut -f2 "$W/our.dns" | head -1)" ]
check "keygen ed25519: TXT record matches the key" [ "$(joined "$W/e1.txt")" = "$(cut -f2 "$W/our.dns" | tail -1)" ]
check "keygen rsa: strings of at most 255 octets" bash -c '! grep -o "\"[^\"]*\"" "$1" | awk "length(\$0) > 257" | grep -q .' _ "$W/r1.txt"

# 3. generated messages, rsa2048 + ed25519, default (oversigned) headers
/usr/bin/python3 "$D/gen_messages.py" "$N" "$W/msgs" "$SEED"
mkdir -p "$W/signed" "$W/tampered" "$W/lf" "$W/simple"
signfail=0
for m in "$W"/msgs/*.eml; do
    b=$(basename "$m")
    "$TA" sign --domain acme.example --key "$W/acme.example.r1.pem" --selector r1 \
        --key "$W/acme.example.e1.pem" --selector e1 "$m" >"$W/signed/$b" 2>>"$W/sign.err" || signfail=$((signfail + 1))
done
check "sign $N generated messages" [ $signfail -eq 0 ]
all3 "$N generated messages" "$W/our.dns" "$W"/signed/*.eml

# tampered: a From added on top (oversigning catches it), or the body changed
i=0
for s in "$W"/signed/*.eml; do
    b=$(basename "$s")
    if [ $((i % 2)) -eq 0 ]; then
        { printf 'From: Mallory <m@evil.example>\r\n'; cat "$s"; } >"$W/tampered/$b"
    else
        { cat "$s"; printf 'P.S. send money\r\n'; } >"$W/tampered/$b"
    fi
    i=$((i + 1))
done
none3 "$N tampered copies" "$W/our.dns" "$W"/tampered/*.eml

# simple/simple and relaxed/simple on a subset
for m in $(ls "$W"/msgs/*.eml | head -40); do
    b=$(basename "$m")
    c=simple/simple; [ $((${#b} % 2)) -eq 0 ] || c=relaxed/simple
    "$TA" sign --canon "$c" --domain acme.example --key "$W/acme.example.r1.pem" --selector r1 \
        --key "$W/acme.example.e1.pem" --selector e1 "$m" >"$W/simple/$b" 2>/dev/null
done
all3 "simple canonicalisation" "$W/our.dns" "$W"/simple/*.eml

# LF input (Exim's spool form) signed, then sent as CRLF as Exim does
for m in $(ls "$W"/msgs/*.eml | head -40); do
    b=$(basename "$m")
    sed 's/\r$//' "$m" >"$W/lf/$b.in"
    "$TA" sign --domain acme.example --key "$W/acme.example.r1.pem" --selector r1 \
        --key "$W/acme.example.e1.pem" --selector e1 "$W/lf/$b.in" 2>/dev/null | sed 's/$/\r/' >"$W/lf/$b"
    rm "$W/lf/$b.in"
done
all3 "LF input, delivered as CRLF" "$W/our.dns" "$W"/lf/*.eml

# a bare LF inside a CRLF message is made CRLF before signing: output == signed
printf 'From: a@acme.example\r\nSubject: x\r\n\r\nline one\nline two\rthree\r\n' >"$W/bare.eml"
"$TA" sign --domain acme.example --key "$W/acme.example.r1.pem" --selector r1 "$W/bare.eml" >"$W/bare-signed.eml" 2>/dev/null
check "bare CR/LF normalised before signing" /usr/bin/python3 -c 'import re,sys; d=open(sys.argv[1],"rb").read(); sys.exit(1 if re.search(rb"(?<!\r)\n|\r(?!\n)", d) else 0)' "$W/bare-signed.eml"
all3 "bare CR/LF message" "$W/our.dns" "$W/bare-signed.eml"

# never l=; t= always; oversigned From
check "no l= tag" bash -c '! grep -q "[; ]l=" "$1"' _ "$W/signed/m000.eml"
check "t= present" grep -q " t=[0-9]*;" "$W/signed/m000.eml"
check "From oversigned (h= names from twice)" bash -c '[ "$(sed -n "/^DKIM-Signature/,/b=/p" "$1" | head -8 | tr -d "\r\n" | grep -o "from" | wc -l)" -ge 2 ]' _ "$W/signed/m000.eml"
finish

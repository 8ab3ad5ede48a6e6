#!/usr/bin/env bash
# pubdns.sh SELECTOR DOMAIN KEYFILE: one line of an offline "DNS" file,
#   SELECTOR._domainkey.DOMAIN<TAB>v=DKIM1; k=...; p=...
# the public half of KEYFILE derived with openssl (RSA: SubjectPublicKeyInfo;
# Ed25519: the raw 32-byte key, RFC 8463). The three verifiers read this file.
set -eu
sel=$1 dom=$2 key=$3
if grep -q "BEGIN" "$key"; then
    der=$(openssl pkey -in "$key" -pubout -outform DER 2>/dev/null | base64 -w0)
    if openssl pkey -in "$key" -noout -text 2>/dev/null | head -1 | grep -q ED25519; then
        printf '%s._domainkey.%s\tv=DKIM1; k=ed25519; p=%s\n' "$sel" "$dom" \
            "$(printf %s "$der" | base64 -d | tail -c 32 | base64 -w0)"
    else
        printf '%s._domainkey.%s\tv=DKIM1; k=rsa; p=%s\n' "$sel" "$dom" "$der"
    fi
else
    # RFC 8463 raw base64 Ed25519 private key: derive the public key with python
    pub=$(python3 -c 'import base64,sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization as s
k=Ed25519PrivateKey.from_private_bytes(base64.b64decode(open(sys.argv[1]).read().strip()))
print(base64.b64encode(k.public_key().public_bytes(s.Encoding.Raw,s.PublicFormat.Raw)).decode())' "$key")
    printf '%s._domainkey.%s\tv=DKIM1; k=ed25519; p=%s\n' "$sel" "$dom" "$pub"
fi

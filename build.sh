#!/usr/bin/env bash
# build.sh - build, test, demo and benchmark tenantalign.
#
#   ./build.sh            build library, CLI, adapters into build/
#   ./build.sh deps       install every Debian package needed (idempotent)
#   ./build.sh test       build everything (also with ASan+UBSan) and run every test
#   ./build.sh fuzz SECS  run each libFuzzer target for SECS seconds
#   ./build.sh demo       real nginx and Exim on loopback: one aligned message
#                         signed and delivered, one spoofed message refused
#   ./build.sh bench      run the benchmarks in bench/
#   ./build.sh keys       generate the example tenants' DKIM keys (build/keys)
#   ./build.sh deb        Debian packages into build/deb/ (built in a copy of the tree)
#   ./build.sh soak [N [MEM]]  the faulted soak (tests/soak/soak.sh): N messages under
#                         faults (default 20000), then MEM through nginx for RSS (default
#                         100000); about 35 min on 2 CPUs
set -eu
TOP=$(cd "$(dirname "$0")" && pwd)
cd "$TOP"
JOBS=$(nproc 2>/dev/null || echo 2)

deps() {
    local want missing=()
    want=$(grep -v '^#' ci/packages.txt | tr '\n' ' ')
    for p in $want; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
            || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && { echo "deps: all installed"; return 0; }
    if [ "$(id -u)" -ne 0 ]; then
        echo "deps: missing ${missing[*]}; run as root" >&2; exit 1
    fi
    echo "deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || true
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# keys: the example tenants' keys; generated once, never committed
keys() (
    d=build/keys
    mkdir -p "$d"
    umask 077
    for k in acme.example.s1:rsa globex.example.s1:rsa; do
        [ -s "$d/${k%:*}.pem" ] || openssl genpkey -algorithm RSA \
            -pkeyopt rsa_keygen_bits:2048 -out "$d/${k%:*}.pem" 2>/dev/null
    done
    [ -s "$d/acme.example.e1.pem" ] || openssl genpkey -algorithm ed25519 \
        -out "$d/acme.example.e1.pem"
    chmod 600 "$d"/*.pem
    # Exim and nginx workers run unprivileged: let their group read the keys.
    if getent group Debian-exim >/dev/null 2>&1; then
        chgrp Debian-exim "$d"/*.pem 2>/dev/null && chmod 640 "$d"/*.pem || true
    fi
)

build() {
    make -s -j"$JOBS" all unit bench exim
    make -s nginx               # nginx's own make: no jobserver from here
    keys
}

build_test() {
    build
    make -s -j"$JOBS" BUILD=build/asan SAN=1 OPT=-O1 all unit
    make -s BUILD=build/asan SAN=1 OPT=-O1 nginx    # the module too (tests/e2e/nginx_asan.sh)
    make -s -j"$JOBS" fuzz
}

cmd=${1:-build}
case $cmd in
deps)  deps ;;
build) build ;;
keys)  keys ;;
test)
    deps
    build_test
    tests/run.sh ;;
quick)
    build
    tests/run.sh --quick ;;
fuzz)
    secs=${2:-60}
    make -s -j"$JOBS" fuzz
    rc=0
    for f in build/fuzz/fuzz_*; do
        tests/fuzz/run-one.sh "$f" "$secs" || rc=1
    done
    exit $rc ;;
demo)
    deps
    build
    exec bash tests/demo.sh ;;
bench)
    build
    exec bash bench/run.sh "${@:2}" ;;
soak)
    build
    exec bash tests/soak/soak.sh "${@:2}" ;;
deb)
    # dpkg-buildpackage in a copy (build/deb/tenantalign-VERSION), so that
    # the package build neither cleans nor writes the working tree; the
    # .debs land in build/deb. DEB_OUT=DIR builds elsewhere, and
    # DEB_VERSION=V gives the copy another version (tests/deb: upgrades).
    out=$(mkdir -p "${DEB_OUT:-build/deb}" && cd "${DEB_OUT:-build/deb}" && pwd)
    ver=${DEB_VERSION:-$(dpkg-parsechangelog -S Version)}
    src=$out/tenantalign-$ver
    rm -rf "$src" "$out"/*.deb "$out"/*.changes "$out"/*.buildinfo
    mkdir -p "$src"
    tar -cf - --exclude-vcs --exclude=./build --exclude=./debian/build \
        --exclude=./debian/nginx-build . | tar -xf - -C "$src"
    [ -z "${DEB_VERSION:-}" ] || sed -i "1s/([^)]*)/($ver)/" "$src/debian/changelog"
    (cd "$src" && dpkg-buildpackage -us -uc -b -J"$JOBS") >"$out/build.log" 2>&1 \
        || { tail -40 "$out/build.log"; exit 1; }
    rm -rf "$src" "$out/debug"
    mkdir "$out/debug"          # apt install ./build/deb/*.deb: not the symbols
    mv "$out"/*-dbgsym_*.deb "$out/debug/"
    ls "$out"/*.deb ;;
*)
    sed -n '2,17p' "$0"; exit 64 ;;
esac

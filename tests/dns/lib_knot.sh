# tests/dns/lib_knot.sh - a real authoritative DNS server (Debian's knot) on
# 127.0.0.1 for the DNS tests, unprivileged paths under a temporary
# directory. Source it; TOP is the repository root.
#   knot_start DIR PORT ZONE...   serve DIR/ZONE.zone for each ZONE (no final
#                                 dot); waits until it answers
#   knot_reload DIR ZONE          reload one zone after editing its file
#   knot_queries DIR              queries answered so far (knot's mod-stats)
#   knot_stop DIR
#   zone_head ZONE                SOA and NS lines for a test zone
#   onboard_fixture               in the current directory: keys/ and a
#                                 tenants.conf with every dns mode, compiled
#                                 into tenants.cdb with an empty state file
#                                 `state` (exit with a failure if not)
#   onboard_dir NAME PORTVAR DEF  a test's temporary directory W (removed,
#                                 and its knot stopped, on exit), entered; PORT
#   zones_from ZONEFILE DIR       the lines of `tenantalign dns` output, as
#                                 they are, into DIR/$ZONES zone files (the
#                                 zone each name belongs to), with the
#                                 provider's own SPF and MX host added
#   zone_edit ZONE EXPR           edit $W/knot/ZONE.zone (a Python expression
#                                 on its text t), bump the serial, reload
#   zones_republish ZONEFILE N    $W/knot's zones made again from dns output,
#                                 serial N, reloaded

zone_head() {
    printf '$ORIGIN %s.\n$TTL 3600\n@\tIN\tSOA\tns.%s. hostmaster.%s. 1 3600 600 86400 300\n@\tIN\tNS\tns.%s.\nns\tIN\tA\t127.0.0.1\n' \
        "$1" "$1" "$1" "$1"
}

knot_start() {
    local dir=$1 port=$2 z i; shift 2
    mkdir -p "$dir"
    { printf 'server:\n    listen: 127.0.0.1@%s\n    rundir: %s\ncontrol:\n    listen: %s/knot.sock\n' "$port" "$dir" "$dir"
      printf 'database:\n    storage: %s\nlog:\n  - target: %s/knot.log\n    any: info\n' "$dir" "$dir"
      printf 'mod-stats:\n  - id: default\n'
      printf 'template:\n  - id: default\n    storage: %s\n    journal-content: none\n    zonefile-sync: -1\n    zonefile-load: whole\n    global-module: mod-stats\nzone:\n' "$dir"
      for z in "$@"; do printf '  - domain: %s\n    file: %s/%s.zone\n' "$z" "$dir" "$z"; done
    } >"$dir/knot.conf"
    /usr/sbin/knotd -c "$dir/knot.conf" >"$dir/knotd.out" 2>&1 &
    echo $! >"$dir/knotd.pid"
    for i in $(seq 100); do
        /usr/bin/python3 - "$port" "$1" <<'PY' 2>/dev/null && return 0
import sys, dns.message, dns.query
r = dns.query.udp(dns.message.make_query(sys.argv[2] + ".", "SOA"), "127.0.0.1", port=int(sys.argv[1]), timeout=0.2)
sys.exit(0 if r.answer else 1)
PY
        sleep 0.05
    done
    cat "$dir/knotd.out" "$dir/knot.log" 2>/dev/null | tail -5
    return 1
}

knot_reload() { /usr/sbin/knotc -c "$1/knot.conf" zone-reload "$2." >/dev/null; }

knot_queries() {
    /usr/sbin/knotc -c "$1/knot.conf" stats mod-stats.server-operation 2>/dev/null | awk -F' = ' '{n += $2} END {print n + 0}'
}

knot_stop() {
    [ -f "$1/knotd.pid" ] && kill "$(cat "$1/knotd.pid")" 2>/dev/null
    rm -f "$1/knotd.pid"
}

ZONES="example email.initech.example dkim.esp.example esp.example"

onboard_dir() {
    [ -x /usr/sbin/knotd ] || { skip "$1" "knot not installed"; finish; }
    W=$(mktemp -d "/tmp/ta-$1.XXXXXX")
    PORT=${!2:-$3}
    trap 'knot_stop "$W/knot"; rm -rf "$W"' EXIT
    cd "$W" || exit 1
}

onboard_fixture() {
mkdir -p keys
for k in acme.example:s1:rsa2048 acme.example:s2:ed25519 email.initech.example:s1:ed25519 globex.example:g1:rsa2048; do
    IFS=: read -r d s a <<<"$k"
    "$TA" keygen --alg "$a" --domain "$d" --selector "$s" --out keys >/dev/null 2>&1 || fail "keygen $k"
done
cat >tenants.conf <<'SRC'
provider {
    name_servers ns1.esp.example ns2.esp.example;
    cname_zone dkim.esp.example;
    return_path_mx mx.esp.example 10;
    spf_include _spf.esp.example;
    egress 192.0.2.10 2001:db8::10;
    dmarc_rua mailto:dmarc@esp.example;
}
tenant acme { login acme;
    identity acme.example { mode domain; dns cname; return_path bounces.acme.example;
        key s1 { algorithm rsa-sha256; file keys/acme.example.s1.pem; state active; }
        key s2 { algorithm ed25519-sha256; file keys/acme.example.s2.pem; state pending; } }
    identity email.initech.example { mode delegated; dns delegated; return_path bounces.email.initech.example;
        key s1 { algorithm ed25519-sha256; file keys/email.initech.example.s1.pem; state active; } } }
tenant globex { login globex;
    identity globex.example { mode domain; return_path rp.globex.example;
        key g1 { algorithm rsa-sha256; file keys/globex.example.g1.pem; state active; }
        key g0 { algorithm rsa-sha256; file keys/globex.example.g1.pem; state revoked; } } }
SRC
printf 'tenantalign-state 1\n' >state     # nothing verified yet
"$TA" compile --quiet --state state tenants.conf tenants.cdb 2>/dev/null || { fail "compile"; finish; }
}

zones_from() {
    local out=$1 dir=$2 z
    mkdir -p "$dir"
    for z in $ZONES; do zone_head "$z" >"$dir/$z.zone"; done
    # zone cuts, as a real hierarchy has them: a server authoritative for a
    # parent follows a CNAME inside it otherwise, and answers NXDOMAIN
    printf 'esp\tIN\tNS\tns.esp.example.\n' >>"$dir/example.zone"
    printf 'dkim\tIN\tNS\tns.dkim.esp.example.\nns.dkim\tIN\tA\t127.0.0.1\n' >>"$dir/esp.example.zone"
    # the provider's side that `dns` does not print: its SPF and MX host
    printf '_spf\tIN\tTXT\t"v=spf1 ip4:192.0.2.10 ip4:192.0.2.11 ip6:2001:db8::10 -all"\nmx\tIN\tA\t192.0.2.25\n' >>"$dir/esp.example.zone"
    /usr/bin/python3 - "$out" "$dir" $ZONES <<'PY'
import sys
zones = sorted(sys.argv[3:], key=len, reverse=True)
for line in open(sys.argv[1]):
    if not line.strip() or line.startswith(";"):
        continue
    owner = line.split("\t", 1)[0]
    apex = next(z for z in zones if owner == z + "." or owner.endswith("." + z + "."))
    open(sys.argv[2] + "/" + apex + ".zone", "a").write(line)
PY
}

# zone_edit ZONE PYTHON-EXPR-ON-t: change $W/knot/ZONE.zone, bump its serial, reload
zone_edit() {
    /usr/bin/python3 - "$W/knot/$1.zone" "$2" <<'PY'
import re, sys
path, expr = sys.argv[1], sys.argv[2]
t = open(path).read()
t = eval(expr, {"t": t, "re": re})
t = re.sub(r"(SOA\s+\S+\s+\S+\s+)(\d+)", lambda m: m.group(1) + str(int(m.group(2)) + 1), t, count=1)
open(path, "w").write(t)
PY
    knot_reload "$W/knot" "$1"
    sleep 0.2
}

# zones_republish ZONEFILE SERIAL: the zones of $W/knot made again from
# `tenantalign dns` output (zones_from), with serial SERIAL, and reloaded
zones_republish() {
    local z
    zones_from "$1" "$W/knot"
    for z in $ZONES; do
        sed -i "s/\(SOA[[:space:]]\+[^[:space:]]\+[[:space:]]\+[^[:space:]]\+[[:space:]]\+\)1 /\1$2 /" "$W/knot/$z.zone"
        [ -f "$W/knot/knotd.pid" ] && knot_reload "$W/knot" "$z"     # not before knot_start
    done
    sleep 0.2
}

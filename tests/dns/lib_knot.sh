# tests/dns/lib_knot.sh - a real authoritative DNS server (Debian's knot) on
# 127.0.0.1 for the DNS tests, unprivileged paths under a temporary
# directory. Source it; TOP is the repository root.
#   knot_start DIR PORT ZONE...   serve DIR/ZONE.zone for each ZONE (no final
#                                 dot); waits until it answers
#   knot_reload DIR ZONE          reload one zone after editing its file
#   knot_stop DIR
#   zone_head ZONE                SOA and NS lines for a test zone

zone_head() {
    printf '$ORIGIN %s.\n$TTL 3600\n@\tIN\tSOA\tns.%s. hostmaster.%s. 1 3600 600 86400 300\n@\tIN\tNS\tns.%s.\nns\tIN\tA\t127.0.0.1\n' \
        "$1" "$1" "$1" "$1"
}

knot_start() {
    local dir=$1 port=$2 z i; shift 2
    mkdir -p "$dir"
    { printf 'server:\n    listen: 127.0.0.1@%s\n    rundir: %s\ncontrol:\n    listen: %s/knot.sock\n' "$port" "$dir" "$dir"
      printf 'database:\n    storage: %s\nlog:\n  - target: %s/knot.log\n    any: info\n' "$dir" "$dir"
      printf 'template:\n  - id: default\n    storage: %s\n    journal-content: none\n    zonefile-sync: -1\n    zonefile-load: whole\nzone:\n' "$dir"
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

knot_stop() {
    [ -f "$1/knotd.pid" ] && kill "$(cat "$1/knotd.pid")" 2>/dev/null
    rm -f "$1/knotd.pid"
}

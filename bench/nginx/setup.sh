# bench/nginx/setup.sh - sourced by run.sh and floor.sh after tests/lib.sh
# and tests/e2e/lib_nginx.sh: the sink on 2899, the bench tenants, and nginx
# (NGINX_SO's module) with one server per path, started in $W (made here
# unless the caller made it); worker() and cpu() read the workers' ticks.
# Sets the EXIT trap that stops it all and removes $W.
[ -n "${W:-}" ] || W=$(mktemp -d /tmp/ta-bench-nginx.XXXXXX)
chmod 755 "$W"
trap 'nginx_stop "$W/n"; [ -n "${SINK:-}" ] && kill $SINK 2>/dev/null; rm -rf "$W"' EXIT
cc -O2 -o "$W/sink" bench/nginx/sink.c || exit 1
"$W/sink" 2899 &
SINK=$!

mkdir -p "$W/keys"
cp build/keys/acme.example.s1.pem build/keys/acme.example.e1.pem "$W/keys/"
chgrp Debian-exim "$W/keys"/*.pem; chmod 640 "$W/keys"/*.pem; chmod 755 "$W/keys"
cat >"$W/bench.src" <<SRC
dns_check off;
tenant brsa { login brsa; identity acme.example { mode domain; return_path bounces.acme.example;
    key s1 { algorithm rsa-sha256; file keys/acme.example.s1.pem; state active; } } }
tenant bed { login bed; identity acme.example { mode domain; return_path bounces.acme.example;
    key e1 { algorithm ed25519-sha256; file keys/acme.example.e1.pem; state active; } } }
tenant bnone { login bnone; identity acme.example { mode domain; return_path bounces.acme.example; } }
tenant floor { login floor; identity acme.example { mode domain; return_path bounces.acme.example; } }
SRC
"$TA" compile --quiet "$W/bench.src" "$W/tenants.cdb" 2>/dev/null; chgrp Debian-exim "$W/tenants.cdb"
# 2890: DATA upstream, signing on the loop; 2894: in the thread pool; 2895: in
# the pool and BDAT upstream; 2896: the defaults (BDAT, as the sink offers
# CHUNKING; Ed25519 on the loop); 2893: all in memory (the RSS figures);
# 2897: monitor mode, where tenant bnone (no key) passes unsigned: the
# module's cost without a signature (and tenant floor, in floor.sh's build,
# the same plus SHA-256 of the body and one Ed25519 signature)
nginx_setup "$W/n" 2890 2899 "$W/tenants.cdb" enforce \
    "tenantalign_upstream_bdat off;
     server { listen 127.0.0.1:2892; protocol smtp; tenantalign off; }
     server { listen 127.0.0.1:2893; protocol smtp; tenantalign_buffer_size 8m; }
     server { listen 127.0.0.1:2894; protocol smtp; tenantalign_thread_pool tenantalign; }
     server { listen 127.0.0.1:2895; protocol smtp; tenantalign_thread_pool tenantalign; tenantalign_upstream_bdat on; }
     server { listen 127.0.0.1:2896; protocol smtp; tenantalign_upstream_bdat auto; }
     server { listen 127.0.0.1:2897; protocol smtp; tenantalign monitor; tenantalign_upstream_bdat auto; }"
nginx_start "$W/n" || exit 1
worker() { pgrep -P "$(cat "$W/n/nginx.pid")" | head -1; }
# every worker's user + system ticks (NGINX_WORKERS=auto runs two here)
cpu() { local w t=0; for w in $(pgrep -P "$(cat "$W/n/nginx.pid")"); do t=$((t + $(awk '{print $14 + $15}' "/proc/$w/stat"))); done; echo $t; }

# lib_nginx.sh - stock nginx's mail proxy with ngx_mail_tenantalign_module on
# 127.0.0.1, in front of an upstream relay, for tests and the demo. Source it
# after tests/lib.sh.
#
#   nginx_setup DIR PORT UPSTREAM_PORT STORE [MODE [EXTRA]]   DIR/nginx.conf;
#       an auth_http responder on PORT+1 accepting password "secret"
#       (NGINX_ALT_UPSTREAM=PORT: clients with password "secret.alt" go to
#       that upstream instead)
#   nginx_start DIR / nginx_stop DIR / nginx_reload DIR
#   NGINX_WORKERS=N: worker_processes (default 1; "auto" is Debian's)
#   counters in DIR/counters/nginx.counters; TA_LOG_FORMAT: kv (default) or json
#   NGINX_SAN=DIR: the module is the ASan + UBSan build; nginx (the packaged
#       binary) runs with the sanitizers' runtimes preloaded, and their
#       reports go to DIR/asan.PID (tests/e2e/nginx_asan.sh)
#   nginx_bin ARGS...               /usr/sbin/nginx, preloaded as above
NGINX_SO=${NGINX_SO:-$BUILD/ngx_mail_tenantalign_module.so}

nginx_bin() {
    if [ -n "${NGINX_SAN:-}" ]; then
        # detect_leaks=0: nginx's own memory at exit is not ours (valgrind
        # checks the module's leaks); abort_on_error: a report is a crash
        LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)" \
        ASAN_OPTIONS="log_path=$NGINX_SAN/asan:detect_leaks=0:abort_on_error=1" \
        UBSAN_OPTIONS="log_path=$NGINX_SAN/ubsan:print_stacktrace=1:halt_on_error=1" \
            /usr/sbin/nginx "$@"
    else
        /usr/sbin/nginx "$@"
    fi
}

nginx_setup() {
    local dir=$1 port=$2 up=$3 store=$4 mode=${5:-enforce} extra=${6:-}
    mkdir -p "$dir/logs" "$dir/counters"
    chown Debian-exim:Debian-exim "$dir/counters"
    chmod 755 "$dir"
    echo "$((port + 1)) $up ${NGINX_ALT_UPSTREAM:-}" >"$dir/auth.args"
    echo "$port" >"$dir/port"
    cat >"$dir/nginx.conf" <<CONF
load_module /usr/lib/nginx/modules/ngx_mail_module.so;
load_module $NGINX_SO;
user Debian-exim Debian-exim;
worker_processes ${NGINX_WORKERS:-1};
error_log $dir/logs/error.log;
pid $dir/nginx.pid;
events { worker_connections 256; }
thread_pool tenantalign threads=2;
mail {
    error_log $dir/logs/error.log notice;
    server_name relay.tenantalign.test;
    auth_http 127.0.0.1:$((port + 1))/auth;
    xclient off;
    smtp_auth plain login;
    smtp_capabilities "SIZE 52428800" 8BITMIME PIPELINING;
    tenantalign $mode;
    tenantalign_store $store;
    tenantalign_counters $dir/counters/nginx.counters;
    tenantalign_log_format ${TA_LOG_FORMAT:-kv};
    tenantalign_temp_path $dir/temp;
    $extra
    server {
        listen 127.0.0.1:$port;
        protocol smtp;
    }
}
CONF
}

nginx_start() {
    local dir=$1 port i
    port=$(cat "$dir/port")
    /usr/bin/python3 "$TOP/tests/e2e/auth_http.py" $(cat "$dir/auth.args") &
    echo $! >"$dir/auth.pid"
    for i in $(seq 50); do
        (exec 3<>/dev/tcp/127.0.0.1/"$((port + 1))") 2>/dev/null && break
        sleep 0.1
    done
    nginx_bin -p "$dir" -c "$dir/nginx.conf" -e "$dir/logs/error.log" || return 1
    for i in $(seq 50); do
        (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && { nginx_san_loaded "$dir"; return; }
        sleep 0.1
    done
    tail -5 "$dir/logs/error.log" >&2
    return 1
}

# nginx_san_loaded DIR: with NGINX_SAN, the master really runs with the
# sanitizers' runtime and the instrumented module (a clean run proves
# nothing otherwise)
nginx_san_loaded() {
    [ -n "${NGINX_SAN:-}" ] || return 0
    local i maps
    # the daemonized master writes its pid file just after the port opens
    for i in $(seq 50); do [ -s "$1/nginx.pid" ] && break; sleep 0.1; done
    maps=/proc/$(cat "$1/nginx.pid" 2>/dev/null)/maps
    grep -q '/libasan\.so' "$maps" 2>/dev/null && grep -qF "$(readlink -f "$NGINX_SO")" "$maps" && return 0
    echo "nginx_start: NGINX_SAN set, but nginx runs without libasan or $NGINX_SO" >&2
    return 1
}

nginx_stop() {
    local dir=$1
    [ -f "$dir/nginx.pid" ] && kill "$(cat "$dir/nginx.pid")" 2>/dev/null
    [ -f "$dir/auth.pid" ] && kill "$(cat "$dir/auth.pid")" 2>/dev/null
    rm -f "$dir/auth.pid"
    sleep 0.2
}

nginx_reload() {
    nginx_bin -p "$1" -c "$1/nginx.conf" -e "$1/logs/error.log" -s reload
}

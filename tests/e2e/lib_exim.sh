# lib_exim.sh - a private Exim relay with the tenantalign plugin, on
# 127.0.0.1, for tests and the demo. Source it after tests/lib.sh.
#
#   exim_setup DIR PORT [local_scan|data_acl]
#       DIR/exim.conf, DIR/tenantalign.conf (store DIR/tenants.cdb, mode
#       enforce), spool, log and maildir under DIR; the example tenants'
#       store compiled into DIR with its keys copied there (group
#       Debian-exim, mode 0640): with dns_check off, or with TA_STATE=FILE
#       (compile --state FILE: the keys verify saw). local_scan (default): local_scan_path plus
#       the MAIL FROM dlfunc; counters in DIR/counters/exim.counters; log
#       lines as TA_LOG_FORMAT (kv, the default, or json); data_acl: the DATA-ACL dlfunc only; relay:
#       no plugin, relaying for 127.0.0.1 (an upstream behind nginx).
#       EXIM_ALT_PORT=N: also listen on N, where CHUNKING is not offered
#       (an upstream without BDAT) and PIPECONNECT is, as Debian's Exim
#       does by default.
#   exim_start DIR        start the daemon (TENANTALIGN_CONF kept for it)
#   exim_stop DIR
#   exim_mode DIR MODE    enforce | monitor | off (takes effect for new processes)
#   exim_wait_delivery DIR inbox COUNT [SECONDS]   until the maildir holds COUNT messages
#   exim_mainlog DIR      path of the main log
EXIM_SO=${EXIM_SO:-$BUILD/tenantalign_exim.so}

exim_setup() {
    local dir=$1 port=$2 kind=${3:-local_scan} so=$EXIM_SO
    mkdir -p "$dir/spool" "$dir/log" "$dir/mail" "$dir/keys"
    cp "$TOP"/build/keys/acme.example.s1.pem "$TOP"/build/keys/acme.example.e1.pem \
       "$TOP"/build/keys/globex.example.s1.pem "$dir/keys/"
    # TA_STATE: what verify saw (the demo); else no DNS: the keys sign as the
    # source says (tests/dns/ covers dns_check)
    { [ -n "${TA_STATE:-}" ] || echo "dns_check off;"
      sed "s#\.\./build/keys/#keys/#" "$TOP/examples/tenants.conf"; } >"$dir/tenants.src"
    chgrp Debian-exim "$dir/keys"/*.pem && chmod 640 "$dir/keys"/*.pem
    "$TA" compile --quiet ${TA_STATE:+--state "$TA_STATE"} "$dir/tenants.src" "$dir/tenants.cdb" || return 1
    chgrp Debian-exim "$dir/tenants.cdb"
    # the counter table where Exim's user may create it; TA_LOG_FORMAT: kv or json
    mkdir -p "$dir/counters" && chown Debian-exim:Debian-exim "$dir/counters"
    printf 'store = %s/tenants.cdb\nmode = enforce\npolice_local = no\ncounters = %s/counters/exim.counters\nlog_format = %s\n' \
        "$dir" "$dir" "${TA_LOG_FORMAT:-kv}" >"$dir/tenantalign.conf"
    chmod 644 "$dir/tenantalign.conf" "$dir/exim.conf" 2>/dev/null
    chmod 755 "$dir" "$dir/keys"
    local mail_acl="" data_acl="" scan="local_scan_path = $so" relay_hosts=""
    local ports=$port chunking="*" pipeconnect=""
    if [ -n "${EXIM_ALT_PORT:-}" ]; then
        ports="$port : $EXIM_ALT_PORT"
        chunking="\${if eq{\$received_port}{$EXIM_ALT_PORT}{}{*}}"
        pipeconnect="\${if eq{\$received_port}{$EXIM_ALT_PORT}{*}{}}"
    fi
    [ "$kind" = relay ] && relay_hosts=127.0.0.1
    if [ "$kind" = local_scan ]; then
        mail_acl="  warn   set acl_m_ta = \${dlfunc{$so}{tenantalign_mail}}
  defer  condition = \${if match{\$acl_m_ta}{\\N^4\\N}}
         message = \$acl_m_ta
  deny   condition = \${if match{\$acl_m_ta}{\\N^5\\N}}
         message = \$acl_m_ta"
    elif [ "$kind" = relay ]; then
        scan=""
    else
        scan=""
        data_acl="  warn   set acl_m_ta = \${dlfunc{$so}{tenantalign_data}}
  defer  condition = \${if match{\$acl_m_ta}{\\N^4\\N}}
         message = \$acl_m_ta
  deny   condition = \${if match{\$acl_m_ta}{\\N^5\\N}}
         message = \$acl_m_ta"
    fi
    cat >"$dir/exim.conf" <<CONF
primary_hostname = relay.tenantalign.test
spool_directory = $dir/spool
log_file_path = $dir/log/%slog
pid_file_path = $dir/exim.pid
daemon_smtp_ports = $ports
chunking_advertise_hosts = $chunking
# no PIPECONNECT on the main port: EHLO is then a synchronisation point, as
# RFC 2920 has it
pipelining_connect_advertise_hosts = $pipeconnect
local_interfaces = 127.0.0.1
$scan
keep_environment = TENANTALIGN_CONF
helo_lookup_domains =
host_lookup =
rfc1413_hosts =
tls_advertise_hosts =
never_users =
trusted_users = root
acl_smtp_mail = acl_mail
acl_smtp_rcpt = acl_rcpt
acl_smtp_data = acl_data
message_size_limit = 60M
smtp_receive_timeout = ${EXIM_RECEIVE_TIMEOUT:-5m}

begin acl
acl_mail:
$mail_acl
  deny   senders = *@bounces.refused.example
         message = 550 5.7.1 this relay refuses bounces.refused.example
  accept
acl_rcpt:
  accept authenticated = *
  accept hosts = ${relay_hosts:-:}
  deny   message = relay not permitted
acl_data:
$data_acl
  accept

begin routers
sink:
  driver = accept
  transport = maildir

begin transports
maildir:
  driver = appendfile
  directory = $dir/mail/inbox
  maildir_format
  create_directory
  user = Debian-exim
  group = Debian-exim
  mode = 0640
  return_path_add
  envelope_to_add = false
  delivery_date_add = false

begin authenticators
plain:
  driver = plaintext
  public_name = PLAIN
  server_prompts = :
  server_condition = \${if eq{\$auth3}{secret}}
  server_set_id = \$auth2
  server_advertise_condition = true
CONF
    chmod 644 "$dir/exim.conf"
    chown -R Debian-exim:Debian-exim "$dir/spool" "$dir/log" "$dir/mail"
    chmod 755 "$dir"
}

exim_start() {
    local dir=$1 ports port i
    ports=$(sed -n 's/^daemon_smtp_ports = //p' "$dir/exim.conf")
    port=${ports%% *}
    TENANTALIGN_CONF=$dir/tenantalign.conf /usr/sbin/exim4 -C "$dir/exim.conf" -bd -q30m -oX "${ports// /}" \
        -oP "$dir/exim.pid" || return 1
    for i in $(seq 50); do
        (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "exim did not start on $port" >&2
    cat "$dir/log/paniclog" "$dir/log/mainlog" 2>/dev/null | tail -5 >&2
    return 1
}

exim_stop() {
    local dir=$1
    [ -f "$dir/exim.pid" ] && kill "$(cat "$dir/exim.pid")" 2>/dev/null
    rm -f "$dir/exim.pid"
}

exim_mode() {
    sed -i "s/^mode = .*/mode = $2/" "$1/tenantalign.conf"
}

exim_mainlog() { echo "$1/log/mainlog"; }

exim_wait_delivery() {
    local dir=$1 user=$2 count=$3 secs=${4:-15} i
    for i in $(seq $((secs * 10))); do
        [ "$(ls "$dir/mail/$user/new" 2>/dev/null | wc -l)" -ge "$count" ] && return 0
        sleep 0.1
    done
    return 1
}

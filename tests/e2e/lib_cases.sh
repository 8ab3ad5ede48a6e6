# tests/e2e/lib_cases.sh - the cases both adapters must give alike, sourced
# by exim_e2e.sh (clients straight into Exim with the plugin) and
# nginx_e2e.sh (nginx with the module in front of a plain Exim). Replies are
# read as raw lines (smtp_send.py checks every line's codes); what arrives is
# read where it arrives: the delivering Exim's log and maildir.
#
#   cases_rewrite_tenant DIR DNSFILE [NAME DOMAIN]   tenant NAME (login
#       NAME; default rw) whose identity DOMAIN (rewrite.example) rewrites
#       the envelope to bounces.DOMAIN; DIR/tenants.cdb recompiled, the
#       key's record added to DNSFILE
#   case_rewrite LABEL PORT DIR DECISION_LOG DNSFILE
#   case_replies LABEL PORT DIR DECISION_LOG
#       DIR: the delivering Exim's directory (its mainlog and maildir);
#       DECISION_LOG: where the adapter logs its decisions

cases_rewrite_tenant() {
    local dir=$1 dns=$2 name=${3:-rw} domain=${4:-rewrite.example}
    "$TA" keygen --alg ed25519 --domain "$domain" --selector r1 --out "$dir/keys" >/dev/null 2>&1
    chgrp Debian-exim "$dir/keys/$domain.r1.pem"; chmod 640 "$dir/keys/$domain.r1.pem"
    cat >>"$dir/tenants.src" <<SRC
tenant $name { login $name; identity $domain { mode domain; return_path bounces.$domain;
    rewrite_return_path on; key r1 { algorithm ed25519-sha256; file keys/$domain.r1.pem; state active; } } }
SRC
    "$TOP/tests/dkim/pubdns" r1 "$domain" "$dir/keys/$domain.r1.pem" >>"$dns"
    "$TA" compile --quiet "$dir/tenants.src" "$dir/tenants.new" && chgrp Debian-exim "$dir/tenants.new" \
        && mv "$dir/tenants.new" "$dir/tenants.cdb"
    sleep 1.1       # adapters look at the store once a second
}

case_rewrite() {
    local label=$1 port=$2 dir=$3 log=$4 dns=$5 r n0 f
    local send="/usr/bin/python3 $TOP/tests/e2e/smtp_send.py --port $port"
    local inbox=$dir/mail/inbox/new
    local mainlog
    mainlog=$(exim_mainlog "$dir")

    # 1. a foreign MAIL FROM from a tenant whose identity rewrites the
    # envelope: it arrives at the return-path domain, for every recipient,
    # with the client's parameters, and its signature verifies
    make_msg "$W/rw.eml" 'news@rewrite.example'
    n0=$(ls "$inbox" 2>/dev/null | wc -l)
    r=$($send --login rw --mail-from x --raw-mail 'MAIL FROM:<ceo@paypal.example> SIZE=2000' \
        --rcpt one@customer.example --rcpt two@customer.example "$W/rw.eml" 2>&1)
    check "$label: rewrite: accepted" grep -q '^0 DATA 250' <<<"$r"
    if exim_wait_delivery "$dir" inbox $((n0 + 2)); then
        check "$label: rewrite: both recipients have Return-path at the return-path domain" \
            test "$(grep -l '^Return-path: <ceo@bounces.rewrite.example>' $(ls -t "$inbox"/* | head -2) | wc -l)" -eq 2
        check "$label: rewrite: the upstream received from the new sender only" \
            bash -c 'grep -q "<= ceo@bounces.rewrite.example " "$1" && ! grep -q "<= ceo@paypal.example" "$1"' _ "$mainlog"
        f=$(ls -t "$inbox"/* | head -1)
        sed 's/$/\r/' "$f" >"$W/rw-delivered.eml"
        check "$label: rewrite: dkimpy verifies d=rewrite.example" "$TOP/tests/dkim/verify_dkimpy.py" "$dns" "$W/rw-delivered.eml"
    else
        fail "$label: rewrite: delivered to both recipients [$r]"
    fi
    check "$label: rewrite: logged with the new sender" grep -q \
        'tenantalign: stage=data tenant=rw login=rw stream=transactional qid=[0-9A-Za-z-]* from=rewrite.example envelope=bounces.rewrite.example verdict=accept code="250 2.0.0" new_sender=ceo@bounces.rewrite.example signed=rewrite.example:r1' "$log"
}

case_replies() {
    local label=$1 port=$2 dir=$3 log=$4 r n0
    local send="/usr/bin/python3 $TOP/tests/e2e/smtp_send.py --port $port"
    local inbox=$dir/mail/inbox/new

    # 2. refused at MAIL FROM: Microsoft's line whole, every line coded
    r=$($send --login acme --mail-from ceo@paypal.example "$W/rw.eml" 2>&1)
    check "$label: MAIL refusal: exact raw reply" [ "$r" = "0 MAIL 550 5.7.515 Access denied, sending domain paypal.example does not meet the required authentication level | envelope sender domain paypal.example is not a domain of tenant acme" ]
    check "$label: MAIL refusal: logged with tenant and login" grep -q \
        'tenantalign: stage=mail tenant=acme login=acme stream=transactional qid=- from=- envelope=paypal.example verdict=reject class=envelope_not_owned code="550 5.7.515" reason="envelope sender domain paypal.example is not a domain of tenant acme"' "$log"

    # 3. refused at the end of DATA: the same form
    make_msg "$W/sp.eml" 'ceo@globex.example'
    r=$($send --login acme --mail-from bounce@bounces.acme.example "$W/sp.eml" 2>&1)
    check "$label: DATA refusal: exact raw reply" [ "$r" = "0 DATA 550 5.7.515 Access denied, sending domain globex.example does not meet the required authentication level | From domain globex.example is not a sending domain of tenant acme" ]

    # 4. text after the reverse-path: refused, never read as a second address
    n0=$(ls "$inbox" 2>/dev/null | wc -l)
    make_msg "$W/ok2.eml" 'news@acme.example'
    r=$($send --login acme --mail-from x --raw-mail 'MAIL FROM:<b@bounces.acme.example>ceo@globex.example' "$W/ok2.eml" 2>&1)
    check "$label: MAIL with text after the path: 501" grep -q '^0 MAIL 501 ' <<<"$r"
    r=$($send --login acme --mail-from x --raw-mail 'MAIL FROM:<b@bounces.acme.example> <ceo@globex.example>' "$W/ok2.eml" 2>&1)
    check "$label: MAIL with a second address: 5xx" grep -q '^0 MAIL 5[0-9][0-9] ' <<<"$r"
    sleep 0.5
    check "$label: smuggled MAIL lines: nothing delivered" test "$(ls "$inbox" 2>/dev/null | wc -l)" -eq "$n0"
}

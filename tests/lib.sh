# Shared helpers for shell tests. Each test prints one TAP-style line:
#   ok NAME | not ok NAME | ok NAME # SKIP why
# tests/run.sh counts them. Source this file; TOP is the repository root.
TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
BUILD=${BUILD:-$TOP/build}
TA=$BUILD/tenantalign
_ta_failures=0

ok()   { echo "ok $*"; }
fail() { echo "not ok $*"; _ta_failures=$((_ta_failures + 1)); }
skip() { local name=$1; shift; echo "ok $name # SKIP $*"; }
# check NAME CMD...: ok when CMD exits 0
check() { local name=$1; shift; if "$@"; then ok "$name"; else fail "$name"; fi; }
# diag TEXT: shown in the log, not counted
diag() { echo "# $*"; }
# make_msg FILE FROM [extra header lines...]: a plain CRLF test message
make_msg() {
    local f=$1 from=$2 h; shift 2
    { printf 'From: %s\r\nTo: Someone <someone@customer.example>\r\nSubject: Statement %s\r\n' "$from" "$RANDOM"
      printf 'Date: Tue, 24 Nov 2026 10:00:00 +0000\r\nMessage-ID: <%s.%s@acme.example>\r\n' "$RANDOM" "$RANDOM"
      for h in "$@"; do printf '%s\r\n' "$h"; done
      printf '\r\nHello,\r\n\r\nyour statement is ready.  Regards,\r\nAcme\r\n'; } >"$f"
}
finish() { exit $(( _ta_failures > 0 ? 1 : 0 )); }
# reason: the reason of a refusal read on stdin (every line after
# Microsoft's first, codes taken off, joined by spaces)
reason() { sed -E '1{/Access denied, sending domain/d}; s/\r$//; s/^[0-9]{3}[- ][0-9]\.[0-9]+\.[0-9]+ ?//' | paste -sd' '; }
# every_line_coded CODE ENH REPLY: each line "CODE-ENH ...", the last
# "CODE ENH ..."; no line but the first longer than 75 octets
every_line_coded() {
    local code=$1 enh=$2 n i=0 line
    n=$(printf '%s\n' "$3" | grep -c .)
    while IFS= read -r line; do
        line=${line%$'\r'}; i=$((i + 1))
        if [ $i -lt "$n" ]; then [[ $line == "$code-$enh "* ]] || return 1
        else [[ $line == "$code $enh "* ]] || return 1; fi
        [ $i -eq 1 ] || [ ${#line} -le 75 ] || return 1
    done <<<"$3"
}

#!/usr/bin/env bash
# build-module.sh BUILD_DIR "LIBS": build ngx_mail_tenantalign_module.so with
# Debian's recipe for third-party modules (nginx-dev's configure tree and
# conf_flags, --with-compat), against the stock /usr/sbin/nginx.
# TA_SAN_FLAGS: sanitizer flags for the module's own sources too (the ASan +
# UBSan build: BUILD_DIR's library is instrumented already); nginx itself
# stays the packaged binary, run with the sanitizer runtime preloaded.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=$1
san=${TA_SAN_FLAGS:-}
export TENANTALIGN_LIBS="$build/libtenantalign.a $2"
bdir=$build/nginx-build
mkdir -p "$bdir"
cd /usr/share/nginx/src
. ./conf_flags
# configure writes the libraries into the Makefile: a new one (a new
# dependency of the core) needs configure again, or the module links without it
if [ ! -f "$bdir/Makefile" ] || [ "$top/nginx/config" -nt "$bdir/Makefile" ] \
   || [ "$(cat "$bdir/libs" 2>/dev/null)" != "$TENANTALIGN_LIBS $san" ]; then
    ./configure --with-cc-opt="$(dpkg-buildflags --get CFLAGS) -fPIC $(dpkg-buildflags --get CPPFLAGS) $san" \
        --with-ld-opt="$(dpkg-buildflags --get LDFLAGS) -fPIC $san" "${NGX_CONF_FLAGS[@]}" \
        --with-mail=dynamic --with-mail_ssl_module --add-dynamic-module="$top/nginx" \
        --builddir="$bdir" >"$bdir/configure.log" 2>&1 || { tail -20 "$bdir/configure.log"; exit 1; }
    printf '%s' "$TENANTALIGN_LIBS $san" >"$bdir/libs"
fi
# nginx's Makefile knows the module's sources, not libtenantalign.a: relink always
rm -f "$bdir/ngx_mail_tenantalign_module.so"
make -s -f "$bdir/Makefile" "$bdir/ngx_mail_tenantalign_module.so" >"$bdir/make.log" 2>&1 || { grep -E "error|warning" -A3 "$bdir/make.log" | head -40; exit 1; }
cp "$bdir/ngx_mail_tenantalign_module.so" "$build/ngx_mail_tenantalign_module.so.new"
mv "$build/ngx_mail_tenantalign_module.so.new" "$build/ngx_mail_tenantalign_module.so"   # never overwrite a loaded .so

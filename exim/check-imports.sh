#!/usr/bin/env bash
# check-imports.sh PLUGIN.so [EXIM]: every symbol the plugin leaves undefined
# must be exported by Exim itself or by a library the plugin links, or the
# first call to it would kill Exim's process. (Debian's exim4 is built with
# hidden visibility: only ~80 symbols are exported.)
set -eu
so=$1 exim=${2:-/usr/sbin/exim4}
defined=$(mktemp); trap 'rm -f "$defined"' EXIT
nm -D --defined-only "$exim" | awk '{print $3}' | sed 's/@.*//' >"$defined"
for lib in $(ldd "$so" | awk '/=>/ {print $3}'); do
    nm -D --defined-only "$lib" | awk '{print $3}' | sed 's/@.*//' >>"$defined"
done
sort -u -o "$defined" "$defined"
missing=$(nm -D --undefined-only "$so" | awk '{print $2}' | sed 's/@.*//' | grep -v '^_' | sort -u \
          | comm -23 - "$defined" || true)
# weak symbols (w) may stay undefined
missing=$(for s in $missing; do nm -D --undefined-only "$so" | grep -q " w $s" || echo "$s"; done)
if [ -n "$missing" ]; then
    echo "check-imports: $so imports symbols neither Exim nor its libraries export:" >&2
    echo "$missing" >&2
    exit 1
fi
echo "check-imports: every import of $(basename "$so") is exported by $(basename "$exim") or a linked library"

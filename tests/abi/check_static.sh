#!/usr/bin/env bash
# libbitnet.a is linked into other programs whole: every global symbol it
# defines must carry the bn_ prefix (internal ones too), so that it cannot
# collide with the host program's own names.
#   check_static.sh LIBBITNET.a
set -euo pipefail
lib=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
nm -g --defined-only "$lib" 2>/dev/null | awk 'NF == 3 { print $3 }' | sort -u > "$tmp/globals"
n=$(wc -l < "$tmp/globals")
((n > 0)) || { echo "FAIL: $lib defines no global symbols"; exit 1; }
if grep -v '^bn_' "$tmp/globals" > "$tmp/foreign"; then
  echo "FAIL: global symbols in $lib without the bn_ prefix (make them static, or prefix them):"
  for s in $(cat "$tmp/foreign"); do
    printf '  %s (%s)\n' "$s" "$(nm -A -g --defined-only "$lib" 2>/dev/null | awk -v s="$s" '$NF == s { sub(/:.*/, "", $1); sub(/.*\(|\)$/, "", $1); print $1; exit }')"
  done
  exit 1
fi
echo "ok: all $n global symbols of $(basename "$lib") start with bn_"

#!/usr/bin/env bash
# The shared library exports exactly the functions the linker version script
# lists, all bn_-prefixed, and that list is exactly the header's BN_API
# functions.
#   check_exports.sh LIBBITNET.so lib/bitnet.map include/bitnet/*.h
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/symbols.sh"

lib=$1 map=$2
shift 2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

library_exports "$lib" > "$tmp/exports"
version_script_symbols "$map" > "$tmp/map"
header_api_functions "$@" > "$tmp/header"
status=0

n=$(wc -l < "$tmp/exports")
if ((n == 0)); then
  echo "FAIL: $lib exports nothing"
  exit 1
fi
if grep -v '^bn_' "$tmp/exports" > "$tmp/foreign"; then
  echo "FAIL: exported symbols without the bn_ prefix:"
  sed 's/^/  /' "$tmp/foreign"
  status=1
fi
# A symbol's version node: every export must be in BITNET_<abi>.
if nm -D --defined-only "$lib" | awk '$2 != "A"' | grep -v '@@BITNET_' > "$tmp/unversioned"; then
  echo "FAIL: exports outside the version script's node:"
  sed 's/^/  /' "$tmp/unversioned"
  status=1
fi
if ! diff -u --label "$map (global)" --label "$lib (nm -D)" "$tmp/map" "$tmp/exports" > "$tmp/d1"; then
  echo "FAIL: exports differ from the version script (-: listed but not exported, +: exported but not listed):"
  cat "$tmp/d1"
  status=1
fi
if ! diff -u --label "$* (BN_API)" --label "$map (global)" "$tmp/header" "$tmp/map" > "$tmp/d2"; then
  echo "FAIL: the version script differs from the header's BN_API functions:"
  cat "$tmp/d2"
  status=1
fi
if ((status == 0)); then
  echo "ok: $n exports, all bn_, equal to $map and to the header's BN_API functions"
fi
exit $status

#!/usr/bin/env bash
# Deliberately rewrites the ABI baseline (tests/abi/libbitnet.abi) and the
# layout table (tests/abi/layout-lp64.txt) from a build. See docs/abi.md for
# when this is allowed.
#   tests/abi/update-baseline.sh [BUILD_DIR]   (default build-ci/release)
# The build must have debug information (-Ddebug=true).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/abi-env.sh"
build=${1:-$root/build-ci/release}
lib=$build/lib/libbitnet.so

[[ $(uname -m) == "$baseline_arch" ]] || { echo "the baseline is made on $baseline_arch"; exit 1; }
ninja -C "$build" >/dev/null
grep -q '\.debug_info' <<< "$(readelf -S "$lib")" || { echo "$lib has no DWARF: reconfigure with -Ddebug=true"; exit 1; }
bash "$here/check_exports.sh" "$lib" "$root/lib/bitnet.map" "$root"/include/bitnet/*.h
abidw "${abidw_options[@]}" --headers-dir "$root/include" --out-file "$here/libbitnet.abi" "$lib"
"$build/tests/abi/abi-layout" > "$here/layout-lp64.txt"
echo "wrote $here/libbitnet.abi and $here/layout-lp64.txt; review 'git diff tests/abi' and commit them"

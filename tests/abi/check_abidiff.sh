#!/usr/bin/env bash
# Compares a built libbitnet.so with the committed ABI baseline.
#   check_abidiff.sh LIBBITNET.so BASELINE.abi INCLUDE_DIR
# Fails on any removed or changed function, variable or type; functions
# added at the end of the ABI (new bn_ functions) pass with a notice, since
# check_exports.sh already ties every export to the header and version script.
# Exit 77 (skipped) when abidiff is missing, the library has no debug
# information, or the host is not the baseline's architecture.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/abi-env.sh"
lib=$1 baseline=$2 inc=$3

command -v abidiff >/dev/null || { echo "skip: abidiff not installed (Debian: abigail-tools)"; exit 77; }
if [[ $(uname -m) != "$baseline_arch" ]]; then
  echo "skip: the baseline describes $baseline_arch, this is $(uname -m)"
  exit 77
fi
if ! grep -q '\.debug_info' <<< "$(readelf -S "$lib")"; then
  echo "skip: $lib has no DWARF; configure with -Ddebug=true (tests/run-all.sh does)"
  exit 77
fi
[[ -f $baseline ]] || { echo "FAIL: no baseline $baseline (tests/abi/update-baseline.sh makes it)"; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
abidw "${abidw_options[@]}" --headers-dir "$inc" --out-file "$tmp/current.abi" "$lib"
set +e
abidiff --no-architecture "$baseline" "$tmp/current.abi" > "$tmp/report" 2>&1
rc=$?
set -e
cat "$tmp/report"
# abidiff's exit status is a bit set: 1 error, 2 usage, 4 ABI change, 8 incompatible change.
if ((rc & 3)); then
  echo "FAIL: abidiff could not compare (exit $rc)"
  exit 1
fi
if ((rc & 8)); then
  echo "FAIL: incompatible ABI change against $baseline (docs/abi.md: this needs a SONAME bump)"
  exit 1
fi
if ((rc & 4)); then
  # Compatible change: accept it only if all that changed is added functions.
  if grep -Eq '([1-9][0-9]* Removed|[1-9][0-9]* Changed|[1-9][0-9]* Added variable)' "$tmp/report"; then
    echo "FAIL: the ABI changed against $baseline. If deliberate and allowed by docs/abi.md,"
    echo "      run tests/abi/update-baseline.sh BUILD_DIR and commit the new baseline."
    exit 1
  fi
  echo "ok: only added functions against $baseline (update it with tests/abi/update-baseline.sh at release)"
  exit 0
fi
echo "ok: the ABI equals $baseline"

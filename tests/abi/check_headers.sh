#!/usr/bin/env bash
# Each public header compiles on its own, twice included, as strict C11 and as
# C++17, with every warning an error.
#   check_headers.sh INCLUDE_DIR   (CC and CXX choose the compilers)
set -euo pipefail
inc=$(cd "$1" && pwd)
cc=${CC:-cc}
cxx=${CXX:-c++}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
n=0

check() {  # label, compiler and flags..., source
  local label=$1
  shift
  if "$@" -c -o "$tmp/out.o" 2> "$tmp/err"; then
    echo "ok: $label"
  else
    echo "FAIL: $label"
    sed 's/^/  /' "$tmp/err"
    status=1
  fi
}

for h in "$inc"/bitnet/*.h; do
  name=bitnet/$(basename "$h")
  printf '#include <%s>\n#include <%s>\nint bn_header_check_dummy;\n' "$name" "$name" > "$tmp/t.c"
  cp "$tmp/t.c" "$tmp/t.cpp"
  strict=(-Wall -Wextra -Wpedantic -Werror -I"$inc")
  check "$name as C11" "$cc" -std=c11 "${strict[@]}" -Wstrict-prototypes -Wmissing-prototypes "$tmp/t.c"
  if command -v "$cxx" >/dev/null 2>&1; then
    check "$name as C++17" "$cxx" -std=c++17 -x c++ "${strict[@]}" -Wold-style-cast "$tmp/t.cpp"
  else
    echo "FAIL: no C++ compiler ($cxx); .ci/install-deps installs g++"
    status=1
  fi
  n=$((n + 1))
done
((n > 0)) || { echo "FAIL: no headers under $inc/bitnet"; exit 1; }
exit $status

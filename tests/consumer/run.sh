#!/usr/bin/env bash
# Out-of-tree consumers: installs a build into a staging directory, then
# builds tests/consumer/consumer.c (shared and static) and examples/cpp/
# against it with nothing but pkg-config, and runs them.
#   tests/consumer/run.sh BUILD_DIR WORK_DIR [MODEL.gguf]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "$1" && pwd)
work=$2
model=${3:-}
cc=${CC:-cc}
cxx=${CXX:-c++}

rm -rf "$work"
mkdir -p "$work"
work=$(cd "$work" && pwd)
stage=$work/stage
meson install -C "$build" --destdir "$stage" --quiet

# The .pc file names the configured prefix; pkg-config's sysroot maps it into
# the staging directory, as a distribution's build root would.
pcfile=$(find "$stage" -name bitnet.pc | head -n 1)
[[ -n $pcfile ]] || { echo "FAIL: meson install wrote no bitnet.pc"; exit 1; }
libdir=$(dirname "$(dirname "$pcfile")")
export PKG_CONFIG_PATH=$(dirname "$pcfile")
export PKG_CONFIG_SYSROOT_DIR=$stage
export PKG_CONFIG_LIBDIR=$PKG_CONFIG_PATH
echo "installed: $(cd "$stage" && find . -path ./usr/share -prune -o -type f -print | sort | tr '\n' ' ')"
echo "pkg-config --cflags --libs bitnet: $(pkg-config --cflags --libs bitnet)"
echo "pkg-config --static --libs bitnet: $(pkg-config --static --libs bitnet)"
[[ $(pkg-config --modversion bitnet) == "$(sed -n 's/^#define BN_VERSION_STRING "\(.*\)"/\1/p' "$root/include/bitnet/bitnet.h")" ]] ||
  { echo "FAIL: bitnet.pc version differs from the header"; exit 1; }

run() { echo "+ $*"; "$@"; }
args=()
[[ -n $model ]] && args+=("$model")

# Shared: the program must load the installed libbitnet.so.
# shellcheck disable=SC2046
run "$cc" -std=c11 -Wall -Wextra -Wpedantic -Werror -o "$work/consumer-shared" "$root/tests/consumer/consumer.c" \
    $(pkg-config --cflags --libs bitnet)
grep -q 'NEEDED.*libbitnet\.so\.0' <<< "$(readelf -d "$work/consumer-shared")" ||
  { echo "FAIL: consumer-shared does not need libbitnet.so.0"; exit 1; }
run env LD_LIBRARY_PATH="$libdir" "$work/consumer-shared" "${args[@]}"
loaded=$(env LD_LIBRARY_PATH="$libdir" ldd "$work/consumer-shared")
grep -q "$libdir/libbitnet.so.0" <<< "$loaded" ||
  { echo "FAIL: consumer-shared did not load the staged library"; exit 1; }

# Static: libbitnet.a plus what --static adds (libm, threads) must suffice.
static_libs=$(pkg-config --static --libs bitnet | sed 's/-lbitnet\b/-Wl,-Bstatic -lbitnet -Wl,-Bdynamic/')
# shellcheck disable=SC2046,SC2086
run "$cc" -std=c11 -Wall -Wextra -Wpedantic -Werror -o "$work/consumer-static" "$root/tests/consumer/consumer.c" \
    $(pkg-config --cflags bitnet) $static_libs
if grep -q 'NEEDED.*libbitnet' <<< "$(readelf -d "$work/consumer-static")"; then
  echo "FAIL: consumer-static still needs libbitnet.so"
  exit 1
fi
run env LD_LIBRARY_PATH=/nonexistent "$work/consumer-static" "${args[@]}"

# C++17 with its own RAII wrapper.
# shellcheck disable=SC2046
run "$cxx" -std=c++17 -Wall -Wextra -Wpedantic -Werror -o "$work/bitnet-cpp" "$root/examples/cpp/main.cpp" \
    $(pkg-config --cflags --libs bitnet)
run env LD_LIBRARY_PATH="$libdir" "$work/bitnet-cpp" "${args[@]}"
echo "ok: C (shared, static) and C++ consumers built with pkg-config against the installed library"

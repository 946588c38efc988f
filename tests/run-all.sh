#!/usr/bin/env bash
# The full test run: the README's test command, and what .ci/run runs.
#
#   tests/run-all.sh            every step
#   tests/run-all.sh abi fuzz   only the named steps
#
# Steps: release (build + meson test, all suites), sanitize (ASan+UBSan, unit
# suites and the CLI), abi (exports, headers, abidiff, docs), consumer (install into a
# prefix, build C and C++ programs with pkg-config, shared and static),
# cross (aarch64 build, tests under qemu-user), fuzz (libFuzzer smoke of the
# GGUF reader, the tokenizer and the model loader). Each prints its own output; the last line sums them up as
# "N passed, N failed". Build trees live under $BN_CI_DIR (default build-ci/).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
CI_DIR=${BN_CI_DIR:-$ROOT/build-ci}
JOBS=${BN_JOBS:-$(nproc)}
FUZZ_SECONDS=${BN_FUZZ_SECONDS:-30}
SKIP=77
mkdir -p "$CI_DIR"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export MESON_TESTTHREADS=${MESON_TESTTHREADS:-$JOBS}

note() { printf '%s\n' "$*"; }
have() { command -v "$1" >/dev/null 2>&1; }

# setup DIR [meson args...]: configures DIR, or reconfigures it when it exists.
setup() {
  local dir=$1
  shift
  if [[ -f $dir/build.ninja ]]; then
    meson setup --reconfigure "$dir" "$@"
  else
    rm -rf "$dir"
    meson setup "$dir" "$@"
  fi
}

RELEASE=$CI_DIR/release

step_release() {
  # Release optimization plus DWARF, which abidiff needs (set as options, not as
  # --buildtype=release, which a reconfigure would let win over -Ddebug=true).
  setup "$RELEASE" -Doptimization=3 -Ddebug=true -Db_ndebug=true -Dtests=true -Dexamples=true || return 1
  ninja -C "$RELEASE" -j "$JOBS" || return 1
  meson test -C "$RELEASE" --print-errorlogs
}

step_sanitize() {
  local dir=$CI_DIR/asan
  setup "$dir" --buildtype=debugoptimized -Db_sanitize=address,undefined -Db_lundef=false \
        -Dtests=true -Dexamples=true || return 1
  ninja -C "$dir" -j "$JOBS" || return 1
  meson test -C "$dir" --suite unit --suite cli --print-errorlogs
}

step_abi() {
  [[ -f $RELEASE/build.ninja ]] || { note "abi: needs the release step's build"; return 1; }
  ninja -C "$RELEASE" -j "$JOBS" || return 1
  meson test -C "$RELEASE" --suite abi --print-errorlogs --verbose
}

step_consumer() {
  [[ -f $RELEASE/build.ninja ]] || { note "consumer: needs the release step's build"; return 1; }
  # With the demo model the consumers also generate text through the install.
  local model=()
  [[ -f models/bitnet-shakespeare-i2s.gguf ]] && model=("$ROOT/models/bitnet-shakespeare-i2s.gguf")
  bash tests/consumer/run.sh "$RELEASE" "$CI_DIR/consumer" "${model[@]}"
}

step_cross() {
  local cross=tests/cross/aarch64-linux-gnu.ini
  [[ -f $cross ]] || { note "cross: $cross does not exist"; return $SKIP; }
  have aarch64-linux-gnu-gcc || { note "cross: aarch64-linux-gnu-gcc not installed (.ci/install-deps)"; return 1; }
  have qemu-aarch64 || { note "cross: qemu-aarch64 not installed (.ci/install-deps)"; return 1; }
  local dir=$CI_DIR/aarch64 extra=$CI_DIR/aarch64-pkgconfig.meson
  # Debian's multiarch arm64 packages (cmocka, from .ci/install-deps) carry
  # their .pc files here; the host's pkg-config reads them.
  cat > "$extra" <<'EOF'
[binaries]
pkgconfig = 'pkg-config'

[properties]
pkg_config_libdir = ['/usr/lib/aarch64-linux-gnu/pkgconfig', '/usr/share/pkgconfig']
EOF
  setup "$dir" --cross-file "$cross" --cross-file "$extra" --buildtype=release \
        -Dtests=true -Dexamples=true || return 1
  ninja -C "$dir" -j "$JOBS" || return 1
  # Only the tests that are cross-compiled programs: scripts run by the host's
  # python or bash (ABI checks, bindings) test the host build.
  local tests
  tests=$(python3 - "$dir" <<'EOF'
import json, os, subprocess, sys
build = os.path.realpath(sys.argv[1])
info = json.loads(subprocess.check_output(['meson', 'introspect', '--tests', build]))
print(' '.join(t['name'] for t in info
               if os.path.realpath(t['cmd'][0]).startswith(build + os.sep)))
EOF
  ) || return 1
  [[ -n $tests ]] || { note "cross: no compiled tests to run"; return 1; }
  # shellcheck disable=SC2086
  meson test -C "$dir" --print-errorlogs --timeout-multiplier 4 $tests
}

step_fuzz() {
  [[ -f tests/fuzz/fuzz_gguf.c ]] || { note "fuzz: tests/fuzz/fuzz_gguf.c does not exist"; return $SKIP; }
  grep -q "'fuzzing'" meson_options.txt || { note "fuzz: no 'fuzzing' option"; return $SKIP; }
  have clang-19 || { note "fuzz: clang-19 not installed (.ci/install-deps)"; return 1; }
  local dir=$CI_DIR/fuzz
  if [[ ! -f $dir/build.ninja ]]; then
    rm -rf "$dir"
    CC=clang-19 CXX=clang++-19 meson setup "$dir" --buildtype=debugoptimized -Dfuzzing=true \
        -Db_sanitize=address,undefined -Db_lundef=false -Dexamples=false -Dtests=false || return 1
  else
    meson setup --reconfigure "$dir" || return 1
  fi
  # Only the fuzz targets: clang does not link the sanitizer runtimes into
  # shared libraries, so libbitnet.so itself is not built here.
  ninja -C "$dir" -j "$JOBS" tests/fuzz/fuzz_gguf tests/fuzz/fuzz_tokenize tests/fuzz/fuzz_model || return 1
  # The tokenizer's vocabularies: the generated ones, and llama.cpp's where
  # ../shared has them.
  local shared_tok=$ROOT/../shared/tokenizer
  /usr/bin/python3 tools/make_vocab.py "$dir/vocabs" --tiktoken "$shared_tok/llama3.tiktoken" || return 1
  local files vocabs
  shopt -s nullglob
  files=("$dir"/vocabs/*.gguf "$shared_tok"/ggml-vocab-*.gguf)
  shopt -u nullglob
  vocabs=$(IFS=:; printf '%s' "${files[*]}")
  # The model loader's seeds: small generated models of each ternary type,
  # architecture, vocabulary and embedding type family.
  local gen="/usr/bin/python3 tools/gen_model.py" small="--n-layer 1 --n-ctx 64"
  mkdir -p "$dir/model-seeds"
  $gen "$dir/model-seeds/i2s.gguf" $small --type i2_s --embd-type q8_0 --n-embd 128 --n-head 2 --n-head-kv 1 \
       --n-ff 128 --n-vocab 260 --seed 1 > /dev/null &&
  $gen "$dir/model-seeds/tq1-llama.gguf" $small --type tq1_0 --arch llama --vocab spm --embd-type q4_k \
       --head-type q6_k --n-embd 256 --n-head 2 --n-head-kv 1 --n-ff 256 --n-vocab 303 --seed 2 > /dev/null &&
  $gen "$dir/model-seeds/tq2-bitnet.gguf" $small --type tq2_0 --arch bitnet --scales --embd-type bf16 \
       --n-embd 256 --n-head 4 --n-head-kv 2 --n-ff 256 --n-vocab 260 --seed 3 > /dev/null || return 1
  local target
  for target in gguf tokenize model; do
    local corpus=$dir/corpus-$target seeds=() args=()
    mkdir -p "$corpus"
    case $target in
      gguf) seeds=(tests/fuzz/corpus) ;;
      tokenize) seeds=(tests/fuzz/corpus-tokenize) ;;
      model) seeds=("$dir/model-seeds") args=(-max_len=262144) ;;  # the seeds are 68-246 KB
    esac
    note "fuzz: fuzz_$target for ${FUZZ_SECONDS}s"
    # A crash exits with libFuzzer's error code, 77 by default: the SKIP code
    # here, so any failure is reported as 1.
    BN_FUZZ_VOCABS=$vocabs "$dir/tests/fuzz/fuzz_$target" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 \
        -timeout=10 "${args[@]}" -artifact_prefix="$dir/" "$corpus" "${seeds[@]}" || return 1
  done
}

ALL_STEPS=(release sanitize abi consumer cross fuzz)
steps=("$@")
((${#steps[@]})) || steps=("${ALL_STEPS[@]}")

passed=0 failed=0 skipped=0
results=()
total_start=$SECONDS
for s in "${steps[@]}"; do
  if ! declare -F "step_$s" >/dev/null; then
    note "unknown step '$s' (steps: ${ALL_STEPS[*]})"
    failed=$((failed + 1)); results+=("FAIL  $s (unknown step)")
    continue
  fi
  note ""
  note "======== $s"
  start=$SECONDS
  "step_$s"
  rc=$?
  took=$((SECONDS - start))
  if ((rc == 0)); then
    passed=$((passed + 1)); results+=("PASS  $s (${took}s)")
  elif ((rc == SKIP)); then
    skipped=$((skipped + 1)); results+=("SKIP  $s (${took}s)")
  else
    failed=$((failed + 1)); results+=("FAIL  $s (${took}s, exit $rc)")
  fi
  note "======== $s: ${results[-1]%% *}"
done

note ""
note "Steps ($((SECONDS - total_start))s):"
printf '  %s\n' "${results[@]}"
if ((skipped)); then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
((failed == 0))

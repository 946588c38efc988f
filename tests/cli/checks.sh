# Shared by the end-to-end checks of the example programs (sourced):
#   ok LABEL, bad LABEL [FILE]: count a check (bad shows FILE indented);
#   expect LABEL RC PATTERN -- ARGS...: runs "$prog" ARGS with no input and
#   checks its exit status and that stdout+stderr match PATTERN (grep -E).
# Needs $prog and $tmp set; leaves failures and checks for the summary line.
failures=0 checks=0

ok() { checks=$((checks + 1)); echo "ok: $1"; }
bad() { checks=$((checks + 1)); failures=$((failures + 1)); echo "FAIL: $1"; [[ -n ${2:-} ]] && sed 's/^/    /' "$2"; }
expect() {
  local label=$1 want=$2 pattern=$3
  shift 4
  "$prog" "$@" > "$tmp/out" 2> "$tmp/err" < /dev/null
  local rc=$?
  cat "$tmp/out" "$tmp/err" > "$tmp/all"
  if ((rc != want)); then
    bad "$label: exit $rc, expected $want" "$tmp/all"
  elif ! grep -Eq -- "$pattern" "$tmp/all"; then
    bad "$label: output lacks /$pattern/" "$tmp/all"
  else
    ok "$label"
  fi
}

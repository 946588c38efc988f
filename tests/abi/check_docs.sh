#!/usr/bin/env bash
# Every exported function has a heading of its own (or a shared one) in the
# API reference, and the reference names no function that does not exist.
#   check_docs.sh lib/bitnet.map docs/api.md
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/symbols.sh"
map=$1 doc=$2
[[ -f $doc ]] || { echo "FAIL: $doc does not exist"; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
version_script_symbols "$map" > "$tmp/exported"
grep -E '^#+ ' "$doc" | grep -oE '\bbn_[a-z0-9_]+\b' | sort -u > "$tmp/headed"
status=0
if missing=$(comm -23 "$tmp/exported" "$tmp/headed") && [[ -n $missing ]]; then
  echo "FAIL: exported but without a heading in $doc:"
  sed 's/^/  /' <<< "$missing"
  status=1
fi
# Headings may also name types (bn_model, bn_gen_params...); only names that
# look like functions but exist nowhere in the header are stale.
grep -ohE '\bbn_[a-z0-9_]+\b' "$here/../../include/bitnet/"*.h | sort -u > "$tmp/declared"
if stale=$(comm -23 "$tmp/headed" "$tmp/declared") && [[ -n $stale ]]; then
  echo "FAIL: $doc has headings for names the header does not declare:"
  sed 's/^/  /' <<< "$stale"
  status=1
fi
((status)) || echo "ok: all $(wc -l < "$tmp/exported") exported functions are documented in $doc"
exit $status

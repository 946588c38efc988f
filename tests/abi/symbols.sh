# Helpers shared by the ABI scripts (sourced, not run).
# Each prints one symbol per line, sorted.

# The functions the public header marks BN_API.
header_api_functions() {
  grep -h '^[[:space:]]*BN_API' "$@" | sed 's,/\*.*,,' |
    sed -n 's/^[^(]*[^A-Za-z0-9_(]\([A-Za-z_][A-Za-z0-9_]*\)[[:space:]]*(.*/\1/p' | sort -u
}

# The names in the global: section of a linker version script.
version_script_symbols() {
  sed -n '/global:/,/local:/p' "$1" | grep -o '^[[:space:]]*[A-Za-z_][A-Za-z0-9_]*;' |
    tr -d ' \t;' | sort -u
}

# The defined dynamic symbols of a shared library, version suffixes removed,
# without the version node's own absolute symbol.
library_exports() {
  nm -D --defined-only "$1" | awk '$2 != "A" { sub(/@.*/, "", $3); print $3 }' | sort -u
}

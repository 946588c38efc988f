# How the ABI baseline is written and compared (sourced by check_abidiff.sh and
# update-baseline.sh, so both use the same options).
# Only types reachable from the public headers count: the opaque handles'
# private definitions in lib/ may change freely.
abidw_options=(--drop-private-types --no-corpus-path --no-comp-dir-path --no-show-locs
               --no-architecture --type-id-style hash)
baseline_arch=x86_64

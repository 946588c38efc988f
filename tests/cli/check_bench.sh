#!/usr/bin/env bash
# bitnet-bench end to end on a tiny generated model: usage errors, the
# markdown table, valid JSON and JSON lines with the fields docs/benchmarks.md
# describes, tests at a context depth (-d), a --suite run and suite errors
# with line and column, and the standard suite's plan. Checks structure and that speeds are positive, never
# how fast anything is.
#   check_bench.sh BITNET_BENCH TOOLS_DIR SUITE_YAML
set -uo pipefail
bench=$1 tools=$2 std_suite=$3
py=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Small bandwidth buffer and one repetition keep each run around a second.
quick=(--mem-mib 64 -r 2)

prog=$bench
. "$(dirname "$0")/checks.sh"

expect "--help" 0 'usage: .*bitnet-bench' -- --help
expect "--version" 0 'libbitnet [0-9]+\.[0-9]+\.[0-9]+' -- --version
expect "no model" 2 'no model' -- -p 8
expect "unknown flag" 2 "unknown option '--bogus'" -- -m x.gguf --bogus
expect "bad list" 2 "-p: '8,x' is not a list of integers" -- -m x.gguf -p 8,x
expect "bad output" 2 "'xml' is not md, json or jsonl" -- -m x.gguf -o xml
expect "bad cpu level" 2 "unknown level 'pentium'" -- -m x.gguf --cpu pentium
expect "bad depth" 2 "-d: '-1' is not a list of integers" -- -m x.gguf -d -1
expect "missing model file" 1 'nonexistent\.gguf: cannot open' -- -m "$tmp/nonexistent.gguf" -t 1

model=$tmp/m.gguf
if ! "$py" "$tools/gen_model.py" "$model" --arch bitnet-b1.58 --type i2_s --seed 3 > "$tmp/gen" 2>&1; then
  bad "tools/gen_model.py made no model" "$tmp/gen"
  echo "$checks checks, $failures failed"
  exit 1
fi

# Markdown: a header, one row per (threads, test) with positive t/s, the
# machine limits and both formulas.
if "$bench" -m "$model" -p 16 -n 8 -t 1,2 "${quick[@]}" > "$tmp/md" 2> "$tmp/md.err"; then
  ok "markdown run"
  grep -Eq '^\| model \| size \| params \| level \| threads \| test \| t/s \| bound \| limit t/s \| % of limit \|$' "$tmp/md" &&
    ok "markdown header" || bad "no markdown header" "$tmp/md"
  row='^\| [^|]+ \| [0-9.]+ MiB \| [0-9.]+ M \| [a-z0-9]+ \| [12] \| (pp16|tg8) \| [0-9.]+ ± [0-9.]+ \| (int8 peak|mem bw) \| ([0-9.]+|-) \| ([0-9.]+%( ‡)?|-) \|$'
  (($(grep -Ec "$row" "$tmp/md") == 4)) && ok "four result rows" || bad "expected 4 rows matching /$row/" "$tmp/md"
  if grep -E "$row" "$tmp/md" | awk -F'|' '{ split($8, t, " "); if (t[1] + 0 <= 0) exit 1 }'; then
    ok "t/s positive"
  else
    bad "a t/s is not positive" "$tmp/md"
  fi
  grep -Eq '^\| [12] \| read bandwidth \(64 MiB buffer\) \| [0-9.]+ GB/s \|$' "$tmp/md" && ok "bandwidth row" ||
    bad "no read bandwidth row" "$tmp/md"
  # A row marked ‡ (the limit moved under a repetition) comes with the note that says so, and only then.
  marked=$(grep -Ec '% ‡ \|$' "$tmp/md")
  noted=$(grep -c '^‡ the limit measured before and after a repetition differed' "$tmp/md")
  (( (marked > 0) == noted )) && ok "‡ note iff a row is marked" ||
    bad "‡ marks and note disagree" "$tmp/md"
  grep -q '^tg: limit t/s = read bandwidth / bytes per token' "$tmp/md" && grep -q '^pp: limit t/s = int8 peak / ops per token' "$tmp/md" &&
    ok "formulas stated" || bad "formulas missing" "$tmp/md"
else
  bad "markdown run failed" "$tmp/md.err"
fi

# JSON: parses, four results, positive speeds and per-token costs, one
# sample per repetition, a bandwidth for each thread count.
check_json() {  # FILE LINES(0|1) N_RESULTS
  "$py" - "$@" <<'PY'
import json, sys
path, lines, n = sys.argv[1], sys.argv[2] == '1', int(sys.argv[3])
text = open(path).read()
if lines:
    results = [json.loads(l) for l in text.splitlines() if l.strip()]
else:
    doc = json.loads(text)
    results = doc['results']
    bw = {l['threads']: l['bytes_per_s'] for l in doc['machine']['limits'] if l['kind'] == 'read_bandwidth'}
    assert bw and all(v > 0 for v in bw.values()), bw
    assert {'tg', 'pp'} <= set(doc['formulas']), doc['formulas']
assert len(results) == n, (len(results), n)
for r in results:
    name = 'pp%d' % r['n_prompt'] if r['n_prompt'] else 'tg%d' % r['n_gen']
    assert r['test'] == name + (' @ d%d' % r['n_depth'] if r['n_depth'] else ''), r
    if not r['n_prompt']:  # the weights, and K/V of positions 0 .. depth + i for token i
        kv = r['kv_bytes_per_position'] * (r['n_depth'] + (r['n_gen'] + 1) / 2)
        assert abs(r['bytes_per_token'] - (r['weight_bytes'] + kv)) <= 1e-9 * r['bytes_per_token'], r
    assert len(r['samples_ts']) == r['reps'] and all(s > 0 for s in r['samples_ts']), r
    assert r['avg_ts'] > 0 and r['stddev_ts'] >= 0, r
    assert r['n_ternary'] > 0 and r['weight_bytes'] > 0 and r['model_bytes'] > 0, r
    key = 'ops_per_token' if r['n_prompt'] else 'bytes_per_token'
    assert r[key] > 0, (key, r)
    unit = 'int8_peak_ops_per_s' if r['n_prompt'] else 'read_bytes_per_s'
    lim, rep = r['limits_' + unit], r['samples_' + unit]
    assert len(lim) == r['reps'] + 1 and len(rep) == r['reps'], r
    if all(x is not None for x in lim):  # measured before the first repetition and after each
        for i in range(r['reps']):
            assert abs(rep[i] - (lim[i] + lim[i + 1]) / 2) <= 1e-6 * rep[i], r
        moved = max(abs(b - a) / min(a, b) for a, b in zip(lim, lim[1:]))
        assert abs(r['limit_moved'] - moved) <= 1e-9 + 1e-6 * moved, r
    if r['n_prompt'] == 0:
        assert r['read_bytes_per_s'] > 0 and r['limit_ts'] > 0 and r['pct_of_limit'] > 0, r
    elif r['int8_peak_ops_per_s'] is not None:
        assert r['limit_ts'] > 0 and r['pct_of_limit'] > 0, r
    if lines:
        assert r['cpu'] and r['libbitnet'], r
PY
}
if "$bench" -m "$model" -p 16 -n 8 -t 1,2 -o json "${quick[@]}" > "$tmp/j" 2> "$tmp/j.err" &&
   check_json "$tmp/j" 0 4 > "$tmp/j.py" 2>&1; then
  ok "-o json"
else
  cat "$tmp/j.err" "$tmp/j.py" >> "$tmp/j" 2> /dev/null
  bad "-o json: invalid or incomplete" "$tmp/j"
fi
# Depths: each test after 0 and after 16 tokens already in the context.
if "$bench" -m "$model" -p 8 -n 4 -d 0,16 -t 1 -o json "${quick[@]}" > "$tmp/jd" 2> "$tmp/jd.err" &&
   check_json "$tmp/jd" 0 4 > "$tmp/jd.py" 2>&1 && grep -q '"test": "tg4 @ d16"' "$tmp/jd" &&
   grep -q '"test": "pp8 @ d16"' "$tmp/jd"; then
  ok "-d 0,16"
else
  cat "$tmp/jd.err" "$tmp/jd.py" >> "$tmp/jd" 2> /dev/null
  bad "-d: invalid or incomplete" "$tmp/jd"
fi
if "$bench" -m "$model,$model" -p 0 -n 4 -t 1 -o jsonl --quantize-head "${quick[@]}" > "$tmp/jl" 2> "$tmp/jl.err" &&
   check_json "$tmp/jl" 1 2 > "$tmp/jl.py" 2>&1; then
  ok "-o jsonl, two models, -p 0"
else
  cat "$tmp/jl.err" "$tmp/jl.py" >> "$tmp/jl" 2> /dev/null
  bad "-o jsonl: invalid or incomplete" "$tmp/jl"
fi

# Suites (when built with libyaml).
printf -- '- models: [x.gguf]\n' > "$tmp/probe.yaml"
"$bench" --suite "$tmp/probe.yaml" --dry-run > /dev/null 2> "$tmp/err"
if grep -q 'without libyaml' "$tmp/err"; then
  expect "--suite without libyaml" 2 'built without libyaml' -- --suite "$tmp/probe.yaml"
else
  printf -- '- name: tiny\n  models: [%s]\n  p: 8\n  n: [4]\n  d: [0, 8]\n  t: [1]\n  r: 1\n' "$model" > "$tmp/s.yaml"
  if "$bench" --suite "$tmp/s.yaml" --mem-mib 64 > "$tmp/sj" 2> "$tmp/sj.err" && check_json "$tmp/sj" 0 4 > "$tmp/sj.py" 2>&1 &&
     grep -q '"run": "tiny"' "$tmp/sj"; then
    ok "--suite writes JSON"
  else
    cat "$tmp/sj.err" "$tmp/sj.py" >> "$tmp/sj" 2> /dev/null
    bad "--suite run" "$tmp/sj"
  fi
  printf -- '- models: [x.gguf]\n  p: [128, many]\n' > "$tmp/e1.yaml"
  expect "suite bad value" 2 "e1\.yaml:2:12: p: 'many' is not a list of integers" -- --suite "$tmp/e1.yaml"
  printf -- '- models: [x.gguf]\n  threads: 2\n' > "$tmp/e2.yaml"
  expect "suite unknown key" 2 "e2\.yaml:2:3: unknown key 'threads'" -- --suite "$tmp/e2.yaml"
  printf -- '- p: 8\n' > "$tmp/e3.yaml"
  expect "suite run without models" 2 'e3\.yaml:1:3: this run names no models' -- --suite "$tmp/e3.yaml"
  printf -- 'models: [x.gguf]\n' > "$tmp/e4.yaml"
  expect "suite not a list" 2 'e4\.yaml:1:1: a suite is a list of runs' -- --suite "$tmp/e4.yaml"
  printf -- '- models: [x.gguf]\n   p: 8\n' > "$tmp/e5.yaml"
  expect "suite syntax error" 2 'e5\.yaml:2:[0-9]+: ' -- --suite "$tmp/e5.yaml"
  printf -- '- models: [x.gguf, ~]\n' > "$tmp/e7.yaml"
  expect "suite null model" 2 "e7\.yaml:1:20: 'models' lists file paths, found a null" -- --suite "$tmp/e7.yaml"
  printf -- '- models: [%s/absent.gguf]\n' "$tmp" > "$tmp/e6.yaml"
  expect "suite missing model" 1 'e6\.yaml:1:12: .*absent\.gguf: cannot open' -- --suite "$tmp/e6.yaml" -t 1
  # The standard suite parses and plans 2 models x 2 thread counts x (pp128,
  # tg128), each model's pp128 and tg128 after 1024 tokens on both thread
  # counts, and 2B-4T's tg128 with the head quantized on both.
  expect "standard suite plan" 0 'bench-large\.gguf	auto	threads 2	tg128	r 3' -- --suite "$std_suite" --dry-run
  grep -q 'bench-2b4t\.gguf	auto	threads 2	tg128 @ d1024	r 2' "$tmp/out" &&
    grep -q 'bench-large\.gguf	auto	threads 2	tg128 @ d1024	r 2' "$tmp/out" && ok "standard suite: depth runs" ||
    bad "standard suite: no tg128 @ d1024 on 2 threads for each model" "$tmp/out"
  grep -q 'bench-2b4t\.gguf	auto	threads 1	pp128 @ d1024	r 2' "$tmp/out" &&
    grep -q 'bench-large\.gguf	auto	threads 1	pp128 @ d1024	r 2' "$tmp/out" && ok "standard suite: prefill at depth" ||
    bad "standard suite: no pp128 @ d1024 on 1 thread for each model" "$tmp/out"
  grep -q 'bench-2b4t\.gguf	auto, q-head	threads 1	tg128	r 3' "$tmp/out" &&
    grep -q 'bench-2b4t\.gguf	auto, q-head	threads 2	tg128	r 3' "$tmp/out" && ok "standard suite: quantized head" ||
    bad "standard suite: no 2B-4T tg128 with quantize_head on 1 and 2 threads" "$tmp/out"
  (($(grep -c . "$tmp/out") == 18)) && ok "standard suite: 18 tests" || bad "standard suite: expected 18 tests" "$tmp/out"
fi

echo "$checks checks, $failures failed"
((failures == 0))

#!/usr/bin/env bash
# bitnet-cli end to end: usage errors, --config errors with line and column,
# --info on a generated model, generation (deterministic, thread-count
# independent, flags overriding a preset) and a two-turn chat.
#   check_cli.sh BITNET_CLI TOOLS_DIR
set -uo pipefail
cli=$1 tools=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

prog=$cli
. "$(dirname "$0")/checks.sh"

expect "--help" 0 'YAML keys for --config' -- --help
expect "--version" 0 'libbitnet [0-9]+\.[0-9]+\.[0-9]+' -- --version
expect "no model" 2 'no model' -- -p hi
expect "unknown flag" 2 "unknown option '--bogus'" -- -m x.gguf --bogus
expect "bad integer" 2 "--n-predict: 'many' is not an integer" -- -m x.gguf -n many
expect "missing value" 2 '-t needs a value' -- -m x.gguf -t
expect "missing model file" 1 'nonexistent\.gguf' -- -m "$tmp/nonexistent.gguf" -p hi
expect "bad cpu level" 2 "unknown level 'pentium'" -- -m x.gguf --cpu pentium
expect "threads out of range" 2 "--threads: '-1' is not an integer from 0 to 1024" -- -m x.gguf -t -1
expect "top-p of 0" 2 "--top-p: '0' is not a number above 0 and at most 1" -- -m x.gguf --top-p 0
expect "batch over the limit" 2 "--batch-size: '8192' is not an integer from 0 to 4096" -- -m x.gguf -b 8192

printf 'model: x.gguf\nn_predict: 8\n' > "$tmp/good.yaml"
"$cli" --config "$tmp/good.yaml" --help > /dev/null 2> "$tmp/err"
if grep -q 'without libyaml' "$tmp/err"; then
  expect "--config without libyaml" 2 'built without libyaml' -- --config "$tmp/good.yaml"
else
  printf 'model: x.gguf\nn_predict: 8\ntemp: warm\n' > "$tmp/c1.yaml"
  expect "yaml bad value" 2 'c1\.yaml:3:7: temp: .warm. is not a number of at least 0' -- --config "$tmp/c1.yaml"
  printf 'model: x.gguf\n  topk: 3\n' > "$tmp/c2.yaml"
  expect "yaml syntax error" 2 'c2\.yaml:2:[0-9]+: ' -- --config "$tmp/c2.yaml"
  printf 'model: x.gguf\ntopk: 3\n' > "$tmp/c3.yaml"
  expect "yaml unknown key" 2 "c3\.yaml:2:1: unknown setting 'topk'" -- --config "$tmp/c3.yaml"
  printf -- '- a\n- b\n' > "$tmp/c4.yaml"
  expect "yaml not a mapping" 2 'c4\.yaml:1:1: expected a mapping' -- --config "$tmp/c4.yaml"
  expect "yaml missing file" 2 'nope\.yaml: cannot open' -- --config "$tmp/nope.yaml"
fi

# A small generated model (random ternary weights, real tokenizer section).
model=$tmp/m.gguf
if ! /usr/bin/python3 "$tools/gen_model.py" "$model" --arch bitnet-b1.58 --type i2_s --seed 3 > "$tmp/gen" 2>&1; then
  bad "tools/gen_model.py made no model" "$tmp/gen"
  echo "$checks checks, $failures failed"
  exit 1
fi
expect "--info" 0 'architecture: +bitnet-b1\.58' -- --info "$model"
for want in 'block_count +[0-9]+' 'token_embd\.weight +[A-Z0-9_]+ +\[' 'blk\.0\.attn_q\.weight +I2_S' \
            'vocabulary +[0-9]+' 'kernels: +[a-z0-9]+' '^  total ' '^  model +[a-z0-9]+$'; do
  grep -Eq -- "$want" "$tmp/out" && ok "--info shows /$want/" || bad "--info lacks /$want/" "$tmp/out"
done

run_gen() {  # OUTFILE ARGS...
  local out=$1
  shift
  "$cli" -m "$model" -p "The old lighthouse" "$@" > "$out" 2> "$out.err" < /dev/null
}
if run_gen "$tmp/g1" -n 12 -temp 0 -t 1; then
  ok "greedy generation"
  grep -q '^The old lighthouse' "$tmp/g1" && ok "prompt echoed on stdout" || bad "prompt not echoed" "$tmp/g1"
  (($(wc -c < "$tmp/g1") > 19)) && ok "text generated" || bad "no text after the prompt" "$tmp/g1"
  grep -Eq 'generation: .* for 12 tokens' "$tmp/g1.err" && ok "timing summary on stderr" ||
    bad "no 'generation: ... for 12 tokens' on stderr" "$tmp/g1.err"
  grep -Eq 'prompt: .* for [1-9][0-9]* tokens \([0-9.]+ tokens/s\)' "$tmp/g1.err" && ok "prompt timing" ||
    bad "no prompt timing on stderr" "$tmp/g1.err"
  run_gen "$tmp/g2" -n 12 -temp 0 -t 2 && cmp -s "$tmp/g1" "$tmp/g2" && ok "-t 1 and -t 2 give the same text" ||
    bad "-t 2 differs from -t 1" "$tmp/g2"
  run_gen "$tmp/s1" -n 12 -temp 0.9 --seed 7 && run_gen "$tmp/s2" -n 12 -temp 0.9 --seed 7 -t 2 &&
    cmp -s "$tmp/s1" "$tmp/s2" && ok "same seed, same text" || bad "same seed gave different text" "$tmp/s2"
  if ! grep -q 'without libyaml' "$tmp/err"; then
    printf 'n_predict: 3\ntemp: 0\nthreads: 1\n' > "$tmp/preset.yaml"
    run_gen "$tmp/p1" --config "$tmp/preset.yaml" -n 5 && grep -Eq 'for 5 tokens' "$tmp/p1.err" &&
      ok "flags override --config" || bad "-n 5 did not override the preset's n_predict: 3" "$tmp/p1.err"
  fi
  run_gen "$tmp/d1" -n 010 -temp 0 && grep -Eq 'for 10 tokens' "$tmp/d1.err" && ok "-n 010 is ten" ||
    bad "-n 010 did not generate 10 tokens" "$tmp/d1.err"
  # --prompt-cache: the second run evaluates only the last prompt token and
  # writes the same text; a damaged cache is said and costs only time
  pc=$tmp/prompt.cache
  if run_gen "$tmp/c1" -n 12 -temp 0 -t 1 --prompt-cache "$pc" && run_gen "$tmp/c2" -n 12 -temp 0 -t 1 --prompt-cache "$pc"; then
    n=$(sed -nE "s/.*prompt cache: 0 of the prompt's ([0-9]+) tokens reused/\1/p" "$tmp/c1.err")
    [[ -n $n ]] && grep -q "prompt cache: $((n - 1)) of the prompt's $n tokens reused" "$tmp/c2.err" &&
      grep -Eq 'prompt: .* for 1 tokens' "$tmp/c2.err" && ok "--prompt-cache reuses all but the last prompt token" ||
      bad "--prompt-cache did not reuse the prompt" "$tmp/c2.err"
    cmp -s "$tmp/c2" "$tmp/g1" && ok "the cached prompt gives the same text" || bad "the cached prompt's text differs" "$tmp/c2"
    printf 'BNPC\001\000\000\000\005\000\000\000\377' > "$pc"
    run_gen "$tmp/c3" -n 12 -temp 0 -t 1 --prompt-cache "$pc" && grep -q 'prompt cache .*: truncated; evaluating the whole prompt' "$tmp/c3.err" &&
      cmp -s "$tmp/c3" "$tmp/g1" && ok "a damaged prompt cache is said and ignored" || bad "a damaged prompt cache" "$tmp/c3.err"
  else
    bad "--prompt-cache runs failed" "$tmp/c1.err"
  fi
  expect "--prompt-cache with -cnv" 2 'not -cnv' -- -m "$model" -cnv --prompt-cache "$pc"
  # a 16-token context: generation stops when full, or shifts and goes on
  run_gen "$tmp/f1" -c 16 -n 40 -temp 0 && grep -q 'context full: 16 tokens' "$tmp/f1.err" &&
    ! grep -Eq 'for 40 tokens' "$tmp/f1.err" && ok "a full context stops generation" ||
    bad "-c 16 -n 40 did not stop at a full context" "$tmp/f1.err"
  run_gen "$tmp/f2" -c 16 -n 40 -temp 0 --context-shift --keep -1 -v && grep -Eq 'for 40 tokens' "$tmp/f2.err" &&
    grep -Eq 'context shift: [0-9]+ tokens forgotten after the first [1-9]' "$tmp/f2.err" &&
    ok "--context-shift goes on past a full context" || bad "--context-shift did not generate 40 tokens" "$tmp/f2.err"
  printf 'Hello there.\nAnd again.\nOnce more.\n' > "$tmp/turns"
  # llama3 trims each message, as the bitnet template does
  if "$cli" -m "$model" -cnv -n 6 -temp 0 -t 1 --chat-template llama3 < "$tmp/turns" > "$tmp/chat" 2> "$tmp/chat.err"; then
    ok "three-turn chat"
    # each turn evaluates only its own text: the tokens evaluated (prompt and
    # generated, the last of each reply perhaps not) are the context's
    p=$(sed -nE 's/^prompt: .* for ([0-9]+) tokens.*/\1/p' "$tmp/chat.err")
    g=$(sed -nE 's/^generation: .* for ([0-9]+) tokens.*/\1/p' "$tmp/chat.err")
    u=$(sed -nE 's/.*\(([0-9]+) used\).*/\1/p' "$tmp/chat.err")
    if [[ -n $p && -n $g && -n $u ]] && ((p + g <= u + 3 && p + g >= u)); then
      ok "chat turns add to the context ($p + $g tokens, $u used)"
    else
      bad "chat evaluated $p + $g tokens for $u in the context" "$tmp/chat.err"
    fi
  else
    bad "chat failed" "$tmp/chat.err"
  fi
  # the same chat in 160 tokens: it no longer fits by the second turn, unless a shift makes room
  "$cli" -m "$model" -cnv -n 6 -temp 0 -t 1 --chat-template llama3 -c 160 < "$tmp/turns" > "$tmp/cf0" 2> "$tmp/cf0.err"
  (($? == 1)) && grep -q 'no longer fits in the context of 160' "$tmp/cf0.err" && ok "a chat that outgrows -c ends" ||
    bad "a chat that outgrows -c 160" "$tmp/cf0.err"
  if "$cli" -m "$model" -cnv -n 6 -temp 0 -t 1 --chat-template llama3 -c 160 --context-shift -v < "$tmp/turns" \
      > "$tmp/cs" 2> "$tmp/cs.err" && grep -q 'context shift: ' "$tmp/cs.err" && (($(grep -c . "$tmp/cs") >= 3)); then
    ok "--context-shift lets a chat go on in a short context"
  else
    bad "--context-shift chat" "$tmp/cs.err"
  fi
  prompt_file=$tmp/first
  printf 'From a file.' > "$prompt_file"
  "$cli" -m "$model" -cnv -n 4 -temp 0 -t 1 -f "$prompt_file" < /dev/null > "$tmp/cf" 2> "$tmp/cf.err" &&
    grep -Eq 'prompt: .* for [1-9][0-9]* tokens' "$tmp/cf.err" && ok "-f gives chat its first message" ||
    bad "-cnv ignored -f" "$tmp/cf.err"
  expect "-cnv with a missing -f" 1 'cannot read the prompt file' -- -m "$model" -cnv -f "$tmp/none"
else
  bad "greedy generation failed" "$tmp/g1.err"
fi
echo "$checks checks, $failures failed"
((failures == 0))

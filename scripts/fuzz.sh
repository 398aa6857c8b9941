#!/usr/bin/env bash
# Runs the libFuzzer targets of fuzz/, one after the other, each for N seconds (default 10):
#
#   scripts/fuzz.sh [--seconds N] [TARGET...]     TARGET: loader_yaml, schemas, ... (default: all)
#
# Builds build-fuzz/ first (scripts/build.sh fuzz) and makes the seeds from the tree
# (fuzz/make_corpus.py). Under build-fuzz/fuzz/: corpus/TARGET/ is what the fuzzer found and keeps
# from run to run, crashes/TARGET/ the inputs that crashed, hung or broke a check, logs/TARGET.log
# libFuzzer's output. Exits 1 when any target found something.
set -euo pipefail
cd "$(dirname "$0")/.."
all=(loader_yaml loader_json template duration_size schemas agent_claude agent_codex agent_gemini)
seconds=10
targets=()
while (($#)); do
  case "$1" in
    --seconds) seconds=${2:?--seconds needs a number}; shift 2 ;;
    -h | --help) sed -n '2,9p' "$0"; exit 0 ;;
    *) [[ " ${all[*]} " == *" $1 "* ]] || { echo "fuzz.sh: no target '$1' (${all[*]})" >&2; exit 2; }
      targets+=("$1"); shift ;;
  esac
done
((${#targets[@]})) || targets=("${all[@]}")

scripts/build.sh fuzz
out=build-fuzz/fuzz
python3 fuzz/make_corpus.py "$out"
failed=()
for t in "${targets[@]}"; do
  mkdir -p "$out/corpus/$t" "$out/crashes/$t" "$out/logs"
  log=$out/logs/$t.log
  # -timeout: an input that takes 20 s (under ASan, on a loaded machine) is a hang. The corpus
  # folder comes first: libFuzzer adds what it finds to it, and only reads the seeds.
  if UBSAN_OPTIONS=print_stacktrace=1 nice "$out/fuzz_$t" -max_total_time="$seconds" -timeout=20 \
    -rss_limit_mb=2048 -print_final_stats=1 -dict="$out/$t.dict" \
    -artifact_prefix="$out/crashes/$t/" "$out/corpus/$t" "$out/seeds/$t" >"$log" 2>&1; then
    status=ok
  else
    status="FAILED (see $log and $out/crashes/$t/)"
    failed+=("$t")
  fi
  # "#123456<tab>DONE cov: 1234 ft: 5678 corp: 321/45Kb ..." and "stat::average_exec_per_sec: 98"
  last=$(grep -E '^#[0-9]+\s' "$log" | tail -n 1 || true)
  cov=$(sed -nE 's/.* cov: ([0-9]+) ft: ([0-9]+) corp: ([0-9]+).*/cov \1, ft \2, corpus \3/p' <<<"$last")
  rate=$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+)/\1/p' "$log")
  runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$log")
  echo "fuzz_$t: ${runs:-?} runs in ${seconds} s (${rate:-?}/s), ${cov:-no coverage line}: $status"
  if [[ $status != ok ]]; then
    grep -m 5 -E 'ERROR|SUMMARY|fuzz: broken promise|runtime error' "$log" >&2 || true
    ls "$out/crashes/$t" >&2
  fi
done
if ((${#failed[@]})); then
  echo "fuzz.sh: found something in: ${failed[*]}" >&2
  exit 1
fi

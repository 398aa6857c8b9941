#!/usr/bin/env bash
# Runs the libFuzzer targets of fuzz/, one after the other:
#
#   scripts/fuzz.sh --check [TARGET...]           the short run of scripts/test.sh and CI
#   scripts/fuzz.sh [--seconds N] [TARGET...]     N seconds each (default 10), to search further
#
# TARGET: loader_yaml, schemas, ... (default: all). --check starts from the seeds alone, with a
# fixed random seed, a fixed number of runs per target (about 10 s each here), no corpus reload,
# the seeds in name order, a fixed environment, and address randomization off where setarch may
# turn it off: the same inputs in every clone, so what passed here passes in CI, and a failure
# there reproduces here. --seconds goes on from the corpus earlier runs kept and picks a new seed
# each time.
#
# Builds build-fuzz/ first (scripts/build.sh fuzz) and makes the seeds from the tree
# (fuzz/make_corpus.py). Under build-fuzz/fuzz/: corpus/TARGET/ is what the fuzzer found and keeps
# from run to run (check/TARGET/corpus/ for --check, emptied each time), crashes/TARGET/ the
# inputs that crashed, hung or broke a check, logs/TARGET.log libFuzzer's output. Exits 1 when any
# target found something.
set -euo pipefail
cd "$(dirname "$0")/.."
all=(loader_yaml loader_json template duration_size schemas agent_claude agent_codex agent_gemini)
# --check: runs per target, seeds included; about 10 s each on the 2-core CI machine.
declare -A check_runs=([loader_yaml]=5000 [loader_json]=25000 [template]=25000
  [duration_size]=1500000 [schemas]=40000 [agent_claude]=100000 [agent_codex]=100000
  [agent_gemini]=100000)
seconds=10
check=false
targets=()
while (($#)); do
  case "$1" in
    --seconds) seconds=${2:?--seconds needs a number}; shift 2 ;;
    --check) check=true; shift ;;
    -h | --help) sed -n '2,18p' "$0"; exit 0 ;;
    *) [[ " ${all[*]} " == *" $1 "* ]] || { echo "fuzz.sh: no target '$1' (${all[*]})" >&2; exit 2; }
      targets+=("$1"); shift ;;
  esac
done
((${#targets[@]})) || targets=("${all[@]}")

scripts/build.sh fuzz
out=build-fuzz/fuzz
# With address randomization on, two runs of a target from the same seeds went different ways.
fixed=()
if $check && setarch -R true 2>/dev/null; then fixed=(setarch -R); fi
python3 fuzz/make_corpus.py "$out"
failed=()
for t in "${targets[@]}"; do
  log=$out/logs/$t.log
  mkdir -p "$out/crashes/$t" "$out/logs"
  start=$SECONDS
  rc=0
  # -timeout: an input that takes 20 s (under ASan, on a loaded machine) is a hang. The corpus
  # folder comes first: libFuzzer adds what it finds to it.
  if $check; then
    # The same run in every clone: from an empty folder, with paths of the same length, the
    # same environment, and the seeds in the order of their names (from a folder libFuzzer takes
    # them in the order the file system lists them). -max_total_time guards a very slow machine.
    rm -rf "$out/check/$t"
    mkdir -p "$out/check/$t/cwd" "$out/check/$t/corpus"
    (cd "$out/seeds/$t" && LC_ALL=C ls) | sed "s|^|../../../seeds/$t/|" | paste -sd, \
      >"$out/check/$t/seeds.txt"
    (cd "$out/check/$t/cwd" && env -i PATH=/usr/bin:/bin UBSAN_OPTIONS=print_stacktrace=1 \
      nice "${fixed[@]}" "../../../fuzz_$t" -seed=1 -runs="${check_runs[$t]}" -reload=0 \
      -max_total_time=300 -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
      -dict="../../../$t.dict" -artifact_prefix="../../../crashes/$t/" \
      -seed_inputs=@../seeds.txt ../corpus) >"$log" 2>&1 || rc=$?
  else
    mkdir -p "$out/corpus/$t"
    UBSAN_OPTIONS=print_stacktrace=1 nice "$out/fuzz_$t" -max_total_time="$seconds" -timeout=20 \
      -rss_limit_mb=2048 -print_final_stats=1 -dict="$out/$t.dict" \
      -artifact_prefix="$out/crashes/$t/" "$out/corpus/$t" "$out/seeds/$t" >"$log" 2>&1 || rc=$?
  fi
  if ((rc == 0)); then
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
  echo "fuzz_$t: ${runs:-?} runs in $((SECONDS - start)) s (${rate:-?}/s), ${cov:-no coverage line}: $status"
  if [[ $status != ok ]]; then
    grep -m 5 -E 'ERROR|SUMMARY|fuzz: broken promise|runtime error' "$log" >&2 || true
    ls "$out/crashes/$t" >&2
  fi
done
if ((${#failed[@]})); then
  echo "fuzz.sh: found something in: ${failed[*]}" >&2
  exit 1
fi

#!/usr/bin/env bash
# The targets of issue 19 item 0 in one script run, interleaved: mex (and, given OLD, an older
# build of mex) against ninja on N tasks of a layered DAG at -j2 with durable state on, `true`
# (no shell needed: mex spawns it directly) and `true;` (the shell is needed); the no-op resume of
# the `true` run; `mex plan` of a random 1M-task DAG. Prints a Markdown table of medians and the
# paired ratios (median of per-repetition ratios); progress on stderr.
#
#   bench/run-speed.sh                          # after scripts/build.sh release
#   OLD=/path/to/old/mex RUNS=5 bench/run-speed.sh
#
# Environment: N (10000), LAYERS (100), RUNS (5), NOOP_RUNS (5), PLAN_N (1000000; 0 skips the
# plan), PLAN_RUNS (3), OLD (a second mex binary to time beside build/mex), JOBS (2).
#
# Tools of each repetition: new (build/mex), nostore (the same binary with `-d nostore`: an
# in-memory store, no state.db: what durability costs), ninja, floor (bench/spawn_floor: spawn
# and reap, nothing else, with posix_spawn as mex and ninja), vfloor (spawn_floor --vfork, the
# cheapest spawn known here) and lfloor (vfloor that also creates each task's log file, as mex
# must: the least an engine that keeps every task's output can take).
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-10000}
LAYERS=${LAYERS:-100}
RUNS=${RUNS:-5}
NOOP_RUNS=${NOOP_RUNS:-5}
PLAN_N=${PLAN_N:-1000000}
PLAN_RUNS=${PLAN_RUNS:-3}
JOBS=${JOBS:-2}
OLD=${OLD:-}

say() { echo "run-speed: $*" >&2; }
[[ -x build/mex && -x build/gen_dag && -x build/spawn_floor ]] || { say "run scripts/build.sh release first"; exit 2; }
command -v ninja >/dev/null && [[ -x /usr/bin/time ]] || { say "needs ninja and GNU time"; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp build/mex "$work/mex-new"
tools=(new nostore ninja floor vfloor lfloor)
if [[ -n $OLD ]]; then cp "$OLD" "$work/mex-old"; tools=(old "${tools[@]}"); fi
source bench/lib.sh

dag layered "$N" >"$work/l.dag"
to_mex '"true"' <"$work/l.dag" >"$work/true.json"
to_mex '"true;"' <"$work/l.dag" >"$work/shell.json"
to_ninja 'true' <"$work/l.dag" >"$work/true.ninja"
to_ninja 'true;' <"$work/l.dag" >"$work/shell.ninja"

seq_no=0
run_one() {  # case tool: appends the wall seconds to $work/t.CASE.TOOL
  local c=$1 tool=$2 dir
  seq_no=$((seq_no + 1))
  dir=$work/run-$seq_no
  mkdir "$dir"
  if [[ $tool == *floor ]]; then
    local argv=(/usr/bin/true) how=()
    [[ $c == shell ]] && argv=(/bin/sh -c 'true;')
    [[ $tool == vfloor ]] && how=(--vfork)
    [[ $tool == lfloor ]] && mkdir "$dir/logs" && how=(--vfork --logs "$dir/logs")
    /usr/bin/time -f %e -o "$work/one" build/spawn_floor "${how[@]}" "$N" "$JOBS" "${argv[@]}" \
      >"$dir/out" 2>&1
  elif [[ $tool == ninja ]]; then
    cp "$work/$c.ninja" "$dir/build.ninja"
    (cd "$dir" && /usr/bin/time -f %e -o "$work/one" ninja -j "$JOBS" --quiet) >"$dir/out" 2>&1
  else
    local mex=("$work/mex-$tool")
    [[ $tool == nostore ]] && mex=("$work/mex-new" -d nostore)
    /usr/bin/time -f %e -o "$work/one" "${mex[@]}" run "$work/$c.json" -j "$JOBS" --quiet \
      --state-dir "$dir/state" >"$dir/out" 2>&1
    grep -q "$N succeeded, 0 failed" "$dir/out" || { say "$tool $c failed"; tail -3 "$dir/out" >&2; exit 1; }
    echo "$dir/state" >"$work/last.$c.$tool"
  fi
  tail -n 1 "$work/one" >>"$work/t.$c.$tool"
}

for ((rep = 0; rep < RUNS; rep++)); do
  for c in true shell; do
    k=${#tools[@]}
    for ((j = 0; j < k; j++)); do
      tool=${tools[$(((j + rep) % k))]}
      say "repetition $((rep + 1))/$RUNS, $c: $tool"
      run_one "$c" "$tool"
    done
  done
done

# No-op resume: the last full run's state folder, run again (nothing to do), in ms.
for ((rep = 0; rep < NOOP_RUNS; rep++)); do
  for tool in "${tools[@]}"; do
    [[ $tool == old || $tool == new ]] || continue
    state=$(cat "$work/last.true.$tool")
    s=$(date +%s.%N)
    "$work/mex-$tool" run "$work/true.json" -j "$JOBS" --quiet --state-dir "$state" >"$work/noop.out" 2>&1
    e=$(date +%s.%N)
    grep -q "$N succeeded, 0 failed" "$work/noop.out" || { say "no-op $tool failed"; exit 1; }
    awk -v s="$s" -v e="$e" 'BEGIN {printf "%.1f\n", (e - s) * 1000}' >>"$work/noop.$tool"
  done
done

if ((PLAN_N > 0)); then
  build/gen_dag random "$PLAN_N" "$work/plan.json" >/dev/null
  for ((rep = 0; rep < PLAN_RUNS; rep++)); do
    for tool in "${tools[@]}"; do
      [[ $tool == old || $tool == new ]] || continue
      say "plan $((rep + 1))/$PLAN_RUNS: $tool"
      /usr/bin/time -f '%e %M' -o "$work/one" "$work/mex-$tool" plan "$work/plan.json" >/dev/null
      tail -n 1 "$work/one" >>"$work/plan.$tool"
    done
  done
fi

paired() {  # file-a file-b: median of a_i / b_i
  paste -d' ' "$1" "$2" | awk '{printf "%.3f\n", $1 / $2}' | median
}
echo "| measure | tool | median | paired ratio to ninja | paired ratio new/old | all runs |"
echo "|---|---|---:|---:|---:|---|"
for c in true shell; do
  label="layered $N, \`$([[ $c == true ]] && echo true || echo 'true;')\`, -j$JOBS, s"
  for tool in "${tools[@]}"; do
    f=$work/t.$c.$tool
    r=$( [[ $tool == ninja ]] && echo — || paired "$f" "$work/t.$c.ninja")
    o=$( [[ $tool == new && -n $OLD ]] && paired "$f" "$work/t.$c.old" || echo —)
    echo "| $label | $tool | $(median <"$f") | $r | $o | $(paste -sd' ' "$f") |"
  done
done
for tool in "${tools[@]}"; do
  [[ $tool == old || $tool == new ]] || continue
  o=$( [[ $tool == new && -n $OLD ]] && paired "$work/noop.new" "$work/noop.old" || echo —)
  echo "| no-op resume of $N, ms | $tool | $(median <"$work/noop.$tool") | — | $o | $(paste -sd' ' "$work/noop.$tool") |"
done
if ((PLAN_N > 0)); then
  for tool in "${tools[@]}"; do
    [[ $tool == old || $tool == new ]] || continue
    cut -d' ' -f1 "$work/plan.$tool" >"$work/plan-s.$tool"
    o=$( [[ $tool == new && -n $OLD ]] && paired "$work/plan-s.new" "$work/plan-s.old" || echo —)
    rss=$(cut -d' ' -f2 "$work/plan.$tool" | maximum | awk '{printf "%.0f", $1 / 1024}')
    echo "| plan random $PLAN_N, s (peak RSS $rss MB) | $tool | $(median <"$work/plan-s.$tool") | — | $o | $(paste -sd' ' "$work/plan-s.$tool") |"
  done
fi
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); built from $(git describe --always --dirty)"

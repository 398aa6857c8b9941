#!/usr/bin/env bash
# Two builds of mex against each other, interleaved, on three figures of docs/performance.md: a
# run of N (default 10000) `true` tasks in a layered DAG (100 layers, 3 deps each) at -j2 with the
# store, against ninja -j2 on the same DAG; the no-op resume of that run; `mex plan` of a 1M-task
# layered file (build/gen_dag). For a change that must not cost speed (a refactor): build the old
# commit in a worktree, then
#   bench/compare.sh OLD/build/mex build/mex
# Prints each run, then the medians. RUNS (5), NOOP (9) and PLAN_RUNS (3) can be set.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $# == 2 && -x $1 && -x $2 ]] || { echo "usage: bench/compare.sh OLD_MEX NEW_MEX" >&2; exit 2; }
[[ -x build/gen_dag ]] || { echo "missing build/gen_dag (run scripts/build.sh release)" >&2; exit 2; }
N=${N:-10000} RUNS=${RUNS:-5} NOOP=${NOOP:-9} PLAN_RUNS=${PLAN_RUNS:-3}
export LAYERS=100
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$1" "$work/old"
cp "$2" "$work/new"
source bench/lib.sh
dag layered "$N" >"$work/dag"
to_mex '"true"' <"$work/dag" >"$work/m.json"
to_ninja true <"$work/dag" >"$work/build.ninja"
build/gen_dag layered 1000000 "$work/1m.json" >/dev/null
ms() { echo "($2 - $1) * 1000" | bc -l | xargs printf '%.1f'; }
timed() {  # prints the wall time in ms of the command; fails on its failure
  local a b
  a=$EPOCHREALTIME
  "$@" >"$work/out" 2>&1 || { tail -n 3 "$work/out" >&2; exit 1; }
  b=$EPOCHREALTIME
  ms "$a" "$b"
}
{
  for r in $(seq "$RUNS"); do
    for v in old new; do
      echo "run $v $(timed "$work/$v" run "$work/m.json" -j 2 --quiet --state-dir "$work/s-$v-$r")"
      grep -q "$N succeeded, 0 failed" "$work/out" || { echo "$v: not $N succeeded" >&2; exit 1; }
    done
    mkdir "$work/n-$r"
    cp "$work/build.ninja" "$work/n-$r/"
    echo "run ninja $(cd "$work/n-$r" && timed ninja -j2 --quiet)"
  done
  for _ in $(seq "$NOOP"); do
    for v in old new; do
      echo "noop $v $(timed "$work/$v" run "$work/m.json" -j 2 --quiet --state-dir "$work/s-$v-1")"
    done
  done
  for _ in $(seq "$PLAN_RUNS"); do
    for v in old new; do echo "plan $v $(timed "$work/$v" plan "$work/1m.json")"; done
  done
} | tee "$work/all"
echo
echo "| figure | old, ms | new, ms | new / old |"
echo "|---|---|---|---|"
for f in run noop plan; do
  o=$(awk -v f=$f '$1 == f && $2 == "old" {print $3}' "$work/all" | median)
  n=$(awk -v f=$f '$1 == f && $2 == "new" {print $3}' "$work/all" | median)
  echo "| $f (median) | $o | $n | $(echo "$n / $o" | bc -l | xargs printf '%.2f') |"
done
echo "ninja -j2 on the run's DAG: $(awk '$1 == "run" && $2 == "ninja" {print $3}' "$work/all" | median) ms (median)"

#!/usr/bin/env bash
# mex on the local Slurm cluster (scripts/slurm-local.sh): N short tasks (default 500, each
# `true`), as jobs, one sbatch each (`slurm: {arrays: false}`) and as job arrays, against `srun
# true` in a shell loop (SRUN_J at a time), against plain `sbatch --wrap true` in a loop (the
# floor: Slurm's own throughput) and against one `sbatch --array` of N (Slurm's own throughput
# for an array). For each: the wall time, the overhead per task (wall time / N), and the calls to
# Slurm's commands per task (mex counts its own with `-d stats`; each srun is one call, and
# several RPCs inside).
#
#   bench/run-slurm.sh                 # after scripts/build.sh release; starts the cluster
#   N=500 J=500 BASELINES=0 bench/run-slurm.sh
#
# Environment: N (tasks, default 500), J (mex -j: jobs submitted at once, default 12), SRUN_J
# (the srun loop's width, default 12: the CPUs the local cluster advertises), MODES (which mex
# runs, default "plain arrays"), BASELINES (0: no srun loop and no floor), SBATCH_DELAY (seconds:
# mex's sbatch answers that much later, as a busy controller's does; default none).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-500}
J=${J:-12}
SRUN_J=${SRUN_J:-12}
say() { echo "run-slurm: $*" >&2; }
[[ -x build/mex ]] || { say "no build/mex: run scripts/build.sh release first"; exit 2; }
scripts/slurm-local.sh start >&2
work=$(mktemp -d "$HOME/mex-bench-slurm.XXXXXX")   # not /tmp: the nodes' shared folder
trap 'rm -rf "$work"' EXIT
mex_path=$PATH
if [[ -n ${SBATCH_DELAY:-} ]]; then
  mkdir "$work/bin"
  printf '#!/bin/sh\nsleep %s\nexec %s "$@"\n' "$SBATCH_DELAY" "$(command -v sbatch)" >"$work/bin/sbatch"
  chmod +x "$work/bin/sbatch"
  mex_path=$work/bin:$PATH
fi
calls() { awk -v name="slurm $1" 'index($0, name) == 1 { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+$/) { print $i; exit } }' "$work/stats"; }
rows=()
for mode in ${MODES:-plain arrays}; do
  {
    echo "defaults: {executor: slurm, max_parallel: $J, stall_after: 0}"
    if [[ $mode == arrays ]]; then echo "slurm: {arrays: true}"; else echo "slurm: {arrays: false}"; fi
    echo "tasks:"
    for ((i = 0; i < N; i++)); do echo "  - {id: t$i, run: [\"true\"]}"; done
  } >"$work/m.yaml"
  rm -rf "$work/.mex"
  start=$(date +%s.%N)
  PATH=$mex_path build/mex -d stats run "$work/m.yaml" --progress plain --quiet >"$work/out" 2>"$work/stats"
  end=$(date +%s.%N)
  mex_s=$(echo "$end - $start" | bc -l)
  sbatch=$(calls sbatch); squeue=$(calls squeue); sacct=$(calls sacct); scancel=$(calls scancel)
  scontrol=$(calls scontrol)
  sbatch=${sbatch:-0} squeue=${squeue:-0} sacct=${sacct:-0} scancel=${scancel:-0}
  scontrol=${scontrol:-0}
  total=$((sbatch + squeue + sacct + scancel + scontrol))
  rows+=("$(printf '| mex -j %s, %s, %s tasks%s | %.1f s | %.0f ms | %d (sbatch %d, squeue %d, sacct %d, scancel %d, scontrol %d) | %.3f | %.2f | %.3f |' \
    "$J" "$mode" "$N" "${SBATCH_DELAY:+, sbatch +${SBATCH_DELAY} s}" "$mex_s" "$(echo "$mex_s * 1000 / $N" | bc -l)" "$total" "$sbatch" "$squeue" \
    "$sacct" "$scancel" "$scontrol" "$(echo "$sbatch / $N" | bc -l)" "$(echo "$total / $N" | bc -l)" \
    "$(echo "($squeue + $sacct) / $N" | bc -l)")")
done

printf '| runner | wall | per task | Slurm calls | sbatch per task | calls per task | of them polling (squeue+sacct) per task |\n'
printf '|---|---|---|---|---|---|---|\n'
printf '%s\n' "${rows[@]}"
[[ ${BASELINES:-1} == 0 ]] && exit 0

start=$(date +%s.%N)
seq "$N" | xargs -P "$SRUN_J" -I{} srun -n1 --quiet true
end=$(date +%s.%N)
srun_s=$(echo "$end - $start" | bc -l)

# The floor: every job submitted by one sbatch each in a loop, then squeue until none is left.
start=$(date +%s.%N)
for ((i = 0; i < N; i++)); do
  sbatch --parsable --job-name=mex-bench-floor --output=/dev/null --wrap true >/dev/null
done
while [[ -n $(squeue -h -n mex-bench-floor -o %i | head -n1) ]]; do sleep 0.5; done
end=$(date +%s.%N)
floor_s=$(echo "$end - $start" | bc -l)

# Slurm's own throughput for one array of N: one sbatch --array, then squeue until none is left.
start=$(date +%s.%N)
sbatch --parsable --job-name=mex-bench-array --output=/dev/null --array=0-$((N - 1)) --wrap true >/dev/null
while [[ -n $(squeue -h -n mex-bench-array -o %i | head -n1) ]]; do sleep 0.5; done
end=$(date +%s.%N)
array_s=$(echo "$end - $start" | bc -l)

printf '| srun true, %s at a time (xargs -P) | %.1f s | %.0f ms | %d | – | 1.00 | – |\n' \
  "$SRUN_J" "$srun_s" "$(echo "$srun_s * 1000 / $N" | bc -l)" "$N"
printf '| sbatch --wrap true in a loop, then squeue every 0.5 s | %.1f s | %.0f ms | %d + the squeue calls | 1.00 | – | – |\n' \
  "$floor_s" "$(echo "$floor_s * 1000 / $N" | bc -l)" "$N"
printf '| one sbatch --array=0-%d --wrap true, then squeue every 0.5 s | %.1f s | %.0f ms | 1 + the squeue calls | %.3f | – | – |\n' \
  "$((N - 1))" "$array_s" "$(echo "$array_s * 1000 / $N" | bc -l)" "$(echo "1 / $N" | bc -l)"

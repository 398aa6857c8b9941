#!/usr/bin/env bash
# mex on the local Slurm cluster (scripts/slurm-local.sh): N short tasks (default 500, each
# `true`), as jobs, against `srun true` in a shell loop (SRUN_J at a time) and against plain
# `sbatch --wrap true` in a loop (the floor: Slurm's own throughput). For each: the wall time,
# the overhead per task (wall time / N), and the calls to Slurm's commands per task (mex counts
# its own with `-d stats`; each srun is one call, and several RPCs inside).
#
#   bench/run-slurm.sh                 # after scripts/build.sh release; starts the cluster
#   N=500 J=12 bench/run-slurm.sh
#
# Environment: N (tasks, default 500), J (mex -j: jobs submitted at once, default 12), SRUN_J
# (the srun loop's width, default 12: the CPUs the local cluster advertises).
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
{
  echo "defaults: {executor: slurm, max_parallel: $J, stall_after: 0}"
  echo "tasks:"
  for ((i = 0; i < N; i++)); do echo "  - {id: t$i, run: [\"true\"]}"; done
} >"$work/m.yaml"

start=$(date +%s.%N)
build/mex -d stats run "$work/m.yaml" --progress plain --quiet >"$work/out" 2>"$work/stats"
end=$(date +%s.%N)
mex_s=$(echo "$end - $start" | bc -l)
calls() { awk -v name="slurm $1" 'index($0, name) == 1 { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+$/) { print $i; exit } }' "$work/stats"; }
sbatch=$(calls sbatch); squeue=$(calls squeue); sacct=$(calls sacct); scancel=$(calls scancel)
sbatch=${sbatch:-0} squeue=${squeue:-0} sacct=${sacct:-0} scancel=${scancel:-0}
total=$((sbatch + squeue + sacct + scancel))

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

printf '| runner | wall | per task | Slurm calls | per task | of them polling (squeue+sacct) per task |\n'
printf '|---|---|---|---|---|---|\n'
printf '| mex -j %s, %s tasks | %.1f s | %.0f ms | %d (sbatch %d, squeue %d, sacct %d, scancel %d) | %.2f | %.3f |\n' \
  "$J" "$N" "$mex_s" "$(echo "$mex_s * 1000 / $N" | bc -l)" "$total" "$sbatch" "$squeue" "$sacct" \
  "$scancel" "$(echo "$total / $N" | bc -l)" "$(echo "($squeue + $sacct) / $N" | bc -l)"
printf '| srun true, %s at a time (xargs -P) | %.1f s | %.0f ms | %d | 1.00 | – |\n' \
  "$SRUN_J" "$srun_s" "$(echo "$srun_s * 1000 / $N" | bc -l)" "$N"
printf '| sbatch --wrap true in a loop, then squeue every 0.5 s | %.1f s | %.0f ms | %d + the squeue calls | – | – |\n' \
  "$floor_s" "$(echo "$floor_s * 1000 / $N" | bc -l)" "$N"

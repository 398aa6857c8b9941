#!/usr/bin/env bash
# The estimate of the time left (model/eta.h) replayed on simulated runs: its median error at 10,
# 25, 50, 75 and 90% of each run, beside elapsed/fraction and the effort-rate estimate mex had
# before (bench/eta_replay.cc says how the runs are simulated). Seeded: the same table each time.
#
#   bench/run-eta.sh            # after scripts/build.sh release; well under a second
#   RUNS=100 bench/run-eta.sh   # runs per scenario (default 30)
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ! -f build/build.ninja ]]; then
  echo "run-eta: no build/ tree: run scripts/build.sh release first" >&2
  exit 2
fi
cmake --build build --target eta_replay >&2
build/eta_replay "${RUNS:-30}"

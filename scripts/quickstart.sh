#!/usr/bin/env bash
# Installs dependencies, builds mex, plans the quickstart milestone and runs a DAG of shell tasks.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh release
build/mex plan examples/quickstart/milestone.yaml
echo
build/mex run examples/dag/build.json -j 2

#!/usr/bin/env bash
# Installs dependencies, builds mex and runs the quickstart: a four-phase KIRO milestone driven by
# the offline demo agent (examples/quickstart), every phase scored against its gate.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh release
build/mex run examples/quickstart/milestone.yaml --new
echo
build/mex status examples/quickstart/milestone.yaml

#!/usr/bin/env bash
# Installs dependencies, builds mex and plans the quickstart milestone.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh release
build/mex plan examples/quickstart/milestone.yaml

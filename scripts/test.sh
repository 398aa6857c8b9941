#!/usr/bin/env bash
# Installs dependencies (Debian packages, and the agent CLIs from npm into a cache outside the
# tree), builds mex twice (release, and ASan+UBSan) and runs every test in both, then builds the
# fuzz targets (clang) and runs each for a few seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# The real claude, codex and gemini CLIs for tests/real_agents, from npm, once (then a no-op).
scripts/install-agent-clis.sh >/dev/null
jobs=$(nproc)
scripts/build.sh release
ctest --test-dir build --output-on-failure -j "$jobs"
scripts/build.sh asan
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure -j "$jobs"
# A short run of each fuzz target from its seeds (the inputs that once crashed one among them),
# the same inputs in every clone (docs/development.md, "Fuzzing"); a longer one is
# scripts/fuzz.sh --seconds 3600 TARGET.
scripts/build.sh fuzz
scripts/fuzz.sh --check

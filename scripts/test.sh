#!/usr/bin/env bash
# Installs dependencies (Debian packages, and the agent CLIs from npm into a cache outside the
# tree), builds mex twice (release, and ASan+UBSan) and runs every test in both.
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

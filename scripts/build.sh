#!/usr/bin/env bash
# Configures and builds one build tree. Usage: scripts/build.sh [release|asan|fuzz]
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-release}
target=()
case "$kind" in
  release) dir=build; flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
  asan) dir=build-asan; flags=(-DCMAKE_BUILD_TYPE=Debug -DMEX_SANITIZE=ON) ;;
  # The libFuzzer targets of fuzz/ (clang; ASan, UBSan). -O1 as in libFuzzer's examples, without
  # NDEBUG: nlohmann-json's assertions stay. Only the targets and the library they call.
  fuzz) dir=build-fuzz; target=(--target fuzz)
    flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g"
      -DCMAKE_CXX_COMPILER=clang++ -DMEX_FUZZ=ON) ;;
  *) echo "usage: scripts/build.sh [release|asan|fuzz]" >&2; exit 2 ;;
esac
[[ -f "$dir/build.ninja" ]] || cmake -S . -B "$dir" -G Ninja "${flags[@]}" >/dev/null
cmake --build "$dir" "${target[@]}"

#!/usr/bin/env bash
# Lua 5.4's build DAG (bench/eta_replay.cc's model, as bench/run-eta-live.sh runs it: 32 compiles,
# `ar`, two more compiles and two links, `sleep`s of the modelled seconds times SCALE in place of
# the commands) at -j4: mex on a fresh state folder (no history: ready tasks by effort, all 1,
# then file order), mex again with --new on the same folder (the durations of the first run known:
# ready tasks by remaining critical path in seconds), and `ninja -j4` on the same DAG (manifest
# order), interleaved, RUNS times. Sleeps leave the CPU idle, so the figures are those of the
# schedules more than of a loaded machine. Prints a Markdown table; progress on stderr.
#
#   bench/run-lua.sh                  # after scripts/build.sh release; about 3 x 3 x 5 s at SCALE=1
#   SCALE=2 RUNS=5 bench/run-lua.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
SCALE=${SCALE:-1}
say() { echo "run-lua: $*" >&2; }
[[ -x build/mex ]] || { say "run scripts/build.sh release first"; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp build/mex "$work/mex"
source bench/lib.sh

SCALE=$SCALE python3 - "$work" <<'EOF'
import json, os, sys
work = sys.argv[1]
scale = float(os.environ["SCALE"])
lib = [1463, 1112, 549, 1871, 210, 64, 483, 924, 1024, 230, 294, 1739, 65, 828, 581, 764, 215,
       767, 602, 104, 432, 1967, 445, 273, 1874, 980, 429, 271, 335, 291, 1901, 68]
def secs(base):
    return round(base * scale, 3)
tasks = [{"id": f"c{i}", "run": f"sleep {secs(0.05 + 0.0006 * n)}"} for i, n in enumerate(lib)]
tasks.append({"id": "ar", "run": f"sleep {secs(0.05)}", "deps": [f"c{i}" for i in range(len(lib))]})
for name, n in (("lua", 679), ("luac", 723)):
    tasks.append({"id": f"{name}.o", "run": f"sleep {secs(0.05 + 0.0006 * n)}"})
    tasks.append({"id": name, "run": f"sleep {secs(0.1)}", "deps": ["ar", f"{name}.o"]})
with open(f"{work}/m.json", "w") as f:
    json.dump({"milestone": {"id": "lua"}, "tasks": tasks}, f)
with open(f"{work}/build.ninja", "w") as f:
    f.write("rule r\n  command = $cmd\n")
    for t in tasks:
        deps = " ".join(t.get("deps", []))
        f.write(f"build {t['id']}: r{' | ' + deps if deps else ''}\n  cmd = {t['run']}\n")
EOF

ms() { awk -v s="$1" -v e="$2" 'BEGIN {printf "%.3f\n", e - s}'; }
for ((rep = 0; rep < RUNS; rep++)); do
  for tool in cold warm ninja; do
    say "repetition $((rep + 1))/$RUNS: $tool"
    dir=$work/$rep-$tool
    mkdir -p "$dir"
    case $tool in
      cold)
        s=$(date +%s.%N)
        "$work/mex" run "$work/m.json" -j 4 --quiet --state-dir "$work/state-$rep" >"$dir/out" 2>&1
        e=$(date +%s.%N) ;;
      warm)
        s=$(date +%s.%N)
        "$work/mex" run "$work/m.json" -j 4 --quiet --new --state-dir "$work/state-$rep" >"$dir/out" 2>&1
        e=$(date +%s.%N) ;;
      ninja)
        cp "$work/build.ninja" "$dir/"
        s=$(date +%s.%N)
        (cd "$dir" && ninja -j 4 --quiet) >"$dir/out" 2>&1
        e=$(date +%s.%N) ;;
    esac
    [[ $tool == ninja ]] || grep -q "37 succeeded, 0 failed" "$dir/out" || { say "$tool failed"; exit 1; }
    ms "$s" "$e" >>"$work/t.$tool"
  done
done
paired() { paste -d' ' "$1" "$2" | awk '{printf "%.3f\n", $1 / $2}' | median; }
echo "| Lua DAG, -j4, SCALE=$SCALE | median s | paired ratio to ninja | all runs s |"
echo "|---|---:|---:|---|"
for tool in cold warm ninja; do
  r=$([[ $tool == ninja ]] && echo — || paired "$work/t.$tool" "$work/t.ninja")
  echo "| $tool | $(median <"$work/t.$tool") | $r | $(paste -sd' ' "$work/t.$tool") |"
done

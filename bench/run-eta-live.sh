#!/usr/bin/env bash
# The estimate of the time left, end to end: real `mex run`s of Lua 5.4's build DAG with `sleep`s
# in place of the compiles (bench/eta_replay.cc's model of it, times SCALE), polled with
# `mex status --json` every 0.25 s; then the error of eta_seconds and of elapsed/fraction at 10,
# 25, 50, 75 and 90% of the run, against when the run really ended. A first run on a fresh state
# folder (no history), then a second one (--new) whose sleeps differ by up to ±10%: their
# definitions changed, so the history is found by task id.
#
#   bench/run-eta-live.sh            # after scripts/build.sh release; about 2 x 40 s at SCALE=8
#   SCALE=4 bench/run-eta-live.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
if [[ ! -x build/mex ]]; then
  echo "run-eta-live: no build/mex: run scripts/build.sh release first" >&2
  exit 2
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
SCALE=${SCALE:-8} python3 - "$root/build/mex" "$work" <<'EOF'
import json, os, random, subprocess, sys, time

mex, work = sys.argv[1], sys.argv[2]
scale = float(os.environ["SCALE"])
lib = [1463, 1112, 549, 1871, 210, 64, 483, 924, 1024, 230, 294, 1739, 65, 828, 581, 764, 215,
       767, 602, 104, 432, 1967, 445, 273, 1874, 980, 429, 271, 335, 291, 1901, 68]

def milestone(rng):
    def secs(base):
        return round(base * scale * rng.uniform(0.9, 1.1), 2)
    tasks = [{"id": f"c{i}", "run": f"sleep {secs(0.05 + 0.0006 * n)}"} for i, n in enumerate(lib)]
    tasks.append({"id": "ar", "run": f"sleep {secs(0.05)}", "deps": [f"c{i}" for i in range(len(lib))]})
    for name, n in (("lua", 679), ("luac", 723)):
        tasks.append({"id": f"{name}.o", "run": f"sleep {secs(0.05 + 0.0006 * n)}"})
        tasks.append({"id": name, "run": f"sleep {secs(0.1)}", "deps": ["ar", f"{name}.o"]})
    return {"milestone": {"id": "lua"}, "defaults": {"max_parallel": 4}, "tasks": tasks}

def run(label, extra):
    start = time.monotonic()
    proc = subprocess.Popen([mex, "run", "m.json", "--quiet"] + extra, cwd=work,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    samples = []
    while proc.poll() is None:
        out = subprocess.run([mex, "status", "m.json", "--json"], cwd=work, capture_output=True,
                             text=True)
        now = time.monotonic() - start
        if out.returncode == 0:
            s = json.loads(out.stdout)
            if s["state"] == "running":
                samples.append((now, s["eta_seconds"], s["progress"]["weighted"]))
        time.sleep(0.25)
    end = time.monotonic() - start
    cells = []
    for f in (0.10, 0.25, 0.50, 0.75, 0.90):
        at = f * end
        t, eta, p = min(samples, key=lambda x: abs(x[0] - at))
        left = end - t
        new = abs((eta if eta is not None else 0) - left) / left
        ef = abs((t * (1 - p) / p if p > 0 else 0) - left) / left
        cells.append(f"{100 * new:.0f}% / {100 * ef:.0f}%")
    print(f"| {label} | {end:.1f} s | " + " | ".join(cells) + " |")

rng = random.Random(17)
for label, extra in (("cold", []), ("warm", ["--new"])):
    with open(os.path.join(work, "m.json"), "w") as f:
        json.dump(milestone(rng), f)
    if label == "cold":
        print("| run | took | 10% | 25% | 50% | 75% | 90% |")
        print("|---|---|---|---|---|---|---|")
    run(label, extra)
print("\ncells: |error| / time left, of eta_seconds / of elapsed/fraction (one run each)")
EOF

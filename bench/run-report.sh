#!/usr/bin/env bash
# The run report at scale: `mex run` of N tasks (default 10000) at -j2, then the size of the
# reports it wrote (report.html, report.json, report.md) and how long headless Chromium takes to
# open report.html (--dump-dom: start, load, the page's script drawing every attempt, the DOM
# written) against the same for an empty page; the page's own drawing time (data-draw-ms). Three
# runs: a layered DAG of `true` (LAYERS layers); the same where every 20th task fails once and is
# retried and a fifth of the last layer fails (a log tail each); and N flat tasks in PHASES phases, whose
# phase-end reports are the cost the reports written at each phase's end add (`mex -d stats`:
# "write report" counts them, and the time they took, against the run's).
#
#   bench/run-report.sh                # after scripts/build.sh release
#   N=10000 RUNS=5 bench/run-report.sh
#
# Environment: N (tasks, default 10000), LAYERS (default 100), PHASES (default 4), RUNS (Chromium
# loads per report, default 5). BASELINE_MEX: a mex built before the phase-end reports; the phased
# run is then also timed with it and with this build, alternately, PHASED_RUNS times (default 3). Needs Debian's chromium-headless-shell (scripts/setup.sh) and
# unshare: Chromium runs offline (`unshare -rn`) with a private HOME in the work folder.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-10000}
LAYERS=${LAYERS:-100}
PHASES=${PHASES:-4}
RUNS=${RUNS:-5}
chromium=/usr/bin/chromium-headless-shell

say() { echo "run-report: $*" >&2; }
[[ -f build/build.ninja ]] || { say "no build/ tree: run scripts/build.sh release first"; exit 2; }
[[ -x $chromium ]] || { say "missing $chromium (scripts/setup.sh)"; exit 2; }
cmake --build build >&2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp build/mex "$work/mex"
mex=$work/mex
mkdir "$work/home"
source bench/lib.sh

# Milestones: $work/layered/m.json, $work/faulty/m.json, $work/phased/m.json.
mkdir "$work/layered" "$work/faulty" "$work/phased"
dag layered "$N" | to_mex '"true"' >"$work/layered/m.json"
# Every 20th task fails once and is retried (a marker file); every 5th task of the last layer
# fails for good: about N/20 retries and N/LAYERS/5 failures, nothing skipped.
dag layered "$N" | awk -v n="$N" -v w=$((N / LAYERS)) '{
    kind = NR > n - w && NR % 5 == 0 ? "F" : NR % 20 == 0 ? "R" : "T"; print kind, $0 }' |
  awk 'BEGIN { print "{\"defaults\": {\"retry\": {\"max_attempts\": 2, \"backoff\": {\"initial\": \"0s\"}}}, \"tasks\": [" }
    { if (NR > 1) print ","
      deps = ""
      for (i = 3; i <= NF; i++) deps = deps (i > 3 ? ", " : "") "\"" $i "\""
      run = "\"true\""
      if ($1 == "F") run = "\"echo some output of " $2 "; echo it failed >\u00262; exit 1\""
      if ($1 == "R") run = "\"test -f seen-" $2 " || { touch seen-" $2 "; echo first try >\u00262; exit 1; }\""
      printf "{\"id\": \"%s\", \"run\": %s, \"deps\": [%s]}", $2, run, deps }
    END { print "\n]}" }' >"$work/faulty/m.json"
awk -v n="$N" -v phases="$PHASES" 'BEGIN {
  per = int(n / phases); printf "{\"phases\": ["
  for (p = 0; p < phases; p++) {
    printf "%s{\"name\": \"p%d\", \"weight\": %g, \"tasks\": [", (p ? ", " : ""), p, 100 / phases
    for (i = 0; i < per; i++) printf "%s{\"id\": \"p%d-t%d\", \"run\": \"true\"}", (i ? ", " : ""), p, i
    printf "]}"
  }
  print "]}" }' >"$work/phased/m.json"

# Seconds headless Chromium takes to dump the DOM of file $1; the DOM in $work/dom.html.
load() {
  local start end
  start=$(date +%s.%N)
  HOME=$work/home TMPDIR=$work/home unshare -rn "$chromium" --no-sandbox --disable-gpu \
    --dump-dom "file://$1" >"$work/dom.html" 2>/dev/null
  end=$(date +%s.%N)
  echo "$end - $start" | bc -l
}

printf '<!DOCTYPE html><title>empty</title><p>empty</p>\n' >"$work/empty.html"
for _ in 1 2; do load "$work/empty.html" >/dev/null; done  # warm the page cache
empty=$(for _ in $(seq "$RUNS"); do load "$work/empty.html"; done | median)

echo "| Run | Tasks | Attempts | mex run (s) | report.html | report.json | report.md | Chromium load (s, median of $RUNS) | empty page (s) | page's drawing (ms) | bars drawn |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for case in layered faulty; do
  say "$case: mex run of $N tasks"
  start=$(date +%s.%N)
  (cd "$work/$case" && "$mex" run m.json -j2 --quiet >/dev/null) || true
  took=$(echo "$(date +%s.%N) - $start" | bc -l)
  run=$(ls -d "$work/$case"/.mex/runs/*)
  attempts=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["counts"]["attempts"])' "$run/report.json")
  say "$case: $RUNS Chromium loads"
  secs=$(for _ in $(seq "$RUNS"); do load "$run/report.html"; done | median)
  draw=$(grep -o 'data-draw-ms="[0-9]*"' "$work/dom.html" | grep -o '[0-9]*')
  bars=$(grep -o 'class="bar ' "$work/dom.html" | wc -l)
  kb() { echo "$(($(stat -c %s "$1") / 1024)) KB"; }
  printf '| %s | %s | %s | %.1f | %s | %s | %s | %.2f | %.2f | %s | %s |\n' "$case" "$N" "$attempts" \
    "$took" "$(kb "$run/report.html")" "$(kb "$run/report.json")" "$(kb "$run/report.md")" \
    "$secs" "$empty" "$draw" "$bars"
done

say "phased: mex -d stats run of $N tasks in $PHASES phases"
stats=$(cd "$work/phased" && "$mex" -d stats run m.json -j2 --quiet 2>&1 >/dev/null)
reports=$(awk '$1 == "write" && $2 == "report" { print $3, $4 }' <<<"$stats")
total=$(awk '$1 == "total" { print $3 }' <<<"$stats")
echo
echo "| Phased run | Reports written (phase ends + run end) | Their time (ms) | Run (ms) | Share |"
echo "|---|---|---|---|---|"
read -r count ms <<<"$reports"
printf '| %s tasks, %s phases | %s | %.0f | %.0f | %.1f%% |\n' "$N" "$PHASES" "$count" "$ms" "$total" \
  "$(echo "100 * $ms / $total" | bc -l)"

if [[ -n ${BASELINE_MEX:-} ]]; then
  cp "$BASELINE_MEX" "$work/mex-baseline"
  echo
  echo "| Phased run, ${PHASED_RUNS:-3} runs each, alternating | this build (s, median) | baseline (s, median) |"
  echo "|---|---|---|"
  for i in $(seq "${PHASED_RUNS:-3}"); do
    for which in this baseline; do
      dir=$work/phased-$which-$i
      mkdir "$dir" && cp "$work/phased/m.json" "$dir/"
      bin=$mex
      [[ $which == baseline ]] && bin=$work/mex-baseline
      say "phased: $which, run $i"
      start=$(date +%s.%N)
      (cd "$dir" && "$bin" run m.json -j2 --quiet >/dev/null)
      echo "$(date +%s.%N) - $start" | bc -l >>"$work/phased-$which.times"
    done
  done
  printf '| %s tasks, %s phases | %.2f | %.2f |\n' "$N" "$PHASES" "$(median <"$work/phased-this.times")" \
    "$(median <"$work/phased-baseline.times")"
fi

#!/usr/bin/env bash
# Times `mex plan` (load + validate + plan) on generated DAG files and compares it with `ninja -n`
# on a build.ninja of the same DAG. Prints Markdown tables on stdout; progress goes to stderr.
#
#   bench/run-plan.sh                 # after scripts/build.sh release
#   RUNS=5 RUNS_1M=3 bench/run-plan.sh
#
# Environment: RUNS (timed runs per file, default 5), RUNS_1M (runs for the 1M files, default RUNS),
# NINJA_LIMIT (seconds allowed per `ninja -n` run, default 60).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

RUNS=${RUNS:-5}
RUNS_1M=${RUNS_1M:-$RUNS}
NINJA_LIMIT=${NINJA_LIMIT:-60}

say() { echo "run-plan: $*" >&2; }

if [[ ! -f build/build.ninja ]]; then
  say "no build/ tree: run scripts/build.sh release first"
  exit 2
fi
cmake --build build >&2
mex=$root/build/mex
gen=$root/build/gen_dag
for exe in "$mex" "$gen"; do
  [[ -x $exe ]] || { say "missing $exe (run scripts/build.sh release)"; exit 2; }
done

# GNU time (Debian package `time`) gives wall seconds and peak RSS; the shell keyword cannot.
if [[ ! -x /usr/bin/time ]] || ! dpkg -s time >/dev/null 2>&1; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    say "installing Debian's time package"
    apt-get install -y -qq time >&2
  else
    say "/usr/bin/time is missing: install it with 'sudo apt-get install time'"
    exit 2
  fi
fi
have_ninja=0
command -v ninja >/dev/null && have_ninja=1
[[ $have_ninja == 1 ]] || say "ninja not found: the ninja columns will read n/a"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Time a private copy, so a rebuild of build/ during the benchmark cannot mix two binaries.
cp "$mex" "$work/mex"
mex=$work/mex
version=$(git -C "$root" describe --always --dirty 2>/dev/null || echo '?')

# Median and minimum of the numbers on stdin, one per line.
median() { sort -g | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
minimum() { sort -g | head -n 1; }
maximum() { sort -g | tail -n 1; }

# One `build tN: r DEPS` edge per task of a gen_dag JSON file (one task per line).
to_ninja() {
  awk 'BEGIN { print "rule r\n  command = true" }
    /"id":/ {
      match($0, /"id": "[^"]*"/); id = substr($0, RSTART + 7, RLENGTH - 8)
      match($0, /"deps": \[[^]]*\]/); d = substr($0, RSTART + 9, RLENGTH - 10)
      gsub(/[",]/, "", d)
      print "build " id ": r" (d == "" ? "" : " " d)
    }' "$1"
}

# name shape tasks format
files=(
  "layered-10k layered 10000 json"
  "random-10k random 10000 json"
  "layered-100k layered 100000 json"
  "random-100k random 100000 json"
  "layered-1M layered 1000000 json"
  "random-1M random 1000000 json"
  "layered-10k layered 10000 yaml"
)

start=$SECONDS
rows=()
ninja_rows=()
stats_rows=()
declare -A ninja_median
for spec in "${files[@]}"; do
  read -r name shape tasks fmt <<<"$spec"
  file=$work/$name.$fmt
  "$gen" "$shape" "$tasks" "$file"
  runs=$RUNS
  [[ $tasks -ge 1000000 ]] && runs=$RUNS_1M

  say "$name.$fmt: $runs x mex plan"
  : >"$work/times"
  for ((i = 0; i < runs; i++)); do
    if ! /usr/bin/time -f '%e %M' -o "$work/one" "$mex" plan "$file" >/dev/null 2>"$work/err"; then
      say "mex plan $name.$fmt failed:"; cat "$work/err" >&2; exit 1
    fi
    tail -n 1 "$work/one" >>"$work/times"
  done
  med=$(cut -d' ' -f1 "$work/times" | median)
  min=$(cut -d' ' -f1 "$work/times" | minimum)
  rss_kb=$(cut -d' ' -f2 "$work/times" | maximum)
  rss_mb=$(awk -v k="$rss_kb" 'BEGIN {printf "%.0f", k / 1024}')

  # Stage split, once per file: `-d stats` prints "metric count total(ms)" lines on stderr.
  "$mex" -d stats plan "$file" 2>"$work/stats" >/dev/null
  stats_rows+=("$(awk -v f="$name.$fmt" '
    $1 == "metric" { next }
    NF >= 3 { name = $1; for (i = 2; i <= NF - 2; i++) name = name " " $i; t[name] = $NF }
    END {
      dec = ("decode json" in t) ? t["decode json"] : ("decode yaml" in t ? t["decode yaml"] : "")
      split("read|check|graph|roadmap|print", top, "|")
      acc = dec + 0
      for (k in top) if (top[k] in t) acc += t[top[k]]
      other = ("total" in t) ? sprintf("%.1f", t["total"] - acc) : "—"
      n = split("read|decode|check|check cycles|graph|roadmap|print|total", cols, "|")
      line = "| " f
      for (i = 1; i <= n; i++) {
        c = cols[i]; v = (c == "decode") ? dec : ((c in t) ? t[c] : "")
        line = line " | " (v == "" ? "—" : v)
        if (c == "print") line = line " | " other
      }
      print line " |"
    }' "$work/stats")")

  target="—"; met="—"
  case "$tasks/$fmt" in
    1000000/json)
      target="< 2 s, < 600 MB"
      met=$(awk -v t="$med" -v m="$rss_mb" 'BEGIN {print (t < 2 && m < 600) ? "yes" : "no"}') ;;
    100000/json)
      target="< 0.2 s"
      met=$(awk -v t="$med" 'BEGIN {print (t < 0.2) ? "yes" : "no"}') ;;
  esac

  # ninja -n on the same DAG (the YAML file is the same DAG as the JSON file of its shape and size).
  key=$name
  if [[ $have_ninja == 1 && -z ${ninja_median[$key]:-} ]]; then
    mkdir "$work/ninja-$key"
    to_ninja "$file" >"$work/ninja-$key/build.ninja"
    say "$name: $runs x ninja -n (limit ${NINJA_LIMIT}s per run)"
    : >"$work/ntimes"
    timeouts=0
    for ((i = 0; i < runs; i++)); do
      rc=0
      /usr/bin/time -f '%e %M' -o "$work/one" timeout "$NINJA_LIMIT" ninja -C "$work/ninja-$key" -n \
        >/dev/null 2>"$work/err" || rc=$?
      if [[ $rc == 124 ]]; then
        timeouts=$((timeouts + 1))
        echo "$NINJA_LIMIT $(tail -n 1 "$work/one" | cut -d' ' -f2)" >>"$work/ntimes"
      elif [[ $rc != 0 ]]; then
        say "ninja -n on $key failed:"; cat "$work/err" >&2; exit 1
      else
        tail -n 1 "$work/one" >>"$work/ntimes"
      fi
    done
    nmed=$(cut -d' ' -f1 "$work/ntimes" | median)
    nmin=$(cut -d' ' -f1 "$work/ntimes" | minimum)
    nrss=$(cut -d' ' -f2 "$work/ntimes" | maximum | awk '{printf "%.0f", $1 / 1024}')
    [[ $timeouts == 0 ]] || nmed=">$nmed ($timeouts/$runs hit the ${NINJA_LIMIT}s limit)"
    ninja_median[$key]=$nmed
    ninja_rows+=("| $key | $tasks | $runs | $nmed | $nmin | $nrss |")
  fi
  nmed=${ninja_median[$key]:-n/a}
  ratio=$(awk -v a="$med" -v b="$nmed" 'BEGIN {
    if (b ~ /^>/) {sub(/^>/, "", b); printf "<%.2f", a / b} else if (b + 0 > 0) printf "%.2f", a / b; else print "n/a"}')
  rows+=("| $name.$fmt | $tasks | $med | $min | $rss_mb | $target | $met | $nmed | $ratio |")
done

echo "### mex plan: load + validate + plan (wall time over $RUNS runs, $RUNS_1M for 1M; peak RSS = max over runs)"
echo
echo "| file | tasks | median s | min s | peak RSS MB | target | met? | ninja -n median s | ratio mex/ninja |"
echo "|---|---:|---:|---:|---:|---|---|---:|---:|"
printf '%s\n' "${rows[@]}"
echo
if [[ ${#ninja_rows[@]} -gt 0 ]]; then
  echo "### ninja -n on the same DAG (one \`build tN: r DEPS\` edge per task, \`command = true\`)"
  echo
  echo "| DAG | edges | runs | median s | min s | peak RSS MB |"
  echo "|---|---:|---:|---:|---:|---:|"
  printf '%s\n' "${ninja_rows[@]}"
  echo
fi
echo "### Stage split (\`mex -d stats plan FILE\`, one run, ms; \`check\` includes \`check cycles\`; other = total minus the listed top-level stages)"
echo
echo "| file | read | decode | check | check cycles | graph | roadmap | print | other | total |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${stats_rows[@]}"
echo
echo "mex built from $version, $(nproc) cores, ninja $(ninja --version 2>/dev/null || echo n/a); time resolution 0.01 s; benchmark took $((SECONDS - start)) s"

#!/usr/bin/env bash
# What mex's durable store (state.db, status.json) costs, and how fast a no-op resume is.
#
# 1. Full runs of N tasks of `true` (`"run": "true"`, a string: through /bin/sh -c before issue 19, spawned directly since), a flat DAG and a layered
#    DAG, at -j2: `mex run` with the store (a fresh state folder each run), `mex -d nostore run`
#    (no state.db, no status.json) and `ninja -j2` on the equivalent build.ninja (every edge runs),
#    interleaved in the same repetition. Also the size of state.db and the bytes each run wrote.
# 2. No-op runs: `mex run` again on a finished, unchanged run (it starts nothing), against ninja's
#    no-op build of the same DAG (`command = touch $out`, built once, then `ninja` again).
# Prints Markdown tables on stdout; progress on stderr.
#
#   bench/run-store.sh                 # after scripts/build.sh release
#   N=1000 RUNS=2 bench/run-store.sh   # a quick check
#
# Environment: N (tasks, default 10000), LAYERS (layers of the layered DAG, default 100; N must be a
# multiple of it), RUNS (repetitions of the full runs, default 5; every repetition runs every tool on
# every case, in an order rotated from one repetition to the next), NOOP_RUNS (timed no-op runs per
# tool and case, default 3 x RUNS), JOBS (-j, default 2).
set -euo pipefail
script_start=$SECONDS
cd "$(dirname "$0")/.."
root=$PWD

N=${N:-10000}
LAYERS=${LAYERS:-100}
RUNS=${RUNS:-5}
NOOP_RUNS=${NOOP_RUNS:-$((3 * RUNS))}
JOBS=${JOBS:-2}
NOOP_TARGET_MS=100  # the target: a no-op `mex run` of 10k tasks in under 100 ms

say() { echo "run-store: $*" >&2; }

if ((N % LAYERS != 0 || N / LAYERS < 3)); then
  say "N=$N must be a multiple of LAYERS=$LAYERS, with at least 3 tasks per layer"
  exit 2
fi
if ((RUNS < 1 || NOOP_RUNS < 1 || JOBS < 1)); then
  say "RUNS, NOOP_RUNS and JOBS must be at least 1"
  exit 2
fi
if [[ ! -f build/build.ninja ]]; then
  say "no build/ tree: run scripts/build.sh release first"
  exit 2
fi
cmake --build build >&2
[[ -x build/mex ]] || { say "missing build/mex (run scripts/build.sh release)"; exit 2; }

# GNU time (package `time`) gives wall seconds, CPU, peak RSS and file system outputs.
if ! dpkg-query -W -f='${Status}' time 2>/dev/null | grep -q 'install ok installed'; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    say "installing Debian's time"
    apt-get install -y -qq time >&2 || { apt-get update -qq >&2 && apt-get install -y -qq time >&2; }
  else
    say "missing Debian package: time (sudo apt-get install time)"
    exit 2
  fi
fi
for exe in ninja /usr/bin/time; do
  command -v "$exe" >/dev/null || { say "missing $exe"; exit 2; }
done

# Every run keeps its folder until the script exits (a mex state folder of 10k tasks is about
# 40 MB): on this ext4 (no journal), deleting the 2N files and folders of a mex run made the next
# mex run 2.5-2.8x slower (the inode allocator scans past recently deleted inodes; see
# docs/performance.md, "Deleting state folders slows the next mex run down").
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Time a private copy, so a rebuild of build/ during the benchmark cannot mix two binaries.
cp build/mex "$work/mex"
mex=$work/mex
version=$(git -C "$root" describe --always --dirty 2>/dev/null || echo '?')
say "timing a copy of build/mex built from $version"
mkdir "$work/in"

source bench/lib.sh
now() { echo "${EPOCHREALTIME/,/.}"; }

cases=(flat layered)
tools=(mex mex-nostore ninja)
for c in "${cases[@]}"; do
  dag "$c" "$N" >"$work/in/$c.dag"
  to_mex '"true"' <"$work/in/$c.dag" >"$work/in/$c.json"
  to_ninja true <"$work/in/$c.dag" >"$work/in/$c.ninja"
  # shellcheck disable=SC2016 # $out is ninja's, not the shell's
  to_ninja 'touch $out' <"$work/in/$c.dag" >"$work/in/$c-touch.ninja"
done
label() {
  case $1 in
    mex) echo "mex run (store: state.db + status.json)" ;;
    mex-nostore) echo "mex -d nostore run" ;;
    ninja) echo "ninja -j$JOBS" ;;
  esac
}

# Check once, untimed, that ninja would run N commands.
for c in "${cases[@]}"; do
  mkdir "$work/check" && cp "$work/in/$c.ninja" "$work/check/build.ninja"
  got=$(ninja -C "$work/check" -n -j "$JOBS" | grep -c '^\[')
  [[ $got == "$N" ]] || { say "ninja -n plans $got commands for $c, not $N"; exit 1; }
  rm -rf "$work/check"
done

fail() {  # what, output file
  say "$1 failed:"; tail -n 5 "$2" >&2; exit 1
}
kb() { if [[ -e $1 ]]; then stat -c %s "$1" | awk '{printf "%.0f", $1 / 1024}'; else echo '—'; fi; }

## 1. Full runs.
seq_no=0
run_one() {  # case tool rep: one timed run; appends "wall rss_kb user sys out_blocks" to $work/t.CASE.TOOL
  local c=$1 tool=$2 rep=$3 dir rc=0
  seq_no=$((seq_no + 1))
  dir=$work/run-$seq_no
  mkdir "$dir"
  local t=(/usr/bin/time -f '%e %M %U %S %O' -o "$work/one")
  case $tool in
    mex | mex-nostore)
      local flags=()
      [[ $tool == mex-nostore ]] && flags=(-d nostore)
      "${t[@]}" "$mex" "${flags[@]}" run "$work/in/$c.json" -j "$JOBS" --quiet --state-dir "$dir/state" \
        >"$dir/out" 2>&1 || rc=$?
      { [[ $rc == 0 ]] && grep -q "$N succeeded, 0 failed" "$dir/out"; } || fail "$tool on $c (rc $rc)" "$dir/out"
      if [[ $tool == mex ]]; then
        [[ -f $dir/state/state.db ]] || fail "$tool on $c (no state.db)" "$dir/out"
      else
        [[ ! -e $dir/state/state.db ]] || fail "$tool on $c (state.db written)" "$dir/out"
      fi
      if [[ $rep == 0 ]]; then  # sizes after one run
        echo "$(kb "$dir/state/state.db") $(kb "$dir/state/state.db-wal") $(kb "$dir/state/state.db-shm") $(du -sk "$dir/state" | cut -f1)" \
          >"$work/size.$c.$tool"
      fi ;;
    ninja)
      cp "$work/in/$c.ninja" "$dir/build.ninja"
      (cd "$dir" && "${t[@]}" ninja -j "$JOBS" --quiet -f build.ninja) >"$dir/out" 2>&1 || rc=$?
      # .ninja_log has a header line and one line per edge that ran.
      [[ $rc == 0 && $(($(wc -l <"$dir/.ninja_log") - 1)) == "$N" ]] || fail "ninja on $c (rc $rc)" "$dir/out" ;;
  esac
  tail -n 1 "$work/one" >>"$work/t.$c.$tool"
}

timed_start=$SECONDS
loads=("$(cut -d' ' -f1 /proc/loadavg)")
for ((rep = 0; rep < RUNS; rep++)); do
  for c in "${cases[@]}"; do
    k=${#tools[@]}
    for ((j = 0; j < k; j++)); do
      tool=${tools[$(((j + rep) % k))]}
      say "full runs, repetition $((rep + 1))/$RUNS, $c: $tool"
      run_one "$c" "$tool" "$rep"
    done
  done
  loads+=("$(cut -d' ' -f1 /proc/loadavg)")
  say "load average after repetition $((rep + 1)): ${loads[-1]}"
done
full_elapsed=$((SECONDS - timed_start))

# One `mex -d stats run` of a full run per case (store on), untimed.
for c in "${cases[@]}"; do
  say "full run with -d stats, $c"
  d=$work/stats-full-$c
  mkdir "$d"
  "$mex" -d stats run "$work/in/$c.json" -j "$JOBS" --quiet --state-dir "$d/state" >"$d/out" 2>"$d/err" ||
    fail "mex -d stats run on $c" "$d/out"
done

## 2. No-op runs.
noop_start=$SECONDS
noop_loads=("$(cut -d' ' -f1 /proc/loadavg)")
for c in "${cases[@]}"; do
  d=$work/noop-$c
  mkdir -p "$d/ninja"
  say "no-op, $c: a full mex run and a full ninja build (touch \$out) first, untimed"
  { "$mex" run "$work/in/$c.json" -j "$JOBS" --quiet --state-dir "$d/state" >"$d/first" 2>&1 &&
    grep -q "$N succeeded, 0 failed" "$d/first"; } || fail "first mex run on $c" "$d/first"
  cp "$work/in/$c-touch.ninja" "$d/ninja/build.ninja"
  { (cd "$d/ninja" && ninja -j "$JOBS" --quiet) >"$d/ninja-first" 2>&1 &&
    [[ $(($(wc -l <"$d/ninja/.ninja_log") - 1)) == "$N" ]]; } || fail "first ninja build on $c" "$d/ninja-first"
  # Untimed checks that both have nothing left to do: mex starts no task (NDJSON events).
  "$mex" run "$work/in/$c.json" -j "$JOBS" --json --state-dir "$d/state" >"$d/check.ndjson" 2>&1 ||
    fail "mex no-op check on $c" "$d/check.ndjson"
  if grep -q '"event":"task_started"' "$d/check.ndjson" ||
    ! grep '"event":"run_finished"' "$d/check.ndjson" | grep -q "\"result\":\"succeeded\".*\"succeeded\":$N,"; then
    fail "mex no-op check on $c (a task started, or not $N succeeded)" "$d/check.ndjson"
  fi
  { (cd "$d/ninja" && ninja -n -j "$JOBS") >"$d/ninja-check" 2>&1 && grep -q 'no work to do' "$d/ninja-check"; } ||
    fail "ninja no-op check on $c" "$d/ninja-check"

  for ((i = 0; i < NOOP_RUNS; i++)); do
    if ((i % 2 == 0)); then order=(mex ninja); else order=(ninja mex); fi
    for tool in "${order[@]}"; do
      rc=0
      t=(/usr/bin/time -f '%M %U %S %O' -o "$work/one")
      if [[ $tool == mex ]]; then
        t0=$(now)
        "${t[@]}" "$mex" run "$work/in/$c.json" -j "$JOBS" --quiet --state-dir "$d/state" >"$d/out" 2>&1 || rc=$?
        t1=$(now)
        { [[ $rc == 0 ]] && grep -q "$N succeeded, 0 failed" "$d/out"; } || fail "mex no-op on $c (rc $rc)" "$d/out"
      else
        t0=$(now)
        (cd "$d/ninja" && "${t[@]}" ninja -j "$JOBS") >"$d/out" 2>&1 || rc=$?
        t1=$(now)
        { [[ $rc == 0 ]] && grep -q 'no work to do' "$d/out"; } || fail "ninja no-op on $c (rc $rc)" "$d/out"
      fi
      echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", 1000 * (b - a)}') $(tail -n 1 "$work/one")" \
        >>"$work/noop.$c.$tool"
    done
  done
  say "no-op, $c: $NOOP_RUNS timed runs each done"
  # No attempt ran again: a rerun would have made a second attempt, logs/TASK/2.log.
  again=$(find "$d/state/runs" -name '2.log' | wc -l)
  [[ $again == 0 ]] || { say "mex no-op on $c ran $again attempts again"; exit 1; }
  { "$mex" -d stats run "$work/in/$c.json" -j "$JOBS" --quiet --state-dir "$d/state" >"$d/stats-out" 2>"$d/stats-err" &&
    grep -q "$N succeeded, 0 failed" "$d/stats-out"; } || fail "mex -d stats no-op on $c" "$d/stats-out"
  noop_loads+=("$(cut -d' ' -f1 /proc/loadavg)")
done
noop_elapsed=$((SECONDS - noop_start))

## Tables.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
paired() {  # file-a file-b column: median of the per-line ratios a/b of that column
  paste -d' ' "$1" "$2" | awk -v k="$3" '{n = NF / 2; printf "%.4f\n", $k / $(k + n)}' | median |
    awk '{printf "%.2f", $1}'
}

echo "### Full runs: $N tasks of \`true\` at -j$JOBS, store on vs off vs ninja ($RUNS repetitions)"
echo
echo "| case | tool | median s | min s | CPU s user+sys (median) | peak RSS MB | ms per task (median / N) | MB written (median; %O) | all runs s |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---|"
for c in "${cases[@]}"; do
  for tool in "${tools[@]}"; do
    f=$work/t.$c.$tool
    med=$(cut -d' ' -f1 "$f" | median | awk '{printf "%.2f", $1}')
    min=$(cut -d' ' -f1 "$f" | minimum)
    rss=$(cut -d' ' -f2 "$f" | maximum | awk '{printf "%.0f", $1 / 1024}')
    cpu=$(awk '{printf "%.2f\n", $3 + $4}' "$f" | median | awk '{printf "%.2f", $1}')
    per=$(awk -v m="$med" -v n="$N" 'BEGIN {printf "%.3f", 1000 * m / n}')
    wr=$(cut -d' ' -f5 "$f" | median | awk '{printf "%.1f", $1 * 512 / 1048576}')
    all=$(cut -d' ' -f1 "$f" | paste -sd' ')
    echo "| $c | $(label "$tool") | $med | $min | $cpu | $rss | $per | $wr | $all |"
  done
done
echo
echo "Paired ratios of wall time (median of the per-repetition ratios; median / median in brackets), and"
echo "what the store costs per task: the median of the per-repetition differences (store − nostore) / N."
echo
echo "| case | store / nostore | store / ninja | nostore / ninja | store cost, ms per task | store cost, CPU ms per task |"
echo "|---|---:|---:|---:|---:|---:|"
for c in "${cases[@]}"; do
  a=$work/t.$c.mex b=$work/t.$c.mex-nostore n=$work/t.$c.ninja
  ma=$(cut -d' ' -f1 "$a" | median) mb=$(cut -d' ' -f1 "$b" | median) mn=$(cut -d' ' -f1 "$n" | median)
  dwall=$(paste -d' ' "$a" "$b" | awk -v n="$N" '{printf "%.4f\n", 1000 * ($1 - $6) / n}' | median | awk '{printf "%.3f", $1}')
  dcpu=$(paste -d' ' "$a" "$b" | awk -v n="$N" '{printf "%.4f\n", 1000 * (($3 + $4) - ($8 + $9)) / n}' | median | awk '{printf "%.3f", $1}')
  echo "| $c | $(paired "$a" "$b" 1) ($(ratio "$ma" "$mb")) | $(paired "$a" "$n" 1) ($(ratio "$ma" "$mn")) | $(paired "$b" "$n" 1) ($(ratio "$mb" "$mn")) | $dwall | $dcpu |"
done
echo
echo "State folder after one run (the first repetition's), in KB; — means the file was not there after"
echo "the run. The folder size is \`du -sk\` (mostly the empty log file and folder of every task)."
echo
echo "| case | state.db | state.db-wal | state.db-shm | state folder, store | state folder, nostore |"
echo "|---|---:|---:|---:|---:|---:|"
for c in "${cases[@]}"; do
  read -r db wal shm du_on <"$work/size.$c.mex"
  read -r _ _ _ du_off <"$work/size.$c.mex-nostore"
  echo "| $c | $db | $wal | $shm | $du_on | $du_off |"
done
echo
echo "Cases: flat = $N tasks, no deps; layered = $LAYERS layers of $((N / LAYERS)), each task depending on 3"
echo "tasks of the layer before; every task is \`\"run\": \"true\"\` (a string, spawned without /bin/sh since issue 19; ninja runs"
echo "\`command = true\` through it). Each mex run has a fresh state folder; ninja's outputs are never created, so"
echo "every edge runs. Wall, CPU (including children), peak RSS and MB written come from"
echo "\`/usr/bin/time -f '%e %M %U %S %O'\`. %O is the file system outputs of the process and its"
echo "children, in 512-byte blocks, from the kernel's I/O accounting: the page-cache pages they dirtied,"
echo "file data and file system metadata (a nostore run of mex still dirties a directory block per task"
echo "for its log folder); not the bytes passed to write(). 1-minute load average at the start and after each repetition:"
echo "${loads[*]}. The full runs took ${full_elapsed} s."
echo

for c in "${cases[@]}"; do
  echo "\`mex -d stats run\` of one full run with the store, $c (ms):"
  echo
  echo '```'
  cat "$work/stats-full-$c/err"
  echo '```'
  echo
done

echo "### No-op runs: \`mex run\` on a finished, unchanged run vs ninja with nothing to do ($NOOP_RUNS runs each)"
echo
echo "| case | tool | median ms | min ms | CPU ms user+sys (median) | peak RSS MB | KB written (median; %O) | all runs ms |"
echo "|---|---|---:|---:|---:|---:|---:|---|"
for c in "${cases[@]}"; do
  for tool in mex ninja; do
    f=$work/noop.$c.$tool
    if [[ $tool == mex ]]; then lab="mex run (nothing to do)"; else lab="ninja -j$JOBS (nothing to do)"; fi
    med=$(cut -d' ' -f1 "$f" | median | awk '{printf "%.1f", $1}')
    min=$(cut -d' ' -f1 "$f" | minimum)
    cpu=$(awk '{printf "%.0f\n", 1000 * ($3 + $4)}' "$f" | median | awk '{printf "%.0f", $1}')
    rss=$(cut -d' ' -f2 "$f" | maximum | awk '{printf "%.0f", $1 / 1024}')
    wr=$(cut -d' ' -f5 "$f" | median | awk '{printf "%.0f", $1 * 512 / 1024}')
    all=$(cut -d' ' -f1 "$f" | awk '{printf "%.0f\n", $1}' | paste -sd' ')
    echo "| $c | $lab | $med | $min | $cpu | $rss | $wr | $all |"
  done
done
echo
echo "| case | mex / ninja (median / median) | paired (median of per-run ratios) | target: mex median < $NOOP_TARGET_MS ms for 10k tasks | met? |"
echo "|---|---:|---:|---|---|"
for c in "${cases[@]}"; do
  a=$work/noop.$c.mex n=$work/noop.$c.ninja
  ma=$(cut -d' ' -f1 "$a" | median) mn=$(cut -d' ' -f1 "$n" | median)
  if [[ $N == 10000 ]]; then
    met=$(awk -v m="$ma" -v t="$NOOP_TARGET_MS" 'BEGIN {print (m < t ? "yes" : "no")}')
  else
    met="— (N = $N, not 10000)"
  fi
  echo "| $c | $(ratio "$ma" "$mn") | $(paired "$a" "$n" 1) | $(awk -v m="$ma" 'BEGIN {printf "%.1f ms", m}') | $met |"
done
echo
echo "Each timed no-op is checked: mex exits 0 and says \"$N succeeded, 0 failed\", ninja says \"no work to"
echo "do\", and afterwards no task has a second attempt (logs/TASK/2.log). Before the timed runs, an"
echo "untimed \`mex run --json\` no-op printed no \`task_started\` event. ninja's build.ninja has"
echo "\`command = touch \$out\` and was built once in full first. Wall ms is measured around"
echo "\`/usr/bin/time\` with bash's EPOCHREALTIME (so it includes starting /usr/bin/time, about 1 ms);"
echo "CPU, RSS and KB written come from /usr/bin/time (CPU in steps of 10 ms). mex and ninja alternate,"
echo "in an order swapped from one run to the next. 1-minute load average at the start and after each"
echo "case: ${noop_loads[*]}. The no-op part took ${noop_elapsed} s, set-up included."
echo

for c in "${cases[@]}"; do
  echo "\`mex -d stats run\` of one no-op, $c (ms):"
  echo
  echo '```'
  cat "$work/noop-$c/stats-err"
  echo '```'
  echo
done

echo "mex built from $version; $(nproc) cores; ninja $(ninja --version); SQLite (libsqlite3-0) $(dpkg-query -W -f='${Version}' libsqlite3-0 2>/dev/null || echo '?');"
echo "file system of the work folder: $(df -T "$work" | awk 'NR == 2 {print $2}'); the whole script took $((SECONDS - script_start)) s."

#!/usr/bin/env bash
# Times `mex run` on N tasks of `true` (a flat DAG and a layered DAG, -j2; plus a flat DAG of the
# program /usr/bin/true, which the shell cannot run as a builtin) against its peers in the same run:
# `ninja -j2` on the equivalent build.ninja, `make -j2` on the equivalent Makefile and, for the flat
# DAG, GNU `parallel -j2`. mex runs each case twice: `"run": "CMD"` (a string: through /bin/sh -c like ninja before issue 19, spawned directly since, CMD having no shell syntax)
# and `"run": ["CMD"]` (no shell, like make). Prints Markdown tables on stdout; progress on stderr.
#
#   bench/run-exec.sh                  # after scripts/build.sh release
#   RUNS=7 N=10000 bench/run-exec.sh
#
# Environment: N (tasks, default 10000), LAYERS (layers of the layered DAG, default 100; N must be a
# multiple of it), RUNS (repetitions, default 5; every repetition runs every tool on every case, in
# an order rotated from one repetition to the next), STRACE_N (tasks of the flat DAG traced with
# `strace`, default 2000; 0 skips it; strace is used only when it is installed).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

N=${N:-10000}
LAYERS=${LAYERS:-100}
RUNS=${RUNS:-5}
STRACE_N=${STRACE_N:-2000}
JOBS=2

say() { echo "run-exec: $*" >&2; }

if ((N % LAYERS != 0 || N / LAYERS < 3)); then
  say "N=$N must be a multiple of LAYERS=$LAYERS, with at least 3 tasks per layer"
  exit 2
fi
if [[ ! -f build/build.ninja ]]; then
  say "no build/ tree: run scripts/build.sh release first"
  exit 2
fi
cmake --build build >&2
[[ -x build/mex ]] || { say "missing build/mex (run scripts/build.sh release)"; exit 2; }

# GNU time (package `time`) gives wall seconds and peak RSS; GNU parallel is package `parallel`.
missing=()
for pkg in time parallel; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done
if [[ ${#missing[@]} -gt 0 ]]; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    say "installing Debian's ${missing[*]}"
    apt-get install -y -qq "${missing[@]}" >&2 || { apt-get update -qq >&2 && apt-get install -y -qq "${missing[@]}" >&2; }
  else
    say "missing Debian packages: ${missing[*]} (sudo apt-get install ${missing[*]})"
    exit 2
  fi
fi
for exe in ninja make parallel /usr/bin/time; do
  command -v "$exe" >/dev/null || { say "missing $exe"; exit 2; }
done
# A make started from make would inherit the jobserver and flags of the outer one.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES GNUMAKEFLAGS || true

# Every run keeps its folder (a mex state folder is about 40 MB for 10k tasks) until the script
# exits. Deleting the 2N files and folders of mex runs made the next mex run 2.5-2.8x slower here:
# on this ext4 (no journal) the inode allocator then scans past every recently deleted inode
# (recently_deleted / find_inode_bit in `perf`), and mex creates a log folder and file per task.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Time a private copy, so a rebuild of build/ during the benchmark cannot mix two binaries.
cp build/mex "$work/mex"
mex=$work/mex
version=$(git -C "$root" describe --always --dirty 2>/dev/null || echo '?')
mkdir "$work/in" "$work/ptmp"
export TMPDIR=$work/ptmp  # GNU parallel's per-job buffer files

source bench/lib.sh
to_make() {  # $1: the command
  awk -v cmd="$1" '{ ids[NR] = $1; line[NR] = $0 }
    END {
      printf "all:"; for (i = 1; i <= NR; i++) printf " %s", ids[i]; print ""
      print ".PHONY: all"
      for (i = 1; i <= NR; i++) {
        k = split(line[i], f, " ")
        printf ".PHONY: %s\n%s:", f[1], f[1]
        for (j = 2; j <= k; j++) printf " %s", f[j]
        printf "\n\t@%s\n", cmd
      }
    }'
}

make_inputs() {  # shape tasks prefix command
  dag "$1" "$2" >"$work/in/$3.dag"
  to_mex "\"$4\"" <"$work/in/$3.dag" >"$work/in/$3.json"
  to_mex "[\"$4\"]" <"$work/in/$3.dag" >"$work/in/$3-argv.json"
  to_ninja "$4" <"$work/in/$3.dag" >"$work/in/$3.ninja"
  to_make "$4" <"$work/in/$3.dag" >"$work/in/$3.mk"
}

# `true` is a builtin of /bin/sh (dash), so `sh -c true` starts one program, like the argv form.
# flat-abs runs the program /usr/bin/true instead: the shell must then start it as well, which is
# what a real command costs through the shell.
abs_true=$(type -P true)
cases=(flat layered flat-abs)
cmd_for() { if [[ $1 == flat-abs ]]; then echo "$abs_true"; else echo true; fi; }
shape_for() { if [[ $1 == layered ]]; then echo layered; else echo flat; fi; }
for c in "${cases[@]}"; do make_inputs "$(shape_for "$c")" "$N" "$c" "$(cmd_for "$c")"; done

# Tools per case; GNU parallel only runs the flat case (it has no deps).
tools_for() {
  if [[ $1 == flat ]]; then echo "mex mex-argv ninja make parallel"; else echo "mex mex-argv ninja make"; fi
}
case_label() {
  case $1 in
    flat) echo 'flat, `true`' ;;
    layered) echo 'layered, `true`' ;;
    flat-abs) echo "flat, \`$abs_true\`" ;;
  esac
}
label() {  # tool case
  local cmd
  cmd=$(cmd_for "$2")
  case $1 in
    mex) echo "mex (\`\"run\": \"$cmd\"\`, a string: spawned without sh since issue 19)" ;;
    mex-argv) echo "mex (\`\"run\": [\"$cmd\"]\`, no shell)" ;;
    ninja) echo 'ninja -j2' ;;
    make) echo 'make -j2' ;;
    parallel) echo 'GNU parallel -j2' ;;
  esac
}

# Check once, untimed, that ninja and make would run N commands.
for c in "${cases[@]}"; do
  mkdir "$work/check" && cp "$work/in/$c.ninja" "$work/check/build.ninja"
  got=$(ninja -C "$work/check" -n -j "$JOBS" | grep -c '^\[')
  [[ $got == "$N" ]] || { say "ninja -n plans $got commands for $c, not $N"; exit 1; }
  got=$(cd "$work/check" && make -n -j "$JOBS" -f "$work/in/$c.mk" | grep -cFx "$(cmd_for "$c")")
  [[ $got == "$N" ]] || { say "make -n plans $got commands for $c, not $N"; exit 1; }
  rm -rf "$work/check"
done

seq_no=0
run_one() {  # case tool rep: one timed run, appends "wall rss_kb user sys" to $work/t.CASE.TOOL
  local c=$1 tool=$2 rep=$3 dir rc=0
  seq_no=$((seq_no + 1))
  dir=$work/run-$seq_no
  mkdir "$dir"
  local t=(/usr/bin/time -f '%e %M %U %S' -o "$work/one")
  nonzero() { [[ $rc != 0 ]] || rc=1; }
  case $tool in
    mex)
      "${t[@]}" "$mex" run "$work/in/$c.json" -j "$JOBS" --quiet --state-dir "$dir/state-$rep" \
        >"$dir/out" 2>&1 || rc=$?
      grep -q "$N succeeded, 0 failed" "$dir/out" || nonzero ;;
    mex-argv)
      "${t[@]}" "$mex" run "$work/in/$c-argv.json" -j "$JOBS" --quiet --state-dir "$dir/state-$rep" \
        >"$dir/out" 2>&1 || rc=$?
      grep -q "$N succeeded, 0 failed" "$dir/out" || nonzero ;;
    ninja)
      cp "$work/in/$c.ninja" "$dir/build.ninja"
      (cd "$dir" && "${t[@]}" ninja -j "$JOBS" --quiet -f build.ninja) >"$dir/out" 2>&1 || rc=$?
      # .ninja_log has a header line and one line per edge that ran.
      [[ $(($(wc -l <"$dir/.ninja_log") - 1)) == "$N" ]] || nonzero ;;
    make)
      (cd "$dir" && "${t[@]}" make -j "$JOBS" -s -f "$work/in/$c.mk") >"$dir/out" 2>&1 || rc=$? ;;
    parallel)
      seq "$N" | "${t[@]}" parallel -j "$JOBS" --will-cite true >"$dir/out" 2>&1 || rc=$? ;;
  esac
  if [[ $rc != 0 ]]; then
    say "$tool on $c failed (rc $rc):"; tail -n 5 "$dir/out" >&2; exit 1
  fi
  tail -n 1 "$work/one" >>"$work/t.$c.$tool"
}

start=$SECONDS
loads=()
loads+=("$(cut -d' ' -f1 /proc/loadavg)")
for ((rep = 0; rep < RUNS; rep++)); do
  for c in "${cases[@]}"; do
    read -r -a tools <<<"$(tools_for "$c")"
    k=${#tools[@]}
    for ((j = 0; j < k; j++)); do
      tool=${tools[$(((j + rep) % k))]}
      say "repetition $((rep + 1))/$RUNS, $c: $tool"
      run_one "$c" "$tool" "$rep"
    done
  done
  loads+=("$(cut -d' ' -f1 /proc/loadavg)")
done
elapsed=$((SECONDS - start))

echo "### Running $N tasks of \`true\` at -j$JOBS (wall time over $RUNS repetitions; peak RSS = max over runs)"
echo
echo "| case | tool | median s | min s | peak RSS MB | CPU s user+sys (median) | ms per task (median / N) | ratio to ninja (median / median) | paired ratio (median of per-repetition ratios) | all runs s |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"
for c in "${cases[@]}"; do
  nmed=$(cut -d' ' -f1 "$work/t.$c.ninja" | median)
  for tool in $(tools_for "$c"); do
    f=$work/t.$c.$tool
    med=$(cut -d' ' -f1 "$f" | median)
    min=$(cut -d' ' -f1 "$f" | minimum)
    rss=$(cut -d' ' -f2 "$f" | maximum | awk '{printf "%.0f", $1 / 1024}')
    cpu=$(awk '{printf "%.2f\n", $3 + $4}' "$f" | median)
    per=$(awk -v m="$med" -v n="$N" 'BEGIN {printf "%.3f", 1000 * m / n}')
    ratio=$(awk -v a="$med" -v b="$nmed" 'BEGIN {printf "%.2f", a / b}')
    paired=$(paste -d' ' "$f" "$work/t.$c.ninja" | awk '{printf "%.3f\n", $1 / $5}' | median |
      awk '{printf "%.2f", $1}')
    all=$(cut -d' ' -f1 "$f" | paste -sd' ')
    echo "| $(case_label "$c") | $(label "$tool" "$c") | $med | $min | $rss | $cpu | $per | $ratio | $paired | $all |"
  done
done
echo
echo "Tasks: flat = $N tasks, no deps; layered = $LAYERS layers of $((N / LAYERS)), each task depending on 3"
echo "tasks of the layer before. \`true\` is a builtin of /bin/sh; $abs_true is a program. 1-minute load average at the start and after each repetition: ${loads[*]}."
echo

# One `-d stats` run: how much of the in-process time is loading and checking the file.
dir=$work/stats
mkdir "$dir"
"$mex" -d stats run "$work/in/flat.json" -j "$JOBS" --quiet --state-dir "$dir/state" >"$dir/out" 2>&1 || true
echo "### \`mex -d stats run\` on the flat DAG (one run)"
echo
echo '```'
cat "$dir/out"
echo '```'
echo

# Syscalls per task: strace -c -w on the runner alone (calls and wall time spent in each syscall),
# and strace -c -f on the runner and its children (sh, true). strace slows every syscall down, so
# the times below are inflated; compare them between tools, not with the timed runs.
if [[ $STRACE_N -gt 0 ]] && command -v strace >/dev/null; then
  make_inputs flat "$STRACE_N" s true
  make_inputs flat "$STRACE_N" s-abs "$abs_true"
  trace() {  # name follow(0|1) command...
    local name=$1 follow=$2 dir=$work/strace-$1-$2
    shift 2
    mkdir "$dir"
    local f=(-w)
    [[ $follow == 1 ]] && f=(-f)
    (cd "$dir" && strace -c "${f[@]}" -o "$work/sc.$name.$follow" "$@") >/dev/null 2>&1
  }
  for follow in 0 1; do
    trace mex "$follow" "$mex" run "$work/in/s.json" -j "$JOBS" --quiet --state-dir "$work/strace-st-$follow-a"
    trace mex-argv "$follow" "$mex" run "$work/in/s-argv.json" -j "$JOBS" --quiet --state-dir "$work/strace-st-$follow-b"
    cp "$work/in/s.ninja" "$work/s-build.ninja"
    trace ninja "$follow" ninja -j "$JOBS" --quiet -f "$work/s-build.ninja"
    rm -f "$work/s-build.ninja"
    trace make "$follow" make -j "$JOBS" -s -f "$work/in/s.mk"
  done
  trace mex-abs 1 "$mex" run "$work/in/s-abs.json" -j "$JOBS" --quiet --state-dir "$work/strace-st-abs-a"
  trace mex-argv-abs 1 "$mex" run "$work/in/s-abs-argv.json" -j "$JOBS" --quiet --state-dir "$work/strace-st-abs-b"
  cp "$work/in/s-abs.ninja" "$work/s-abs-build.ninja"
  trace ninja-abs 1 ninja -j "$JOBS" --quiet -f "$work/s-abs-build.ninja"
  # "calls seconds name" of one strace -c table (the errors column may be empty).
  calls() { awk '$NF != "total" && $1 ~ /^[0-9.]+$/ && NF >= 5 { print $4, $2, $NF }' "$1"; }
  total() { awk '$NF == "total" { print $4, $2 }' "$1"; }
  tools=(mex mex-argv ninja make)
  echo "### Syscalls per task (\`strace\`, $STRACE_N flat tasks, -j$JOBS)"
  echo
  echo "The runner alone (\`strace -c -w\`): each cell is calls per task / µs of wall time per task spent"
  echo "in that syscall. Rows: every syscall made at least 0.5 times per task by one of the tools."
  echo
  echo "| syscall | mex (sh) | mex (argv) | ninja | make |"
  echo "|---|---:|---:|---:|---:|"
  names=$(for t in "${tools[@]}"; do calls "$work/sc.$t.0"; done |
    awk -v n="$STRACE_N" '$1 / n >= 0.5 { print $3 }' | sort -u)
  cell() {  # "calls seconds" -> "calls/task / µs/task"
    awk -v n="$STRACE_N" '{ c = $1; s = $2 } END { printf "%.2f / %.0f", c / n, 1e6 * s / n }'
  }
  for s in $names; do
    row="| $s"
    for t in "${tools[@]}"; do
      row+=" | $(calls "$work/sc.$t.0" | awk -v s="$s" '$3 == s { c = $1; t = $2 } END { print c + 0, t + 0 }' | cell)"
    done
    echo "$row |"
  done
  row="| **all syscalls**"
  for t in "${tools[@]}"; do row+=" | $(total "$work/sc.$t.0" | cell)"; done
  echo "$row |"
  echo
  echo "With the children (\`strace -c -f\`: runner + sh + the program), calls per task:"
  echo
  echo "| | mex (sh) | mex (argv) | ninja | make | mex (sh), $abs_true | mex (argv), $abs_true | ninja, $abs_true |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|"
  tools=(mex mex-argv ninja make mex-abs mex-argv-abs ninja-abs)
  row="| processes started (clone, clone3, fork, vfork)"
  for t in "${tools[@]}"; do
    row+=" | $(calls "$work/sc.$t.1" | awk -v n="$STRACE_N" '$3 ~ /^(clone|clone3|fork|vfork)$/ { c += $1 } END { printf "%.2f", c / n }')"
  done
  echo "$row |"
  row="| all syscalls"
  for t in "${tools[@]}"; do
    row+=" | $(total "$work/sc.$t.1" | awk -v n="$STRACE_N" '{ printf "%.1f", $1 / n }')"
  done
  echo "$row |"
  row="| execve"
  for t in "${tools[@]}"; do
    row+=" | $(calls "$work/sc.$t.1" | awk -v n="$STRACE_N" '$3 == "execve" { c = $1 } END { printf "%.2f", c / n }')"
  done
  echo "$row |"
  row="| execve that failed (ENOENT while searching PATH)"
  for t in "${tools[@]}"; do
    row+=" | $(awk -v n="$STRACE_N" '$NF == "execve" && NF == 6 { e = $5 } END { printf "%.2f", e / n }' "$work/sc.$t.1")"
  done
  echo "$row |"
  echo
  echo "PATH has $(tr ':' '\n' <<<"$PATH" | grep -c .) entries; \`true\` is $(type -P true); /bin/sh is $(readlink -f /bin/sh)."
  echo
else
  say "strace not installed (or STRACE_N=0): no syscall counts"
fi

echo "mex built from $version; $(nproc) cores; ninja $(ninja --version); $(make --version | head -n 1);"
echo "$(parallel --will-cite --version | head -n 1); time resolution 0.01 s; the timed part took ${elapsed} s"

#!/usr/bin/env bash
# What `workspace: worktree` costs per task (issue 16): on a generated repository the size of a
# real project (FILES files, MB MiB, one commit, packed), `mex run` of N tasks that each write one
# small file (`mkdir -p out && echo ID > out/ID.txt`, no deps) in `workspace: shared` against
# `workspace: worktree`, at each -j of JOBS; per-task overhead = (worktree wall - shared wall) / N.
# Peer, in the same repetitions: a plain loop of `git worktree add --detach` + the same edit +
# `git worktree remove --force` per task (`xargs -P J` for -j J), what any tool that gives each
# task a worktree of its own pays, with each step timed. Then one traced run of each -j (untimed:
# GIT_TRACE2 puts every git command mex runs, with its elapsed time, in a folder) for where the
# time goes, with the worktrees' disk use sampled while it runs and measured after it.
# Prints Markdown tables on stdout; progress on stderr.
#
#   bench/run-worktrees.sh                        # after scripts/build.sh release
#   N=10 RUNS=1 FILES=500 MB=20 bench/run-worktrees.sh   # a quick check
#
# Environment: N (tasks, default 20), JOBS (the -j values, default "1 4"), RUNS (repetitions,
# default 3; every repetition runs the three cases at every -j, in an order rotated from one
# repetition to the next), FILES (default 5000) and MB (default 200) for the repository, SAMPLE
# (seconds between two `du` of the worktrees in the traced runs, default 0.2), TASK_SLEEP (seconds
# each mex task sleeps before its edit, default 0: a task that outlives the second its worktree
# was checked out in, as an agent does; the peer never sleeps). The repository and
# every run's folder are in a `mktemp -d` folder (TMPDIR), removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

N=${N:-20}
JOBS=${JOBS:-"1 4"}
RUNS=${RUNS:-3}
FILES=${FILES:-5000}
MB=${MB:-200}
SAMPLE=${SAMPLE:-0.2}
TASK_SLEEP=${TASK_SLEEP:-0}
TARGET_S=0.5  # the target: worktree creation + commit + merge under 0.5 s per task

say() { echo "run-worktrees: $*" >&2; }

if ((N < 1 || RUNS < 1)); then
  say "N and RUNS must be at least 1"
  exit 2
fi
if [[ ! -f build/build.ninja ]]; then
  say "no build/ tree: run scripts/build.sh release first"
  exit 2
fi
cmake --build build --target mex gen_repo >&2
[[ -x build/mex && -x build/gen_repo ]] || { say "missing build/mex or build/gen_repo"; exit 2; }

# git (scripts/setup.sh installs it); GNU time (package `time`) gives wall and CPU seconds.
if ! dpkg-query -W -f='${Status}' time 2>/dev/null | grep -q 'install ok installed'; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    say "installing Debian's time"
    apt-get install -y -qq time >&2 || { apt-get update -qq >&2 && apt-get install -y -qq time >&2; }
  else
    say "missing Debian package: time (sudo apt-get install time)"
    exit 2
  fi
fi
for exe in git xargs du /usr/bin/time; do
  command -v "$exe" >/dev/null || { say "missing $exe"; exit 2; }
done

work=$(mktemp -d)
sampler=
cleanup() {
  if [[ -n $sampler ]]; then kill "$sampler" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT  # so that the EXIT trap removes the ~1 GB this makes
trap 'exit 143' TERM
# Time a private copy, so a rebuild of build/ during the benchmark cannot mix two binaries.
cp build/mex "$work/mex"
mex=$work/mex
version=$(git -C "$root" describe --always --dirty 2>/dev/null || echo '?')
say "timing a copy of build/mex built from $version; work folder $work"

source bench/lib.sh
now() { echo "${EPOCHREALTIME/,/.}"; }
loads=("$(cut -d' ' -f1 /proc/loadavg)")

# The repository: generated files, one commit with a fixed identity and date (so the same
# commit every time), packed as a clone would be. Nothing of the user's git configuration may
# change what git does here (hooks, fsmonitor, an untracked cache ...): a config of our own.
repo=$work/repo
export GIT_CONFIG_GLOBAL=$work/gitconfig GIT_CONFIG_NOSYSTEM=1
git config --file "$GIT_CONFIG_GLOBAL" user.name bench
git config --file "$GIT_CONFIG_GLOBAL" user.email bench@localhost
t0=$(now)
gen=$(build/gen_repo "$repo" "$FILES" "$MB")
git -C "$repo" init -q -b main
git -C "$repo" add --all
GIT_AUTHOR_DATE='2026-01-01T00:00:00Z' GIT_COMMITTER_DATE='2026-01-01T00:00:00Z' \
  git -C "$repo" commit -q -m 'generated project'
git -C "$repo" repack -adq
git -C "$repo" prune-packed
base=$(git -C "$repo" rev-parse HEAD)
say "repository: $gen; commit ${base:0:12}; made in $(awk -v a="$t0" -v b="$(now)" 'BEGIN {printf "%.1f", b - a}') s"
tree_kb=$(du -sk --exclude=.git "$repo" | cut -f1)
git_kb=$(du -sk "$repo/.git" | cut -f1)

# The milestones, in the repository's top folder (untracked: a worktree holds only what is
# committed, the task writes its own out/ folder).
for mode in shared worktree; do
  {
    echo "{\"defaults\": {\"workspace\": \"$mode\"}, \"tasks\": ["
    for ((i = 0; i < N; i++)); do
      ((i > 0)) && echo ","
      sleep=
      [[ $TASK_SLEEP != 0 ]] && sleep="sleep $TASK_SLEEP && "
      printf '{"id": "t%d", "run": "%smkdir -p out && echo t%d > out/t%d.txt"}' "$i" "$sleep" "$i" "$i"
    done
    echo "]}"
  } >"$repo/bench-$mode.json"
done

# The peer: one task's worktree by hand. Prints "add_s edit_s remove_s".
cat >"$work/plain.sh" <<'EOF'
#!/usr/bin/env bash
set -euo pipefail
repo=$1 path=$2 id=$3
now() { echo "${EPOCHREALTIME/,/.}"; }
a=$(now)
git -C "$repo" worktree add --detach --quiet "$path" HEAD
b=$(now)
mkdir -p "$path/out" && echo "$id" >"$path/out/$id.txt"
c=$(now)
git -C "$repo" worktree remove --force "$path"
d=$(now)
awk -v a="$a" -v b="$b" -v c="$c" -v d="$d" 'BEGIN {printf "%.4f %.4f %.4f\n", b - a, c - b, d - c}'
EOF
chmod +x "$work/plain.sh"

seq_no=0
# The integration branch a worktree run made (the one ref under mex/ that was not there before).
new_branch() { comm -13 <(sort "$1") <(git -C "$repo" for-each-ref --format='%(refname)' refs/heads/mex/ | sort); }

# Checks a finished worktree run: every task merged (all N files in the branch's tree), no
# worktree left on disk or in git's records. Appends "kb_after_run" to $work/after.J.
check_worktree_run() {  # jobs state_dir before_refs
  local j=$1 state=$2 branch files kb wts
  branch=$(new_branch "$3")
  [[ -n $branch ]] || { say "no integration branch after a worktree run"; exit 1; }
  files=$(git -C "$repo" ls-tree --name-only "$branch" out/ | wc -l)
  [[ $files == "$N" ]] || { say "$branch holds $files of $N files in out/"; exit 1; }
  kb=$(du -sk "$state"/runs/*/worktrees 2>/dev/null | awk '{s += $1} END {print s + 0}')
  wts=$(git -C "$repo" worktree list --porcelain | grep -c '^worktree ')
  [[ $wts == 1 ]] || { say "$((wts - 1)) worktrees left in git's records after a run"; exit 1; }
  echo "$kb" >>"$work/after.$j"
}

run_one() {  # case jobs rep: one timed run; appends "wall user sys" to $work/t.CASE.J
  local c=$1 j=$2 rep=$3 dir rc=0
  seq_no=$((seq_no + 1))
  dir=$work/run-$seq_no
  mkdir "$dir"
  local t=(/usr/bin/time -f '%e %U %S' -o "$dir/time")
  case $c in
    shared | worktree)
      git -C "$repo" for-each-ref --format='%(refname)' refs/heads/mex/ >"$dir/refs"
      "${t[@]}" "$mex" run "$repo/bench-$c.json" -j "$j" --quiet --state-dir "$dir/state" \
        >"$dir/out" 2>&1 || rc=$?
      grep -q "$N succeeded, 0 failed" "$dir/out" || { [[ $rc != 0 ]] || rc=1; } ;;
    plain)
      seq 0 $((N - 1)) | "${t[@]}" xargs -P "$j" -I{} "$work/plain.sh" "$repo" "$dir/wt{}" t{} \
        >"$dir/steps" 2>"$dir/out" || rc=$?
      [[ $(wc -l <"$dir/steps") == "$N" ]] || { [[ $rc != 0 ]] || rc=1; }
      cat "$dir/steps" >>"$work/steps.$j" ;;
  esac
  if [[ $rc != 0 ]]; then
    say "$c at -j$j failed (rc $rc):"; tail -n 5 "$dir/out" >&2; exit 1
  fi
  [[ $c == worktree ]] && check_worktree_run "$j" "$dir/state" "$dir/refs"
  tail -n 1 "$dir/time" >>"$work/t.$c.$j"
  say "  $c -j$j: $(cut -d' ' -f1 "$dir/time") s"
}

cases=(shared worktree plain)
start=$SECONDS
for ((rep = 0; rep < RUNS; rep++)); do
  for j in $JOBS; do
    for ((k = 0; k < ${#cases[@]}; k++)); do
      c=${cases[$(((k + rep) % ${#cases[@]}))]}
      say "repetition $((rep + 1))/$RUNS, -j$j: $c"
      run_one "$c" "$j" "$rep"
    done
  done
  loads+=("$(cut -d' ' -f1 /proc/loadavg)")
done
elapsed=$((SECONDS - start))

# One traced worktree run per -j: every git command mex runs writes its trace (GIT_TRACE2, a
# folder: one file per git process) and `du` samples the worktrees every SAMPLE seconds.
traced() {  # jobs
  local j=$1 dir
  dir=$work/traced-$j
  mkdir -p "$dir/trace"
  git -C "$repo" for-each-ref --format='%(refname)' refs/heads/mex/ >"$dir/refs"
  (
    set +e +o pipefail  # before the run makes its folder, du finds nothing: 0
    while :; do
      du -sk "$dir"/state/runs/*/worktrees 2>/dev/null | awk '{s += $1} END {print s + 0}'
      # How many worktrees git records beside the repository's own: a worktree that mex moves
      # (to reuse it) while du walks the folder can be counted twice by du, never by git.
      git -C "$repo" worktree list --porcelain | grep -c '^worktree ' | awk '{print $1 - 1}' >&3
      sleep "$SAMPLE"
    done
  ) >"$dir/du" 3>"$dir/count" &
  sampler=$!
  local a b rc=0
  a=$(now)
  GIT_TRACE2=$dir/trace /usr/bin/time -f '%U %S' -o "$dir/cpu" "$mex" run \
    "$repo/bench-worktree.json" -j "$j" --quiet --state-dir "$dir/state" >"$dir/out" 2>&1 || rc=$?
  b=$(now)
  kill "$sampler" 2>/dev/null || true
  wait "$sampler" 2>/dev/null || true
  sampler=
  if [[ $rc != 0 ]] || ! grep -q "$N succeeded, 0 failed" "$dir/out"; then
    say "traced run at -j$j failed"; tail -n 5 "$dir/out" >&2; exit 1
  fi
  check_worktree_run "$j.traced" "$dir/state" "$dir/refs"
  awk -v a="$a" -v b="$b" 'BEGIN {printf "%.2f\n", b - a}' >"$dir/wall"
  # "top|child<TAB>command<TAB>elapsed" per git process: top, a command mex started itself (its
  # argv has mex's `-c core.hooksPath=/dev/null`), named by its first word or two; child, one
  # that git started (such as the `reset --hard` of `worktree add`: part of its parent's time),
  # named by git's hierarchy (worktree/reset).
  for f in "$dir"/trace/*; do
    awk '/ start / { if (/core.hooksPath=\/dev\/null/) {
             for (i = 1; i <= NF; i++) if ($i == "core.hooksPath=/dev/null") {
               if ($(i + 1) == "-c") i += 2  # the -c NAME=VALUE that mex puts before the command
               c = $(i + 1); s = $(i + 2); break }
             if (c == "worktree" || c == "merge-base" || c == "diff" || c == "merge-tree") c = c " " s
             kind = "top" } }
         / cmd_name / && kind == "" { kind = "child"; c = $NF; gsub(/[()]/, "", c) }
         / exit elapsed:/ { for (i = 1; i <= NF; i++) if ($i ~ /^elapsed:/) { sub(/elapsed:/, "", $i); e = $i }
           if (kind != "") print kind "\t" c "\t" e; exit }' "$f"
  done >"$dir/git.tsv"
}
for j in $JOBS; do
  say "traced run at -j$j"
  traced "$j"
done
loads+=("$(cut -d' ' -f1 /proc/loadavg)")

# One worktree's size on disk (its files and git's admin folder for it, the index mostly).
git -C "$repo" worktree add --detach --quiet "$work/one" HEAD
one_kb=$(du -sk "$work/one" | cut -f1)
admin_kb=$(du -sk "$repo/.git/worktrees/one" | cut -f1)
git -C "$repo" worktree remove --force "$work/one"
git_after_kb=$(du -sk "$repo/.git" | cut -f1)

f3() { awk '{printf "%.3f", $1}'; }
task='`mkdir -p out && echo ID > out/ID.txt`'
[[ $TASK_SLEEP != 0 ]] && task="\`sleep $TASK_SLEEP\`, then $task"
echo "### \`workspace: worktree\` against \`shared\`: $N tasks, each $task ($RUNS repetitions)"
echo
echo "| -j | case | median s | min s | all runs s | CPU s (median) | s per task | overhead per task s | × plain | CPU overhead per task s |"
echo "|---:|---|---:|---:|---|---:|---:|---:|---:|---:|"
for j in $JOBS; do
  smed=$(cut -d' ' -f1 "$work/t.shared.$j" | median)
  scpu=$(awk '{printf "%.2f\n", $2 + $3}' "$work/t.shared.$j" | median)
  pmed=$(cut -d' ' -f1 "$work/t.plain.$j" | median)
  for c in "${cases[@]}"; do
    f=$work/t.$c.$j
    med=$(cut -d' ' -f1 "$f" | median)
    min=$(cut -d' ' -f1 "$f" | minimum)
    all=$(cut -d' ' -f1 "$f" | paste -sd' ')
    cpu=$(awk '{printf "%.2f\n", $2 + $3}' "$f" | median)
    per=$(awk -v m="$med" -v n="$N" 'BEGIN {printf "%.3f", m / n}')
    case $c in
      shared) label='mex run, `workspace: shared`'; over='—'; ratio='—'; cover='—' ;;
      worktree)
        label='mex run, `workspace: worktree`'
        over=$(awk -v a="$med" -v b="$smed" -v n="$N" 'BEGIN {printf "%.3f", (a - b) / n}')
        ratio=$(awk -v a="$med" -v b="$smed" -v p="$pmed" 'BEGIN {printf "%.2f", (a - b) / p}')
        cover=$(awk -v a="$cpu" -v b="$scpu" -v n="$N" 'BEGIN {printf "%.3f", (a - b) / n}') ;;
      plain)
        label="peer: \`git worktree add\` + edit + \`git worktree remove\` (xargs -P $j)"
        over=$per; ratio='1'; cover=$(awk -v a="$cpu" -v n="$N" 'BEGIN {printf "%.3f", a / n}') ;;
    esac
    echo "| $j | $label | $med | $min | $all | $cpu | $per | $over | $ratio | $cover |"
  done
done
echo
echo "Overhead per task: (worktree median − shared median) / N for mex; the peer's whole time / N"
echo "(its edit costs nothing). × plain: that overhead over the peer's. CPU: user + sys of mex (or"
echo "xargs) and every process it waited for, git included. Paired (median over the"
echo "repetitions of (worktree − shared) / N): $(for j in $JOBS; do
  paste -d' ' "$work/t.worktree.$j" "$work/t.shared.$j" |
    awk -v n="$N" '{printf "%.4f\n", ($1 - $4) / n}' | median | awk -v j="$j" '{printf "-j%s %.3f s; ", j, $1}'
done)target: under $TARGET_S s."
echo

echo "### The peer's steps (every task of every repetition; seconds)"
echo
echo "| -j | step | median | min | max | first 3 tasks of a run vs last 3 |"
echo "|---:|---|---:|---:|---:|---|"
for j in $JOBS; do
  for s in 1 3; do
    name=$([[ $s == 1 ]] && echo '`git worktree add --detach`' || echo '`git worktree remove --force`')
    col=$(cut -d' ' -f$s "$work/steps.$j")
    # Runs are in order in the file, N lines each.
    firstlast=$(cut -d' ' -f$s "$work/steps.$j" | awk -v n="$N" '{ k = (NR - 1) % n
        if (k < 3) f[++nf] = $1; if (k >= n - 3) l[++nl] = $1 }
      END { for (i = 1; i <= nf; i++) sf += f[i]; for (i = 1; i <= nl; i++) sl += l[i]
        printf "%.3f vs %.3f", sf / nf, sl / nl }')
    echo "| $j | $name | $(median <<<"$col" | f3) | $(minimum <<<"$col" | f3) | $(maximum <<<"$col" | f3) | $firstlast |"
  done
done
echo

echo "### Where a traced worktree run's time goes (GIT_TRACE2: the git commands mex ran)"
echo
echo "| -j | git command | calls | median s per call | total s | s per task |"
echo "|---:|---|---:|---:|---:|---:|"
for j in $JOBS; do
  g=$work/traced-$j/git.tsv
  for kind in top child; do
    while IFS= read -r name; do
      vals=$(awk -F'\t' -v k="$kind" -v c="$name" '$1 == k && $2 == c {print $3}' "$g")
      calls=$(wc -l <<<"$vals")
      total=$(awk '{s += $1} END {printf "%.2f", s}' <<<"$vals")
      label="\`git $name\`"
      [[ $kind == child ]] && label="… of which git's own child \`$name\`"
      echo "| $j | $label | $calls | $(median <<<"$vals" | f3) | $total | $(awk -v t="$total" -v n="$N" 'BEGIN {printf "%.3f", t / n}') |"
    done < <(awk -F'\t' -v k="$kind" '$1 == k {print $2}' "$g" | sort -u)
  done
  gsum=$(awk -F'\t' '$1 == "top" {s += $3} END {printf "%.2f", s}' "$g")
  wall=$(cat "$work/traced-$j/wall")
  echo "| $j | **all git commands mex ran** | $(grep -c '^top' "$g") | | $gsum | $(awk -v t="$gsum" -v n="$N" 'BEGIN {printf "%.3f", t / n}') |"
  echo "| $j | the traced run's wall time | | | $wall | $(awk -v t="$wall" -v n="$N" 'BEGIN {printf "%.3f", t / n}') |"
  read -r u sy < <(tail -n 1 "$work/traced-$j/cpu")
  echo "| $j | the traced run's CPU, user / sys (mex and every git) | | | $u / $sy | $(awk -v u="$u" -v s="$sy" -v n="$N" 'BEGIN {printf "%.3f / %.3f", u / n, s / n}') |"
done
echo

echo "### Disk"
echo
echo "| | KB |"
echo "|---|---:|"
echo "| the repository's files (without .git) | $tree_kb |"
echo "| .git after the commit, packed | $git_kb |"
echo "| one worktree's files | $one_kb |"
echo "| git's admin folder for one worktree (.git/worktrees/NAME: its index) | $admin_kb |"
for j in $JOBS; do
  peak=$(maximum <"$work/traced-$j/du")
  samples=$(wc -l <"$work/traced-$j/du")
  echo "| worktrees folder of the run, -j$j, peak of $samples samples while it ran (du) | $peak |"
  echo "| worktrees at once, -j$j, most in those samples (git worktree list; a count, not KB) | $(maximum <"$work/traced-$j/count") |"
  echo "| worktrees folder of the run, -j$j, after each run (timed runs, then the traced one) | $(cat "$work/after.$j" "$work/after.$j.traced" | paste -sd' ') |"
done
echo "| .git after every run (each run's branch and commits kept) | $git_after_kb |"
echo

echo "$gen; commit ${base:0:12}. mex built from $version; $(git --version); $(nproc) cores;"
echo "$(uname -sr); work folder on $(df -PT "$work" | awk 'NR == 2 {print $2}'). 1-minute load average at the start, after each repetition and after the traced runs: ${loads[*]}."
echo "The timed part took ${elapsed} s."

#!/usr/bin/env bash
# Makes a git repository of project/ in a private temporary folder and runs milestone.yaml there:
#   examples/worktrees/run.sh [--keep]     (mex from $MEX, else build/mex of this checkout)
# Prints mex's plan and run, then the history of the run's branch; --keep leaves the folder.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mex=${MEX:-$here/../../build/mex}
keep=${1:-}
dir=$(mktemp -d)
[ "$keep" = --keep ] || trap 'rm -rf "$dir"' EXIT
cp -R "$here/project/." "$dir/"
cp "$here/milestone.yaml" "$here/coder" "$dir/"
printf '.mex/\n' > "$dir/.gitignore"
export GIT_AUTHOR_NAME=you GIT_AUTHOR_EMAIL=you@example.com
export GIT_COMMITTER_NAME=you GIT_COMMITTER_EMAIL=you@example.com
git -C "$dir" init -q -b main
git -C "$dir" add -A
git -C "$dir" commit -qm "calc without operations"
cd "$dir"
"$mex" plan milestone.yaml | sed -n '/predicted conflicts/,$p'
echo
rc=0
"$mex" run milestone.yaml || rc=$?
echo
branch=$(git for-each-ref --format='%(refname:short)' refs/heads/mex/)
git log --graph --format='%h %s (%an)' "$branch"
echo
echo "README.md on $branch:"
git show "$branch:README.md" | tail -1
[ "$keep" = --keep ] && echo "kept: $dir"
exit "$rc"

#!/usr/bin/env bash
# Installs the agent CLIs the real-agent tests run, at the versions they were measured with, into a
# cache outside the source tree: $1, else $MEX_AGENT_CLIS/.., else
# ${XDG_CACHE_HOME:-$HOME/.cache}/mex/agent-clis. A second call is a no-op. Prints the folder
# that holds claude, codex and gemini (its bin/, where tests/real_agents looks for them).
#
# Pinned: the exit codes, JSON fields and retry defaults the presets read change between versions,
# and claude-code 2.1.198 and later want node >= 22.
set -euo pipefail
if [[ -n ${MEX_AGENT_CLIS:-} ]]; then default=$MEX_AGENT_CLIS/..; else
  default=${XDG_CACHE_HOME:-$HOME/.cache}/mex/agent-clis
fi
cache=${1:-$default}
clis=("claude @anthropic-ai/claude-code@2.1.197"
  "codex @openai/codex@0.171.0"
  "gemini @google/gemini-cli@0.61.0")

command -v npm >/dev/null || {
  echo "install-agent-clis: npm is not installed (scripts/setup.sh installs it)" >&2
  exit 1
}
mkdir -p "$cache/bin"
cache=$(cd "$cache" && pwd -P)
exec 9>"$cache/.lock" # two test runs at once: the second waits for the first
flock 9

for entry in "${clis[@]}"; do
  read -r name spec <<<"$entry"
  prefix=$cache/$name
  stamp=$prefix/.installed
  if [[ -f $stamp && $(<"$stamp") == "$spec" && -x $cache/bin/$name ]]; then continue; fi
  echo "install-agent-clis: npm install $spec" >&2
  rm -rf "$prefix" "$cache/.new-$name".*
  staging=$(mktemp -d "$cache/.new-$name.XXXXXX")
  # The native binaries of claude and codex come as optional dependencies; claude's postinstall
  # links its binary in place of a stub.
  if ! npm install --prefix "$staging" --no-audit --no-fund --no-save --include=optional \
    "$spec" >"$staging/npm.log" 2>&1; then
    cat "$staging/npm.log" >&2
    exit 1
  fi
  chmod 755 "$staging"
  mv "$staging" "$prefix"
  ln -sfn "../$name/node_modules/.bin/$name" "$cache/bin/$name"
  printf '%s\n' "$spec" >"$stamp"
done
echo "$cache/bin"

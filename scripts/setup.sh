#!/usr/bin/env bash
# Installs what mex needs to build and test, from Debian's packages. A no-op when all is there.
set -euo pipefail
packages=(build-essential cmake ninja-build pkg-config
  libyaml-cpp-dev libsimdjson-dev nlohmann-json3-dev libcli11-dev libfmt-dev libsqlite3-dev
  libsqlitecpp-dev libxxhash-dev libre2-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev # the fuzz targets: clang, and libFuzzer with the sanitizers' runtimes
  python3 iproute2 git # tests/real_agents: the fake model server, lo in a namespace, codex
  graphviz # tests/terminal_test: dot reads back what `mex graph` writes
  tmux # tests/live_test: the live view on a terminal of fixed size
  go-md2man # the man page, docs/mex.1.md made into mex.1
  zsh fish man-db # tests/install_test: each shell loads its completion script; man reads mex.1
  chromium-headless-shell # tests/report_html_test: the HTML report opened, its DOM read back
  cmark # tests/report_test: the Markdown report read by a CommonMark parser
  slurm-wlm munge # tests/slurm: a one-node Slurm cluster (scripts/slurm-local.sh starts it)
  slurmdbd mariadb-server # its accounting (tests/slurm/slurm_accounting_test.cc)
  python3-jsonschema) # tests/report_test: the Chrome trace checked against tests/trace.schema.json
# node and npm install the agent CLIs; a machine may have them from elsewhere than Debian.
if ! command -v npm >/dev/null; then packages+=(nodejs npm); fi
if [[ "${1:-}" == "--bench" ]]; then packages+=(parallel make time); fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
((${#missing[@]} == 0)) && exit 0
sudo=()
if ((EUID != 0)); then sudo=(sudo); fi
echo "setup: installing ${missing[*]}" >&2
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"

#!/bin/sh
# calc.sh OP A B: a tiny calculator whose operations live in ops/OP.sh.
set -eu
here=$(dirname "$0")
op=$1
shift
case "$op" in
  # dispatch: each operation of ops/ is named here
  *) ;;
esac
if [ ! -f "$here/ops/$op.sh" ]; then
  echo "calc: unknown operation $op" >&2
  exit 2
fi
. "$here/ops/$op.sh"
"op_$op" "$@"

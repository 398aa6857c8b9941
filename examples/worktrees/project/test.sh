#!/bin/sh
# Runs every test of tests/ (lines "OP A B = RESULT") against calc.sh; fails on the first wrong one.
set -eu
cd "$(dirname "$0")"
count=0
for file in tests/*.test; do
  [ -e "$file" ] || continue
  while read -r op a b eq want; do
    got=$(sh calc.sh "$op" "$a" "$b")
    if [ "$got" != "$want" ]; then
      echo "FAIL $file: $op $a $b gave $got, expected $want"
      exit 1
    fi
    count=$((count + 1))
  done < "$file"
done
echo "ok: $count checks"

# shellcheck shell=bash
# Shared by the benchmark scripts (sourced, not run): statistics over a column of numbers, and the
# generated DAGs in the formats of mex and ninja. dag() reads LAYERS.

median() { sort -g | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
minimum() { sort -g | head -n 1; }
maximum() { sort -g | tail -n 1; }

# The DAG as "ID DEP DEP ..." lines. flat: no deps. layered: LAYERS layers of
# W = N/LAYERS tasks; task p of layer L > 0 depends on tasks p, p + W/3 and p + 2W/3 (mod W) of
# layer L - 1.
dag() {
  awk -v n="$2" -v layers="$LAYERS" -v shape="$1" 'BEGIN {
    w = n / layers; a = int(w / 3); b = int(2 * w / 3)
    for (i = 0; i < n; i++) {
      line = "t" i
      if (shape == "layered" && i >= w) {
        prev = (int(i / w) - 1) * w; p = i % w
        line = line " t" (prev + p) " t" (prev + (p + a) % w) " t" (prev + (p + b) % w)
      }
      print line
    }
  }'
}
# mex JSON; $1 is the JSON value of "run".
to_mex() {
  awk -v run="$1" 'BEGIN { print "{\"tasks\": [" }
    { if (NR > 1) print ","
      deps = ""
      for (i = 2; i <= NF; i++) deps = deps (i > 2 ? ", " : "") "\"" $i "\""
      printf "{\"id\": \"%s\", \"run\": %s, \"deps\": [%s]}", $1, run, deps }
    END { print "\n]}" }'
}
# One edge per task, the deps as implicit inputs; $1 is the command. With `true` the outputs are
# never created, so every edge runs; with `touch $out` a second build has nothing to do.
to_ninja() {
  awk -v cmd="$1" 'BEGIN { print "rule r\n  command = " cmd }
    { line = "build " $1 ": r"
      if (NF > 1) { line = line " |"; for (i = 2; i <= NF; i++) line = line " " $i }
      print line }'
}

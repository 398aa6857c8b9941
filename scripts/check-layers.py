#!/usr/bin/env python3
"""Checks the #include lines of src/ against the layer table src/LAYERS.

    scripts/check-layers.py [--src DIR] [--libs DIR] [--graph] [--stamp FILE]

Each line of LAYERS names a layer (a folder of src/, or `main` for the files directly in src/)
and what its code may include besides its own files: whole layers, or single headers
("engine/executor.h"). Every `#include "X/..."` of a file that is not a test (*_test.cc) must
name its own folder or an allowed layer or header; X must be a layer of the table, and so must
every folder of src/. With --libs, the libraries the build made there (libmex_LAYER.a) are read
too (nm): a function a layer calls must be defined in that layer or one it may include, which
catches a function declared in one layer's header and defined in another's file. Prints one
line per broken rule, FILE:LINE: ..., and exits 1; exits 0 when there is none (and touches
--stamp, for the build). --graph prints how many includes go from each layer to each other,
instead.
"""

import argparse
import collections
import os
import re
import subprocess
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')


def read_table(path):
    """{layer: (allowed layers, allowed headers)} in the file's order, or exits 2."""
    table = {}
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            words = line.split("#", 1)[0].split()
            if not words:
                continue
            layer, allowed = words[0], words[1:]
            if layer in table:
                sys.exit(f"{path}:{number}: layer '{layer}' is listed twice")
            for name in allowed:
                if name.split("/", 1)[0] not in table:
                    sys.exit(f"{path}:{number}: '{name}' is not a layer listed above '{layer}'")
            table[layer] = ({a for a in allowed if "/" not in a}, {a for a in allowed if "/" in a})
    return table


def layer_of(src, path):
    relative = os.path.relpath(path, src)
    return relative.split(os.sep, 1)[0] if os.sep in relative else "main"


def sources(src):
    for root, dirs, names in os.walk(src):
        dirs.sort()
        for name in sorted(names):
            if name.endswith((".h", ".cc")):
                yield os.path.join(root, name)


def symbol_problems(table, libs):
    """What each layer's library calls of mex that a layer it may not use defines."""
    defined, used = {}, {}
    for layer in table:  # lowest first: a weak (inline) definition counts where it is lowest
        path = os.path.join(libs, f"libmex_{layer}.a")
        if not os.path.exists(path):
            continue
        out = subprocess.run(["nm", "-g", "-C", path], capture_output=True, text=True,
                             check=True).stdout
        used[layer] = set()
        for line in out.splitlines():
            fields = line.split(None, 2) if line[:1].strip() else ["", *line.split(None, 1)]
            if len(fields) < 3 or "mex::" not in fields[2].split("(")[0]:
                continue
            kind, symbol = fields[1], fields[2]
            if kind == "U":
                used[layer].add(symbol)
            elif kind in "TDBRVW":
                defined.setdefault(symbol, layer)
    problems = []
    for layer, symbols in used.items():
        layers = table[layer][0] | {h.split("/", 1)[0] for h in table[layer][1]}
        for symbol in sorted(symbols):
            owner = defined.get(symbol)
            if owner is not None and owner != layer and owner not in layers:
                problems.append(f"libmex_{layer}.a: {layer} calls {symbol}, defined in {owner}, "
                                f"which {layer} may not use")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--src", default=os.path.join(here, "..", "src"))
    parser.add_argument("--libs", help="the build folder with the libmex_LAYER.a files")
    parser.add_argument("--graph", action="store_true")
    parser.add_argument("--stamp")
    args = parser.parse_args()
    src = os.path.normpath(args.src)
    table_path = os.path.join(src, "LAYERS")
    table = read_table(table_path)

    def shown(path):  # as the repository names it: src/engine/session.cc
        return os.path.relpath(path, os.path.dirname(src))

    problems = []
    for entry in sorted(os.listdir(src)):
        if os.path.isdir(os.path.join(src, entry)) and entry not in table:
            problems.append(f"{shown(os.path.join(src, entry))}: the folder is not a layer of "
                            f"{shown(table_path)}")
    edges = collections.Counter()
    for path in sources(src):
        layer = layer_of(src, path)
        if layer not in table:
            continue  # reported above
        test = path.endswith("_test.cc")
        layers, headers = table[layer]
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                match = INCLUDE.match(line)
                if not match:
                    continue
                header = match.group(1)
                if "/" not in header:
                    continue  # a header the build generates (demo_agent_bytes.h)
                target = header.split("/", 1)[0]
                if target == layer or test:
                    continue
                edges[(layer, target)] += 1
                if target not in table:
                    problems.append(f"{shown(path)}:{number}: includes {header}: '{target}' is not "
                                    f"a layer of {shown(table_path)}")
                elif target not in layers and header not in headers:
                    allowed = " ".join(sorted(layers | headers)) or "nothing"
                    problems.append(f"{shown(path)}:{number}: includes {header}, against the "
                                    f"layers: {layer} may include {allowed} ({shown(table_path)})")

    if args.libs:
        problems += symbol_problems(table, args.libs)

    if args.graph:
        for (a, b), count in sorted(edges.items(), key=lambda e: (list(table).index(e[0][0]),
                                                                    e[0][1])):
            print(f"{a:9} -> {b:9} {count}")
        return 0
    for problem in problems:
        print(problem)
    if problems:
        return 1
    if args.stamp:
        with open(args.stamp, "w", encoding="utf-8"):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Builds the seed corpus and the dictionary of each fuzz target from files of the tree.

    fuzz/make_corpus.py OUT        (scripts/fuzz.sh runs it with OUT = build-fuzz/fuzz)

writes OUT/seeds/TARGET/ (a file per seed, named for where it came from; made anew each time) and
OUT/TARGET.dict (libFuzzer's dictionary format). Nothing is downloaded. The inputs that once broke
a target, fuzz/regressions/TARGET/, are seeds too, so every run tries them first.
"""
import ast
import glob
import os
import re
import shutil
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAX_SEED_BYTES = 1 << 20


def read(path):
    with open(os.path.join(ROOT, path), "rb") as f:
        return f.read()


def files(*patterns):
    out = []
    for pattern in patterns:
        out += sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, pattern)))
    return out


# --- text taken out of the tree's files ---------------------------------------------------------

SIMPLE_ESCAPES = {"n": b"\n", "t": b"\t", "r": b"\r", "0": b"\0", "\\": b"\\", '"': b'"',
                  "'": b"'", "?": b"?", "a": b"\a", "b": b"\b", "f": b"\f", "v": b"\v"}


def unescape_cxx(body):
    """The bytes of an ordinary C++ string literal's body."""
    out = bytearray()
    i = 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out += c.encode()
            i += 1
            continue
        e = body[i + 1]
        if e == "x":
            m = re.match(r"[0-9a-fA-F]+", body[i + 2:])
            out.append(int(m.group(0), 16) & 0xFF)
            i += 2 + len(m.group(0))
        elif e in "uU":
            n = 4 if e == "u" else 8
            out += chr(int(body[i + 2:i + 2 + n], 16)).encode()
            i += 2 + n
        elif e in "01234567":
            m = re.match(r"[0-7]{1,3}", body[i + 1:])
            out.append(int(m.group(0), 8) & 0xFF)
            i += 1 + len(m.group(0))
        else:
            out += SIMPLE_ESCAPES.get(e, e.encode())
            i += 2
    return bytes(out)


def cxx_literals(path):
    """Each run of adjacent string literals of a C++ file ("a" R"(b)" is "ab"), as bytes: the
    documents the unit tests write inline, whole or in the pieces they assemble."""
    text = read(path).decode()
    groups, current = [], None
    i = 0
    while i < len(text):
        c = text[i]
        if text.startswith("//", i):
            i = text.find("\n", i)
            i = len(text) if i < 0 else i
        elif text.startswith("/*", i):
            i = text.index("*/", i) + 2
        elif c == "'":  # a character literal
            m = re.compile(r"'(\\.|[^'\\])*'").match(text, i)
            i = m.end() if m else i + 1
        elif c == "R" and text.startswith('R"', i) and not (text[i - 1].isalnum() or text[i - 1] == "_"):
            open_paren = text.index("(", i)
            delimiter = ")" + text[i + 2:open_paren] + '"'
            end = text.index(delimiter, open_paren)
            piece = text[open_paren + 1:end].encode()
            current = (current or b"") + piece
            i = end + len(delimiter)
            continue
        elif c == '"':
            m = re.compile(r'"((\\.|[^"\\])*)"').match(text, i)
            current = (current or b"") + unescape_cxx(m.group(1))
            i = m.end()
            continue
        elif c.isspace():
            i += 1
            continue
        else:
            i += 1
        if current is not None:
            groups.append(current)
            current = None
    if current is not None:
        groups.append(current)
    return groups


def markdown_blocks(path, languages):
    """The fenced code blocks of a Markdown file written in one of `languages`."""
    return [m.group(2).encode() for m in
            re.finditer(r"^```(\w*)\n(.*?)^```", read(path).decode(), re.M | re.S)
            if m.group(1) in languages]


def markdown_spans(path):
    return [m.group(1) for m in re.finditer(r"`([^`\n]+)`", read(path).decode())]


def heredocs(path, marker):
    """The bodies of the shell here-documents <<'MARKER' of a script."""
    return [m.group(1).encode() for m in
            re.finditer(r"<<'%s'\n(.*?)^%s$" % (marker, marker), read(path).decode(), re.M | re.S)]


def python_strings(path):
    """Every string constant of a Python file."""
    tree = ast.parse(read(path).decode())
    return [node.value.encode() for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)]


def printf_outputs(path):
    """What each run of consecutive `printf '...'` lines of a shell script prints (%s as 0.01)."""
    outputs, current, last_line = [], b"", -2
    for number, line in enumerate(read(path).decode().splitlines()):
        m = re.match(r"\s*printf '([^']*)'", line)
        if not m:
            continue
        if number != last_line + 1 and current:
            outputs.append(current)
            current = b""
        current += m.group(1).replace("%s", "0.01").replace("\\n", "\n").encode()
        last_line = number
    if current:
        outputs.append(current)
    return outputs


def named(path, texts):
    """`texts` taken from `path`, each named for it: src/load/loader_test.cc's third is
    src-load-loader_test.cc-3."""
    slug = path.replace("/", "-")
    if len(texts) == 1:
        return [(slug, texts[0])]
    return [(f"{slug}-{n}", t) for n, t in enumerate(texts, 1)]


def looks_like_json(text):
    return text.lstrip().startswith((b"{", b"["))


# --- the seeds of each target: (name, bytes) -----------------------------------------------------

def milestone_documents():
    """Every milestone of the tree: fixtures, examples, docs, and the tests' inline ones."""
    docs = []
    for path in files("tests/fixtures/good/*", "tests/fixtures/bad/*",
                      "examples/quickstart/milestone.yaml", "examples/dag/*.json"):
        if not path.endswith(".expected"):
            docs += named(path, [read(path)])
    for path in files("docs/*.md"):
        docs += named(path, markdown_blocks(path, {"yaml", "json"}))
    for path in files("src/model/*_test.cc", "src/load/*_test.cc", "tests/*_test.cc", "src/flow/kiro_template.cc"):
        docs += named(path, [t for t in cxx_literals(path)
                             if b"tasks" in t or b"phases" in t or b"milestone" in t])
    return docs


def agent_logs():
    """Logs of claude, codex and gemini as the unit tests, the fake claude and docs/agents.md
    show them."""
    logs = []
    for path in files("src/agents/agent_test_util.h", "src/agents/*_test.cc"):
        logs += named(path, cxx_literals(path))
    logs += named("tests/agents/fake-claude/claude", printf_outputs("tests/agents/fake-claude/claude"))
    logs += named("docs/agents.md", markdown_blocks("docs/agents.md", {"json", ""}) +
                  [s.encode() for s in markdown_spans("docs/agents.md") if s.startswith("{")])
    return logs


def with_exit_codes(logs):
    """agent_result_fuzz.cc reads its first byte as an exit code: 0, 1 and -1 for every log, and
    each code of its table once with an empty log."""
    seeds = [(f"{name}-exit{code}", bytes([code]) + log) for name, log in logs
             for code in (0, 1, 2)]
    return seeds + [(f"empty-log-exit{code}", bytes([code])) for code in range(16)]


def seeds_of(target):
    if target == "loader_yaml":
        return milestone_documents()
    if target == "loader_json":
        return [(name, d) for name, d in milestone_documents() if looks_like_json(d)]
    if target == "template":
        seeds = []
        for path in ["src/model/template_test.cc", "src/flow/kiro_template.cc"]:
            seeds += named(path, [t for t in cxx_literals(path) if t])
        for name, doc in milestone_documents():
            seeds += named(name, [line for line in doc.split(b"\n") if b"{{" in line])
        return seeds
    if target == "duration_size":
        seeds = named("src/model/duration_test.cc", cxx_literals("src/model/duration_test.cc"))
        value = re.compile(rb"\b(?:timeout|stall_after|initial|max|memory|disk|mem|time)\s*:\s*"
                           rb"\"?([0-9][0-9A-Za-z.]*)")
        for name, doc in milestone_documents():
            seeds += named(name, [m.group(1) for m in value.finditer(doc)])
        seeds += named("docs/milestone-file.md",
                       [s.encode() for s in markdown_spans("docs/milestone-file.md")
                        if re.fullmatch(r"[0-9][0-9.]*[A-Za-z]*", s)])
        return seeds
    if target == "schemas":
        seeds = []
        for path in files("src/flow/*_test.cc", "src/agents/agent_test_util.h",
                          "src/agents/*_test.cc", "tests/*_test.cc"):
            seeds += named(path, [t for t in cxx_literals(path) if looks_like_json(t)])
        seeds += named("examples/quickstart/demo-agent",
                       heredocs("examples/quickstart/demo-agent", "JSON"))
        seeds += named("tests/agents/json-writer", printf_outputs("tests/agents/json-writer"))
        for path in files("tests/real_agents/*.py", "tests/fake_llm/*.py"):
            seeds += named(path, [t for t in python_strings(path) if looks_like_json(t)])
        return seeds
    if target.startswith("agent_"):
        return with_exit_codes(agent_logs())
    raise SystemExit(f"make_corpus.py: no seeds for {target}")


# --- dictionaries -------------------------------------------------------------------------------

# The code each target calls: its short string literals are the keys, values and texts it
# compares its input with.
CODE = {
    "loader_yaml": ["src/load/decoder.h", "src/load/loader.cc", "src/load/check.cc",
                    "src/model/template.cc"],
    "template": ["src/model/template.cc"],
    "duration_size": ["src/model/duration.cc", "src/model/size.cc"],
    "schemas": ["src/flow/schemas.cc"],
    "agent_claude": ["src/agents/agent_cli.cc", "src/agents/agent_log.cc", "src/agents/claude.cc",
                     "src/agents/codex.cc", "src/agents/gemini.cc"],
}
CODE["loader_json"] = CODE["loader_yaml"]
CODE["agent_codex"] = CODE["agent_gemini"] = CODE["agent_claude"]

SYNTAX = {
    "loader_yaml": [b"---", b"- ", b": ", b"&a ", b"*a", b"!!str ", b"? ", b"|\n", b">\n", b"{", b"}",
                    b"[", b"]", b"'", b'"', b"#", b"\n  "],
    "loader_json": [b"{", b"}", b"[", b"]", b'"', b":", b",", b"\\u00e9", b"\\\"", b"null",
                    b"true", b"1e400", b"-0"],
    "template": [b"{{", b"}}", b"{{ ", b" }}", b"'"],
    "duration_size": [b"ms", b"s", b"m", b"h", b"d", b"K", b"M", b"G", b"T", b".", b"e", b"inf",
                      b"nan", b"-"],
}


def dictionary(target, seeds):
    words = set(SYNTAX.get(target, []))
    for path in CODE[target]:
        words |= {t for t in cxx_literals(path) if 0 < len(t) <= 40}
    if target.startswith("loader"):  # the keys and values docs/milestone-file.md names
        for span in markdown_spans("docs/milestone-file.md"):
            if re.fullmatch(r"[a-z_][a-z_.]*|\{\{[a-z_.A-Z]+\}\}", span):
                words.add(span.encode())
    if target.startswith(("agent", "schemas", "loader_json")):  # the JSON keys of the seeds
        for seed in seeds:
            words |= {m.group(0) for m in re.finditer(rb'"[A-Za-z_][A-Za-z0-9_.-]{0,38}"\s*:', seed)}
    return sorted(words)


def dictionary_line(word):
    escaped = "".join(chr(b) if 0x20 <= b < 0x7F and b not in b'"\\' else "\\x%02x" % b
                      for b in word)
    return f'"{escaped}"\n'


TARGETS = ["loader_yaml", "loader_json", "template", "duration_size", "schemas",
           "agent_claude", "agent_codex", "agent_gemini"]


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    out = sys.argv[1]
    for target in TARGETS:
        folder = os.path.join(out, "seeds", target)
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder)
        seeds, seen = [], set()
        for name, seed in seeds_of(target):
            if seed in seen or len(seed) > MAX_SEED_BYTES:
                continue
            seen.add(seed)
            seeds.append(seed)
            with open(os.path.join(folder, name), "wb") as f:
                f.write(seed)
        for path in files(f"fuzz/regressions/{target}/*"):
            shutil.copy(os.path.join(ROOT, path), os.path.join(folder, os.path.basename(path)))
        with open(os.path.join(out, f"{target}.dict"), "w") as f:
            f.writelines(dictionary_line(w) for w in dictionary(target, seeds))


if __name__ == "__main__":
    main()

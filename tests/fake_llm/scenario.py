"""The scenario file of fake_llm.py: loading, validation, and picking the scripted answer.

A scenario is {"answers": [{"match": SUBSTRING, "turns": [TURN_OR_LIST, ...]}, ...]}.
The first answer whose match occurs in the request's prompt text is used; its turns are
indexed by how many model turns the conversation already holds. An element that is a list
gives its k-th entry to the k-th request at that position (the last entry repeats).
"""
import json
import threading
from dataclasses import dataclass

DEFAULT_USAGE = {"input_tokens": 100, "output_tokens": 20}
ANSWER_KEYS = {"match", "turns"}
TURN_KEYS = {"text", "write_file", "read_file", "edit_file", "shell", "usage", "error", "message",
             "retry_after", "delay", "wait_for", "hang", "hang_after_events"}
# The turn keys only some APIs can play: read_file and edit_file are claude's Read and Edit tools.
API_ONLY_KEYS = {"read_file": "anthropic", "edit_file": "anthropic"}


class ScenarioError(Exception):
    """The scenario file is unusable; the message names the problem."""


@dataclass
class Choice:
    """The turn picked for one request, with what the log needs to say about it."""
    rule: str
    index: int
    hit: int
    turn: dict


def as_list(value):
    """One value or a list of them, as a list."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def tool_calls(turn):
    """The turn's tool calls in order: ("read_file", path), ("write_file", {path, content}),
    ("edit_file", {path, old, new}), then ("shell", cmd)."""
    calls = [("read_file", path) for path in as_list(turn.get("read_file"))]
    calls += [("write_file", wf) for wf in as_list(turn.get("write_file"))]
    calls += [("edit_file", ef) for ef in as_list(turn.get("edit_file"))]
    return calls + [("shell", cmd) for cmd in as_list(turn.get("shell"))]


def usage(turn):
    """The token counts this turn reports."""
    return {**DEFAULT_USAGE, **turn.get("usage", {})}


def describe(turn):
    """A short text for the log, e.g. "error 429" or "write_file a.txt, text"."""
    if "error" in turn:
        return f"error {turn['error']}"
    if turn.get("hang") and "hang_after_events" not in turn:
        return "hang"
    parts = [f"read_file {path}" for path in as_list(turn.get("read_file"))]
    parts += [f"write_file {wf['path']}" for wf in as_list(turn.get("write_file"))]
    parts += [f"edit_file {ef['path']}" for ef in as_list(turn.get("edit_file"))]
    parts += ["shell" for _ in as_list(turn.get("shell"))]
    if "text" in turn:
        parts.insert(0, "text")
    if turn.get("hang"):
        parts.append(f"hang after {turn['hang_after_events']} events")
    if "wait_for" in turn:
        parts.insert(0, "wait_for")
    return ", ".join(parts)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_write_file(value):
    for wf in as_list(value):
        if not (isinstance(wf, dict) and set(wf) == {"path", "content"}
                and isinstance(wf["path"], str) and wf["path"] and isinstance(wf["content"], str)):
            return 'write_file must be {"path": "...", "content": "..."} or a list of them'
    return None


def _check_edit_file(value):
    for ef in as_list(value):
        if not (isinstance(ef, dict) and set(ef) == {"path", "old", "new"}
                and isinstance(ef["path"], str) and ef["path"]
                and isinstance(ef["old"], str) and ef["old"] and isinstance(ef["new"], str)):
            return 'edit_file must be {"path": "...", "old": "...", "new": "..."} or a list of them'
    return None


def _check_values(turn):
    """The first problem with the values of a turn's keys, or None."""
    problem = _check_write_file(turn["write_file"]) if "write_file" in turn else None
    if problem:
        return problem
    problem = _check_edit_file(turn["edit_file"]) if "edit_file" in turn else None
    if problem:
        return problem
    if "read_file" in turn and not (as_list(turn["read_file"]) and all(
            isinstance(p, str) and p for p in as_list(turn["read_file"]))):
        return "read_file must be a path or a list of them"
    if "wait_for" in turn and not (isinstance(turn["wait_for"], str) and turn["wait_for"].strip()):
        return "wait_for must be a shell command"
    if "shell" in turn and not (as_list(turn["shell"]) and all(
            isinstance(c, str) and c for c in as_list(turn["shell"]))):
        return "shell must be a command string or a list of them"
    if "text" in turn and not isinstance(turn["text"], str):
        return "text must be a string"
    if "usage" in turn:
        u = turn["usage"]
        if not (isinstance(u, dict) and set(u) <= set(DEFAULT_USAGE)
                and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in u.values())):
            return 'usage must be {"input_tokens": N, "output_tokens": M} with counts >= 0'
    if "error" in turn and not (isinstance(turn["error"], int) and 400 <= turn["error"] <= 599):
        return "error must be an HTTP status between 400 and 599"
    if "message" in turn and not isinstance(turn["message"], str):
        return "message must be a string"
    for key in ("retry_after", "delay"):
        if key in turn and not (_is_number(turn[key]) and turn[key] >= 0):
            return f"{key} must be a number of seconds >= 0"
    if "hang" in turn and not isinstance(turn["hang"], bool):
        return "hang must be true or false"
    n = turn.get("hang_after_events")
    if "hang_after_events" in turn and not (isinstance(n, int) and not isinstance(n, bool) and n >= 0):
        return "hang_after_events must be a count >= 0"
    return None


def _check_combination(turn):
    """The first problem with which keys a turn combines, or None."""
    content = [k for k in ("text", "write_file", "read_file", "edit_file", "shell") if k in turn]
    if "error" in turn:
        if content or turn.get("hang"):
            return "error cannot be combined with " + ", ".join(content or ["hang"])
    elif "message" in turn or "retry_after" in turn:
        return "message and retry_after belong to an error turn"
    if "hang_after_events" in turn and not turn.get("hang"):
        return 'hang_after_events needs "hang": true'
    if not content and "error" not in turn and not turn.get("hang"):
        return "a turn needs text, write_file, read_file, edit_file, shell, error or hang"
    return None


def turn_problem(turn):
    """Why TURN is not a valid turn object, or None."""
    if not isinstance(turn, dict):
        return "a turn must be a JSON object"
    unknown = sorted(set(turn) - TURN_KEYS)
    if unknown:
        return "unknown key(s): " + ", ".join(unknown)
    return _check_values(turn) or _check_combination(turn)


def _check_answer(answer, where):
    if not isinstance(answer, dict):
        raise ScenarioError(f"{where}: an answer must be a JSON object")
    unknown = sorted(set(answer) - ANSWER_KEYS)
    if unknown:
        raise ScenarioError(f"{where}: unknown key(s): " + ", ".join(unknown))
    if not isinstance(answer.get("match"), str):
        raise ScenarioError(f'{where}: "match" must be a string ("" matches every prompt)')
    turns = answer.get("turns")
    if not isinstance(turns, list) or not turns:
        raise ScenarioError(f'{where}: "turns" must be a non-empty list')
    for i, element in enumerate(turns):
        entries = element if isinstance(element, list) else [element]
        if not entries:
            raise ScenarioError(f"{where}: turns[{i}]: an empty list")
        for j, turn in enumerate(entries):
            problem = turn_problem(turn)
            if problem:
                at = f"turns[{i}][{j}]" if isinstance(element, list) else f"turns[{i}]"
                raise ScenarioError(f"{where}: {at}: {problem}")


class Scenario:
    """The validated answers, and the per-(answer, index) hit counters shared by all threads."""

    def __init__(self, answers):
        self.answers = answers
        self._hits = {}
        self._lock = threading.Lock()

    def choose(self, prompt, index):
        """The Choice for a request with this prompt text and turn index, or None if no answer matches."""
        for n, answer in enumerate(self.answers):
            if answer["match"] in prompt:
                break
        else:
            return None
        turns = answer["turns"]
        index = min(index, len(turns) - 1)
        with self._lock:
            hit = self._hits.get((n, index), 0)
            self._hits[(n, index)] = hit + 1
        element = turns[index]
        turn = element[min(hit, len(element) - 1)] if isinstance(element, list) else element
        return Choice(answer["match"], index, hit, resolve_paths(turn, prompt))


def resolve_paths(turn, prompt):
    """TURN with each write_file, read_file and edit_file path "*/SUFFIX" replaced by the first
    path in PROMPT that ends with /SUFFIX, as a model copies the path a prompt names (mex puts the
    absolute path of a task's artifact in its prompt, under a run folder whose name is known only
    when the run starts; in a worktree the task's own folder is one of a run too)."""
    def wild(path):
        return path.startswith("*/")

    if not (any(wild(f["path"]) for key in ("write_file", "edit_file") for f in as_list(turn.get(key)))
            or any(wild(p) for p in as_list(turn.get("read_file")))):
        return turn
    words = [w.strip("`'\"()[]<>,;:") for w in prompt.split()]
    words = [w[:-1] if w.endswith(".") and not w.endswith("..") else w for w in words]

    def resolve(path):
        if not wild(path):
            return path
        return next((w for w in words if w.endswith(path[1:])), path)

    resolved = dict(turn)
    for key in ("write_file", "edit_file"):
        if key in turn:
            files = [dict(f, path=resolve(f["path"])) for f in as_list(turn[key])]
            resolved[key] = files if isinstance(turn[key], list) else files[0]
    if "read_file" in turn:
        paths = [resolve(p) for p in as_list(turn["read_file"])]
        resolved["read_file"] = paths if isinstance(turn["read_file"], list) else paths[0]
    return resolved


def parse(doc, where="scenario"):
    """A Scenario from the decoded JSON document; ScenarioError names the first problem."""
    if not isinstance(doc, dict) or set(doc) != {"answers"}:
        raise ScenarioError(f'{where}: expected {{"answers": [...]}} and nothing else')
    answers = doc["answers"]
    if not isinstance(answers, list) or not answers:
        raise ScenarioError(f'{where}: "answers" must be a non-empty list')
    for i, answer in enumerate(answers):
        _check_answer(answer, f"{where}: answers[{i}]")
    return Scenario(answers)


def unsupported_keys(plan, api):
    """The turn keys PLAN uses that API cannot play (see API_ONLY_KEYS), sorted."""
    used = set()
    for answer in plan.answers:
        for element in answer["turns"]:
            for turn in (element if isinstance(element, list) else [element]):
                used.update(turn)
    return sorted(k for k in used if API_ONLY_KEYS.get(k, api) != api)


def load(path):
    """A Scenario from the JSON file at PATH; ScenarioError names the first problem."""
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except OSError as e:
        raise ScenarioError(f"{path}: cannot read: {e.strerror}") from None
    except ValueError as e:
        raise ScenarioError(f"{path}: not valid JSON: {e}") from None
    return parse(doc, path)


def text_pieces(text, count=3):
    """TEXT cut into up to COUNT stream deltas (real servers stream a text in several pieces)."""
    size = max(1, -(-len(text) // count))
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]

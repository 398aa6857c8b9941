#!/usr/bin/env python3
"""Checks fake_llm.py against the real claude, codex and gemini CLIs, and on its own.

    unshare -rn sh -c 'ip link set lo up && python3 tests/fake_llm/selfcheck.py BIN_DIR'

BIN_DIR holds the claude, codex and gemini executables. First the server alone, over plain
HTTP: per-(answer, turn) hit counters and the turn index for each API, hangs, side requests,
errors, Read and Edit calls, a turn's wait_for, a bad scenario, SIGTERM. Then per CLI: a text
turn; two parallel runs on one server that write different files, each answer chosen by its
match string (the tokens the CLI reports must be the scripted ones); for claude a Read and an
Edit of one line; a 429. Prints PASS/FAIL per case, exit 1 on any failure. It refuses to run
where any network interface but lo exists.
"""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hermetic import API_OF, FAKE_LLM, cli_env, start_server  # noqa: E402

CLIS = ("claude", "codex", "gemini")
FLAGS = {"claude": ["-p", "--output-format", "json", "--permission-mode", "acceptEdits"],
         "codex": ["exec", "--skip-git-repo-check", "-s", "workspace-write", "--json"],
         "gemini": ["-o", "json", "--approval-mode", "auto_edit", "-p"]}
RUN_TIMEOUT = 120
# Written so that apply_patch and heredocs have something to trip over: a line "PATCH",
# patch markers, quotes, a backslash, a tab, non-ASCII, an empty line.
ALPHA_CONTENT = '{"ok": true, "n": 42}\nPATCH\n*** End Patch\n\ttab \\ "quoted" caf\u00e9\n\nlast line\n'
BETA_CONTENT = "beta file\nsecond line\n"
results = []


def report(ok, name, detail):
    results.append(ok)
    print(f"{'PASS' if ok else 'FAIL'} {name}: {detail}", flush=True)


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f)
    return path


def read(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        return None


# --- running a real CLI ---

def apply_product_retry_caps(cli, env):
    """Stand in for the product, which caps each CLI's own API retries (cli_env leaves them alone).
    codex needs nothing here: a 429 without Retry-After is not retried."""
    if cli == "claude":
        env["CLAUDE_CODE_MAX_RETRIES"] = "0"
    elif cli == "gemini":
        path = os.path.join(env["HOME"], ".gemini", "settings.json")
        with open(path) as f:
            settings = json.load(f)
        settings["general"]["maxAttempts"] = 1
        write_json(path, settings)


class Run:
    """One finished CLI run: exit code, output, duration, and its work folder."""

    def __init__(self, rc, stdout, stderr, secs, work):
        self.rc, self.stdout, self.stderr, self.secs, self.work = rc, stdout, stderr, secs, work

    def tail(self):
        return f"stdout={self.stdout[-400:]!r} stderr={self.stderr[-400:]!r}"


def run_cli(bin_dir, cli, port, prompt, tmp, files=None):
    """Run CLI once in a fresh home and work folder under TMP with only the hermetic environment;
    FILES {name: text} are in the work folder first."""
    case = tempfile.mkdtemp(prefix=f"{cli}-", dir=tmp)
    work = os.path.join(case, "work")
    os.makedirs(work)
    for name, text in (files or {}).items():
        with open(os.path.join(work, name), "w", encoding="utf-8") as f:
            f.write(text)
    env = {"PATH": f"{bin_dir}:/usr/local/bin:/usr/bin:/bin", **cli_env(cli, port, os.path.join(case, "home"))}
    apply_product_retry_caps(cli, env)
    t0 = time.monotonic()
    proc = subprocess.Popen([os.path.join(bin_dir, cli), *FLAGS[cli], prompt], cwd=work, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        err += f"\n[selfcheck: killed after {RUN_TIMEOUT} s]".encode()
    return Run(proc.returncode, out.decode(errors="replace"), err.decode(errors="replace"),
               time.monotonic() - t0, work)


def serve(cli, answers, tmp):
    """A fake_llm server for CLI's API with these answers, its files in a fresh folder under TMP."""
    folder = tempfile.mkdtemp(prefix=f"server-{cli}-", dir=tmp)
    path = write_json(os.path.join(folder, "scenario.json"), {"answers": answers})
    return start_server(API_OF[cli], path, folder)


# --- the per-CLI cases ---

def check_text(bin_dir, cli, tmp):
    answer = "selfcheck-text-5821"
    with serve(cli, [{"match": "", "turns": [{"text": answer}]}], tmp) as server:
        run = run_cli(bin_dir, cli, server.port, "say something", tmp)
        turns = server.turns()
    ok = run.rc == 0 and answer in run.stdout and len(turns) == 1
    report(ok, f"{cli} text", f"exit {run.rc} in {run.secs:.1f} s, {len(turns)} model request(s)"
           + ("" if ok else " " + run.tail()))


def reported_usage(cli, stdout):
    """(input, output) tokens the CLI reports in its JSON output, or None."""
    try:
        if cli == "claude":
            u = json.loads(stdout)["usage"]
            return u["input_tokens"], u["output_tokens"]
        if cli == "codex":
            done = [json.loads(line) for line in stdout.splitlines() if '"turn.completed"' in line]
            return done[-1]["usage"]["input_tokens"], done[-1]["usage"]["output_tokens"]
        models = json.loads(stdout)["stats"]["models"].values()
        return sum(m["tokens"]["input"] for m in models), sum(m["tokens"]["candidates"] for m in models)
    except (ValueError, KeyError, IndexError, TypeError):
        return None


def check_write(bin_dir, cli, tmp):
    """Two runs in parallel on one server; each prompt's match string picks its own file."""
    answers = [
        {"match": "TASK=alpha", "turns": [
            {"write_file": {"path": "out/alpha.json", "content": ALPHA_CONTENT},
             "usage": {"input_tokens": 1000, "output_tokens": 50}},
            {"text": "alpha written", "usage": {"input_tokens": 200, "output_tokens": 7}}]},
        {"match": "TASK=beta", "turns": [
            {"write_file": {"path": "beta.txt", "content": BETA_CONTENT}}, {"text": "beta written"}]}]
    with serve(cli, answers, tmp) as server, ThreadPoolExecutor(2) as pool:
        alpha = pool.submit(run_cli, bin_dir, cli, server.port, "TASK=alpha: write out/alpha.json", tmp)
        beta = pool.submit(run_cli, bin_dir, cli, server.port, "TASK=beta: write beta.txt", tmp)
        alpha, beta = alpha.result(), beta.result()
        turns = server.turns()
    rules = sorted((t["rule"], t["turn"]) for t in turns)
    files_ok = (read(os.path.join(alpha.work, "out/alpha.json")) == ALPHA_CONTENT
                and read(os.path.join(beta.work, "beta.txt")) == BETA_CONTENT
                and sorted(os.listdir(alpha.work)) == ["out"] and os.listdir(beta.work) == ["beta.txt"])
    usage = reported_usage(cli, alpha.stdout)
    ok = (alpha.rc == 0 and beta.rc == 0 and files_ok and "alpha written" in alpha.stdout
          and "beta written" in beta.stdout and usage == (1200, 57)
          and rules == [("TASK=alpha", 0), ("TASK=alpha", 1), ("TASK=beta", 0), ("TASK=beta", 1)])
    detail = (f"exit {alpha.rc}/{beta.rc} in {alpha.secs:.1f}/{beta.secs:.1f} s (parallel), "
              f"{len(turns)} model requests, files {'exact' if files_ok else 'WRONG'}, "
              f"alpha usage reported {usage} (scripted 1200/57)")
    if not ok:
        detail += f" rules={rules} alpha: {alpha.tail()} beta: {beta.tail()}"
    report(ok, f"{cli} write", detail)


def check_edit(bin_dir, cli, tmp):
    """claude edits a file in place: Read it (it refuses to edit a file it has not read), then Edit
    one line of it, the path copied from the prompt."""
    answers = [{"match": "TASK=edit", "turns": [
        {"read_file": "*/notes.txt"},
        {"edit_file": {"path": "*/notes.txt", "old": "colour = red", "new": "colour = blue"}},
        {"text": "edited"}]}]
    with serve(cli, answers, tmp) as server:
        run = run_cli(bin_dir, cli, server.port, "TASK=edit: make the colour in ./notes.txt blue",
                      tmp, files={"notes.txt": "[ui]\ncolour = red\nsize = 1\n"})
        turns = server.turns()
    got = read(os.path.join(run.work, "notes.txt"))
    ok = (run.rc == 0 and got == "[ui]\ncolour = blue\nsize = 1\n" and "edited" in run.stdout
          and [t["answer"].split()[0] for t in turns] == ["read_file", "edit_file", "text"])
    report(ok, f"{cli} edit", f"exit {run.rc} in {run.secs:.1f} s, {len(turns)} model requests, "
           f"file {'edited' if ok else repr(got)}" + ("" if ok else " " + run.tail()))


def check_429(bin_dir, cli, tmp):
    answers = [{"match": "", "turns": [{"error": 429, "message": "selfcheck: quota gone"}]}]
    with serve(cli, answers, tmp) as server:
        run = run_cli(bin_dir, cli, server.port, "say something", tmp)
        turns = server.turns()
    ok = run.rc != 0 and len(turns) == 1 and turns[0]["answer"] == "error 429"
    report(ok, f"{cli} 429", f"exit {run.rc} in {run.secs:.1f} s after {len(turns)} model request(s)"
           + ("" if ok else " " + run.tail()))


# --- server-only cases, over plain HTTP ---

def request(port, method, path, body=None, timeout=10):
    """(status, headers, body text) of one request."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = None if body is None else json.dumps(body).encode()
        conn.request(method, path, body=data, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        return resp.status, dict(resp.headers), resp.read().decode()
    finally:
        conn.close()


def conversation(api, prompt, model_turns):
    """(path, body) of a non-streamed request whose history holds MODEL_TURNS model turns."""
    if api == "anthropic":
        msgs = [{"role": "user", "content": [{"type": "text", "text": prompt}]}]
        for n in range(model_turns):
            msgs += [{"role": "assistant", "content": [{"type": "tool_use", "id": f"t{n}", "name": "Bash", "input": {}}]},
                     {"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"t{n}", "content": "TASK=count"}]}]
        return "/v1/messages", {"stream": False, "messages": msgs}
    if api == "openai":
        items = [{"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "rules"}]},
                 {"type": "message", "role": "user", "content": [{"type": "input_text", "text": prompt}]}]
        for n in range(model_turns):
            items += [{"type": "reasoning", "summary": []},
                      {"type": "function_call", "call_id": f"c{n}", "name": "exec_command", "arguments": "{}"},
                      {"type": "function_call_output", "call_id": f"c{n}", "output": "TASK=count"}]
        return "/v1/responses", {"stream": False, "input": items}
    contents = [{"role": "user", "parts": [{"text": prompt}]}]
    for n in range(model_turns):
        contents += [{"role": "model", "parts": [{"functionCall": {"name": "run_shell_command", "args": {}}}]},
                     {"role": "user", "parts": [{"functionResponse": {"name": "x", "response": {"output": "TASK=count"}}}]}]
    return "/v1beta/models/gemini-2.5-flash:generateContent", {"contents": contents}


def answer_text(api, status, text):
    """The final text of a non-streamed answer, or "error NNN"."""
    if status != 200:
        return f"error {status}"
    doc = json.loads(text)
    if api == "anthropic":
        return "".join(b.get("text", "") for b in doc["content"])
    if api == "openai":
        return "".join(c["text"] for item in doc["output"] if item["type"] == "message" for c in item["content"])
    return "".join(p.get("text", "") for p in doc["candidates"][0]["content"]["parts"])


def check_counters(api, tmp):
    """The k-th request at one (answer, turn) gets the list's k-th entry; other keys count apart."""
    answers = [{"match": "TASK=count", "turns": [
        [{"error": 500}, {"text": "first retry"}, {"text": "settled"}],
        {"text": "turn one"}]},
        {"match": "", "turns": [[{"text": "default a"}, {"text": "default b"}]]}]
    plan = [("TASK=count", 0, "error 500"), ("TASK=count", 0, "first retry"), ("other", 0, "default a"),
            ("TASK=count", 1, "turn one"), ("TASK=count", 0, "settled"), ("TASK=count", 0, "settled"),
            ("other", 2, "default b"), ("TASK=count", 3, "turn one")]
    folder = tempfile.mkdtemp(prefix=f"counters-{api}-", dir=tmp)
    scenario_path = write_json(os.path.join(folder, "scenario.json"), {"answers": answers})
    got = []
    with start_server(api, scenario_path, folder) as server:
        for prompt, model_turns, _ in plan:
            path, body = conversation(api, prompt, model_turns)
            status, _, text = request(server.port, "POST", path, body)
            got.append(answer_text(api, status, text))
        log = [(r["rule"], r["turn"], r["hit"]) for r in server.requests()]
    want_log = [("TASK=count", 0, 0), ("TASK=count", 0, 1), ("", 0, 0), ("TASK=count", 1, 0),
                ("TASK=count", 0, 2), ("TASK=count", 0, 3), ("", 0, 1), ("TASK=count", 1, 1)]
    ok = got == [p[2] for p in plan] and log == want_log
    report(ok, f"server {api} counters", "answers and (rule, turn, hit) as scripted" if ok
           else f"answers {got}, log {log}")


def raw_post(port, path, body):
    """A socket that has sent one POST; the answer is left to read."""
    data = json.dumps(body).encode()
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
    return sock


def received_within(sock, seconds):
    """Everything SOCK receives until it stays quiet for SECONDS or closes."""
    sock.settimeout(seconds)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except (socket.timeout, TimeoutError):
        pass
    return data


def check_hangs(tmp):
    """A hung request blocks nobody; hang_after_events sends headers and N events, then stalls."""
    answers = [{"match": "TASK=hang", "turns": [{"hang": True}]},
               {"match": "TASK=mid", "turns": [{"hang": True, "hang_after_events": 2, "text": "never finished"}]},
               {"match": "TASK=slow", "turns": [{"delay": 0.5, "text": "late"}]},
               {"match": "", "turns": [{"text": "quick"}]}]
    folder = tempfile.mkdtemp(prefix="hangs-", dir=tmp)
    with start_server("anthropic", write_json(os.path.join(folder, "s.json"), {"answers": answers}), folder) as srv:
        hung = raw_post(srv.port, "/v1/messages", {"messages": [{"role": "user", "content": "TASK=hang"}]})
        mid = raw_post(srv.port, "/v1/messages", {"stream": True, "messages": [{"role": "user", "content": "TASK=mid"}]})
        t0 = time.monotonic()
        status, _, text = request(srv.port, "POST", "/v1/messages", {"messages": [{"role": "user", "content": "hi"}]})
        quick = time.monotonic() - t0
        t0 = time.monotonic()
        slow_status, _, _ = request(srv.port, "POST", "/v1/messages",
                                    {"messages": [{"role": "user", "content": "TASK=slow"}]})
        slow = time.monotonic() - t0
        head, _, stream = received_within(mid, 1.0).partition(b"\r\n\r\n")
        events = [e for e in stream.split(b"\n\n") if e.strip()]
        hung_got = received_within(hung, 1.0)
        hung.close()
        mid.close()
        logged = [r["answer"] for r in srv.requests()]
    ok = (head.startswith(b"HTTP/1.1 200") and b"text/event-stream" in head and len(events) == 2
          and events[0].startswith(b"event: message_start\ndata: ") and status == 200 and "quick" in text
          and quick < 1.0 and slow_status == 200 and 0.5 <= slow < 2.0 and hung_got == b""
          and sorted(logged) == ["hang", "text", "text", "text, hang after 2 events"])
    report(ok, "server hangs", f"mid-answer stall after {len(events)} events, others answered in "
           f"{quick * 1000:.0f} ms, delay 0.5 s took {slow:.2f} s, hung request got {len(hung_got)} bytes"
           + ("" if ok else f", head {head[:80]!r}, log {logged}"))


def check_sides_and_errors(tmp):
    """Side requests take no turn; no match is a 500 with the API's error body."""
    folder = tempfile.mkdtemp(prefix="sides-", dir=tmp)
    path = write_json(os.path.join(folder, "s.json"), {"answers": [
        {"match": "TASK=only", "turns": [{"error": 429, "retry_after": 7}]}]})
    problems = []
    with start_server("gemini", path, folder) as srv:
        status, _, text = request(srv.port, "POST", "/v1beta/models/m:generateContent", {
            "contents": [{"role": "user", "parts": [{"text": "route me"}]}],
            "generationConfig": {"responseMimeType": "application/json", "responseJsonSchema": {
                "type": "object", "properties": {"model_choice": {"type": "string", "enum": ["flash", "pro"]},
                                                 "reasoning": {"type": "string"}}}}})
        parts = json.loads(text)["candidates"][0]["content"]["parts"] if status == 200 else []
        if status != 200 or json.loads(parts[0]["text"]) != {"model_choice": "flash", "reasoning": "fake"}:
            problems.append(f"json-mode: {status} {text[:200]}")
        status, _, text = request(srv.port, "POST", "/v1beta/models/m:countTokens", {"contents": []})
        if status != 200 or "totalTokens" not in text:
            problems.append(f"countTokens: {status}")
        status, _, text = request(srv.port, "POST", "/v1beta/models/m:streamGenerateContent?alt=sse",
                               {"contents": [{"role": "user", "parts": [{"text": "nothing matches"}]}]})
        err = json.loads(text).get("error", {}) if status == 500 else {}
        if err.get("message") != "fake_llm: no scripted answer matches this prompt" or err.get("code") != 500:
            problems.append(f"no match: {status} {text[:200]}")
        status, headers, text = request(srv.port, "POST", "/v1beta/models/m:streamGenerateContent?alt=sse",
                                     {"contents": [{"role": "user", "parts": [{"text": "TASK=only"}]}]})
        details = json.loads(text)["error"].get("details", [{}]) if status == 429 else [{}]
        if headers.get("retry-after") != "7" or details[0].get("retryDelay") != "7s":
            problems.append(f"429: {status} {headers} {text[:200]}")
        rules = [(r["rule"], r["answer"]) for r in srv.requests()]
    if rules != [(None, "side: json-mode"), (None, "side: countTokens"), (None, "error 500 (no match)"),
                 ("TASK=only", "error 429")]:
        problems.append(f"log: {rules}")
    report(not problems, "server side requests and errors", "; ".join(problems) or
           "json-mode, countTokens, no-match 500 and Retry-After/RetryInfo as specified")


def check_read_edit_and_wait_for(tmp):
    """read_file and edit_file are claude's Read and Edit, paths copied from the prompt; a turn's
    wait_for holds the answer until its command succeeds, while other requests are answered."""
    folder = tempfile.mkdtemp(prefix="tools-", dir=tmp)
    flag = os.path.join(folder, "go")
    answers = [{"match": "TASK=wait", "turns": [{"wait_for": f"test -e '{flag}'", "text": "waited"}]},
               {"match": "", "turns": [{"read_file": "*/n.txt",
                                        "edit_file": {"path": "*/n.txt", "old": "a", "new": "b"}}]}]
    scenario_path = write_json(os.path.join(folder, "s.json"), {"answers": answers})
    with start_server("anthropic", scenario_path, folder) as srv, ThreadPoolExecutor(1) as pool:
        t0 = time.monotonic()
        waiting = pool.submit(request, srv.port, "POST", "/v1/messages",
                              {"messages": [{"role": "user", "content": "TASK=wait"}]})
        status, _, text = request(srv.port, "POST", "/v1/messages",
                                  {"messages": [{"role": "user", "content": "edit /w/n.txt."}]})
        other = time.monotonic() - t0
        time.sleep(0.5)
        open(flag, "w").close()
        wait_status, _, wait_text = waiting.result()
        waited = time.monotonic() - t0
    calls = [(b["name"], b["input"]) for b in json.loads(text)["content"] if b["type"] == "tool_use"] \
        if status == 200 else []
    want = [("Read", {"file_path": "/w/n.txt"}),
            ("Edit", {"file_path": "/w/n.txt", "old_string": "a", "new_string": "b",
                      "replace_all": False})]
    ok = (calls == want and other < 1.0 and wait_status == 200
          and answer_text("anthropic", wait_status, wait_text) == "waited" and waited >= 0.5)
    report(ok, "server read_file, edit_file, wait_for",
           f"Read and Edit of the prompt's path; answered {other * 1000:.0f} ms while another waited, "
           f"which was answered {waited:.2f} s in, once its command succeeded"
           + ("" if ok else f"; calls {calls}, wait {wait_status} {wait_text[:200]}"))


def check_bad_scenario(tmp):
    folder = tempfile.mkdtemp(prefix="bad-", dir=tmp)
    path = write_json(os.path.join(folder, "s.json"), {"answers": [
        {"match": "", "turns": [{"text": "ok"}, [{"hang": True}, {"txet": "typo"}]]}]})
    proc = subprocess.run([sys.executable, FAKE_LLM, "--api", "openai", "--scenario", path,
                           "--port-file", os.path.join(folder, "port")], capture_output=True, text=True, timeout=10)
    ok = proc.returncode == 2 and "turns[1][1]" in proc.stderr and "txet" in proc.stderr \
        and not os.path.exists(os.path.join(folder, "port"))
    report(ok, "server bad scenario", f"exit {proc.returncode}: {proc.stderr.strip()}")
    path = write_json(os.path.join(folder, "edit.json"), {"answers": [
        {"match": "", "turns": [{"edit_file": {"path": "a", "old": "x", "new": "y"}}]}]})
    proc = subprocess.run([sys.executable, FAKE_LLM, "--api", "gemini", "--scenario", path,
                           "--port-file", os.path.join(folder, "port")], capture_output=True, text=True, timeout=10)
    ok = proc.returncode == 2 and "cannot play edit_file (only anthropic)" in proc.stderr \
        and not os.path.exists(os.path.join(folder, "port"))
    report(ok, "server claude-only turn refused elsewhere", f"exit {proc.returncode}: {proc.stderr.strip()}")


def check_sigterm(tmp):
    folder = tempfile.mkdtemp(prefix="term-", dir=tmp)
    path = write_json(os.path.join(folder, "s.json"), {"answers": [{"match": "", "turns": [{"hang": True}]}]})
    srv = start_server("openai", path, folder)
    hung = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    hung.request("POST", "/v1/responses", json.dumps({"input": "hi"}))
    time.sleep(0.2)
    t0 = time.monotonic()
    srv.proc.send_signal(signal.SIGTERM)
    try:
        rc = srv.proc.wait(5)
    except subprocess.TimeoutExpired:
        rc = None
        srv.stop()
    hung.close()
    secs = time.monotonic() - t0
    report(rc == 0 and secs < 2, "server sigterm", f"exit {rc} {secs * 1000:.0f} ms after SIGTERM with a hung request")


def loopback_only():
    """Whether this network namespace has no interface but lo."""
    return [name for _, name in socket.if_nameindex()] == ["lo"]


def main(argv):
    if len(argv) != 2 or not all(os.access(os.path.join(argv[1], c), os.X_OK) for c in CLIS):
        sys.exit(f"usage: {argv[0]} BIN_DIR   (BIN_DIR holding executable {', '.join(CLIS)})")
    bin_dir = os.path.abspath(argv[1])
    if not loopback_only():
        sys.exit("selfcheck: this network namespace has more than lo; run it inside "
                 "unshare -rn sh -c 'ip link set lo up && python3 tests/fake_llm/selfcheck.py BIN_DIR'")
    tmp = tempfile.mkdtemp(prefix="fake_llm-selfcheck-")
    start = time.monotonic()
    try:
        for api in API_OF.values():
            check_counters(api, tmp)
        check_hangs(tmp)
        check_sides_and_errors(tmp)
        check_read_edit_and_wait_for(tmp)
        check_bad_scenario(tmp)
        check_sigterm(tmp)
        for cli in CLIS:
            check_text(bin_dir, cli, tmp)
            check_write(bin_dir, cli, tmp)
            if cli == "claude":
                check_edit(bin_dir, cli, tmp)
            check_429(bin_dir, cli, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    failed = results.count(False)
    print(f"selfcheck: {len(results) - failed} passed, {failed} failed in {time.monotonic() - start:.1f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

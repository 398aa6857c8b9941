#!/usr/bin/env python3
"""A scripted model server for running the real claude, codex and gemini CLIs offline.

    fake_llm.py --api anthropic|openai|gemini --scenario FILE --port-file F --log FILE

Listens on 127.0.0.1 (a free port, written to F once listening), answers each model request
from the scenario (see scenario.py and README.md), appends one JSON line per request to the
log, and runs until SIGTERM or SIGINT. A bad scenario exits 2 before listening.
"""
import argparse
import gzip
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
import zlib
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import anthropic_api  # noqa: E402
import gemini_api  # noqa: E402
import openai_api  # noqa: E402
import scenario  # noqa: E402

APIS = {m.NAME: m for m in (anthropic_api, openai_api, gemini_api)}
NO_MATCH = "fake_llm: no scripted answer matches this prompt"
STALL_POLL_SECONDS = 1.0
WAIT_FOR_SECONDS = 60.0  # how long a turn's wait_for command may keep failing
WAIT_FOR_POLL_SECONDS = 0.05


@dataclass
class Request:
    """One HTTP request as the API modules see it: route is the path without the query."""
    method: str
    path: str
    route: str
    headers: object
    body: dict


class RequestLog:
    """Appends one JSON object per line to a file, flushed at once; shared by all threads."""

    def __init__(self, path):
        self._file = open(path, "a", encoding="utf-8") if path else None
        self._lock = threading.Lock()

    def write(self, **record):
        if self._file is None:
            return
        line = json.dumps(record) + "\n"
        with self._lock:
            self._file.write(line)
            self._file.flush()


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, api, plan, log):
        super().__init__(("127.0.0.1", 0), Handler)
        self.api, self.plan, self.log = api, plan, log


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeServer

    def log_message(self, *args):  # the request log is the server's own
        pass

    def do_HEAD(self):  # claude's connection warm-up
        self._record(time.time(), None, None, None, "side: warm-up")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        self._serve()

    do_POST = do_PUT = do_DELETE = do_GET

    # --- choosing the answer ---

    def _serve(self):
        t, api = time.time(), self.server.api
        try:
            req = self._read_request()
        except ValueError as e:
            self._record(t, None, None, None, "error 400 (unreadable body)")
            return self._send_json(400, api.error(400, f"fake_llm: {e}")[0])
        try:
            side = api.side_answer(req)
            if side is not None:
                status, reply, note = side
                self._record(t, None, None, None, f"side: {note}")
                return self._send_events(reply) if isinstance(reply, list) else self._send_json(status, reply)
            choice = self.server.plan.choose(api.prompt_text(req.body), api.turn_index(req.body))
            if choice is None:
                self._record(t, None, None, None, "error 500 (no match)")
                return self._send_json(500, api.error(500, NO_MATCH)[0])
            self._record(t, choice.rule, choice.index, choice.hit, scenario.describe(choice.turn))
            self._play(req, choice.turn)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _record(self, t, rule, turn, hit, answer):
        self.server.log.write(t=t, method=self.command, path=self.path, rule=rule, turn=turn, hit=hit,
                              answer=answer)

    def _play(self, req, turn):
        """Answer REQ with TURN: wait_for, delay, then hang, an error, a stream or one JSON body."""
        api = self.server.api
        if "wait_for" in turn and not wait_for(turn["wait_for"], WAIT_FOR_SECONDS):
            message = f"fake_llm: wait_for still failing after {WAIT_FOR_SECONDS:g} s: {turn['wait_for']}"
            self._record(time.time(), None, None, None, "error 500 (wait_for timed out)")
            return self._send_json(500, api.error(500, message)[0])
        time.sleep(turn.get("delay", 0))
        hang = turn.get("hang", False)
        if hang and "hang_after_events" not in turn:
            return self._stall()
        if "error" in turn:
            body, headers = api.error(turn["error"], turn.get("message"), turn.get("retry_after"))
            return self._send_json(turn["error"], body, headers)
        if api.streams(req):
            return self._send_events(api.events(req, turn), turn["hang_after_events"] if hang else None)
        if hang:  # a non-streamed answer has no events: send the headers, then stall
            data = json.dumps(api.message(req, turn)).encode()
            self._start_response(200, "application/json", {"Content-Length": str(len(data))})
            return self._stall()
        self._send_json(200, api.message(req, turn))

    # --- the wire ---

    def _read_request(self):
        url = urlsplit(self.path)
        raw = self._read_body()
        encoding = (self.headers.get("Content-Encoding") or "").lower()
        if encoding == "gzip":
            raw = gzip.decompress(raw)
        elif encoding == "deflate":
            raw = zlib.decompress(raw)
        elif encoding not in ("", "identity"):
            raise ValueError(f"unsupported Content-Encoding {encoding}")
        body = json.loads(raw) if raw.strip() else {}
        if not isinstance(body, dict):
            raise ValueError("the request body is not a JSON object")
        return Request(self.command, self.path, url.path, self.headers, body)

    def _read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                chunk = self.rfile.read(size + 2)[:size]
                if size == 0:
                    return b"".join(chunks)
                chunks.append(chunk)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _start_response(self, status, content_type, headers=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.flush()

    def _send_json(self, status, obj, headers=None):
        data = json.dumps(obj).encode()
        self._start_response(status, "application/json", {"Content-Length": str(len(data)), **(headers or {})})
        self.wfile.write(data)
        self.wfile.flush()

    def _send_events(self, events, stall_after=None):
        """A 200 event stream that ends with the connection; with stall_after, stall after that many events."""
        self.close_connection = True
        self._start_response(200, "text/event-stream", {"Cache-Control": "no-cache", "Connection": "close"})
        for n, event in enumerate(events):
            if n == stall_after:
                return self._stall()
            self.wfile.write(event)
            self.wfile.flush()
        if stall_after is not None:
            self._stall()

    def _stall(self):
        """Keep the connection open without answering until the client closes it."""
        self.close_connection = True
        try:
            self.wfile.flush()
            while True:
                readable, _, _ = select.select([self.connection], [], [], STALL_POLL_SECONDS)
                if readable and not self.connection.recv(65536):
                    return
        except OSError:
            return


def wait_for(command, seconds):
    """Runs COMMAND (/bin/sh -c, output discarded) until it exits 0: True, or False after SECONDS."""
    deadline = time.monotonic() + seconds
    while True:
        done = subprocess.run(["/bin/sh", "-c", command], stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if done.returncode == 0:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(WAIT_FOR_POLL_SECONDS)


def write_port_file(path, port):
    """Publish PORT in PATH atomically: PATH.tmp, then a rename."""
    with open(path + ".tmp", "w") as f:
        f.write(f"{port}\n")
    os.replace(path + ".tmp", path)


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--api", required=True, choices=sorted(APIS))
    ap.add_argument("--scenario", required=True, help='JSON file {"answers": [...]}')
    ap.add_argument("--port-file", required=True, help="the port is written here once listening")
    ap.add_argument("--log", help="append one JSON line per request here")
    return ap.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        plan = scenario.load(args.scenario)
    except scenario.ScenarioError as e:
        print(f"fake_llm: bad scenario: {e}", file=sys.stderr)
        return 2
    unsupported = scenario.unsupported_keys(plan, args.api)
    if unsupported:
        keys = ", ".join(f"{k} (only {scenario.API_ONLY_KEYS[k]})" for k in unsupported)
        print(f"fake_llm: bad scenario: {args.scenario}: the {args.api} API cannot play {keys}",
              file=sys.stderr)
        return 2
    server = FakeServer(APIS[args.api], plan, RequestLog(args.log))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    write_port_file(args.port_file, server.server_address[1])
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

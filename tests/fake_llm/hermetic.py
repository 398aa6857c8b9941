"""A private, offline environment for one real agent CLI run against fake_llm.py.

    env = {"PATH": ..., **cli_env("codex", server.port, home)}

cli_env() makes HOME a private home for the CLI (config files included) that talks only to
127.0.0.1:PORT, with telemetry, update checks, plugins, analytics and error reports off.
It leaves retry caps to the caller (the product sets CLAUDE_CODE_MAX_RETRIES, codex's
request/stream retries and gemini's general.maxAttempts itself).
start_server() runs fake_llm.py as a subprocess and knows its port and request log.
"""
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE_LLM = os.path.join(HERE, "fake_llm.py")
API_OF = {"claude": "anthropic", "codex": "openai", "gemini": "gemini"}
DUMMY_KEY = "sk-fake-llm-dummy"
LOOPBACK = "127.0.0.1,localhost"


def _base_env(home):
    """Every CLI keeps state under HOME and the XDG folders and writes scratch files to TMPDIR."""
    env = {"HOME": home, "TMPDIR": os.path.join(home, "tmp"),
           "XDG_CONFIG_HOME": os.path.join(home, ".config"), "XDG_CACHE_HOME": os.path.join(home, ".cache"),
           "XDG_DATA_HOME": os.path.join(home, ".local", "share"),
           "XDG_STATE_HOME": os.path.join(home, ".local", "state"),
           "NO_PROXY": LOOPBACK, "no_proxy": LOOPBACK}
    for key in ("TMPDIR", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        os.makedirs(env[key], exist_ok=True)
    return env


def _claude(port, home):
    """claude takes every switch from the environment; its state goes to CLAUDE_CONFIG_DIR."""
    return {"ANTHROPIC_API_KEY": DUMMY_KEY, "ANTHROPIC_BASE_URL": f"http://127.0.0.1:{port}",
            "CLAUDE_CONFIG_DIR": os.path.join(home, ".claude"),
            "CLAUDE_CODE_TMPDIR": os.path.join(home, "tmp"),  # else its Bash tool uses /tmp/claude-<uid>
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "DISABLE_TELEMETRY": "1",
            "DISABLE_AUTOUPDATER": "1", "DISABLE_ERROR_REPORTING": "1", "DISABLE_UPDATES": "1"}


CODEX_CONFIG = """\
# Written by tests/fake_llm/hermetic.py: codex talks to fake_llm.py on 127.0.0.1:{port} only.
model = "mock-model"
model_provider = "fake_llm"
check_for_update_on_startup = false

[model_providers.fake_llm]
name = "fake_llm"
base_url = "http://127.0.0.1:{port}/v1"  # codex POSTs <base_url>/responses
env_key = "OPENAI_API_KEY"              # sent as a Bearer token
wire_api = "responses"                  # the only wire API codex 0.171 has
supports_websockets = false             # else it tries a WebSocket before each POST

[analytics]
enabled = false                         # else lookups of ab.chatgpt.com

[feedback]
enabled = false

[features]
plugins = false                         # else git ls-remote of github.com/openai/plugins
remote_plugin = false
apps = false                            # apps and tool suggestions reach chatgpt.com
tool_suggest = false
unbounded_connection_retries = false    # else a refused connection is retried forever
"""


def _codex(port, home):
    codex_home = os.path.join(home, ".codex")
    os.makedirs(codex_home, exist_ok=True)
    with open(os.path.join(codex_home, "config.toml"), "w") as f:
        f.write(CODEX_CONFIG.format(port=port))
    return {"CODEX_HOME": codex_home, "OPENAI_API_KEY": DUMMY_KEY}


GEMINI_SETTINGS = {
    # the base URL alone makes gemini pick the "gateway" auth type, which -p refuses (exit 41)
    "security": {"auth": {"selectedType": "gemini-api-key"}},
    "general": {"enableAutoUpdate": False, "enableAutoUpdateNotification": False},
    "privacy": {"usageStatisticsEnabled": False},  # else Clearcut usage statistics (play.googleapis.com)
    "telemetry": {"enabled": False, "logPrompts": False},
    "ide": {"enabled": False},
    "tools": {"useRipgrep": False},  # else it may fetch a ripgrep binary
    # a pinned model: the default "auto" adds a router request per prompt and picks the model itself
    "model": {"name": "gemini-2.5-flash", "maxSessionTurns": -1},
}


def _gemini(port, home):
    settings_dir = os.path.join(home, ".gemini")
    os.makedirs(settings_dir, exist_ok=True)
    with open(os.path.join(settings_dir, "settings.json"), "w") as f:
        json.dump(GEMINI_SETTINGS, f, indent=2)
    return {"GEMINI_API_KEY": DUMMY_KEY, "GOOGLE_GEMINI_BASE_URL": f"http://127.0.0.1:{port}",
            "GEMINI_CLI_HOME": home,
            "GEMINI_CLI_TRUST_WORKSPACE": "true",  # else an untrusted folder exits 55
            "GEMINI_TELEMETRY_ENABLED": "false"}


def cli_env(cli, port, home):
    """The environment (without PATH) for running CLI against fake_llm on PORT with HOME as its home."""
    if cli not in API_OF:
        raise ValueError(f"unknown CLI {cli!r}; expected one of {', '.join(API_OF)}")
    home = os.path.abspath(home)
    env = _base_env(home)
    env.update({"claude": _claude, "codex": _codex, "gemini": _gemini}[cli](int(port), home))
    return env


class ServerProcess:
    """A running fake_llm.py: its port, its request log, and how to stop it."""

    def __init__(self, proc, port, log_path, stderr_path):
        self.proc, self.port, self.log_path, self.stderr_path = proc, port, log_path, stderr_path

    def requests(self):
        """The log's records so far, one dict per request."""
        try:
            with open(self.log_path, encoding="utf-8") as f:
                lines = f.read().split("\n")
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in lines[:-1] if line.strip()]  # the last piece may be partial

    def turns(self):
        """The records of requests that took a scripted turn (side requests left out)."""
        return [r for r in self.requests() if r["rule"] is not None]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def _read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def start_server(api, scenario_path, workdir, timeout=10.0):
    """Start fake_llm.py for API with SCENARIO_PATH; its files go to WORKDIR. Waits for the port."""
    os.makedirs(workdir, exist_ok=True)
    paths = {name: os.path.join(workdir, f"fake_llm.{name}") for name in ("port", "log", "stdout", "stderr")}
    if os.path.exists(paths["port"]):
        os.remove(paths["port"])
    with open(paths["stdout"], "wb") as out, open(paths["stderr"], "wb") as err:
        proc = subprocess.Popen([sys.executable, FAKE_LLM, "--api", api, "--scenario", scenario_path,
                                 "--port-file", paths["port"], "--log", paths["log"]],
                                stdin=subprocess.DEVNULL, stdout=out, stderr=err)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        port = _read(paths["port"]).strip()
        if port:
            return ServerProcess(proc, int(port), paths["log"], paths["stderr"])
        time.sleep(0.02)
    why = f"exited with {proc.returncode}" if proc.poll() is not None else f"no port after {timeout:g} s"
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    raise RuntimeError(f"fake_llm.py --api {api} {why}: {_read(paths['stderr']).strip()}")

"""Starting the processes of the gateway benchmark, each pinned to a CPU with taskset:
the fake upstream, the bare relay, Switchyard, and (when installed) LiteLLM's proxy and
Portkey's gateway. The peers live in folders under bench/peers/, made at run time and
never a dependency of the project (`python -m bench.gateway --install-peers` fills them)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .load import Endpoint
from .upstream import MODEL

ROOT = Path(__file__).resolve().parents[1]
PEERS = ROOT / "bench" / "peers"
LITELLM_VENV = PEERS / "litellm" / ".venv"
PORTKEY_DIR = PEERS / "portkey"
PORTKEY_SERVER = PORTKEY_DIR / "node_modules" / "@portkey-ai" / "gateway" / "build" / "start-server.js"
PORTKEY_PACKAGE = """{
  "name": "switchyard-bench-portkey",
  "private": true,
  "description": "Portkey's gateway for bench/gateway.py; not a dependency of Switchyard",
  "dependencies": {"@portkey-ai/gateway": "1.15.2"},
  "overrides": {"@hono/node-server": "1.13.5", "hono": "4.9.7"}
}
"""
UPSTREAM_KEY = "sk-upstream-bench"
INSTALL = {
    "litellm": f"python -m venv {LITELLM_VENV} && {LITELLM_VENV}/bin/pip install 'litellm[proxy]' "
               "(or have `litellm` on PATH), or run with --install-peers",
    "portkey": f"npm install --prefix {PORTKEY_DIR} (Node 18+; the bench writes the pinned package.json there), "
               "or run with --install-peers",
}


@dataclass
class Service:
    name: str
    endpoint: Endpoint
    proc: subprocess.Popen
    log: Path
    version: str = ""

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def base_url(self) -> str:
        return f"http://{self.endpoint.host}:{self.endpoint.port}/v1"

    def __enter__(self) -> Service:
        return self

    def __exit__(self, *_) -> None:
        self.stop()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(name: str, cmd: list[str], cpu: int | None, workdir: Path, endpoint: Endpoint, ready_path: str,
           env: dict[str, str | None] | None = None, cwd: Path = ROOT, timeout: float = 120.0,
           version: str = "") -> Service:
    log = workdir / f"{name}.log"
    pin = ["taskset", "-c", str(cpu)] if cpu is not None else []
    full_env = {k: v for k, v in {**os.environ, **(env or {})}.items() if v is not None}  # None: unset
    with open(log, "wb") as out:
        proc = subprocess.Popen([*pin, *cmd], stdout=out, stderr=subprocess.STDOUT, cwd=cwd, env=full_env,
                                start_new_session=True)
    service = Service(name, endpoint, proc, log, version)
    url = f"http://{endpoint.host}:{endpoint.port}{ready_path}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return service
        except urllib.error.HTTPError:
            return service  # it answers
        except OSError:
            time.sleep(0.1)
    service.stop()
    raise RuntimeError(f"{name} did not answer on {url} in {timeout:.0f}s; see {log}")


def start_upstream(workdir: Path, cpu: int | None, delay_ms: float = 0.0, chunks: int = 8,
                   chunk_gap_ms: float = 1.0) -> Service:
    port = free_port()
    cmd = [sys.executable, "-m", "bench.upstream", "--port", str(port), "--delay-ms", str(delay_ms),
           "--chunks", str(chunks), "--chunk-gap-ms", str(chunk_gap_ms)]
    endpoint = Endpoint("127.0.0.1", port, MODEL, {"Authorization": f"Bearer {UPSTREAM_KEY}"})
    return _start("upstream", cmd, cpu, workdir, endpoint, "/", timeout=20)


def start_relay(workdir: Path, cpu: int | None, upstream: str) -> Service:
    port = free_port()
    cmd = [sys.executable, "-m", "bench.relay", "--port", str(port), "--upstream", upstream]
    return _start("relay", cmd, cpu, workdir, Endpoint("127.0.0.1", port, MODEL), "/", timeout=30)


def start_switchyard(workdir: Path, cpu: int | None, upstream: str) -> Service:
    """As users run it: a key, one alias with one target, metrics and the SQLite request log on."""
    from switchyard import __version__

    config = workdir / "switchyard.yaml"
    config.write_text(f"""
providers:
  upstream: {{kind: openai, base_url: "{upstream}", api_key: "${{BENCH_UPSTREAM_KEY}}"}}
models:
  - name: bench
    targets: [{{provider: upstream, model: {MODEL}}}]
keys:
  - {{name: bench, key_env: SWITCHYARD_BENCH_KEY, models: [bench], team: bench}}
logging: {{policy: metadata}}
store: {{kind: sqlite, path: "{workdir / 'switchyard.db'}"}}
""")
    port = free_port()
    key = "sk-switchyard-bench"
    cmd = [sys.executable, "-m", "switchyard", "serve", "--config", str(config), "--port", str(port),
           "--log-level", "warning"]
    endpoint = Endpoint("127.0.0.1", port, "bench", {"Authorization": f"Bearer {key}"})
    return _start("switchyard", cmd, cpu, workdir, endpoint, "/healthz", timeout=60, version=__version__,
                  env={"SWITCHYARD_BENCH_KEY": key, "BENCH_UPSTREAM_KEY": UPSTREAM_KEY})


# -- LiteLLM ------------------------------------------------------------------------------

def _litellm_bin() -> Path | None:
    local = LITELLM_VENV / "bin" / "litellm"
    if local.exists():
        return local
    found = shutil.which("litellm")
    return Path(found) if found else None


def _output(*cmd: str) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60).stdout.strip()
    except OSError:
        return "?"


def start_litellm(workdir: Path, cpu: int | None, upstream: str) -> Service:
    """One worker, no database, telemetry off, the shipped cost map (no fetch), a master key."""
    binary = _litellm_bin()
    python = binary.parent / "python"  # a venv's; else the script's interpreter
    python = python if python.exists() else binary.read_text().splitlines()[0].removeprefix("#!").strip()
    version = _output(str(python), "-c", "import importlib.metadata as m; print(m.version('litellm'))")
    config = workdir / "litellm.yaml"
    config.write_text(f"""
model_list:
  - model_name: bench
    litellm_params: {{model: "openai/{MODEL}", api_base: "{upstream}", api_key: "{UPSTREAM_KEY}"}}
general_settings:
  master_key: sk-litellm-bench
""")
    port = free_port()
    cmd = [str(binary), "--config", str(config), "--host", "127.0.0.1", "--port", str(port),
           "--num_workers", "1", "--telemetry", "False"]
    env = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_TELEMETRY": "False", "LITELLM_LOG": "ERROR",
           "DATABASE_URL": None}
    endpoint = Endpoint("127.0.0.1", port, "bench", {"Authorization": "Bearer sk-litellm-bench"})
    return _start("litellm", cmd, cpu, workdir, endpoint, "/health/liveliness", env=env, timeout=180,
                  version=version)


# -- Portkey ------------------------------------------------------------------------------

def portkey_folder() -> Path:
    """The folder Portkey is installed into: a pinned package.json, ignored by git."""
    PORTKEY_DIR.mkdir(parents=True, exist_ok=True)
    (PEERS / ".gitignore").write_text("*\n")
    package = PORTKEY_DIR / "package.json"
    if not package.exists() or package.read_text() != PORTKEY_PACKAGE:
        package.write_text(PORTKEY_PACKAGE)
    return PORTKEY_DIR


def start_portkey(workdir: Path, cpu: int | None, upstream: str) -> Service:
    """Node, NODE_ENV=production, headless; routed by headers to the fake upstream as an OpenAI host."""
    version = json.loads((PORTKEY_SERVER.parents[1] / "package.json").read_text())["version"]
    node = shutil.which("node") or "node"
    port = free_port()
    cmd = [node, str(PORTKEY_SERVER), f"--port={port}", "--headless"]
    headers = {"x-portkey-provider": "openai", "x-portkey-custom-host": upstream,
               "Authorization": f"Bearer {UPSTREAM_KEY}"}
    endpoint = Endpoint("127.0.0.1", port, MODEL, headers)
    return _start("portkey", cmd, cpu, workdir, endpoint, "/", env={"NODE_ENV": "production"},
                  cwd=portkey_folder(), timeout=60, version=f"{version} (node {_output(node, '--version')})")


# -- /proc: CPU and memory of a process and its children ---------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def process_tree(pid: int) -> list[int]:
    pids, i = [pid], 0
    while i < len(pids):
        for children in Path(f"/proc/{pids[i]}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                pids += [int(p) for p in children.read_text().split()]
        i += 1
    return pids


def _read(path: str) -> str:
    with contextlib.suppress(OSError):
        return Path(path).read_text()
    return ""


def cpu_seconds(pid: int) -> float:
    """utime + stime of the process and its live children, all threads."""
    stats = (_read(f"/proc/{p}/stat").rsplit(")", 1)[-1].split() for p in process_tree(pid))
    return sum(int(f[11]) + int(f[12]) for f in stats if len(f) > 12) / _TICK


def rss_mb(pid: int) -> float:
    kb = sum(int(line.split()[1]) for p in process_tree(pid)
             for line in _read(f"/proc/{p}/status").splitlines() if line.startswith("VmRSS:"))
    return round(kb / 1024, 1)


def settle(pid: int, max_seconds: float = 30.0, window: float = 0.3, idle: float = 0.05) -> None:
    """Wait until the process is idle (under `idle` of a core over `window` s), e.g. after an overload."""
    deadline = time.monotonic() + max_seconds
    while time.monotonic() < deadline:
        before = cpu_seconds(pid)
        time.sleep(window)
        if (cpu_seconds(pid) - before) / window < idle:
            return


# -- what is installed --------------------------------------------------------------------

def missing(name: str) -> str | None:
    """None when the peer can run, else why not and how to install it."""
    if name == "litellm" and _litellm_bin() is None:
        return f"LiteLLM is not installed: {INSTALL['litellm']}"
    if name == "portkey":
        portkey_folder()  # the pinned package.json, so the install line below works as printed
        if shutil.which("node") is None:
            return "Portkey needs Node.js 18+ (`apt-get install -y nodejs npm`), then: " + INSTALL["portkey"]
        if not PORTKEY_SERVER.exists():
            return f"Portkey's gateway is not installed: {INSTALL['portkey']}"
    return None


def install_peers() -> None:
    """Install LiteLLM into its own venv and Portkey with npm, under bench/peers/."""
    PEERS.mkdir(parents=True, exist_ok=True)
    (PEERS / ".gitignore").write_text("*\n")
    if _litellm_bin() is None:
        subprocess.run([sys.executable, "-m", "venv", str(LITELLM_VENV)], check=True)
        subprocess.run([str(LITELLM_VENV / "bin" / "pip"), "install", "-q", "litellm[proxy]"], check=True)
    if not PORTKEY_SERVER.exists() and shutil.which("npm"):
        subprocess.run(["npm", "install", "--no-audit", "--no-fund"], cwd=portkey_folder(), check=True)


STARTERS = {"relay": start_relay, "switchyard": start_switchyard, "portkey": start_portkey,
            "litellm": start_litellm}

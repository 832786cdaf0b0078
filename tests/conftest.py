"""Shared fixtures: fake upstreams on 127.0.0.1 and `switchyard serve` run as a
real subprocess on a free port, with its own config and SQLite file."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fakes import FakeServer
from tests.fakes.anthropic_server import anthropic_app
from tests.fakes.gemini_server import gemini_app
from tests.fakes.openai_server import openai_app

SHARED = Path(__file__).resolve().parents[2] / "shared"
TINY_MODEL = SHARED / "models" / "stories260K.gguf"


@pytest.fixture(scope="session")
def tiny_model() -> Path:
    """The real tiny Llama GGUF from ../shared (skips when absent)."""
    if not TINY_MODEL.is_file():
        pytest.skip(f"{TINY_MODEL} is absent: the local engine tests need ../shared/models/stories260K.gguf")
    return TINY_MODEL


# Keys the fakes accept; configs under test reference them as ${..._KEY}.
UPSTREAM_ENV = {"OPENAI_UP_KEY": "upstream-key"}


@pytest.fixture(scope="session")
def openai_upstream():
    with FakeServer(openai_app()) as server:
        yield server


@pytest.fixture(scope="session")
def anthropic_upstream():
    with FakeServer(anthropic_app()) as server:
        yield server


@pytest.fixture(scope="session")
def gemini_upstream():
    with FakeServer(gemini_app()) as server:
        yield server


@pytest.fixture(scope="module")
def remote():
    """A remote OpenAI-format upstream of the module's own, recording every body (privacy tests)."""
    with FakeServer(openai_app()) as server:
        yield server


@pytest.fixture(scope="module")
def onprem():
    """A second one, for a provider marked local."""
    with FakeServer(openai_app()) as server:
        yield server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Served:
    url: str  # http://127.0.0.1:<port>
    process: subprocess.Popen
    config_path: Path
    db_path: Path
    env: dict[str, str]

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def rows(self, sql: str = "SELECT * FROM requests ORDER BY ts", args: tuple = ()) -> list[dict]:
        db = sqlite3.connect(self.db_path)
        db.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in db.execute(sql, args)]
        finally:
            db.close()

    def wait_rows(self, count: int, timeout: float = 10.0) -> list[dict]:
        """The request log is written off the request path: wait for `count` rows."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                rows = self.rows()
            except sqlite3.OperationalError:
                rows = []
            if len(rows) >= count or time.monotonic() > deadline:
                return rows
            time.sleep(0.05)

    def stop(self) -> str:
        """SIGTERM (a clean shutdown) and return what the server printed."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.stdout.read() if self.process.stdout else ""


def start_gateway(tmp_path: Path, config_text: str | None, env: dict[str, str] | None = None,
                  args: tuple[str, ...] = ()) -> Served:
    """Serve `config_text`; with None, serve without a config (pass --model in args), from tmp_path."""
    port = free_port()
    config_path = tmp_path / "switchyard.yaml"
    db_path = tmp_path / "switchyard.db"
    if config_text is not None:
        config_path.write_text(config_text + f"\nstore: {{path: {db_path}}}\n")
        args = ("--config", str(config_path), *args)
    full_env = {**os.environ, **UPSTREAM_ENV, **(env or {})}
    process = subprocess.Popen(
        [sys.executable, "-m", "switchyard", "serve", "--port", str(port), *args],
        env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path)
    served = Served(f"http://127.0.0.1:{port}", process, config_path, db_path, full_env)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"switchyard serve exited early:\n{served.stop()}")
        try:
            with urllib.request.urlopen(served.url + "/healthz", timeout=1):
                return served
        except OSError:
            time.sleep(0.05)
    served.stop()
    raise RuntimeError("switchyard serve did not become healthy in 20s")


@pytest.fixture
def gateway(tmp_path):
    """Call with a config's text (and optional env): returns a running gateway, stopped after the test."""
    started: list[Served] = []

    def start(config_text: str, env: dict[str, str] | None = None, args: tuple[str, ...] = ()) -> Served:
        served = start_gateway(tmp_path, config_text, env, args)
        started.append(served)
        return served

    yield start
    for served in started:
        served.stop()

"""`switchyard check` and `serve` refuse, with one readable line per problem, what would
otherwise only fail at request time: checks on an alias that never runs them, experiment
arms that cannot be served, prompt files that do not load or name aliases the config lacks.
And `serve`'s flags override the config."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from switchyard.config import parse_config
from switchyard.errors import ConfigError
from tests.conftest import free_port, start_gateway

PROVIDERS = "providers:\n  up: {kind: openai, base_url: 'http://127.0.0.1:1/v1'}\n"


def error_of(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(PROVIDERS + text, "f.yaml")
    return str(info.value)


@pytest.mark.parametrize(("text", "expected"), [
    ("models:\n  - name: a\n    targets: [{provider: up, model: m}]\n    checks: [{type: refusal}]\n",
     "f.yaml:6: models[0].checks: checks need strategy: cascade, not 'fallback'"),
    ("models:\n  - name: a\n    strategy: cascade\n    targets: [{provider: up, model: m}]\n"
     "    checks: [{type: regex, pattern: '(x'}]\n",
     "f.yaml:7: models[0].checks[0].pattern: not a valid regular expression: missing ), unterminated subpattern "
     "at position 0"),
    ("models:\n  - name: a\n    strategy: cascade\n    targets: [{provider: up, model: m}]\n"
     "    checks: [{type: schema, schema: {type: nonsense}}]\n",
     "f.yaml:7: models[0].checks[0].schema: not a valid JSON Schema at type: 'nonsense' is not valid under any of "
     "the given schemas"),
    ("models:\n  - name: a\n    targets: [{provider: up, model: m}]\n    experiment:\n      name: e\n"
     "      variants:\n        - {name: x, weight: 1}\n        - {name: y, weight: 1, params: {stream: true}}\n",
     "f.yaml:10: models[0].experiment.variants[1].params.stream: an experiment arm cannot set 'stream'"),
    ("prompts: {dir: p}\nmodels:\n  - name: a\n    targets: [{provider: up, model: m}]\n    experiment:\n"
     "      name: e\n      variants:\n        - {name: x, weight: 1}\n"
     "        - {name: y, weight: 1, prompt: 'r@two'}\n",
     "f.yaml:11: models[0].experiment.variants[1].prompt: prompt reference 'r@two': the version must be a number "
     "or 'live', as in r@2"),
    ("models:\n  - name: a\n    targets: [{provider: up, model: m}]\n    experiment:\n      name: e\n"
     "      variants:\n        - {name: x, weight: 1}\n        - {name: y, weight: 1, prompt: 'r@2'}\n",
     "f.yaml:10: models[0].experiment.variants[1].prompt: names a prompt, but prompts.dir is not set"),
    ("models:\n  - name: a\n    targets: [{provider: up, model: m}]\n"
     "    experiment: {name: e, variants: [{name: x, weight: 1}, {name: y, weight: 1}]}\n"
     "  - name: b\n    targets: [{provider: up, model: m}]\n"
     "    experiment: {name: e, variants: [{name: x, weight: 1}, {name: y, weight: 1}]}\n",
     "f.yaml:9: models[1].experiment.name: experiment 'e' already runs on alias 'a'"),
])
def test_config_errors_of_checks_and_experiments(text, expected):
    assert error_of(text) == expected


PROMPT = """name: reply
live: {live}
versions:
  1:
    model: chat
    messages: [{{role: user, content: "hi"}}]
  2:
    model: {alias}
    messages: [{{role: user, content: "hello"}}]
"""

CONFIG = """providers:
  up: {{kind: openai, base_url: "http://127.0.0.1:1/v1"}}
models:
  - name: chat
    targets: [{{provider: up, model: m}}]
    experiment:
      name: wording
      variants:
        - {{name: control, weight: 1}}
        - {{name: new, weight: 1, prompt: "{arm}"}}
prompts: {{dir: prompts}}
store: {{path: log.db}}
"""


def project(tmp_path: Path, *, live: int = 2, alias: str = "chat", arm: str = "reply@2", broken: bool = False) -> Path:
    (tmp_path / "prompts").mkdir(exist_ok=True)
    (tmp_path / "prompts" / "reply.yaml").write_text(PROMPT.format(live=live, alias=alias))
    if broken:
        (tmp_path / "prompts" / "other.yaml").write_text("name: other\nlive: 1\nversions: {}\n")
    config = tmp_path / "switchyard.yaml"
    config.write_text(CONFIG.format(arm=arm))
    return config


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "SWITCHYARD_CONFIG"}
    return subprocess.run([sys.executable, "-m", "switchyard", *args], capture_output=True, text=True, timeout=60,
                          cwd=cwd, env=env)


def refusal(result: subprocess.CompletedProcess) -> list[str]:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    return result.stderr.strip().removeprefix("Error: ").splitlines()


def test_check_accepts_prompts_that_fit_the_config(tmp_path):
    result = run("check", "--config", str(project(tmp_path)), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert ": ok" in result.stdout


@pytest.mark.parametrize("command", ["check", "serve"])
def test_a_live_version_served_by_a_missing_alias_is_refused(tmp_path, command):
    config = project(tmp_path, alias="gone")
    extra = ("--port", str(free_port())) if command == "serve" else ()
    assert refusal(run(command, "--config", str(config), *extra, cwd=tmp_path)) == [
        f"{tmp_path / 'prompts' / 'reply.yaml'}:8: versions.2.model: no alias named 'gone' under models in {config}"]


def test_an_older_version_may_name_a_retired_alias(tmp_path):
    result = run("check", "--config", str(project(tmp_path, live=1, alias="gone", arm="reply@1")), cwd=tmp_path)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("command", ["check", "serve"])
def test_an_arm_naming_a_missing_prompt_version_is_refused(tmp_path, command):
    config = project(tmp_path, arm="reply@9")
    extra = ("--port", str(free_port())) if command == "serve" else ()
    assert refusal(run(command, "--config", str(config), *extra, cwd=tmp_path)) == [
        f"{config}:10: models[0].experiment.variants[1].prompt: prompt 'reply' has no version 9 "
        "(versions: 1, 2; live: 2)"]


@pytest.mark.parametrize("command", ["check", "serve"])
def test_a_prompt_file_that_does_not_load_is_refused(tmp_path, command):
    config = project(tmp_path, broken=True)
    extra = ("--port", str(free_port())) if command == "serve" else ()
    lines = refusal(run(command, "--config", str(config), *extra, cwd=tmp_path))
    assert lines[0].startswith(f"{tmp_path / 'prompts' / 'other.yaml'}:3: versions: ")


@pytest.mark.parametrize("command", ["check", "serve"])
def test_a_missing_prompts_folder_is_refused(tmp_path, command):
    config = project(tmp_path)
    config.write_text(config.read_text().replace("dir: prompts", "dir: nowhere"))
    extra = ("--port", str(free_port())) if command == "serve" else ()
    assert refusal(run(command, "--config", str(config), *extra, cwd=tmp_path)) == [
        f"{tmp_path / 'nowhere'}: prompts folder not found"]


def test_serve_flags_override_the_config(tmp_path, openai_upstream):
    configured = free_port()
    served = start_gateway(tmp_path, f"""server: {{host: 127.0.0.1, port: {configured}}}
providers:
  up: {{kind: openai, base_url: "{openai_upstream.url}/v1", api_key: "${{OPENAI_UP_KEY}}"}}
models:
  - {{name: chat, targets: [{{provider: up, model: m}}]}}
""")  # start_gateway passes --port with another free port
    try:
        with socket.socket() as s, pytest.raises(ConnectionRefusedError):
            s.connect(("127.0.0.1", configured))
    finally:
        output = served.stop()
    assert f"serving 1 models on {served.url}" in output


@pytest.mark.parametrize(("flag", "value"), [("--port", "70000"), ("--workers", "0")])
def test_serve_refuses_out_of_range_flags(tmp_path, flag, value):
    result = run("serve", "--config", str(project(tmp_path)), flag, value, cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"Invalid value for '{flag}'" in result.stderr

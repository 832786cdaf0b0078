"""The `switchyard` command against a running gateway: logs, costs, models, chat,
help, and readable one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from switchyard.cli import cli
from switchyard.plugins import provider_classes
from tests.conftest import Served, free_port, start_gateway

KEYS = {"SY_TEST_KEY_ALICE": "sk-alice-test", "SY_TEST_KEY_BOB": "sk-bob-test"}

CONFIG = """\
providers:
  up: {{kind: openai, base_url: "{url}/v1", api_key: "${{OPENAI_UP_KEY}}"}}
models:
  - name: chat
    targets: [{{provider: up, model: gpt-4o}}]
  - name: backup
    strategy: fallback
    retries: 0
    targets:
      - {{provider: up, model: fail-500}}
      - {{provider: up, model: gpt-4o-mini}}
  - name: broken
    retries: 0
    targets: [{{provider: up, model: fail-500}}]
keys:
  - {{name: alice, key_env: SY_TEST_KEY_ALICE, team: red}}
  - {{name: bob, key_env: SY_TEST_KEY_BOB, team: blue, models: [chat]}}
"""

COMMANDS = ["serve", "check", "chat", "models", "costs", "keys", "logs", "audit", "experiments", "prompts"]

KINDS = sorted(provider_classes())


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("SWITCHYARD_CONFIG", "SWITCHYARD_URL", "SWITCHYARD_API_KEY")}
    return {**env, **(extra or {})}


def run(*args: str, env: dict[str, str] | None = None, input: str | None = None,
        cwd: str | Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "switchyard", *args], capture_output=True, text=True,
                          env=env or clean_env(), input=input if input is not None else "", cwd=cwd, timeout=60)


def run_with(served: Served, *args: str, **kwargs) -> subprocess.CompletedProcess:
    """Run a command against the served config, with the environment its `${VAR}`s need."""
    env = {k: v for k, v in served.env.items()
           if k not in ("SWITCHYARD_CONFIG", "SWITCHYARD_URL", "SWITCHYARD_API_KEY")}
    return run(*args, env={**env, **kwargs.pop("env", {})}, **kwargs)


def error_lines(result: subprocess.CompletedProcess) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


def ask(served: Served, model: str, key: str, text: str) -> tuple[int, str]:
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": text}]}).encode()
    request = urllib.request.Request(served.url + "/v1/chat/completions", body, {
        "Content-Type": "application/json", "Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, resp.headers["x-request-id"]
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["x-request-id"]


@pytest.fixture(scope="module")
def served(openai_upstream, tmp_path_factory):
    """One gateway for the module, with a few requests already logged."""
    tmp = tmp_path_factory.mktemp("cli")
    gw = start_gateway(tmp, CONFIG.format(url=openai_upstream.url), env=KEYS)
    try:
        calls = [("chat", "sk-alice-test", "one"), ("chat", "sk-alice-test", "two"),
                 ("chat", "sk-bob-test", "three"), ("backup", "sk-alice-test", "four"),
                 ("broken", "sk-alice-test", "five")]
        gw.ids = []
        gw.statuses = []
        for model, key, text in calls:
            status, request_id = ask(gw, model, key, text)
            gw.statuses.append(status)
            gw.ids.append(request_id)
        assert gw.statuses == [200, 200, 200, 200, 502]
        assert all(gw.ids)
        rows = gw.wait_rows(len(calls))
        assert len(rows) == len(calls)
        yield gw
    finally:
        gw.stop()


def test_logs_prints_recent_rows(served):
    result = run_with(served, "logs", "--config", str(served.config_path), "-n", "5")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 5
    for request_id, line in zip(served.ids, lines, strict=True):  # oldest first
        assert request_id in line
    assert "alice" in lines[0] and "chat" in lines[0] and "up/gpt-4o" in lines[0] and "200" in lines[0]
    assert "broken" in lines[4] and "502" in lines[4]
    assert "up/gpt-4o-mini" in lines[3] and "failed attempt" in lines[3]  # backup fell over once

    result = run_with(served, "logs", "--config", str(served.config_path), "-n", "2")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2 and served.ids[3] in lines[0] and served.ids[4] in lines[1]


def test_logs_json_lines_parse(served):
    result = run_with(served, "logs", "--config", str(served.config_path), "-n", "5", "--json", "--since", "1h")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert [r["id"] for r in rows] == served.ids
    assert [r["alias"] for r in rows] == ["chat", "chat", "chat", "backup", "broken"]
    assert [r["key_name"] for r in rows] == ["alice", "alice", "bob", "alice", "alice"]
    assert rows[0]["prompt_tokens"] > 0 and rows[0]["cost_usd"] > 0
    assert rows[3]["attempts"][0]["target"] == "up/fail-500"


def table_rows(stdout: str) -> dict[str, list[str]]:
    lines = stdout.strip().splitlines()
    assert set(lines[1].replace(" ", "")) == {"-"}, stdout  # header rule
    return {line.split()[0]: line.split() for line in lines[2:]}


def test_costs_by_model(served):
    result = run_with(served, "costs", "--config", str(served.config_path), "--by", "model", "--since", "1d")
    assert result.returncode == 0, result.stderr
    header = result.stdout.splitlines()[0].split()
    assert header[:3] == ["model", "requests", "errors"] and "cost_usd" in header
    rows = table_rows(result.stdout)
    assert set(rows) == {"chat", "backup", "broken", "TOTAL"}
    assert rows["chat"][1] == "3" and rows["backup"][1] == "1" and rows["broken"][1:3] == ["1", "1"]
    assert rows["TOTAL"][1:3] == ["5", "1"]
    assert list(rows)[-1] == "TOTAL"
    assert float(rows["TOTAL"][-1]) == pytest.approx(
        sum(float(r[-1]) for name, r in rows.items() if name != "TOTAL"), abs=1e-5)
    assert float(rows["chat"][-1]) > 0


def test_costs_by_key_and_team(served):
    result = run_with(served, "costs", "--config", str(served.config_path), "--by", "key")
    assert result.returncode == 0, result.stderr
    rows = table_rows(result.stdout)
    assert set(rows) == {"alice", "bob", "TOTAL"}
    assert rows["alice"][1] == "4" and rows["bob"][1] == "1" and rows["TOTAL"][1] == "5"

    result = run_with(served, "costs", "--config", str(served.config_path), "--by", "team", "--since", "30m")
    assert result.returncode == 0, result.stderr
    rows = table_rows(result.stdout)
    assert set(rows) == {"red", "blue", "TOTAL"}
    assert rows["red"][1] == "4" and rows["blue"][1] == "1"

    result = run_with(served, "costs", "--config", str(served.config_path), "--by", "target")
    assert result.returncode == 0, result.stderr
    rows = table_rows(result.stdout)
    assert {"up/gpt-4o", "up/gpt-4o-mini", "TOTAL"} <= set(rows)


def test_costs_bad_since_is_one_readable_error(served):
    result = run_with(served, "costs", "--config", str(served.config_path), "--since", "bogus")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and result.stdout == ""
    errors = [line for line in error_lines(result) if line.startswith("Error")]
    assert len(errors) == 1, result.stderr
    assert "bogus" in errors[0] and "--since" in errors[0]


def test_bad_since_creates_no_database(tmp_path):
    config = tmp_path / "switchyard.yaml"
    config.write_text("")
    for command in ("costs", "logs"):
        result = run(command, "--config", str(config), "--since", "bogus")
        assert result.returncode != 0
        assert "bogus" in result.stderr and "Traceback" not in result.stderr
        assert not (tmp_path / "switchyard.db").exists()


def test_costs_and_logs_on_an_empty_log(tmp_path):
    config = tmp_path / "switchyard.yaml"
    config.write_text("")
    result = run("costs", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "TOTAL" not in result.stdout and result.stdout.strip() == "(nothing)"
    result = run("logs", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""


def test_models_lists_aliases_and_targets(served):
    for args in (("models", "--config", str(served.config_path)),
                 ("models", "list", "--config", str(served.config_path))):
        result = run_with(served, *args)
        assert result.returncode == 0, result.stderr
        out = result.stdout
        for name in ("chat", "backup", "broken", "up/gpt-4o", "up/gpt-4o-mini", "up/fail-500", "fallback"):
            assert name in out, out


def test_models_without_config_is_one_readable_error(tmp_path):
    result = run("models", cwd=tmp_path)
    assert result.returncode != 0
    assert error_lines(result) == [
        "Error: no config file: pass --config FILE or create ./switchyard.yaml (see docs/configuration.md)"]


# from here on, tests add requests to the module's log: the counting tests come before
def test_logs_follow_prints_new_requests(served):
    env = {k: v for k, v in served.env.items() if k not in ("SWITCHYARD_CONFIG", "SWITCHYARD_URL")}
    process = subprocess.Popen([sys.executable, "-m", "switchyard", "logs", "-f", "-n", "1", "--json",
                                "--config", str(served.config_path)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        first = json.loads(process.stdout.readline())  # the newest row already logged
        status, request_id = ask(served, "chat", "sk-alice-test", "followed")
        assert status == 200 and first["id"] != request_id
        followed = json.loads(process.stdout.readline())  # the tail picks up the new one (polls each second)
        assert (followed["id"], followed["key_name"], followed["status"]) == (request_id, "alice", 200)
    finally:
        process.terminate()
        process.wait(10)


def test_chat_one_shot_and_piped_stdin(served):
    result = run("chat", "--url", served.url, "--key", "sk-alice-test", "-m", "chat", "hello")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "echo: hello"

    result = run("chat", "--url", served.url, "-m", "chat", input="from stdin\n",
                 env=clean_env({"SWITCHYARD_API_KEY": "sk-bob-test"}))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "echo: from stdin"


def test_chat_interactive_keeps_the_conversation(served, openai_upstream, tmp_path):
    primary, secondary = os.openpty()  # a terminal on stdin: interactive mode
    try:
        process = subprocess.Popen([sys.executable, "-m", "switchyard", "chat", "--url", served.url, "-m", "chat"],
                                   stdin=secondary, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   env=clean_env({"SWITCHYARD_API_KEY": "sk-alice-test"}), cwd=tmp_path)
        os.write(primary, b"first\nsecond\nexit\n")
        out, err = process.communicate(timeout=60)
    finally:
        os.close(primary)
        os.close(secondary)
    assert process.returncode == 0, err
    assert "Chatting with chat at" in err
    assert [line.removeprefix("> ") for line in out.splitlines()][:2] == ["echo: first", "echo: second"]
    # the second question went with the whole conversation so far
    assert openai_upstream.requests[-1]["messages"] == [
        {"role": "user", "content": "first"}, {"role": "assistant", "content": "echo: first"},
        {"role": "user", "content": "second"}]


def test_chat_url_from_environment(served, tmp_path):
    result = run("chat", "-m", "chat", "via env",
                 env=clean_env({"SWITCHYARD_URL": served.url, "SWITCHYARD_API_KEY": "sk-alice-test"}),
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "echo: via env"


def test_chat_api_errors_are_one_readable_line(served):
    result = run("chat", "--url", served.url, "-m", "chat", "hello")  # no key
    assert result.returncode != 0
    lines = error_lines(result)
    assert len(lines) == 1 and lines[0].startswith("Error: 401"), result.stderr

    result = run("chat", "--url", served.url, "--key", "sk-bob-test", "-m", "backup", "hello")
    assert result.returncode != 0
    lines = error_lines(result)
    assert len(lines) == 1 and lines[0].startswith("Error: 403"), result.stderr


def test_chat_closed_port_is_one_readable_error(tmp_path):
    url = f"http://127.0.0.1:{free_port()}"
    result = run("chat", "--url", url, "-m", "chat", "hello", cwd=tmp_path)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = error_lines(result)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: cannot reach " + url)


@pytest.mark.parametrize(("url", "problem"), [("notaurl", "unknown url type"), ("http://[::1", "Invalid IPv6 URL")])
def test_chat_unusable_url_is_one_readable_error(tmp_path, url, problem):
    result = run("chat", "--url", url, "-m", "chat", "hello", cwd=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = error_lines(result)
    assert len(lines) == 1 and lines[0].startswith(f"Error: {url}: {problem}"), lines


@pytest.mark.parametrize("store", ["missing-folder/log.db", "not-a-database.db"])
def test_a_request_log_that_cannot_be_opened_is_one_readable_error(tmp_path, store):
    (tmp_path / "not-a-database.db").write_text("plain text\n")
    config = tmp_path / "switchyard.yaml"
    config.write_text(f"store: {{path: {store}}}\n")
    for args in (("logs",), ("costs",), ("keys", "list"), ("keys", "create", "--name", "x"),
                 ("experiments", "report", "x"), ("serve", "--port", str(free_port()))):
        result = run(*args, "--config", str(config), cwd=tmp_path)
        assert result.returncode == 1 and "Traceback" not in result.stderr, (args, result.stderr)
        lines = error_lines(result)
        assert len(lines) == 1 and lines[0].startswith(f"Error: {tmp_path / store}: cannot open the request log: "), \
            (args, lines)


def test_help_for_every_command():
    result = run("--help")
    assert result.returncode == 0, result.stderr
    for command in COMMANDS:
        assert command in result.stdout
    # every command's and subcommand's help in-process: the same click objects, without a Python start-up each
    runner = CliRunner()

    def paths(group: click.Group, prefix: list[str]) -> list[list[str]]:
        found = []
        for name, command in group.commands.items():
            found.append([*prefix, name])
            if isinstance(command, click.Group):
                found += paths(command, [*prefix, name])
        return found

    every = paths(cli, [])
    assert {"keys create", "prompts promote", "experiments report", "models fit"} <= {" ".join(p) for p in every}
    for args in [[*p, "--help"] for p in every] + [["--version"]]:
        outcome = runner.invoke(cli, args, env={"SWITCHYARD_CONFIG": None})
        assert outcome.exit_code == 0, (args, outcome.output, outcome.exception)
        assert "Usage:" in outcome.output or args == ["--version"]


def test_serve_with_bad_config_is_one_line_per_problem(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("providers:\n  up: {kind: nope}\nmodels:\n  - name: chat\n"
                      "    targets: [{provider: ghost, model: m}]\n")
    result = run("serve", "--config", str(config), "--port", str(free_port()), cwd=tmp_path)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = error_lines(result)
    assert len(lines) == 2, result.stderr
    assert lines[0] == f"Error: {config}:2: providers.up.kind: expected one of {KINDS}, " \
                       "got 'nope'"
    assert lines[1] == f"{config}:5: models[0].targets[0].provider: no provider named 'ghost' under providers"

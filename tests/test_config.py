"""Config loading: the documented shape parses, and every error names the file,
the line, the key path and what was expected."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from switchyard.config import load_config, parse_config
from switchyard.errors import ConfigError
from switchyard.plugins import provider_classes, router_classes

EXAMPLE = """\
server:
  host: 127.0.0.1
  port: 4100

providers:
  openai: {kind: openai, api_key_env: OPENAI_API_KEY}
  claude:
    kind: anthropic
    api_key: "${ANTHROPIC_API_KEY}"

models:
  - name: chat
    strategy: loadbalance
    timeout_s: 30
    retries: 2
    targets:
      - {provider: openai, model: gpt-4o-mini, weight: 3}
      - {provider: claude, model: claude-sonnet-4-5, weight: 1}
  - name: fast
    strategy: least-latency
    targets:
      - {provider: openai, model: gpt-4o}

prices:
  claude/claude-sonnet-4-5: {input: 3.0, output: 15.0}
  gpt-4o-mini: {input: 0.1, output: 0.2}

keys:
  - {name: app-support, key_env: SWITCHYARD_KEY_SUPPORT, models: [chat], team: support, rpm: 60}
  - {name: batch, key_env: SWITCHYARD_KEY_BATCH}
"""

# A small valid base that error cases extend or alter.
BASE = """\
providers:
  up: {kind: openai}
models:
  - name: chat
    targets:
      - {provider: up, model: m}
"""


def error_of(text: str, source: str = "f.yaml") -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(text, source)
    return str(info.value)


def test_example_shape_parses(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    config = parse_config(EXAMPLE, "f.yaml")
    assert config.source == "f.yaml"
    assert config.server.port == 4100
    assert set(config.providers) == {"openai", "claude"}
    assert config.providers["openai"].kind == "openai"
    assert config.providers["openai"].api_key_env == "OPENAI_API_KEY"
    assert config.providers["claude"].kind == "anthropic"
    assert config.providers["claude"].api_key == "sk-ant-test"
    # kind-specific defaults come from the provider's own config class
    assert config.providers["claude"].anthropic_version == "2023-06-01"
    assert list(config.models) == ["chat", "fast"]
    chat = config.models["chat"]
    assert (chat.strategy, chat.timeout_s, chat.retries) == ("loadbalance", 30.0, 2)
    assert [(t.label, t.weight) for t in chat.targets] == [
        ("openai/gpt-4o-mini", 3.0), ("claude/claude-sonnet-4-5", 1.0)]
    fast = config.models["fast"]
    assert (fast.strategy, fast.timeout_s, fast.retries) == ("least-latency", 60.0, 1)
    assert fast.targets[0].weight == 1.0
    assert config.prices["claude/claude-sonnet-4-5"].output == 15.0
    assert config.prices["gpt-4o-mini"].input == 0.1
    support, batch = config.keys
    assert (support.name, support.key_env, support.models, support.team, support.rpm) == (
        "app-support", "SWITCHYARD_KEY_SUPPORT", ["chat"], "support", 60)
    assert batch.models == ["*"] and batch.team is None


def test_shipped_example_file_checks(monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    example = Path(__file__).resolve().parents[1] / "examples" / "switchyard.yaml"
    config = load_config(example)
    assert "chat" in config.models
    # `${ANTHROPIC_API_KEY:-}` with the variable unset gives the empty default, not an error
    assert not config.providers["claude"].api_key


@pytest.mark.parametrize(("name", "text", "expected"), [
    ("unknown top-level key",
     "providers: {}\nbogus: 1\n",
     "f.yaml:2: bogus: unknown key"),
    ("unknown key in an alias",
     BASE.replace("  - name: chat\n", "  - name: chat\n    colour: red\n"),
     "f.yaml:5: models[0].colour: unknown key"),
    ("wrong type",
     BASE.replace("  - name: chat\n", "  - name: chat\n    retries: many\n"),
     "f.yaml:5: models[0].retries: Input should be a valid integer"),
    ("unknown provider kind",
     "providers:\n  up: {kind: openai}\n  other:\n    kind: carrier-pigeon\n",
     f"f.yaml:4: providers.other.kind: expected one of {sorted(provider_classes())}, got 'carrier-pigeon'"),
    ("target naming a missing provider",
     BASE + "      - {provider: ghost, model: m}\n",
     "f.yaml:7: models[0].targets[1].provider: no provider named 'ghost' under providers"),
    ("duplicate alias",
     BASE + "  - name: chat\n    targets: [{provider: up, model: m2}]\n",
     "f.yaml:7: models[1].name: alias 'chat' is defined twice"),
    ("unknown strategy",
     BASE.replace("  - name: chat\n", "  - name: chat\n    strategy: random\n"),
     f"f.yaml:5: models[0].strategy: expected one of {sorted(router_classes())}, got 'random'"),
    ("key allowing an unknown alias",
     BASE + "keys:\n  - name: k\n    key_env: K\n    models:\n      - chat\n      - nope\n",
     "f.yaml:12: keys[0].models[1]: no alias named 'nope' under models"),
    ("provider-kind-specific unknown key",
     "providers:\n  x:\n    kind: anthropic\n    default_max_tokens: 10\n    organization: acme\n",
     "f.yaml:5: providers.x.organization: unknown key"),
    ("kind-specific key of another kind",
     "providers:\n  x:\n    kind: openai\n    bogus: 1\n",
     "f.yaml:4: providers.x.bogus: unknown key"),
    ("missing required field",
     "providers:\n  up: {kind: openai}\nmodels:\n  - name: chat\n",
     "f.yaml:4: models[0].targets: Field required"),
    ("not a mapping",
     "- a\n- b\n",
     "f.yaml:1: (top level): expected a mapping"),
    ("misspelt detector kind",
     "privacy:\n  detect: [EMAIL, PHONES]\n",
     "f.yaml:2: privacy.detect[1]: expected one of EMAIL, PHONE, CREDIT_CARD, IBAN, SSN, IP_ADDRESS, "
     "URL_CREDENTIALS, API_KEY, DATE_OF_BIRTH, STREET_ADDRESS, PERSON, got 'PHONES'"),
    ("invalid custom pattern",
     "privacy:\n  patterns:\n    - {kind: EMPLOYEE_ID, regex: \"EMP-(\\\\d\"}\n",
     "f.yaml:3: privacy.patterns[0].regex: not a valid regular expression"),
    ("custom kind that is no placeholder name",
     "privacy:\n  deny_lists:\n    - {kind: project-x, words: [Nightjar]}\n",
     "f.yaml:3: privacy.deny_lists[0].kind: String should match pattern"),
])
def test_error_names_file_line_path_and_expectation(name, text, expected):
    message = error_of(text)
    assert message.splitlines()[0].startswith(expected), message
    assert "Traceback" not in message


def test_kind_specific_keys_are_accepted_for_their_kind():
    config = parse_config("providers:\n  o: {kind: openai, organization: acme}\n"
                          "  a: {kind: anthropic, default_max_tokens: 10}\n", "f.yaml")
    assert config.providers["o"].organization == "acme"
    assert config.providers["a"].default_max_tokens == 10


def test_several_problems_give_one_line_each():
    text = BASE.replace("  - name: chat\n", "  - name: chat\n    strategy: random\n") + \
        "      - {provider: ghost, model: m}\n"
    lines = error_of(text).splitlines()
    assert lines == [
        f"f.yaml:5: models[0].strategy: expected one of {sorted(router_classes())}, got 'random'",
        "f.yaml:8: models[0].targets[1].provider: no provider named 'ghost' under providers",
    ]


def test_unset_env_var_is_an_error(monkeypatch):
    monkeypatch.delenv("SWITCHYARD_TEST_UNSET", raising=False)
    text = "providers:\n  up:\n    kind: openai\n    api_key: \"${SWITCHYARD_TEST_UNSET}\"\n"
    assert error_of(text) == "f.yaml:4: providers.up.api_key: environment variable SWITCHYARD_TEST_UNSET is not set"


def test_env_interpolation_and_defaults(monkeypatch):
    monkeypatch.setenv("SWITCHYARD_TEST_HOST", "10.0.0.7")
    monkeypatch.delenv("SWITCHYARD_TEST_UNSET", raising=False)
    monkeypatch.setenv("SWITCHYARD_TEST_EMPTY", "")
    text = ("server:\n  host: \"${SWITCHYARD_TEST_HOST:-127.0.0.1}\"\n  port: \"${SWITCHYARD_TEST_UNSET:-4321}\"\n"
            "providers:\n"
            "  up:\n    kind: openai\n    base_url: \"http://${SWITCHYARD_TEST_HOST}:8000/v1\"\n"
            "    api_key: \"${SWITCHYARD_TEST_EMPTY:-fallback-key}\"\n"
            "    organization: \"${SWITCHYARD_TEST_EMPTY}\"\n")
    config = parse_config(text, "f.yaml")
    assert config.server.host == "10.0.0.7"  # set: the value wins over the default
    assert config.server.port == 4321  # unset: the default, coerced to the field's type
    assert config.providers["up"].base_url == "http://10.0.0.7:8000/v1"  # embedded in a longer string
    assert config.providers["up"].api_key == "fallback-key"  # set but empty: the default, as in the shell
    assert config.providers["up"].organization == ""  # set but empty, no default: empty, not an error


def test_invalid_yaml_names_file_and_line():
    text = "providers:\n  up:\n    kind: openai\n   base_url: x\n"
    message = error_of(text)
    assert message.startswith("f.yaml:4: not valid YAML"), message
    assert "\n" not in message


@pytest.mark.parametrize("text", ["", "\n", "# only a comment\n"])
def test_empty_file_is_valid_with_no_models(text):
    config = parse_config(text, "f.yaml")
    assert config.models == {} and config.providers == {} and config.keys == []


def test_load_config_missing_file(tmp_path):
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as info:
        load_config(missing)
    assert str(missing) in str(info.value)


def test_load_config_errors_name_the_path(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("providers: {}\nbogus: 1\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"{path}:2: bogus: unknown key"


def test_relative_store_path_is_beside_the_config(tmp_path, monkeypatch):
    folder = tmp_path / "conf"
    folder.mkdir()
    (folder / "switchyard.yaml").write_text("store: {path: data/log.db}\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = load_config(Path("..") / "conf" / "switchyard.yaml")
    assert Path(config.store.path) == (folder / "data" / "log.db").resolve()
    # the default path too, and an absolute path is kept as written
    (folder / "default.yaml").write_text("")
    assert Path(load_config(folder / "default.yaml").store.path) == (folder / "switchyard.db").resolve()
    absolute = tmp_path / "abs.db"
    (folder / "abs.yaml").write_text(f"store: {{path: {absolute}}}\n")
    assert load_config(folder / "abs.yaml").store.path == str(absolute)


def run_check(path: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "SWITCHYARD_CONFIG"}
    return subprocess.run([sys.executable, "-m", "switchyard", "check", "--config", str(path)],
                          capture_output=True, text=True, env=env, cwd=cwd, timeout=60)


def test_check_command_good_and_bad(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text(BASE)
    result = run_check(good, tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1 and "ok" in lines[0] and str(good) in lines[0]
    assert "1 models" in lines[0]

    bad = tmp_path / "bad.yaml"
    bad.write_text(BASE.replace("  - name: chat\n", "  - name: chat\n    strategy: random\n")
                   + "      - {provider: ghost, model: m}\n")
    result = run_check(bad, tmp_path)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 2, result.stderr
    assert f"{bad}:5: models[0].strategy: expected one of" in lines[0]
    assert f"{bad}:8: models[0].targets[1].provider: no provider named 'ghost'" in lines[1]
    assert result.stdout == ""


def test_check_command_invalid_yaml_and_missing_file(tmp_path):
    bad = tmp_path / "broken.yaml"
    bad.write_text("providers: [\n")
    result = run_check(bad, tmp_path)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and f"{bad}:" in lines[0] and "not valid YAML" in lines[0], result.stderr

    result = run_check(tmp_path / "absent.yaml", tmp_path)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "absent.yaml" in lines[0] and "Traceback" not in result.stderr, result.stderr

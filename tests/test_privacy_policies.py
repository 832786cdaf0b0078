"""Privacy settings beyond the alias: per key and per team actions and tags, logging policies,
custom patterns and deny-lists from config, and the key that seals stored bodies. A real gateway
on 127.0.0.1 in front of fake upstreams that record every body; the log is the real SQLite file."""

from __future__ import annotations

import base64
import json
import subprocess
import sys

import openai
import pytest
from openai import OpenAI

from tests.conftest import start_gateway
from tests.test_privacy import CLEAN, FRAGMENTS, PLANTED, SENSITIVE, leaked, row

KEYS = {"K_PLAIN": "sk-plain", "K_HR": "sk-hr", "K_LEAD": "sk-lead", "K_VAULT": "sk-vault", "K_QUIET": "sk-quiet"}
CUSTOM = "Employee EMP-204816 leads project nightjar with Blue  Heron; see ticket T90210."


def config(remote, onprem) -> str:
    return f"""
providers:
  cloud:  {{kind: openai, base_url: "{remote.url}/v1", api_key: "${{OPENAI_UP_KEY}}"}}
  onprem: {{kind: openai, base_url: "{onprem.url}/v1", api_key: "${{OPENAI_UP_KEY}}", local: true}}
models:
  - {{name: open, targets: [{{provider: cloud, model: big}}, {{provider: onprem, model: llama}}]}}
  - {{name: support, privacy: redact, targets: [{{provider: cloud, model: big}}]}}
  - {{name: log-none,     logging: none,     privacy: redact, targets: [{{provider: cloud, model: big}}]}}
  - {{name: log-metadata, logging: metadata, privacy: redact, targets: [{{provider: cloud, model: big}}]}}
  - {{name: log-redacted, logging: redacted, privacy: redact, targets: [{{provider: cloud, model: big}}]}}
  - {{name: log-full,     logging: full,     privacy: redact, targets: [{{provider: cloud, model: big}}]}}
teams:
  hr:    {{privacy: route_local}}
  vault: {{sensitivity: confidential}}
keys:
  - {{name: plain,     key_env: K_PLAIN}}
  - {{name: hr-bot,    key_env: K_HR,    team: hr}}
  - {{name: hr-lead,   key_env: K_LEAD,  team: hr, privacy: block}}
  - {{name: vault-bot, key_env: K_VAULT, team: vault}}
  - {{name: quiet,     key_env: K_QUIET, logging: none}}
privacy:
  patterns:
    - {{kind: EMPLOYEE_ID, regex: "EMP-\\\\d{{6}}"}}
    - {{kind: TICKET, regex: "ticket (?P<value>T\\\\d{{5}})"}}
  deny_lists:
    - {{kind: PROJECT, words: [Nightjar, Blue Heron]}}
"""


@pytest.fixture(scope="module")
def served(remote, onprem, tmp_path_factory):
    served = start_gateway(tmp_path_factory.mktemp("policies"), config(remote, onprem), env=KEYS)
    yield served
    served.stop()


def ask(served, key: str, model: str, text: str, **headers):
    c = OpenAI(base_url=served.base_url, api_key=KEYS[key], max_retries=0, default_headers=headers or None)
    return c.chat.completions.with_raw_response.create(model=model, messages=[{"role": "user", "content": text}])


# -- per key and per team -------------------------------------------------------------------------


def test_without_overrides_the_alias_action_applies(served, remote):
    before = len(remote.requests)
    raw = ask(served, "K_PLAIN", "open", SENSITIVE)  # `open` allows: the values go to the first target as they are
    assert raw.headers["x-switchyard-target"] == "cloud/big"
    assert leaked(remote, before) == [*PLANTED.values(), *FRAGMENTS]
    assert row(served, raw.headers["x-request-id"])["privacy"] == "allowed"


def test_team_action_overrides_the_alias(served, remote, onprem):
    before = len(remote.requests)
    raw = ask(served, "K_HR", "open", SENSITIVE)
    assert raw.headers["x-switchyard-target"] == "onprem/llama"
    assert len(remote.requests) == before and SENSITIVE in json.dumps(onprem.requests[-1])
    audit = row(served, raw.headers["x-request-id"])
    assert (audit["key_name"], audit["team"], audit["privacy"]) == ("hr-bot", "hr", "routed_local")
    assert json.loads(audit["pii"]) == {kind: 1 for kind in PLANTED}


def test_key_action_overrides_its_team(served, remote):
    before = len(remote.requests)
    with pytest.raises(openai.BadRequestError) as err:
        ask(served, "K_LEAD", "open", SENSITIVE)
    assert err.value.response.json()["error"]["code"] == "sensitive_data_blocked"
    assert len(remote.requests) == before
    assert row(served, err.value.response.headers["x-request-id"])["privacy"] == "blocked"


def test_team_sensitivity_keeps_even_clean_requests_local(served, remote):
    before = len(remote.requests)
    raw = ask(served, "K_VAULT", "open", CLEAN)
    assert raw.headers["x-switchyard-target"] == "onprem/llama" and len(remote.requests) == before
    assert row(served, raw.headers["x-request-id"])["privacy"] == "routed_local"
    assert ask(served, "K_PLAIN", "open", CLEAN).headers["x-switchyard-target"] == "cloud/big"


def test_key_logging_policy_none_writes_no_row(served):
    quiet = ask(served, "K_QUIET", "support", SENSITIVE).headers["x-request-id"]
    later = ask(served, "K_PLAIN", "support", CLEAN).headers["x-request-id"]
    row(served, later)  # rows are written in order: once the later one is there, the quiet one would be too
    assert quiet not in {r["id"] for r in served.rows()}


# -- logging policies ---------------------------------------------------------------------------------


def stored(served, model: str) -> dict | None:
    raw = ask(served, "K_PLAIN", model, SENSITIVE)
    request_id = raw.headers["x-request-id"]
    assert raw.parse().choices[0].message.content == f"echo: {SENSITIVE}"  # the user sees the values either way
    row(served, ask(served, "K_PLAIN", "open", CLEAN).headers["x-request-id"])  # a later row: ours is written
    found = [r for r in served.rows() if r["id"] == request_id]
    return found[0] if found else None


def test_logging_none_keeps_nothing(served):
    assert stored(served, "log-none") is None


def test_logging_metadata_keeps_findings_but_no_bodies(served):
    kept = stored(served, "log-metadata")
    assert kept["request_body"] is None and kept["response_body"] is None
    assert kept["privacy"] == "redacted" and json.loads(kept["pii"])["PERSON"] == 1


def test_logging_redacted_keeps_placeholders_only(served):
    kept = stored(served, "log-redacted")
    bodies = kept["request_body"].decode() + kept["response_body"].decode()
    assert "<EMAIL_1>" in bodies and "<PERSON_1>" in bodies and "<URL_CREDENTIALS_1>" in bodies
    assert [v for v in [*PLANTED.values(), *FRAGMENTS] if v in bodies] == []


def test_logging_full_keeps_the_bodies_as_sent(served):
    kept = stored(served, "log-full")
    assert SENSITIVE in json.loads(kept["request_body"])["messages"][0]["content"]
    assert json.loads(kept["response_body"])["choices"][0]["message"]["content"] == f"echo: {SENSITIVE}"


# -- custom patterns and deny-lists -------------------------------------------------------------------


def test_custom_patterns_and_deny_lists_are_redacted_and_restored(served, remote):
    before = len(remote.requests)
    raw = ask(served, "K_PLAIN", "support", CUSTOM)
    assert raw.parse().choices[0].message.content == f"echo: {CUSTOM}"
    sent = json.dumps(remote.requests[before:])
    for value in ("EMP-204816", "nightjar", "Heron", "T90210"):
        assert value not in sent
    assert remote.requests[-1]["messages"][0]["content"] == (
        "Employee <EMPLOYEE_ID_1> leads project <PROJECT_1> with <PROJECT_2>; see ticket <TICKET_1>.")
    audit = row(served, raw.headers["x-request-id"])
    assert json.loads(audit["pii"]) == {"EMPLOYEE_ID": 1, "PROJECT": 2, "TICKET": 1}


# -- sealed bodies ----------------------------------------------------------------------------------------


def test_sealed_bodies_need_their_key(remote, onprem, tmp_path):
    key, other = base64.b64encode(bytes(range(32))).decode(), base64.b64encode(bytes(32)).decode()
    text = config(remote, onprem) + "logging: {policy: full, encryption_key_env: SY_LOG_KEY}\n"
    served = start_gateway(tmp_path, text, env={**KEYS, "SY_LOG_KEY": key})
    try:
        request_id = ask(served, "K_PLAIN", "open", SENSITIVE).headers["x-request-id"]
        sealed = row(served, request_id)["request_body"]
        assert sealed.startswith(b"SY1") and PLANTED["EMAIL"].encode() not in sealed
    finally:
        served.stop()

    def cli(*args: str, key_value: str) -> subprocess.CompletedProcess:
        env = {**served.env, "SY_LOG_KEY": key_value}
        return subprocess.run([sys.executable, "-m", "switchyard", *args, "--config", str(served.config_path)],
                              capture_output=True, text=True, timeout=60, env=env)

    opened = cli("logs", "--json", key_value=key)
    assert opened.returncode == 0 and SENSITIVE in json.loads(opened.stdout.splitlines()[-1])["request_body"]
    refused = [(cli("logs", key_value=other), "SY_LOG_KEY does not open the stored bodies")]
    for command in ("logs", "check", "serve"):
        refused += [(cli(command, key_value="c2hvcnQ="), "SY_LOG_KEY must hold 32 bytes, base64-encoded"),
                    (cli(command, key_value=""), "environment variable SY_LOG_KEY is not set")]
    for result, expected in refused:
        assert result.returncode == 1 and expected in result.stderr, (result.args, result.stderr)
        assert "Traceback" not in result.stderr

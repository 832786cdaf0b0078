"""Privacy on the wire: a fake remote upstream records every body it receives, and
no planted value may appear in any of them under redact, route_local or block."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time

import openai
import pytest
from openai import OpenAI

from tests.conftest import start_gateway
from tests.fakes import FakeServer

PLANTED = {
    "PERSON": "Margaret Thornton",
    "DATE_OF_BIRTH": "14/03/1985",
    "STREET_ADDRESS": "42 Elm Grove, Bristol BS1 4DJ",
    "EMAIL": "jane.doe@example.com",
    "PHONE": "+44 20 7946 0958",
    "CREDIT_CARD": "4111 1111 1111 1111",
    "IBAN": "DE89 3704 0044 0532 0130 00",
    "SSN": "123-45-6789",
    "IP_ADDRESS": "203.0.113.77",
    "URL_CREDENTIALS": "postgres://admin:S3cretPass9@db.internal:5432/crm",
    "API_KEY": "sk-proj-4fT9xQ2mL8vR1zK7pW3nB6yH0cJ5dS",
}
# Parts that must not leak either: a surname alone, a street alone, a password alone.
FRAGMENTS = ("Thornton", "Elm Grove", "S3cretPass9")
SENSITIVE = ("Please update my account: I am Margaret Thornton, born 14/03/1985, and I now live at 42 Elm Grove, "
             "Bristol BS1 4DJ. Email jane.doe@example.com, phone +44 20 7946 0958, card 4111 1111 1111 1111, IBAN "
             "DE89 3704 0044 0532 0130 00, SSN 123-45-6789, last login from 203.0.113.77, database "
             "postgres://admin:S3cretPass9@db.internal:5432/crm, and rotate sk-proj-4fT9xQ2mL8vR1zK7pW3nB6yH0cJ5dS.")
CLEAN = "What are your opening hours on weekdays?"
LOG_KEY = base64.b64encode(bytes(range(32))).decode()


def config(remote, onprem, logging: str = "metadata", extra: str = "") -> str:
    return f"""
providers:
  cloud:  {{kind: openai, base_url: "{remote.url}/v1", api_key: "${{OPENAI_UP_KEY}}"}}
  onprem: {{kind: openai, base_url: "{onprem.url}/v1", api_key: "${{OPENAI_UP_KEY}}", local: true}}
models:
  - {{name: support, privacy: redact,      targets: [{{provider: cloud, model: big}}]}}
  - name: hr
    privacy: route_local
    targets: [{{provider: cloud, model: big}}, {{provider: onprem, model: llama}}]
  - {{name: legal,   privacy: block,       targets: [{{provider: cloud, model: big}}]}}
  - {{name: remote-only, privacy: route_local, targets: [{{provider: cloud, model: big}}]}}
  - {{name: open,    targets: [{{provider: cloud, model: big}}, {{provider: onprem, model: llama}}]}}
  - name: judged-local
    strategy: cascade
    privacy: route_local
    checks: [{{type: judge, model: remote-judge}}]
    targets: [{{provider: onprem, model: llama}}, {{provider: onprem, model: llama-big}}]
  - {{name: remote-judge, targets: [{{provider: cloud, model: judge-pass}}]}}
logging: {{policy: {logging}}}
{extra}
"""


@pytest.fixture(scope="module")
def served(remote, onprem, tmp_path_factory):
    served = start_gateway(tmp_path_factory.mktemp("privacy"), config(remote, onprem))
    yield served
    served.stop()


def client(served, **headers) -> OpenAI:
    return OpenAI(base_url=served.base_url, api_key="unused", max_retries=0, default_headers=headers or None)


def leaked(server: FakeServer, since: int) -> list[str]:
    """Planted values (and fragments) found in any body the server received after index `since`."""
    seen = json.dumps(server.requests[since:], ensure_ascii=False)
    values = [*PLANTED.values(), *FRAGMENTS]
    return [value for value in values if value in seen or value.replace(" ", "") in seen]


def ask(served, model: str, text: str, **kwargs):
    return client(served).chat.completions.with_raw_response.create(
        model=model, messages=[{"role": "user", "content": text}], **kwargs)


def row(served, request_id: str) -> dict:
    """The log row of a request (the log is written off the request path: wait for it)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for found in served.rows():
            if found["id"] == request_id:
                return found
        time.sleep(0.05)
    raise AssertionError(f"no log row for {request_id}")


def test_the_leak_search_finds_values_sent_as_is(served, remote):
    before = len(remote.requests)
    ask(served, "open", SENSITIVE)  # privacy: allow
    assert leaked(remote, before) == [*PLANTED.values(), *FRAGMENTS]


def test_redact_sends_placeholders_and_restores_the_answer(served, remote):
    before = len(remote.requests)
    raw = ask(served, "support", SENSITIVE)
    answer = raw.parse().choices[0].message.content
    assert leaked(remote, before) == []
    sent = remote.requests[-1]["messages"][0]["content"]
    assert all(f"<{kind}_1>" in sent for kind in PLANTED), sent
    assert answer == f"echo: {SENSITIVE}"  # the fake echoes placeholders; the user sees the real values
    audit = row(served, raw.headers["x-request-id"])
    assert audit["privacy"] == "redacted"
    assert json.loads(audit["pii"]) == {kind: 1 for kind in PLANTED}


def test_redact_restores_a_streamed_answer(served, remote):
    before = len(remote.requests)
    stream = client(served).chat.completions.with_raw_response.create(
        model="support", messages=[{"role": "user", "content": SENSITIVE}], stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in stream.parse() if c.choices)
    assert text == f"echo: {SENSITIVE}"
    assert leaked(remote, before) == []
    assert remote.requests[-1]["stream"] is True and "<PERSON_1>" in remote.requests[-1]["messages"][0]["content"]
    audit = row(served, stream.headers["x-request-id"])
    assert audit["privacy"] == "redacted" and json.loads(audit["pii"]) == {kind: 1 for kind in PLANTED}


def test_redact_covers_tool_arguments_and_earlier_turns(served, remote):
    before = len(remote.requests)
    messages = [
        {"role": "user", "content": "My email is jane.doe@example.com"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function", "function": {
            "name": "lookup", "arguments": json.dumps({"email": "jane.doe@example.com", "ssn": "123-45-6789"})}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "Card on file: 4111 1111 1111 1111"},
        {"role": "user", "content": "Thanks"},
    ]
    client(served).chat.completions.create(model="support", messages=messages)
    assert leaked(remote, before) == []
    sent = remote.requests[-1]["messages"]
    assert "<EMAIL_1>" in sent[0]["content"] and "<EMAIL_1>" in sent[1]["tool_calls"][0]["function"]["arguments"]
    json.loads(sent[1]["tool_calls"][0]["function"]["arguments"])  # still valid JSON


def test_route_local_keeps_sensitive_requests_on_local_targets(served, remote, onprem):
    before_remote, before_local = len(remote.requests), len(onprem.requests)
    raw = ask(served, "hr", SENSITIVE)
    assert raw.headers["x-switchyard-target"] == "onprem/llama"
    assert len(remote.requests) == before_remote and len(onprem.requests) == before_local + 1
    assert raw.parse().choices[0].message.content == f"echo: {SENSITIVE}"
    audit = row(served, raw.headers["x-request-id"])
    assert audit["privacy"] == "routed_local" and json.loads(audit["pii"])["EMAIL"] == 1
    clean = ask(served, "hr", CLEAN)
    assert clean.headers["x-switchyard-target"] == "cloud/big"  # clean requests use the first target


def test_route_local_streams_from_the_local_target(served, remote, onprem):
    before = len(remote.requests)
    stream = client(served).chat.completions.with_raw_response.create(
        model="hr", messages=[{"role": "user", "content": SENSITIVE}], stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in stream.parse() if c.choices)
    assert stream.headers["x-switchyard-target"] == "onprem/llama" and text == f"echo: {SENSITIVE}"
    assert len(remote.requests) == before and onprem.requests[-1]["stream"] is True


def test_sensitive_conversation_stays_local_on_later_clean_turns(served, remote):
    ask(served, "hr", SENSITIVE, user="employee-42")
    before = len(remote.requests)
    later = ask(served, "hr", CLEAN, user="employee-42")
    assert later.headers["x-switchyard-target"] == "onprem/llama"
    assert len(remote.requests) == before
    audit = row(served, later.headers["x-request-id"])
    assert audit["privacy"] == "routed_local" and not audit["pii"]
    other = ask(served, "hr", CLEAN, user="employee-7")
    assert other.headers["x-switchyard-target"] == "cloud/big"


def test_session_header_pins_too(served, remote):
    c = client(served, **{"x-switchyard-session": "case-991"})
    c.chat.completions.create(model="hr", messages=[{"role": "user", "content": SENSITIVE}])
    before = len(remote.requests)
    later = c.chat.completions.with_raw_response.create(model="hr", messages=[{"role": "user", "content": CLEAN}])
    assert later.headers["x-switchyard-target"] == "onprem/llama" and len(remote.requests) == before
    other = client(served, **{"x-switchyard-session": "case-992"}).chat.completions.with_raw_response.create(
        model="hr", messages=[{"role": "user", "content": CLEAN}])
    assert other.headers["x-switchyard-target"] == "cloud/big"


@pytest.mark.parametrize("tag", ["confidential", "Confidential"])
def test_confidential_tag_forces_local_routing(served, remote, tag):
    before = len(remote.requests)
    raw = client(served, **{"x-switchyard-sensitivity": tag}).chat.completions.with_raw_response.create(
        model="open", messages=[{"role": "user", "content": CLEAN}])
    assert raw.headers["x-switchyard-target"] == "onprem/llama"
    assert len(remote.requests) == before
    audit = row(served, raw.headers["x-request-id"])  # an allow alias, yet the audit shows where it went
    assert audit["privacy"] == "routed_local" and not audit["pii"]


def test_unknown_sensitivity_tag_is_refused_not_ignored(served, remote):
    before = len(remote.requests)
    with pytest.raises(openai.BadRequestError) as err:
        client(served, **{"x-switchyard-sensitivity": "confidental"}).chat.completions.create(
            model="open", messages=[{"role": "user", "content": CLEAN}])
    assert err.value.response.json()["error"]["code"] == "invalid_sensitivity"
    assert "confidental" in err.value.response.json()["error"]["message"]
    assert len(remote.requests) == before


def test_block_refuses_and_names_kinds_not_values(served, remote):
    before = len(remote.requests)
    with pytest.raises(openai.BadRequestError) as err:
        client(served).chat.completions.create(model="legal", messages=[{"role": "user", "content": SENSITIVE}])
    body = err.value.response.json()["error"]
    assert body["code"] == "sensitive_data_blocked"
    assert "EMAIL" in body["message"] and "CREDIT_CARD" in body["message"]
    assert not [v for v in PLANTED.values() if v in body["message"]]
    assert len(remote.requests) == before
    audit = row(served, err.value.response.headers["x-request-id"])
    assert audit["privacy"] == "blocked" and audit["status"] == 400
    assert client(served).chat.completions.create(
        model="legal", messages=[{"role": "user", "content": CLEAN}]).choices[0].message.content


def test_no_local_target_means_refusal_not_leak(served, remote):
    before = len(remote.requests)
    with pytest.raises(openai.BadRequestError) as err:
        client(served).chat.completions.create(model="remote-only",
                                               messages=[{"role": "user", "content": SENSITIVE}])
    assert err.value.response.json()["error"]["code"] == "no_local_target"
    assert len(remote.requests) == before


def stored_bytes(served) -> bytes:
    """Everything SQLite has on disk: the database, its WAL and shared-memory files."""
    return b"".join(p.read_bytes() for p in served.db_path.parent.glob("switchyard.db*"))


def test_no_value_is_stored_under_the_metadata_policy(served):
    for model in ("support", "hr", "open"):
        stored = row(served, ask(served, model, SENSITIVE).headers["x-request-id"])
        assert stored["request_body"] is None and stored["response_body"] is None
    assert [v for v in [*PLANTED.values(), *FRAGMENTS] if v.encode() in stored_bytes(served)] == []


def audit_cli(served, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "switchyard", "audit", "--config", str(served.config_path), *args],
                          capture_output=True, text=True, env=served.env, timeout=60)


def test_audit_command_lists_kinds_and_actions(served):
    ids = {"redacted": ask(served, "support", SENSITIVE).headers["x-request-id"],
           "routed_local": ask(served, "hr", SENSITIVE).headers["x-request-id"],
           "allowed": ask(served, "hr", CLEAN, user="audit-clean").headers["x-request-id"]}
    with pytest.raises(openai.BadRequestError) as err:
        ask(served, "legal", SENSITIVE)
    ids["blocked"] = err.value.response.headers["x-request-id"]
    for request_id in ids.values():
        row(served, request_id)
    result = audit_cli(served, "--since", "1d", "--json")
    assert result.returncode == 0, result.stderr
    rows = {r["id"]: r for r in map(json.loads, result.stdout.splitlines())}
    for action in ("redacted", "routed_local", "blocked"):
        listed = rows[ids[action]]
        assert listed["privacy"] == action and listed["pii"] == {kind: 1 for kind in PLANTED}, listed
    assert rows[ids["blocked"]]["status"] == 400 and rows[ids["redacted"]]["target"] == "cloud/big"
    assert rows[ids["routed_local"]]["target"] == "onprem/llama"
    assert ids["allowed"] not in rows  # nothing found, nothing done: not an audit event
    assert not [v for v in [*PLANTED.values(), *FRAGMENTS] if v in result.stdout]
    table = audit_cli(served)  # default --since 1d
    assert table.returncode == 0, table.stderr
    line = next(line for line in table.stdout.splitlines() if ids["blocked"] in line)
    assert "blocked" in line and "EMAIL 1" in line and "PERSON 1" in line


def test_redacted_logging_stores_placeholders_only(remote, onprem, tmp_path):
    served = start_gateway(tmp_path, config(remote, onprem, logging="redacted"))
    try:
        for model in ("support", "hr", "open"):  # redacted upstream, kept local, and sent as is
            raw = ask(served, model, SENSITIVE)
            stored = row(served, raw.headers["x-request-id"])
            assert "<EMAIL_1>" in stored["request_body"].decode(), model
            assert "<EMAIL_1>" in stored["response_body"].decode(), model
        served.wait_rows(3)
        data = b"".join(p.read_bytes() for p in tmp_path.glob("switchyard.db*"))
        assert [k for k, v in PLANTED.items() if v.encode() in data] == []
    finally:
        served.stop()


def test_bodies_are_sealed_at_rest(remote, onprem, tmp_path):
    extra = "logging: {policy: full, encryption_key_env: SY_LOG_KEY}"
    text = config(remote, onprem).replace("logging: {policy: metadata}", extra)
    served = start_gateway(tmp_path, text, env={"SY_LOG_KEY": LOG_KEY})
    try:
        ask(served, "open", SENSITIVE)
        served.wait_rows(1)
        served.stop()
        data = b"".join(p.read_bytes() for p in tmp_path.glob("switchyard.db*"))
        assert PLANTED["EMAIL"].encode() not in data and b"opening" not in data
        logs = subprocess.run([sys.executable, "-m", "switchyard", "logs", "--config", str(served.config_path),
                               "--json"], capture_output=True, text=True, timeout=60,
                              env={**os.environ, **served.env, "SY_LOG_KEY": LOG_KEY})
        assert logs.returncode == 0, logs.stderr
        assert PLANTED["EMAIL"] in json.loads(logs.stdout.splitlines()[-1])["request_body"]
    finally:
        served.stop()


def embed(served, model: str, text: str, **headers):
    return client(served, **headers).embeddings.with_raw_response.create(model=model, input=["hello", text])


def test_embeddings_inputs_are_redacted_before_they_leave(served, remote):
    before = len(remote.requests)
    raw = embed(served, "support", SENSITIVE)
    assert raw.http_response.status_code == 200 and len(raw.parse().data) == 2
    assert leaked(remote, before) == []
    sent = remote.requests[-1]["input"]
    assert sent[0] == "hello" and "<EMAIL_1>" in sent[1] and "<SSN_1>" in sent[1]
    assert row(served, raw.headers["x-request-id"])["privacy"] == "redacted"


def test_embeddings_under_route_local_and_block_never_reach_the_remote(served, remote, onprem):
    before, local_before = len(remote.requests), len(onprem.requests)
    raw = embed(served, "hr", SENSITIVE)
    assert raw.headers["x-switchyard-target"] == "onprem/llama"
    assert onprem.requests[local_before]["input"][1] == SENSITIVE  # the local target sees the text as is
    raw = embed(served, "open", SENSITIVE, **{"x-switchyard-sensitivity": "confidential"})
    assert raw.headers["x-switchyard-target"] == "onprem/llama"
    with pytest.raises(openai.BadRequestError) as err:
        embed(served, "legal", SENSITIVE)
    assert err.value.code == "sensitive_data_blocked" and "EMAIL" in err.value.message
    assert leaked(remote, before) == []


def test_a_judge_is_bound_by_the_request_verdict(served, remote):
    # the request must stay local and the judge alias is remote only: the judge is not asked
    before = len(remote.requests)
    with pytest.raises(openai.APIStatusError) as err:
        ask(served, "judged-local", SENSITIVE)
    assert err.value.status_code == 502
    assert leaked(remote, before) == [] and len(remote.requests) == before
    attempts = json.loads(row(served, err.value.response.headers["x-request-id"])["attempts"])
    assert [a["target"] for a in attempts] == ["onprem/llama", "onprem/llama-big"]
    assert all("no local target" in a["error"] for a in attempts), attempts

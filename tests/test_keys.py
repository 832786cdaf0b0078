"""Virtual keys: from the config, from the admin API and from `switchyard keys`;
who they let in, what the log records about them (never their value), and the
open mode with no keys at all."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import openai
import pytest

from tests.conftest import UPSTREAM_ENV, Served, free_port

ALICE = "sk-test-alice-4f1c2b9e7d"
BOB = "sk-test-bob-8a3e6c0d5f"
ADMIN = "sk-test-admin-1b2c3d4e5f"
KEY_ENV = {"K_ALICE": ALICE, "K_BOB": BOB, "K_ADMIN": ADMIN}
MESSAGES = [{"role": "user", "content": "hello"}]


def config(upstream_url: str, keys: str = "", admin: str = "", logging: str = "metadata") -> str:
    return f"""
providers:
  up:
    kind: openai
    base_url: {upstream_url}/v1
    api_key: ${{OPENAI_UP_KEY}}
models:
  - name: chat
    targets: [{{provider: up, model: gpt-chat}}]
  - name: other
    targets: [{{provider: up, model: gpt-other}}]
logging: {{policy: {logging}}}
{keys}
{admin}
"""


CONFIG_KEYS = """keys:
  - {name: alice, key_env: K_ALICE, models: [chat], team: red}
  - {name: bob, key_env: K_BOB, team: blue}
"""
ADMIN_KEY = "admin: {key_env: K_ADMIN}"


def client(served: Served, key: str | None) -> openai.OpenAI:
    return openai.OpenAI(base_url=served.base_url, api_key=key or "", max_retries=0, timeout=20)


def ask(served: Served, key: str | None, model: str = "chat") -> str:
    reply = client(served, key).chat.completions.with_raw_response.create(model=model, messages=MESSAGES)
    assert reply.parse().choices[0].message.content == "echo: hello"
    return reply.headers["x-request-id"]


def http(served: Served, method: str, path: str, key: str | None = None,
         body: dict | list | None = None) -> tuple[int, dict, dict]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(served.url + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if key is not None:
        req.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(req, timeout=20) as resp:
            return resp.status, dict(resp.headers), json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read())


def cli(served: Served, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "switchyard", *args, "--config", str(served.config_path)],
                          env=served.env, capture_output=True, text=True, timeout=60)


def db_bytes(served: Served) -> bytes:
    """The SQLite file and any WAL/journal next to it, as raw bytes."""
    return b"".join(p.read_bytes() for p in sorted(Path(served.db_path).parent.glob(served.db_path.name + "*")))


def wait_for_status(served: Served, key: str, status: int, timeout: float) -> float:
    """Poll a chat request with `key` until it answers `status`; return how long that took."""
    started = time.monotonic()
    while True:
        got = http(served, "POST", "/v1/chat/completions", key, {"model": "chat", "messages": MESSAGES})[0]
        if got == status:
            return time.monotonic() - started
        assert time.monotonic() - started < timeout, f"still {got} after {timeout}s, expected {status}"
        time.sleep(0.25)


# -- keys from the config ----------------------------------------------------------


def test_config_keys_are_logged_by_name_and_team_never_by_value(gateway, openai_upstream):
    served = gateway(config(openai_upstream.url, CONFIG_KEYS, logging="full"), env=KEY_ENV)
    seen_upstream = len(openai_upstream.headers)
    alice_id = ask(served, ALICE)
    bob_id = ask(served, BOB, model="other")
    with pytest.raises(openai.PermissionDeniedError) as denied:
        client(served, ALICE).chat.completions.create(model="other", messages=MESSAGES)
    assert denied.value.status_code == 403
    stream = client(served, BOB).chat.completions.create(model="chat", messages=MESSAGES, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "echo: hello"
    with pytest.raises(openai.AuthenticationError) as unknown:
        client(served, ALICE + "-typo").chat.completions.create(model="chat", messages=MESSAGES)

    rows = {r["id"]: r for r in served.wait_rows(5)}
    assert (rows[alice_id]["key_name"], rows[alice_id]["team"], rows[alice_id]["status"]) == ("alice", "red", 200)
    assert (rows[bob_id]["key_name"], rows[bob_id]["team"]) == ("bob", "blue")
    denied_row = rows[denied.value.response.headers["x-request-id"]]
    assert (denied_row["key_name"], denied_row["team"], denied_row["status"]) == ("alice", "red", 403)
    unknown_row = rows[unknown.value.response.headers["x-request-id"]]
    assert (unknown_row["key_name"], unknown_row["status"]) == (None, 401)  # refused, still logged
    assert sorted(r["key_name"] or "-" for r in rows.values()) == ["-", "alice", "alice", "bob", "bob"]
    assert rows[alice_id]["request_body"]  # the full policy keeps bodies: still no key in them

    # the gateway's keys never travel upstream: the provider's own key does
    for headers in openai_upstream.headers[seen_upstream:]:
        assert headers.get("Authorization") == "Bearer upstream-key"
        assert not any(secret in value for value in headers.values() for secret in (ALICE, BOB))

    output = served.stop()
    data = db_bytes(served)
    assert b"alice" in data and b"red" in data  # the search does see what is written
    for secret in (ALICE, BOB, ALICE + "-typo"):
        assert secret.encode() not in data
        assert secret not in output


def test_config_key_with_unset_env_is_disabled_not_open(gateway, openai_upstream):
    keys = CONFIG_KEYS + "  - {name: ghost, key_env: K_NOT_SET_ANYWHERE}\n"
    served = gateway(config(openai_upstream.url, keys), env=KEY_ENV)
    assert ask(served, ALICE)
    status, headers, body = http(served, "POST", "/v1/chat/completions", None, {"model": "chat", "messages": MESSAGES})
    assert (status, body["error"]["code"]) == (401, "missing_api_key")
    assert headers["x-request-id"]
    status, _, body = http(served, "POST", "/v1/chat/completions", "", {"model": "chat", "messages": MESSAGES})
    assert status == 401
    assert "ghost" in served.stop()  # the warning names the disabled key


def test_models_list_follows_the_key(gateway, openai_upstream):
    served = gateway(config(openai_upstream.url, CONFIG_KEYS, ADMIN_KEY), env=KEY_ENV)
    assert [m.id for m in client(served, ALICE).models.list()] == ["chat"]
    assert [m.id for m in client(served, BOB).models.list()] == ["chat", "other"]
    assert [m.id for m in client(served, ADMIN).models.list()] == ["chat", "other"]
    with pytest.raises(openai.AuthenticationError):
        client(served, "sk-unknown").models.list()


# -- the admin API ------------------------------------------------------------------


def test_admin_creates_and_lists_keys(gateway, openai_upstream):
    served = gateway(config(openai_upstream.url, CONFIG_KEYS, ADMIN_KEY), env=KEY_ENV)
    status, headers, created = http(served, "POST", "/admin/keys", ADMIN,
                                    {"name": "svc", "models": ["chat"], "team": "ops"})
    assert status == 201, created
    assert headers["x-request-id"]
    value = created["key"]
    assert value.startswith("sk-") and len(value) > 30
    assert (created["name"], created["models"], created["team"]) == ("svc", ["chat"], "ops")

    # the new key works at once, within its models
    request_id = ask(served, value)
    with pytest.raises(openai.PermissionDeniedError):
        client(served, value).chat.completions.create(model="other", messages=MESSAGES)
    # the admin key may use every alias
    ask(served, ADMIN, model="other")

    status, _, listing = http(served, "GET", "/admin/keys", ADMIN)
    assert status == 200
    assert [k["name"] for k in listing["data"]] == ["svc"]
    entry = listing["data"][0]
    assert "key" not in entry and "key_hash" not in entry
    assert (entry["models"], entry["team"], entry["revoked"]) == (["chat"], "ops", False)
    assert value not in json.dumps(listing)

    # the same name twice, unknown models and malformed bodies are refused
    status, _, body = http(served, "POST", "/admin/keys", ADMIN, {"name": "svc"})
    assert (status, body["error"]["code"]) == (400, "key_exists")
    status, _, body = http(served, "POST", "/admin/keys", ADMIN, {"name": "svc2", "models": ["nope"]})
    assert status == 400 and "nope" in body["error"]["message"]
    for bad in ([], {"models": ["chat"]}, {"name": 5}):
        status, _, body = http(served, "POST", "/admin/keys", ADMIN, bad)
        assert status == 400, bad
        assert body["error"]["type"] == "invalid_request_error"
    assert [k["name"] for k in http(served, "GET", "/admin/keys", ADMIN)[2]["data"]] == ["svc"]

    rows = {r["id"]: r for r in served.wait_rows(3)}
    assert (rows[request_id]["key_name"], rows[request_id]["team"]) == ("svc", "ops")
    served.stop()
    data = db_bytes(served)
    for secret in (value, ADMIN, ALICE, BOB):
        assert secret.encode() not in data


def test_admin_endpoints_refuse_other_keys(gateway, openai_upstream):
    served = gateway(config(openai_upstream.url, CONFIG_KEYS, ADMIN_KEY), env=KEY_ENV)
    for key in (ALICE, BOB):
        for method, body in (("GET", None), ("POST", {"name": "sneaky"})):
            status, headers, answer = http(served, method, "/admin/keys", key, body)
            assert status == 403, (key, method)
            assert answer["error"]["code"] == "admin_only"
            assert answer["error"]["type"] == "permission_error"
            assert headers["x-request-id"]
    status, _, answer = http(served, "GET", "/admin/keys", None)
    assert (status, answer["error"]["code"]) == (401, "missing_api_key")
    status, _, answer = http(served, "POST", "/admin/keys", "sk-wrong", {"name": "sneaky"})
    assert status == 401
    # a key created by the admin is not an admin either
    value = http(served, "POST", "/admin/keys", ADMIN, {"name": "svc"})[2]["key"]
    assert http(served, "GET", "/admin/keys", value)[0] == 403
    assert [k["name"] for k in http(served, "GET", "/admin/keys", ADMIN)[2]["data"]] == ["svc"]


def test_admin_without_admin_key_configured_is_refused(gateway, openai_upstream):
    served = gateway(config(openai_upstream.url, CONFIG_KEYS), env=KEY_ENV)
    assert http(served, "GET", "/admin/keys", BOB)[0] == 403
    assert http(served, "GET", "/admin/keys", ADMIN)[0] == 401


def test_admin_created_key_rpm_is_enforced(gateway, openai_upstream):
    served = gateway(config(openai_upstream.url, CONFIG_KEYS, ADMIN_KEY), env=KEY_ENV)
    value = http(served, "POST", "/admin/keys", ADMIN, {"name": "slow", "rpm": 1})[2]["key"]
    ask(served, value)
    with pytest.raises(openai.RateLimitError) as info:
        client(served, value).chat.completions.create(model="chat", messages=MESSAGES)
    assert int(info.value.response.headers["retry-after"]) >= 1


# -- the CLI ----------------------------------------------------------------------


def test_cli_created_key_works_and_revocation_takes_effect(gateway, openai_upstream):
    served = gateway(config(openai_upstream.url, CONFIG_KEYS), env=KEY_ENV)
    made = cli(served, "keys", "create", "--name", "batch", "--models", "chat", "--team", "data")
    assert made.returncode == 0, made.stderr
    value = made.stdout.strip()
    assert value.startswith("sk-") and "\n" not in value
    assert value not in made.stderr

    request_id = ask(served, value)  # the running gateway accepts it at once
    with pytest.raises(openai.PermissionDeniedError):
        client(served, value).chat.completions.create(model="other", messages=MESSAGES)
    row = {r["id"]: r for r in served.wait_rows(2)}[request_id]
    assert (row["key_name"], row["team"]) == ("batch", "data")

    listed = cli(served, "keys", "list")
    assert listed.returncode == 0, listed.stderr
    assert "batch" in listed.stdout and value not in listed.stdout

    again = cli(served, "keys", "create", "--name", "batch")
    assert again.returncode != 0
    assert "exists" in again.stderr and "Traceback" not in again.stderr

    revoked = cli(served, "keys", "revoke", "batch")
    assert revoked.returncode == 0, revoked.stderr
    took = wait_for_status(served, value, 401, timeout=14)
    assert took < 12.5
    assert ask(served, BOB)  # other keys are unaffected
    assert "yes" in cli(served, "keys", "list").stdout

    twice = cli(served, "keys", "revoke", "batch")
    assert twice.returncode != 0 and "Traceback" not in twice.stderr

    served.stop()
    assert value.encode() not in db_bytes(served)


def test_cli_refuses_unknown_models(gateway, openai_upstream):
    served = gateway(config(openai_upstream.url, CONFIG_KEYS), env=KEY_ENV)
    made = cli(served, "keys", "create", "--name", "x", "--models", "chat,nope")
    assert made.returncode != 0
    assert "nope" in made.stderr and "Traceback" not in made.stderr
    assert made.stdout == ""


# -- no keys at all ---------------------------------------------------------------


def test_no_keys_runs_open_on_loopback(gateway, openai_upstream):
    served = gateway(config(openai_upstream.url))
    ask(served, "anything-at-all")
    status, _, body = http(served, "POST", "/v1/chat/completions", None, {"model": "chat", "messages": MESSAGES})
    assert status == 200 and body["choices"][0]["message"]["content"] == "echo: hello"
    status, _, body = http(served, "POST", "/v1/chat/completions", "", {"model": "chat", "messages": MESSAGES})
    assert status == 200
    status, _, body = http(served, "GET", "/v1/models", None)
    assert status == 200 and [m["id"] for m in body["data"]] == ["chat", "other"]
    rows = served.wait_rows(3)
    assert [(r["status"], r["key_name"]) for r in rows] == [(200, "open")] * 3
    # still no admin without an admin key
    assert http(served, "GET", "/admin/keys", None)[0] == 403
    assert "without authentication" in served.stop()


def test_no_keys_refuses_to_serve_on_all_interfaces(tmp_path, openai_upstream):
    path = tmp_path / "switchyard.yaml"
    path.write_text(config(openai_upstream.url) + f"\nstore: {{path: {tmp_path / 'switchyard.db'}}}\n")
    port = free_port()
    done = subprocess.run(
        [sys.executable, "-m", "switchyard", "serve", "--config", str(path), "--host", "0.0.0.0", "--port", str(port)],
        env={**os.environ, **UPSTREAM_ENV}, capture_output=True, text=True, timeout=30)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr + done.stdout
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert "0.0.0.0" in lines[0] and "keys" in lines[0]


def test_keys_allow_serving_on_all_interfaces(gateway, openai_upstream):
    served = gateway(config(openai_upstream.url, CONFIG_KEYS), env=KEY_ENV, args=("--host", "0.0.0.0"))
    ask(served, BOB)
    assert http(served, "GET", "/v1/models", None)[0] == 401

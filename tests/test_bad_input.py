"""Bad input at the edge: malformed or mistyped bodies, unknown models and paths,
oversized bodies, missing, wrong and under-privileged keys, and rate limits.

Each gets OpenAI-style error JSON with the right status and an x-request-id; the
server keeps serving, and no earlier log row goes missing."""

from __future__ import annotations

import http.client
import json
import signal
import time
from urllib.parse import urlsplit

import openai
import pytest

from tests.conftest import Served, start_gateway

MAX_BODY = 2048
KEYS = {"BI_KEY_MAIN": "sk-bi-main-0123456789", "BI_KEY_LIMITED": "sk-bi-limited-0123456789",
        "BI_KEY_RPM": "sk-bi-rpm-0123456789"}
MAIN = KEYS["BI_KEY_MAIN"]
MESSAGES = [{"role": "user", "content": "hello"}]


@pytest.fixture(scope="module")
def served(openai_upstream, tmp_path_factory):
    config = f"""
server:
  max_body_bytes: {MAX_BODY}
providers:
  up:
    kind: openai
    base_url: {openai_upstream.url}/v1
    api_key: ${{OPENAI_UP_KEY}}
models:
  - name: chat
    targets: [{{provider: up, model: gpt-chat}}]
  - name: other
    targets: [{{provider: up, model: gpt-other}}]
keys:
  - {{name: main, key_env: BI_KEY_MAIN, team: core}}
  - {{name: limited, key_env: BI_KEY_LIMITED, models: [chat]}}
  - {{name: metered, key_env: BI_KEY_RPM, rpm: 2}}
"""
    server = start_gateway(tmp_path_factory.mktemp("bad_input"), config, env=KEYS)
    yield server
    server.stop()


# Ids of requests that reached the gateway's request path, so must have a log row.
LOGGED: list[str] = []


def client(served: Served, key: str = MAIN) -> openai.OpenAI:
    return openai.OpenAI(base_url=served.base_url, api_key=key, max_retries=0, timeout=20)


def raw_request(served: Served, method: str, path: str, body: bytes | None = None, *,
                key: str | None = MAIN, headers: dict[str, str] | None = None,
                chunked: bool = False) -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(served.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=20)
    hdrs = {"Content-Type": "application/json", **(headers or {})}
    if key is not None:
        hdrs["Authorization"] = f"Bearer {key}"
    try:
        if chunked:
            pieces = [body[i:i + 512] for i in range(0, len(body or b""), 512)]
            conn.request(method, path, body=iter(pieces), headers=hdrs, encode_chunked=True)
        else:
            conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def check_error(status: int, headers: dict[str, str], raw: bytes, expected_status: int,
                code: str | None = None, error_type: str | None = None) -> dict:
    assert status == expected_status, raw
    assert headers["content-type"].startswith("application/json")
    assert headers["x-request-id"].startswith("req_")
    body = json.loads(raw)
    error = body["error"]
    assert set(error) >= {"message", "type", "code"}
    assert isinstance(error["message"], str) and error["message"]
    if code is not None:
        assert error["code"] == code
    if error_type is not None:
        assert error["type"] == error_type
    return error


def chat_body(**fields) -> bytes:
    return json.dumps({"model": "chat", "messages": MESSAGES, **fields}).encode()


def row_for(served: Served, request_id: str, timeout: float = 10.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        rows = served.rows("SELECT * FROM requests WHERE id = ?", (request_id,))
        if rows:
            return rows[0]
        assert time.monotonic() < deadline, f"no log row for {request_id}"
        time.sleep(0.05)


def test_good_request_first(served):
    raw = client(served).chat.completions.with_raw_response.create(model="chat", messages=MESSAGES)
    assert raw.parse().choices[0].message.content == "echo: hello"
    LOGGED.append(raw.headers["x-request-id"])
    row = row_for(served, raw.headers["x-request-id"])
    assert (row["status"], row["key_name"], row["team"]) == (200, "main", "core")


BAD_BODIES = {
    "malformed json": b'{"model": "chat", "messages": [',
    "empty body": b"",
    "invalid utf-8": b'{"model": "chat\xff", "messages": []}',
    "lone surrogate": b'{"model": "chat", "messages": [{"role": "user", "content": "\\ud800"}]}',
    "too deeply nested": b"[" * 1100,  # orjson stops at depth 1024
    "array body": json.dumps([{"model": "chat", "messages": MESSAGES}]).encode(),
    "string body": b'"hello"',
    "null body": b"null",
    "messages is a string": chat_body(messages="hi"),
    "messages holds strings": chat_body(messages=["hi"]),
    "temperature is a word": chat_body(temperature="hot"),
    "max_tokens is a float": chat_body(max_tokens=1.5),
    "stream is a word": chat_body(stream="yes"),
    "unknown role": chat_body(messages=[{"role": "wizard", "content": "hi"}]),
    "content is a number": chat_body(messages=[{"role": "user", "content": 5}]),
    "missing messages": json.dumps({"model": "chat"}).encode(),
    "missing model": json.dumps({"messages": MESSAGES}).encode(),
    "model is a number": json.dumps({"model": 5, "messages": MESSAGES}).encode(),
    "empty messages": chat_body(messages=[]),
    "n of 2": chat_body(n=2),
    "bad tool type": chat_body(tools=[{"type": "nope", "function": {"name": "f"}}]),
}


@pytest.mark.parametrize("name", list(BAD_BODIES))
def test_bad_chat_body_is_400(served, name):
    status, headers, raw = raw_request(served, "POST", "/v1/chat/completions", BAD_BODIES[name])
    check_error(status, headers, raw, 400, code="invalid_request", error_type="invalid_request_error")
    LOGGED.append(headers["x-request-id"])
    row = row_for(served, headers["x-request-id"])
    assert row["status"] == 400
    assert row["key_name"] == "main"
    assert row["error"] == json.loads(raw)["error"]["message"]


def test_bad_body_messages_name_the_problem(served):
    _, headers, raw = raw_request(served, "POST", "/v1/chat/completions", BAD_BODIES["messages is a string"])
    assert "messages" in json.loads(raw)["error"]["message"]
    LOGGED.append(headers["x-request-id"])
    _, headers, raw = raw_request(served, "POST", "/v1/chat/completions", BAD_BODIES["temperature is a word"])
    assert "temperature" in json.loads(raw)["error"]["message"]
    LOGGED.append(headers["x-request-id"])
    _, headers, raw = raw_request(served, "POST", "/v1/chat/completions", BAD_BODIES["missing messages"])
    assert "messages" in json.loads(raw)["error"]["message"]
    LOGGED.append(headers["x-request-id"])


@pytest.mark.parametrize("body", [b'{"model": "chat"}', b'{"model": "chat", "input": 5}', b"[]", b"{"])
def test_bad_embeddings_body_is_400(served, body):
    status, headers, raw = raw_request(served, "POST", "/v1/embeddings", body)
    check_error(status, headers, raw, 400, error_type="invalid_request_error")
    LOGGED.append(headers["x-request-id"])


def test_openai_client_sees_bad_request(served):
    with pytest.raises(openai.BadRequestError) as info:
        client(served).chat.completions.create(model="chat", messages=[])
    assert info.value.status_code == 400
    LOGGED.append(info.value.response.headers["x-request-id"])


def test_unknown_model_is_404(served):
    with pytest.raises(openai.NotFoundError) as info:
        client(served).chat.completions.create(model="no-such-model", messages=MESSAGES)
    exc = info.value
    assert exc.status_code == 404
    error = check_error(exc.status_code, dict(exc.response.headers), exc.response.content, 404,
                        code="model_not_found", error_type="invalid_request_error")
    assert "no-such-model" in error["message"]
    LOGGED.append(exc.response.headers["x-request-id"])
    assert row_for(served, exc.response.headers["x-request-id"])["status"] == 404


def test_unknown_model_streaming_is_404(served):
    with pytest.raises(openai.NotFoundError):
        client(served).chat.completions.create(model="no-such-model", messages=MESSAGES, stream=True)


def test_unknown_model_embeddings_and_lookup_are_404(served):
    with pytest.raises(openai.NotFoundError):
        client(served).embeddings.create(model="no-such-model", input="hi")
    with pytest.raises(openai.NotFoundError):
        client(served).models.retrieve("no-such-model")


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/v1/completions"), ("GET", "/v2/chat/completions"),
    ("DELETE", "/v1/models/chat"), ("GET", "/"),
])
def test_unknown_endpoint_is_404(served, method, path):
    status, headers, raw = raw_request(served, method, path, b"{}" if method == "POST" else None)
    error = check_error(status, headers, raw, 404, code="unknown_url")
    assert path in error["message"]


@pytest.mark.parametrize(("method", "path"), [("GET", "/v1/chat/completions"), ("POST", "/v1/models")])
def test_wrong_method_on_known_path_is_405(served, method, path):
    status, headers, raw = raw_request(served, method, path, b"{}" if method == "POST" else None)
    error = check_error(status, headers, raw, 405, code="method_not_allowed")
    assert method in error["message"] and path in error["message"]


def test_refused_requests_are_logged(served):
    """401 and 413 are turned away before the gateway parses anything, yet each leaves a log row."""
    status, headers, _ = raw_request(served, "POST", "/v1/chat/completions", b"{}", key="sk-wrong")
    assert status == 401
    status, big_headers, _ = raw_request(served, "POST", "/v1/chat/completions", b"x" * (MAX_BODY * 4))
    assert status == 413
    rows = {r["id"]: r for r in served.wait_rows(0)}
    deadline = time.monotonic() + 10
    while not {headers["x-request-id"], big_headers["x-request-id"]} <= rows.keys() and time.monotonic() < deadline:
        time.sleep(0.05)
        rows = {r["id"]: r for r in served.rows()}
    assert rows[headers["x-request-id"]]["status"] == 401
    assert rows[headers["x-request-id"]]["key_name"] is None
    assert rows[big_headers["x-request-id"]]["status"] == 413
    assert rows[big_headers["x-request-id"]]["key_name"] == "main"


@pytest.mark.parametrize("size", [MAX_BODY * 4, 5_000_000], ids=["small", "5MB"])
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_oversized_body_is_413(served, chunked, size):
    body = chat_body(messages=[{"role": "user", "content": "x" * size}])
    parts = urlsplit(served.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=20)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {MAIN}"}
    try:
        if chunked:
            pieces = iter([body[i:i + 65536] for i in range(0, len(body), 65536)])
            conn.request("POST", "/v1/chat/completions", body=pieces, headers=headers, encode_chunked=True)
        else:
            conn.request("POST", "/v1/chat/completions", body=body, headers=headers)
        resp = conn.getresponse()
        error = check_error(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read(), 413,
                            code="request_too_large", error_type="invalid_request_error")
        assert str(MAX_BODY) in error["message"]
        # the same connection still serves a good request afterwards
        conn.request("POST", "/v1/chat/completions", body=chat_body(), headers=headers)
        resp = conn.getresponse()
        assert resp.status == 200
        assert json.loads(resp.read())["choices"][0]["message"]["content"] == "echo: hello"
        LOGGED.append(resp.getheader("x-request-id"))
    finally:
        conn.close()


def test_body_just_under_limit_is_accepted(served):
    body = chat_body(messages=[{"role": "user", "content": "y"}])
    padding = MAX_BODY - len(body)
    body = chat_body(messages=[{"role": "user", "content": "y" * (padding + 1)}])
    assert len(body) == MAX_BODY
    for chunked in (False, True):
        status, headers, raw = raw_request(served, "POST", "/v1/chat/completions", body, chunked=chunked)
        assert status == 200, raw
        LOGGED.append(headers["x-request-id"])


def test_oversized_body_via_openai_client(served):
    same = client(served)  # one client: the next request may reuse the kept-alive connection
    for _ in range(2):
        with pytest.raises(openai.APIStatusError) as info:
            same.chat.completions.create(model="chat", messages=[{"role": "user", "content": "z" * MAX_BODY}])
        assert info.value.status_code == 413
        raw = same.chat.completions.with_raw_response.create(model="chat", messages=MESSAGES)
        assert raw.parse().choices[0].message.content == "echo: hello"
        LOGGED.append(raw.headers["x-request-id"])


def test_missing_key_is_401(served):
    status, headers, raw = raw_request(served, "POST", "/v1/chat/completions", chat_body(), key=None)
    check_error(status, headers, raw, 401, code="missing_api_key", error_type="authentication_error")
    status, headers, raw = raw_request(served, "GET", "/v1/models", key=None)
    check_error(status, headers, raw, 401, code="missing_api_key")
    # a scheme other than Bearer, or an empty bearer token, is no key either
    status, headers, raw = raw_request(served, "POST", "/v1/chat/completions", chat_body(), key=None,
                                       headers={"Authorization": f"Basic {MAIN}"})
    check_error(status, headers, raw, 401)
    status, headers, raw = raw_request(served, "POST", "/v1/chat/completions", chat_body(), key="")
    check_error(status, headers, raw, 401)


def test_wrong_key_is_401(served):
    with pytest.raises(openai.AuthenticationError) as info:
        client(served, "sk-not-a-real-key").chat.completions.create(model="chat", messages=MESSAGES)
    exc = info.value
    assert exc.status_code == 401
    check_error(401, dict(exc.response.headers), exc.response.content, 401, code="invalid_api_key",
                error_type="authentication_error")
    # the key's prefix or a near miss is no better
    with pytest.raises(openai.AuthenticationError):
        client(served, MAIN[:-1]).models.list()
    with pytest.raises(openai.AuthenticationError):
        client(served, MAIN + "x").models.list()


def test_key_in_x_api_key_header_works(served):
    status, headers, raw = raw_request(served, "POST", "/v1/chat/completions", chat_body(), key=None,
                                       headers={"x-api-key": MAIN})
    assert status == 200, raw
    LOGGED.append(headers["x-request-id"])


def test_model_not_allowed_for_key_is_403(served):
    limited = client(served, KEYS["BI_KEY_LIMITED"])
    with pytest.raises(openai.PermissionDeniedError) as info:
        limited.chat.completions.create(model="other", messages=MESSAGES)
    exc = info.value
    assert exc.status_code == 403
    error = check_error(403, dict(exc.response.headers), exc.response.content, 403, code="model_not_allowed",
                        error_type="permission_error")
    assert "other" in error["message"]
    LOGGED.append(exc.response.headers["x-request-id"])
    row = row_for(served, exc.response.headers["x-request-id"])
    assert (row["status"], row["key_name"]) == (403, "limited")
    with pytest.raises(openai.PermissionDeniedError):
        limited.models.retrieve("other")
    # what it may use still works, and /v1/models lists only that
    assert limited.chat.completions.create(model="chat", messages=MESSAGES).choices[0].message.content
    assert [m.id for m in limited.models.list()] == ["chat"]


def test_rpm_limit_is_429_with_retry_after(served):
    metered = client(served, KEYS["BI_KEY_RPM"])
    for _ in range(2):
        raw = metered.chat.completions.with_raw_response.create(model="chat", messages=MESSAGES)
        LOGGED.append(raw.headers["x-request-id"])
    with pytest.raises(openai.RateLimitError) as info:
        metered.chat.completions.create(model="chat", messages=MESSAGES)
    exc = info.value
    assert exc.status_code == 429
    check_error(429, dict(exc.response.headers), exc.response.content, 429, code="rate_limit_exceeded",
                error_type="rate_limit_error")
    assert int(exc.response.headers["retry-after"]) >= 1
    # the limit is per key: others are unaffected
    assert client(served).chat.completions.create(model="chat", messages=MESSAGES).choices


def test_server_keeps_serving_and_no_row_is_lost(served):
    raw = client(served).chat.completions.with_raw_response.create(model="chat", messages=MESSAGES)
    assert raw.parse().choices[0].message.content == "echo: hello"
    LOGGED.append(raw.headers["x-request-id"])
    stream = client(served).chat.completions.create(model="chat", messages=MESSAGES, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "echo: hello"

    output = served.stop()  # a clean shutdown flushes the log
    # uvicorn re-raises SIGTERM after its graceful shutdown, so -SIGTERM is a clean exit too
    assert served.process.returncode in (0, -signal.SIGTERM), output
    assert "Traceback" not in output, output
    assert "unhandled error" not in output, output
    logged = {r["id"] for r in served.rows()}
    missing = [rid for rid in LOGGED if rid not in logged]
    assert not missing, missing
    assert len(LOGGED) >= len(BAD_BODIES) + 5

"""Fault injection: upstream errors, timeouts, resets, refused connections and
broken streams, against a real `switchyard serve` and the fake OpenAI upstream.

One gateway serves the whole module; each alias pairs a faulty target with a
healthy `backup` target on a second fake, so "was the fallback tried?" is a
question about the backup fake's request list."""

from __future__ import annotations

import asyncio
import http.client
import json
import time
from urllib.parse import urlsplit

import openai
import orjson
import pytest
from aiohttp import web

from tests.conftest import Served, free_port, start_gateway
from tests.fakes import RECORDER, FakeServer
from tests.fakes.openai_server import openai_app

TIMEOUT_S = 0.5
FAULTS = ["fail-500", "fail-429", "slow-2000", "hang", "reset", "refused"]


def _target(fault: str) -> str:
    return "{provider: dead, model: gpt-dead}" if fault == "refused" else f"{{provider: up, model: {fault}}}"


def _label(fault: str) -> str:
    return "dead/gpt-dead" if fault == "refused" else f"up/{fault}"


def _alias(name: str, targets: list[str], retries: int = 0) -> str:
    return (f"  - name: {name}\n    timeout_s: {TIMEOUT_S}\n    retries: {retries}\n"
            f"    targets: [{', '.join(targets)}]\n")


BACKUP = "{provider: backup, model: gpt-backup}"


@pytest.fixture(scope="module")
def backup():
    with FakeServer(openai_app()) as server:
        yield server


async def _oddball_chat(request: web.Request) -> web.StreamResponse:
    """Misbehaviours the shared fake lacks, chosen by model name:

    stall-before-first   (stream) send the head, then nothing
    stall-after-1        (stream) send one chunk, then nothing
    not-json             answer 200 with an HTML page
    no-choices           answer 200 with a JSON object that is no completion
    error-first          (stream) an error event as the first event
    error-after-1        (stream) one chunk, then an error event
    retry-after-30       429 with Retry-After: 30
    bad-usage            a completion (or, streamed, a chunk after one good chunk) whose usage is no object
    bad-usage-first      (stream) such a chunk first
    """
    body = await request.json()
    request.app[RECORDER].record(request, body)
    model = body["model"]
    if model == "not-json":
        return web.Response(text="<html>502 Bad Gateway</html>", content_type="text/html")
    if model == "no-choices":
        return web.json_response({"object": "chat.completion", "id": "x"})
    if model == "retry-after-30":
        return web.json_response({"error": {"message": "slow down"}}, status=429, headers={"retry-after": "30"})
    if model == "bad-usage" and not body.get("stream"):
        return web.json_response({"id": "x", "object": "chat.completion", "created": 0, "model": model,
                                  "choices": [{"index": 0, "message": {"role": "assistant", "content": "odd"},
                                               "finish_reason": "stop"}], "usage": "n/a"})
    resp = web.StreamResponse(headers={"content-type": "text/event-stream"})
    await resp.prepare(request)
    if model in ("stall-after-1", "error-after-1", "bad-usage"):
        chunk = {"id": "chatcmpl-odd", "object": "chat.completion.chunk", "created": 0, "model": model,
                 "choices": [{"index": 0, "delta": {"role": "assistant", "content": "partial"},
                              "finish_reason": None}]}
        await resp.write(b"data: " + orjson.dumps(chunk) + b"\n\n")
    if model.startswith("bad-usage"):
        await resp.write(b'data: {"choices": [], "usage": "n/a"}\n\ndata: [DONE]\n\n')
        await resp.write_eof()
        return resp
    if model.startswith("error-"):
        # some OpenAI-compatible servers send the error as a bare string
        await resp.write(b'data: {"error": "model overloaded"}\n\n')
        await resp.write_eof()
        return resp
    await asyncio.sleep(3600)
    return resp


@pytest.fixture(scope="module")
def oddball():
    app = web.Application()
    app.router.add_post("/v1/chat/completions", _oddball_chat)
    with FakeServer(app) as server:
        yield server


@pytest.fixture(scope="module")
def served(openai_upstream, backup, oddball, tmp_path_factory):
    closed_port = free_port()  # nothing listens here: connection refused
    models = ""
    for fault in FAULTS:
        models += _alias(f"fo-{fault}", [_target(fault), BACKUP])  # falls over to the backup
        models += _alias(f"only-{fault}", [_target(fault)])  # nothing to fall over to
    models += _alias("retry-500", [_target("fail-500"), BACKUP], retries=1)
    models += _alias("retry-429", [_target("fail-429"), BACKUP], retries=1)
    models += _alias("mixed-timeouts", [_target("hang"), _target("slow-2000")])
    models += _alias("timeout-then-500", [_target("hang"), _target("fail-500")])
    for status in (400, 413, 422):
        models += _alias(f"rejects-{status}", [_target(f"fail-{status}"), BACKUP], retries=1)
    models += _alias("dies", [_target("die-after-2"), BACKUP], retries=1)
    models += _alias("stalls-early", ["{provider: oddball, model: stall-before-first}", BACKUP])
    models += _alias("stalls-late", ["{provider: oddball, model: stall-after-1}", BACKUP])
    models += _alias("not-json", ["{provider: oddball, model: not-json}", BACKUP])
    models += _alias("no-choices", ["{provider: oddball, model: no-choices}", BACKUP])
    models += _alias("error-first", ["{provider: oddball, model: error-first}", BACKUP])
    models += _alias("error-after-1", ["{provider: oddball, model: error-after-1}", BACKUP])
    models += _alias("retry-after-30", ["{provider: oddball, model: retry-after-30}", BACKUP], retries=2)
    models += _alias("bad-usage", ["{provider: oddball, model: bad-usage}", BACKUP])
    models += _alias("bad-usage-first", ["{provider: oddball, model: bad-usage-first}", BACKUP])
    models += _alias("bad-creds", ["{provider: badcreds, model: gpt-x}", BACKUP], retries=1)
    config = f"""
providers:
  up:
    kind: openai
    base_url: {openai_upstream.url}/v1
    api_key: ${{OPENAI_UP_KEY}}
  backup:
    kind: openai
    base_url: {backup.url}/v1
    api_key: ${{OPENAI_UP_KEY}}
  oddball:
    kind: openai
    base_url: {oddball.url}/v1
  badcreds:
    kind: openai
    base_url: {openai_upstream.url}/v1
    api_key: not-the-upstream-key
  dead:
    kind: openai
    base_url: http://127.0.0.1:{closed_port}/v1
    api_key: whatever
models:
{models}"""
    server = start_gateway(tmp_path_factory.mktemp("faults"), config)
    yield server
    server.stop()


@pytest.fixture
def client(served: Served) -> openai.OpenAI:
    # max_retries=0: the client must not hide the gateway's answers behind its own retries
    return openai.OpenAI(base_url=served.base_url, api_key="unused", max_retries=0, timeout=20)


MESSAGES = [{"role": "user", "content": "hi there"}]


def row_for(served: Served, request_id: str, timeout: float = 10.0) -> dict:
    """The log row of one request (written off the request path: poll)."""
    deadline = time.monotonic() + timeout
    while True:
        rows = served.rows("SELECT * FROM requests WHERE id = ?", (request_id,))
        if rows:
            row = rows[0]
            row["attempts"] = json.loads(row["attempts"]) if row["attempts"] else []
            return row
        assert time.monotonic() < deadline, f"no log row for {request_id}"
        time.sleep(0.05)


def expected_error(fault: str) -> tuple[int, str]:
    """(attempt status, a piece of the attempt's error) for each fault."""
    return {
        "fail-500": (500, "injected failure 500"),
        "fail-429": (429, "injected failure 429"),
        "slow-2000": (504, f"within {TIMEOUT_S:g}s"),
        "hang": (504, f"within {TIMEOUT_S:g}s"),
        "reset": (502, "connection failed"),
        "refused": (502, "connection failed"),
    }[fault]


def stream_expected_error(fault: str) -> tuple[int, str]:
    status, text = expected_error(fault)
    return (status, "stream broke") if fault in ("reset", "refused") else (status, text)


def check_failed_attempt(attempt: dict, fault: str, stream: bool = False) -> None:
    status, text = (stream_expected_error if stream else expected_error)(fault)
    assert attempt["target"] == _label(fault)
    assert attempt["status"] == status
    assert text in attempt["error"]
    if status == 504:
        assert attempt["latency_ms"] >= TIMEOUT_S * 1000 * 0.9
        assert attempt["latency_ms"] < TIMEOUT_S * 1000 + 1500


def sse_events(served: Served, model: str) -> tuple[int, dict[str, str], list[str]]:
    """POST a streaming request with http.client; return status, headers and the raw `data:` payloads."""
    parts = urlsplit(served.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=20)
    try:
        conn.request("POST", "/v1/chat/completions",
                     body=json.dumps({"model": model, "messages": MESSAGES, "stream": True}),
                     headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        raw = resp.read().decode()
        headers = {k.lower(): v for k, v in resp.getheaders()}
        if resp.status != 200:
            return resp.status, headers, [raw]
        events = [block[len("data: "):] for block in raw.split("\n\n") if block.startswith("data: ")]
        return resp.status, headers, events
    finally:
        conn.close()


# -- non-streaming ---------------------------------------------------------------


@pytest.mark.parametrize("fault", FAULTS)
def test_fault_falls_over_to_next_target(served, backup, client, fault):
    before = len(backup.requests)
    raw = client.chat.completions.with_raw_response.create(model=f"fo-{fault}", messages=MESSAGES)
    completion = raw.parse()
    assert completion.choices[0].message.content == "echo: hi there"
    assert raw.headers["x-switchyard-target"] == "backup/gpt-backup"
    assert len(backup.requests) == before + 1
    assert backup.requests[-1]["model"] == "gpt-backup"

    row = row_for(served, raw.headers["x-request-id"])
    assert row["status"] == 200
    assert row["target"] == "backup/gpt-backup"
    assert row["alias"] == f"fo-{fault}"
    assert len(row["attempts"]) == 2
    check_failed_attempt(row["attempts"][0], fault)
    assert row["attempts"][1] == {**row["attempts"][1], "target": "backup/gpt-backup", "status": 200, "error": None}


@pytest.mark.parametrize("fault", ["fail-500", "fail-429"])
def test_retries_same_target_before_falling_over(served, openai_upstream, client, fault):
    before = sum(1 for r in openai_upstream.requests if r.get("model") == fault)
    raw = client.chat.completions.with_raw_response.create(model=f"retry-{fault[5:]}", messages=MESSAGES)
    assert raw.parse().choices[0].message.content == "echo: hi there"
    assert raw.headers["x-switchyard-target"] == "backup/gpt-backup"
    assert sum(1 for r in openai_upstream.requests if r.get("model") == fault) == before + 2  # retries: 1

    row = row_for(served, raw.headers["x-request-id"])
    assert row["status"] == 200
    assert [(a["target"], a["status"]) for a in row["attempts"]] == [
        (f"up/{fault}", int(fault[5:])), (f"up/{fault}", int(fault[5:])), ("backup/gpt-backup", 200)]
    for attempt in row["attempts"][:2]:
        check_failed_attempt(attempt, fault)


@pytest.mark.parametrize("fault", FAULTS)
def test_fault_with_no_target_left(served, client, fault):
    with pytest.raises(openai.APIStatusError) as info:
        client.chat.completions.create(model=f"only-{fault}", messages=MESSAGES)
    timed_out = fault in ("slow-2000", "hang")
    status, code = (504, "upstream_timeout") if timed_out else (502, "upstream_failed")
    exc = info.value
    assert exc.status_code == status
    assert isinstance(exc, openai.InternalServerError)
    body = exc.response.json()
    assert set(body["error"]) >= {"message", "type", "code"}
    assert body["error"]["code"] == code
    assert body["error"]["type"] == "upstream_error"
    assert f"only-{fault}" in body["error"]["message"]
    assert _label(fault) in body["error"]["message"]
    assert "x-switchyard-target" not in exc.response.headers

    row = row_for(served, exc.response.headers["x-request-id"])
    assert row["status"] == status
    assert row["target"] is None
    assert row["error"] == body["error"]["message"]
    assert len(row["attempts"]) == 1
    check_failed_attempt(row["attempts"][0], fault)


def test_all_timed_out_is_504(served, client):
    with pytest.raises(openai.APIStatusError) as info:
        client.chat.completions.create(model="mixed-timeouts", messages=MESSAGES)
    assert info.value.status_code == 504
    assert info.value.response.json()["error"]["code"] == "upstream_timeout"
    row = row_for(served, info.value.response.headers["x-request-id"])
    assert [a["status"] for a in row["attempts"]] == [504, 504]


def test_some_timed_out_is_502(served, client):
    with pytest.raises(openai.APIStatusError) as info:
        client.chat.completions.create(model="timeout-then-500", messages=MESSAGES)
    assert info.value.status_code == 502
    assert info.value.response.json()["error"]["code"] == "upstream_failed"
    assert "injected failure 500" in info.value.response.json()["error"]["message"]
    row = row_for(served, info.value.response.headers["x-request-id"])
    assert [(a["target"], a["status"]) for a in row["attempts"]] == [("up/hang", 504), ("up/fail-500", 500)]


@pytest.mark.parametrize("status", [400, 413, 422])
def test_upstream_client_error_is_returned_not_retried(served, openai_upstream, backup, client, status):
    model = f"fail-{status}"
    before_backup = len(backup.requests)
    before_up = sum(1 for r in openai_upstream.requests if r.get("model") == model)
    with pytest.raises(openai.APIStatusError) as info:
        client.chat.completions.create(model=f"rejects-{status}", messages=MESSAGES)
    exc = info.value
    assert exc.status_code == status
    body = exc.response.json()
    assert body["error"]["message"] == f"injected failure {status}"
    assert body["error"]["type"] == "invalid_request_error"
    assert body["error"]["code"] == "upstream_rejected_request"
    assert exc.response.headers["x-switchyard-target"] == f"up/{model}"  # who rejected it
    assert len(backup.requests) == before_backup  # the second target was never tried
    assert sum(1 for r in openai_upstream.requests if r.get("model") == model) == before_up + 1  # nor a retry

    row = row_for(served, exc.response.headers["x-request-id"])
    assert row["status"] == status
    assert [(a["target"], a["status"]) for a in row["attempts"]] == [(f"up/{model}", status)]


def test_400_maps_to_bad_request_error(client):
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="rejects-400", messages=MESSAGES)
    assert info.value.status_code == 400


# -- streaming -------------------------------------------------------------------


@pytest.mark.parametrize("fault", FAULTS)
def test_stream_fault_before_first_chunk_falls_over_invisibly(served, backup, client, fault):
    before = len(backup.requests)
    raw = client.chat.completions.with_raw_response.create(model=f"fo-{fault}", messages=MESSAGES, stream=True)
    assert raw.status_code == 200
    assert raw.headers["x-switchyard-target"] == "backup/gpt-backup"
    text = "".join(chunk.choices[0].delta.content or "" for chunk in raw.parse() if chunk.choices)
    assert text == "echo: hi there"
    assert len(backup.requests) == before + 1

    row = row_for(served, raw.headers["x-request-id"])
    assert row["status"] == 200
    assert row["stream"] == 1
    assert row["target"] == "backup/gpt-backup"
    assert len(row["attempts"]) == 2
    check_failed_attempt(row["attempts"][0], fault, stream=True)
    assert (row["attempts"][1]["target"], row["attempts"][1]["status"]) == ("backup/gpt-backup", 200)


@pytest.mark.parametrize("fault", FAULTS)
def test_stream_fault_with_no_target_left(served, fault):
    status, headers, events = sse_events(served, f"only-{fault}")
    timed_out = fault in ("slow-2000", "hang")
    assert status == (504 if timed_out else 502)
    body = json.loads(events[0])
    assert body["error"]["code"] == ("upstream_timeout" if timed_out else "upstream_failed")
    assert body["error"]["type"] == "upstream_error"
    assert headers["content-type"].startswith("application/json")
    row = row_for(served, headers["x-request-id"])
    assert row["status"] == status
    assert row["stream"] == 1
    check_failed_attempt(row["attempts"][0], fault, stream=True)


def test_stream_dying_after_two_chunks_ends_with_error_event(served, backup):
    before = len(backup.requests)
    status, headers, events = sse_events(served, "dies")
    assert status == 200
    assert headers["x-switchyard-target"] == "up/die-after-2"
    assert "[DONE]" not in events
    chunks = [json.loads(e) for e in events[:-1]]
    assert len(chunks) == 2
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks) == "echo:"
    error = json.loads(events[-1])["error"]
    assert set(error) >= {"message", "type", "code"}
    assert error["code"] == "stream_interrupted"
    assert "after 2 chunks" in error["message"]
    assert len(backup.requests) == before  # tokens were sent: no fallback

    row = row_for(served, headers["x-request-id"])
    assert row["status"] == 502
    assert row["stream"] == 1
    assert row["error"] == error["message"]
    assert len(row["attempts"]) == 1
    assert row["attempts"][0]["target"] == "up/die-after-2"
    assert "stream broke" in row["attempts"][0]["error"]


def test_stream_dying_after_two_chunks_raises_in_openai_client(client):
    stream = client.chat.completions.create(model="dies", messages=MESSAGES, stream=True)
    got: list[str] = []
    with pytest.raises(openai.APIError) as info:
        for chunk in stream:
            got.append(chunk.choices[0].delta.content or "")
    assert "".join(got) == "echo:"
    assert "after 2 chunks" in str(info.value.message) or "after 2 chunks" in json.dumps(info.value.body)


def test_stream_stalling_before_first_chunk_falls_over(served, backup):
    before = len(backup.requests)
    status, headers, events = sse_events(served, "stalls-early")
    assert status == 200
    assert headers["x-switchyard-target"] == "backup/gpt-backup"
    assert events[-1] == "[DONE]"
    assert len(backup.requests) == before + 1
    row = row_for(served, headers["x-request-id"])
    assert row["status"] == 200
    assert row["attempts"][0]["target"] == "oddball/stall-before-first"
    assert row["attempts"][0]["status"] == 504
    assert row["attempts"][0]["latency_ms"] >= TIMEOUT_S * 1000 * 0.9


def test_stream_stalling_between_chunks_is_bounded_by_timeout(served, backup):
    before = len(backup.requests)
    started = time.monotonic()
    status, headers, events = sse_events(served, "stalls-late")
    elapsed = time.monotonic() - started
    assert status == 200
    assert headers["x-switchyard-target"] == "oddball/stall-after-1"
    assert TIMEOUT_S * 0.9 <= elapsed < TIMEOUT_S + 3
    assert "[DONE]" not in events
    assert json.loads(events[0])["choices"][0]["delta"]["content"] == "partial"
    error = json.loads(events[-1])["error"]
    assert error["code"] == "stream_interrupted"
    assert f"within {TIMEOUT_S:g}s" in error["message"]
    assert len(backup.requests) == before
    row = row_for(served, headers["x-request-id"])
    assert row["status"] == 504
    assert row["error"] == error["message"]
    assert [a["target"] for a in row["attempts"]] == ["oddball/stall-after-1"]
    assert f"within {TIMEOUT_S:g}s" in row["attempts"][0]["error"]


@pytest.mark.parametrize("alias", ["not-json", "no-choices", "bad-usage"])
def test_malformed_answer_falls_over(served, client, alias):
    raw = client.chat.completions.with_raw_response.create(model=alias, messages=MESSAGES)
    assert raw.parse().choices[0].message.content == "echo: hi there"
    assert raw.headers["x-switchyard-target"] == "backup/gpt-backup"
    row = row_for(served, raw.headers["x-request-id"])
    assert [(a["target"], a["status"]) for a in row["attempts"]] == [
        (f"oddball/{alias}", 502), ("backup/gpt-backup", 200)]
    assert row["attempts"][0]["error"]


def test_upstream_auth_failure_falls_over_without_retry(served, client):
    raw = client.chat.completions.with_raw_response.create(model="bad-creds", messages=MESSAGES)
    assert raw.parse().choices[0].message.content == "echo: hi there"
    assert raw.headers["x-switchyard-target"] == "backup/gpt-backup"
    row = row_for(served, raw.headers["x-request-id"])
    assert [(a["target"], a["status"]) for a in row["attempts"]] == [
        ("badcreds/gpt-x", 401), ("backup/gpt-backup", 200)]
    assert "Incorrect API key" in row["attempts"][0]["error"]


def test_stream_upstream_client_error_is_returned(served, backup):
    before = len(backup.requests)
    status, headers, events = sse_events(served, "rejects-400")
    assert status == 400
    assert json.loads(events[0])["error"]["code"] == "upstream_rejected_request"
    assert len(backup.requests) == before
    assert row_for(served, headers["x-request-id"])["status"] == 400


def test_client_leaving_mid_stream_is_logged(served):
    parts = urlsplit(served.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=20)
    conn.request("POST", "/v1/chat/completions",
                 body=json.dumps({"model": "stalls-late", "messages": MESSAGES, "stream": True}),
                 headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    request_id = resp.getheader("x-request-id")
    assert resp.status == 200
    assert b"partial" in resp.fp.readline() or b"partial" in resp.fp.readline()
    conn.sock.shutdown(2)
    conn.close()
    row = row_for(served, request_id)
    assert row["status"] == 499
    assert "client disconnected" in row["error"]


@pytest.mark.parametrize(("alias", "error_text"), [("error-first", "model overloaded"),
                                                   ("bad-usage-first", "malformed")])
def test_stream_failing_before_first_chunk_falls_over(served, backup, alias, error_text):
    before = len(backup.requests)
    status, headers, events = sse_events(served, alias)
    assert status == 200
    assert headers["x-switchyard-target"] == "backup/gpt-backup"
    assert events[-1] == "[DONE]"
    assert len(backup.requests) == before + 1
    row = row_for(served, headers["x-request-id"])
    assert row["status"] == 200
    assert [(a["target"], a["status"]) for a in row["attempts"]] == [
        (f"oddball/{alias}", 502), ("backup/gpt-backup", 200)]
    assert error_text in row["attempts"][0]["error"]


@pytest.mark.parametrize(("alias", "error_text"), [("error-after-1", "model overloaded"),
                                                   ("bad-usage", "malformed")])
def test_stream_failing_after_a_chunk_ends_with_error_event(served, backup, alias, error_text):
    before = len(backup.requests)
    status, headers, events = sse_events(served, alias)
    assert status == 200
    assert "[DONE]" not in events
    assert json.loads(events[0])["choices"][0]["delta"]["content"] == "partial"
    error = json.loads(events[-1])["error"]
    assert error["code"] == "stream_interrupted"
    assert error_text in error["message"]
    assert len(backup.requests) == before
    row = row_for(served, headers["x-request-id"])
    assert row["status"] == 502
    assert row["error"] == error["message"]


def test_long_retry_after_moves_on_at_once(served, client):
    started = time.monotonic()
    raw = client.chat.completions.with_raw_response.create(model="retry-after-30", messages=MESSAGES)
    assert time.monotonic() - started < 5
    assert raw.headers["x-switchyard-target"] == "backup/gpt-backup"
    row = row_for(served, raw.headers["x-request-id"])
    assert [(a["target"], a["status"]) for a in row["attempts"]] == [
        ("oddball/retry-after-30", 429), ("backup/gpt-backup", 200)]


def test_gateway_still_healthy_after_faults(served, client):
    reply = client.chat.completions.create(model="fo-hang", messages=[{"role": "user", "content": "still up?"}])
    assert reply.choices[0].message.content == "echo: still up?"

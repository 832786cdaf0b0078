"""`switchyard serve --model` with the embedded engine on the real tiny model,
driven by the real openai client over HTTP."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import jsonschema
import pytest
from openai import OpenAI

from tests.conftest import start_gateway

pytest.importorskip("xllamacpp", reason="the embedded engine needs the xllamacpp package")

STORY = [{"role": "user", "content": "Once upon a time"}]


@pytest.fixture(scope="module")
def served(tiny_model, tmp_path_factory):
    served = start_gateway(tmp_path_factory.mktemp("local"), None, args=("--model", str(tiny_model)))
    yield served
    served.stop()


def client(served) -> OpenAI:
    return OpenAI(base_url=served.base_url, api_key="unused", max_retries=0)


def test_models_lists_the_embedded_aliases(served):
    ids = {m.id for m in client(served).models.list()}
    assert {"stories260K", "default"} <= ids


def test_greedy_chat_is_deterministic(served):
    c = client(served)
    raw = c.chat.completions.with_raw_response.create(model="default", messages=STORY, temperature=0, max_tokens=20)
    first = raw.parse()
    second = c.chat.completions.create(model="stories260K", messages=STORY, temperature=0, max_tokens=20)
    assert first.choices[0].message.content == second.choices[0].message.content
    assert first.choices[0].message.content.startswith(", there was a little girl named Lily")
    assert raw.headers["x-switchyard-target"] == "local/stories260K"
    assert first.usage.completion_tokens == 20


def test_streaming_through_the_gateway(served):
    stream = client(served).chat.completions.create(
        model="default", messages=STORY, temperature=0, max_tokens=16, stream=True,
        stream_options={"include_usage": True})
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.startswith(", there was a little girl")
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.content) >= 10
    assert chunks[-1].usage.completion_tokens == 16


def test_stop_sequences(served):
    answer = client(served).chat.completions.create(model="default", messages=STORY, temperature=0,
                                                    max_tokens=60, stop=["Lily"])
    assert answer.choices[0].message.content == ", there was a little girl named "
    assert answer.choices[0].finish_reason == "stop"


SCHEMAS = {
    "enum": {"type": "object", "properties": {"title": {"type": "string", "maxLength": 20},
                                              "mood": {"enum": ["happy", "sad"]}},
             "required": ["title", "mood"], "additionalProperties": False},
    "nested objects and arrays": {"type": "object", "properties": {
        "owner": {"type": "object", "properties": {"name": {"type": "string", "maxLength": 10},
                                                   "kind": {"enum": ["cat", "dog"]}},
                  "required": ["name", "kind"], "additionalProperties": False},
        "tags": {"type": "array", "minItems": 1, "maxItems": 2, "items": {
            "type": "object", "properties": {"t": {"type": "string", "maxLength": 6}, "n": {"type": "integer"}},
            "required": ["t", "n"], "additionalProperties": False}}},
        "required": ["owner", "tags"], "additionalProperties": False},
}


@pytest.mark.parametrize("name", list(SCHEMAS))
def test_json_schema_output_is_constrained_and_valid(served, name):
    schema = SCHEMAS[name]
    raw = client(served).chat.completions.with_raw_response.create(
        model="default", messages=STORY, temperature=0, max_tokens=200,
        response_format={"type": "json_schema", "json_schema": {"name": "story", "schema": schema, "strict": True}})
    assert raw.headers["x-switchyard-structured"] == "constrained"
    # a tiny story model writes schema-valid JSON only because the grammar makes it
    jsonschema.validate(json.loads(raw.parse().choices[0].message.content), schema)


def test_eight_concurrent_requests_complete(served):
    def ask(_):
        return client(served).chat.completions.create(model="default", messages=STORY, temperature=0,
                                                      max_tokens=24).choices[0].message.content

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(ask, range(8)))
    assert len(answers) == 8 and len(set(answers)) == 1


def test_disconnect_cancels_and_is_logged(tiny_model, tmp_path):
    # one slot and ignore_eos: the stream runs to the model's 512-token context unless cancelled
    config = f"""
providers:
  local: {{kind: llamacpp, model_path: "{tiny_model}", slots: 1, n_ctx: 8192, threads: 1}}
models:
  - {{name: tiny, targets: [{{provider: local, model: tiny}}]}}
"""
    served = start_gateway(tmp_path, config)
    try:
        parts = urlsplit(served.url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=20)
        conn.request("POST", "/v1/chat/completions", headers={"Content-Type": "application/json"},
                     body=json.dumps({"model": "tiny", "messages": STORY, "max_tokens": 8000, "ignore_eos": True,
                                      "stream": True}))
        resp = conn.getresponse()
        request_id = resp.getheader("x-request-id")
        assert resp.status == 200 and resp.readline().startswith(b"data: ")
        conn.sock.shutdown(2)
        conn.close()
        rows = [r for r in served.wait_rows(1) if r["id"] == request_id]
        assert rows and rows[0]["status"] == 499 and "client disconnected" in rows[0]["error"]
        # the only slot is free again: a new request is served
        answer = client(served).chat.completions.create(model="tiny", messages=STORY, max_tokens=4)
        assert answer.choices[0].message.content
    finally:
        served.stop()


def test_full_queue_answers_503_with_retry_after(tiny_model, tmp_path):
    config = f"""
providers:
  local: {{kind: llamacpp, model_path: "{tiny_model}", slots: 1, max_queue: 0, threads: 1}}
models:
  - {{name: tiny, targets: [{{provider: local, model: tiny}}]}}
"""
    served = start_gateway(tmp_path, config)
    try:
        c = client(served)
        busy = threading.Thread(target=lambda: c.chat.completions.create(
            model="tiny", messages=STORY, max_tokens=1900, temperature=0))
        busy.start()
        time.sleep(0.2)
        parts = urlsplit(served.url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=20)
        conn.request("POST", "/v1/chat/completions", headers={"Content-Type": "application/json"},
                     body=json.dumps({"model": "tiny", "messages": STORY, "max_tokens": 4}))
        resp = conn.getresponse()
        body = json.loads(resp.read())
        busy.join()
        assert resp.status == 503, body
        assert int(resp.getheader("retry-after")) >= 1
        assert body["error"]["code"] == "overloaded"
    finally:
        served.stop()


def test_serve_without_config_or_model_says_how_to_get_one(tmp_path):
    empty = tmp_path / "models"
    empty.mkdir()
    env = {**os.environ, "SWITCHYARD_MODELS_DIR": str(empty)}
    result = subprocess.run([sys.executable, "-m", "switchyard", "serve"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=60, env=env)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("Error")]
    assert len(error_lines) == 1 and "models pull" in error_lines[0] and "--model" in error_lines[0]

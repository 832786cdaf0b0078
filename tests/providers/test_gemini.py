"""The gemini provider against the fake Gemini API (tests/fakes/gemini_server.py)."""

from __future__ import annotations

import asyncio
import base64
import struct
from typing import Any

import msgspec
import orjson
import pytest

from switchyard.errors import UpstreamConnection, UpstreamStatus, UpstreamTimeout
from switchyard.providers.gemini import GeminiConfig, GeminiProvider
from switchyard.providers.gemini_translate import clean_schema
from switchyard.types import ChatCall, ChatRequest, EmbedCall, EmbeddingRequest
from tests.fakes import FakeServer
from tests.fakes.gemini_server import gemini_app

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "location": {"type": "string"},
                "units": {"type": ["string", "null"], "enum": ["c", "f"]},
                "extra": {"type": "object", "additionalProperties": {"type": "string"},
                          "properties": {"additionalProperties": {"type": "string"}}},
                "days": {"type": "array", "items": {"type": "object", "additionalProperties": False,
                                                    "properties": {"n": {"type": "integer"}}}},
            },
            "required": ["location"],
        },
    },
}
NO_ARGS_TOOL = {"type": "function", "function": {"name": "now", "parameters": {"type": "object", "properties": {}}}}


@pytest.fixture(scope="module")
def server():
    with FakeServer(gemini_app()) as srv:
        yield srv


def _provider(server: FakeServer, **config: Any) -> GeminiProvider:
    config = {"base_url": server.url + "/v1beta", "api_key": "test-key", **config}
    return GeminiProvider("gem", GeminiConfig(**config))


def _chat(body: dict[str, Any], timeout: float = 5) -> ChatCall:
    """A call for `body`; its "upstream" key, if any, names the upstream model (a fault name)."""
    body = {"model": "alias", **body}
    model = body.pop("upstream", "gemini-test")
    return ChatCall(request=msgspec.convert(body, ChatRequest), body=body, model=model, timeout=timeout)


def complete(server: FakeServer, body: dict[str, Any], timeout: float = 5, **config: Any):
    async def go():
        provider = _provider(server, **config)
        await provider.start()
        try:
            return await provider.complete(_chat(body, timeout))
        finally:
            await provider.close()
    return asyncio.run(go())


def stream(server: FakeServer, body: dict[str, Any], timeout: float = 5):
    """(chunks yielded, decoded; the error that ended the stream or None)."""
    async def go():
        provider = _provider(server)
        await provider.start()
        chunks: list = []
        try:
            async for chunk in provider.stream(_chat(body, timeout)):
                chunks.append(chunk)
        except Exception as exc:
            return chunks, exc
        finally:
            await provider.close()
        return chunks, None
    return asyncio.run(go())


def embed(server: FakeServer, body: dict[str, Any]):
    async def go():
        provider = _provider(server)
        await provider.start()
        try:
            # Built directly: msgspec cannot convert EmbeddingRequest.input's union of several list types.
            return await provider.embed(EmbedCall(request=EmbeddingRequest(**body), body=body,
                                                  model=body["model"], timeout=5))
        finally:
            await provider.close()
    return asyncio.run(go())


def user(text: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}]}


# --- request translation ---------------------------------------------------------------------


def test_request_translation(server):
    complete(server, {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": [{"type": "text", "text": "Use metric."}]},
            {"role": "user", "content": "What's the weather in Paris and Rome?"},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "a1", "type": "function",
                 "function": {"name": "get_weather", "arguments": '{"location":"Paris"}'}},
                {"id": "b2", "type": "function", "function": {"name": "lookup", "arguments": '{"q": "Rome"}'}},
            ]},
            {"role": "tool", "tool_call_id": "b2", "content": "sunny"},
            {"role": "tool", "tool_call_id": "a1", "content": '{"temp": 21}'},
            {"role": "user", "content": "Thanks"},
        ],
        "tools": [WEATHER_TOOL, NO_ARGS_TOOL],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "temperature": 0.2, "top_p": 0.9, "max_completion_tokens": 50, "stop": "END", "seed": 7,
    })
    sent = server.requests[-1]
    assert server.paths[-1] == "/v1beta/models/gemini-test:generateContent"
    assert server.headers[-1]["x-goog-api-key"] == "test-key"
    assert sent["systemInstruction"] == {"parts": [{"text": "Be brief."}, {"text": "Use metric."}]}
    assert [c["role"] for c in sent["contents"]] == ["user", "model", "user"]
    assert sent["contents"][1]["parts"] == [
        {"functionCall": {"name": "get_weather", "args": {"location": "Paris"}}},
        {"functionCall": {"name": "lookup", "args": {"q": "Rome"}}},
    ]
    # both tool results and the next user text share one user turn; names come from the call ids
    assert sent["contents"][2]["parts"] == [
        {"functionResponse": {"name": "lookup", "response": {"content": "sunny"}}},
        {"functionResponse": {"name": "get_weather", "response": {"temp": 21}}},
        {"text": "Thanks"},
    ]
    declarations = sent["tools"][0]["functionDeclarations"]
    assert declarations[1] == {"name": "now"}  # no properties: no parameters
    assert declarations[0]["description"] == "Weather for a city"
    assert declarations[0]["parameters"] == {
        "type": "object",
        "properties": {
            "location": {"type": "string"},
            "units": {"type": "string", "nullable": True, "enum": ["c", "f"]},
            "extra": {"type": "object", "properties": {"additionalProperties": {"type": "string"}}},
            "days": {"type": "array", "items": {"type": "object", "properties": {"n": {"type": "integer"}}}},
        },
        "required": ["location"],
    }
    assert sent["toolConfig"] == {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}}
    assert sent["generationConfig"] == {"temperature": 0.2, "topP": 0.9, "maxOutputTokens": 50, "seed": 7,
                                        "stopSequences": ["END"]}


@pytest.mark.parametrize(("choice", "mode"), [("none", "NONE"), ("auto", "AUTO"), ("required", "ANY")])
def test_tool_choice_modes(server, choice, mode):
    complete(server, {**user("hi"), "tools": [WEATHER_TOOL], "tool_choice": choice})
    assert server.requests[-1]["toolConfig"] == {"functionCallingConfig": {"mode": mode}}


def test_image_parts(server):
    complete(server, {"messages": [{"role": "user", "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        {"type": "image_url", "image_url": {"url": "gs://bucket/cat.webp"}},
    ]}]})
    assert server.requests[-1]["contents"][0]["parts"] == [
        {"text": "What is this?"},
        {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
        {"fileData": {"mimeType": "image/webp", "fileUri": "gs://bucket/cat.webp"}},
    ]


def test_response_format(server):
    schema = {"type": "object", "additionalProperties": False, "properties": {"echo": {"type": "string"}}}
    result = complete(server, {**user("hello"), "response_format": {
        "type": "json_schema", "json_schema": {"name": "echo", "strict": True, "schema": schema}}})
    config = server.requests[-1]["generationConfig"]
    assert config == {"responseMimeType": "application/json",
                      "responseSchema": {"type": "object", "properties": {"echo": {"type": "string"}}}}
    assert orjson.loads(result.body["choices"][0]["message"]["content"]) == {"echo": "hello"}

    complete(server, {**user("hello"), "response_format": {"type": "json_object"}})
    assert server.requests[-1]["generationConfig"] == {"responseMimeType": "application/json"}


def test_bad_tool_history_is_a_client_error(server):
    with pytest.raises(UpstreamStatus) as err:
        complete(server, {"messages": [{"role": "tool", "tool_call_id": "nope", "content": "x"}]})
    assert err.value.status == 400 and not err.value.retryable


def test_clean_schema_leaves_non_schema_values():
    assert clean_schema({"type": ["string", "integer"], "enum": ["additionalProperties"]}) == {
        "type": ["string", "integer"], "enum": ["additionalProperties"]}
    assert clean_schema({"anyOf": [{"type": "string", "$comment": "x"}]}) == {"anyOf": [{"type": "string"}]}


# --- response translation --------------------------------------------------------------------


def test_text_response(server):
    result = complete(server, user("hello there"))
    body = result.body
    assert body["object"] == "chat.completion" and body["id"].startswith("chatcmpl-")
    assert body["model"] == "gemini-test" and isinstance(body["created"], int)
    choice = body["choices"][0]
    assert choice["message"] == {"role": "assistant", "content": "echo: hello there"}
    assert choice["finish_reason"] == "stop"
    assert body["usage"] == {"prompt_tokens": 2, "completion_tokens": 3, "total_tokens": 5}
    assert result.usage is not None and result.usage.total_tokens == 5


def test_tool_call_response(server):
    result = complete(server, {**user("weather in Paris?"), "tools": [WEATHER_TOOL]})
    choice = result.body["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    (call,) = choice["message"]["tool_calls"]
    assert call["id"].startswith("call_") and call["type"] == "function"
    assert call["function"] == {"name": "get_weather", "arguments": '{"location":"Paris"}'}


def test_tool_result_round_trip(server):
    result = complete(server, {"messages": [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": '{"temp":21}'},
    ], "tools": [WEATHER_TOOL]})
    assert result.body["choices"][0]["message"]["content"] == 'tool said: {"temp":21}'


def test_max_tokens_is_length(server):
    result = complete(server, {**user("one two three four"), "max_tokens": 2})
    choice = result.body["choices"][0]
    assert choice["message"]["content"] == "echo: one" and choice["finish_reason"] == "length"


def test_blocked_prompt(server):
    result = complete(server, {**user("bad"), "upstream": "blocked"})
    choice = result.body["choices"][0]
    assert choice["finish_reason"] == "content_filter" and choice["message"]["content"] == ""
    assert result.usage is not None and result.usage.prompt_tokens == 1


# --- streaming -------------------------------------------------------------------------------


def _decoded(chunks) -> list[dict[str, Any]]:
    return [orjson.loads(c.data) for c in chunks]


def test_stream_text(server):
    chunks, error = stream(server, user("stream me please"))
    assert error is None
    assert server.paths[-1] == "/v1beta/models/gemini-test:streamGenerateContent?alt=sse"
    events = _decoded(chunks)
    assert all(e["object"] == "chat.completion.chunk" and e["id"] == events[0]["id"] for e in events)
    assert events[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    content = "".join(e["choices"][0]["delta"].get("content", "") for e in events if e["choices"])
    assert content == "echo: stream me please"
    assert len([e for e in events if e["choices"] and e["choices"][0]["delta"].get("content")]) == 4
    assert events[-2]["choices"][0] == {"index": 0, "delta": {}, "finish_reason": "stop"}
    assert events[-1]["choices"] == []
    assert events[-1]["usage"] == {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}
    assert chunks[-1].usage_only and chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 4
    assert not any(c.usage_only for c in chunks[:-1])


def test_stream_tool_call(server):
    chunks, error = stream(server, {**user("weather?"), "tools": [WEATHER_TOOL], "tool_choice": "auto"})
    assert error is None
    events = _decoded(chunks)
    (calls,) = [e["choices"][0]["delta"]["tool_calls"] for e in events
                if e["choices"] and "tool_calls" in e["choices"][0]["delta"]]
    assert calls[0]["index"] == 0 and calls[0]["id"].startswith("call_")
    assert calls[0]["function"] == {"name": "get_weather", "arguments": '{"location":"Paris"}'}
    assert events[-2]["choices"][0]["finish_reason"] == "tool_calls"


def test_stream_blocked(server):
    chunks, error = stream(server, {**user("bad"), "upstream": "blocked"})
    assert error is None
    assert _decoded(chunks)[-2]["choices"][0]["finish_reason"] == "content_filter"


@pytest.mark.parametrize("model", ["die-after-2", "no-finish"])
def test_stream_cut_short(server, model):
    chunks, error = stream(server, {**user("a long enough reply here"), "upstream": model})
    assert isinstance(error, UpstreamConnection)
    assert "".join(e["choices"][0]["delta"].get("content", "") for e in _decoded(chunks)).startswith("echo: a")
    assert not any(c.usage_only for c in chunks)


def test_stream_error_event(server):
    chunks, error = stream(server, {**user("a b c"), "upstream": "error-mid"})
    assert isinstance(error, UpstreamStatus) and error.status == 503 and error.retryable
    assert "overloaded" in error.message
    assert len(chunks) == 2  # role, then the one word sent before the error


# --- embeddings ------------------------------------------------------------------------------


def test_embeddings(server):
    result = embed(server, {"model": "text-embedding-004", "input": ["alpha", "beta"], "dimensions": 4})
    assert server.paths[-1] == "/v1beta/models/text-embedding-004:batchEmbedContents"
    assert server.requests[-1] == {"requests": [
        {"model": "models/text-embedding-004", "content": {"parts": [{"text": "alpha"}]}, "outputDimensionality": 4},
        {"model": "models/text-embedding-004", "content": {"parts": [{"text": "beta"}]}, "outputDimensionality": 4},
    ]}
    body = result.body
    assert body["object"] == "list" and body["model"] == "text-embedding-004"
    assert body["usage"] == {"prompt_tokens": 0, "total_tokens": 0}
    assert [d["index"] for d in body["data"]] == [0, 1]
    assert all(d["object"] == "embedding" and len(d["embedding"]) == 4 for d in body["data"])
    assert body["data"][0]["embedding"] != body["data"][1]["embedding"]
    assert GeminiProvider.supports_embeddings


def test_embeddings_base64(server):
    plain = embed(server, {"model": "emb", "input": "alpha"}).body["data"][0]["embedding"]
    encoded = embed(server, {"model": "emb", "input": "alpha", "encoding_format": "base64"})
    encoded = encoded.body["data"][0]["embedding"]
    decoded = struct.unpack(f"<{len(plain)}f", base64.b64decode(encoded))
    assert decoded == pytest.approx(plain, abs=1e-6)


def test_embeddings_reject_token_ids(server):
    with pytest.raises(UpstreamStatus) as err:
        embed(server, {"model": "emb", "input": [1, 2, 3]})
    assert err.value.status == 400


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("model", "status", "retryable"), [("fail-429", 429, True), ("fail-500", 500, True),
                                                            ("fail-400", 400, False)])
def test_status_errors(server, model, status, retryable):
    with pytest.raises(UpstreamStatus) as err:
        complete(server, {**user("hi"), "upstream": model})
    assert err.value.status == status and err.value.retryable is retryable
    assert err.value.message == f"fake fault {model}"
    assert err.value.body["error"]["code"] == status


def test_stream_status_error(server):
    chunks, error = stream(server, {**user("hi"), "upstream": "fail-429"})
    assert chunks == [] and isinstance(error, UpstreamStatus) and error.retryable


def test_missing_api_key(server):
    with pytest.raises(UpstreamStatus) as err:
        complete(server, user("hi"), api_key=None)
    assert err.value.status == 403 and not err.value.retryable
    assert err.value.body["error"]["status"] == "PERMISSION_DENIED"


def test_hang_times_out(server):
    with pytest.raises(UpstreamTimeout):
        complete(server, {**user("hi"), "upstream": "hang"}, timeout=0.3)
    chunks, error = stream(server, {**user("hi"), "upstream": "hang"}, timeout=0.3)
    assert chunks == [] and isinstance(error, UpstreamTimeout)


def test_reset_is_connection_error(server):
    with pytest.raises(UpstreamConnection):
        complete(server, {**user("hi"), "upstream": "reset"})


def test_config_defaults(monkeypatch):
    config = GeminiConfig()
    assert config.kind == "gemini" and config.local is False
    assert config.base_url == "https://generativelanguage.googleapis.com/v1beta"
    monkeypatch.setenv("GEMINI_TEST_KEY", "from-env")
    provider = GeminiProvider("g", GeminiConfig(api_key_env="GEMINI_TEST_KEY"))
    assert provider.http.headers["x-goog-api-key"] == "from-env"

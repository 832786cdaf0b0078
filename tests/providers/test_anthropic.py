"""The anthropic provider against the fake Messages API (tests/fakes/anthropic_server.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import orjson
import pytest

from switchyard.errors import UpstreamConnection, UpstreamStatus, UpstreamTimeout
from switchyard.providers import anthropic
from switchyard.providers.anthropic import AnthropicConfig, AnthropicProvider
from switchyard.types import ChatCall, ChatRequest, StreamChunk
from tests.fakes import FakeServer
from tests.fakes.anthropic_server import anthropic_app

WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather",
    "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}}}


@pytest.fixture(scope="module")
def server():
    with FakeServer(anthropic_app()) as srv:
        yield srv


def call(body: dict[str, Any], timeout: float = 10.0) -> ChatCall:
    body = {"model": "claude-test", **body}
    return ChatCall(msgspec.convert(body, ChatRequest), body, body["model"], timeout)


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def run(server: FakeServer, action, api_key: str | None = "sk-test"):
    """Run `action(provider)` on a started provider pointed at the fake."""
    async def main():
        provider = AnthropicProvider("claude", AnthropicConfig(base_url=server.url + "/v1", api_key=api_key))
        await provider.start()
        try:
            return await action(provider)
        finally:
            await provider.close()
    return asyncio.run(main())


def complete(server: FakeServer, body: dict[str, Any], **kw):
    return run(server, lambda p: p.complete(call(body, **kw)))


def stream(server: FakeServer, body: dict[str, Any], sink: list | None = None, **kw) -> list[tuple[dict, StreamChunk]]:
    """The stream's chunks as (decoded chunk, StreamChunk) pairs; `sink` keeps those yielded before a failure."""
    got = sink if sink is not None else []

    async def action(provider):
        async for chunk in provider.stream(call(body, **kw)):
            got.append((orjson.loads(chunk.data), chunk))
        return got
    return run(server, action)


# ---- request translation -----------------------------------------------------

def test_request_translation(server):
    result = complete(server, {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": [{"type": "text", "text": "Use metric."}]},
            {"role": "user", "content": "Hi."},
            {"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"}]},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "call_1", "type": "function",
                 "function": {"name": "get_weather", "arguments": '{"location":"Paris"}'}},
                {"id": "call_2", "type": "function", "function": {"name": "get_weather", "arguments": ""}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
            {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "sunny"}]},
        ],
        "tools": [WEATHER_TOOL], "tool_choice": "auto", "parallel_tool_calls": False,
        "stop": "END", "max_completion_tokens": 50, "max_tokens": 7, "temperature": 1.5, "top_p": 0.9, "user": "u-42",
    })
    sent = server.requests[-1]
    assert server.paths[-1] == "/v1/messages"
    assert server.headers[-1]["x-api-key"] == "sk-test"
    assert server.headers[-1]["anthropic-version"] == "2023-06-01"
    assert sent["system"] == "Be brief.\n\nUse metric."
    assert sent["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Hi."}, {"type": "text", "text": "Weather in Paris?"}]},
        {"role": "assistant", "content": [
            {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"location": "Paris"}},
            {"type": "tool_use", "id": "call_2", "name": "get_weather", "input": {}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "call_1", "content": "18C"},
            {"type": "tool_result", "tool_use_id": "call_2", "content": [{"type": "text", "text": "sunny"}]}]},
    ]
    assert sent["tools"] == [{"name": "get_weather", "description": "Current weather",
                              "input_schema": WEATHER_TOOL["function"]["parameters"]}]
    assert sent["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}
    assert sent["stop_sequences"] == ["END"]
    assert sent["max_tokens"] == 50  # max_completion_tokens wins over max_tokens
    assert sent["temperature"] == 1.0  # clamped to Anthropic's range
    assert sent["top_p"] == 0.9
    assert sent["metadata"] == {"user_id": "u-42"}
    assert "stream" not in sent
    # the fake accepted the tool results as answers to the tool_use turn
    assert result.body["choices"][0]["message"]["content"] == "Tool said: 18C sunny"


@pytest.mark.parametrize(("choice", "expected"), [
    ("auto", {"type": "auto"}),
    ("none", {"type": "none"}),
    ("required", {"type": "any"}),
    ({"type": "function", "function": {"name": "get_weather"}}, {"type": "tool", "name": "get_weather"}),
])
def test_tool_choice(server, choice, expected):
    complete(server, {"messages": user("hello"), "tools": [WEATHER_TOOL], "tool_choice": choice})
    assert server.requests[-1]["tool_choice"] == expected


def test_defaults_and_images(server):
    complete(server, {"messages": [{"role": "user", "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg", "detail": "high"}},
    ]}]})
    sent = server.requests[-1]
    assert sent["max_tokens"] == 4096
    assert "tools" not in sent and "system" not in sent and "stop_sequences" not in sent
    assert sent["messages"][0]["content"][1:] == [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
    ]


def test_response_format_becomes_system_instruction(server):
    schema = {"type": "object", "properties": {"city": {"type": "string"}}}
    complete(server, {"messages": [{"role": "system", "content": "Be brief."}, *user("city?")],
                      "response_format": {"type": "json_schema", "json_schema": {"name": "c", "schema": schema}}})
    system = server.requests[-1]["system"]
    assert system.startswith("Be brief.\n\nRespond only with a JSON object")
    assert orjson.dumps(schema).decode() in system
    complete(server, {"messages": user("city?"), "response_format": {"type": "json_object"}})
    assert "valid JSON object" in server.requests[-1]["system"]


def test_untranslatable_request_fails_before_sending(server):
    sent = len(server.requests)
    with pytest.raises(UpstreamStatus) as err:
        complete(server, {"messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}]})
    assert err.value.status == 400 and not err.value.retryable
    assert err.value.body["error"]["type"] == "invalid_request_error"
    assert len(server.requests) == sent


# ---- non-streaming responses -------------------------------------------------

def test_complete_text(server):
    result = complete(server, {"messages": user("hello there")})
    body = result.body
    assert body["id"] == "msg_fake0123456789"
    assert body["object"] == "chat.completion"
    assert body["model"] == "claude-test" and isinstance(body["created"], int)
    assert body["choices"][0] == {"index": 0, "message": {"role": "assistant", "content": "Echo: hello there"},
                                  "finish_reason": "stop", "logprobs": None}
    assert body["usage"] == {"prompt_tokens": 2, "completion_tokens": 3, "total_tokens": 5,
                             "prompt_tokens_details": {"cached_tokens": 0}}
    assert (result.usage.prompt_tokens, result.usage.completion_tokens, result.usage.total_tokens) == (2, 3, 5)


def test_complete_tool_call(server):
    result = complete(server, {"messages": user("What's the weather in Paris?"), "tools": [WEATHER_TOOL]})
    choice = result.body["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] == "Let me check."
    assert choice["message"]["tool_calls"] == [{"id": "toolu_fake01", "type": "function", "function": {
        "name": "get_weather", "arguments": '{"location":"Paris","unit":"celsius"}'}}]


@pytest.mark.parametrize(("extra", "finish", "content"), [
    ({"max_tokens": 2}, "length", "Echo: one"),
    ({"stop": ["three"]}, "stop", "Echo: one two "),
])
def test_complete_finish_reasons(server, extra, finish, content):
    choice = complete(server, {"messages": user("one two three"), **extra}).body["choices"][0]
    assert (choice["finish_reason"], choice["message"]["content"]) == (finish, content)


def test_cache_tokens_count_as_prompt(server):
    result = complete(server, {"model": "claude-cached", "messages": user("hello")})
    assert result.usage.prompt_tokens == 1 + 7 + 3
    assert result.body["usage"]["prompt_tokens_details"] == {"cached_tokens": 7}


# ---- streaming ---------------------------------------------------------------

def test_stream_text(server):
    chunks = stream(server, {"messages": user("stream me please"), "stream": True})
    assert server.requests[-1]["stream"] is True
    decoded = [c for c, _ in chunks]
    assert all(c["object"] == "chat.completion.chunk" and c["id"] == "msg_fake0123456789" for c in decoded)
    assert decoded[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in decoded if c["choices"])
    assert text == "Echo: stream me please"
    assert decoded[-2]["choices"][0] == {"index": 0, "delta": {}, "finish_reason": "stop"}
    last, last_chunk = chunks[-1]
    assert last["choices"] == [] and last_chunk.usage_only
    assert last["usage"]["prompt_tokens"] == 3 and last["usage"]["completion_tokens"] == 4
    assert (last_chunk.usage.prompt_tokens, last_chunk.usage.completion_tokens) == (3, 4)
    assert not any(c.usage_only or c.usage for _, c in chunks[:-1])


def test_stream_tool_call(server):
    chunks = stream(server, {"messages": user("weather in Paris?"), "tools": [WEATHER_TOOL], "tool_choice": "required"})
    deltas = [c["choices"][0]["delta"] for c, _ in chunks if c["choices"]]
    calls = [d["tool_calls"][0] for d in deltas if "tool_calls" in d]
    assert calls[0] == {"index": 0, "id": "toolu_fake01", "type": "function",
                        "function": {"name": "get_weather", "arguments": ""}}
    assert len(calls) > 2 and all(c["index"] == 0 for c in calls)
    arguments = "".join(c["function"]["arguments"] for c in calls)
    assert orjson.loads(arguments) == {"location": "Paris", "unit": "celsius"}
    assert "".join(d.get("content", "") for d in deltas) == "Let me check."
    assert chunks[-2][0]["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[-1][1].usage_only


def test_stream_error_event_is_retryable_overload(server):
    with pytest.raises(UpstreamStatus) as err:
        stream(server, {"model": "overloaded", "messages": user("hi")})
    assert (err.value.status, err.value.retryable, err.value.message) == (529, True, "Overloaded")
    assert err.value.body["error"]["type"] == "overloaded_error"


def test_stream_dropped_midway(server):
    got: list = []
    with pytest.raises(UpstreamConnection):
        stream(server, {"model": "die-after-2", "messages": user("one two three four")}, sink=got)
    assert [c["choices"][0]["delta"].get("content") for c, _ in got] == ["", "Echo: ", "one "]


# ---- errors ------------------------------------------------------------------

@pytest.mark.parametrize("streaming", [False, True])
@pytest.mark.parametrize(("model", "status", "retryable"), [
    ("fail-429", 429, True), ("fail-500", 500, True), ("fail-400", 400, False)])
def test_error_status(server, streaming, model, status, retryable):
    body = {"model": model, "messages": user("hi")}
    with pytest.raises(UpstreamStatus) as err:
        stream(server, body) if streaming else complete(server, body)
    assert (err.value.status, err.value.retryable) == (status, retryable)
    assert err.value.message == f"fake upstream failure {status}"
    # Anthropic's error JSON reshaped into OpenAI's for the client
    assert err.value.body == {"error": {"message": err.value.message,
                                        "type": {429: "rate_limit_error", 500: "api_error",
                                                 400: "invalid_request_error"}[status],
                                        "param": None, "code": None}}
    if status == 429:
        assert err.value.retry_after == 1.0


def test_missing_api_key(server):
    with pytest.raises(UpstreamStatus) as err:
        run(server, lambda p: p.complete(call({"messages": user("hi")})), api_key=None)
    assert err.value.status == 401 and not err.value.retryable
    assert "x-api-key" not in server.headers[-1]


@pytest.mark.parametrize("streaming", [False, True])
def test_hang_times_out(server, streaming):
    body = {"model": "hang", "messages": user("hi")}
    with pytest.raises(UpstreamTimeout):
        stream(server, body, timeout=0.3) if streaming else complete(server, body, timeout=0.3)


def test_reset_is_connection_error(server):
    with pytest.raises(UpstreamConnection):
        complete(server, {"model": "reset", "messages": user("hi")})


def test_registers_provider():
    registered: list[type] = []
    anthropic.register_providers(registered.append)
    assert registered == [AnthropicProvider]
    config = AnthropicConfig()
    assert (config.kind, config.base_url, config.local) == ("anthropic", "https://api.anthropic.com/v1", False)

"""End to end with the real `openai` client: `switchyard serve` as a subprocess in
front of the fake OpenAI, Anthropic and Gemini upstreams (tests/fakes/)."""

from __future__ import annotations

import json
import threading
import time
import urllib.request

import openai
import pytest
from openai import OpenAI

from tests.conftest import Served, start_gateway

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        # the fakes name the argument differently (OpenAI's "city", Anthropic's and Gemini's "location"):
        # the schema admits both, and the gateway validates every tool call against it
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "location": {"type": "string"}}},
    },
}
WEATHER_PROMPT = "What is the weather in Paris?"


def _providers(openai_up, anthropic_up, gemini_up) -> str:
    return f"""
providers:
  oa: {{kind: openai, base_url: "{openai_up.url}/v1", api_key: "${{OPENAI_UP_KEY}}"}}
  an: {{kind: anthropic, base_url: "{anthropic_up.url}/v1", api_key: fake-anthropic-key}}
  gm: {{kind: gemini, base_url: "{gemini_up.url}/v1beta", api_key: fake-gemini-key}}
"""


MODELS = """
models:
  - name: gpt
    targets: [{provider: oa, model: gpt-4o-mini}]
  - name: claude
    targets: [{provider: an, model: claude-haiku-4-5}]
  - name: gem
    targets: [{provider: gm, model: gemini-2.0-flash}]
  - name: embed
    targets: [{provider: oa, model: text-embedding-3-small}]
  - name: gem-embed
    targets: [{provider: gm, model: text-embedding-004}]
  - name: slow
    targets: [{provider: oa, model: slow-300}]
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory, openai_upstream, anthropic_upstream, gemini_upstream):
    config = _providers(openai_upstream, anthropic_upstream, gemini_upstream) + MODELS
    gw = start_gateway(tmp_path_factory.mktemp("api"), config)
    yield gw
    gw.stop()


@pytest.fixture
def client(served: Served) -> OpenAI:
    return OpenAI(base_url=served.base_url, api_key="not-checked", max_retries=0, timeout=20)


def _row(served: Served, request_id: str) -> dict:
    """The log row of one request, waiting for the background writer."""
    deadline = time.monotonic() + 10
    while True:
        rows = served.rows("SELECT * FROM requests WHERE id = ?", (request_id,))
        if rows or time.monotonic() > deadline:
            assert rows, f"no log row for {request_id}"
            return rows[0]
        time.sleep(0.05)


def _get(url: str) -> tuple[int, str, str]:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return resp.status, resp.headers.get("content-type", ""), resp.read().decode()


# -- chat via an OpenAI-format upstream ---------------------------------------------------


def test_chat_non_streaming_openai_upstream(client, served):
    raw = client.chat.completions.with_raw_response.create(
        model="gpt", messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello there"}])
    request_id = raw.headers["x-request-id"]
    assert request_id.startswith("req_") and len(request_id) > 8
    assert raw.headers["x-switchyard-target"] == "oa/gpt-4o-mini"
    completion = raw.parse()
    assert completion._request_id == request_id  # the SDK reads x-request-id too
    assert completion.object == "chat.completion"
    choice = completion.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content == "echo: hello there"
    assert choice.finish_reason == "stop"
    # the fake counts words of every message + 3, and words of the reply
    assert completion.usage.prompt_tokens == 2 + 2 + 3
    assert completion.usage.completion_tokens == 3
    assert completion.usage.total_tokens == 10

    row = _row(served, request_id)
    assert (row["endpoint"], row["alias"], row["target"], row["status"]) == ("chat", "gpt", "oa/gpt-4o-mini", 200)
    assert (row["prompt_tokens"], row["completion_tokens"]) == (7, 3)
    # gpt-4o-mini is in the shipped price table: $0.15 / $0.60 per 1M tokens
    assert row["cost_usd"] == pytest.approx((7 * 0.15 + 3 * 0.60) / 1_000_000)
    assert row["stream"] == 0 and row["ttft_ms"] is None
    assert row["request_body"] is None and row["response_body"] is None  # logging policy: metadata


def test_stream_with_usage(client, openai_upstream):
    stream = client.chat.completions.create(
        model="gpt", messages=[{"role": "user", "content": "one two three four"}], stream=True,
        stream_options={"include_usage": True})
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "echo: one two three four"
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None
    assert (last.usage.prompt_tokens, last.usage.completion_tokens, last.usage.total_tokens) == (7, 5, 12)
    assert all(c.usage is None for c in chunks[:-1])
    assert openai_upstream.requests[-1]["stream_options"] == {"include_usage": True}


def test_stream_without_usage_drops_the_usage_chunk(client, served, openai_upstream):
    raw = client.chat.completions.with_raw_response.create(
        model="gpt", messages=[{"role": "user", "content": "no usage please"}], stream=True)
    request_id = raw.headers["x-request-id"]
    assert raw.headers["x-switchyard-target"] == "oa/gpt-4o-mini"
    assert raw.headers["content-type"].startswith("text/event-stream")
    chunks = list(raw.parse())
    # the gateway asked the upstream for usage all the same (to count cost) ...
    assert openai_upstream.requests[-1]["stream_options"] == {"include_usage": True}
    assert openai_upstream.requests[-1]["stream"] is True
    # ... and kept it from a client that did not ask
    assert chunks and all(c.usage is None for c in chunks)
    assert all(c.choices for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "echo: no usage please"
    row = _row(served, request_id)
    assert row["stream"] == 1 and row["status"] == 200
    assert row["ttft_ms"] is not None and 0 < row["ttft_ms"] <= row["latency_ms"]
    assert (row["prompt_tokens"], row["completion_tokens"]) == (6, 4)
    assert row["cost_usd"] > 0
    assert row["request_body"] is None and row["response_body"] is None

    # an explicit include_usage: false is the same
    chunks = list(client.chat.completions.create(model="gpt", messages=[{"role": "user", "content": "again"}],
                                                 stream=True, stream_options={"include_usage": False}))
    assert openai_upstream.requests[-1]["stream_options"] == {"include_usage": True}
    assert chunks and all(c.usage is None and c.choices for c in chunks)


# -- tools -----------------------------------------------------------------------------------


def test_tools_non_streaming_and_follow_up(client, openai_upstream):
    messages = [{"role": "user", "content": WEATHER_PROMPT}]
    completion = client.chat.completions.create(model="gpt", messages=messages, tools=[WEATHER_TOOL],
                                                tool_choice="auto")
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    (call,) = choice.message.tool_calls
    assert call.type == "function" and call.id == "call_1"
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    sent = openai_upstream.requests[-1]
    assert sent["tools"] == [WEATHER_TOOL] and sent["tool_choice"] == "auto"

    messages += [choice.message.model_dump(exclude_none=True),
                 {"role": "tool", "tool_call_id": call.id, "content": '{"temp_c": 21}'},
                 {"role": "user", "content": "thanks"}]
    follow = client.chat.completions.create(model="gpt", messages=messages, tools=[WEATHER_TOOL])
    assert follow.choices[0].message.content == "echo: thanks"
    assert follow.choices[0].finish_reason == "stop"
    forwarded = openai_upstream.requests[-1]["messages"]
    assert forwarded[1]["tool_calls"][0]["function"] == {"name": "get_weather", "arguments": '{"city":"Paris"}'}
    assert forwarded[2] == {"role": "tool", "tool_call_id": "call_1", "content": '{"temp_c": 21}'}


def _collect_tool_stream(stream) -> tuple[dict[int, dict], list[str], str]:
    calls: dict[int, dict] = {}
    finishes, text = [], ""
    for chunk in stream:
        if not chunk.choices:
            continue
        choice = chunk.choices[0]
        text += choice.delta.content or ""
        for tc in choice.delta.tool_calls or []:
            entry = calls.setdefault(tc.index, {"id": None, "name": "", "arguments": ""})
            if tc.id:
                entry["id"] = tc.id
            if tc.function and tc.function.name:
                entry["name"] += tc.function.name
            if tc.function and tc.function.arguments:
                entry["arguments"] += tc.function.arguments
        if choice.finish_reason:
            finishes.append(choice.finish_reason)
    return calls, finishes, text


def test_tools_streaming_fragments_reassemble(client):
    stream = client.chat.completions.create(model="gpt", messages=[{"role": "user", "content": WEATHER_PROMPT}],
                                            tools=[WEATHER_TOOL], stream=True)
    calls, finishes, _ = _collect_tool_stream(stream)
    assert finishes == ["tool_calls"]
    assert list(calls) == [0]
    assert calls[0]["id"] == "call_1" and calls[0]["name"] == "get_weather"
    assert json.loads(calls[0]["arguments"]) == {"city": "Paris"}


# -- parameters are forwarded ---------------------------------------------------------------------


def test_params_and_response_format_forwarded(client, openai_upstream):
    schema = {"name": "answer", "schema": {"type": "object", "properties": {"a": {"type": "string"}}},
              "strict": True}
    client.chat.completions.create(
        model="gpt", messages=[{"role": "user", "content": "json please"}],
        response_format={"type": "json_schema", "json_schema": schema},
        stop=["END", "STOP"], temperature=0.25, max_tokens=77, seed=1234, user="user-42", top_p=0.9,
        presence_penalty=0.5, logit_bias={"50256": -100}, extra_body={"custom_field": {"x": 1}})
    sent = openai_upstream.requests[-1]
    assert sent["model"] == "gpt-4o-mini"  # the alias replaced by the target's model
    assert sent["response_format"] == {"type": "json_schema", "json_schema": schema}
    assert sent["stop"] == ["END", "STOP"]
    assert sent["temperature"] == 0.25
    assert sent["max_tokens"] == 77
    assert sent["seed"] == 1234
    assert sent["user"] == "user-42"
    assert sent["top_p"] == 0.9
    assert sent["presence_penalty"] == 0.5
    assert sent["logit_bias"] == {"50256": -100}
    assert sent["custom_field"] == {"x": 1}  # unknown fields pass through to OpenAI-format upstreams
    assert sent["messages"] == [{"role": "user", "content": "json please"}]
    assert sent.get("stream") in (None, False) and "stream_options" not in sent

    client.chat.completions.create(model="gpt", messages=[{"role": "user", "content": "x"}],
                                   response_format={"type": "json_object"}, stop="END")
    sent = openai_upstream.requests[-1]
    assert sent["response_format"] == {"type": "json_object"} and sent["stop"] == "END"


def test_bad_requests_are_openai_errors(client):
    with pytest.raises(openai.NotFoundError) as err:
        client.chat.completions.create(model="no-such-alias", messages=[{"role": "user", "content": "hi"}])
    assert "no-such-alias" in err.value.message
    assert err.value.request_id and err.value.request_id.startswith("req_")
    assert (err.value.type, err.value.code) == ("invalid_request_error", "model_not_found")
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model="gpt", messages=[{"role": "robot", "content": "hi"}])
    assert err.value.type == "invalid_request_error" and err.value.code == "invalid_request"
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model="gpt", messages=[{"role": "user", "content": "hi"}], n=2)
    assert "n=1" in err.value.message


# -- Anthropic-kind provider -----------------------------------------------------------------------


def test_anthropic_non_stream(client, served, anthropic_upstream):
    raw = client.chat.completions.with_raw_response.create(
        model="claude", max_tokens=50, temperature=0.5, stop=["zzz"],
        messages=[{"role": "system", "content": "You are terse."}, {"role": "user", "content": "hello claude"}])
    assert raw.headers["x-switchyard-target"] == "an/claude-haiku-4-5"
    completion = raw.parse()
    assert completion.choices[0].message.content == "Echo: hello claude"
    assert completion.choices[0].finish_reason == "stop"
    # input: "You are terse." + "hello claude" = 5 words; output: 3 words
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (5, 3)
    assert completion.usage.total_tokens == 8
    sent = anthropic_upstream.requests[-1]
    assert sent["model"] == "claude-haiku-4-5"
    assert sent["max_tokens"] == 50 and sent["temperature"] == 0.5 and sent["stop_sequences"] == ["zzz"]
    assert "You are terse." in json.dumps(sent["system"])
    assert [m["role"] for m in sent["messages"]] == ["user"]
    row = _row(served, raw.headers["x-request-id"])
    assert (row["alias"], row["target"], row["prompt_tokens"], row["completion_tokens"]) == (
        "claude", "an/claude-haiku-4-5", 5, 3)
    assert row["cost_usd"] == pytest.approx((5 * 1.0 + 3 * 5.0) / 1_000_000)


def test_anthropic_stream_with_usage(client):
    chunks = list(client.chat.completions.create(
        model="claude", messages=[{"role": "user", "content": "stream me please"}], stream=True,
        stream_options={"include_usage": True}))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Echo: stream me please"
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    assert chunks[-1].choices == []
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (3, 4)


def test_anthropic_stream_without_usage(client):
    chunks = list(client.chat.completions.create(
        model="claude", messages=[{"role": "user", "content": "quiet"}], stream=True))
    assert all(c.usage is None and c.choices for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Echo: quiet"


def test_anthropic_tools(client, anthropic_upstream):
    messages = [{"role": "user", "content": WEATHER_PROMPT}]
    completion = client.chat.completions.create(model="claude", messages=messages, tools=[WEATHER_TOOL])
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    (call,) = choice.message.tool_calls
    assert call.id == "toolu_fake01" and call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"location": "Paris", "unit": "celsius"}
    sent_tools = anthropic_upstream.requests[-1]["tools"]
    assert sent_tools[0]["name"] == "get_weather"
    assert sent_tools[0]["input_schema"] == WEATHER_TOOL["function"]["parameters"]

    calls, finishes, text = _collect_tool_stream(client.chat.completions.create(
        model="claude", messages=messages, tools=[WEATHER_TOOL], stream=True))
    assert finishes == ["tool_calls"]
    assert text == "Let me check."
    assert calls[0]["id"] == "toolu_fake01" and calls[0]["name"] == "get_weather"
    assert json.loads(calls[0]["arguments"]) == {"location": "Paris", "unit": "celsius"}

    follow = client.chat.completions.create(model="claude", tools=[WEATHER_TOOL], messages=[
        *messages, choice.message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "sunny and 21C"}])
    assert follow.choices[0].message.content == "Tool said: sunny and 21C"
    assert follow.choices[0].finish_reason == "stop"
    result_block = anthropic_upstream.requests[-1]["messages"][-1]["content"][0]
    assert result_block["type"] == "tool_result" and result_block["tool_use_id"] == "toolu_fake01"


def test_anthropic_finish_reasons_and_params(client, anthropic_upstream):
    cut = client.chat.completions.create(model="claude", messages=[{"role": "user", "content": "one two STOP three"}],
                                         stop="STOP", user="u-9")
    assert cut.choices[0].message.content == "Echo: one two "
    assert cut.choices[0].finish_reason == "stop"
    assert anthropic_upstream.requests[-1]["metadata"] == {"user_id": "u-9"}
    short = client.chat.completions.create(model="claude", messages=[{"role": "user", "content": "a b c d e"}],
                                           max_completion_tokens=2)
    assert short.choices[0].message.content == "Echo: a"
    assert short.choices[0].finish_reason == "length"
    assert anthropic_upstream.requests[-1]["max_tokens"] == 2
    client.chat.completions.create(model="claude", messages=[{"role": "user", "content": "as json"}],
                                   response_format={"type": "json_object"})
    assert "JSON" in json.dumps(anthropic_upstream.requests[-1].get("system"))


# -- Gemini-kind provider --------------------------------------------------------------------------


def test_gemini_non_stream(client, served, gemini_upstream):
    raw = client.chat.completions.with_raw_response.create(
        model="gem", messages=[{"role": "system", "content": "Be nice."}, {"role": "user", "content": "hi gemini"}],
        max_tokens=40, temperature=0.1, stop=["qq"])
    assert raw.headers["x-switchyard-target"] == "gm/gemini-2.0-flash"
    completion = raw.parse()
    assert completion.choices[0].message.content == "echo: hi gemini"
    assert completion.choices[0].finish_reason == "stop"
    # prompt: "hi gemini" + system "Be nice." = 4 words; reply 3 words
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens, completion.usage.total_tokens) == (
        4, 3, 7)
    sent = gemini_upstream.requests[-1]
    assert gemini_upstream.paths[-1] == "/v1beta/models/gemini-2.0-flash:generateContent"
    assert sent["generationConfig"]["maxOutputTokens"] == 40
    assert sent["generationConfig"]["temperature"] == 0.1
    assert sent["generationConfig"]["stopSequences"] == ["qq"]
    assert sent["systemInstruction"]["parts"][0]["text"] == "Be nice."
    row = _row(served, raw.headers["x-request-id"])
    assert (row["target"], row["prompt_tokens"], row["completion_tokens"]) == ("gm/gemini-2.0-flash", 4, 3)
    assert row["cost_usd"] == pytest.approx((4 * 0.10 + 3 * 0.40) / 1_000_000)


def test_gemini_finish_reasons_and_json(client, gemini_upstream):
    short = client.chat.completions.create(model="gem", messages=[{"role": "user", "content": "a b c d e"}],
                                           max_tokens=3, seed=7)
    assert short.choices[0].message.content == "echo: a b"
    assert short.choices[0].finish_reason == "length"
    assert gemini_upstream.requests[-1]["generationConfig"]["seed"] == 7
    as_json = client.chat.completions.create(model="gem", messages=[{"role": "user", "content": "hi"}],
                                             response_format={"type": "json_object"})
    assert json.loads(as_json.choices[0].message.content) == {"echo": "hi"}
    assert gemini_upstream.requests[-1]["generationConfig"]["responseMimeType"] == "application/json"


def test_gemini_stream_with_and_without_usage(client):
    chunks = list(client.chat.completions.create(
        model="gem", messages=[{"role": "user", "content": "a b c d"}], stream=True,
        stream_options={"include_usage": True}))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "echo: a b c d"
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    assert chunks[-1].choices == []
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (4, 5)

    chunks = list(client.chat.completions.create(
        model="gem", messages=[{"role": "user", "content": "a b c d"}], stream=True))
    assert all(c.usage is None and c.choices for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "echo: a b c d"


def test_gemini_tools(client, gemini_upstream):
    messages = [{"role": "user", "content": WEATHER_PROMPT}]
    completion = client.chat.completions.create(model="gem", messages=messages, tools=[WEATHER_TOOL])
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    (call,) = choice.message.tool_calls
    assert call.function.name == "get_weather" and call.id
    assert json.loads(call.function.arguments) == {"location": "Paris"}
    declared = gemini_upstream.requests[-1]["tools"][0]["functionDeclarations"][0]
    assert declared["name"] == "get_weather"

    calls, finishes, _ = _collect_tool_stream(client.chat.completions.create(
        model="gem", messages=messages, tools=[WEATHER_TOOL], stream=True))
    assert finishes == ["tool_calls"]
    assert calls[0]["name"] == "get_weather" and calls[0]["id"]
    assert json.loads(calls[0]["arguments"]) == {"location": "Paris"}

    follow = client.chat.completions.create(model="gem", tools=[WEATHER_TOOL], messages=[
        *messages, choice.message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": '{"temp_c": 21}'}])
    assert follow.choices[0].message.content == 'tool said: {"temp_c":21}'
    assert follow.choices[0].finish_reason == "stop"
    last_turn = gemini_upstream.requests[-1]["contents"][-1]
    assert last_turn["parts"][0]["functionResponse"]["name"] == "get_weather"


# -- embeddings ------------------------------------------------------------------------------------


def test_embeddings_openai_upstream(client, served, openai_upstream):
    # the SDK asks for base64 unless told otherwise; it decodes base64 and passes floats through
    result = client.embeddings.create(model="embed", input=["hello world", "second text"])
    sent = openai_upstream.requests[-1]
    assert sent["model"] == "text-embedding-3-small"
    assert sent["input"] == ["hello world", "second text"]
    assert sent["encoding_format"] == "base64"
    assert [d.index for d in result.data] == [0, 1]
    assert all(len(d.embedding) == 8 and all(isinstance(x, float) for x in d.embedding) for d in result.data)
    assert result.data[0].embedding != result.data[1].embedding
    assert result.usage.prompt_tokens == 4

    single = client.embeddings.create(model="embed", input="hello world", encoding_format="float")
    assert openai_upstream.requests[-1]["input"] == "hello world"
    assert len(single.data) == 1
    assert single.data[0].embedding == pytest.approx(result.data[0].embedding)

    raw = client.embeddings.with_raw_response.create(model="embed", input="x")
    assert raw.headers["x-switchyard-target"] == "oa/text-embedding-3-small"
    row = _row(served, raw.headers["x-request-id"])
    assert (row["endpoint"], row["alias"], row["status"], row["prompt_tokens"]) == ("embeddings", "embed", 200, 1)
    assert row["cost_usd"] == pytest.approx(0.02 / 1_000_000)


def test_embeddings_gemini_base64_and_float(client, gemini_upstream):
    # default (base64): the gateway encodes Gemini's floats as OpenAI's base64 float32; the SDK decodes
    result = client.embeddings.create(model="gem-embed", input=["alpha", "beta gamma"])
    assert len(result.data) == 2
    assert [d.index for d in result.data] == [0, 1]
    as_floats = client.embeddings.create(model="gem-embed", input=["alpha", "beta gamma"], encoding_format="float")
    for b64, flt in zip(result.data, as_floats.data, strict=True):
        assert len(b64.embedding) == 8
        assert all(isinstance(x, float) for x in b64.embedding)
        assert b64.embedding == pytest.approx(flt.embedding, abs=1e-6)  # float32 round trip
    assert as_floats.data[0].embedding != as_floats.data[1].embedding
    sent = gemini_upstream.requests[-1]
    assert gemini_upstream.paths[-1] == "/v1beta/models/text-embedding-004:batchEmbedContents"
    assert [r["content"]["parts"][0]["text"] for r in sent["requests"]] == ["alpha", "beta gamma"]

    single = client.embeddings.create(model="gem-embed", input="alpha", dimensions=4, encoding_format="float")
    assert len(single.data) == 1 and len(single.data[0].embedding) == 4
    assert single.data[0].embedding == pytest.approx(as_floats.data[0].embedding[:4], abs=1e-6)
    assert gemini_upstream.requests[-1]["requests"][0]["outputDimensionality"] == 4


def test_embeddings_refused_for_chat_only_alias(client):
    with pytest.raises(openai.BadRequestError):
        client.embeddings.create(model="claude", input="x")


# -- models ----------------------------------------------------------------------------------------


def test_models_open_gateway(client):
    ids = [m.id for m in client.models.list()]
    assert ids == ["gpt", "claude", "gem", "embed", "gem-embed", "slow"]
    model = client.models.retrieve("claude")
    assert (model.id, model.object, model.owned_by) == ("claude", "model", "switchyard")


def test_models_per_key(gateway, openai_upstream, anthropic_upstream, gemini_upstream):
    config = _providers(openai_upstream, anthropic_upstream, gemini_upstream) + MODELS + """
keys:
  - {name: limited, key_env: LIMITED_KEY, models: [gpt, embed], team: red}
  - {name: everything, key_env: ALL_KEY}
"""
    served = gateway(config, env={"LIMITED_KEY": "sk-limited-123", "ALL_KEY": "sk-all-456"})
    limited = OpenAI(base_url=served.base_url, api_key="sk-limited-123", max_retries=0)
    everything = OpenAI(base_url=served.base_url, api_key="sk-all-456", max_retries=0)
    assert [m.id for m in limited.models.list()] == ["gpt", "embed"]
    assert [m.id for m in everything.models.list()] == ["gpt", "claude", "gem", "embed", "gem-embed", "slow"]
    assert limited.models.retrieve("gpt").id == "gpt"
    with pytest.raises(openai.PermissionDeniedError):
        limited.models.retrieve("claude")
    with pytest.raises(openai.NotFoundError):
        everything.models.retrieve("nope")
    with pytest.raises(openai.PermissionDeniedError):
        limited.chat.completions.create(model="claude", messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(openai.AuthenticationError):
        OpenAI(base_url=served.base_url, api_key="sk-wrong", max_retries=0).models.list()

    raw = limited.chat.completions.with_raw_response.create(model="gpt", messages=[{"role": "user", "content": "k"}])
    assert raw.parse().choices[0].message.content == "echo: k"
    row = _row(served, raw.headers["x-request-id"])
    assert (row["key_name"], row["team"], row["status"]) == ("limited", "red", 200)
    # the refused chat request is logged too (model listings are not requests to log)
    rows = served.wait_rows(2)
    assert sorted((r["alias"], r["status"], r["key_name"]) for r in rows) == [
        ("claude", 403, "limited"), ("gpt", 200, "limited")]


# -- request log, metrics, health ------------------------------------------------------------------


def test_full_logging_keeps_bodies(gateway, openai_upstream, anthropic_upstream, gemini_upstream):
    config = _providers(openai_upstream, anthropic_upstream, gemini_upstream) + MODELS + "\nlogging: {policy: full}\n"
    served = gateway(config)
    client = OpenAI(base_url=served.base_url, api_key="x", max_retries=0)
    client.chat.completions.create(model="gpt", messages=[{"role": "user", "content": "remember me"}])
    list(client.chat.completions.create(model="gem", messages=[{"role": "user", "content": "stream me"}],
                                        stream=True))
    rows = served.wait_rows(2)
    assert len(rows) == 2
    plain, streamed = rows
    assert json.loads(plain["request_body"])["messages"] == [{"role": "user", "content": "remember me"}]
    assert json.loads(plain["response_body"])["choices"][0]["message"]["content"] == "echo: remember me"
    assert plain["cost_usd"] > 0 and plain["ttft_ms"] is None
    assert json.loads(streamed["request_body"])["stream"] is True
    assert b"stream" in streamed["response_body"] and b"me" in streamed["response_body"]
    assert streamed["alias"] == "gem" and streamed["stream"] == 1 and streamed["ttft_ms"] > 0
    assert streamed["prompt_tokens"] == 2 and streamed["completion_tokens"] == 3 and streamed["cost_usd"] > 0


def test_metrics_and_healthz(client, served):
    client.chat.completions.create(model="claude", messages=[{"role": "user", "content": "count me"}])
    with pytest.raises(openai.NotFoundError):  # a model name the config does not know makes no series
        client.chat.completions.create(model="made-up-model-x1", messages=[{"role": "user", "content": "hi"}])
    status, _, body = _get(served.url + "/healthz")
    assert status == 200 and json.loads(body) == {"status": "ok"}
    status, content_type, text = _get(served.url + "/metrics")
    assert status == 200 and content_type.startswith("text/plain")
    lines = [line for line in text.splitlines() if line.startswith("switchyard_requests_total{")]
    claude = [line for line in lines if 'alias="claude"' in line and 'status="200"' in line]
    assert claude, lines
    assert float(claude[0].rsplit(" ", 1)[1]) >= 1
    assert 'target="an/claude-haiku-4-5"' in claude[0]
    assert "# TYPE switchyard_requests_total counter" in text
    assert 'switchyard_tokens_total{alias="claude"' in text
    assert "made-up-model-x1" not in text


# -- shutdown --------------------------------------------------------------------------------------


def test_clean_shutdown_logs_every_request(gateway, openai_upstream, anthropic_upstream, gemini_upstream):
    served = gateway(_providers(openai_upstream, anthropic_upstream, gemini_upstream) + MODELS)
    client = OpenAI(base_url=served.base_url, api_key="x", max_retries=0, timeout=20)
    n = 25
    for i in range(n):
        client.chat.completions.create(model="gpt", messages=[{"role": "user", "content": f"n{i}"}])
    # and some still in flight (slow upstream) when SIGTERM arrives: they finish and are logged
    inflight, results = 4, []
    sent_before = len(openai_upstream.requests)

    def call(i: int) -> None:
        c = OpenAI(base_url=served.base_url, api_key="x", max_retries=0, timeout=20)
        results.append(c.chat.completions.create(model="slow", messages=[{"role": "user", "content": f"s{i}"}]))

    threads = [threading.Thread(target=call, args=(i,)) for i in range(inflight)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 10
    while len(openai_upstream.requests) < sent_before + inflight and time.monotonic() < deadline:
        time.sleep(0.01)
    output = served.stop()
    for t in threads:
        t.join(20)
    # uvicorn re-raises the SIGTERM it caught once its graceful shutdown is done
    assert served.process.returncode in (0, -15), output
    assert "Traceback" not in output and "ERROR" not in output, output
    assert sorted(r.choices[0].message.content for r in results) == [f"echo: s{i}" for i in range(inflight)]
    rows = served.rows()
    assert len(rows) == n + inflight
    assert all(r["status"] == 200 for r in rows)
    assert sorted(r["alias"] for r in rows) == ["gpt"] * n + ["slow"] * inflight

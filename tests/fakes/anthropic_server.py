"""A fake Anthropic Messages API: POST /v1/messages, plain JSON or SSE (`"stream": true`).

Answers are deterministic (tokens are counted as whitespace-separated words):

- text: "Echo: <text of the last user message>"; when the last user message holds
  tool results, "Tool said: <their text>".
- tool use: when the request has tools, tool_choice is not "none", and either
  tool_choice forces a tool ("any" → the first tool, "tool" → the named one) or the
  last user text contains "weather" (→ the first tool): a text block "Let me check."
  and then a tool_use block with input {"location": "Paris", "unit": "celsius"};
  stop_reason "tool_use".
- stop_sequences cut the text before the first match (stop_reason "stop_sequence");
  max_tokens cuts it after that many words (stop_reason "max_tokens").
- models whose name contains "cached" report cache_read_input_tokens 7 and
  cache_creation_input_tokens 3.

Checks as the real API does: x-api-key (401 authentication_error) and
anthropic-version (400 invalid_request_error) headers; max_tokens present;
messages alternating user/assistant starting with user; no whitespace-only text
blocks; each tool_result answering a tool_use of the assistant turn before it.

Faults by model name, as in tests/fakes/__init__.py, plus:
- die-after-2 (streams): sends events up to the second text delta, then drops the connection.
- overloaded (streams): sends an overloaded_error `error` event after message_start.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from aiohttp import web

from . import RECORDER, apply_fault, drop_connection, fault_status

_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
                500: "api_error", 529: "overloaded_error"}
_TOOL_INPUT = {"location": "Paris", "unit": "celsius"}


def _error(status: int, message: str) -> web.Response:
    body = {"type": "error", "error": {"type": _ERROR_TYPES.get(status, "api_error"), "message": message}}
    headers = {"retry-after": "1"} if status in (429, 529) else None
    return web.json_response(body, status=status, headers=headers, dumps=lambda o: orjson.dumps(o).decode())


def _blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    content = message.get("content")
    return [{"type": "text", "text": content}] if isinstance(content, str) else content or []


def _invalid(body: dict[str, Any]) -> str | None:
    if not isinstance(body.get("max_tokens"), int):
        return "max_tokens: Field required"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages: at least one message is required"
    tool_ids: set[str] = set()
    for i, message in enumerate(messages):
        if message.get("role") != ("user" if i % 2 == 0 else "assistant"):
            return f"messages.{i}: roles must alternate between user and assistant, starting with user"
        for block in _blocks(message):
            if block.get("type") == "text" and not str(block.get("text") or "").strip():
                return f"messages.{i}: text content blocks must contain non-whitespace text"
            if block.get("type") == "tool_result" and block.get("tool_use_id") not in tool_ids:
                return f"messages.{i}: tool_result block(s) provided without a matching tool_use"
        tool_ids = {b.get("id") for b in _blocks(message) if b.get("type") == "tool_use"}
    return None


def _text_of(blocks: list[dict[str, Any]]) -> str:
    return " ".join(b["text"] for b in blocks if b.get("type") == "text")


def _answer(body: dict[str, Any]) -> dict[str, Any]:
    """The full Message the request gets; streams replay it as events."""
    last = _blocks(body["messages"][-1])
    results = [b for b in last if b.get("type") == "tool_result"]
    if results:
        said = [r["content"] if isinstance(r.get("content"), str) else _text_of(r.get("content") or [])
                for r in results]
        text = "Tool said: " + " ".join(said)
    else:
        text = "Echo: " + _text_of(last)
    system = body.get("system") if isinstance(body.get("system"), str) else _text_of(body.get("system") or [])
    if "Respond only with" in system and "JSON object" in system:  # a model that follows the JSON instruction
        text = orjson.dumps({"reply": text}).decode()

    content: list[dict[str, Any]] = []
    stop_reason, stop_sequence = "end_turn", None
    tool = _chosen_tool(body, _text_of(last))
    if tool:
        content = [{"type": "text", "text": "Let me check."},
                   {"type": "tool_use", "id": "toolu_fake01", "name": tool, "input": _TOOL_INPUT}]
        stop_reason = "tool_use"
    else:
        for stop in body.get("stop_sequences") or []:
            if stop in text:
                text, stop_reason, stop_sequence = text[:text.index(stop)], "stop_sequence", stop
                break
        words = text.split()
        if len(words) > body["max_tokens"]:
            text, stop_reason = " ".join(words[:body["max_tokens"]]), "max_tokens"
        content = [{"type": "text", "text": text}]

    output = sum(len(b["text"].split()) for b in content if b["type"] == "text") + (5 if tool else 0)
    cached = "cached" in body["model"]
    prompt = [body.get("system") or ""] + [_text_of(_blocks(m)) for m in body["messages"]]
    usage = {"input_tokens": max(1, len(" ".join(prompt).split())),
             "cache_creation_input_tokens": 3 if cached else 0,
             "cache_read_input_tokens": 7 if cached else 0,
             "output_tokens": output}
    return {"id": "msg_fake0123456789", "type": "message", "role": "assistant", "model": body["model"],
            "content": content, "stop_reason": stop_reason, "stop_sequence": stop_sequence, "usage": usage}


def _chosen_tool(body: dict[str, Any], last_text: str) -> str | None:
    tools = body.get("tools") or []
    choice = body.get("tool_choice") or {"type": "auto"}
    if not tools or choice.get("type") == "none":
        return None
    if choice.get("type") == "tool":
        return choice.get("name")
    if choice.get("type") == "any" or "weather" in last_text.lower():
        return tools[0]["name"]
    return None


def _events(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The documented event sequence for a finished message."""
    usage = message["usage"]
    start = {**message, "content": [], "stop_reason": None, "stop_sequence": None,
             "usage": {**usage, "output_tokens": 1}}
    events: list[dict[str, Any]] = [{"type": "message_start", "message": start}]
    for index, block in enumerate(message["content"]):
        if block["type"] == "text":
            events.append({"type": "content_block_start", "index": index,
                           "content_block": {"type": "text", "text": ""}})
            if index == 0:
                events.append({"type": "ping"})
            events += [{"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": piece}}
                       for piece in re.findall(r"\S+\s*", block["text"])]
        else:
            events.append({"type": "content_block_start", "index": index,
                           "content_block": {"type": "tool_use", "id": block["id"], "name": block["name"],
                                             "input": {}}})
            raw = orjson.dumps(block["input"]).decode()
            # the real API opens with an empty fragment, then sends the JSON in arbitrary pieces
            pieces = ["", *(raw[i:i + 7] for i in range(0, len(raw), 7))]
            events += [{"type": "content_block_delta", "index": index,
                        "delta": {"type": "input_json_delta", "partial_json": piece}} for piece in pieces]
        events.append({"type": "content_block_stop", "index": index})
    events.append({"type": "message_delta",
                   "delta": {"stop_reason": message["stop_reason"], "stop_sequence": message["stop_sequence"]},
                   "usage": {"output_tokens": usage["output_tokens"]}})
    events.append({"type": "message_stop"})
    return events


async def _stream(request: web.Request, message: dict[str, Any]) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    await response.prepare(request)
    model, text_deltas = message["model"], 0
    for event in _events(message):
        await response.write(b"event: " + event["type"].encode() + b"\ndata: " + orjson.dumps(event) + b"\n\n")
        if event["type"] == "message_start" and model == "overloaded":
            error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
            await response.write(b"event: error\ndata: " + orjson.dumps(error) + b"\n\n")
            return response
        if event["type"] == "content_block_delta" and event["delta"]["type"] == "text_delta":
            text_deltas += 1
            if model == "die-after-2" and text_deltas == 2:
                await drop_connection(response)
                return response
    await response.write_eof()
    return response


async def _messages(request: web.Request) -> web.StreamResponse:
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        return _error(400, "request body is not valid JSON")
    request.app[RECORDER].record(request, body)
    if not request.headers.get("x-api-key"):
        return _error(401, "x-api-key header is required")
    if not request.headers.get("anthropic-version"):
        return _error(400, "anthropic-version: header is required")
    model = str(body.get("model") or "")
    await apply_fault(request, model)
    if status := fault_status(model):
        return _error(status, f"fake upstream failure {status}")
    if problem := _invalid(body):
        return _error(400, problem)
    message = _answer(body)
    if body.get("stream"):
        return await _stream(request, message)
    return web.Response(body=orjson.dumps(message), content_type="application/json")


def anthropic_app() -> web.Application:
    app = web.Application()
    app.router.add_post("/v1/messages", _messages)
    return app

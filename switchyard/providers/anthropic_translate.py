"""Translation between OpenAI chat completions (Switchyard's canonical shape) and
Anthropic's Messages API (anthropic-version 2023-06-01)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson

from ..errors import UpstreamConnection, UpstreamStatus
from ..types import ChatRequest, FunctionDef, Message, ResponseFormat, StreamChunk, Usage

_FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}

# A stream's `error` event names only the error type; these are the statuses the
# same errors carry as HTTP answers, so retry decisions match (overloaded → 529).
_ERROR_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "overloaded_error": 529,
}


def openai_error(message: str, kind: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


def bad_request(message: str) -> UpstreamStatus:
    """A request Anthropic cannot express: fail it as the upstream would, before sending."""
    return UpstreamStatus(400, message, body=openai_error(message, "invalid_request_error"))


@contextmanager
def openai_errors() -> Iterator[None]:
    """Reshape Anthropic's error JSON ({"type": "error", "error": {...}}) into OpenAI's,
    since the gateway hands 4xx bodies straight back to OpenAI clients."""
    try:
        yield
    except UpstreamStatus as exc:
        if exc.body is not None:
            err = exc.body.get("error")
            kind = err.get("type") if isinstance(err, dict) else None
            exc.body = openai_error(exc.message, kind or "upstream_error")
        raise


# ---- request ---------------------------------------------------------------

def build_request(req: ChatRequest, model: str, default_max_tokens: int, stream: bool) -> dict[str, Any]:
    if req.n is not None and req.n > 1:
        raise bad_request("n > 1 is not supported by the anthropic provider")
    system: list[str] = []
    turns: list[dict[str, Any]] = []
    for msg in req.messages:
        if msg.role in ("system", "developer"):
            if text := msg.text():
                system.append(text)
            continue
        role, blocks = _message_blocks(msg)
        if not blocks:
            continue  # Anthropic rejects empty turns
        # Anthropic requires user/assistant alternation: merge runs of the same role,
        # which also gathers consecutive tool results into one user turn.
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    if req.response_format is not None and req.response_format.type != "text":
        system.append(_json_instruction(req.response_format))

    limit = req.token_limit()
    body: dict[str, Any] = {"model": model, "messages": turns,
                            "max_tokens": default_max_tokens if limit is None else limit}
    if system:
        body["system"] = "\n\n".join(system)
    if req.temperature is not None:
        body["temperature"] = min(req.temperature, 1.0)  # OpenAI allows up to 2, Anthropic up to 1
    if req.top_p is not None:
        body["top_p"] = req.top_p
    if stops := req.stop_list():
        body["stop_sequences"] = stops
    if req.user:
        body["metadata"] = {"user_id": req.user}
    if req.tools:
        body["tools"] = [_tool(t.function) for t in req.tools]
        body["tool_choice"] = _tool_choice(req.tool_choice, req.parallel_tool_calls)
    if stream:
        body["stream"] = True
    return body


def _message_blocks(msg: Message) -> tuple[str, list[dict[str, Any]]]:
    if msg.role == "tool":
        content = _content_blocks(msg.content) if isinstance(msg.content, list) else (msg.content or "")
        return "user", [{"type": "tool_result", "tool_use_id": msg.tool_call_id or "", "content": content}]
    blocks = _content_blocks(msg.content)
    for call in msg.tool_calls or ():
        blocks.append({"type": "tool_use", "id": call.id, "name": call.function.name,
                       "input": _parse_arguments(call.function.arguments)})
    return msg.role, blocks


def _content_blocks(content: str | list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    parts = [{"type": "text", "text": content}] if isinstance(content, str) else content or []
    blocks = []
    for part in parts:
        kind = part.get("type")
        if kind == "text":
            # Anthropic rejects text blocks without non-whitespace text
            if (part.get("text") or "").strip():
                blocks.append({"type": "text", "text": part["text"]})
        elif kind == "image_url":
            ref = part.get("image_url")
            blocks.append(_image(ref.get("url", "") if isinstance(ref, dict) else str(ref or "")))
        else:
            raise bad_request(f"content part type {kind!r} is not supported by the anthropic provider")
    return blocks


def _image(url: str) -> dict[str, Any]:
    if url.startswith("data:"):
        header, _, data = url[5:].partition(",")
        if not header.endswith(";base64") or not data:
            raise bad_request("image data URLs must be base64-encoded")
        media_type = header.split(";", 1)[0]
        return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}
    return {"type": "image", "source": {"type": "url", "url": url}}


def _parse_arguments(arguments: str) -> dict[str, Any]:
    # `input` must be an object. Replayed history can hold a model's broken or
    # truncated arguments; sending {} keeps the conversation usable.
    try:
        value = orjson.loads(arguments) if arguments else {}
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _tool(fn: FunctionDef) -> dict[str, Any]:
    tool: dict[str, Any] = {"name": fn.name,
                            "input_schema": fn.parameters or {"type": "object", "properties": {}}}
    if fn.description:
        tool["description"] = fn.description
    return tool


def _tool_choice(choice: str | dict[str, Any] | None, parallel: bool | None) -> dict[str, Any]:
    if choice == "none":
        return {"type": "none"}
    if choice is None or choice == "auto":
        out: dict[str, Any] = {"type": "auto"}
    elif choice == "required":
        out = {"type": "any"}
    elif isinstance(choice, dict) and isinstance(choice.get("function"), dict) and choice["function"].get("name"):
        out = {"type": "tool", "name": choice["function"]["name"]}
    else:
        raise bad_request(f"unsupported tool_choice: {choice!r}")
    if parallel is False:
        out["disable_parallel_tool_use"] = True
    return out


def _json_instruction(fmt: ResponseFormat) -> str:
    # The Messages API (2023-06-01) has no JSON mode; ask for it in the system prompt.
    schema = (fmt.json_schema or {}).get("schema") if fmt.type == "json_schema" else None
    if schema:
        return ("Respond only with a JSON object that matches this JSON schema, with no other text:\n"
                + orjson.dumps(schema).decode())
    return "Respond only with a valid JSON object, with no other text."


# ---- response --------------------------------------------------------------

def finish_reason(stop_reason: str | None) -> str:
    return _FINISH_REASONS.get(stop_reason or "", "stop")


def usage_from(raw: dict[str, Any]) -> tuple[Usage, dict[str, Any]]:
    """Usage, and its OpenAI JSON. Cache reads and writes are prompt tokens too;
    Anthropic counts them apart from input_tokens."""
    cached = int(raw.get("cache_read_input_tokens") or 0)
    prompt = int(raw.get("input_tokens") or 0) + cached + int(raw.get("cache_creation_input_tokens") or 0)
    completion = int(raw.get("output_tokens") or 0)
    usage = Usage(prompt, completion, prompt + completion)
    return usage, {**usage.to_dict(), "prompt_tokens_details": {"cached_tokens": cached}}


def _tool_call(block: dict[str, Any]) -> dict[str, Any]:
    return {"id": block.get("id", ""), "type": "function",
            "function": {"name": block.get("name", ""), "arguments": orjson.dumps(block.get("input") or {}).decode()}}


def to_completion(data: dict[str, Any], model: str) -> tuple[dict[str, Any], Usage]:
    text: list[str] = []
    calls: list[dict[str, Any]] = []
    content = data.get("content")
    if not isinstance(content, list):
        raise UpstreamConnection("upstream answer has no content list")
    for block in content:
        if block.get("type") == "text":
            text.append(block.get("text", ""))
        elif block.get("type") == "tool_use":
            calls.append(_tool_call(block))
        # thinking and server-tool blocks have no OpenAI counterpart
    message: dict[str, Any] = {"role": "assistant", "content": "".join(text) if text or not calls else None}
    if calls:
        message["tool_calls"] = calls
    usage, usage_json = usage_from(data.get("usage") or {})
    body = {
        "id": data.get("id") or "",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": data.get("model") or model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason(data.get("stop_reason")),
                     "logprobs": None}],
        "usage": usage_json,
    }
    return body, usage


class StreamTranslator:
    """Turns Anthropic stream events into OpenAI chat.completion.chunk objects."""

    def __init__(self, model: str):
        self.id = ""
        self.model = model
        self.created = int(time.time())
        self.tool_index: dict[int, int] = {}  # Anthropic content block index → OpenAI tool_calls index
        self.usage: dict[str, Any] = {}  # merged from message_start and message_delta
        self.stop_reason: str | None = None
        self.done = False

    def _chunk(self, choices: list[dict[str, Any]], **extra: Any) -> bytes:
        return orjson.dumps({"id": self.id, "object": "chat.completion.chunk", "created": self.created,
                             "model": self.model, "choices": choices, **extra})

    def _delta(self, delta: dict[str, Any], finish: str | None = None) -> StreamChunk:
        return StreamChunk(self._chunk([{"index": 0, "delta": delta, "finish_reason": finish}]))

    def _merge_usage(self, raw: Any) -> None:
        if isinstance(raw, dict):
            self.usage.update((k, v) for k, v in raw.items() if v is not None)

    def feed(self, event: dict[str, Any]) -> list[StreamChunk]:
        kind = event.get("type")
        if kind == "message_start":
            msg = event.get("message") or {}
            self.id = msg.get("id") or self.id
            self.model = msg.get("model") or self.model
            self._merge_usage(msg.get("usage"))
            return [self._delta({"role": "assistant", "content": ""})]
        if kind == "content_block_start":
            block = event.get("content_block") or {}
            if block.get("type") == "tool_use":
                index = self.tool_index[event.get("index", -1)] = len(self.tool_index)
                return [self._delta({"tool_calls": [{"index": index, "id": block.get("id", ""), "type": "function",
                                                     "function": {"name": block.get("name", ""), "arguments": ""}}]})]
            if block.get("type") == "text" and block.get("text"):
                return [self._delta({"content": block["text"]})]
        elif kind == "content_block_delta":
            delta = event.get("delta") or {}
            if delta.get("type") == "text_delta" and delta.get("text"):
                return [self._delta({"content": delta["text"]})]
            index = self.tool_index.get(event.get("index", -1))
            if delta.get("type") == "input_json_delta" and delta.get("partial_json") and index is not None:
                return [self._delta({"tool_calls": [{"index": index,
                                                     "function": {"arguments": delta["partial_json"]}}]})]
        elif kind == "message_delta":
            self.stop_reason = (event.get("delta") or {}).get("stop_reason") or self.stop_reason
            self._merge_usage(event.get("usage"))
        elif kind == "message_stop":
            self.done = True
            usage, usage_json = usage_from(self.usage)
            return [self._delta({}, finish_reason(self.stop_reason)),
                    StreamChunk(self._chunk([], usage=usage_json), usage=usage, usage_only=True)]
        elif kind == "error":
            err = event.get("error") or {}
            err_type = str(err.get("type") or "api_error")
            message = str(err.get("message") or "upstream stream error")
            raise UpstreamStatus(_ERROR_STATUS.get(err_type, 500), message, body=openai_error(message, err_type))
        # content_block_stop, ping, and block types without an OpenAI counterpart carry nothing to send
        return []

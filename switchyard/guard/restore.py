"""Putting the original values back into answers that carry placeholders."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from .redact import Redaction, StreamRestorer


def map_completion(body: dict[str, Any], fn: Callable[[str], str]) -> dict[str, Any]:
    """A copy of a chat.completion with `fn` applied to message contents and tool arguments
    (other answers, such as embeddings, hold no text to map and come back as they are)."""
    if "choices" not in body:
        return body
    choices = []
    for choice in body.get("choices") or []:
        message = dict(choice.get("message") or {})
        if isinstance(message.get("content"), str):
            message["content"] = fn(message["content"])
        if isinstance(message.get("tool_calls"), list):
            message["tool_calls"] = [_map_call(call, fn) for call in message["tool_calls"]]
        choices.append({**choice, "message": message})
    return {**body, "choices": choices}


def _map_call(call: dict[str, Any], fn: Callable[[str], str]) -> dict[str, Any]:
    function = call.get("function") or {}
    if not isinstance(function.get("arguments"), str):
        return call
    return {**call, "function": {**function, "arguments": fn(function["arguments"])}}


def stream_text(chunks: list[bytes]) -> str:
    """The text a stream of chat.completion.chunk objects spelled out (first choice)."""
    text = []
    for data in chunks:
        for choice in orjson.loads(data).get("choices") or []:
            if choice.get("index", 0) == 0:
                text.append((choice.get("delta") or {}).get("content") or "")
    return "".join(text)


class ChunkRestorer:
    """Restores placeholders across a stream of chat.completion.chunk objects, holding
    back a possibly split placeholder until the next chunk (or the choice's end)."""

    def __init__(self, redaction: Redaction):
        self.redaction = redaction
        self._restorers: dict[tuple, StreamRestorer] = {}

    def _restorer(self, key: tuple) -> StreamRestorer:
        if key not in self._restorers:
            self._restorers[key] = StreamRestorer(self.redaction)
        return self._restorers[key]

    def chunk(self, data: bytes) -> bytes:
        event = orjson.loads(data)
        for choice in event.get("choices") or []:
            index = choice.get("index", 0)
            delta = choice.get("delta") or {}
            if isinstance(delta.get("content"), str):
                delta["content"] = self._restorer(("text", index)).feed(delta["content"])
            for call in delta.get("tool_calls") or []:
                function = call.get("function") or {}
                if isinstance(function.get("arguments"), str):
                    function["arguments"] = self._restorer(("args", index, call.get("index", 0))).feed(
                        function["arguments"])
            if choice.get("finish_reason"):
                self._flush(index, delta)
            choice["delta"] = delta
        return orjson.dumps(event)

    def _flush(self, index: int, delta: dict[str, Any]) -> None:
        """At a choice's end, release whatever was held back."""
        for key in [k for k in self._restorers if k[1] == index]:
            rest = self._restorers.pop(key).flush()
            if not rest:
                continue
            if key[0] == "text":
                delta["content"] = (delta.get("content") or "") + rest
            else:
                delta.setdefault("tool_calls", []).append({"index": key[2], "function": {"arguments": rest}})

"""An answer obtained whole, told as a stream: streaming clients of a cascade or of
a structured request get the final, checked answer as chat.completion.chunk events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson


def completion_events(body: dict[str, Any], wants_usage: bool) -> list[bytes]:
    base = {"id": body.get("id", ""), "object": "chat.completion.chunk", "created": body.get("created", 0),
            "model": body.get("model", "")}
    events = []
    for choice in body.get("choices") or []:
        message = choice.get("message") or {}
        delta: dict[str, Any] = {"role": "assistant", "content": message.get("content")}
        if message.get("tool_calls"):
            delta["tool_calls"] = [{"index": i, **call} for i, call in enumerate(message["tool_calls"])]
        index = choice.get("index", 0)
        events.append({**base, "choices": [{"index": index, "delta": delta, "finish_reason": None}]})
        events.append({**base, "choices": [{"index": index, "delta": {},
                                            "finish_reason": choice.get("finish_reason") or "stop"}]})
    if wants_usage and body.get("usage"):
        events.append({**base, "choices": [], "usage": body["usage"]})
    return [b"data: " + orjson.dumps(e) + b"\n\n" for e in events] + [b"data: [DONE]\n\n"]


async def replay(events: list[bytes]) -> AsyncIterator[bytes]:
    for event in events:
        yield event

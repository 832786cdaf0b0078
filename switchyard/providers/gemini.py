"""Google's Gemini API (generativelanguage v1beta): chat, streaming and embeddings,
translated to and from OpenAI's shapes by `gemini_translate`."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import orjson

from ..errors import UpstreamConnection, UpstreamStatus
from ..hookspecs import hookimpl
from ..types import ChatCall, ChatResult, EmbedCall, EmbedResult, StreamChunk, Usage
from .base import ProviderConfig
from .gemini_translate import (
    completion_id,
    finish_reason,
    is_blocked,
    read_candidate,
    to_gemini_embed,
    to_gemini_request,
    to_openai_completion,
    to_openai_embeddings,
    usage_from,
)
from .http import HTTPProvider


class GeminiConfig(ProviderConfig):
    kind: str = "gemini"
    base_url: str | None = "https://generativelanguage.googleapis.com/v1beta"


def _model_path(model: str, method: str) -> str:
    # Accept both "gemini-2.0-flash" and the API's own "models/gemini-2.0-flash".
    return f"/models/{model.removeprefix('models/')}:{method}"


def _parse_event(data: bytes) -> dict[str, Any]:
    try:
        event = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise UpstreamConnection("Gemini stream sent an event that is not JSON") from exc
    if not isinstance(event, dict):
        raise UpstreamConnection("Gemini stream sent an event that is not a JSON object")
    if isinstance(err := event.get("error"), dict):
        # An error after the 200 head arrives as an event with the usual error JSON.
        code = err.get("code")
        raise UpstreamStatus(code if isinstance(code, int) and code >= 400 else 502,
                             str(err.get("message") or "Gemini stream error"), body=event)
    return event


class GeminiProvider(HTTPProvider):
    kind = "gemini"
    config_class = GeminiConfig
    supports_embeddings = True

    def auth_headers(self, config: GeminiConfig) -> dict[str, str]:
        key = config.resolve_api_key()
        return {"x-goog-api-key": key} if key else {}

    async def complete(self, call: ChatCall) -> ChatResult:
        raw = await self.http.post_json(_model_path(call.model, "generateContent"),
                                        to_gemini_request(call.request), call.timeout)
        body, usage = to_openai_completion(raw, call.model)
        return ChatResult(body, usage)

    async def stream(self, call: ChatCall) -> AsyncIterator[StreamChunk]:
        chat_id, created = completion_id(), int(time.time())

        def chunk(choices: list[dict[str, Any]], **extra: Any) -> bytes:
            return orjson.dumps({"id": chat_id, "object": "chat.completion.chunk", "created": created,
                                 "model": call.model, "choices": choices, **extra})

        def delta(d: dict[str, Any], finish: str | None = None) -> StreamChunk:
            return StreamChunk(chunk([{"index": 0, "delta": d, "finish_reason": finish}]))

        started = False
        n_calls = 0  # OpenAI indexes tool calls across the whole stream
        finish: str | None = None
        usage: Usage | None = None
        path = _model_path(call.model, "streamGenerateContent") + "?alt=sse"
        async for _name, data in self.http.stream_events(path, to_gemini_request(call.request), call.timeout):
            event = _parse_event(data)
            if not started:
                started = True
                yield delta({"role": "assistant", "content": ""})
            usage = usage_from(event.get("usageMetadata")) or usage  # cumulative: the last one counts
            if is_blocked(event):
                finish = "content_filter"
                continue
            candidates = event.get("candidates") or []
            if not candidates:
                continue
            text, calls = read_candidate(candidates[0])
            d: dict[str, Any] = {}
            if text:
                d["content"] = text
            if calls:
                # Gemini sends each call whole, so each goes out as one complete delta entry.
                d["tool_calls"] = [{"index": n_calls + i, **c} for i, c in enumerate(calls)]
                n_calls += len(calls)
            if d:
                yield delta(d)
            if reason := candidates[0].get("finishReason"):
                finish = finish_reason(reason, n_calls > 0)
        if finish is None:
            # Gemini's last event carries the finishReason; without it the answer was cut short.
            raise UpstreamConnection("Gemini stream ended without a finishReason")
        yield delta({}, finish)
        usage = usage or Usage()
        yield StreamChunk(chunk([], usage=usage.to_dict()), usage=usage, usage_only=True)

    async def embed(self, call: EmbedCall) -> EmbedResult:
        texts = call.request.inputs()
        if not texts:
            raise UpstreamStatus(400, "the gemini provider embeds text only; token-id input is not supported")
        body = to_gemini_embed(texts, call.model.removeprefix("models/"), call.request.dimensions)
        raw = await self.http.post_json(_model_path(call.model, "batchEmbedContents"), body, call.timeout)
        return EmbedResult(to_openai_embeddings(raw, call.model, len(texts), call.request.encoding_format), Usage())


@hookimpl
def register_providers(register):
    register(GeminiProvider)

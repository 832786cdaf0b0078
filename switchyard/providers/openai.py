"""Any OpenAI-compatible server: OpenAI, Mistral's API, Ollama (/v1), vLLM,
llama.cpp server, TGI, LM Studio. Bodies pass through with only `model` changed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing

import orjson

from ..errors import UpstreamConnection, UpstreamStatus
from ..hookspecs import hookimpl
from ..types import ChatCall, ChatResult, EmbedCall, EmbedResult, StreamChunk, Usage
from .base import ProviderConfig
from .http import HTTPProvider

_USAGE_MARK = b'"usage"'
_NO_USAGE = b'"usage":null'  # OpenAI puts this in every chunk when usage was asked for


def _stream_error(data: bytes) -> UpstreamStatus:
    """An error event sent after the stream began (vLLM, llama.cpp server and OpenAI do this)."""
    try:
        err = orjson.loads(data).get("error") or {}
    except orjson.JSONDecodeError:
        err = {}
    if not isinstance(err, dict):  # some servers send {"error": "<message>"}
        err = {"message": err}
    code = err.get("code")
    status = code if isinstance(code, int) and code >= 400 else 502
    return UpstreamStatus(status, str(err.get("message") or "upstream stream error"))


def stream_chunk(data: bytes) -> StreamChunk:
    """One OpenAI-format chunk as received; only the chunk carrying usage is parsed."""
    if data.startswith(b'{"error"'):
        raise _stream_error(data)
    if _USAGE_MARK in data and _NO_USAGE not in data:
        chunk = orjson.loads(data)
        usage = Usage.from_openai(chunk.get("usage"))
        return StreamChunk(data, usage, usage_only=usage is not None and not chunk.get("choices"))
    return StreamChunk(data)


class OpenAIConfig(ProviderConfig):
    kind: str = "openai"
    base_url: str | None = "https://api.openai.com/v1"
    organization: str | None = None


class OpenAIProvider(HTTPProvider):
    kind = "openai"
    config_class = OpenAIConfig
    supports_embeddings = True

    def auth_headers(self, config: OpenAIConfig) -> dict[str, str]:
        headers = {}
        key = config.resolve_api_key()
        if key:
            headers["Authorization"] = f"Bearer {key}"
        if config.organization:
            headers["OpenAI-Organization"] = config.organization
        return headers

    async def complete(self, call: ChatCall) -> ChatResult:
        body = {**call.body, "model": call.model, "stream": False}
        body.pop("stream_options", None)
        result = await self.http.post_json("/chat/completions", body, call.timeout)
        if not isinstance(result.get("choices"), list):
            raise UpstreamConnection("upstream answer has no choices")
        return ChatResult(result, Usage.from_openai(result.get("usage")))

    async def stream(self, call: ChatCall) -> AsyncIterator[StreamChunk]:
        # Always ask for usage so costs can be counted; the gateway drops the
        # usage-only chunk when the client did not ask for it.
        body = {**call.body, "model": call.model, "stream": True,
                "stream_options": {**(call.body.get("stream_options") or {}), "include_usage": True}}
        done = False
        # aclosing: leaving at [DONE] releases the upstream connection now, not at garbage collection
        async with aclosing(self.http.stream_events("/chat/completions", body, call.timeout)) as events:
            async for _event, data in events:
                if data == b"[DONE]":
                    done = True
                    break
                yield stream_chunk(data)
        if not done:
            raise UpstreamConnection("stream ended without [DONE]")

    async def embed(self, call: EmbedCall) -> EmbedResult:
        body = {**call.body, "model": call.model}
        result = await self.http.post_json("/embeddings", body, call.timeout)
        return EmbedResult(result, Usage.from_openai(result.get("usage")))


@hookimpl
def register_providers(register):
    register(OpenAIProvider)

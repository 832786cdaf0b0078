"""Anthropic's Messages API (POST {base_url}/messages), translated to and from
OpenAI chat completions; the translation lives in `anthropic_translate`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing

import orjson

from ..errors import UpstreamConnection
from ..hookspecs import hookimpl
from ..types import ChatCall, ChatResult, StreamChunk
from .anthropic_translate import StreamTranslator, build_request, openai_errors, to_completion
from .base import ProviderConfig
from .http import HTTPProvider


class AnthropicConfig(ProviderConfig):
    kind: str = "anthropic"
    base_url: str | None = "https://api.anthropic.com/v1"
    anthropic_version: str = "2023-06-01"
    default_max_tokens: int = 4096  # Anthropic requires max_tokens; used when the client sends none


class AnthropicProvider(HTTPProvider):
    kind = "anthropic"
    structured_mode = "instructed"
    config_class = AnthropicConfig

    def __init__(self, name: str, config: AnthropicConfig):
        super().__init__(name, config)
        self.default_max_tokens = config.default_max_tokens

    def auth_headers(self, config: AnthropicConfig) -> dict[str, str]:
        headers = {"anthropic-version": config.anthropic_version}
        key = config.resolve_api_key()
        if key:
            headers["x-api-key"] = key
        return headers

    async def complete(self, call: ChatCall) -> ChatResult:
        body = build_request(call.request, call.model, self.default_max_tokens, stream=False)
        with openai_errors():
            data = await self.http.post_json("/messages", body, call.timeout)
        result, usage = to_completion(data, call.model)
        return ChatResult(result, usage)

    async def stream(self, call: ChatCall) -> AsyncIterator[StreamChunk]:
        body = build_request(call.request, call.model, self.default_max_tokens, stream=True)
        translator = StreamTranslator(call.model)
        with openai_errors():
            # aclosing: leaving the loop at message_stop releases the connection now, not at garbage collection
            async with aclosing(self.http.stream_events("/messages", body, call.timeout)) as events:
                async for _name, data in events:
                    try:
                        event = orjson.loads(data)
                    except orjson.JSONDecodeError as exc:
                        raise UpstreamConnection("upstream sent a malformed stream event") from exc
                    if not isinstance(event, dict):
                        raise UpstreamConnection("upstream sent a stream event that is not an object")
                    for chunk in translator.feed(event):
                        yield chunk
                    if translator.done:
                        break
        if not translator.done:
            raise UpstreamConnection("stream ended without message_stop")


@hookimpl
def register_providers(register):
    register(AnthropicProvider)

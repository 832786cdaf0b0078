"""The request path: authenticate → validate → route → call → log.

HTTP handlers stay thin: they hand the raw body and headers here and write what
comes back. Every request, answered or refused, ends in exactly one record that
goes to the metrics and (per the logging policy) to the store."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec
import orjson

from .config.schema import Alias, LoadedConfig, Target
from .costs import PriceTable
from .errors import APIError, BadRequest, NoTargetSucceeded, UpstreamConnection, UpstreamError, UpstreamTimeout
from .keys import KeyRing, Principal
from .metrics import Metrics
from .plugins import provider_classes, router_classes
from .providers.base import Provider
from .store.base import Store
from .types import (
    Attempt,
    ChatCall,
    ChatRequest,
    ChatResult,
    EmbedCall,
    EmbeddingRequest,
    EmbedResult,
    RequestRecord,
    StreamChunk,
    Usage,
)

log = logging.getLogger("switchyard")
R = TypeVar("R")

_CLIENT_FAULT = frozenset({400, 413, 415, 422})  # upstream says the request itself is wrong: return it
_MAX_BACKOFF_S = 2.0
_MAX_RETRY_AFTER_S = 5.0  # a longer Retry-After moves on to the next target instead of waiting
_DONE = b"data: [DONE]\n\n"


@dataclass(slots=True)
class ChatAnswer:
    target: str
    body: dict[str, Any]


@dataclass(slots=True)
class StreamAnswer:
    target: str
    first: bytes  # the first SSE event, read before the answer is committed
    # the rest, ending with [DONE] or an error event; already started, so closing it early
    # (client gone) still runs its clean-up and logs the request
    events: AsyncIterator[bytes]


def _parse(raw: bytes, kind: type) -> tuple[dict, Any]:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"We could not parse the JSON body of your request: {exc}") from None
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object")
    try:
        return body, msgspec.convert(body, kind)
    except msgspec.ValidationError as exc:
        raise BadRequest(f"Invalid request: {exc}") from None


def _backoff(attempt: int, retry_after: float | None) -> float:
    if retry_after is not None:
        return retry_after
    return min(_MAX_BACKOFF_S, 0.1 * 2**attempt) * (0.5 + random.random())


async def _guarded(call: Callable[[Provider, Target], Awaitable[R]], provider: Provider, target: Target,
                   request_id: str) -> R:
    """Run one attempt; a provider that trips over the upstream's answer counts as a malformed answer."""
    try:
        return await call(provider, target)
    except (UpstreamError, APIError):
        raise
    except Exception as exc:
        log.exception("provider %r failed on %s", target.provider, request_id)
        raise UpstreamConnection(f"malformed answer: {exc.__class__.__name__}: {exc}") from exc


def _sse(data: bytes) -> bytes:
    return b"data: " + data + b"\n\n"


class Gateway:
    def __init__(self, config: LoadedConfig, store: Store):
        self.config = config
        self.store = store
        kinds = provider_classes()
        self.providers: dict[str, Provider] = {
            name: kinds[cfg.kind](name, cfg) for name, cfg in config.providers.items()}
        routers = router_classes()
        self.routers = {name: routers[alias.strategy](alias.targets) for name, alias in config.models.items()}
        self.prices = PriceTable(config)
        self.keys = KeyRing(config, store)
        self.metrics = Metrics()
        self.created = int(time.time())

    async def start(self) -> None:
        for provider in self.providers.values():
            await provider.start()

    async def close(self) -> None:
        for provider in self.providers.values():
            await provider.close()
        self.store.close()

    # -- bookkeeping ---------------------------------------------------------

    def _finish(self, record: RequestRecord, started: float, alias: Alias | None = None) -> None:
        record.latency_ms = (time.perf_counter() - started) * 1000
        self.metrics.observe(record)
        policy = self._policy(alias)
        if policy == "none":
            return
        if policy != "full":
            record.request_body = record.response_body = None
        self.store.write(record)

    def refused(self, endpoint: str, request_id: str, error: APIError, principal: Principal | None) -> None:
        """Log a request turned away before it could be parsed: bad key, rate limit, body too large."""
        record = RequestRecord(id=request_id, ts=time.time(), endpoint=endpoint, status=error.status,
                               error=error.message, key_name=principal.name if principal else None,
                               team=principal.team if principal else None)
        self._finish(record, time.perf_counter())

    def _policy(self, alias: Alias | None) -> str:
        return (alias.logging if alias is not None else None) or self.config.logging.policy

    def _charge(self, record: RequestRecord, target: Target, usage: Usage | None) -> None:
        if usage is not None:
            record.prompt_tokens, record.completion_tokens = usage.prompt_tokens, usage.completion_tokens
            record.cost_usd = self.prices.cost(target, usage)

    def _alias(self, principal: Principal, name: str) -> Alias:
        alias = self.config.models.get(name)
        principal.check_alias(name, alias is not None)
        return alias

    def visible_models(self, principal: Principal) -> list[dict]:
        return [{"id": name, "object": "model", "created": self.created, "owned_by": "switchyard"}
                for name in self.config.models if principal.may_use(name)]

    # -- routing ---------------------------------------------------------------

    async def _route(self, alias: Alias, record: RequestRecord, targets: list[Target],
                     call: Callable[[Provider, Target], Awaitable[R]]) -> tuple[Target, R]:
        """Try targets in the router's order, retrying each on transient failures."""
        router = self.routers[alias.name]
        last: UpstreamError | None = None
        for target in targets:
            provider = self.providers[target.provider]
            for attempt in range(alias.retries + 1):
                t0 = time.perf_counter()
                try:
                    result = await _guarded(call, provider, target, record.id)
                except UpstreamError as exc:
                    elapsed = time.perf_counter() - t0
                    router.observe(target, elapsed, ok=False)
                    record.attempts.append(Attempt(target.label, exc.message, exc.status, elapsed * 1000))
                    last = exc
                    if exc.status in _CLIENT_FAULT:
                        raise APIError(exc.message, status=exc.status, type="invalid_request_error",
                                       code="upstream_rejected_request") from None
                    retry_after = exc.retry_after
                    if (not exc.retryable or attempt == alias.retries
                            or (retry_after is not None and retry_after > _MAX_RETRY_AFTER_S)):
                        break
                    await asyncio.sleep(_backoff(attempt, retry_after))
                    continue
                elapsed = time.perf_counter() - t0
                router.observe(target, elapsed, ok=True)
                record.attempts.append(Attempt(target.label, None, 200, elapsed * 1000))
                record.target = target.label
                return target, result
        tried = ", ".join(dict.fromkeys(a.target for a in record.attempts))
        timed_out = all(a.status == 504 for a in record.attempts)
        reason = last.message if last else "no target"
        raise NoTargetSucceeded(f"All targets of '{alias.name}' failed ({tried}); last error: {reason}",
                                status=504 if timed_out else 502,
                                code="upstream_timeout" if timed_out else "upstream_failed")

    # -- chat ------------------------------------------------------------------

    async def chat(self, raw: bytes, principal: Principal, request_id: str) -> ChatAnswer | StreamAnswer:
        started = time.perf_counter()
        record = RequestRecord(id=request_id, ts=time.time(), endpoint="chat", key_name=principal.name,
                               team=principal.team)
        alias = None
        try:
            body, request = _parse(raw, ChatRequest)
            record.alias, record.stream = request.model, request.stream
            alias = self._alias(principal, request.model)
            if self._policy(alias) == "full":
                record.request_body = raw
            if request.n not in (None, 1):
                raise BadRequest("Only n=1 is supported")
            if not request.messages:
                raise BadRequest("'messages' must contain at least one message")
            targets = self.routers[alias.name].order()
            if request.stream:
                return await self._stream(alias, targets, request, body, record, started)
            call = ChatCall(request, body, "", alias.timeout_s, request_id)

            async def attempt(provider: Provider, target: Target) -> ChatResult:
                call.model = target.model
                return await provider.complete(call)

            target, result = await self._route(alias, record, targets, attempt)
        except APIError as exc:
            record.status, record.error = exc.status, exc.message
            self._finish(record, started, alias)
            raise
        self._charge(record, target, result.usage)
        if record.request_body is not None:
            record.response_body = orjson.dumps(result.body)
        self._finish(record, started, alias)
        return ChatAnswer(target.label, result.body)

    async def _stream(self, alias: Alias, targets: list[Target], request: ChatRequest, body: dict,
                      record: RequestRecord, started: float) -> StreamAnswer:
        call = ChatCall(request, body, "", alias.timeout_s, record.id)

        async def attempt(provider: Provider, target: Target):
            # Read the first chunk before committing, so a target that fails early falls over unseen.
            call.model = target.model
            chunks = provider.stream(call)
            try:
                first = await anext(chunks)
            except StopAsyncIteration:
                raise UpstreamConnection("stream ended before its first chunk") from None
            except BaseException:
                await chunks.aclose()
                raise
            return chunks, first

        target, (chunks, first) = await self._route(alias, record, targets, attempt)
        record.ttft_ms = (time.perf_counter() - started) * 1000
        wants_usage = bool(request.stream_options and request.stream_options.include_usage)
        events = self._relay(alias, target, chunks, first, wants_usage, record, started)
        return StreamAnswer(target.label, await anext(events), events)

    async def _relay(self, alias: Alias, target: Target, chunks: AsyncIterator[StreamChunk], first: StreamChunk,
                     wants_usage: bool, record: RequestRecord, started: float) -> AsyncIterator[bytes]:
        kept: list[bytes] | None = [] if record.request_body is not None else None
        sent = 0
        try:
            chunk: StreamChunk | None = first
            while chunk is not None:
                if chunk.usage is not None:
                    self._charge(record, target, chunk.usage)
                if wants_usage or not chunk.usage_only:
                    if kept is not None:
                        kept.append(chunk.data)
                    yield _sse(chunk.data)
                    sent += 1
                chunk = await anext(chunks, None)
            yield _DONE
        except Exception as exc:
            # Tokens already reached the client: end with an explicit error event, never a clean end.
            if not isinstance(exc, UpstreamError):
                log.exception("provider %r failed mid-stream on %s", target.provider, record.id)
                exc = UpstreamConnection(f"malformed stream: {exc.__class__.__name__}: {exc}")
            record.status = 504 if isinstance(exc, UpstreamTimeout) else 502
            record.error = f"stream broke after {sent} chunks: {exc.message}"
            record.attempts[-1].error, record.attempts[-1].status = exc.message, record.status
            yield _sse(orjson.dumps({"error": {"message": record.error, "type": "upstream_error",
                                               "code": "stream_interrupted"}}))
        except (asyncio.CancelledError, GeneratorExit):
            record.status, record.error = 499, f"client disconnected after {sent} chunks"
            raise
        finally:
            await chunks.aclose()
            if kept is not None:
                record.response_body = b"\n".join(kept)
            self._finish(record, started, alias)

    # -- embeddings --------------------------------------------------------------

    async def embeddings(self, raw: bytes, principal: Principal, request_id: str) -> ChatAnswer:
        started = time.perf_counter()
        record = RequestRecord(id=request_id, ts=time.time(), endpoint="embeddings", key_name=principal.name,
                               team=principal.team)
        alias = None
        try:
            body, request = _parse(raw, EmbeddingRequest)
            record.alias = request.model
            alias = self._alias(principal, request.model)
            targets = [t for t in self.routers[alias.name].order()
                       if self.providers[t.provider].supports_embeddings]
            if not targets:
                raise BadRequest(f"The model '{alias.name}' has no target that serves embeddings")
            call = EmbedCall(request, body, "", alias.timeout_s, request_id)

            async def attempt(provider: Provider, target: Target) -> EmbedResult:
                call.model = target.model
                return await provider.embed(call)

            target, result = await self._route(alias, record, targets, attempt)
        except APIError as exc:
            record.status, record.error = exc.status, exc.message
            self._finish(record, started, alias)
            raise
        self._charge(record, target, result.usage)
        self._finish(record, started, alias)
        return ChatAnswer(target.label, result.body)

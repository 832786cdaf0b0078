"""The request path: authenticate → validate → route → call → log.

HTTP handlers stay thin: they hand the raw body and headers here and write what
comes back. Every request, answered or refused, ends in exactly one record that
goes to the metrics and (per the logging policy) to the store."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, TypeVar

import msgspec
import orjson

from .config.schema import Alias, LoadedConfig, Target
from .costs import PriceTable
from .errors import (
    APIError,
    BadRequest,
    NoTargetSucceeded,
    Overloaded,
    UpstreamConnection,
    UpstreamError,
    UpstreamTimeout,
)
from .guard.build import build_detector
from .guard.privacy import Blocked, Privacy, TextMapper, Verdict, map_inputs, map_texts
from .guard.restore import ChunkRestorer, map_completion, stream_text
from .keys import KeyRing, Principal
from .metrics import Metrics
from .plugins import check_classes, provider_classes, router_classes
from .providers.base import Provider
from .replay import completion_events, replay
from .routing.checked import checked_complete, needs_checking
from .shaping import Shaper
from .store.base import Store
from .structured import request_schema_error, wants_structure
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
C = TypeVar("C", ChatCall, EmbedCall)

_CLIENT_FAULT = frozenset({400, 413, 415, 422})  # upstream says the request itself is wrong: return it
_MAX_BACKOFF_S = 2.0
_MAX_RETRY_AFTER_S = 5.0  # a longer Retry-After moves on to the next target instead of waiting
_DONE = b"data: [DONE]\n\n"
ESCALATE_HEADER = b"x-switchyard-escalate"


@dataclass(slots=True)
class Pending:
    """A request being served: its log record, its start, and its alias once known."""

    record: RequestRecord
    started: float
    alias: Alias | None = None
    verdict: Verdict | None = None  # the privacy policy's decision, once made
    logging: str | None = None  # the logging policy, when known without a verdict (a blocked request)


@dataclass(slots=True)
class ChatAnswer:
    target: str
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class StreamAnswer:
    target: str
    first: bytes  # the first SSE event, read before the answer is committed
    # the rest, ending with [DONE] or an error event; already started, so closing it early
    # (client gone) still runs its clean-up and logs the request
    events: AsyncIterator[bytes]
    headers: dict[str, str] = field(default_factory=dict)


def _decode(raw: bytes) -> dict:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"We could not parse the JSON body of your request: {exc}") from None
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object")
    return body


def _convert(body: dict, kind: type) -> Any:
    try:
        return msgspec.convert(body, kind)
    except msgspec.ValidationError as exc:
        raise BadRequest(f"Invalid request: {exc}") from None


def _parse(raw: bytes, kind: type) -> tuple[dict, Any]:
    body = _decode(raw)
    return body, _convert(body, kind)


def _backoff(attempt: int, retry_after: float | None) -> float:
    if retry_after is not None:
        return retry_after
    return min(_MAX_BACKOFF_S, 0.1 * 2**attempt) * (0.5 + random.random())


async def _guarded(method: Callable[[Provider, C], Awaitable[R]], provider: Provider, call: C) -> R:
    """Run one attempt; a provider that trips over the upstream's answer counts as a malformed answer."""
    try:
        return await method(provider, call)
    except (UpstreamError, APIError):
        raise
    except Exception as exc:
        log.exception("provider %r failed on %s", provider.name, call.request_id)
        raise UpstreamConnection(f"malformed answer: {exc.__class__.__name__}: {exc}") from exc


async def _complete(provider: Provider, call: ChatCall) -> ChatResult:
    return await provider.complete(call)


async def _embed(provider: Provider, call: EmbedCall) -> EmbedResult:
    return await provider.embed(call)


async def _open_stream(provider: Provider, call: ChatCall) -> tuple[AsyncIterator[StreamChunk], StreamChunk]:
    """Start a stream and read its first chunk, so a target that fails early falls over unseen."""
    chunks = provider.stream(call)
    try:
        return chunks, await anext(chunks)
    except StopAsyncIteration:
        raise UpstreamConnection("stream ended before its first chunk") from None
    except BaseException:
        await chunks.aclose()
        raise


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
        self.metrics = Metrics(config.models)
        self.privacy = Privacy(config, lambda: build_detector(config.privacy))
        self.shaper = Shaper(config.prompts.dir)
        check_kinds = check_classes()
        self.checks = {name: [check_kinds[c["type"]](check_kinds[c["type"]].config_class.model_validate(c))
                              for c in alias.checks] for name, alias in config.models.items()}
        self.created = int(time.time())

    async def start(self) -> None:
        for provider in self.providers.values():
            await provider.start()

    async def close(self) -> None:
        for provider in self.providers.values():
            await provider.close()
        self.store.close()

    # -- bookkeeping ---------------------------------------------------------

    def _begin(self, endpoint: str, request_id: str, principal: Principal | None) -> Pending:
        record = RequestRecord(id=request_id, ts=time.time(), endpoint=endpoint,
                               key_name=principal.name if principal else None,
                               team=principal.team if principal else None)
        return Pending(record, time.perf_counter())

    def _finish(self, p: Pending) -> None:
        record = p.record
        record.latency_ms = (time.perf_counter() - p.started) * 1000
        self.metrics.observe(record)
        policy = p.verdict.logging if p.verdict else p.logging or self._policy(p.alias)
        if policy == "none":
            return
        if policy not in ("full", "redacted"):
            record.request_body = record.response_body = None
        self.store.write(record)

    @contextmanager
    def _refusals_logged(self, p: Pending) -> Iterator[None]:
        try:
            yield
        except APIError as exc:
            p.record.status, p.record.error = exc.status, exc.message
            self._finish(p)
            raise

    def _answered(self, p: Pending, target: Target, usage: Usage | None, body: dict) -> ChatAnswer:
        p.record.attempts[-1].cost_usd = self._charge(p.record, target, usage)
        answer, verdict = body, p.verdict
        if verdict is not None and verdict.redaction is not None:
            answer = map_completion(body, verdict.redaction.restore)
        if verdict is not None and verdict.logging == "redacted":
            logged = body if verdict.redaction else map_completion(
                body, lambda text: self.privacy.redact_text(verdict.log_redaction, text))
            p.record.response_body = orjson.dumps(logged)
        elif p.record.request_body is not None:
            p.record.response_body = orjson.dumps(answer)
        self._finish(p)
        return ChatAnswer(target.label, answer)

    def refused(self, endpoint: str, request_id: str, error: APIError, principal: Principal | None) -> None:
        """Log a request turned away before it could be parsed: bad key, rate limit, body too large."""
        p = self._begin(endpoint, request_id, principal)
        p.record.status, p.record.error = error.status, error.message
        self._finish(p)

    def _policy(self, alias: Alias | None) -> str:
        return (alias.logging if alias is not None else None) or self.config.logging.policy

    def _charge(self, record: RequestRecord, target: Target, usage: Usage | None) -> float:
        """Add a step's tokens and cost to the request (a cascade pays for every step); returns the cost."""
        if usage is None:
            return 0.0
        cost = self.prices.cost(target, usage)
        record.prompt_tokens += usage.prompt_tokens
        record.completion_tokens += usage.completion_tokens
        record.cost_usd += cost
        return cost

    def _alias(self, principal: Principal, name: str) -> Alias:
        alias = self.config.models.get(name)
        principal.check_alias(name, alias is not None)
        return alias

    def visible_models(self, principal: Principal) -> list[dict]:
        return [{"id": name, "object": "model", "created": self.created, "owned_by": "switchyard"}
                for name in self.config.models if principal.may_use(name)]

    # -- routing ---------------------------------------------------------------

    async def _route(self, alias: Alias, record: RequestRecord, targets: list[Target], call: C,
                     method: Callable[[Provider, C], Awaitable[R]]) -> tuple[Target, R]:
        """Try targets in the router's order, retrying each on transient failures."""
        router = self.routers[alias.name]
        last: UpstreamError | None = None
        for target in targets:
            provider = self.providers[target.provider]
            call.model = target.model
            for attempt in range(alias.retries + 1):
                t0 = time.perf_counter()
                try:
                    result = await _guarded(method, provider, call)
                except UpstreamError as exc:
                    elapsed = time.perf_counter() - t0
                    router.observe(target, elapsed, ok=False)
                    cost = self._charge(record, target, exc.usage)  # an answer that failed its checks was paid for
                    record.attempts.append(Attempt(target.label, exc.message, exc.status, elapsed * 1000, cost))
                    last = exc
                    if exc.status in _CLIENT_FAULT:
                        raise APIError(exc.message, status=exc.status, type="invalid_request_error",
                                       code="upstream_rejected_request",
                                       headers={"x-switchyard-target": target.label}) from None
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
        if isinstance(last, Overloaded):
            # every target is at capacity: tell the client when to come back
            raise APIError(f"'{alias.name}' is at capacity: {last.message}", status=503, type="server_error",
                           code="overloaded", headers={"retry-after": str(max(1, round(last.retry_after or 1)))})
        tried = ", ".join(dict.fromkeys(a.target for a in record.attempts))
        timed_out = all(a.status == 504 for a in record.attempts)
        reason = last.message if last else "no target"
        raise NoTargetSucceeded(f"All targets of '{alias.name}' failed ({tried}); last error: {reason}",
                                status=504 if timed_out else 502,
                                code="upstream_timeout" if timed_out else "upstream_failed")

    # -- chat ------------------------------------------------------------------

    async def chat(self, raw: bytes, principal: Principal, request_id: str, sensitivity: str | None = None,
                   session: str | None = None, escalate: bool = False,
                   prompt: str | None = None) -> ChatAnswer | StreamAnswer:
        p = self._begin("chat", request_id, principal)
        with self._refusals_logged(p):
            original = _decode(raw)
            shaped = self.shaper.prompt(original, prompt)
            p.record.prompt, p.record.prompt_version = shaped.prompt, shaped.prompt_version
            request = _convert(shaped.body, ChatRequest)
            p.record.alias, p.record.stream = request.model, request.stream
            p.alias = alias = self._alias(principal, request.model)
            if alias.experiment is not None:
                self.shaper.experiment(shaped, alias, original.get("variables"), request.user, session)
                p.record.experiment, p.record.variant = shaped.experiment, shaped.variant
                p.record.prompt, p.record.prompt_version = shaped.prompt, shaped.prompt_version  # what the arm rendered
                request = _convert(shaped.body, ChatRequest)
            body = shaped.body
            if request.n not in (None, 1):
                raise BadRequest("Only n=1 is supported")
            if not request.messages:
                raise BadRequest("'messages' must contain at least one message")
            if invalid := request_schema_error(request):  # no target could ever satisfy it: ask none
                raise BadRequest(f"Invalid request: {invalid}")
            p.verdict = verdict = await self._inspect(p, principal, alias, body, request, sensitivity, session)
            p.record.request_body = raw if verdict.logging == "full" else verdict.log_body
            targets = self._allowed_targets(alias, verdict, shaped.targets)
            cascade = alias.strategy == "cascade"
            if escalate and cascade and len(targets) > 1:
                # "ask a bigger model": skip the cheapest step, and say so in the log's chain
                p.record.attempts.append(Attempt(targets[0].label, f"skipped: {ESCALATE_HEADER.decode()}"))
                targets = targets[1:]
            call = ChatCall(verdict.request, verdict.body, "", alias.timeout_s, request_id)
            checks = self.checks[alias.name]
            checking = needs_checking(call.request, checks)
            # streams are relayed as they come, unless the answer must pass checks before anyone sees it
            buffered = request.stream and checking and (cascade or wants_structure(call.request))
            if request.stream and not buffered:
                return await self._stream(p, targets, call)
            method = partial(checked_complete, checks=checks, repair=not cascade, ask=self._asker(p)) \
                if checking else _complete
            target, result = await self._route(alias, p.record, targets, call, method)
        p.record.structured = result.structured
        answer = self._answered(p, target, result.usage, result.body)
        if result.structured:
            answer.headers["x-switchyard-structured"] = result.structured
        if buffered:
            wants_usage = bool(request.stream_options and request.stream_options.include_usage)
            events = replay(completion_events(answer.body, wants_usage))
            return StreamAnswer(answer.target, await anext(events), events, answer.headers)
        return answer

    def _asker(self, p: Pending):
        """How checks ask another alias (the judge): its cost and try are added to this request's."""
        async def ask(alias_name: str, messages: list[dict]) -> str:
            alias = self.config.models[alias_name]
            body = {"model": alias_name, "messages": messages, "temperature": 0}
            call = ChatCall(msgspec.convert(body, ChatRequest), body, "", alias.timeout_s, p.record.id)
            scratch = RequestRecord(id=p.record.id, ts=time.time(), endpoint="check")
            try:
                # the judge reads the request and its answer: it is bound by the request's privacy verdict
                targets = (self._allowed_targets(alias, p.verdict, None) if p.verdict
                           else self.routers[alias_name].order())
                target, result = await self._route(alias, scratch, targets, call, _complete)
            except APIError as exc:
                return f"FAIL ({alias_name} unavailable: {exc.message})"
            finally:
                p.record.attempts.extend(replace(a, target=f"check:{a.target}") for a in scratch.attempts)
            p.record.attempts[-1].cost_usd = self._charge(p.record, target, result.usage)
            return ((result.body.get("choices") or [{}])[0].get("message") or {}).get("content") or ""
        return ask

    async def _inspect(self, p: Pending, principal: Principal, alias: Alias, body: dict,
                       request: ChatRequest | EmbeddingRequest, sensitivity: str | None, session: str | None,
                       texts_of: TextMapper = map_texts) -> Verdict:
        try:
            verdict = await self.privacy.inspect(principal, alias, body, request, sensitivity, session, texts_of)
        except Blocked as exc:
            p.record.pii, p.record.privacy, p.logging = exc.kinds, "blocked", exc.logging
            raise
        p.record.pii, p.record.privacy = verdict.kinds or None, verdict.taken
        return verdict

    def _allowed_targets(self, alias: Alias, verdict: Verdict, chosen: list[Target] | None) -> list[Target]:
        targets = chosen or self.routers[alias.name].order()
        if not verdict.local_only:
            return targets
        local = [t for t in targets if self.providers[t.provider].local]
        if not local:
            why = {"detected": "it contains sensitive data", "session": "its conversation was found sensitive",
                   "tag": "it is marked confidential"}[verdict.reason]
            raise BadRequest(f"'{alias.name}' has no local target, and this request must stay local: {why}",
                             code="no_local_target")
        return local

    async def _stream(self, p: Pending, targets: list[Target], call: ChatCall) -> StreamAnswer:
        request = call.request
        target, (chunks, first) = await self._route(p.alias, p.record, targets, call, _open_stream)
        p.record.ttft_ms = (time.perf_counter() - p.started) * 1000
        wants_usage = bool(request.stream_options and request.stream_options.include_usage)
        events = self._relay(p, target, chunks, first, wants_usage)
        return StreamAnswer(target.label, await anext(events), events)

    async def _relay(self, p: Pending, target: Target, chunks: AsyncIterator[StreamChunk], first: StreamChunk,
                     wants_usage: bool) -> AsyncIterator[bytes]:
        record, verdict = p.record, p.verdict
        restorer = ChunkRestorer(verdict.redaction) if verdict and verdict.redaction else None
        logging = verdict.logging if verdict else self._policy(p.alias)
        kept: list[bytes] | None = [] if logging in ("full", "redacted") else None
        sent = 0
        try:
            chunk: StreamChunk | None = first
            while chunk is not None:
                if chunk.usage is not None:
                    self._charge(record, target, chunk.usage)
                if wants_usage or not chunk.usage_only:
                    data = restorer.chunk(chunk.data) if restorer and not chunk.usage_only else chunk.data
                    if kept is not None:  # the log keeps placeholders under "redacted", originals under "full"
                        kept.append(chunk.data if logging == "redacted" else data)
                    yield _sse(data)
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
                record.response_body = self._logged_stream(verdict, logging, restorer is not None, kept)
            self._finish(p)

    def _logged_stream(self, verdict: Verdict | None, logging: str, redacted: bool, kept: list[bytes]) -> bytes:
        if logging == "redacted" and not redacted:  # the model saw the originals: find them in its answer
            return self.privacy.redact_text(verdict.log_redaction, stream_text(kept)).encode()
        return b"\n".join(kept)

    # -- embeddings --------------------------------------------------------------

    async def embeddings(self, raw: bytes, principal: Principal, request_id: str, sensitivity: str | None = None,
                         session: str | None = None) -> ChatAnswer:
        p = self._begin("embeddings", request_id, principal)
        with self._refusals_logged(p):
            body, request = _parse(raw, EmbeddingRequest)
            p.record.alias = request.model
            p.alias = alias = self._alias(principal, request.model)
            # the texts to embed leave for the target like a chat's messages: the same policy holds
            p.verdict = verdict = await self._inspect(p, principal, alias, body, request, sensitivity, session,
                                                      map_inputs)
            p.record.request_body = raw if verdict.logging == "full" else verdict.log_body
            targets = [t for t in self._allowed_targets(alias, verdict, None)
                       if self.providers[t.provider].supports_embeddings]
            if not targets:
                raise BadRequest(f"The model '{alias.name}' has no target that serves embeddings")
            call = EmbedCall(verdict.request, verdict.body, "", alias.timeout_s, request_id)
            target, result = await self._route(alias, p.record, targets, call, _embed)
        return self._answered(p, target, result.usage, result.body)

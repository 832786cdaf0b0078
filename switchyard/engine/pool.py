"""Loaded models and admission to them.

Each model is loaded once and shared. A request holds one of the model's
slots while it generates; up to `max_queue` more wait for a slot, and past
that the pool answers `Overloaded` (503 with Retry-After) at once rather than
letting latency grow without bound. Models idle longer than `idle_unload_s`
are unloaded, and at most `max_loaded` stay loaded (least recently used goes)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ..errors import Overloaded
from .base import ChatEngine

log = logging.getLogger("switchyard")


@dataclass
class LoadedModel:
    engine: ChatEngine
    slots: asyncio.Semaphore
    waiting: int = 0
    active: int = 0
    last_used: float = field(default_factory=time.monotonic)

    @property
    def busy(self) -> bool:
        return self.active > 0 or self.waiting > 0


class EnginePool:
    def __init__(self, load: Callable[[str, str], ChatEngine], *, slots: int, max_queue: int, max_loaded: int,
                 idle_unload_s: float):
        self._load = load
        self.slots, self.max_queue, self.max_loaded, self.idle_unload_s = slots, max_queue, max_loaded, idle_unload_s
        self.models: dict[str, LoadedModel] = {}
        self._loading: dict[str, asyncio.Lock] = {}
        # generation runs in these threads; the semaphores keep them within slots x models
        self.executor = ThreadPoolExecutor(max_workers=slots * max_loaded + 1, thread_name_prefix="switchyard-engine")
        self._janitor: asyncio.Task | None = None

    async def start(self) -> None:
        self._janitor = asyncio.create_task(self._unload_idle())

    async def close(self) -> None:
        if self._janitor is not None:
            self._janitor.cancel()
        for key in list(self.models):
            await self._unload(key)
        self.executor.shutdown(wait=False, cancel_futures=True)

    async def _get(self, path: str, name: str) -> LoadedModel:
        model = self.models.get(path)
        if model is not None:
            return model
        lock = self._loading.setdefault(path, asyncio.Lock())
        async with lock:
            if path in self.models:
                return self.models[path]
            while len(self.models) >= self.max_loaded:
                idle = [k for k, m in self.models.items() if not m.busy]
                if not idle:
                    raise Overloaded(f"{self.max_loaded} models are loaded and busy; cannot load {name}", 5.0)
                await self._unload(min(idle, key=lambda k: self.models[k].last_used))
            started = time.perf_counter()
            engine = await asyncio.get_running_loop().run_in_executor(self.executor, self._load, path, name)
            log.info("loaded %s in %.2fs", path, time.perf_counter() - started)
            model = self.models[path] = LoadedModel(engine, asyncio.Semaphore(self.slots))
            return model

    async def _unload(self, path: str) -> None:
        model = self.models.pop(path, None)
        if model is not None:
            await asyncio.get_running_loop().run_in_executor(self.executor, model.engine.close)
            log.info("unloaded %s", path)

    async def _unload_idle(self) -> None:
        while True:
            await asyncio.sleep(max(1.0, min(30.0, self.idle_unload_s / 2)))
            now = time.monotonic()
            for path, model in list(self.models.items()):
                if not model.busy and now - model.last_used > self.idle_unload_s:
                    await self._unload(path)

    @contextlib.asynccontextmanager
    async def slot(self, path: str, name: str) -> AsyncIterator[ChatEngine]:
        """Hold one generation slot of the model at `path`, loading it if needed."""
        model = await self._get(path, name)
        if model.waiting >= self.max_queue and model.slots.locked():
            raise Overloaded(f"{name}: all {self.slots} slots busy and {model.waiting} requests waiting", 1.0)
        model.waiting += 1
        try:
            await model.slots.acquire()
        finally:
            model.waiting -= 1
        model.active += 1
        try:
            yield model.engine
        finally:
            model.active -= 1
            model.last_used = time.monotonic()
            model.slots.release()

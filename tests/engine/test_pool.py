"""EnginePool: one load per model, slots and the bounded queue, LRU eviction at
max_loaded, and idle unloading. The pool does not care what the engine is, so a
recording stand-in is used here; tests/providers/test_llamacpp.py runs the real one."""

from __future__ import annotations

import asyncio

import pytest

from switchyard.engine.pool import EnginePool
from switchyard.errors import Overloaded


class Recorded:
    def __init__(self, path, log):
        self.path, self.log = path, log
        log.append(("load", path))

    def chat(self, body, on_chunk):
        on_chunk(b"{}")

    def close(self):
        self.log.append(("close", self.path))


def pool(log, **options) -> EnginePool:
    settings = {"slots": 1, "max_queue": 4, "max_loaded": 1, "idle_unload_s": 60.0, **options}
    return EnginePool(lambda path, name: Recorded(path, log), **settings)


def test_a_model_is_loaded_once_and_shared():
    log = []

    async def run():
        p = pool(log, slots=2)
        await p.start()

        async def use():
            async with p.slot("a.gguf", "a") as engine:
                await asyncio.sleep(0.01)
                return engine

        engines = await asyncio.gather(*(use() for _ in range(6)))
        await p.close()
        return engines

    engines = asyncio.run(run())
    assert len({id(e) for e in engines}) == 1
    assert log == [("load", "a.gguf"), ("close", "a.gguf")]


def test_least_recently_used_idle_model_makes_room():
    log = []

    async def run():
        p = pool(log, max_loaded=2)
        for path in ("a", "b", "a", "c"):  # "b" is the least recently used when "c" arrives
            async with p.slot(path, path):
                pass
            await asyncio.sleep(0.001)
        loaded = sorted(p.models)
        await p.close()
        return loaded

    assert asyncio.run(run()) == ["a", "c"]
    assert log[:4] == [("load", "a"), ("load", "b"), ("close", "b"), ("load", "c")]


def test_no_room_when_every_loaded_model_is_busy():
    log = []

    async def run():
        p = pool(log, max_loaded=1)
        async with p.slot("a", "a"):
            with pytest.raises(Overloaded) as err:
                async with p.slot("b", "b"):
                    pass
        await p.close()
        return err.value

    err = asyncio.run(run())
    assert err.status == 503 and err.retry_after


def test_queue_bound_refuses_at_once_then_frees():
    log = []

    async def run():
        p = pool(log, slots=1, max_queue=1)
        release = asyncio.Event()

        async def hold():
            async with p.slot("a", "a"):
                await release.wait()

        holder = asyncio.create_task(hold())
        await asyncio.sleep(0.01)
        waiter = asyncio.create_task(hold())  # fills the queue of one
        await asyncio.sleep(0.01)
        with pytest.raises(Overloaded):
            async with p.slot("a", "a"):
                pass
        release.set()
        await asyncio.gather(holder, waiter)
        async with p.slot("a", "a"):  # room again
            pass
        await p.close()

    asyncio.run(run())


def test_idle_models_are_unloaded():
    log = []

    async def run():
        p = pool(log, idle_unload_s=0.05)
        await p.start()
        async with p.slot("a", "a"):
            pass
        for _ in range(40):  # the janitor wakes every max(1 s, idle/2)
            if not p.models:
                break
            await asyncio.sleep(0.1)
        models = dict(p.models)
        await p.close()
        return models

    assert asyncio.run(run()) == {}
    assert log == [("load", "a"), ("close", "a")]

"""Server-sent events out to the client, chunk by chunk with no buffering.

A watcher task waits for the client's disconnect and cancels the relay, so
an abandoned stream stops pulling tokens from the upstream at once."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

from .http import Headers

_YIELD_EVERY_S = 0.002
_SSE_HEADERS = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache"),
                (b"x-accel-buffering", b"no")]


async def send_events(receive, send, first: bytes, events: AsyncIterator[bytes], headers: Headers) -> None:
    async def relay() -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [*_SSE_HEADERS, *headers]})
        await send({"type": "http.response.body", "body": first, "more_body": True})
        yielded = time.perf_counter()
        async for event in events:
            await send({"type": "http.response.body", "body": event, "more_body": True})
            # A producer with a backlog (an in-process engine) never makes this loop wait: yield
            # now and then, so a disconnect is seen and other requests are served meanwhile.
            if time.perf_counter() - yielded > _YIELD_EVERY_S:
                await asyncio.sleep(0)
                yielded = time.perf_counter()
        await send({"type": "http.response.body", "body": b""})

    async def watch(task: asyncio.Task) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                task.cancel()
                return

    task = asyncio.ensure_future(relay())
    watcher = asyncio.ensure_future(watch(task))
    try:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    finally:
        watcher.cancel()
        await events.aclose()  # runs the relay's cleanup (upstream close, log record) even when cancelled

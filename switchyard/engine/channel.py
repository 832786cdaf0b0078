"""A one-way channel from an engine thread to the event loop.

Per-token callbacks must hold the GIL as briefly as possible: while they wait for
it, the engine does not generate. `put` appends to a deque and wakes the loop only
when the consumer is actually waiting, instead of one cross-thread wake-up
(a self-pipe write and a loop iteration) per token."""

from __future__ import annotations

import asyncio
from collections import deque


class Channel:
    def __init__(self, loop: asyncio.AbstractEventLoop):
        self._loop = loop
        self._items: deque = deque()
        self._waiter: asyncio.Future | None = None

    def put(self, item) -> None:
        """Called from the engine thread."""
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            self._loop.call_soon_threadsafe(_wake, waiter)

    def ready(self) -> bool:
        return bool(self._items)

    def get_nowait(self):
        return self._items.popleft()

    async def get(self):
        """The next item, waiting for it only when none is queued."""
        while not self._items:
            waiter = self._waiter = self._loop.create_future()
            if self._items:  # put() ran between the check and arming the waiter
                self._waiter = None
                break
            await waiter
        return self._items.popleft()


def _wake(waiter: asyncio.Future) -> None:
    if not waiter.done():
        waiter.set_result(None)

"""Request ids: `req_` + milliseconds since the epoch + a random per-process prefix + a counter.

Time first, so ids sort by arrival and the request log's primary-key index grows at its end
(random ids cost SQLite twice the work per insert); the random prefix keeps workers and
replicas apart; the counter keeps ids unique within a millisecond, without a syscall per id."""

from __future__ import annotations

import itertools
import os
import secrets
import time


class RequestIds:
    def __init__(self):
        self._reseed()
        os.register_at_fork(after_in_child=self._reseed)  # a forked worker must not repeat its parent's ids

    def _reseed(self) -> None:
        self._prefix = secrets.token_hex(6)
        self._counter = itertools.count()

    def next(self) -> str:
        return f"req_{time.time_ns() // 1_000_000:012x}{self._prefix}{next(self._counter) & 0xFFFFFF:06x}"

"""Conversations found sensitive stay on local targets for their later turns.

Kept in this process's memory with a time-to-live; with several replicas a
conversation is pinned on the replica that saw it (see docs/privacy.md)."""

from __future__ import annotations

import time

_MAX_SESSIONS = 100_000


class SessionPins:
    def __init__(self, ttl_s: float):
        self.ttl_s = ttl_s
        self._until: dict[str, float] = {}

    def pin(self, session: str) -> None:
        if len(self._until) >= _MAX_SESSIONS:
            self._expire()
        self._until[session] = time.monotonic() + self.ttl_s

    def pinned(self, session: str) -> bool:
        until = self._until.get(session)
        if until is None:
            return False
        if until < time.monotonic():
            del self._until[session]
            return False
        return True

    def _expire(self) -> None:
        now = time.monotonic()
        self._until = {s: t for s, t in self._until.items() if t >= now}
        while len(self._until) >= _MAX_SESSIONS:  # all live: drop the oldest pins
            self._until.pop(next(iter(self._until)))

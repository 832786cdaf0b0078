"""The engine seam: an in-process inference engine that speaks OpenAI's chat
JSON. Calls block (run them in a worker thread); streamed chunks go to a
callback that returns True to stop generation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

OnChunk = Callable[[bytes], bool]  # return True to stop generating


class ChatEngine(Protocol):
    def chat(self, body: bytes, on_chunk: OnChunk) -> None:
        """Run one chat completion; each result (one JSON object, or one chunk per
        token when the body asks to stream) goes to `on_chunk`. An error arrives
        as a JSON object with an "error" key, or raises ValueError."""

    def close(self) -> None: ...

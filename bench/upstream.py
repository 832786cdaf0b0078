"""A fast fake OpenAI-compatible upstream for the gateway benchmark.

    python -m bench.upstream --port 9100 [--delay-ms 0] [--chunks 8] [--chunk-gap-ms 1]

Raw asyncio on uvloop with httptools, no framework: it must never be the bottleneck.
POST .../chat/completions answers a fixed chat.completion; with "stream": true in the
body it answers `--chunks` SSE chunks `--chunk-gap-ms` apart (chunked encoding, each
chunk its own write), a usage chunk when `stream_options.include_usage` is set, then
[DONE]. `--delay-ms` waits before the first byte. Any other request gets 200 "ok"
(readiness probes). HTTP/1.1 keep-alive; no pipelining."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from dataclasses import dataclass

import httptools
import orjson
import uvloop

MODEL = "fake-model"
_ID = {"id": "chatcmpl-bench", "created": 1700000000, "model": MODEL}
USAGE = {"prompt_tokens": 12, "completion_tokens": 8, "total_tokens": 20}
COMPLETION = orjson.dumps({
    **_ID, "object": "chat.completion", "system_fingerprint": "fp_bench",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello! I am a fake model, here to help."},
                 "logprobs": None, "finish_reason": "stop"}],
    "usage": USAGE})

_JSON_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n"
_SSE_HEAD = (b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
             b"transfer-encoding: chunked\r\n\r\n")
_OK = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok"
_CLOSE = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
_LAST = b"0\r\n\r\n"


def _frame(event: dict | str) -> bytes:
    """One SSE event as one HTTP chunk."""
    data = b"data: " + (event.encode() if isinstance(event, str) else orjson.dumps(event)) + b"\n\n"
    return b"%x\r\n%s\r\n" % (len(data), data)


def _chunk(i: int, n: int) -> dict:
    delta = {"role": "assistant", "content": ""} if i == 0 else {"content": f"tok{i} "}
    finish = "stop" if i == n - 1 else None
    return {**_ID, "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}


@dataclass(frozen=True)
class Settings:
    delay_s: float = 0.0
    chunks: int = 8
    chunk_gap_s: float = 0.001

    def frames(self) -> list[bytes]:
        return [_frame(_chunk(i, self.chunks)) for i in range(self.chunks)]


class Connection(asyncio.Protocol):
    def __init__(self, settings: Settings, frames: list[bytes], usage_frame: bytes):
        self.settings, self.frames, self.usage_frame = settings, frames, usage_frame
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.url = b""
        self.body: list[bytes] = []

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.transport.close()

    # httptools callbacks
    def on_message_begin(self) -> None:
        self.url, self.body = b"", []

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        keep_alive = self.parser.should_keep_alive()
        if self.parser.get_method() != b"POST" or not self.url.endswith(b"/chat/completions"):
            self.transport.write(_OK if keep_alive else _CLOSE)
            if not keep_alive:
                self.transport.close()
            return
        try:
            request = orjson.loads(b"".join(self.body))
        except orjson.JSONDecodeError:
            request = {}
        if request.get("stream") is True:
            usage = bool((request.get("stream_options") or {}).get("include_usage"))
            asyncio.get_running_loop().create_task(self._stream(usage))
        elif self.settings.delay_s:
            asyncio.get_running_loop().call_later(self.settings.delay_s, self._complete, keep_alive)
        else:
            self._complete(keep_alive)

    def _complete(self, keep_alive: bool) -> None:
        if self.transport.is_closing():
            return
        self.transport.write(_JSON_HEAD % len(COMPLETION) + COMPLETION)
        if not keep_alive:
            self.transport.close()

    async def _stream(self, usage: bool) -> None:
        transport, gap = self.transport, self.settings.chunk_gap_s
        if self.settings.delay_s:
            await asyncio.sleep(self.settings.delay_s)
        for i, frame in enumerate(self.frames):
            if transport.is_closing():
                return
            if i == 0:
                transport.write(_SSE_HEAD + frame)
            else:
                if gap:
                    await asyncio.sleep(gap)
                transport.write(frame)
        if not transport.is_closing():
            transport.write((self.usage_frame if usage else b"") + _frame("[DONE]") + _LAST)


async def serve(host: str, port: int, settings: Settings, started: asyncio.Event | None = None) -> None:
    frames = settings.frames()
    usage_frame = _frame({**_ID, "object": "chat.completion.chunk", "choices": [], "usage": USAGE})
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Connection(settings, frames, usage_frame), host, port,
                                      backlog=4096, reuse_address=True)
    if started is not None:
        started.set()
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--delay-ms", type=float, default=0.0, help="wait before the first byte of each answer")
    parser.add_argument("--chunks", type=int, default=8, help="content chunks per streamed answer")
    parser.add_argument("--chunk-gap-ms", type=float, default=1.0, help="pause between streamed chunks")
    args = parser.parse_args()
    settings = Settings(args.delay_ms / 1000, max(1, args.chunks), args.chunk_gap_ms / 1000)
    with contextlib.suppress(KeyboardInterrupt):
        uvloop.run(serve(args.host, args.port, settings))


if __name__ == "__main__":
    main()

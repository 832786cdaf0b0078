"""Fake upstream providers speaking each provider's documented wire format.

Each runs as an aiohttp.web app on 127.0.0.1 in a background thread and records
every request body it receives. Faults are chosen by the requested model name:

    fail-500 / fail-429 / fail-400   answer that status with the provider's error JSON
    hang                             accept the request, never answer
    reset                            close the connection without answering
    die-after-2                      (streams) send two chunks, then drop the connection
    slow-<ms>                        wait <ms> milliseconds before answering
"""

from __future__ import annotations

import asyncio
import threading

from aiohttp import web

RECORDER = web.AppKey("recorder", object)


class FakeServer:
    """Runs an aiohttp app on 127.0.0.1:<free port> in its own thread and loop."""

    def __init__(self, app: web.Application):
        self.app = app
        self.requests: list[dict] = []  # every JSON body received, in order
        self.paths: list[str] = []
        self.headers: list[dict[str, str]] = []
        app[RECORDER] = self
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.port = 0

    def record(self, request: web.Request, body: dict) -> None:
        self.requests.append(body)
        self.paths.append(request.path_qs)
        self.headers.append(dict(request.headers))

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        runner = web.AppRunner(self.app, handle_signals=False, handler_cancellation=True)
        self._loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]
        self._runner = runner
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(runner.cleanup())

    def start(self) -> FakeServer:
        self._thread.start()
        self._ready.wait(10)
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


async def apply_fault(request: web.Request, model: str) -> None:
    """Act out the faults every fake shares: hang, reset, slow-<ms>."""
    if model == "hang":
        await asyncio.sleep(3600)
    if model == "reset":
        request.transport.close()
        raise ConnectionResetError("fake reset")
    if model.startswith("slow-"):
        await asyncio.sleep(int(model.split("-", 1)[1]) / 1000)


def fault_status(model: str) -> int | None:
    if model.startswith("fail-"):
        return int(model.split("-", 1)[1])
    return None


async def drop_connection(response: web.StreamResponse) -> None:
    """End a stream abruptly, as a crashed upstream would: no terminating chunk."""
    transport = response._req.transport if response._req else None
    if transport is not None:
        transport.abort()

"""Load generation and measurement for the gateway benchmark.

- `wrk_throughput`: closed loop with wrk (a Lua script sets the POST body and headers);
- `closed_loop`: the same in Python (raw asyncio sockets + httptools) when wrk is absent,
  and for a fixed number of requests (CPU per request);
- `open_loop`: requests sent on a fixed schedule whatever the answers do (wrk2 is not in
  Debian); latency counts from the *scheduled* send time, so a server that falls behind
  pays for the queue it builds (no coordinated omission).
CPU and RSS readings from /proc are in bench/peers.py, with the processes."""

from __future__ import annotations

import asyncio
import json
import math
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httptools
import orjson

WRK_HINT = "wrk not found: install it with `apt-get install -y wrk` (Debian/Ubuntu); using the Python generator"
PROMPT = [{"role": "user", "content": "Say hello in one short sentence."}]


@dataclass(frozen=True)
class Endpoint:
    """Where and how to POST a chat completion."""

    host: str
    port: int
    model: str
    headers: dict[str, str] = field(default_factory=dict)
    path: str = "/v1/chat/completions"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{self.path}"

    def body(self, stream: bool = False) -> bytes:
        body = {"model": self.model, "messages": PROMPT, "max_tokens": 32}
        if stream:
            body |= {"stream": True, "stream_options": {"include_usage": True}}
        return orjson.dumps(body)

    def request(self, stream: bool = False) -> bytes:
        body = self.body(stream)
        head = [f"POST {self.path} HTTP/1.1", f"Host: {self.host}:{self.port}", "Content-Type: application/json",
                f"Content-Length: {len(body)}", *(f"{k}: {v}" for k, v in self.headers.items())]
        return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def percentile(values: list[float], q: float) -> float | None:
    """Nearest rank, in milliseconds."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))] * 1000, 3)


def _summary(latency: list[float], errors: Counter, elapsed: float) -> dict:
    return {"seconds": round(elapsed, 3), "ok": len(latency), "errors": sum(errors.values()),
            "error_kinds": dict(errors), "rps": round(len(latency) / elapsed, 1),
            "p50_ms": percentile(latency, 50), "p90_ms": percentile(latency, 90), "p99_ms": percentile(latency, 99),
            "max_ms": percentile(latency, 100)}


def _error_kind(exc: BaseException) -> str:
    return "timeout" if isinstance(exc, TimeoutError) else type(exc).__name__


# -- a minimal keep-alive HTTP/1.1 client ---------------------------------------------------

class Client(asyncio.Protocol):
    def __init__(self):
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.done: asyncio.Future | None = None
        self.first = 0.0  # when the first body byte of the current answer came
        self.broken = False

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(ConnectionError(f"bad HTTP answer: {exc}"))

    def on_body(self, body: bytes) -> None:
        self.first = self.first or time.perf_counter()

    def on_message_complete(self) -> None:
        self.broken = self.broken or not self.parser.should_keep_alive()
        if self.done is not None and not self.done.done():
            self.done.set_result(self.parser.get_status_code())

    def connection_lost(self, exc) -> None:
        self._fail(exc or ConnectionResetError("connection closed by the server"))

    def _fail(self, exc: Exception) -> None:
        self.close()
        if self.done is not None and not self.done.done():
            self.done.set_exception(exc)

    def close(self) -> None:
        self.broken = True
        if self.transport is not None:
            self.transport.close()

    async def call(self, payload: bytes, timeout: float) -> tuple[int, float]:
        """Send one request: the answer's status and when its first body byte came."""
        if self.broken:
            raise ConnectionResetError("connection closed by the server")
        self.first, self.done = 0.0, asyncio.get_running_loop().create_future()
        self.transport.write(payload)
        try:
            async with asyncio.timeout(timeout):
                return await self.done, self.first
        except BaseException:
            self.close()  # in an unknown state
            raise


async def connect(endpoint: Endpoint) -> Client:
    _, client = await asyncio.get_running_loop().create_connection(Client, endpoint.host, endpoint.port)
    return client


# -- open loop: a fixed schedule ----------------------------------------------------------

async def open_loop(endpoint: Endpoint, rate: float, duration: float, stream: bool = False,
                    max_connections: int = 256, timeout: float = 5.0) -> dict:
    """`rate` requests per second for `duration` seconds on a fixed schedule, on pooled keep-alive
    connections; a request that finds `max_connections` busy fails at once ("saturated")."""
    idle = [c for c in await asyncio.gather(*(connect(endpoint) for _ in range(16)), return_exceptions=True)
            if isinstance(c, Client)]
    payload = endpoint.request(stream)
    latency, service, ttfb, errors, busy, lag = [], [], [], Counter(), [0], 0.0

    async def one(due: float) -> None:
        client = None
        while idle and client is None:
            client = idle.pop()
            client = None if client.broken else client
        if client is None and busy[0] >= max_connections:
            errors["saturated"] += 1
            return
        busy[0] += 1
        sent = time.perf_counter()
        try:
            client = client or await connect(endpoint)
            status, first = await client.call(payload, max(0.001, timeout - (sent - due)))
        except Exception as exc:
            errors[_error_kind(exc)] += 1
            return
        finally:
            busy[0] -= 1
        end = time.perf_counter()
        if not client.broken:
            idle.append(client)
        if status != 200:
            errors[f"http_{status}"] += 1
            return
        latency.append(end - due)
        service.append(end - sent)
        if first:
            ttfb.append(first - due)

    tasks = []
    start = time.perf_counter() + 0.005
    for i in range(max(1, round(rate * duration))):
        due = start + i / rate
        if (wait := due - time.perf_counter()) > 0:
            await asyncio.sleep(wait)
        lag = max(lag, time.perf_counter() - due)
        tasks.append(asyncio.create_task(one(due)))
    await asyncio.gather(*tasks)
    for client in idle:
        client.close()
    result = {"rate": rate, "sent": len(tasks), **_summary(latency, errors, time.perf_counter() - start),
              "service_p50_ms": percentile(service, 50), "service_p99_ms": percentile(service, 99),
              "generator_lag_max_ms": round(lag * 1000, 3)}
    if stream:
        result |= {"ttfb_p50_ms": percentile(ttfb, 50), "ttfb_p99_ms": percentile(ttfb, 99)}
    return result


# -- closed loop: N connections, each sends again as soon as its answer is in ----------------

async def closed_loop(endpoint: Endpoint, connections: int, duration: float, count: int | None = None,
                      stream: bool = False, timeout: float = 10.0) -> dict:
    """Until `duration` passes (or `count` requests were sent): req/s with `connections` in flight."""
    payload = endpoint.request(stream)
    latency, errors, issued = [], Counter(), [0]
    start = time.perf_counter()
    deadline = start + duration

    async def worker() -> None:
        client = None
        while (count is None or issued[0] < count) and time.perf_counter() < deadline:
            issued[0] += 1
            t0 = time.perf_counter()
            try:
                if client is None or client.broken:
                    client = await connect(endpoint)
                status, _ = await client.call(payload, timeout)
            except Exception as exc:
                errors[_error_kind(exc)] += 1
                continue
            if status == 200:
                latency.append(time.perf_counter() - t0)
            else:
                errors[f"http_{status}"] += 1
        if client is not None:
            client.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return {"tool": "python", "connections": connections, **_summary(latency, errors, time.perf_counter() - start)}


# -- wrk ------------------------------------------------------------------------------------

_WRK_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, '
    .. '"status": %d, "timeout": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


def wrk_script(endpoint: Endpoint) -> str:
    lines = ['wrk.method = "POST"', f"wrk.body = [==[{endpoint.body().decode()}]==]",
             'wrk.headers["Content-Type"] = "application/json"']
    lines += [f"wrk.headers[ [==[{k}]==] ] = [==[{v}]==]" for k, v in endpoint.headers.items()]
    return "\n".join(lines) + "\n" + _WRK_DONE


def wrk_throughput(endpoint: Endpoint, connections: int, duration: float, cpu: int | None,
                   timeout: float = 10.0) -> dict:
    """Closed loop with wrk, one thread pinned to `cpu`: req/s answered 2xx, and every error wrk saw."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(wrk_script(endpoint))
    seconds = max(1, round(duration))
    pin = ["taskset", "-c", str(cpu)] if cpu is not None else []
    cmd = [*pin, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", f"--timeout={round(timeout)}s", "-s", f.name,
           endpoint.url]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + timeout + 30)
    finally:
        Path(f.name).unlink(missing_ok=True)
    line = next((x for x in out.stdout.splitlines() if x.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed: {out.stdout}{out.stderr}")
    r = json.loads(line.removeprefix("WRKJSON "))
    errors = {k: r[k] for k in ("connect", "read", "write", "status", "timeout") if r[k]}
    ok, elapsed = r["requests"] - r["status"], r["duration_us"] / 1e6
    return {"tool": "wrk", "connections": connections, "seconds": round(elapsed, 3), "ok": ok,
            "errors": sum(errors.values()), "error_kinds": errors, "rps": round(ok / elapsed, 1),
            **{f"p{q}_ms": r[f"p{q}_us"] / 1000 for q in (50, 90, 99)}, "max_ms": r["max_us"] / 1000}


def have_wrk() -> bool:
    return shutil.which("wrk") is not None

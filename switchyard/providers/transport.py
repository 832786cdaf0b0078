"""HTTP/1.1 to upstream providers: a pool of keep-alive connections, each an asyncio
protocol whose responses httptools parses (the parser uvicorn uses).

Why not aiohttp's client: the gateway sends one kind of request (a POST of JSON to a
known host) and aiohttp's general machinery (cookies, redirects, tracing, header
merging, payload registry) cost more CPU per request than all of the gateway's own
routing and logging; see docs/performance.md. What a provider needs is kept: TLS,
keep-alive with an idle limit, a bound on connections, Content-Length and chunked
bodies, streaming with back-pressure, timeouts, and HTTP proxies (proxy.py)."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import deque
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import httptools

from .. import __version__
from .proxy import proxy_for, tunnel

_IDLE_S = 60.0  # an idle connection older than this is closed rather than reused
_HIGH_WATER = 1 << 20  # buffered bytes of a streamed body before reading from the socket pauses


class ConnectionClosed(ConnectionError):
    """The upstream closed the connection, or answered with something that is not HTTP."""


class _Connection(asyncio.Protocol):
    """One connection; one request at a time. Body bytes are buffered until read."""

    def __init__(self):
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.idle_since = time.monotonic()
        self.reusable = False
        self._reset()

    def _reset(self) -> None:
        self.headers: list[tuple[bytes, bytes]] = []
        self.status: int | None = None
        self.head: asyncio.Future | None = None  # set when the status line and headers are in
        self.body: list[bytes] = []
        self.buffered = 0
        self.complete = False
        self.error: BaseException | None = None
        self._waiter: asyncio.Future | None = None
        self._paused = False

    # -- asyncio.Protocol -----------------------------------------------------

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(ConnectionClosed(f"malformed HTTP answer: {exc}"))
            self.transport.close()

    def connection_lost(self, exc: BaseException | None) -> None:
        self.reusable = False
        if self.complete:
            return
        if exc is None and self.status is not None \
                and not any(name in (b"content-length", b"transfer-encoding") for name, _ in self.headers):
            self.complete = True  # a body delimited by the end of the connection
            self._wake()
        elif self.error is None:  # else the parser already said what went wrong
            self._fail(ConnectionClosed(f"connection closed by the upstream{f': {exc}' if exc else ''}"))

    # -- httptools callbacks ----------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        if self.head is not None and not self.head.done():
            self.head.set_result(self.status)

    def on_body(self, body: bytes) -> None:
        self.body.append(body)
        self.buffered += len(body)
        if self.buffered > _HIGH_WATER and not self._paused:
            self._paused = True
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        self.complete = True
        self.reusable = self.parser.should_keep_alive()
        self._wake()

    # -- used by Response ---------------------------------------------------------

    def _fail(self, exc: BaseException) -> None:
        self.error = exc
        if self.head is not None and not self.head.done():
            self.head.set_exception(exc)
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def send(self, request: bytes) -> None:
        self._reset()
        self.head = asyncio.get_running_loop().create_future()
        self.transport.write(request)

    def take(self) -> bytes:
        data = self.body[0] if len(self.body) == 1 else b"".join(self.body)
        self.body, self.buffered = [], 0
        if self._paused:
            self._paused = False
            self.transport.resume_reading()
        return data

    async def wait(self) -> None:
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None


class Response:
    """Status, headers, and a body read whole (`read`) or as it arrives (`chunks`)."""

    __slots__ = ("_conn", "_pool", "headers", "status")

    def __init__(self, pool: Pool, conn: _Connection, status: int):
        self._pool, self._conn, self.status = pool, conn, status
        self.headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in conn.headers}

    async def read(self) -> bytes:
        conn, parts = self._conn, []
        while True:
            if conn.body:  # taken as it comes, so a body over the high-water mark never pauses reading for good
                parts.append(conn.take())
            if conn.complete:
                return parts[0] if len(parts) == 1 else b"".join(parts)
            if conn.error is not None:
                raise conn.error
            await conn.wait()

    async def chunks(self, read_timeout: float) -> AsyncIterator[bytes]:
        """Body bytes as they come; a wait over `read_timeout` for the next ones raises TimeoutError."""
        conn = self._conn
        while True:
            if conn.body:
                yield conn.take()
            elif conn.complete:
                return
            elif conn.error is not None:
                raise conn.error
            else:
                async with asyncio.timeout(read_timeout):
                    await conn.wait()

    def release(self) -> None:
        """Give the connection back to the pool when its answer was read to the end, else close it."""
        if self._conn is not None:
            self._pool.release(self._conn)
            self._conn = None


class Pool:
    """Keep-alive connections to one origin, at most `max_connections` open at once."""

    def __init__(self, base_url: str, headers: dict[str, str], max_connections: int = 256,
                 ca_file: str | None = None, proxy: str | None = None):
        url = urlsplit(base_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"base_url must be an http:// or https:// URL, not {base_url!r}")
        self.host = url.hostname
        self.port = url.port or (443 if url.scheme == "https" else 80)
        self.ssl = ssl.create_default_context() if url.scheme == "https" else None
        if self.ssl is not None and ca_file:
            self.ssl.load_verify_locations(Path(ca_file).expanduser())
        host = self.host if url.port is None else f"{self.host}:{url.port}"
        if ":" in self.host:  # IPv6 literal
            host = f"[{self.host}]" + (f":{url.port}" if url.port else "")
        self.proxy = proxy_for(url, proxy)
        forwarded = self.proxy is not None and self.ssl is None  # plain http through a proxy: absolute URLs
        self.prefix = (f"http://{host}" if forwarded else "") + url.path.rstrip("/")
        # identity: with no Accept-Encoding a server may compress, and bodies are relayed as they come
        fixed = {"Host": host, "User-Agent": f"switchyard/{__version__}", "Accept": "application/json",
                 "Accept-Encoding": "identity", "Content-Type": "application/json", **headers}
        if forwarded and self.proxy.authorization:
            fixed["Proxy-Authorization"] = self.proxy.authorization
        self._head = "".join(f"{k}: {v}\r\n" for k, v in fixed.items()).encode("latin-1")
        self._idle: deque[_Connection] = deque()
        self._slots = asyncio.Semaphore(max_connections)
        self._open: set[_Connection] = set()

    def request_bytes(self, path: str, body: bytes, headers: dict[str, str] | None) -> bytes:
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode("latin-1") if headers else b""
        return b"".join((b"POST ", (self.prefix + path).encode("latin-1"), b" HTTP/1.1\r\n", self._head, extra,
                         b"Content-Length: %d\r\n\r\n" % len(body), body))

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        if self.proxy is None:
            _, conn = await loop.create_connection(_Connection, self.host, self.port, ssl=self.ssl,
                                                   server_hostname=self.host if self.ssl else None)
        elif self.ssl is None:
            _, conn = await loop.create_connection(_Connection, self.proxy.host, self.proxy.port)
        else:
            conn = _Connection()
            await tunnel(self.proxy, self.host, self.port, self.ssl, conn)
        self._open.add(conn)
        return conn

    async def _acquire(self) -> _Connection:
        await self._slots.acquire()
        try:
            now = time.monotonic()
            while self._idle and now - self._idle[0].idle_since >= _IDLE_S:
                self._discard(self._idle.popleft())
            while self._idle:
                conn = self._idle.pop()  # the most recently used: least likely to have been closed
                if conn.reusable and not conn.transport.is_closing() and now - conn.idle_since < _IDLE_S:
                    return conn
                self._discard(conn)
            return await self._connect()
        except BaseException:
            self._slots.release()
            raise

    async def post(self, path: str, body: bytes, headers: dict[str, str] | None = None) -> Response:
        """Send a POST; return once the status and headers are in. Call `release()` on the answer."""
        conn = await self._acquire()
        try:
            conn.send(self.request_bytes(path, body, headers))
            status = await conn.head
        except BaseException:
            self._discard(conn)
            self._slots.release()
            raise
        return Response(self, conn, status)

    def release(self, conn: _Connection) -> None:
        if conn.complete and conn.reusable and not conn.body and not conn.transport.is_closing():
            conn.idle_since = time.monotonic()
            self._idle.append(conn)
        else:
            self._discard(conn)
        self._slots.release()

    def _discard(self, conn: _Connection) -> None:
        conn.reusable = False
        self._open.discard(conn)
        if conn.transport is not None:
            conn.transport.close()

    def close(self) -> None:
        for conn in list(self._open):
            self._discard(conn)
        self._idle.clear()

"""One pooled HTTP client per provider (transport.py), with upstream failures mapped to
`UpstreamError`s and a small server-sent-events reader shared by all providers."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from typing import Any

import orjson

from ..errors import UpstreamConnection, UpstreamError, UpstreamStatus, UpstreamTimeout
from .base import Provider, ProviderConfig
from .transport import Pool, Response


def _error_message(status: int, raw: bytes) -> tuple[str, dict | None]:
    """OpenAI, Anthropic and Gemini all put a message at error.message."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        text = raw.decode("utf-8", "replace").strip()[:500]
        return (text or f"upstream answered {status}"), None
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"]), body
        if isinstance(err, str):
            return err, body
        if isinstance(body.get("message"), str):
            return body["message"], body
    return f"upstream answered {status}", body if isinstance(body, dict) else None


def _retry_after(headers: Any) -> float | None:
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class HTTPClient:
    """JSON POSTs and server-sent-event streams to one upstream, over a keep-alive pool."""

    def __init__(self, base_url: str, headers: dict[str, str], max_connections: int = 256,
                 ca_file: str | None = None, proxy: str | None = None):
        self.base_url = base_url.rstrip("/")
        self.headers = headers  # sent on every request, after the pool's own
        self.pool = Pool(self.base_url, headers, max_connections, ca_file, proxy)

    async def start(self) -> None:
        """Connections open on first use."""

    async def close(self) -> None:
        self.pool.close()

    @staticmethod
    async def _raise_for_status(resp: Response) -> None:
        if resp.status >= 400:
            raw = await resp.read()
            message, body = _error_message(resp.status, raw)
            raise UpstreamStatus(resp.status, message, retry_after=_retry_after(resp.headers), body=body)

    async def post_json(self, path: str, body: dict[str, Any], timeout: float,
                        headers: dict[str, str] | None = None) -> dict[str, Any]:
        """POST `body`; the whole exchange, connecting included, must finish within `timeout`."""
        resp = None
        try:
            async with asyncio.timeout(timeout):
                resp = await self.pool.post(path, orjson.dumps(body), headers)
                await self._raise_for_status(resp)
                raw = await resp.read()
        except UpstreamError:
            raise
        except TimeoutError as exc:
            raise UpstreamTimeout(f"no answer within {timeout:g}s") from exc
        except (OSError, ssl.SSLError) as exc:
            raise UpstreamConnection(f"connection failed: {exc.__class__.__name__}: {exc}") from exc
        finally:
            if resp is not None:
                resp.release()
        try:
            result = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise UpstreamConnection("upstream answered with invalid JSON") from exc
        if not isinstance(result, dict):
            raise UpstreamConnection("upstream answered with JSON that is not an object")
        return result

    async def stream_events(self, path: str, body: dict[str, Any], timeout: float,
                            headers: dict[str, str] | None = None) -> AsyncIterator[tuple[str | None, bytes]]:
        """Yield (event name, data) for each server-sent event.

        `timeout` bounds the wait for the answer's head and for every later read,
        so a stream that stalls mid-way fails like one that never starts."""
        resp = None
        try:
            async with asyncio.timeout(timeout):
                resp = await self.pool.post(path, orjson.dumps(body), headers)
                await self._raise_for_status(resp)
            events = SSEDecoder()
            async for chunk in resp.chunks(timeout):
                for event in events.feed(chunk):
                    yield event
            for event in events.end():
                yield event
        except UpstreamError:
            raise
        except TimeoutError as exc:
            raise UpstreamTimeout(f"no data within {timeout:g}s") from exc
        except (OSError, ssl.SSLError) as exc:
            raise UpstreamConnection(f"stream broke: {exc.__class__.__name__}: {exc}") from exc
        finally:
            if resp is not None:
                resp.release()


class SSEDecoder:
    """Server-sent events from bytes as they arrive: (event name, data) per event."""

    def __init__(self):
        self._rest = b""
        self._event: str | None = None
        self._data: list[bytes] = []

    def feed(self, chunk: bytes) -> list[tuple[str | None, bytes]]:
        lines = (self._rest + chunk).split(b"\n")
        self._rest = lines.pop()  # an incomplete line waits for the next chunk
        out = []
        for line in lines:
            if line.endswith(b"\r"):
                line = line[:-1]
            if not line:
                if self._data:
                    out.append((self._event, b"\n".join(self._data)))
                self._event, self._data = None, []
            elif line.startswith(b"data:"):
                self._data.append(line[6:] if line[5:6] == b" " else line[5:])
            elif line.startswith(b"event:"):
                self._event = line[6:].strip().decode()
            # comments (":") and other fields (id:, retry:) are not needed
        return out

    def end(self) -> list[tuple[str | None, bytes]]:
        """What is left when the body ends: a last event without its blank line."""
        return self.feed(b"\n\n")


class HTTPProvider(Provider):
    """A provider that speaks HTTP: one pooled client, opened and closed with the server.
    Subclasses say how they authenticate in `auth_headers`."""

    def __init__(self, name: str, config: ProviderConfig):
        super().__init__(name, config)
        base_url = config.base_url or type(config).model_fields["base_url"].default
        headers = {**config.headers, **self.auth_headers(config)}
        self.http = HTTPClient(base_url, headers, config.max_connections, config.ca_file, config.proxy)

    def auth_headers(self, config: ProviderConfig) -> dict[str, str]:
        return {}

    async def start(self) -> None:
        await self.http.start()

    async def close(self) -> None:
        await self.http.close()

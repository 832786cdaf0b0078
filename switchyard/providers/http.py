"""One pooled aiohttp session per provider, with upstream failures mapped to
`UpstreamError`s and a small server-sent-events reader shared by all providers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson

from ..errors import UpstreamConnection, UpstreamError, UpstreamStatus, UpstreamTimeout
from .base import Provider, ProviderConfig


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
    def __init__(self, base_url: str, headers: dict[str, str], max_connections: int = 256):
        self.base_url = base_url.rstrip("/")
        self.headers = headers
        self.max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self.max_connections, ttl_dns_cache=300, keepalive_timeout=60)
            self._session = aiohttp.ClientSession(connector=connector, headers=self.headers,
                                                  skip_auto_headers=("User-Agent",))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("HTTPClient used before start()")
        return self._session

    async def _raise_for_status(self, resp: aiohttp.ClientResponse) -> None:
        if resp.status >= 400:
            raw = await resp.read()
            message, body = _error_message(resp.status, raw)
            raise UpstreamStatus(resp.status, message, retry_after=_retry_after(resp.headers), body=body)

    async def post_json(self, path: str, body: dict[str, Any], timeout: float,
                        headers: dict[str, str] | None = None) -> dict[str, Any]:
        try:
            async with self.session.post(
                self.base_url + path, data=orjson.dumps(body), headers=_json_headers(headers),
                timeout=aiohttp.ClientTimeout(total=timeout),
            ) as resp:
                await self._raise_for_status(resp)
                raw = await resp.read()
        except UpstreamError:
            raise
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise UpstreamTimeout(f"no answer within {timeout:g}s") from exc
        except aiohttp.ClientError as exc:
            raise UpstreamConnection(f"connection failed: {exc.__class__.__name__}: {exc}") from exc
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
        try:
            async with self.session.post(
                self.base_url + path, data=orjson.dumps(body), headers=_json_headers(headers),
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=timeout, sock_read=timeout),
            ) as resp:
                await self._raise_for_status(resp)
                event: str | None = None
                data: list[bytes] = []
                async for line in resp.content:
                    line = line.rstrip(b"\r\n")
                    if not line:
                        if data:
                            yield event, b"\n".join(data)
                        event, data = None, []
                    elif line.startswith(b"data:"):
                        data.append(line[6:] if line[5:6] == b" " else line[5:])
                    elif line.startswith(b"event:"):
                        event = line[6:].strip().decode()
                    # comments (":") and other fields (id:, retry:) are not needed
                if data:
                    yield event, b"\n".join(data)
        except UpstreamError:
            raise
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise UpstreamTimeout(f"no data within {timeout:g}s") from exc
        except aiohttp.ClientError as exc:
            raise UpstreamConnection(f"stream broke: {exc.__class__.__name__}: {exc}") from exc


_JSON = {"Content-Type": "application/json"}


def _json_headers(extra: dict[str, str] | None) -> dict[str, str]:
    return {**_JSON, **extra} if extra else _JSON


class HTTPProvider(Provider):
    """A provider that speaks HTTP: one pooled client, opened and closed with the server.
    Subclasses say how they authenticate in `auth_headers`."""

    def __init__(self, name: str, config: ProviderConfig):
        super().__init__(name, config)
        base_url = config.base_url or type(config).model_fields["base_url"].default
        headers = {**config.headers, **self.auth_headers(config)}
        self.http = HTTPClient(base_url, headers, config.max_connections)

    def auth_headers(self, config: ProviderConfig) -> dict[str, str]:
        return {}

    async def start(self) -> None:
        await self.http.start()

    async def close(self) -> None:
        await self.http.close()

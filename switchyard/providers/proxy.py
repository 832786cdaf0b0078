"""Reaching an upstream through an HTTP proxy, as corporate networks require.

Which proxy: the provider's `proxy` key, else HTTPS_PROXY / HTTP_PROXY from the
environment (NO_PROXY honoured; loopback addresses never go through one). https
upstreams are reached through a CONNECT tunnel with TLS to the upstream inside it;
plain http ones by sending the request with its absolute URL to the proxy."""

from __future__ import annotations

import asyncio
import base64
import ssl
import urllib.request
from dataclasses import dataclass
from urllib.parse import SplitResult, unquote, urlsplit

from ..net import is_loopback

DIRECT = "direct"  # the `proxy` value that turns the environment's proxy off for one provider
_MAX_REPLY = 16384


@dataclass(frozen=True, slots=True)
class Proxy:
    host: str
    port: int
    authorization: str | None  # the Proxy-Authorization value, from credentials in the proxy's URL

    @classmethod
    def parse(cls, url: str) -> Proxy:
        parts = urlsplit(url if "://" in url else f"http://{url}")
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"a proxy must be an http:// URL, not {url!r}")
        auth = None
        if parts.username is not None:
            token = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
            auth = "Basic " + base64.b64encode(token).decode()
        return cls(parts.hostname, parts.port or 80, auth)


def proxy_for(url: SplitResult, configured: str | None) -> Proxy | None:
    """The proxy to reach `url` through, or None to connect directly."""
    if configured is not None:
        return None if configured == DIRECT else Proxy.parse(configured)
    host = url.hostname or ""
    environment = urllib.request.getproxies_environment()
    chosen = environment.get(url.scheme)
    if not chosen or is_loopback(host) or urllib.request.proxy_bypass_environment(host, environment):
        return None
    return Proxy.parse(chosen)


class _TunnelReply(asyncio.Protocol):
    """Reads the proxy's answer to CONNECT: its status line and headers, nothing more."""

    def __init__(self):
        self.reply: asyncio.Future = asyncio.get_running_loop().create_future()
        self._data = b""

    def data_received(self, data: bytes) -> None:
        self._data += data
        if b"\r\n\r\n" in self._data and not self.reply.done():
            self.reply.set_result(self._data.split(b"\r\n", 1)[0])
        elif len(self._data) > _MAX_REPLY and not self.reply.done():
            self.reply.set_exception(ConnectionError("the proxy's answer to CONNECT has no end"))

    def connection_lost(self, exc: BaseException | None) -> None:
        if not self.reply.done():
            self.reply.set_exception(ConnectionError(f"the proxy closed the connection during CONNECT: {exc}"))


async def tunnel(proxy: Proxy, host: str, port: int, tls: ssl.SSLContext, protocol: asyncio.Protocol) -> None:
    """Open a CONNECT tunnel to host:port through `proxy` and hand `protocol` a TLS transport inside it."""
    loop = asyncio.get_running_loop()
    transport, reply = await loop.create_connection(_TunnelReply, proxy.host, proxy.port)
    target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    auth = f"Proxy-Authorization: {proxy.authorization}\r\n" if proxy.authorization else ""
    try:
        transport.write(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n{auth}\r\n".encode("latin-1"))
        status_line = await reply.reply
        parts = status_line.split()
        if len(parts) < 2 or parts[1] != b"200":
            raise ConnectionError(f"the proxy refused CONNECT {target}: {status_line.decode('latin-1')[:200]}")
        secure = await loop.start_tls(transport, protocol, tls, server_hostname=host)
    except BaseException:
        transport.close()
        raise
    protocol.connection_made(secure)

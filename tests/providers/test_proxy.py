"""Upstreams reached through an HTTP proxy (switchyard/providers/proxy.py): a fake forward
proxy on 127.0.0.1 records what it is asked (CONNECT tunnels for https, absolute URLs for
http) and pipes bytes to the real upstream, a raw server from test_transport."""

from __future__ import annotations

import asyncio
import base64
import ssl

import pytest
from pydantic import ValidationError

from switchyard.errors import UpstreamConnection
from switchyard.providers.openai import OpenAIConfig, OpenAIProvider
from tests.providers.test_transport import RawServer, always, self_signed_files, sync


class FakeProxy:
    """Forwards every connection to `origin_port` on 127.0.0.1, whatever host it was asked for."""

    def __init__(self, origin_port: int, refuse: bool = False):
        self.origin_port, self.refuse = origin_port, refuse
        self.heads: list[bytes] = []  # the first request head on each connection

    async def __aenter__(self) -> FakeProxy:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        return self

    async def __aexit__(self, *_) -> None:
        self.server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        self.heads.append(head)
        if self.refuse:
            writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.origin_port)
        if head.startswith(b"CONNECT "):
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        else:
            up_writer.write(head)  # a real proxy rewrites the absolute URL; the raw server reads any
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()


def provider(base_url: str, **config) -> OpenAIProvider:
    return OpenAIProvider("up", OpenAIConfig(base_url=base_url, api_key="k", **config))


@sync
async def test_plain_http_goes_to_the_proxy_with_absolute_urls_and_credentials():
    async with RawServer(always) as origin, FakeProxy(origin.port) as proxy:
        up = provider(f"http://127.0.0.1:{origin.port}/v1", proxy=proxy.url.replace("//", "//me:s%40cret@"))
        for _ in range(3):
            assert await up.http.post_json("/chat/completions", {}, 5) == {"ok": True}
        await up.close()
    assert len(proxy.heads) == 1  # one kept-alive connection through the proxy
    head = proxy.heads[0]
    assert head.startswith(b"POST http://127.0.0.1:%d/v1/chat/completions HTTP/1.1\r\n" % origin.port)
    assert b"Proxy-Authorization: Basic " + base64.b64encode(b"me:s@cret") + b"\r\n" in head
    assert b"Authorization: Bearer k\r\n" in head


@sync
async def test_https_goes_through_a_connect_tunnel_and_verifies_the_upstream(tmp_path):
    cert, key = self_signed_files(tmp_path)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    async with RawServer(always, tls=tls) as origin, FakeProxy(origin.port) as proxy:
        up = provider(f"https://127.0.0.1:{origin.port}/v1", proxy=proxy.url, ca_file=str(cert))
        assert await up.http.post_json("/chat/completions", {}, 5) == {"ok": True}
        assert await up.http.post_json("/chat/completions", {}, 5) == {"ok": True}
        await up.close()
        untrusted = provider(f"https://127.0.0.1:{origin.port}/v1", proxy=proxy.url)
        with pytest.raises(UpstreamConnection, match="CERTIFICATE_VERIFY_FAILED"):
            await untrusted.http.post_json("/chat/completions", {}, 5)
        await untrusted.close()
    assert proxy.heads[0].startswith(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\n" % origin.port)
    assert b"POST" not in b"".join(proxy.heads)  # the request itself travelled inside TLS
    assert len(proxy.heads) == 2  # one tunnel per pooled connection: the trusted client reused its own


@sync
async def test_a_refused_connect_is_a_connection_error():
    async with RawServer(always) as origin, FakeProxy(origin.port, refuse=True) as proxy:
        up = provider(f"https://127.0.0.1:{origin.port}/v1", proxy=proxy.url)
        with pytest.raises(UpstreamConnection, match=r"refused CONNECT .* 407"):
            await up.http.post_json("/chat/completions", {}, 5)
        await up.close()


@sync
async def test_the_environment_proxy_and_no_proxy(monkeypatch):
    async with RawServer(always) as origin, FakeProxy(origin.port) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        # a name only the proxy can resolve (it sends everything to the origin)
        via_env = provider(f"http://models.internal.test:{origin.port}/v1")
        assert await via_env.http.post_json("/x", {}, 5) == {"ok": True}
        assert proxy.heads[-1].startswith(b"POST http://models.internal.test:%d/v1/x " % origin.port)
        seen = len(proxy.heads)

        loopback = provider(f"http://127.0.0.1:{origin.port}/v1")  # never through a proxy
        direct = provider(f"http://127.0.0.1:{origin.port}/v1", proxy="direct")
        assert await loopback.http.post_json("/x", {}, 5) == {"ok": True}
        assert await direct.http.post_json("/x", {}, 5) == {"ok": True}
        monkeypatch.setenv("NO_PROXY", "internal.test")
        bypassed = provider(f"http://models.internal.test:{origin.port}/v1")  # so it cannot be resolved
        with pytest.raises(UpstreamConnection):
            await bypassed.http.post_json("/x", {}, 5)
        assert len(proxy.heads) == seen
        for up in (via_env, loopback, direct, bypassed):
            await up.close()


@pytest.mark.parametrize("value", ["ftp://proxy.example:21", "http://"])
def test_a_proxy_that_is_not_an_http_url_is_a_config_error(value):
    with pytest.raises(ValidationError, match="a proxy must be an http:// URL"):
        OpenAIConfig(proxy=value)

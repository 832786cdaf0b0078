"""The upstream HTTP transport (switchyard/providers/transport.py) against a raw asyncio
server on 127.0.0.1 that writes exactly the bytes each test chooses: keep-alive reuse,
the three ways a body ends, servers that close, the connection bound, streaming as it
arrives, malformed answers, TLS, and the SSE decoder."""

from __future__ import annotations

import asyncio
import datetime
import functools
import ipaddress
import ssl
from pathlib import Path

import orjson
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import ValidationError

from switchyard.errors import UpstreamConnection, UpstreamTimeout
from switchyard.providers.http import HTTPClient, SSEDecoder
from switchyard.providers.openai import OpenAIConfig, OpenAIProvider
from switchyard.providers.transport import ConnectionClosed, Pool

JSON_OK = b'{"ok": true}'


def sync(test):
    """Run an async test on a fresh event loop (the suite has no asyncio plugin)."""
    @functools.wraps(test)
    def run(*args, **kwargs):
        return asyncio.run(test(*args, **kwargs))
    return run


def response(body: bytes = JSON_OK, status: int = 200, extra: bytes = b"") -> bytes:
    return (b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n"
            % (status, len(body), extra)) + body


class RawServer:
    """Reads one request at a time per connection (head + Content-Length body) and lets
    `answer(request_number, head, body, writer)` write whatever it likes."""

    def __init__(self, answer, tls: ssl.SSLContext | None = None):
        self.answer, self.tls = answer, tls
        self.connections = 0
        self.open_now = 0
        self.most_open = 0
        self.requests: list[tuple[bytes, bytes]] = []

    async def __aenter__(self) -> RawServer:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_) -> None:
        self.server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length:"))
                body = await reader.readexactly(length)
                self.requests.append((head, body))
                if await self.answer(len(self.requests), head, body, writer) == "close":
                    break
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.open_now -= 1
            writer.close()


async def always(_n, _head, _body, writer):
    writer.write(response())


def client(server: RawServer, **kw) -> HTTPClient:
    return HTTPClient(f"http://127.0.0.1:{server.port}/v1", {"Authorization": "Bearer k"}, **kw)


@sync
async def test_keep_alive_reuses_one_connection_and_sends_the_request_as_given():
    async with RawServer(always) as server:
        http = client(server)
        for i in range(20):
            assert await http.post_json("/chat/completions", {"i": i}, 5) == {"ok": True}
        await http.close()
    assert server.connections == 1
    head, body = server.requests[3]
    assert head.startswith(b"POST /v1/chat/completions HTTP/1.1\r\n")
    assert b"\r\nAuthorization: Bearer k\r\n" in head and b"\r\nContent-Type: application/json\r\n" in head
    assert b"\r\nHost: 127.0.0.1:%d\r\n" % server.port in head and b"\r\nAccept-Encoding: identity\r\n" in head
    assert orjson.loads(body) == {"i": 3}


@pytest.mark.parametrize("framing", ["length", "chunked", "until-close"])
@sync
async def test_each_way_a_body_can_end(framing):
    async def answer(_n, _head, _body, writer):
        if framing == "length":
            writer.write(response(b'{"framing": "length"}'))
        elif framing == "chunked":
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                         b"5\r\n{\"fra\r\n11\r\nming\": \"chunked\"}\r\n0\r\n\r\n")
        else:
            writer.write(b'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{"framing": "until-close"}')
            return "close"

    async with RawServer(answer) as server:
        http = client(server)
        assert await http.post_json("/x", {}, 5) == {"framing": framing}
        assert await http.post_json("/x", {}, 5) == {"framing": framing}
        await http.close()
    assert server.connections == (2 if framing == "until-close" else 1)


@sync
async def test_a_body_larger_than_the_buffer_limit_is_read_whole():
    big = orjson.dumps({"data": ["x" * 1000] * 5000})  # ~5 MB, well over the 1 MiB high-water mark

    async def answer(_n, _head, _body, writer):
        writer.write(response(big))

    async with RawServer(answer) as server:
        http = client(server)
        assert len((await http.post_json("/x", {}, 10))["data"]) == 5000
        assert len((await http.post_json("/x", {}, 10))["data"]) == 5000
        await http.close()
    assert server.connections == 1


@sync
async def test_a_connection_the_server_closed_while_idle_is_not_reused():
    async def answer(_n, _head, _body, writer):
        writer.write(response())
        return "close"  # keep-alive promised, then the connection is closed (an idle timeout)

    async with RawServer(answer) as server:
        http = client(server)
        for _ in range(3):
            assert await http.post_json("/x", {}, 5) == {"ok": True}
            await asyncio.sleep(0.05)  # the close reaches the client
        await http.close()
    assert server.connections == 3


@sync
async def test_connections_are_bounded_and_waiters_get_one_in_turn():
    async def answer(_n, _head, _body, writer):
        await asyncio.sleep(0.1)
        writer.write(response())

    async with RawServer(answer) as server:
        http = client(server, max_connections=2)
        results = await asyncio.gather(*(http.post_json("/x", {}, 5) for _ in range(6)))
        await http.close()
    assert results == [{"ok": True}] * 6
    assert server.most_open == 2 and server.connections == 2


@sync
async def test_stream_delivers_events_as_they_arrive_and_releases_the_connection():
    sent_second = asyncio.Event()
    go = asyncio.Event()

    async def answer(n, _head, _body, writer):
        if n == 2:
            writer.write(response())
            return
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
        first = b"event: a\ndata: 1\n\n"
        writer.write(b"%x\r\n%s\r\n" % (len(first), first))
        await writer.drain()
        await go.wait()  # the client must see the first event before the second is even sent
        second = b"data: 2\r\ndata: 3\r\n\r\n"
        writer.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(second), second))
        sent_second.set()

    async with RawServer(answer) as server:
        http = client(server)
        events = http.stream_events("/x", {}, 5)
        assert await anext(events) == ("a", b"1")
        assert not sent_second.is_set()
        go.set()
        assert [e async for e in events] == [(None, b"2\n3")]
        assert await http.post_json("/x", {}, 5) == {"ok": True}
        await http.close()
    assert server.connections == 1


@sync
async def test_an_abandoned_stream_closes_its_connection():
    async def answer(n, _head, _body, writer):
        if n == 1:
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9\r\ndata: 1\n\n\r\n")
        else:
            writer.write(response())

    async with RawServer(answer) as server:
        http = client(server)
        events = http.stream_events("/x", {}, 5)
        assert await anext(events) == (None, b"1")
        await events.aclose()  # the client went away mid-stream
        assert await http.post_json("/x", {}, 5) == {"ok": True}
        await http.close()
    assert server.connections == 2


@sync
async def test_a_stalled_stream_times_out_between_chunks():
    async def answer(_n, _head, _body, writer):
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9\r\ndata: 1\n\n\r\n")
        await asyncio.sleep(5)

    async with RawServer(answer) as server:
        http = client(server)
        events = http.stream_events("/x", {}, 0.2)
        assert await anext(events) == (None, b"1")
        with pytest.raises(UpstreamTimeout):
            await anext(events)
        await http.close()


@pytest.mark.parametrize("answer_bytes", [b"garbage\r\n\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{\"cut"])
@sync
async def test_malformed_or_cut_answers_are_connection_errors(answer_bytes):
    async def answer(_n, _head, _body, writer):
        writer.write(answer_bytes)
        return "close"

    async with RawServer(answer) as server:
        http = client(server)
        with pytest.raises(UpstreamConnection, match="malformed HTTP" if b"garbage" in answer_bytes else "closed"):
            await http.post_json("/x", {}, 5)
        await http.close()


@sync
async def test_refused_connection_is_a_connection_error():
    async with RawServer(always) as server:
        port = server.port
    http = HTTPClient(f"http://127.0.0.1:{port}", {})
    with pytest.raises(UpstreamConnection, match="connection failed"):
        await http.post_json("/x", {}, 5)


@sync
async def test_error_status_keeps_the_connection_for_the_next_request():
    async def answer(n, _head, _body, writer):
        if n == 1:
            writer.write(response(b'{"error": {"message": "slow down"}}', 429, b"Retry-After: 3\r\n"))
        else:
            writer.write(response())

    async with RawServer(answer) as server:
        http = client(server)
        with pytest.raises(Exception) as err:
            await http.post_json("/x", {}, 5)
        assert (err.value.status, err.value.message, err.value.retry_after) == (429, "slow down", 3.0)
        assert await http.post_json("/x", {}, 5) == {"ok": True}
        await http.close()
    assert server.connections == 1


def self_signed_files(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, written as PEM files: (cert path, key path)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .sign(key, hashes.SHA256()))
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    return folder / "cert.pem", folder / "key.pem"


@sync
async def test_tls_verifies_the_server(tmp_path):
    cert, key = self_signed_files(tmp_path)
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert, key)
    async with RawServer(always, tls=server_tls) as server:
        untrusted = Pool(f"https://127.0.0.1:{server.port}", {})
        with pytest.raises(ssl.SSLCertVerificationError):
            await untrusted.post("/x", b"{}")
        trusted = OpenAIProvider("private", OpenAIConfig(base_url=f"https://127.0.0.1:{server.port}/v1",
                                                          ca_file=str(tmp_path / "cert.pem")))
        assert await trusted.http.post_json("/x", {}, 5) == {"ok": True}
        await trusted.close()
    with pytest.raises(ValidationError, match="no such file"):
        OpenAIConfig(ca_file=str(tmp_path / "missing.pem"))


def test_pool_rejects_a_base_url_it_cannot_reach():
    with pytest.raises(ValueError, match="http:// or https://"):
        Pool("ftp://example.com", {})


def test_sse_decoder_splits_events_across_chunks():
    decoder = SSEDecoder()
    assert decoder.feed(b"data: {\"a\"") == []
    assert decoder.feed(b": 1}\n") == []
    assert decoder.feed(b"\n: comment\nevent: done\r\ndata:x\n") == [(None, b'{"a": 1}')]
    assert decoder.end() == [("done", b"x")]


def test_connection_closed_is_an_os_error():
    # HTTPClient maps OSError to UpstreamConnection; the transport's own failures must be caught there too
    assert issubclass(ConnectionClosed, OSError)

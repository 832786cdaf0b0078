"""Tiny request/response helpers over raw ASGI: the hot path needs nothing more."""

from __future__ import annotations

from typing import Any

import orjson

from ..errors import APIError, BadRequest, PayloadTooLarge

Headers = list[tuple[bytes, bytes]]
_JSON = (b"content-type", b"application/json")


class Request:
    __slots__ = ("_headers", "id", "receive", "scope")

    def __init__(self, scope: dict, receive, request_id: str):
        self.scope = scope
        self.receive = receive
        self.id = request_id
        self._headers: dict[bytes, bytes] | None = None

    def header(self, name: bytes) -> str | None:
        if self._headers is None:
            self._headers = dict(self.scope["headers"])
        value = self._headers.get(name)
        return value.decode("latin-1") if value is not None else None

    async def body(self, limit: int) -> bytes:
        declared = self.header(b"content-length")
        if declared is not None:
            try:
                if int(declared) > limit:
                    raise PayloadTooLarge(f"Request body of {declared} bytes is over the limit of {limit} bytes")
            except ValueError:
                raise BadRequest("Invalid Content-Length header") from None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                raise ConnectionAbortedError("client went away while sending the body")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"Request body is over the limit of {limit} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def base_headers(request_id: str, target: str | None = None) -> Headers:
    headers = [(b"x-request-id", request_id.encode())]
    if target:
        headers.append((b"x-switchyard-target", target.encode()))
    return headers


async def send_bytes(send, status: int, body: bytes, headers: Headers, content_type: bytes = b"application/json"):
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", content_type), *headers]})
    await send({"type": "http.response.body", "body": body})


async def send_json(send, status: int, payload: Any, headers: Headers) -> None:
    await send_bytes(send, status, orjson.dumps(payload), headers)


async def send_error(send, error: APIError, request_id: str) -> None:
    headers = base_headers(request_id)
    headers.extend((k.encode(), v.encode()) for k, v in error.headers.items())
    await send_json(send, error.status, error.to_dict(), headers)

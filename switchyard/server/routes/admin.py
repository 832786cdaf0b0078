"""Admin endpoints, for the admin key only: manage virtual keys."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

import msgspec
import orjson

from ...errors import BadRequest, Forbidden
from ...keys import hash_key, new_key
from ...store.base import KeyExists, KeyRecord
from ..http import Request, base_headers, send_json


class NewKey(msgspec.Struct, kw_only=True):
    name: Annotated[str, msgspec.Meta(min_length=1)]
    models: list[str] = msgspec.field(default_factory=lambda: ["*"])
    team: str | None = None
    rpm: Annotated[int, msgspec.Meta(gt=0)] | None = None


async def _admin(app, req: Request) -> None:
    principal = await app.gateway.keys.authenticate(req.header(b"authorization"), req.header(b"x-api-key"))
    if not principal.admin:
        raise Forbidden("This endpoint needs the admin key", code="admin_only")


def _public(k: KeyRecord) -> dict:
    return {"name": k.name, "models": k.models, "team": k.team, "rpm": k.rpm, "created": k.created,
            "revoked": k.revoked}


async def list_keys(app, req: Request, send) -> None:
    await _admin(app, req)
    keys = await asyncio.get_running_loop().run_in_executor(None, app.gateway.store.list_keys)
    await send_json(send, 200, {"object": "list", "data": [_public(k) for k in keys]}, base_headers(req.id))


async def create_key(app, req: Request, send) -> None:
    await _admin(app, req)
    try:
        spec = msgspec.convert(orjson.loads(await req.body(app.max_body)), NewKey)
    except (orjson.JSONDecodeError, msgspec.ValidationError) as exc:
        raise BadRequest(f"Invalid key request: {exc}") from None
    unknown = [m for m in spec.models if m != "*" and m not in app.gateway.config.models]
    if unknown:
        raise BadRequest(f"Unknown models: {', '.join(unknown)}")
    value = new_key()
    record = KeyRecord(spec.name, hash_key(value), spec.models, spec.team, spec.rpm, time.time())
    try:
        await asyncio.get_running_loop().run_in_executor(None, app.gateway.store.add_key, record)
    except KeyExists:
        raise BadRequest(f"A key named {spec.name!r} exists already", code="key_exists") from None
    await send_json(send, 201, {**_public(record), "key": value}, base_headers(req.id))

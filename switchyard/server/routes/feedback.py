"""POST /v1/feedback: tie a user's verdict on an answer to the logged request.

Any key that may call the chat endpoints may send feedback, but only on
requests made with that same key (the admin key, and open mode, on any); a
request id the log does not hold, or holds for another key, is a 404."""

from __future__ import annotations

import asyncio
import math
from typing import Annotated

import msgspec

from ...errors import BadRequest, NotFound
from ..http import Request, base_headers, send_json

# The request log is written in batches off the request path (about 50 ms behind),
# so feedback sent right after an answer may arrive first: look again a few times.
_RETRY_DELAYS_S = (0.05, 0.1, 0.2, 0.4)


class Feedback(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    request_id: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    score: float | None = None
    label: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None
    comment: Annotated[str, msgspec.Meta(max_length=10_000)] | None = None


async def _principal(app, req: Request):
    return await app.gateway.keys.authenticate(req.header(b"authorization"), req.header(b"x-api-key"))


def _parse(raw: bytes) -> Feedback:
    try:
        spec = msgspec.json.decode(raw, type=Feedback)
    except msgspec.DecodeError as exc:  # also msgspec.ValidationError
        raise BadRequest(f"Invalid feedback: {exc}") from None
    if spec.score is None and spec.label is None:
        raise BadRequest("Invalid feedback: give a `score`, a `label`, or both")
    if spec.score is not None and not math.isfinite(spec.score):
        raise BadRequest("Invalid feedback: `score` must be a finite number")
    return spec


async def _logged(app, request_id: str, key_name: str | None) -> bool:
    loop = asyncio.get_running_loop()
    store = app.gateway.store
    for delay in (0.0, *_RETRY_DELAYS_S):
        if delay:
            await asyncio.sleep(delay)
        if await loop.run_in_executor(None, lambda: store.request_exists(request_id, key_name=key_name)):
            return True
    return False


async def create_feedback(app, req: Request, send) -> None:
    principal = await _principal(app, req)
    spec = _parse(await req.body(app.max_body))
    owner = None if principal.admin else principal.name  # open mode logs every request as "open"
    if not await _logged(app, spec.request_id, owner):
        raise NotFound(f"No request with id '{spec.request_id}' in the request log", code="request_not_found")
    feedback_id = await asyncio.get_running_loop().run_in_executor(
        None, app.gateway.store.add_feedback, spec.request_id, spec.score, spec.label, spec.comment)
    await send_json(send, 201, {"object": "feedback", "id": feedback_id, "request_id": spec.request_id},
                    base_headers(req.id))

"""The OpenAI-compatible endpoints. Each handler reads, delegates to the
gateway, and writes; decisions live in the gateway."""

from __future__ import annotations

from ...errors import APIError
from ...gateway import ESCALATE_HEADER, StreamAnswer
from ...guard.privacy import SENSITIVITY_HEADER, SESSION_HEADER
from ...shaping import PROMPT_HEADER
from ..http import Request, base_headers, send_json
from ..sse import send_events


def _yes(value: str | None) -> bool:
    return value is not None and value.strip().lower() in ("true", "1", "yes")


async def _principal(app, req: Request):
    return await app.gateway.keys.authenticate(req.header(b"authorization"), req.header(b"x-api-key"))


async def _admit(app, req: Request, endpoint: str):
    """Authenticate and read the body; a refusal here is logged too."""
    principal = None
    try:
        principal = await _principal(app, req)
        return principal, await req.body(app.max_body)
    except APIError as exc:
        app.gateway.refused(endpoint, req.id, exc, principal)
        raise


async def chat_completions(app, req: Request, send) -> None:
    principal, raw = await _admit(app, req, "chat")
    answer = await app.gateway.chat(raw, principal, req.id, req.header(SENSITIVITY_HEADER),
                                    req.header(SESSION_HEADER), _yes(req.header(ESCALATE_HEADER)),
                                    req.header(PROMPT_HEADER))
    headers = base_headers(req.id, answer.target)
    headers.extend((k.encode(), v.encode()) for k, v in answer.headers.items())
    if isinstance(answer, StreamAnswer):
        await send_events(req.receive, send, answer.first, answer.events, headers)
    else:
        await send_json(send, 200, answer.body, headers)


async def embeddings(app, req: Request, send) -> None:
    principal, raw = await _admit(app, req, "embeddings")
    answer = await app.gateway.embeddings(raw, principal, req.id, req.header(SENSITIVITY_HEADER),
                                          req.header(SESSION_HEADER))
    await send_json(send, 200, answer.body, base_headers(req.id, answer.target))


async def list_models(app, req: Request, send) -> None:
    principal = await _principal(app, req)
    await send_json(send, 200, {"object": "list", "data": app.gateway.visible_models(principal)},
                    base_headers(req.id))


async def get_model(app, req: Request, send, model_id: str) -> None:
    principal = await _principal(app, req)
    principal.check_alias(model_id, model_id in app.gateway.config.models)
    found = next(m for m in app.gateway.visible_models(principal) if m["id"] == model_id)
    await send_json(send, 200, found, base_headers(req.id))

"""Operational endpoints: liveness and Prometheus metrics."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST

from ..http import Request, base_headers, send_bytes, send_json


async def healthz(app, req: Request, send) -> None:
    await send_json(send, 200, {"status": "ok"}, base_headers(req.id))


async def metrics(app, req: Request, send) -> None:
    await send_bytes(send, 200, app.gateway.metrics.render(), base_headers(req.id),
                     content_type=CONTENT_TYPE_LATEST.encode())

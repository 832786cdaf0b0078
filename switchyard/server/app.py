"""The ASGI application: a route table over raw ASGI, the lifespan that starts
and stops the gateway, and one place that turns exceptions into error JSON."""

from __future__ import annotations

import logging

from ..config.schema import LoadedConfig
from ..errors import APIError, NotFound
from ..gateway import Gateway
from ..store import open_store
from .http import Request, send_error
from .ids import RequestIds
from .routes import admin, feedback, openai, ops

log = logging.getLogger("switchyard")

ROUTES = {
    ("POST", "/v1/chat/completions"): openai.chat_completions,
    ("POST", "/chat/completions"): openai.chat_completions,
    ("POST", "/v1/embeddings"): openai.embeddings,
    ("POST", "/embeddings"): openai.embeddings,
    ("GET", "/v1/models"): openai.list_models,
    ("GET", "/models"): openai.list_models,
    ("GET", "/healthz"): ops.healthz,
    ("GET", "/metrics"): ops.metrics,
    ("GET", "/admin/keys"): admin.list_keys,
    ("POST", "/admin/keys"): admin.create_key,
    ("POST", "/v1/feedback"): feedback.create_feedback,
}
_PATHS = frozenset(path for _, path in ROUTES)
_MODEL_PREFIXES = ("/v1/models/", "/models/")


class SwitchyardApp:
    def __init__(self, config: LoadedConfig, gateway: Gateway):
        self.config = config
        self.gateway = gateway
        self.max_body = config.server.max_body_bytes
        self.ids = RequestIds()

    async def __call__(self, scope, receive, send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _http(self, scope, receive, send) -> None:
        req = Request(scope, receive, self.ids.next())
        method, path = scope["method"], scope["path"]
        try:
            handler = ROUTES.get((method, path))
            if handler is not None:
                await handler(self, req, send)
            elif method == "GET" and path.startswith(_MODEL_PREFIXES):
                await openai.get_model(self, req, send, path.split("/models/", 1)[1])
            elif path in _PATHS:
                raise APIError(f"Method {method} is not allowed on {path}", status=405,
                               type="invalid_request_error", code="method_not_allowed")
            else:
                raise NotFound(f"Unknown endpoint: {method} {path}", code="unknown_url")
        except APIError as exc:
            await send_error(send, exc, req.id)
        except ConnectionAbortedError:
            pass  # the client left before we could answer
        except Exception:
            log.exception("unhandled error on %s %s (%s)", method, path, req.id)
            await send_error(send, APIError("Internal error in the gateway"), req.id)

    async def _lifespan(self, receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.gateway.start()
                except Exception as exc:
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.gateway.close()  # flushes the request log
                await send({"type": "lifespan.shutdown.complete"})
                return


def create_app(config: LoadedConfig) -> SwitchyardApp:
    store = open_store(config)
    store.open()
    return SwitchyardApp(config, Gateway(config, store))

"""A fake Gemini API (generativelanguage v1beta) speaking the documented wire format.

Routes, under /v1beta (so a provider's base_url is `<server.url>/v1beta`):

    POST /models/{model}:generateContent
    POST /models/{model}:streamGenerateContent?alt=sse   one event per word of the reply
    POST /models/{model}:batchEmbedContents

The reply is chosen by a deterministic rule:

    - tools are declared, functionCallingConfig.mode is not NONE, the last user turn holds
      no functionResponse, and (mode is ANY or the last user text mentions "weather"):
      call the first allowed function with args {"location": "Paris"}
    - the last user turn holds a functionResponse: "tool said: <compact JSON of its response>"
    - otherwise "echo: <last user text>", or {"echo": "<last user text>"} when
      generationConfig.responseMimeType is application/json
    - generationConfig.maxOutputTokens below the reply's word count: the first N words,
      with finishReason MAX_TOKENS

Tokens are whitespace-separated words of the text parts; a function call counts one.
Besides the shared fault models (see tests/fakes/__init__.py; die-after-2 needs a reply
of three words or more), these model names act out Gemini-specific answers:

    blocked      promptFeedback.blockReason SAFETY and no candidates
    no-finish    (streams) every event is sent, none carries a finishReason
    error-mid    (streams) one event, then an error event, as Gemini reports late failures

A request without x-goog-api-key is answered 403 PERMISSION_DENIED. Embeddings are
derived from the sha256 of each text, outputDimensionality long (8 by default).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from aiohttp import web

from . import RECORDER, apply_fault, drop_connection, fault_status

_STATUS_NAMES = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED",
                 500: "INTERNAL", 503: "UNAVAILABLE"}


def _error(status: int, message: str) -> web.Response:
    body = {"error": {"code": status, "message": message, "status": _STATUS_NAMES.get(status, "UNKNOWN")}}
    return web.json_response(body, status=status)


def _words(text: str) -> int:
    return len(text.split())


def _texts(parts: list[dict[str, Any]]) -> list[str]:
    return [p["text"] for p in parts if "text" in p]


def _prompt_tokens(body: dict[str, Any]) -> int:
    parts = [p for c in body.get("contents", []) for p in c.get("parts", [])]
    parts += (body.get("systemInstruction") or {}).get("parts", [])
    return sum(_words(t) for t in _texts(parts))


def _reply(body: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
    """The candidate's parts and finishReason, by the rule in the module docstring."""
    last_user = next((c for c in reversed(body.get("contents", [])) if c.get("role") == "user"), {"parts": []})
    results = [p["functionResponse"] for p in last_user["parts"] if "functionResponse" in p]
    text = " ".join(_texts(last_user["parts"]))
    declared = [d["name"] for t in body.get("tools", []) for d in t.get("functionDeclarations", [])]
    calling = (body.get("toolConfig") or {}).get("functionCallingConfig") or {}
    mode = calling.get("mode", "AUTO")
    allowed = calling.get("allowedFunctionNames") or declared
    if declared and mode != "NONE" and not results and (mode == "ANY" or "weather" in text.lower()):
        return [{"functionCall": {"name": allowed[0], "args": {"location": "Paris"}}}], "STOP"
    config = body.get("generationConfig") or {}
    if results:
        reply = "tool said: " + json.dumps(results[0]["response"], separators=(",", ":"))
    elif config.get("responseMimeType") == "application/json":
        reply = json.dumps({"echo": text})
    else:
        reply = f"echo: {text}"
    limit = config.get("maxOutputTokens")
    if limit is not None and _words(reply) > limit:
        return [{"text": " ".join(reply.split()[:limit])}], "MAX_TOKENS"
    return [{"text": reply}], "STOP"


def _completion_tokens(parts: list[dict[str, Any]]) -> int:
    """Words of the text parts, plus one per function call."""
    return sum(_words(p["text"]) if "text" in p else 1 for p in parts)


def _usage(prompt: int, completion: int) -> dict[str, int]:
    return {"promptTokenCount": prompt, "candidatesTokenCount": completion, "totalTokenCount": prompt + completion}


def _candidate(parts: list[dict[str, Any]], finish: str | None = None) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    return candidate


def _blocked(prompt: int) -> dict[str, Any]:
    return {"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": _usage(prompt, 0)}


async def _generate(body: dict[str, Any], model: str) -> web.Response:
    prompt = _prompt_tokens(body)
    if model == "blocked":
        return web.json_response(_blocked(prompt))
    parts, finish = _reply(body)
    return web.json_response({"candidates": [_candidate(parts, finish)],
                              "usageMetadata": _usage(prompt, _completion_tokens(parts)), "modelVersion": model})


def _stream_events(body: dict[str, Any], model: str) -> list[dict[str, Any]]:
    prompt = _prompt_tokens(body)
    if model == "blocked":
        return [_blocked(prompt)]
    parts, finish = _reply(body)
    if "text" not in parts[0]:  # a function call arrives whole, in one event
        return [{"candidates": [_candidate(parts, finish)], "usageMetadata": _usage(prompt, _completion_tokens(parts)),
                 "modelVersion": model}]
    words = parts[0]["text"].split(" ")
    events = []
    for i, word in enumerate(words):
        last = i == len(words) - 1
        events.append({
            "candidates": [_candidate([{"text": word if last else word + " "}], finish if last else None)],
            "usageMetadata": _usage(prompt, i + 1),  # cumulative, as Gemini reports it
            "modelVersion": model,
        })
    if model == "no-finish":
        del events[-1]["candidates"][0]["finishReason"]
    if model == "error-mid":
        events[1:] = [{"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}]
    return events


async def _stream(request: web.Request, body: dict[str, Any], model: str) -> web.StreamResponse:
    if request.query.get("alt") != "sse":
        return _error(400, "this fake streams server-sent events only; add ?alt=sse")
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await resp.prepare(request)
    for i, event in enumerate(_stream_events(body, model)):
        if model == "die-after-2" and i == 2:
            await drop_connection(resp)
            return resp
        await resp.write(b"data: " + json.dumps(event).encode() + b"\r\n\r\n")
    await resp.write_eof()
    return resp


def _vector(text: str, dims: int) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    return [round(digest[i % len(digest)] / 127.5 - 1, 6) for i in range(dims)]


async def _embed(body: dict[str, Any], model: str) -> web.Response:
    embeddings = []
    for req in body.get("requests", []):
        if req.get("model") != f"models/{model}":  # the real API checks this too
            return _error(400, f"request model {req.get('model')!r} does not match models/{model}")
        text = " ".join(_texts(req["content"]["parts"]))
        embeddings.append({"values": _vector(text, req.get("outputDimensionality") or 8)})
    return web.json_response({"embeddings": embeddings})


async def _handle(request: web.Request) -> web.StreamResponse:
    model, _, method = request.match_info["spec"].rpartition(":")
    try:
        body = await request.json()
    except ValueError:
        return _error(400, "Invalid JSON payload received.")
    request.app[RECORDER].record(request, body)
    if not request.headers.get("x-goog-api-key"):
        return _error(403, "Method doesn't allow unregistered callers. Please use an API key.")
    await apply_fault(request, model)
    if (status := fault_status(model)) is not None:
        return _error(status, f"fake fault {model}")
    if method == "generateContent":
        return await _generate(body, model)
    if method == "streamGenerateContent":
        return await _stream(request, body, model)
    if method == "batchEmbedContents":
        return await _embed(body, model)
    return _error(404, f"unknown method {method!r}")


def gemini_app() -> web.Application:
    app = web.Application()
    app.router.add_post("/v1beta/models/{spec}", _handle)
    return app

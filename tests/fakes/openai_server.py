"""A fake OpenAI-compatible server: /v1/chat/completions (JSON and SSE) and
/v1/embeddings, deterministic answers, and the shared fault model names.

It answers "echo: <last user text>"; when tools are given and the last user
text mentions "weather", it calls the first tool with {"city": "Paris"}."""

from __future__ import annotations

import asyncio
import hashlib
import time

import orjson
from aiohttp import web

from . import RECORDER, apply_fault, drop_connection, fault_status


def _error(status: int, message: str) -> web.Response:
    kinds = {400: "invalid_request_error", 401: "authentication_error", 429: "rate_limit_error"}
    body = {"error": {"message": message, "type": kinds.get(status, "server_error"), "param": None,
                      "code": None}}
    return web.json_response(body, status=status, headers={"retry-after": "0"} if status == 429 else None)


def _last_user_text(body: dict) -> str:
    for msg in reversed(body.get("messages", [])):
        if msg.get("role") == "user":
            content = msg.get("content")
            if isinstance(content, list):
                return "".join(p.get("text", "") for p in content)
            return content or ""
    return ""


def _usage(body: dict, completion: str) -> dict:
    prompt = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", [])) + 3
    out = len(completion.split())
    return {"prompt_tokens": prompt, "completion_tokens": out, "total_tokens": prompt + out}


def _structured_text(model: str, body: dict) -> str | None:
    """Answers of the models that play structured-output and cascade roles:

    json-ok            {"reply": "<last user text>"}
    json-bad-then-ok   prose with broken JSON, and valid JSON once asked to repair it
    json-never         prose, whatever is asked
    refuser            a refusal
    judge-pass/-fail   a judge's verdict
    """
    asked = _last_user_text(body)
    if model == "json-ok" or (model == "json-bad-then-ok" and asked.startswith("Your answer was not valid")):
        original = next((m["content"] for m in body["messages"] if m.get("role") == "user"), "")
        return orjson.dumps({"reply": original}).decode()
    if model == "json-bad-then-ok":
        return 'Sure! Here it is: {reply: "oops"'
    if model == "json-never":
        return "I think the answer is 42."
    if model == "refuser":
        return "I can't help with that."
    if model in ("judge-pass", "judge-fail"):
        return "PASS" if model == "judge-pass" else "FAIL: the answer is wrong"
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_object":  # as OpenAI does: honour JSON mode
        return orjson.dumps({"reply": f"echo: {asked}"}).decode()
    if fmt.get("type") == "json_schema":
        return orjson.dumps(_instance((fmt.get("json_schema") or {}).get("schema") or {}, f"echo: {asked}")).decode()
    return None


def _instance(schema: dict, text: str):
    """A value matching a simple JSON schema (objects, arrays, enums, scalars)."""
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type", "object")
    if kind == "object":
        return {name: _instance(sub, text) for name, sub in (schema.get("properties") or {}).items()}
    if kind == "array":
        return [_instance(schema.get("items") or {}, text)]
    return {"string": text, "integer": 1, "number": 1.5, "boolean": True, "null": None}.get(kind, text)


def _wants_tool(body: dict) -> bool:
    return bool(body.get("tools")) and "weather" in _last_user_text(body).lower()


async def chat(request: web.Request) -> web.StreamResponse:
    body = await request.json()
    request.app[RECORDER].record(request, body)
    if request.headers.get("authorization") != "Bearer upstream-key":
        return _error(401, "Incorrect API key provided")
    model = body.get("model", "")
    status = fault_status(model)
    if status:
        return _error(status, f"injected failure {status}")
    await apply_fault(request, model)
    text = _structured_text(model, body) or f"echo: {_last_user_text(body)}"
    created = int(time.time())
    if body.get("stream"):
        return await _stream(request, body, model, text, created)
    message: dict = {"role": "assistant", "content": text}
    finish = "stop"
    if _wants_tool(body):
        fn = body["tools"][0]["function"]["name"]
        message = {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": fn, "arguments": '{"city":"Paris"}'}}]}
        finish = "tool_calls"
    return web.json_response({
        "id": "chatcmpl-fake", "object": "chat.completion", "created": created, "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
        "usage": _usage(body, text),
    })


async def _stream(request: web.Request, body: dict, model: str, text: str, created: int) -> web.StreamResponse:
    resp = web.StreamResponse(headers={"content-type": "text/event-stream"})
    await resp.prepare(request)

    async def send(delta: dict, finish: str | None = None, usage: dict | None = None, choices: bool = True):
        chunk = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": created, "model": model,
                 "choices": [{"index": 0, "delta": delta, "finish_reason": finish}] if choices else []}
        if usage is not None:
            chunk["usage"] = usage
        await resp.write(b"data: " + orjson.dumps(chunk) + b"\n\n")

    await send({"role": "assistant", "content": ""})
    if _wants_tool(body):
        fn = body["tools"][0]["function"]["name"]
        await send({"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                                    "function": {"name": fn, "arguments": ""}}]})
        for part in ('{"city":', '"Paris"}'):
            await send({"tool_calls": [{"index": 0, "function": {"arguments": part}}]})
        finish = "tool_calls"
    else:
        words = text.split(" ")
        for i, word in enumerate(words):
            if model == "die-after-2" and i == 1:
                await drop_connection(resp)
                return resp
            await send({"content": word if i == 0 else " " + word})
            await asyncio.sleep(0)
        finish = "stop"
    await send({}, finish)
    if (body.get("stream_options") or {}).get("include_usage"):
        await send({}, usage=_usage(body, text), choices=False)
    await resp.write(b"data: [DONE]\n\n")
    await resp.write_eof()
    return resp


async def embeddings(request: web.Request) -> web.Response:
    body = await request.json()
    request.app[RECORDER].record(request, body)
    model = body.get("model", "")
    status = fault_status(model)
    if status:
        return _error(status, f"injected failure {status}")
    await apply_fault(request, model)
    inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
    data = []
    for i, text in enumerate(inputs):
        digest = hashlib.sha256(str(text).encode()).digest()
        data.append({"object": "embedding", "index": i, "embedding": [b / 255 for b in digest[:8]]})
    tokens = sum(len(str(t).split()) for t in inputs)
    return web.json_response({"object": "list", "data": data, "model": model,
                              "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})


def openai_app() -> web.Application:
    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_post("/v1/embeddings", embeddings)
    return app

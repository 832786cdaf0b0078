"""Pure translation between Switchyard's OpenAI shapes and Gemini's REST wire
format (generativelanguage v1beta). No I/O here, so it is tested on its own."""

from __future__ import annotations

import base64
import mimetypes
import struct
import time
import urllib.parse
import uuid
from typing import Any

import orjson

from ..errors import UpstreamConnection, UpstreamStatus
from ..types import ChatRequest, FunctionDef, Message, ToolCall, Usage

# JSON-schema keys outside the OpenAPI subset Gemini's Schema accepts; sending them is a 400.
_DROP_KEYS = frozenset({"additionalProperties", "$schema", "$id", "$comment", "strict", "examples"})
_SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf")

_MODES = {"none": "NONE", "auto": "AUTO", "required": "ANY"}

_FINISH = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    **dict.fromkeys(("SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY"),
                    "content_filter"),
}


def clean_schema(schema: Any) -> Any:
    """Drop the JSON-schema keys Gemini rejects, at every level of nesting.

    Recursion follows schema positions only, so a property that happens to be
    named like a dropped key (say "additionalProperties") is kept."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _DROP_KEYS:
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: clean_schema(sub) for name, sub in value.items()}
        elif key == "items":
            out[key] = clean_schema(value)
        elif key in _SUBSCHEMA_LISTS and isinstance(value, list):
            out[key] = [clean_schema(sub) for sub in value]
        elif key == "type" and isinstance(value, list) and len([t for t in value if t != "null"]) == 1:
            # Gemini has no type unions; ["string", "null"] is spelled type + nullable.
            out[key] = next(t for t in value if t != "null")
            if "null" in value:
                out["nullable"] = True
        else:
            out[key] = value
    return out


# --- request ---------------------------------------------------------------------------------


def to_gemini_request(req: ChatRequest) -> dict[str, Any]:
    system: list[dict[str, Any]] = []
    contents: list[dict[str, Any]] = []
    names: dict[str, str] = {}  # tool_call id -> function name; Gemini matches results by name
    for msg in req.messages:
        if msg.role in ("system", "developer"):
            if text := msg.text():
                system.append({"text": text})
            continue
        if msg.role == "tool":
            role, parts = "user", [_function_response(msg, names)]
        elif msg.role == "assistant":
            role, parts = "model", _content_parts(msg.content)
            for call in msg.tool_calls or ():
                names[call.id] = call.function.name
                parts.append(_function_call(call))
        else:
            role, parts = "user", _content_parts(msg.content)
        if not parts:
            continue  # Gemini rejects a content with no parts
        # Gemini wants turns to alternate; parallel tool results must share one turn.
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": role, "parts": parts})

    out: dict[str, Any] = {"contents": contents}
    if system:
        out["systemInstruction"] = {"parts": system}
    if config := _generation_config(req):
        out["generationConfig"] = config
    if req.tools:
        out["tools"] = [{"functionDeclarations": [_declaration(t.function) for t in req.tools]}]
        # toolConfig only means something next to tools, so it is sent only with them.
        if req.tool_choice is not None:
            out["toolConfig"] = {"functionCallingConfig": _calling_config(req.tool_choice)}
    return out


def _content_parts(content: str | list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    if not content:
        return []
    if isinstance(content, str):
        return [{"text": content}]
    parts = []
    for part in content:
        kind = part.get("type")
        if kind == "text":
            parts.append({"text": part.get("text", "")})
        elif kind == "image_url":
            parts.append(_image_part(part.get("image_url")))
        else:
            raise UpstreamStatus(400, f"content part type {kind!r} is not supported by the gemini provider")
    return parts


def _image_part(ref: Any) -> dict[str, Any]:
    url = ref.get("url", "") if isinstance(ref, dict) else str(ref or "")
    if url.startswith("data:"):
        header, _, data = url.partition(",")
        mime = header[5:].split(";")[0] or "application/octet-stream"
        if ";base64" not in header:  # percent-encoded data URL; Gemini wants base64
            data = base64.b64encode(urllib.parse.unquote_to_bytes(data)).decode()
        return {"inlineData": {"mimeType": mime, "data": data}}
    # Gemini fetches only URIs it knows (File API, Cloud Storage); it answers 400 for others.
    return {"fileData": {"mimeType": mimetypes.guess_type(url)[0] or "image/jpeg", "fileUri": url}}


def _function_call(call: ToolCall) -> dict[str, Any]:
    try:
        args = orjson.loads(call.function.arguments or "{}")
    except orjson.JSONDecodeError:
        args = None
    if not isinstance(args, dict):
        raise UpstreamStatus(400, f"tool call {call.id!r}: arguments must be a JSON object for Gemini")
    return {"functionCall": {"name": call.function.name, "args": args}}


def _function_response(msg: Message, names: dict[str, str]) -> dict[str, Any]:
    name = names.get(msg.tool_call_id or "") or msg.name
    if not name:
        raise UpstreamStatus(400, f"tool message {msg.tool_call_id!r} answers no earlier assistant tool call")
    text = msg.text()
    try:
        parsed = orjson.loads(text)
    except orjson.JSONDecodeError:
        parsed = None
    # `response` is a protobuf Struct: only a JSON object can be passed through as-is.
    return {"functionResponse": {"name": name, "response": parsed if isinstance(parsed, dict) else {"content": text}}}


def _declaration(fn: FunctionDef) -> dict[str, Any]:
    decl: dict[str, Any] = {"name": fn.name}
    if fn.description:
        decl["description"] = fn.description
    # OpenAI spells "no arguments" as an object without properties, which Gemini rejects.
    if fn.parameters and fn.parameters.get("properties"):
        decl["parameters"] = clean_schema(fn.parameters)
    return decl


def _calling_config(choice: str | dict[str, Any]) -> dict[str, Any]:
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name")
        if not name:
            raise UpstreamStatus(400, "tool_choice object needs function.name")
        return {"mode": "ANY", "allowedFunctionNames": [name]}
    if choice not in _MODES:
        raise UpstreamStatus(400, f"tool_choice {choice!r} is not one of none, auto, required")
    return {"mode": _MODES[choice]}


def _generation_config(req: ChatRequest) -> dict[str, Any]:
    pairs = (("temperature", req.temperature), ("topP", req.top_p),
             ("maxOutputTokens", req.token_limit()), ("seed", req.seed))
    config: dict[str, Any] = {key: value for key, value in pairs if value is not None}
    if stops := req.stop_list():
        config["stopSequences"] = stops
    fmt = req.response_format
    if fmt is not None and fmt.type != "text":
        config["responseMimeType"] = "application/json"
        schema = (fmt.json_schema or {}).get("schema")
        if fmt.type == "json_schema" and schema:
            config["responseSchema"] = clean_schema(schema)
    return config


# --- response --------------------------------------------------------------------------------


def completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


def finish_reason(reason: str | None, has_calls: bool) -> str:
    mapped = _FINISH.get(reason or "", "stop")
    # Gemini says STOP after a function call; OpenAI clients look for tool_calls to run them.
    return "tool_calls" if has_calls and mapped == "stop" else mapped


def is_blocked(raw: dict[str, Any]) -> bool:
    """The prompt itself was refused: no candidates, only promptFeedback."""
    return not raw.get("candidates") and bool((raw.get("promptFeedback") or {}).get("blockReason"))


def usage_from(meta: dict[str, Any] | None) -> Usage | None:
    if not meta:
        return None
    prompt = int(meta.get("promptTokenCount") or 0)
    # Thinking tokens are billed as output but reported apart from candidatesTokenCount.
    completion = int(meta.get("candidatesTokenCount") or 0) + int(meta.get("thoughtsTokenCount") or 0)
    return Usage(prompt, completion, int(meta.get("totalTokenCount") or prompt + completion))


def read_candidate(candidate: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """The text and the OpenAI tool_calls of one candidate's parts."""
    text: list[str] = []
    calls: list[dict[str, Any]] = []
    for part in (candidate.get("content") or {}).get("parts") or ():
        if part.get("thought"):
            continue  # a thought summary, not answer text
        if "text" in part:
            text.append(part["text"])
        elif call := part.get("functionCall"):
            calls.append({
                # Gemini calls carry no id OpenAI clients can rely on; results are matched by name.
                "id": f"call_{uuid.uuid4().hex[:24]}",
                "type": "function",
                "function": {"name": call.get("name", ""), "arguments": orjson.dumps(call.get("args") or {}).decode()},
            })
    return "".join(text), calls


def to_openai_completion(raw: dict[str, Any], model: str) -> tuple[dict[str, Any], Usage | None]:
    candidates = raw.get("candidates") or []
    if candidates:
        text, calls = read_candidate(candidates[0])
        reason = finish_reason(candidates[0].get("finishReason"), bool(calls))
    elif is_blocked(raw):
        text, calls, reason = "", [], "content_filter"
    else:
        raise UpstreamConnection("Gemini answer has neither candidates nor a blockReason")
    message: dict[str, Any] = {"role": "assistant", "content": text if text or not calls else None}
    if calls:
        message["tool_calls"] = calls
    usage = usage_from(raw.get("usageMetadata"))
    body = {
        "id": completion_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": reason, "logprobs": None}],
        "usage": (usage or Usage()).to_dict(),
    }
    return body, usage


# --- embeddings ------------------------------------------------------------------------------


def to_gemini_embed(texts: list[str], model: str, dimensions: int | None) -> dict[str, Any]:
    extra = {"outputDimensionality": dimensions} if dimensions else {}
    return {"requests": [{"model": f"models/{model}", "content": {"parts": [{"text": t}]}, **extra} for t in texts]}


def to_openai_embeddings(raw: dict[str, Any], model: str, count: int, encoding: str | None) -> dict[str, Any]:
    vectors = [e.get("values") or [] for e in raw.get("embeddings") or []]
    if len(vectors) != count:
        raise UpstreamConnection(f"Gemini returned {len(vectors)} embeddings for {count} inputs")
    data = [{"object": "embedding", "index": i, "embedding": _encode(v, encoding)} for i, v in enumerate(vectors)]
    # Gemini reports no token counts for embeddings.
    return {"object": "list", "data": data, "model": model, "usage": {"prompt_tokens": 0, "total_tokens": 0}}


def _encode(vector: list[float], encoding: str | None) -> list[float] | str:
    if encoding != "base64":
        return vector
    # OpenAI's base64 form: little-endian float32 (the openai SDK asks for it by default).
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()

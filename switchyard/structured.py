"""Checking structured output against the request's response_format.

Decoders that compile schemas to grammars can still let through text a strict
parser refuses (raw control characters inside strings, for one), so output is
validated after generation whatever produced it."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import jsonschema
import orjson

from .types import ChatRequest, ResponseFormat


@lru_cache(maxsize=256)
def _validator(schema_json: str) -> jsonschema.protocols.Validator:
    """The validator for a schema; jsonschema.SchemaError when the schema itself is invalid."""
    schema = json.loads(schema_json)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def schema_problem(schema: Any) -> str | None:
    """Why `schema` is not a usable JSON Schema, or None when it is."""
    if not isinstance(schema, dict | bool):
        return "not a JSON Schema: expected an object"
    try:
        _validator(json.dumps(schema, sort_keys=True))
    except jsonschema.SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(root)"
        return f"not a valid JSON Schema at {where}: {exc.message}"
    return None


def request_schema_error(request: ChatRequest) -> str | None:
    """Why a schema the request brings (its response_format's, its tools' parameters) is unusable, or None.

    Such a request is the client's mistake: no target could ever answer it validly."""
    fmt = request.response_format
    schema = (fmt.json_schema or {}).get("schema") if fmt is not None and fmt.type == "json_schema" else None
    problem = schema_problem(schema) if schema is not None else None
    if problem:
        return f"response_format.json_schema.schema: {problem}"
    for i, tool in enumerate(request.tools or []):
        problem = schema_problem(tool.function.parameters) if tool.function.parameters is not None else None
        if problem:
            return f"tools[{i}].function.parameters: {problem}"
    return None


def structured_error(response_format: ResponseFormat | None, text: str | None) -> str | None:
    """Why `text` does not satisfy `response_format`, or None when it does (or none was asked)."""
    if response_format is None or response_format.type == "text":
        return None
    try:
        value = json.loads(text or "", strict=True)  # strict: control characters inside strings are errors
    except json.JSONDecodeError as exc:
        return f"not valid JSON: {exc}"
    if response_format.type == "json_object":
        return None if isinstance(value, dict) else "not a JSON object"
    schema = (response_format.json_schema or {}).get("schema")
    if not schema:
        return None
    error = jsonschema.exceptions.best_match(_validator(json.dumps(schema, sort_keys=True)).iter_errors(value))
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or "(root)"
    return f"does not match the schema at {where}: {error.message}"


def tool_call_error(request: ChatRequest, calls: list[dict[str, Any]]) -> str | None:
    """Why a tool call's arguments do not fit the tool's parameter schema, if they do not."""
    tools = {t.function.name: t.function.parameters for t in request.tools or []}
    for call in calls:
        function = call.get("function") or {}
        name = function.get("name")
        if name not in tools:
            return f"tool call to {name!r}, which the request did not offer"
        schema = tools[name]
        fmt = ResponseFormat(type="json_schema", json_schema={"schema": schema}) if schema else \
            ResponseFormat(type="json_object")
        problem = structured_error(fmt, function.get("arguments") or "")
        if problem:
            return f"arguments of tool {name!r} {problem}"
    return None


def answer_error(request: ChatRequest, body: dict[str, Any], fmt: ResponseFormat | None = None) -> str | None:
    """Why a chat.completion does not satisfy the request's (or `fmt`'s) structure, or None."""
    message = (body.get("choices") or [{}])[0].get("message") or {}
    if message.get("tool_calls"):
        return tool_call_error(request, message["tool_calls"])
    return structured_error(fmt or request.response_format, message.get("content"))


def wants_structure(request: ChatRequest) -> bool:
    return request.response_format is not None and request.response_format.type != "text"


def repair_messages(body: dict[str, Any], answer: dict[str, Any], problem: str) -> list[dict[str, Any]]:
    """The conversation plus the faulty answer and a request to fix it: one re-ask."""
    message = (answer.get("choices") or [{}])[0].get("message") or {}
    faulty = message.get("content") or orjson.dumps(message.get("tool_calls") or []).decode()
    return [*body.get("messages", []), {"role": "assistant", "content": faulty},
            {"role": "user", "content": f"Your answer was not valid: it {problem}. Reply again with only the "
                                        "corrected JSON, nothing else."}]

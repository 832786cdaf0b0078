"""Checking structured output against the request's response_format.

Decoders that compile schemas to grammars can still let through text a strict
parser refuses (raw control characters inside strings, for one), so output is
validated after generation whatever produced it."""

from __future__ import annotations

import json
from functools import lru_cache

import jsonschema

from .types import ResponseFormat


@lru_cache(maxsize=256)
def _validator(schema_json: str) -> jsonschema.protocols.Validator:
    schema = json.loads(schema_json)
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)


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

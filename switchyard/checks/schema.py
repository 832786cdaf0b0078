from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field, field_validator

from ..structured import answer_error, schema_problem
from ..types import ResponseFormat
from .base import Answer, Check, CheckConfig


class SchemaConfig(CheckConfig):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    # a JSON Schema; without one, the request's own response_format and tool schemas are used
    json_schema: dict[str, Any] | None = Field(None, alias="schema")

    @field_validator("json_schema")
    @classmethod
    def _valid(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        problem = schema_problem(value) if value is not None else None
        if problem:
            raise ValueError(problem)
        return value


class SchemaCheck(Check):
    """The answer is JSON matching a schema (and its tool calls match their tools')."""

    type = "schema"
    config_class = SchemaConfig

    async def check(self, answer: Answer, ask) -> str | None:
        fmt = None
        if self.config.json_schema is not None:
            fmt = ResponseFormat(type="json_schema", json_schema={"name": "check", "schema": self.config.json_schema})
        return answer_error(answer.request, answer.body, fmt)

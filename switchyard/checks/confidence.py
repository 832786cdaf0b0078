from __future__ import annotations

import json
import re

from pydantic import Field

from .base import Answer, Check, CheckConfig

_STATED = re.compile(r"confidence\W{0,3}(?:is|=|:)?\s*(\d+(?:\.\d+)?)\s*(%?)", re.IGNORECASE)


class ConfidenceConfig(CheckConfig):
    min: float = Field(ge=0, le=1)  # the lowest self-reported confidence accepted, 0..1
    field: str = "confidence"  # where a JSON answer reports it


class ConfidenceCheck(Check):
    """The model's own confidence: a `confidence` field of a JSON answer, or
    "confidence: 0.8" / "confidence 80%" in text. No stated confidence fails."""

    type = "confidence"
    config_class = ConfidenceConfig

    async def check(self, answer: Answer, ask) -> str | None:
        value = self._stated(answer.text)
        if value is None:
            return "no self-reported confidence in the answer"
        if value < self.config.min:
            return f"self-reported confidence {value:g} below {self.config.min:g}"
        return None

    def _stated(self, text: str) -> float | None:
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if isinstance(data, dict) and isinstance(data.get(self.config.field), int | float):
            value = float(data[self.config.field])
            return value / 100 if value > 1 else value
        m = _STATED.search(text)
        if m is None:
            return None
        value = float(m.group(1))
        return value / 100 if m.group(2) or value > 1 else value

from __future__ import annotations

from pydantic import Field

from .base import Answer, Check, CheckConfig


class LengthConfig(CheckConfig):
    min_chars: int = Field(0, ge=0)
    max_chars: int | None = Field(None, gt=0)


class LengthCheck(Check):
    type = "length"
    config_class = LengthConfig

    async def check(self, answer: Answer, ask) -> str | None:
        n = len(answer.text.strip())
        if n < self.config.min_chars:
            return f"answer has {n} characters, fewer than {self.config.min_chars}"
        if self.config.max_chars is not None and n > self.config.max_chars:
            return f"answer has {n} characters, more than {self.config.max_chars}"
        return None

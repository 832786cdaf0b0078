from __future__ import annotations

import re

from pydantic import field_validator

from .base import Answer, Check, CheckConfig


class RegexConfig(CheckConfig):
    pattern: str
    must_match: bool = True  # false: the answer fails when the pattern is found

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:  # pydantic turns only ValueError into a config error
            raise ValueError(f"not a valid regular expression: {exc}") from None
        return value


class RegexCheck(Check):
    type = "regex"
    config_class = RegexConfig

    def __init__(self, config: RegexConfig):
        super().__init__(config)
        self.pattern = re.compile(config.pattern)

    async def check(self, answer: Answer, ask) -> str | None:
        found = self.pattern.search(answer.text) is not None
        if found == self.config.must_match:
            return None
        return f"regex {self.config.pattern!r} {'not found' if self.config.must_match else 'found'}"

"""The check seam: a test an answer must pass before a cascade accepts it.

A check is configured under an alias's `checks:` by `type`, validated by its
own pydantic model, and answers None (pass) or the reason it failed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from ..types import ChatRequest

# Ask another alias a question from inside a check (the judge does): (alias, messages) -> answer text
Ask = Callable[[str, list[dict[str, Any]]], Awaitable[str]]


@dataclass(slots=True)
class Answer:
    request: ChatRequest
    body: dict[str, Any]  # the chat.completion under test

    @property
    def text(self) -> str:
        message = (self.body.get("choices") or [{}])[0].get("message") or {}
        return message.get("content") or ""


class CheckConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str


class Check:
    type: ClassVar[str]
    config_class: ClassVar[type[CheckConfig]] = CheckConfig

    def __init__(self, config: CheckConfig):
        self.config = config

    async def check(self, answer: Answer, ask: Ask) -> str | None:
        raise NotImplementedError

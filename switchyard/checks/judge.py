from __future__ import annotations

from .base import Answer, Check, CheckConfig

DEFAULT_INSTRUCTIONS = (
    "You grade answers. Read the question and the answer. Reply with exactly one word: PASS if the answer is "
    "correct, relevant and complete, FAIL otherwise.")


class JudgeConfig(CheckConfig):
    model: str  # the alias that judges (a small model is enough)
    instructions: str = DEFAULT_INSTRUCTIONS
    pass_word: str = "PASS"


class JudgeCheck(Check):
    """A second model's verdict on the answer."""

    type = "judge"
    config_class = JudgeConfig

    async def check(self, answer: Answer, ask) -> str | None:
        question = next((m.text() for m in reversed(answer.request.messages) if m.role == "user"), "")
        verdict = await ask(self.config.model, [
            {"role": "system", "content": self.config.instructions},
            {"role": "user", "content": f"Question:\n{question}\n\nAnswer:\n{answer.text}"}])
        if verdict.strip().upper().startswith(self.config.pass_word.upper()):
            return None
        return f"judge {self.config.model!r} said: {verdict.strip()[:80]}"

from __future__ import annotations

import re

from .base import Answer, Check, CheckConfig

# Openings models use when they decline; matched near the start of the answer only.
_REFUSAL = re.compile(
    r"^\W*(?:(?:i'?m |i am )?sorry,? (?:but )?|unfortunately,? )?"
    r"(?:i|we)(?:'m| am| are)? (?:can ?not|can't|won't|will not|unable to|not able to|must decline to)\s+"
    r"(?:help|assist|provide|answer|comply|do that|fulfil+|share|support)"
    r"|^\W*as an ai(?: language model)?,? i (?:can ?not|can't|don't)",
    re.IGNORECASE)


class RefusalConfig(CheckConfig):
    pass


class RefusalCheck(Check):
    """The model did not decline to answer."""

    type = "refusal"
    config_class = RefusalConfig

    async def check(self, answer: Answer, ask) -> str | None:
        if _REFUSAL.search(answer.text[:300]):
            return "the model refused"
        message = (answer.body.get("choices") or [{}])[0].get("message") or {}
        return "the model refused" if message.get("refusal") else None

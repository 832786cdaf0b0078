"""Completions that must pass before they count.

Structured output (response_format, tool-call arguments) is validated whatever
produced it; on a plain alias a faulty answer gets one repair (a re-ask with the
validation error), on a cascade it escalates at once. Then the alias's checks
run. A failure raises CheckFailed carrying the tokens spent, so the router
charges the step and moves on to the next target."""

from __future__ import annotations

from dataclasses import replace

import msgspec

from ..checks.base import Answer, Ask, Check
from ..errors import CheckFailed
from ..providers.base import Provider
from ..structured import answer_error, repair_messages, wants_structure
from ..types import ChatCall, ChatRequest, ChatResult


def needs_checking(request: ChatRequest, checks: list[Check]) -> bool:
    return bool(checks) or wants_structure(request) or bool(request.tools)


async def checked_complete(provider: Provider, call: ChatCall, *, checks: list[Check], repair: bool,
                           ask: Ask) -> ChatResult:
    result = await provider.complete(call)
    mode = provider.structured_mode if wants_structure(call.request) else None
    problem = answer_error(call.request, result.body)
    if problem and repair:
        body = {**call.body, "messages": repair_messages(call.body, result.body, problem)}
        retry = replace(call, body=body, request=msgspec.convert(body, ChatRequest))
        again = await provider.complete(retry)
        again.usage = (again.usage + result.usage) if again.usage else result.usage
        result, mode = again, "repaired"
        problem = answer_error(call.request, result.body)
    if problem:
        raise CheckFailed(f"invalid structured output: {problem}", result.usage)
    for check in checks:
        reason = await check.check(Answer(call.request, result.body), ask)
        if reason:
            raise CheckFailed(f"check {check.type} failed: {reason}", result.usage)
    result.structured = mode
    return result

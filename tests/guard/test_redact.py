"""Placeholders in and out, including placeholders split across stream chunks."""

from __future__ import annotations

import json
import random

from switchyard.guard.findings import EMAIL, PHONE, Finding
from switchyard.guard.redact import Redaction, StreamRestorer
from switchyard.guard.restore import ChunkRestorer, map_completion


def findings(text: str, values: dict[str, str]) -> list[Finding]:
    found = []
    for kind, value in values.items():
        start = text.find(value)
        while start != -1:
            found.append(Finding(kind, start, start + len(value), value))
            start = text.find(value, start + 1)
    return sorted(found, key=lambda f: f.start)


def test_same_value_same_placeholder_and_back():
    text = "Mail a@b.io or a@b.io, call +1 415 555 0132, cc c@d.io"
    values = {EMAIL: "a@b.io", PHONE: "+1 415 555 0132"}
    found = findings(text, values) + findings(text, {EMAIL: "c@d.io"})
    redaction = Redaction()
    out = redaction.apply(text, sorted(found, key=lambda f: f.start))
    assert out == "Mail <EMAIL_1> or <EMAIL_1>, call <PHONE_1>, cc <EMAIL_2>"
    assert redaction.restore(out) == text
    assert redaction.restore("unknown <EMAIL_9> stays") == "unknown <EMAIL_9> stays"


def test_stream_restorer_handles_any_split():
    redaction = Redaction()
    sent = redaction.apply("write to x@y.org now", findings("write to x@y.org now", {EMAIL: "x@y.org"}))
    answer = f"Sure, I wrote to {sent.split()[2]} and cc'd <EMAIL_1> <b>bold</b> a < b."
    expected = answer.replace("<EMAIL_1>", "x@y.org")
    rng = random.Random(7)
    for _ in range(200):
        cuts = sorted(rng.sample(range(1, len(answer)), rng.randint(1, 12)))
        pieces = [answer[i:j] for i, j in zip([0, *cuts], [*cuts, len(answer)], strict=True)]
        restorer = StreamRestorer(redaction)
        assert "".join(restorer.feed(p) for p in pieces) + restorer.flush() == expected


def test_chunk_restorer_rewrites_openai_chunks():
    redaction = Redaction()
    redaction.placeholder(EMAIL, "x@y.org")
    pieces = ["Mail <EM", "AIL_1", "> today"]
    restorer = ChunkRestorer(redaction)
    out = []
    for i, piece in enumerate(pieces):
        finish = "stop" if i == len(pieces) - 1 else None
        chunk = {"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": finish}]}
        out.append(json.loads(restorer.chunk(json.dumps(chunk).encode())))
    assert "".join(c["choices"][0]["delta"]["content"] for c in out) == "Mail x@y.org today"


def test_tool_call_arguments_are_restored_in_whole_and_streamed_answers():
    redaction = Redaction()
    redaction.placeholder(EMAIL, "x@y.org")
    args = json.dumps({"to": "<EMAIL_1>", "cc": "<EMAIL_1>"})
    whole = map_completion({"choices": [{"index": 0, "message": {"role": "assistant", "content": None,
                            "tool_calls": [{"id": "c1", "function": {"name": "send", "arguments": args}}]}}]},
                           redaction.restore)
    assert json.loads(whole["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"]) == {
        "to": "x@y.org", "cc": "x@y.org"}
    restorer = ChunkRestorer(redaction)
    pieces = [args[:9], args[9:14], args[14:]]  # the first placeholder is cut twice
    out = []
    for i, piece in enumerate(pieces):
        finish = "tool_calls" if i == len(pieces) - 1 else None
        delta = {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}
        event = json.loads(restorer.chunk(json.dumps({"choices": [{"index": 0, "delta": delta,
                                                                   "finish_reason": finish}]}).encode()))
        out += [c["function"]["arguments"] for c in event["choices"][0]["delta"]["tool_calls"]]
    assert json.loads("".join(out)) == {"to": "x@y.org", "cc": "x@y.org"}

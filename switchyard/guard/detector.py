"""Runs the recognizers over a text and resolves their overlaps."""

from __future__ import annotations

from collections.abc import Iterable

from .findings import Finding, Recognizer


class Detector:
    def __init__(self, recognizers: Iterable[Recognizer]):
        self.recognizers = list(recognizers)

    def detect(self, text: str) -> list[Finding]:
        """Non-overlapping findings in text order. Where findings overlap, the longer
        span wins, then the higher score (a card number inside a longer IBAN is the IBAN)."""
        if not text:
            return []
        found = [f for r in self.recognizers for f in r.find(text)]
        found.sort(key=lambda f: (-(f.end - f.start), -f.score, f.start))
        taken: list[Finding] = []
        for finding in found:
            if all(finding.end <= t.start or finding.start >= t.end for t in taken):
                taken.append(finding)
        return sorted(taken, key=lambda f: f.start)

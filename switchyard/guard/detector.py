"""Runs the recognizers over a text and resolves their overlaps."""

from __future__ import annotations

from bisect import bisect_right
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
        starts: list[int] = []  # the kept findings, in text order: they never overlap,
        kept: list[Finding] = []  # so a newcomer only has to be checked against its two neighbours
        for finding in found:
            i = bisect_right(starts, finding.start)
            if i and kept[i - 1].end > finding.start:
                continue
            if i < len(kept) and kept[i].start < finding.end:
                continue
            starts.insert(i, finding.start)
            kept.insert(i, finding)
        return kept

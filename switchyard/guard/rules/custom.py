"""Recognizers built from config: a custom regex, or a deny-list of words and phrases."""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..findings import Finding
from ._util import lower_same_length, trie_regex


class PatternRecognizer:
    """Every non-empty match of `regex` (a string or a compiled pattern) is a finding of `kind`. If the pattern has
    a group named `value`, only that group is reported (e.g. `employee id: (?P<value>E\\d{6})`)."""

    def __init__(self, kind: str, regex: str | re.Pattern[str], score: float = 1.0, flags: int = 0):
        self.kind = kind
        self.kinds = (kind,)
        self.pattern = regex if isinstance(regex, re.Pattern) else re.compile(regex, flags)
        self.group: int | str = "value" if "value" in self.pattern.groupindex else 0
        self.score = score

    def find(self, text: str) -> list[Finding]:
        out = []
        for m in self.pattern.finditer(text):
            start, end = m.span(self.group)
            if end > start:
                out.append(Finding(self.kind, start, end, text[start:end], self.score))
        return out


class DenyListRecognizer:
    """Whole-word occurrences of any of `words` (phrases allowed; runs of whitespace in the text match a space in
    an entry). Case-insensitive by default. Thousands of entries compile to one trie-shaped regex."""

    def __init__(self, kind: str, words: Iterable[str], case_sensitive: bool = False, score: float = 1.0):
        self.kind = kind
        self.kinds = (kind,)
        self.case_sensitive = case_sensitive
        self.score = score
        entries = {" ".join(w.split()) for w in words}
        entries = {w if case_sensitive else w.lower() for w in entries if w and len(w) < 900}
        # Matched on the (offset-preserving) lower-cased text: IGNORECASE would make every literal a case-folding
        # comparison. The leading look-behind makes the trie start only at word starts (~3x faster on prose).
        self.pattern = re.compile(r"(?<!\w)" + trie_regex(sorted(entries)) + r"(?!\w)") if entries else None

    def find(self, text: str) -> list[Finding]:
        if self.pattern is None or not text:
            return []
        hay = text if self.case_sensitive else lower_same_length(text)
        return [
            Finding(self.kind, m.start(), m.end(), text[m.start() : m.end()], self.score)
            for m in self.pattern.finditer(hay)
        ]

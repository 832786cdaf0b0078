"""Helpers shared by the rule recognizers: word boundaries, length-preserving lower-casing, context keywords."""

from __future__ import annotations

import re
from collections.abc import Iterable

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


_last: tuple[str, str] = ("", "")


def lower_same_length(text: str) -> str:
    """`text.lower()` when that keeps every offset (almost always); otherwise an ASCII-only lower-casing.

    The Detector hands the same string to every recognizer, so the last result is kept (one entry, by identity)."""
    global _last
    last = _last
    if last[0] is text:
        return last[1]
    lower = text.lower()
    if len(lower) != len(text):
        lower = text.translate(_ASCII_LOWER)
    _last = (text, lower)
    return lower


def is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def starts_word(text: str, i: int) -> bool:
    return i == 0 or not is_word_char(text[i - 1])


def ends_word(text: str, j: int) -> bool:
    return j >= len(text) or not is_word_char(text[j])


def keyword_near(pattern: re.Pattern[str], lower: str, start: int, end: int, before: int, after: int) -> bool:
    """A keyword (starting at a word start) lies within `before` characters before `start` or `after` after `end`."""
    windows = ((max(0, start - before), start), (end, min(len(lower), end + after)))
    return any(starts_word(lower, m.start()) for lo, hi in windows for m in pattern.finditer(lower, lo, hi))


class Context:
    """Where context keywords ("born", "DOB" …) occur in a lower-cased text, in order.

    Keywords must start at a word start; the pattern itself decides how they may end."""

    __slots__ = ("ends", "starts")

    def __init__(self, pattern: re.Pattern[str], lower: str):
        hits = [m for m in pattern.finditer(lower) if starts_word(lower, m.start())]
        self.starts = [m.start() for m in hits]
        self.ends = [m.end() for m in hits]


def trie_regex(words: Iterable[str]) -> str:
    """One regex for many words: a trie rendered as nested groups, so matching costs per character of text rather
    than per entry, and the longest entry wins. A space in an entry matches any run of whitespace."""
    trie: dict = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def render(node: dict) -> str:
        branches = [(r"\s+" if ch == " " else re.escape(ch)) + render(child) for ch, child in node.items() if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if "" in node:
            return f"(?:{body})?"
        return body

    # Recursion depth is the longest entry's length; iterative rendering is not worth it below ~900 characters.
    return render(trie)

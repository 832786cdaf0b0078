"""Tokenizer with character offsets: words (with inner hyphens and apostrophes) and single symbols."""

from __future__ import annotations

import re

# Words keep inner hyphens/apostrophes (Jean-Pierre, O'Brien); a trailing possessive 's is split off.
_APOSTROPHES = "'\u2019"  # ' and the typographic right single quote
_TOKEN = re.compile(r"[^\W_]+(?:['\u2019\-][^\W_]+)*|\S")


def tokens(text: str) -> list[tuple[int, int]]:
    """(start, end) of every token in text."""
    out = []
    for m in _TOKEN.finditer(text):
        start, end = m.span()
        if end - start > 2 and text[end - 2] in _APOSTROPHES and text[end - 1] in "sS":
            out.append((start, end - 2))
            out.append((end - 2, end))
        else:
            out.append((start, end))
    return out

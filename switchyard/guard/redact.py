"""Typed placeholders: values out, placeholders in, and back again.

The same value always gets the same placeholder within a request (`<EMAIL_1>`
twice for one address), so the model can still refer to it; the answer's
placeholders are swapped back for the user. Streams may split a placeholder
across chunks, so the stream restorer holds back a possible partial one."""

from __future__ import annotations

import re
from collections import Counter

from .findings import Finding

_PLACEHOLDER = re.compile(r"<([A-Z][A-Z0-9_]*?)_(\d+)>")
_LONGEST_PLACEHOLDER = 48  # longer runs after "<" cannot be a placeholder: stop holding them back


class Redaction:
    def __init__(self):
        self._placeholder: dict[tuple[str, str], str] = {}
        self.originals: dict[str, str] = {}
        self._counts: Counter = Counter()

    def placeholder(self, kind: str, value: str) -> str:
        key = (kind, value)
        if key not in self._placeholder:
            self._counts[kind] += 1
            tag = f"<{kind}_{self._counts[kind]}>"
            self._placeholder[key] = tag
            self.originals[tag] = value
        return self._placeholder[key]

    def apply(self, text: str, findings: list[Finding]) -> str:
        """`text` with each finding replaced by its placeholder (findings sorted, not overlapping)."""
        out, last = [], 0
        for f in findings:
            out.append(text[last:f.start])
            out.append(self.placeholder(f.kind, f.text))
            last = f.end
        out.append(text[last:])
        return "".join(out)

    def restore(self, text: str) -> str:
        if not self.originals or "<" not in text:
            return text
        return _PLACEHOLDER.sub(lambda m: self.originals.get(m.group(0), m.group(0)), text)


class StreamRestorer:
    """Restores placeholders in text that arrives in pieces."""

    def __init__(self, redaction: Redaction):
        self.redaction = redaction
        self._held = ""

    def feed(self, piece: str) -> str:
        text = self._held + piece
        cut = text.rfind("<")
        if cut != -1 and ">" not in text[cut:] and len(text) - cut < _LONGEST_PLACEHOLDER:
            self._held, text = text[cut:], text[:cut]  # may be the start of a placeholder: wait for the rest
        else:
            self._held = ""
        return self.redaction.restore(text)

    def flush(self) -> str:
        text, self._held = self._held, ""
        return self.redaction.restore(text)

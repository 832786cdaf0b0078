"""Token features for the name/address tagger, and BIO labels <-> character spans.

Per token: the word (digits folded to 0), its shape (Xx, d, X.X...), prefixes and suffixes,
capitalisation and digit flags, gazetteer hits (gazetteer.py), whether it starts or ends a
line or a sentence, and the word, shape and gazetteer hits of two neighbours on each side.
Everything that depends only on the word is cached, so repeated words cost a dict lookup."""

from __future__ import annotations

from ..findings import PERSON, STREET_ADDRESS
from .gazetteer import Gazetteer
from .tokens import tokens

LABELS = ("O", "B-PER", "I-PER", "B-ADDR", "I-ADDR")
TAG = {PERSON: "PER", STREET_ADDRESS: "ADDR"}
KIND = {v: k for k, v in TAG.items()}
_DIGITS = str.maketrans("0123456789", "0000000000")
_NEIGHBOURS = ("-2:", "-1:", "+1:", "+2:")
_SENTENCE_END = {".", "!", "?", ":", ";"}
_CACHE_LIMIT = 200_000


def shape(word: str) -> str:
    """Character classes with runs collapsed: "McDonald" -> "XxXx", "SW1A" -> "XdX", "12-B" -> "d-X"."""
    out, prev = [], ""
    for ch in word:
        c = "X" if ch.isupper() else "x" if ch.islower() else "d" if ch.isdigit() else ch
        if c != prev:
            out.append(c)
            prev = c
    return "".join(out)[:8]


class Featurizer:
    def __init__(self, gazetteer: Gazetteer):
        self.gazetteer = gazetteer
        self._cache: dict[str, tuple[list[str], tuple[list[str], ...]]] = {}

    def _word(self, word: str) -> tuple[list[str], tuple[list[str], ...]]:
        hit = self._cache.get(word)
        if hit is not None:
            return hit
        low = word.lower()
        norm = low.translate(_DIGITS)
        sh = shape(word)
        base = ["w=" + norm, "s=" + sh]
        if word.isalpha():
            base += ["p2=" + low[:2], "p3=" + low[:3], "s2=" + low[-2:], "s3=" + low[-3:], "s4=" + low[-4:]]
            if word.istitle():
                base.append("T")
            elif word.isupper() and len(word) > 1:
                base.append("U")
        elif word.isdigit():
            base.append(f"D{min(len(word), 6)}")
        flags = self.gazetteer.flags(word)
        base += flags
        if len(word) > 12:
            base.append("long")
        context = ["w=" + norm, "s=" + sh, *flags]
        hit = (base, tuple([p + f for f in context] for p in _NEIGHBOURS))
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[word] = hit
        return hit

    def __call__(self, text: str) -> tuple[list[tuple[int, int]], list[list[str]]]:
        """Token spans of text, and the feature names of each token."""
        spans = tokens(text)
        words = [self._word(text[s:e]) for s, e in spans]
        n = len(spans)
        xseq = []
        for i, (start, end) in enumerate(spans):
            feats = ["bias", *words[i][0]]
            if i == 0:
                feats += ["BOS", "BOL"]
            else:
                feats += words[i - 1][1][1]
                if "\n" in text[spans[i - 1][1]:start]:
                    feats.append("BOL")
                if text[spans[i - 1][0]:spans[i - 1][1]] in _SENTENCE_END:
                    feats.append("SS")
                if i > 1:
                    feats += words[i - 2][1][0]
            if i == n - 1:
                feats += ["EOS", "EOL"]
            else:
                feats += words[i + 1][1][2]
                if "\n" in text[end:spans[i + 1][0]]:
                    feats.append("EOL")
                if i < n - 2:
                    feats += words[i + 2][1][3]
            xseq.append(feats)
        return spans, xseq


def bio(spans: list[tuple[int, int]], labelled: list[tuple[int, int, str]]) -> list[str]:
    """BIO label of each token: B-/I- of the labelled span it overlaps, else O."""
    out = ["O"] * len(spans)
    for start, end, kind in labelled:
        first = True
        for i, (s, e) in enumerate(spans):
            if s < end and e > start:
                out[i] = ("B-" if first else "I-") + TAG[kind]
                first = False
    return out


def decode(spans: list[tuple[int, int]], labels: list[str]) -> list[tuple[int, int, str, int, int]]:
    """(start, end, kind, first token, last token) of each run of B-X I-X... (a stray I-X starts a run)."""
    out: list[tuple[int, int, str, int, int]] = []
    current = None
    for i, label in enumerate(labels):
        tag = label[2:]
        if label == "O" or label.startswith("B-") or (current and current[2] != tag):
            if current:
                out.append(current)
            current = None
        if label != "O":
            current = (current[0], spans[i][1], tag, current[3], i) if current else (*spans[i], tag, i, i)
    if current:
        out.append(current)
    return [(s, e, KIND[t], a, b) for s, e, t, a, b in out]

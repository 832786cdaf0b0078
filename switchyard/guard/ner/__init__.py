"""Person names and street addresses in free text, offline: a small CRF tagger trained on
synthetic multilingual text (see train.py for how the shipped model.bin is built)."""

from __future__ import annotations

import os
import re
import threading

from ..findings import PERSON, STREET_ADDRESS, Finding

MODEL_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "model.bin")
CHUNK = 4096  # longer texts are tagged in pieces cut at line breaks (else spaces)
_NOT_IN_NAME = re.compile(r"[\d@/\\:_#=+\n]")
_NOT_IN_ADDRESS = re.compile(r"@|://|[A-Za-z]*\d[A-Za-z\d]{11,}|[A-Za-z]{2,}\d{6,}")  # e-mails, URLs, IBAN/key-like
_LETTER = re.compile(r"[^\W\d_]")  # an address names a street: digits alone are a phone or some other number
_models: dict[str, object] = {}
_lock = threading.Lock()


def load(path: str = MODEL_PATH):
    """The model at path, loaded once per process."""
    model = _models.get(path)
    if model is None:
        with _lock:
            model = _models.get(path)
            if model is None:
                from .model import NERModel

                if not os.path.exists(path):
                    raise FileNotFoundError(f"{path} missing: build it with `python -m switchyard.guard.ner.train`")
                model = _models[path] = NERModel.from_path(path)
    return model


def chunks(text: str, size: int = CHUNK) -> list[tuple[int, int]]:
    """(start, end) pieces of at most `size` characters, cut after a line break where possible."""
    out, start = [], 0
    while len(text) - start > size:
        cut = text.rfind("\n", start, start + size)
        if cut <= start:
            cut = text.rfind(" ", start, start + size)
        cut = cut + 1 if cut > start else start + size
        out.append((start, cut))
        start = cut
    out.append((start, len(text)))
    return out


class NERRecognizer:
    """PERSON and STREET_ADDRESS findings from the shipped model (loaded on first use).
    Spans that contain what names or addresses cannot (digits in a name; an e-mail, URL or
    long code in an address, or no letter at all) are dropped, so they never shadow the
    rule-based findings."""

    kinds = (PERSON, STREET_ADDRESS)

    def __init__(self, model_path: str = MODEL_PATH, threshold: float = 0.5,
                 kinds: tuple[str, ...] = (PERSON, STREET_ADDRESS)):
        self.model_path = model_path
        self.threshold = threshold
        self.kinds = kinds  # report only these (config's privacy.detect)

    def find(self, text: str) -> list[Finding]:
        model = load(self.model_path)
        out = []
        for offset, end in chunks(text):
            for s, e, kind, score in model.spans(text[offset:end]):
                value = text[offset + s:offset + e]
                if score < self.threshold or kind not in self.kinds:
                    continue
                if kind == PERSON and _NOT_IN_NAME.search(value):
                    continue
                if kind == STREET_ADDRESS and (_NOT_IN_ADDRESS.search(value) or not _LETTER.search(value)):
                    continue
                out.append(Finding(kind, offset + s, offset + e, value, score))
        return out

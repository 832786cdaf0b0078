"""The name/address tagger: a linear-chain CRF (python-crfsuite) over features.py's token features.

Model file (`model.bin`, shipped as package data) = gzip of:
    b"SWNER1\\n" + 4-byte big-endian header length + header JSON (gazetteer word lists, training
    metadata) + the crfsuite model bytes.
One file, loaded from memory; written with a fixed gzip mtime so the same training gives the
same bytes."""

from __future__ import annotations

import gzip
import json
import os
import struct
import tempfile
import threading
from collections.abc import Iterable

import pycrfsuite

from ..findings import PERSON
from .features import Featurizer, bio, decode
from .gazetteer import PARTICLES, Gazetteer

MAGIC = b"SWNER1\n"
DEFAULT_PARAMS = {"c1": 0.05, "c2": 0.01, "max_iterations": 150, "feature.minfreq": 2,
                  "feature.possible_transitions": True}


def pack(crf: bytes, header: dict) -> bytes:
    head = json.dumps(header, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    return gzip.compress(MAGIC + struct.pack(">I", len(head)) + head + crf, compresslevel=9, mtime=0)


def unpack(data: bytes) -> tuple[dict, bytes]:
    raw = gzip.decompress(data)
    if not raw.startswith(MAGIC):
        raise ValueError("not a Switchyard NER model file")
    (size,) = struct.unpack(">I", raw[len(MAGIC):len(MAGIC) + 4])
    body = len(MAGIC) + 4
    return json.loads(raw[body:body + size]), raw[body + size:]


def train(samples: Iterable, lists: dict[str, list[str]], params: dict | None = None, drop: float = 0.25,
          meta: dict | None = None) -> bytes:
    """Model file bytes trained on samples (synth.Sample with PERSON/STREET_ADDRESS spans).
    drop: fraction of names/cities/street words hidden from the gazetteer while training (see Gazetteer)."""
    featurize = Featurizer(Gazetteer(lists, drop=drop))
    params = {**DEFAULT_PARAMS, **(params or {})}
    algorithm = params.pop("algorithm", "lbfgs")
    if algorithm != "lbfgs":  # c1/c2 are L-BFGS penalties
        params.pop("c1", None)
        params.pop("c2", None)
    trainer = pycrfsuite.Trainer(algorithm=algorithm, verbose=False)
    for sample in samples:
        spans, xseq = featurize(sample.text)
        trainer.append(xseq, bio(spans, sample.spans))
    trainer.set_params(params)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.crfsuite")
        trainer.train(path)
        with open(path, "rb") as f:
            crf = f.read()
    meta = {**(meta or {}), "algorithm": algorithm, "params": params, "drop": drop}
    return pack(crf, {"gazetteer": lists, "meta": meta})


class NERModel:
    """Loaded model: `spans(text)` -> [(start, end, kind, score)]. Safe to share between threads
    (each thread gets its own crfsuite tagger)."""

    def __init__(self, data: bytes, threshold: float = 0.0):
        header, self._crf = unpack(data)
        self.meta = header.get("meta", {})
        self.featurize = Featurizer(Gazetteer(header["gazetteer"]))
        sets = self.featurize.gazetteer.sets  # everyday words that are not also names, trimmed off name edges
        self._everyday = (sets["gW"] | sets["gM"]) - sets["gF"] - sets["gL"]
        self.threshold = threshold
        self._local = threading.local()
        self._tagger()  # fail now on a corrupt model, not on the first request

    @classmethod
    def from_path(cls, path: str, **kwargs) -> NERModel:
        with open(path, "rb") as f:
            return cls(f.read(), **kwargs)

    def _tagger(self) -> pycrfsuite.Tagger:
        tagger = getattr(self._local, "tagger", None)
        if tagger is None:
            tagger = self._local.tagger = pycrfsuite.Tagger()
            tagger.open_inmemory(self._crf)
        return tagger

    def spans(self, text: str) -> list[tuple[int, int, str, float]]:
        tokens, xseq = self.featurize(text)
        if not tokens:
            return []
        tagger = self._tagger()
        labels = tagger.tag(xseq)
        out = []
        for _, _, kind, first, last in decode(tokens, labels):
            if kind == PERSON:
                parts = self._name_parts(text, tokens, first, last)
            else:  # an address does not end in "please" or "tomorrow"
                while last > first and text[tokens[last][0]:tokens[last][1]] in self._everyday:
                    last -= 1
                parts = [(first, last)]
            for a, b in parts:
                while a <= b and not _wordy(text, tokens[a]):
                    a += 1
                while b >= a and not _wordy(text, tokens[b]):
                    b -= 1
                if a > b:
                    continue
                score = sum(tagger.marginal(labels[i], i) for i in range(a, b + 1)) / (b - a + 1)
                if score >= self.threshold:
                    out.append((tokens[a][0], tokens[b][1], kind, round(score, 4)))
        return out

    def _name_parts(self, text: str, tokens: list[tuple[int, int]], first: int, last: int) -> list[tuple[int, int]]:
        """A tagged name, split where it cannot be one: at lower-case words (other than particles
        such as "van" or "de") when the name is capitalised, and without capitalised everyday
        words at its edges ("I", "Hello", "Thanks") unless they are known names."""
        words = [text[s:e] for s, e in tokens[first:last + 1]]
        capitalised = any(w[:1].isupper() for w in words)
        parts, current = [], []
        for i, word in enumerate(words, first):
            if capitalised and word.islower() and word not in PARTICLES:
                if current:
                    parts.append(current)
                current = []
            else:
                current.append(i)
        if current:
            parts.append(current)

        def plain(i: int) -> bool:
            low = text[tokens[i][0]:tokens[i][1]].lower()
            if low == "i":  # the pronoun, unless an initial ("I. Petrova")
                return text[tokens[i][1]:tokens[i][1] + 1] != "."
            return low in self._everyday

        out = []
        for part in parts:
            while part and plain(part[0]):
                part = part[1:]
            while part and plain(part[-1]):
                part = part[:-1]
            if part:
                out.append((part[0], part[-1]))
        return out


def _wordy(text: str, span: tuple[int, int]) -> bool:
    """Whether the token has a letter or digit: spans are trimmed of leading/trailing punctuation."""
    return any(c.isalnum() for c in text[span[0]:span[1]])

"""The detector the config asks for: built-in recognizers, the name and address
model, and the config's own patterns and deny-lists."""

from __future__ import annotations

from ..config.schema import PrivacyConfig
from .detector import Detector


def build_detector(config: PrivacyConfig) -> Detector:
    from .ner import NERRecognizer
    from .rules import rule_recognizers
    from .rules.custom import DenyListRecognizer, PatternRecognizer

    wanted = set(config.detect) if config.detect is not None else None
    ner = NERRecognizer(kinds=tuple(k for k in NERRecognizer.kinds if wanted is None or k in wanted))
    recognizers = [r for r in [*rule_recognizers(), ner] if wanted is None or wanted & set(r.kinds)]
    recognizers += [PatternRecognizer(p.kind, p.regex) for p in config.patterns]
    recognizers += [DenyListRecognizer(d.kind, d.words, case_sensitive=d.case_sensitive) for d in config.deny_lists]
    return Detector(recognizers)

"""The detector the config asks for: built-in recognizers, the name and address
model, and the config's own patterns and deny-lists."""

from __future__ import annotations

from ..config.schema import PrivacyConfig
from .detector import Detector


def build_detector(config: PrivacyConfig) -> Detector:
    from .ner import NERRecognizer
    from .rules import rule_recognizers
    from .rules.custom import DenyListRecognizer, PatternRecognizer

    recognizers = [*rule_recognizers(), NERRecognizer()]
    if config.detect is not None:
        wanted = set(config.detect)
        recognizers = [r for r in recognizers if wanted & set(r.kinds)]
    recognizers += [PatternRecognizer(p.kind, p.regex) for p in config.patterns]
    recognizers += [DenyListRecognizer(d.kind, d.words, case_sensitive=d.case_sensitive) for d in config.deny_lists]
    return Detector(recognizers)

"""Rule-based recognizers: regexes with cheap validation (checksums, grouping, context words).

`rule_recognizers()` returns the built-ins; `PatternRecognizer` and `DenyListRecognizer` are built from config."""

from __future__ import annotations

from ..findings import Recognizer
from .contact import EmailRecognizer, PhoneRecognizer
from .custom import DenyListRecognizer, PatternRecognizer
from .financial import CreditCardRecognizer, IbanRecognizer
from .identity import DateOfBirthRecognizer, SsnRecognizer
from .network import IpAddressRecognizer, UrlCredentialsRecognizer
from .secrets import ApiKeyRecognizer

__all__ = [
    "ApiKeyRecognizer",
    "CreditCardRecognizer",
    "DateOfBirthRecognizer",
    "DenyListRecognizer",
    "EmailRecognizer",
    "IbanRecognizer",
    "IpAddressRecognizer",
    "PatternRecognizer",
    "PhoneRecognizer",
    "SsnRecognizer",
    "UrlCredentialsRecognizer",
    "rule_recognizers",
]


def rule_recognizers() -> list[Recognizer]:
    """One instance of every built-in rule recognizer (they hold no per-text state and are thread-safe)."""
    return [
        EmailRecognizer(),
        PhoneRecognizer(),
        CreditCardRecognizer(),
        IbanRecognizer(),
        SsnRecognizer(),
        IpAddressRecognizer(),
        UrlCredentialsRecognizer(),
        ApiKeyRecognizer(),
        DateOfBirthRecognizer(),
    ]

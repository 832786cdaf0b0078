"""What detectors report, and the contract every recognizer follows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

# The kinds built-in recognizers report. Custom patterns from config add their own names.
EMAIL = "EMAIL"
PHONE = "PHONE"
CREDIT_CARD = "CREDIT_CARD"
IBAN = "IBAN"
SSN = "SSN"
IP_ADDRESS = "IP_ADDRESS"
URL_CREDENTIALS = "URL_CREDENTIALS"
API_KEY = "API_KEY"
DATE_OF_BIRTH = "DATE_OF_BIRTH"
STREET_ADDRESS = "STREET_ADDRESS"
PERSON = "PERSON"
BUILTIN_KINDS = (EMAIL, PHONE, CREDIT_CARD, IBAN, SSN, IP_ADDRESS, URL_CREDENTIALS, API_KEY, DATE_OF_BIRTH,
                 STREET_ADDRESS, PERSON)


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str
    start: int  # character offsets into the scanned text
    end: int
    text: str  # the sensitive value itself: never logged, never sent upstream under redact
    score: float = 1.0


class Recognizer(Protocol):
    kinds: tuple[str, ...]

    def find(self, text: str) -> list[Finding]:
        """Every match in `text`; overlaps between recognizers are resolved by the Detector."""

"""Cheap validators used to confirm candidates: Luhn, IBAN mod-97, Shannon entropy."""

from __future__ import annotations

import math
from collections import Counter


def luhn_valid(digits: str) -> bool:
    """Luhn check over a string of ASCII digits (credit cards)."""
    total = 0
    parity = len(digits) % 2
    for i, ch in enumerate(digits):
        d = ord(ch) - 48
        if i % 2 == parity:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def iban_valid(iban: str) -> bool:
    """ISO 13616 mod-97 check of a compact, upper-case IBAN (letters count A=10 … Z=35)."""
    moved = iban[4:] + iban[:4]
    try:
        number = "".join(str(int(ch, 36)) for ch in moved)
    except ValueError:
        return False
    return int(number) % 97 == 1


def shannon_entropy(s: str) -> float:
    """Bits per character of `s` (0 for an empty or one-symbol string)."""
    n = len(s)
    if n == 0:
        return 0.0
    return -sum(c / n * math.log2(c / n) for c in Counter(s).values())

"""CREDIT_CARD and IBAN recognizers."""

from __future__ import annotations

import re

from ..findings import CREDIT_CARD, IBAN, Finding
from .checksums import iban_valid, luhn_valid

# --- CREDIT_CARD ------------------------------------------------------------------------------------------------
_CARD = re.compile(
    r"\d(?<![\w.,+/$€£¥#-]\d)(?<!\d[ -]\d)"  # not glued to a word/number, not the tail of a longer digit group run
    r"(?:\d|[ -](?=\d)){11,22}"
    r"(?![\w]|[.,/-]\d|[ -]\d{3})"  # a further digit group means a longer number, not a card
)
_GROUPINGS = frozenset({(4, 6, 5), (4, 6, 4), (4, 4, 5)})  # Amex, Diners 14, old 13-digit Visa


def _brand_ok(d: str) -> bool:
    """Known issuer prefix (IIN) with a length that issuer uses. From 16 digits on, any number in the card
    industries (first digit 3-6) counts: issuers keep getting new ranges, and a missed card costs more than a
    false alarm."""
    n = len(d)
    if n >= 16 and d[0] in "3456":
        return True
    if d[0] == "4":
        return n == 13  # Visa (16 and 19 above)
    p2, p3, p4 = int(d[:2]), int(d[:3]), int(d[:4])
    if 2221 <= p4 <= 2720:
        return n == 16  # Mastercard 2-series
    if p2 in (34, 37):
        return n == 15  # Amex
    if p4 in (1800, 2131):
        return n == 15  # JCB's older 15-digit cards
    if p2 in (36, 38) or 300 <= p3 <= 305:
        return n >= 14  # Diners Club
    return p2 == 50 or 56 <= p2 <= 69  # Maestro: 12-19 digits


class CreditCardRecognizer:
    """12-19 digits, compact or grouped with one kind of separator (spaces or dashes) in 4-groups, Amex 4-6-5 or
    Diners 4-6-4; known IIN prefix and length; valid Luhn. Reports the number as written (with its separators)."""

    kinds = (CREDIT_CARD,)

    def find(self, text: str) -> list[Finding]:
        out = []
        for m in _CARD.finditer(text):
            s = m.group()
            seps = {c for c in s if not c.isdigit()}
            if len(seps) > 1:
                continue
            if seps:
                lens = tuple(len(g) for g in s.split(seps.pop()))
                if not (lens in _GROUPINGS or (lens[0] == 4 and all(n == 4 for n in lens[1:-1]) and len(lens) > 2)):
                    continue
                d = "".join(c for c in s if c.isdigit())
            else:
                d = s
            if 12 <= len(d) <= 19 and _brand_ok(d) and luhn_valid(d):
                out.append(Finding(CREDIT_CARD, m.start(), m.end(), s))
        return out


# --- IBAN -------------------------------------------------------------------------------------------------------
# Lengths from the SWIFT IBAN registry.
IBAN_LENGTHS: dict[str, int] = {
    cc: int(n)
    for cc, n in re.findall(
        r"([A-Z]{2})(\d\d)",
        "AD24 AE23 AL28 AT20 AZ28 BA20 BE16 BG22 BH22 BI27 BR29 BY28 CH21 CR22 CY28 CZ24 DE22 DJ27 DK18 DO28 "
        "EE20 EG29 ES24 FI18 FK18 FO18 FR27 GB22 GE22 GI23 GL18 GR27 GT28 HN28 HR21 HU28 IE22 IL23 IQ23 IS26 "
        "IT27 JO30 KW30 KZ20 LB28 LC32 LI21 LT20 LU20 LV21 LY25 MC27 MD24 ME22 MK19 MN20 MR27 MT31 MU30 NI28 "
        "NL18 NO15 OM23 PK24 PL28 PS29 PT25 QA29 RO24 RS22 RU33 SA24 SC31 SD18 SE24 SI19 SK24 SM27 SO23 ST25 "
        "SV28 TL23 TN24 TR26 UA29 VA22 VG24 XK20 YE30",
    )
}
_IBAN = re.compile(r"[A-Z](?<![A-Za-z0-9_][A-Z])[A-Z]\d\d(?: ?[A-Z0-9]){10,32}")


class IbanRecognizer:
    """Country code + 2 check digits + BBAN, compact or in 4-groups separated by single spaces, upper case; the
    length must be the registry length for the country and the mod-97 checksum must hold. Reports the IBAN as
    written (with its spaces); trailing upper-case words after a spaced IBAN are not included."""

    kinds = (IBAN,)

    def find(self, text: str) -> list[Finding]:
        out = []
        for m in _IBAN.finditer(text):
            s = m.group()
            length = IBAN_LENGTHS.get(s[:2])
            if length is None:
                continue
            count, end = 0, 0
            for i, ch in enumerate(s):
                if ch != " ":
                    count += 1
                    if count == length:
                        end = i + 1
                        break
            if not end or (end < len(s) and s[end] != " "):
                continue  # too short, or runs on into more letters/digits
            span = s[:end]
            if " " in span:
                groups = span.split(" ")
                if any(len(g) != 4 for g in groups[:-1]) or not 1 <= len(groups[-1]) <= 4:
                    continue
            compact = span.replace(" ", "")
            if iban_valid(compact):
                out.append(Finding(IBAN, m.start(), m.start() + end, span))
        return out

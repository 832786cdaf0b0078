"""EMAIL and PHONE recognizers."""

from __future__ import annotations

import re
import string

from ..findings import EMAIL, PHONE, Finding
from ._util import keyword_near, lower_same_length

# --- EMAIL ------------------------------------------------------------------------------------------------------
# Scan from each "@" (a literal prefix the regex engine finds fast), then walk back over the local part.
_DOMAIN = re.compile(
    r"@((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+([A-Za-z]{2,24}))(?![A-Za-z0-9_-]|\.[A-Za-z0-9])"
)
_LOCAL_CHARS = frozenset(string.ascii_letters + string.digits + "._%+-")
# "icon@2x.png", "pkg@file.json": file names, not addresses.
_FILE_TLDS = frozenset(
    re.findall(
        r"\w+", "png jpg jpeg gif svg webp bmp ico css js mjs ts tsx jsx json yaml yml toml lock txt map pyc whl"
    )
)


class EmailRecognizer:
    """local@domain.tld; the local part is the practical set (letters, digits, . _ % + -), so subaddresses
    (`name+tag@`) match; domains are ASCII labels with an alphabetic TLD. scp-style `git@host:path` is skipped."""

    kinds = (EMAIL,)

    def find(self, text: str) -> list[Finding]:
        if "@" not in text:
            return []
        out = []
        for m in _DOMAIN.finditer(text):
            at = m.start()
            start = at
            while start > 0 and at - start < 64 and text[start - 1] in _LOCAL_CHARS:
                start -= 1
            while start < at and text[start] == ".":
                start += 1
            local = text[start:at]
            if not local or local.endswith(".") or ".." in local:
                continue
            before = text[start - 1] if start else " "
            if before.isalnum() or before == "/" or (before == ":" and "://" in text[max(0, start - 40) : start]):
                continue  # inside a longer token, or `scheme://user:pw@host` (URL_CREDENTIALS' business)
            end = m.end()
            if m.group(2).lower() in _FILE_TLDS:
                continue
            if end < len(text) - 1 and text[end] == ":" and not text[end + 1].isspace():
                continue  # git@github.com:org/repo.git
            out.append(Finding(EMAIL, start, end, text[start:end]))
        return out


# --- PHONE ------------------------------------------------------------------------------------------------------
_S = "[ \u00a0\u202f]"  # space, no-break space, narrow no-break space (French grouping)
_PHONE = re.compile(
    # first char, not glued to a word, a number, a price, a reference (#, /), a version or an assignment
    r"[+(\d](?<![\w+#@/\\$€£¥%.=\-][+(\d])(?<!\d[ .\-/][+(\d])"
    r"(?=[\d ()./\-\u00a0\u202f]{6})(?!\d{3}[-/.]\d\d[-/.]\d\d)"  # cheap reject of short numbers, ISO dates
    rf"(?:(?<=\+){_S}?\d+|(?<=\()\+?\d{{1,5}}\)(?:{_S}|-)?\d+|(?<=\d)\d*)"
    rf"(?:(?:{_S}?[.\-/]{_S}?|{_S}?\(\d{{1,4}}\){_S}?|{_S})\d+)*"
    r"(?!(?!x\d)[\w@]|[.\-/]\d)"  # may run into an extension ("x232"), which is left out
)
_DIGIT_RUN = re.compile(r"\d+")
_DOTTED_QUAD = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
_TOKEN = re.compile(r"\((\d+)\)|(\d+)")
_PUNCT = re.compile(r"[.\-/]")
_CONTEXT = re.compile(
    r"phone|telephone|smartphone|cellphone|tel(?![a-z])|tél|telefon|teléfono|telefono|call|mobile|mobil|mob(?![a-z])"
    r"|cell|fax|whatsapp|sms(?![a-z])|contact|☎|📞|📱|móvil|movil|cellulare|handy|portable|numéro|rufnummer|gsm"
)
# Reference numbers that happen to look like a national phone number.
_NOT_PHONE = re.compile(
    r"(?<![a-z])(?:order|invoice|ref|tracking|account|acct|isbn|serial|sku|id(?![a-z])|no\.|case|ticket)"
)
# ITU calling codes: the two-digit ones, and the first two digits of the three-digit ones.
_CC_TWO = frozenset(
    re.findall(
        r"\d\d",
        "20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 53 54 55 56 57 58 "
        "60 61 62 63 64 65 66 81 82 84 86 90 91 92 93 94 95 98",
    )
)
_CC_THREE_PREFIX = frozenset(
    re.findall(r"\d\d", "21 22 23 24 25 26 29 35 37 38 42 50 59 67 68 69 80 85 87 88 96 97 99")
)


_BREAK = re.compile(r"[\n;!?]|\.\s")
_ABBREVIATIONS = ("tel", "tél", "ph", "mob", "fax", "nr", "no")


def _has_context(lower: str, start: int, end: int) -> bool:
    """A context word up to 30 characters before or 15 after the number, in the same sentence."""
    lo = max(0, start - 30)
    for m in _BREAK.finditer(lower, lo, start):
        if m.group()[0] != "." or not lower[max(0, m.start() - 4) : m.start()].endswith(_ABBREVIATIONS):
            lo = m.end()  # "Tel. 555 0132": an abbreviation's dot does not end the sentence
    brk = _BREAK.search(lower, end, min(len(lower), end + 15))
    hi = brk.start() if brk else end + 15
    return keyword_near(_CONTEXT, lower, start, end, start - lo, hi - end)


def _calling_code_ok(digits: str) -> bool:
    return digits[:1] in ("1", "7") or digits[:2] in _CC_TWO or (digits[:2] in _CC_THREE_PREFIX and len(digits) > 3)


def _date_like(groups: list[str]) -> bool:
    return len(groups) >= 3 and len(groups[1]) == 2 and int(groups[1]) <= 12 and groups[2][:2] in ("19", "20")


def _international(toks: list[tuple[str, bool]], has_ctx: bool) -> float:
    groups = [g for g, paren in toks if not (paren and g == "0")]  # "+44 (0)20 …": the (0) is a trunk prefix
    digits = "".join(groups)
    if not toks[0][1] and groups[0].startswith("00"):
        digits = digits[2:]
    if not (8 <= len(digits) <= 15 or (has_ctx and len(digits) == 7)) or not _calling_code_ok(digits):
        return 0.0
    if len(groups) == 1 and len(digits) < 10 and not has_ctx:
        return 0.0
    return 0.95


def _national(toks: list[tuple[str, bool]], punct: set[str], has_ctx: bool) -> float:
    groups = [g for g, _ in toks]
    if any(paren for _, paren in toks[1:]):
        return 0.0
    lens = tuple(len(g) for g in groups)
    nd = sum(lens)
    g0 = groups[0]
    if lens == (3, 3, 4) and g0[0] in "23456789" and groups[1][0] in "23456789" and "/" not in punct:
        return 0.85  # NANP (415) 555-0132, also Italian mobiles 333 123 4567
    if lens == (1, 3, 3, 4) and g0 == "1" and groups[1][0] in "23456789" and groups[2][0] in "23456789":
        return 0.85  # 1-800-555-0199
    if (
        g0[0] == "0"
        and 2 <= len(g0) <= 5
        and g0[1] != "0"
        and len(groups) >= 2
        and 9 <= nd <= 12
        and all(2 <= n <= 8 for n in lens[1:])
        and not _date_like(groups)
    ):
        return 0.85  # trunk-prefixed: UK, DE, FR, NL, IT landlines, IN landlines
    if nd == 9 and g0[0] in "6789" and (lens in ((3, 2, 2, 2), (2, 3, 2, 2)) or (lens == (3, 3, 3) and punct == {"-"})):
        return 0.8  # ES
    if nd == 10 and g0[0] == "3" and lens in ((3, 7), (3, 4, 3), (3, 3, 4)):
        return 0.8  # IT mobile
    if nd == 10 and g0[0] in "6789" and lens == (5, 5):
        return 0.8  # IN mobile
    if has_ctx and 7 <= nd <= 15 and not all(len(g) == 4 and g[:2] in ("19", "20") for g in groups):
        return 0.75  # "phone: 5550132", "Tel. 0612345678"; not "call it 2023-2024"
    return 0.0


class PhoneRecognizer:
    """International numbers (`+<cc> …` or `00<cc> …`, valid calling code, 8-15 digits) and national formats by
    their grouping (US/CA, UK, DE, FR, NL, ES, IT, IN). A bare digit run or an unusual grouping counts only after
    a context word ("phone", "tel", "call", "mobile", "☎" …). Reports the number as written, without extensions."""

    kinds = (PHONE,)

    def find(self, text: str) -> list[Finding]:
        out: list[Finding] = []
        lower = ""
        for m in _PHONE.finditer(text):
            s = m.group()
            punct = set(_PUNCT.findall(s))
            if len(punct) > 1 and not (punct == {"-", "/"} and s.count("/") == 1):
                continue
            if _DOTTED_QUAD.fullmatch(s):
                continue  # IP_ADDRESS's business
            start, end = m.span()
            lower = lower or lower_same_length(text)
            toks = [(p or d, bool(p)) for p, d in _TOKEN.findall(s)]
            intl = (
                s[0] == "+" or s[:2] == "(+" or (len(toks) > 1 and toks[0][0].startswith("00") and len(toks[0][0]) <= 5)
            )
            score = _international(toks, False) if intl else _national(toks, punct, False)
            if score and not intl and _NOT_PHONE.search(lower, max(0, start - 20), start):
                score = score if _has_context(lower, start, end) else 0.0
            elif not score and 7 <= sum(map(len, _DIGIT_RUN.findall(s))) <= 17 and _has_context(lower, start, end):
                score = _international(toks, True) if intl else _national(toks, punct, True)
            if score:
                out.append(Finding(PHONE, start, end, s, score))
        return out

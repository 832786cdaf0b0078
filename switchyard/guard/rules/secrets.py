"""API_KEY: provider tokens with well-known prefixes, private keys, JWTs, and keyword-anchored secrets."""

from __future__ import annotations

import re

from ..findings import API_KEY, Finding
from ._util import is_word_char, lower_same_length
from .checksums import shannon_entropy

# Every alternative starts with a literal so the regex engine can skip ahead on the first character.
_PREFIXED = re.compile(
    r"sk-[A-Za-z0-9_-]{20,}"  # OpenAI sk-, sk-proj-, sk-svcacct-; Anthropic sk-ant-
    r"|sk_(?:live|test)_[A-Za-z0-9]{16,}|rk_(?:live|test)_[A-Za-z0-9]{16,}|pk_(?:live|test)_[A-Za-z0-9]{16,}"
    r"|AKIA[A-Z0-9]{16}|ASIA[A-Z0-9]{16}"  # AWS access key ids
    r"|gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255}"
    r"|glpat-[A-Za-z0-9_-]{20,}"
    r"|xox[abposr]-[A-Za-z0-9-]{10,}"  # Slack
    r"|AIza[0-9A-Za-z_-]{35}"  # Google
    r"|hf_[A-Za-z0-9]{30,}|npm_[A-Za-z0-9]{36}|SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}"
    r"|eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"  # JWT (signature may be empty: alg none)
    r"|-----BEGIN[A-Z0-9 ]{0,40} PRIVATE KEY(?: BLOCK)?-----"
    r"(?:(?s:.*?)-----END[A-Z0-9 ]{0,40} PRIVATE KEY(?: BLOCK)?-----|[A-Za-z0-9+/=\s:,-]*)"  # or cut off
)
# Substrings one of which every _PREFIXED match contains: a few `in` scans are cheaper than the regex on clean text.
_PREFIX_GATE = (
    "sk-", "sk_", "rk_", "pk_", "AKIA", "ASIA", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-",
    "xox", "AIza", "hf_", "npm_", "SG.", "eyJ", "-----BEGIN",
)  # fmt: skip
_FIXED_LENGTH = ("AKIA", "ASIA", "AIza", "npm_")
_NO_BODY_CHECK = ("eyJ", "---", "SG.")

# Keyword-anchored values; matched on the lower-cased text (same offsets) so no IGNORECASE is needed.
_KEYWORD = re.compile(
    r"(?:api[_.\- ]?key|apikey|secret|token|passw(?:or)?d|pwd|passphrase|credential|private[_-]?key"
    r"|access[_-]?key|auth[_-]?key)"
    r"[a-z0-9_.\-]{0,24}?[\"']?[ \t]*(?:=>|:=|[:=])[ \t]*(?:b?[\"'`])?"
    r"(?P<v>[^\s\"'`,;()\[\]{}<>]{6,400})"
)
_QUERY_NEXT = re.compile(r"&[\w.-]+=")
_KEYWORD_GATE = ("key", "secret", "token", "pass", "pwd", "credential")
_BEARER_GATE = ("bearer", "basic", "token")
_BEARER = re.compile(r"(?:bearer|basic|token)[ \t]+(?P<v>[a-z0-9._~+/=\-]{8,4000})(?![a-z0-9._~+/=\-])")
_IDENTIFIER_PATH = re.compile(r"[A-Za-z_$][\w$]*(?:(?:\.|::|->)[A-Za-z_$][\w$]*)+")
_PLACEHOLDER_WORDS = ("xxxx", "****", "...", "your", "example", "placeholder", "changeme", "redacted", "dummy")
_NON_VALUES = frozenset(
    {"none", "null", "nil", "true", "false", "undefined", "required", "optional", "string", "empty", "hidden", "secret"}
)


def _classes(v: str) -> tuple[bool, bool, bool, bool]:
    """(lower, upper, digit, symbol) present; `_` and `.` are identifier characters, not symbols."""
    return (
        any(c.islower() for c in v),
        any(c.isupper() for c in v),
        any(c.isdigit() for c in v),
        any(not c.isalnum() and c not in "_." for c in v),
    )


def _placeholder(v: str) -> bool:
    low = v.lower()
    return low in _NON_VALUES or v[0] in "$%<{#&*" or len(set(v)) <= 2 or any(w in low for w in _PLACEHOLDER_WORDS)


def _judge(v: str, password: bool, following: str) -> bool:
    if (following and following in "([") or _IDENTIFIER_PATH.fullmatch(v) or _placeholder(v):
        return False  # a call, an attribute path, a template variable, "None" …
    lower, upper, digit, symbol = _classes(v)
    if password:
        return len(v) >= 6 and (digit or symbol) and lower + upper + digit + symbol >= 2
    return len(v) >= 16 and digit and (lower or upper) and shannon_entropy(v) >= 3.0


def _random_body(body: str) -> bool:
    return any(c.isdigit() for c in body) and shannon_entropy(body) >= 3.0


class ApiKeyRecognizer:
    """Provider tokens by prefix (OpenAI/Anthropic `sk-`, AWS `AKIA`/`ASIA`, GitHub `ghp_` … `github_pat_`, GitLab
    `glpat-`, Slack `xox?-`, Stripe `sk_/rk_/pk_live_`, Google `AIza`, Hugging Face `hf_`, npm, SendGrid), JWTs,
    PEM private key blocks (whole block, or up to the end of the base64 body when cut off), and values assigned to
    a secret-ish keyword (`api_key=`, `token:`, `"password": "…"`, `Authorization: Bearer …`) judged by length,
    character classes and Shannon entropy. Reports the secret value only, never the keyword or the quotes."""

    kinds = (API_KEY,)

    def find(self, text: str) -> list[Finding]:
        found: dict[tuple[int, int], Finding] = {}
        pos = 0 if any(g in text for g in _PREFIX_GATE) else len(text) + 1
        while (m := _PREFIXED.search(text, pos)) is not None:
            pos = m.start() + 1
            s, start, end = m.group(), m.start(), m.end()
            if start > 0 and (is_word_char(text[start - 1]) or text[start - 1] == "-"):
                continue
            if s.startswith(_FIXED_LENGTH) and end < len(text) and is_word_char(text[end]):
                continue
            if not s.startswith(_NO_BODY_CHECK) and not _random_body(s[4:]) and not s.startswith(("AKIA", "ASIA")):
                continue
            if s.startswith("-"):
                s = s.rstrip()
                end = start + len(s)
            found[start, end] = Finding(API_KEY, start, end, s, 0.9 if s.startswith("pk_") else 1.0)
            pos = end
        lower = lower_same_length(text)
        for m in _KEYWORD.finditer(lower) if any(g in lower for g in _KEYWORD_GATE) else ():
            start, end = m.span("v")
            v = _QUERY_NEXT.split(text[start:end], 1)[0].rstrip(".:")  # `secret=…&grant_type=…`
            end = start + len(v)
            following = text[end : end + 1]
            keyword = lower[m.start() : m.start("v")]
            if (start, end) not in found and _judge(v, "pass" in keyword or "pwd" in keyword, following):
                found[start, end] = Finding(API_KEY, start, end, v, 0.8)
        for m in _BEARER.finditer(lower) if any(g in lower for g in _BEARER_GATE) else ():
            start, end = m.span("v")
            v = text[start:end].rstrip(".")
            end = start + len(v)
            header = "authorization" in lower[max(0, m.start() - 24) : m.start()]
            # after an Authorization header any credential-looking value counts: 8+ characters of 2+ classes
            ok = (len(v) >= 8 and not _placeholder(v) and sum(_classes(v)) >= 2) if header else _judge(v, False, "")
            if ok and (start, end) not in found:
                found[start, end] = Finding(API_KEY, start, end, v, 0.85)
        return sorted(found.values(), key=lambda f: f.start)

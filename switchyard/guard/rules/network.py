"""IP_ADDRESS and URL_CREDENTIALS recognizers."""

from __future__ import annotations

import ipaddress
import re

from ..findings import IP_ADDRESS, URL_CREDENTIALS, Finding
from ._util import is_word_char

# --- IP_ADDRESS -------------------------------------------------------------------------------------------------
_IPV4 = re.compile(r"\d(?<![\w.]\d)\d{0,2}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?![\w]|\.\d)")
_VERSIONISH = re.compile(r"(?:\b(?:version|release|ver\.?|section|chapter|rule)|§)\s*$", re.IGNORECASE)
_V6_SEED = re.compile(r":[0-9A-Fa-f]{0,4}:")
_V6 = re.compile(
    r"(?:[0-9A-Fa-f]{0,4}:){1,7}(?:\d{1,3}(?:\.\d{1,3}){3}(?![\d.])|[0-9A-Fa-f]{1,4}(?![0-9A-Fa-f])|)"
    r"(?:%[0-9A-Za-z_.]{1,16})?"
)
_HEX_COLON = frozenset("0123456789abcdefABCDEF:")


def _v4_ok(s: str) -> bool:
    parts = s.split(".")
    if not all(len(p) == 1 or (p[0] != "0" and int(p) <= 255) for p in parts):
        return False
    # 0.0.0.0, loopback and netmasks (255.255.255.0) name no host
    return parts[0] not in ("0", "127", "255")


def _v6_ok(s: str) -> bool:
    addr = s.split("%", 1)[0]
    if "::" not in addr and addr.count(":") != 7 and not (addr.count(":") == 6 and "." in addr):
        return False  # times (12:30:45), MAC addresses, ratios
    groups = [g for g in addr.split(":") if g]
    if not groups or not any(c.isdigit() for c in addr):
        return False  # "abc::def", "::"
    if addr.count(":") < 3 and not any(len(g) == 4 for g in groups):
        return False  # Python slices a[1::2], a[100::200]
    try:
        ip = ipaddress.IPv6Address(s)
    except ValueError:
        return False
    return not (ip.is_loopback or ip.is_unspecified)


class IpAddressRecognizer:
    """IPv4 dotted quads (octets ≤ 255, no leading zeros; not inside a longer dotted number, not after a word such
    as "v" or "version") and IPv6 in full, compressed, IPv4-mapped and zoned (`%eth0`) forms, validated with
    `ipaddress`. Reports the address only (no port, prefix length or brackets). Private ranges are reported (they map
    an internal network); addresses that name no host are not: 0.0.0.0/8, loopback 127/8 and ::1, 255.x netmasks."""

    kinds = (IP_ADDRESS,)

    def find(self, text: str) -> list[Finding]:
        out = []
        for m in _IPV4.finditer(text):
            s = m.group()
            if _v4_ok(s) and not _VERSIONISH.search(text, max(0, m.start() - 12), m.start()):
                out.append(Finding(IP_ADDRESS, m.start(), m.end(), s))
        if ":" not in text:
            return out
        last = -1
        n = len(text)
        for seed in _V6_SEED.finditer(text):
            if seed.start() < last:
                continue
            left = seed.start()
            while left > 0 and seed.start() - left < 39 and text[left - 1] in _HEX_COLON:
                left -= 1
            m = _V6.match(text, left)
            last = m.end()
            if left > 0 and (is_word_char(text[left - 1]) or text[left - 1] == "."):
                continue
            if last < n and (
                is_word_char(text[last]) or (text[last] in ":." and last + 1 < n and text[last + 1].isalnum())
            ):
                continue
            s = m.group()
            if _v6_ok(s):
                out.append(Finding(IP_ADDRESS, left, last, s))
        return out


# --- URL_CREDENTIALS --------------------------------------------------------------------------------------------
_CRED = re.compile(r"://(?P<user>[^\s:/?#@\[\]\"'<>]*):(?P<pw>[^\s/?#\"'<>]+)@(?P<host>[A-Za-z0-9._~%\[\]:-]+)")
_URL_REST = re.compile(r"[^\s<>\"'`]*")
_SCHEME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-")
_TRAILING = ".,;:!?'\"*"
_CLOSERS = {")": "(", "]": "[", "}": "{"}


class UrlCredentialsRecognizer:
    """URLs of any scheme (https, postgres, mongodb+srv, redis, amqp, jdbc:mysql …) carrying `user:password@`
    (the user may be empty: `redis://:pw@host`). Reports the whole URL, from its innermost scheme (`mysql://…` of
    `jdbc:mysql://…`) to its end, without trailing punctuation or unbalanced closing brackets: host and path go
    with the credentials."""

    kinds = (URL_CREDENTIALS,)

    def find(self, text: str) -> list[Finding]:
        if "://" not in text:
            return []
        out = []
        pos = 0
        while (m := _CRED.search(text, pos)) is not None:
            pos = m.start() + 3
            start = m.start()
            while start > 0 and m.start() - start < 32 and text[start - 1] in _SCHEME_CHARS:
                start -= 1
            if start == m.start() or not text[start].isalpha():
                continue
            end = _URL_REST.match(text, m.end()).end()
            while end > m.end():
                ch = text[end - 1]
                unbalanced = ch in _CLOSERS and text.count(_CLOSERS[ch], start, end) < text.count(ch, start, end)
                if ch not in _TRAILING and not unbalanced:
                    break
                end -= 1
            out.append(Finding(URL_CREDENTIALS, start, end, text[start:end]))
            pos = end
        return out

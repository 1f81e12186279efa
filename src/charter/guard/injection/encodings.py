"""Payloads hidden in encodings: base64 and hex runs decoded back to text.

A run only counts when it decodes to mostly printable UTF-8 text with letters and
spaces, so hashes, keys and binary blobs (which are also base64 or hex) are left
alone. The number and length of runs decoded per text are bounded. The patterns are
repetitions of one character class with fixed-width groups, which Python's ``re`` runs
in linear time; it avoids the ``re2`` module's per-match Python bookkeeping.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator

_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4}){5,}(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")
_BASE64_URL = re.compile(r"(?:[A-Za-z0-9_-]{4}){5,}(?:[A-Za-z0-9_-]{2,3})?")
_HEX = re.compile(r"(?:(?:\\x|0x)?[0-9A-Fa-f]{2}[ :,]?){10,}")
_HEX_DIGITS = re.compile(r"(?:\\x|0x)|[ :,]")

#: Leetspeak is likely when digits or symbols sit between letters.
LEET_HINT = re.compile(r"[a-z][0134578@$|!+][a-z]|\b[0134578@$][a-z]{2,}", re.ASCII)

#: Longest run decoded (characters); longer runs are cut to this.
MAX_RUN = 16_384


def _printable_text(raw: bytes) -> str | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if len(text) < 8:
        return None
    printable = sum(1 for c in text if c.isprintable() or c in "\n\t")
    letters = sum(1 for c in text if c.isalpha())
    if printable < 0.95 * len(text) or letters < 0.5 * len(text) or " " not in text:
        return None
    return text


def _decode_base64(run: str, urlsafe: bool) -> str | None:
    run = run[:MAX_RUN]
    run = run[: len(run) - len(run) % 4] if "=" not in run else run
    try:
        raw = (
            base64.urlsafe_b64decode(run + "=" * (-len(run) % 4))
            if urlsafe
            else base64.b64decode(run, validate=True)
        )
    except (binascii.Error, ValueError):
        return None
    return _printable_text(raw)


def _decode_hex(run: str) -> str | None:
    digits = _HEX_DIGITS.sub("", run[:MAX_RUN])
    if len(digits) % 2:
        digits = digits[:-1]
    try:
        raw = bytes.fromhex(digits)
    except ValueError:
        return None
    return _printable_text(raw)


def payloads(text: str, *, limit: int = 16) -> Iterator[tuple[str, str]]:
    """(``base64`` or ``hex``, decoded text) for up to ``limit`` runs in ``text``."""
    found = 0
    seen: set[tuple[str, str]] = set()
    for pattern, kind in ((_BASE64, "base64"), (_BASE64_URL, "base64url"), (_HEX, "hex")):
        for match in pattern.finditer(text):
            run = match.group(0)
            if (kind, run) in seen:
                continue
            seen.add((kind, run))
            decoded = (
                _decode_hex(run)
                if kind == "hex"
                else _decode_base64(run, urlsafe=kind == "base64url")
            )
            if decoded is not None:
                yield kind.removesuffix("url"), decoded
                found += 1
            if found >= limit or len(seen) >= 4 * limit:
                return

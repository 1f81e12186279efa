"""Text normalisation before matching: what an attacker changes to slip past a pattern.

:func:`skeleton` maps a text to the form the injection rules read, one character at a
time (so it is linear and the offsets map back, :func:`offset_map`):

- invisible characters are dropped: zero-width spaces and joiners, bidirectional
  controls, soft hyphens, variation selectors, the BOM, and Unicode *tag* characters
  (U+E0000-U+E007F), whose hidden ASCII is recovered separately by :func:`tag_payload`;
- compatibility forms are folded (NFKD: full-width letters, mathematical
  bold and script letters, ligatures) and combining marks removed (stacked "zalgo" marks, accents);
- common confusables (Cyrillic and Greek letters that look Latin, after Unicode TR39's
  confusables table) become their Latin twins, and everything is case-folded.

:func:`leet` undoes leetspeak digits and symbols, :func:`rot13` rotates letters; the
decoders of :mod:`charter.guard.injection.encodings` find base64 and hex payloads.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from typing import Any

#: Characters that render as nothing (or only steer rendering) and are dropped.
INVISIBLE: frozenset[int] = frozenset(
    [
        *(0x00AD, 0x034F, 0x061C, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180E, 0x3164, 0xFEFF),
        0xFFA0,
        *range(0x200B, 0x2010),  # zero-width space, joiners, LRM/RLM
        *range(0x202A, 0x202F),  # bidi embeddings and overrides
        *range(0x2060, 0x2070),  # word joiner, invisible operators, bidi isolates
        *range(0xFE00, 0xFE10),  # variation selectors
        *range(0xE0000, 0xE0080),  # tags
        *range(0xE0100, 0xE01F0),  # variation selectors supplement
    ]
)

#: Latin look-alikes (a subset of Unicode TR39 confusables, lower case after folding).
CONFUSABLES: dict[str, str] = {
    # Cyrillic
    "\u0430": "a", "\u0432": "b", "\u0441": "c", "\u0501": "d", "\u0435": "e",
    "\u0451": "e", "\u04bb": "h", "\u0456": "i",
    "\u0457": "i", "\u0458": "j", "\u043a": "k", "\u04cf": "l", "\u043c": "m",
    "\u043d": "h", "\u043e": "o", "\u0440": "p",
    "\u051b": "q", "\u0433": "r", "\u0455": "s", "\u0442": "t", "\u0446": "u",
    "\u0475": "v", "\u051d": "w", "\u0445": "x",
    "\u0443": "y", "\u04af": "y", "\u0437": "3", "\u044c": "b",
    # Greek
    "\u03b1": "a", "\u03b2": "b", "\u03b5": "e", "\u03b7": "n", "\u03b9": "i",
    "\u03ba": "k", "\u03bd": "v", "\u03bf": "o",
    "\u03c1": "p", "\u03c4": "t", "\u03c5": "u", "\u03c7": "x", "\u03b3": "y",
    "\u03c9": "w", "\u03c2": "c",
    # Latin extensions and symbols that survive NFKD
    "\u0131": "i", "\u0237": "j", "\u0251": "a", "\u0261": "g", "\u0269": "i",
    "\u026a": "i", "\u0280": "r", "\u028f": "y",
    "\u1d00": "a", "\u1d04": "c", "\u1d05": "d", "\u1d07": "e", "\u1d0b": "k",
    "\u1d0d": "m", "\u1d0f": "o", "\u1d18": "p",
    "\u1d1b": "t", "\u1d1c": "u", "\u1d20": "v", "\u1d21": "w", "\u1d22": "z",
    "\u2113": "l", "\u00f8": "o", "\u0111": "d",
    "\u0142": "l", "\u00df": "ss", "\u00e6": "ae", "\u0153": "oe",
}  # fmt: skip

#: Leetspeak substitutions (only applied to the ``leet`` variant, never to PII).
LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "@": "a", "$": "s",
     "|": "l", "!": "i", "+": "t", "(": "c"}
)  # fmt: skip


class _SkeletonTable(dict[int, Any]):
    """``str.translate`` table computed per code point on first use and cached.

    ``translate`` runs in C and calls :meth:`__missing__` once per distinct character, so
    normalising is linear in the text and costs Python work only for new characters.
    """

    def __missing__(self, code: int) -> str | None:
        value = _skeleton_char(code)
        if len(self) < 200_000:  # bounded cache: an adversary may send every code point
            self[code] = value
        return value


def _skeleton_char(code: int) -> str | None:
    if code in INVISIBLE:
        return None
    char = chr(code)
    if code < 0x80:
        return char.lower()
    decomposed = unicodedata.normalize("NFKD", char)
    out = []
    for part in decomposed:
        if unicodedata.combining(part):
            continue
        folded = part.casefold()
        out.append("".join(CONFUSABLES.get(c, c) for c in folded))
    return "".join(out)


_TABLE = _SkeletonTable()
#: Python's ``re`` is linear on single character classes.


def _ranges(codes: frozenset[int]) -> str:
    """A regex character class of ``codes`` as ranges (a class of hundreds of single
    characters makes ``re`` test each in turn)."""
    ordered = sorted(codes)
    out, start, previous = [], ordered[0], ordered[0]
    for code in [*ordered[1:], -1]:
        if code != previous + 1:
            out.append(
                re.escape(chr(start)) + ("-" + re.escape(chr(previous)) if previous > start else "")
            )
            start = code
        previous = code
    return "[" + "".join(out) + "]"


_INVISIBLE_CHARS = re.compile(_ranges(INVISIBLE))
_NON_ASCII_RUNS = re.compile("([^\x00-\x7f]+)")


def skeleton(text: str) -> str:
    """The matching form of ``text``: invisibles dropped, NFKD, marks off, confusables
    mapped, case-folded (see the module docstring).

    ``translate`` looks every non-ASCII character up in a Python mapping (~0.3 us each);
    ASCII maps to its lower case, so only the non-ASCII runs go through the table, after
    invisible characters (the commonest padding of a disguised attack) are cut out in C.
    """
    if text.isascii():
        return text.lower()
    text = _INVISIBLE_CHARS.sub("", text)
    if text.isascii():
        return text.lower()
    parts = _NON_ASCII_RUNS.split(text)
    parts[0::2] = [part.lower() for part in parts[0::2]]
    parts[1::2] = [part.translate(_TABLE) for part in parts[1::2]]
    return "".join(parts)


class _LengthTable(dict[int, str]):
    """``str.translate`` table: a character -> ``chr`` of its skeleton's length."""

    def __missing__(self, code: int) -> str:
        mapped = _TABLE[code]
        value = chr(len(mapped) if mapped else 0)  # NFKD expands a character to 18 at most
        if len(self) < 200_000:
            self[code] = value
        return value


_LENGTHS = _LengthTable()


def offset_map(text: str) -> list[int]:
    """For each character of ``skeleton(text)``, the index of the original character it
    came from (one extra entry at the end maps the skeleton's end to ``len(text)``).

    ASCII maps one to one; otherwise each character's skeleton length comes from one
    ``translate`` (C) and NumPy repeats the indices, so no Python loop runs per character.
    """
    if text.isascii():
        return list(range(len(text) + 1))
    import numpy as np

    lengths = np.frombuffer(text.translate(_LENGTHS).encode("latin-1"), dtype=np.uint8)
    origin: list[int] = np.repeat(np.arange(len(text)), lengths).tolist()
    origin.append(len(text))
    return origin


def leet(text: str) -> str:
    """Leetspeak undone: ``1gn0r3`` -> ``ignore`` (for an already case-folded skeleton)."""
    return text.translate(LEET)


def rot13(text: str) -> str:
    """ROT13 of the ASCII letters of ``text``."""
    return codecs.encode(text, "rot13")


#: Python's ``re`` is linear on single character classes; these pre-checks keep the
#: per-character Python loops below off ordinary text (they cost ~0.2 ms per 1 KB).
_TAG_RUN = re.compile("[\U000e0020-\U000e007e]+")
_GREEK_CYRILLIC = re.compile("[\u0370-\u04ff]")


def tag_payload(text: str) -> str:
    """The ASCII hidden in Unicode tag characters (U+E0020-U+E007E), in order."""
    if text.isascii():
        return ""
    runs = _TAG_RUN.findall(text)
    if not runs:
        return ""
    # U+E00xx is ``xx 00 0e 00`` in UTF-32-LE: every fourth byte is the hidden ASCII.
    return "".join(runs).encode("utf-32-le")[0::4].decode("ascii")


def invisible_count(text: str) -> int:
    """How many invisible characters (see :data:`INVISIBLE`) ``text`` holds."""
    return 0 if text.isascii() else len(_INVISIBLE_CHARS.findall(text))


def mixed_script_words(text: str, limit: int = 1000) -> int:
    """Words mixing Latin letters with Cyrillic or Greek ones (homoglyph disguise)."""
    if text.isascii() or _GREEK_CYRILLIC.search(text) is None:
        return 0
    count = 0
    for word in text.split()[: limit * 10]:
        if word.isascii():
            continue
        latin = other = False
        for char in word:
            if "a" <= char.lower() <= "z":
                latin = True
            elif "\u0370" <= char <= "\u04ff":
                other = True
        if latin and other:
            count += 1
            if count >= limit:
                break
    return count

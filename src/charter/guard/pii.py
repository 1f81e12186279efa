"""Personal data in text: detection with checksums, for guardrails and the ``llm`` suite.

PII detectors aim at precision: each type is a regular expression followed, where the
format has one, by its checksum or registry rule, and overlapping matches are resolved in
a fixed priority order (a card number is not also reported as a phone number).

- ``email``: local part ``[A-Za-z0-9._%+-]+``, ``@``, dotted domain labels, an
  alphabetic top-level domain of 2-63 letters.
- ``credit_card``: 13-19 digits, optionally grouped by single spaces or hyphens, with a
  known issuer prefix (Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay, Maestro),
  a length valid for it and a valid Luhn checksum.
- ``iban``: 2-letter country, 2 check digits, upper-case alphanumerics (optionally in
  groups of four), the country's registered length (unlisted countries: 15-34) and
  ISO 7064 mod-97 = 1.
- ``uk_ni``: UK National Insurance number: two prefix letters (neither D, F, I, Q, U, V;
  the second not O; not BG, GB, KN, NK, NT, TN, ZZ), six digits (optionally in pairs),
  suffix A-D.
- ``us_ssn``: ``AAA-GG-SSSS`` (hyphens or spaces, the same twice), area not 000, 666 or
  9xx, group not 00, serial not 0000; nine bare digits are too ambiguous to match.
- ``ipv4``: four dot-separated octets 0-255 without leading zeros, not part of a longer
  dotted number (``1.2.3.4.5`` is a version, not an address).
- ``phone``: ``+`` and a country code with 8-15 digits in all; North American
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass


def luhn_valid(digits: str) -> bool:
    """True when the digit string passes the Luhn (mod 10) checksum."""
    if not digits.isdigit():
        return False
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _card_brand_ok(digits: str) -> bool:
    """Issuer prefix (IIN) and length rules of the major card networks."""
    n = len(digits)
    two, three, four, six = int(digits[:2]), int(digits[:3]), int(digits[:4]), int(digits[:6])
    if digits[0] == "4":  # Visa
        return n in (13, 16, 19)
    if 51 <= two <= 55 or 222100 <= six <= 272099:  # Mastercard
        return n == 16
    if two in (34, 37):  # American Express
        return n == 15
    if four == 6011 or two == 65 or 644 <= three <= 649 or 622126 <= six <= 622925:  # Discover
        return 16 <= n <= 19
    if 3528 <= four <= 3589:  # JCB
        return 16 <= n <= 19
    if 300 <= three <= 305 or two in (36, 38, 39) or four == 3095:  # Diners Club
        return 14 <= n <= 19
    if two == 62:  # UnionPay
        return 16 <= n <= 19
    if two in (50, 56, 57, 58) or four in (6304, 6759, 6761, 6762, 6763):  # Maestro
        return 12 <= n <= 19
    return False


def credit_card_valid(candidate: str) -> bool:
    """A plausible payment card number: known issuer prefix and length, Luhn-valid."""
    digits = re.sub(r"[ -]", "", candidate)
    return 13 <= len(digits) <= 19 and _card_brand_ok(digits) and luhn_valid(digits)


#: Registered IBAN lengths (SWIFT IBAN registry) of the countries most often seen.
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22,
    "BH": 22, "BR": 29, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18,
    "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22,
    "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22,
    "IL": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LI": 21,
    "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27,
    "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25,
    "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27,
    "TN": 24, "TR": 26, "UA": 29, "VG": 24, "XK": 20,
}  # fmt: skip


def iban_valid(candidate: str) -> bool:
    """Country length (when registered here, else 15-34) and ISO 7064 mod-97 checksum."""
    iban = candidate.replace(" ", "")
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", iban):
        return False
    expected = IBAN_LENGTHS.get(iban[:2])
    if expected is not None and len(iban) != expected:
        return False
    rearranged = iban[4:] + iban[:4]
    number = "".join(str(int(c, 36)) for c in rearranged)
    return int(number) % 97 == 1


def _phone_valid(candidate: str) -> bool:
    digits = re.sub(r"\D", "", candidate)
    if candidate.startswith("+"):
        return 8 <= len(digits) <= 15
    if candidate.lstrip("(").startswith("0"):
        return len(digits) in (10, 11)
    return len(digits) in (10, 11)


_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"

#: Priority order: earlier types win overlapping spans.
PII_PATTERNS: dict[str, re.Pattern[str]] = {
    "email": re.compile(
        r"(?<![\w.%+-])[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
        r"[A-Za-z]{2,63}(?![\w-])"
    ),
    "iban": re.compile(
        r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![A-Za-z0-9])"
    ),
    "credit_card": re.compile(
        r"(?<![\d-])(?:\d{4}(?:[ -]\d{4}){2}[ -]\d{1,7}"  # 4-4-4-n
        r"|\d{4}[ -]\d{6}[ -]\d{4,5}"  # Amex / Diners 4-6-5, 4-6-4
        r"|\d{13,19})(?![\d-])"
    ),
    "us_ssn": re.compile(
        r"(?<![\d-])(?!000|666|9\d\d)\d{3}([- ])(?!00)\d{2}\1(?!0000)\d{4}(?![\d-])"
    ),
    "uk_ni": re.compile(
        r"(?<![A-Za-z0-9])(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]"
        r" ?\d{2} ?\d{2} ?\d{2} ?[A-D](?![A-Za-z0-9])"
    ),
    "ipv4": re.compile(rf"(?<![\d.])(?:{_OCTET}\.){{3}}{_OCTET}(?!\d|\.\d)"),
    "phone": re.compile(
        r"(?<![\w+])(?:"
        r"\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,5}"  # international
        r"|(?:1[ .-])?(?:\([2-9]\d\d\) ?|[2-9]\d\d[ .-])[2-9]\d\d[ .-]\d{4}"  # North America
        r"|\(?0\d{2,4}\)?[ -]?\d{3,4}[ -]?\d{3,4}"  # UK national
        r")(?![\w-])"
    ),
}

_VALIDATORS: dict[str, Callable[[str], bool]] = {
    "credit_card": credit_card_valid,
    "iban": iban_valid,
    "phone": _phone_valid,
}

PII_TYPES: tuple[str, ...] = tuple(PII_PATTERNS)


@dataclass(frozen=True)
class PIIMatch:
    """One detected item: its type and character span (the text is not kept in results)."""

    type: str
    start: int
    end: int


def find_pii(text: str, types: Sequence[str] = PII_TYPES) -> list[PIIMatch]:
    """Every PII item in ``text``, in text order, without overlaps (priority: PII_TYPES)."""
    taken: list[tuple[int, int]] = []
    found: list[PIIMatch] = []
    for kind in PII_TYPES:
        if kind not in types:
            continue
        validator = _VALIDATORS.get(kind)
        for match in PII_PATTERNS[kind].finditer(text):
            start, end = match.span()
            if validator is not None and not validator(match.group(0)):
                continue
            if any(start < b and a < end for a, b in taken):
                continue
            taken.append((start, end))
            found.append(PIIMatch(kind, start, end))
    found.sort(key=lambda m: m.start)
    return found

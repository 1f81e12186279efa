"""Personal data in text: detection with checksums and numbering plans, and redaction.

Candidates are found by RE2 patterns (linear time on any input); each is then validated
by the rule of its format, with maintained libraries where one exists:

- ``email``: local part, ``@``, dotted domain labels, an alphabetic top-level domain.
- ``phone``: a digit run with ``+``, brackets or separators, parsed and validated against
  the real numbering plans by ``phonenumbers`` (Google's libphonenumber metadata):
  international ``+CC`` numbers in any country, national formats for the ``regions``
  setting (default US and GB). Dates, ISBNs, versions and short runs fail validation.
- ``credit_card``: 13-19 digits (grouped by spaces or hyphens or not), a known issuer
  prefix (IIN) with a length valid for it, and the Luhn checksum (``stdnum.luhn``).
- ``iban``: country code, check digits and BBAN, validated by ``stdnum.iban`` (the
  country's registered BBAN format and length, then ISO 7064 mod 97-10; national
  bank-code registries are not consulted, they go stale).
- ``us_ssn``: ``AAA-GG-SSSS`` (hyphens, or spaces, the same twice) validated by
  ``stdnum.us.ssn``: area not 000, 666 or 900-999, group not 00, serial not 0000, and not
  one of the numbers the SSA voided after they were published (078-05-1120...).
- ``uk_ni``: UK National Insurance number (prefix letters as HMRC allocates them).
- ``ipv4`` / ``ipv6``: addresses validated by :mod:`ipaddress` (no leading zeros, not a
  piece of a longer dotted version number).

Why these libraries: ``phonenumbers`` is the only maintained source of every country's
numbering plan (a regex cannot tell a valid Swiss mobile from a random digit run);
``python-stdnum`` implements IBAN (with per-country BBAN formats), Luhn and SSN rules in
pure Python with no dependencies, which matters in serving processes. ``schwifty`` would
add bank registries we do not need, and more dependencies.

Names and postal addresses need a model or a gazetteer, not a pattern: they are the
pluggable part (:class:`Recognizer`); pass recognizers to :class:`~charter.guard.
scanners.pii.PIIScanner` from a plugin. Overlapping matches are resolved in a fixed
priority order (:data:`PII_TYPES`): a card number is not also reported as a phone.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import re2

#: Detected types in priority order: earlier types win overlapping spans.
PII_TYPES: tuple[str, ...] = (
    "email",
    "iban",
    "credit_card",
    "us_ssn",
    "uk_ni",
    "ipv4",
    "ipv6",
    "phone",
)

#: Regions whose national phone formats are recognised without a ``+`` country code.
DEFAULT_PHONE_REGIONS: tuple[str, ...] = ("US", "GB")


@dataclass(frozen=True)
class PIIMatch:
    """One detected item: its type and character span (the text is not kept in results)."""

    type: str
    start: int
    end: int


class Recognizer(Protocol):
    """A pluggable detector (names, addresses...): the types it finds and ``find``."""

    types: tuple[str, ...]

    def find(self, text: str) -> Iterable[PIIMatch]:
        """Every item in ``text``."""
        ...


def luhn_valid(digits: str) -> bool:
    """True when the digit string passes the Luhn (mod 10) checksum."""
    from stdnum import luhn

    return digits.isascii() and digits.isdigit() and luhn.is_valid(digits)


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
    digits = candidate.replace(" ", "").replace("-", "")
    return (
        13 <= len(digits) <= 19
        and digits.isascii()
        and digits.isdigit()
        and _card_brand_ok(digits)
        and luhn_valid(digits)
    )


def iban_valid(candidate: str) -> bool:
    """Upper-case IBAN whose BBAN format, length and mod-97 check ``stdnum.iban`` accepts."""
    from stdnum import iban

    compact = candidate.replace(" ", "")
    # check_country=False: the country's BBAN format and length, and mod 97, are checked;
    # the national bank-code registries (which go stale) are not.
    if not (compact.isascii() and compact.isupper()):
        return False
    return bool(iban.is_valid(compact, check_country=False))


def ssn_valid(candidate: str) -> bool:
    """A US SSN in an issued range and not a voided number (``stdnum.us.ssn``)."""
    from stdnum.us import ssn

    separators = {c for c in candidate if not c.isdigit()}
    return len(separators) <= 1 and bool(ssn.is_valid(candidate.replace(" ", "-")))


_NI_BAD_PREFIX = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})


def uk_ni_valid(candidate: str) -> bool:
    """HMRC's allocation rules for National Insurance number prefixes."""
    compact = candidate.replace(" ", "")
    return compact[:2] not in _NI_BAD_PREFIX


def ipv4_valid(candidate: str) -> bool:
    """Four octets 0-255 without leading zeros."""
    try:
        ipaddress.IPv4Address(candidate)
    except ValueError:
        return False
    return True


def ipv6_valid(candidate: str) -> bool:
    """A valid IPv6 address with at least two groups spelt out."""
    if candidate.count(":") < 2 or sum(c.isalnum() for c in candidate) < 3:
        return False
    try:
        ipaddress.IPv6Address(candidate)
    except ValueError:
        return False
    return True


_IP_SHAPED = re2.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")


class PhoneValidator:
    """Phone numbers validated by ``phonenumbers`` for the given national regions."""

    def __init__(self, regions: Sequence[str] = DEFAULT_PHONE_REGIONS) -> None:
        self.regions = tuple(regions)

    @staticmethod
    def _national_prefix_ok(candidate: str, region: str) -> bool:
        """A national number is written with its trunk prefix where the prefix is ``0``
        (GB ``020 ...``); the parser is lenient about it, which would read
        ``(123) 555-2671`` as a UK number."""
        import phonenumbers

        prefix = phonenumbers.ndd_prefix_for_region(region, True)
        if prefix != "0":
            return True
        return candidate.lstrip("( ").startswith("0")

    def __call__(self, candidate: str) -> bool:
        import phonenumbers

        digits = sum(c.isdigit() for c in candidate)
        if not 7 <= digits <= 15 or _IP_SHAPED.fullmatch(candidate):
            return False  # four dotted groups of 1-3 digits: an (invalid) address
        regions: Sequence[str | None] = [None] if candidate.startswith("+") else self.regions
        for region in regions:
            try:
                number = phonenumbers.parse(candidate, region)
            except phonenumbers.NumberParseException:
                continue
            if region is not None and not self._national_prefix_ok(candidate, region):
                continue
            if phonenumbers.is_valid_number(number):
                return True
        return False


_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"

#: Candidate patterns (RE2). Boundaries RE2 cannot express (look-behind) are checked
#: on the characters around each match by :func:`_isolated`.
PATTERNS: dict[str, Any] = {
    "email": re2.compile(
        r"[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
    ),
    "iban": re2.compile(r"\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b"),
    "credit_card": re2.compile(
        r"\b(?:[0-9]{4}(?:[ -][0-9]{4}){2}[ -][0-9]{1,7}|[0-9]{4}[ -][0-9]{6}[ -][0-9]{4,5}"
        r"|[0-9]{13,19})\b"
    ),
    "us_ssn": re2.compile(r"\b[0-9]{3}-[0-9]{2}-[0-9]{4}\b|\b[0-9]{3} [0-9]{2} [0-9]{4}\b"),
    "uk_ni": re2.compile(
        r"\b[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-D]\b"
    ),
    "ipv4": re2.compile(rf"\b(?:{_OCTET}\.){{3}}{_OCTET}\b"),
    "ipv6": re2.compile(r"(?i)(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}"),
    # International numbers first (leftmost-first alternation): ``+CC`` then digit groups
    # of any length the plans use (``+33 1 23 45 67 89``, ``+49 30 123456``), which
    # ``phonenumbers`` then validates; then national formats.
    "phone": re2.compile(
        r"\+[0-9]{1,3}(?:[ .-]?\(?[0-9]{1,6}\)?){1,6}"
        r"|(?:\([0-9]{1,4}\)[ .-]?)?[0-9]{2,6}(?:[ .-][0-9]{2,6}){1,4}"
        r"|\([0-9]{3}\) ?[0-9]{3}-[0-9]{4}"
    ),
}

#: Characters that must not touch a match on either side (it would be part of a longer
#: token: an e-mail inside a path, a number inside a longer number or version).
_NEIGHBOURS: dict[str, tuple[str, str]] = {
    "email": ("\\w.%+-", "\\w-"),
    "credit_card": ("\\d+-", "\\d-"),  # "+4915..." is a phone number, not a card
    "us_ssn": ("\\d-", "\\d-"),
    "ipv4": ("\\d.", "\\d"),
    "ipv6": ("\\w:", "\\w:"),
    "phone": ("\\w+", "\\w-"),
}


def _touches(char: str, spec: str) -> bool:
    if "\\w" in spec and (char.isalnum() or char == "_"):
        return True
    if "\\d" in spec and char.isdigit():
        return True
    return char in spec.replace("\\w", "").replace("\\d", "")


def _isolated(kind: str, text: str, start: int, end: int) -> bool:
    before, after = _NEIGHBOURS.get(kind, ("", ""))
    if start > 0 and before and _touches(text[start - 1], before):
        return False
    if end < len(text) and after and _touches(text[end], after):
        # "1.2.3.4.5" is a version: a dot followed by a digit continues the token.
        return False
    dotted = end + 1 < len(text) and text[end] == "." and text[end + 1].isdigit()
    return not (kind == "ipv4" and dotted)


class PIIDetector:
    """Finds PII of the chosen types; ``recognizers`` add types (names, addresses...)."""

    def __init__(
        self,
        types: Sequence[str] = PII_TYPES,
        *,
        phone_regions: Sequence[str] = DEFAULT_PHONE_REGIONS,
        recognizers: Sequence[Recognizer] = (),
    ) -> None:
        self.types = tuple(types)
        self.recognizers = tuple(recognizers)
        self._validators: dict[str, Callable[[str], bool]] = {
            "credit_card": credit_card_valid,
            "iban": iban_valid,
            "us_ssn": ssn_valid,
            "uk_ni": uk_ni_valid,
            "ipv4": ipv4_valid,
            "ipv6": ipv6_valid,
            "phone": PhoneValidator(phone_regions),
        }

    def find(self, text: str) -> list[PIIMatch]:
        """Every item in ``text``, in text order, without overlaps (priority: PII_TYPES)."""
        taken: list[tuple[int, int]] = []
        found: list[PIIMatch] = []

        def overlaps(start: int, end: int) -> bool:
            return any(start < b and a < end for a, b in taken)

        for kind in PII_TYPES:
            if kind not in self.types:
                continue
            validator = self._validators.get(kind)
            for match in PATTERNS[kind].finditer(text):
                start, end = match.span()
                candidate = match.group(0)
                if kind == "phone":  # a trailing separator is not part of the number
                    candidate = candidate.rstrip(" .-")
                    end = start + len(candidate)
                if not _isolated(kind, text, start, end) or overlaps(start, end):
                    continue
                if validator is not None and not validator(candidate):
                    continue
                taken.append((start, end))
                found.append(PIIMatch(kind, start, end))
        for recognizer in self.recognizers:
            for item in recognizer.find(text):
                if not overlaps(item.start, item.end):
                    taken.append((item.start, item.end))
                    found.append(item)
        found.sort(key=lambda m: m.start)
        return found


_DEFAULT = PIIDetector()


def find_pii(text: str, types: Sequence[str] = PII_TYPES) -> list[PIIMatch]:
    """Every PII item in ``text``, in text order, without overlaps (priority: PII_TYPES)."""
    if tuple(types) == PII_TYPES:
        return _DEFAULT.find(text)
    return PIIDetector(types).find(text)

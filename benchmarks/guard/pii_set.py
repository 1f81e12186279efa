"""Generated text with known PII spans: valid items of every type, near-misses, distractors.

Every record is a sentence from a template with slots filled by generated values; the
gold spans are where the *valid* values went. Invalid values of the same shapes (a card
with a wrong Luhn digit, an IBAN with wrong check digits, an SSN in a range the SSA never
issues, an address octet over 255...) and look-alikes (dates, versions, order numbers,
ISBNs, hashes) fill other slots and count against precision when reported. Phone numbers
are real numbering-plan numbers (``phonenumbers``' example numbers with the subscriber
digits varied and re-validated) in international format for ten regions, and in national
format for the US and GB (the regions the scanner reads without ``+``). Deterministic
for a seed; stdlib and ``phonenumbers`` only, so the peer process can build it too.
"""

from __future__ import annotations

import random
import string
from typing import Any

#: Entity types scored, with the name each tool reports them under.
TYPES = ("email", "phone", "credit_card", "iban", "us_ssn", "uk_ni", "ip_address")

_TEMPLATES = (
    "Please contact me at {} about the invoice.",
    "My details: {} (call after 6pm).",
    "The customer wrote: refund to {} as soon as possible.",
    "Reference {} was flagged in the log at 10:42.",
    "Can you update the record to {} and confirm?",
    "Forwarded message - {} - see attached.",
    "{} is what I typed into the form yesterday.",
    "Ticket 4471: user supplied {} and then {}.",
)
_DISTRACTORS = (
    "2024-03-15",
    "15/03/2024",
    "v3.11.7",
    "1.2.3.4.5",
    "order #12345678",
    "ISBN 978-3-16-148410-0",
    "9f86d081884c7d659a2feaa0c55ad015",
    "+5%",
    "12:30:45",
    "SW1A 1AA",
    "10001",
    "3.14159",
    "192.168",
    "$1,299.00",
)
_NAMES = ("ann", "bo", "carla.mendez", "d_o'neil", "eve+news", "f.x.li", "grace99")
_DOMAINS = ("example.com", "mail.example.org", "uni.example.ac.uk", "example.io")
_PHONE_REGIONS = ("US", "GB", "DE", "FR", "IN", "JP", "BR", "AU", "CH", "ZA")
_NI_PREFIXES = ("AB", "CE", "JG", "PR", "SH", "WY", "ZA")
_NI_BAD = ("BG", "GB", "NK", "KN", "TN", "NT", "ZZ", "DA", "QQ")


def _luhn_digit(body: str) -> str:
    total = 0
    for i, char in enumerate(reversed(body)):
        digit = int(char) * (2 if i % 2 == 0 else 1)
        total += digit - 9 if digit > 9 else digit
    return str((10 - total % 10) % 10)


def _card(rng: random.Random, valid: bool) -> str:
    prefix, length = rng.choice((("4", 16), ("51", 16), ("55", 16), ("37", 15), ("6011", 16)))
    body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    check = _luhn_digit(body)
    if not valid:
        check = str((int(check) + rng.randint(1, 9)) % 10)
    digits = body + check
    style = rng.choice(("space", "hyphen", "none"))
    if style == "none":
        return digits
    sep = " " if style == "space" else "-"
    groups = [digits[i : i + 4] for i in range(0, len(digits), 4)]
    if length == 15:
        groups = [digits[:4], digits[4:10], digits[10:]]
    return sep.join(groups)


def _iban(rng: random.Random, valid: bool) -> str:
    country, bban = rng.choice(
        (
            ("DE", "".join(rng.choice(string.digits) for _ in range(18))),
            ("GB", "".join(rng.choice("ABCDNWLY") for _ in range(4)) + _digits(rng, 14)),
            ("NL", "".join(rng.choice("ABINRG") for _ in range(4)) + _digits(rng, 10)),
            ("CH", _digits(rng, 5) + _digits(rng, 12)),
        )
    )
    numeric = "".join(str(int(c, 36)) for c in bban + country + "00")
    check = 98 - int(numeric) % 97
    if not valid:
        check = (check + rng.randint(1, 50)) % 97 + 2
    compact = f"{country}{check:02d}{bban}"
    if rng.random() < 0.5:
        return compact
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


def _ssn(rng: random.Random, valid: bool) -> str:
    if valid:
        area = rng.choice([a for a in range(1, 900) if a != 666])
        group, serial = rng.randint(1, 99), rng.randint(1, 9999)
    else:
        area, group, serial = rng.choice(
            (
                (0, rng.randint(1, 99), rng.randint(1, 9999)),
                (666, rng.randint(1, 99), rng.randint(1, 9999)),
                (rng.randint(900, 999), rng.randint(1, 99), rng.randint(1, 9999)),
                (rng.randint(1, 665), 0, rng.randint(1, 9999)),
                (rng.randint(1, 665), rng.randint(1, 99), 0),
            )
        )
    return f"{area:03d}-{group:02d}-{serial:04d}"


def _ni(rng: random.Random, valid: bool) -> str:
    prefix = rng.choice(_NI_PREFIXES if valid else _NI_BAD)
    digits = _digits(rng, 6)
    suffix = rng.choice("ABCD")
    if rng.random() < 0.5:
        return f"{prefix}{digits}{suffix}"
    return f"{prefix} {digits[:2]} {digits[2:4]} {digits[4:]} {suffix}"


def _ip(rng: random.Random, valid: bool) -> str:
    if rng.random() < 0.7:
        octets = [
            rng.randint(1, 223),
            rng.randint(0, 255),
            rng.randint(0, 255),
            rng.randint(1, 254),
        ]
        if not valid:
            octets[rng.randrange(4)] = rng.randint(256, 999)
        return ".".join(map(str, octets))
    groups = [f"{rng.randint(0, 0xFFFF):x}" for _ in range(8)]
    if not valid:
        groups[rng.randrange(8)] = "g" + groups[0][:2]
    if valid and rng.random() < 0.5:
        return f"2001:db8::{groups[6]}:{groups[7]}"
    return ":".join(groups)


def _email(rng: random.Random, valid: bool) -> str:
    name, domain = rng.choice(_NAMES), rng.choice(_DOMAINS)
    if valid:
        return f"{name}@{domain}"
    return rng.choice((f"{name}@", f"{name}@@{domain}", f"{name} at {domain}", f"@{domain}"))


def _phone(rng: random.Random, valid: bool) -> str:
    import phonenumbers

    region = rng.choice(_PHONE_REGIONS)
    kind = rng.choice(
        (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE)
    )
    example = phonenumbers.example_number_for_type(region, kind)
    assert example is not None
    national = str(example.national_number)
    for _ in range(50):  # vary the subscriber digits (and, for invalid ones, the length)
        tail = _digits(rng, 4 if valid else rng.choice((1, 2, 7, 8)))
        number = phonenumbers.parse(f"+{example.country_code}{national[:-4]}{tail}")
        if phonenumbers.is_valid_number(number) == valid:
            break
    else:
        return rng.choice(_DISTRACTORS)
    national_ok = region in ("US", "GB") and rng.random() < 0.5
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if national_ok
        else rng.choice(
            (phonenumbers.PhoneNumberFormat.INTERNATIONAL, phonenumbers.PhoneNumberFormat.E164)
        )
    )
    return phonenumbers.format_number(number, style)


_MAKERS = {
    "email": _email,
    "phone": _phone,
    "credit_card": _card,
    "iban": _iban,
    "us_ssn": _ssn,
    "uk_ni": _ni,
    "ip_address": _ip,
}


def build(n: int = 1400, seed: int = 7) -> list[dict[str, Any]]:
    """``n`` records ``{"text", "spans": [{"type", "start", "end"}]}``: about half the
    slots hold a valid item of a random type, a quarter an invalid one, a quarter a
    distractor."""
    rng = random.Random(seed)
    records = []
    for index in range(n):
        template = _TEMPLATES[index % len(_TEMPLATES)]
        text, spans = "", []
        pieces = template.split("{}")
        for i, piece in enumerate(pieces):
            text += piece
            if i == len(pieces) - 1:
                break
            roll = rng.random()
            kind = TYPES[(index + i) % len(TYPES)]
            if roll < 0.55:
                value = _MAKERS[kind](rng, True)
                spans.append({"type": kind, "start": len(text), "end": len(text) + len(value)})
            elif roll < 0.8:
                value = _MAKERS[kind](rng, False)
            else:
                value = rng.choice(_DISTRACTORS)
            text += value
        records.append({"text": text, "spans": spans})
    return records


def score(
    records: list[dict[str, Any]], predicted: list[list[dict[str, Any]]]
) -> dict[str, dict[str, float]]:
    """Precision, recall and F1 per type: a prediction is a true positive when it overlaps
    a gold span of the same type not already matched."""
    counts = {t: {"tp": 0, "fp": 0, "fn": 0} for t in TYPES}
    for record, found in zip(records, predicted, strict=True):
        gold = [dict(s, used=False) for s in record["spans"]]
        for item in found:
            if item["type"] not in counts:
                continue
            match = next(
                (
                    g
                    for g in gold
                    if not g["used"]
                    and g["type"] == item["type"]
                    and item["start"] < g["end"]
                    and g["start"] < item["end"]
                ),
                None,
            )
            if match is None:
                counts[item["type"]]["fp"] += 1
            else:
                match["used"] = True
                counts[item["type"]]["tp"] += 1
        for g in gold:
            if not g["used"]:
                counts[g["type"]]["fn"] += 1
    out = {}
    for kind, c in counts.items():
        precision = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else float("nan")
        recall = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else float("nan")
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out[kind] = {"precision": precision, "recall": recall, "f1": f1, "n": c["tp"] + c["fn"]}
    return out

"""Personal-data detection (``charter.guard.pii``): known spans, checksums, near misses."""

from __future__ import annotations

import pytest

from charter.guard.pii import credit_card_valid, find_pii, iban_valid, luhn_valid

PII_POSITIVES = [
    ("email", "write to jane.doe+news@example.co.uk today"),
    ("email", "contact: a_b@sub.example.org."),
    ("credit_card", "card 4111 1111 1111 1111 on file"),
    ("credit_card", "mastercard 5555-5555-5555-4444"),
    ("credit_card", "amex 378282246310005"),
    ("credit_card", "amex grouped 3782 822463 10005"),
    ("iban", "pay to GB82WEST12345698765432 please"),
    ("iban", "IBAN DE89 3704 0044 0532 0130 00"),
    ("iban", "Belgian BE68539007547034"),
    ("uk_ni", "NI number AB123456C"),
    ("uk_ni", "NI: JG 10 37 52 A"),
    ("us_ssn", "SSN 536-22-1234"),
    ("us_ssn", "ssn 219 09 9998"),
    ("ipv4", "from 203.0.113.42."),
    ("ipv4", "host 10.0.0.255:8080"),
    ("phone", "call +44 20 7946 0958"),
    ("phone", "call (415) 555-2671"),
    ("phone", "call 415-555-2671 now"),
    ("phone", "ring 020 7946 0958"),
    ("phone", "+1 212 555 0100"),
]

PII_NEGATIVES = [
    ("email", "user@localhost"),
    ("email", "@handle and name@domain"),
    ("email", "a@b.c"),
    ("credit_card", "4111 1111 1111 1112"),  # Luhn fails
    ("credit_card", "1234 5678 9012 3452"),  # Luhn-valid but no issuer starts with 1
    ("credit_card", "order 4111111111111"),  # Visa prefix, Luhn fails at 13 digits
    ("iban", "GB82WEST12345698765431"),  # mod-97 fails
    ("iban", "GB82WEST1234569876543"),  # one character short for GB
    ("iban", "gb82west12345698765432"),  # lower case
    ("uk_ni", "QQ123456C"),  # Q is not a valid prefix letter (the format's sample)
    ("uk_ni", "GB123456A"),  # excluded prefix
    ("uk_ni", "AB123456E"),  # suffix must be A-D
    ("uk_ni", "AO123456A"),  # second letter O is not used
    ("us_ssn", "000-12-3456"),
    ("us_ssn", "078-05-1120"),  # voided by the SSA after it was printed in wallets
    ("us_ssn", "219-09-9999"),  # voided: the SSA pamphlet example
    ("us_ssn", "666-12-3456"),
    ("us_ssn", "912-12-3456"),
    ("us_ssn", "123-00-4567"),
    ("us_ssn", "123-45-0000"),
    ("us_ssn", "123456789"),
    ("us_ssn", "123-45 6789"),  # mixed separators
    ("ipv4", "256.1.1.1"),
    ("ipv4", "version 1.2.3.4.5"),
    ("ipv4", "1.2.3"),
    ("ipv4", "01.02.03.04"),
    ("phone", "on 2024-01-15"),
    ("phone", "call 555-1234"),  # no area code
    ("phone", "ISBN 978-3-16-148410-0"),
    ("phone", "order 12345678"),
    ("phone", "(123) 555-2671"),  # area codes do not start with 1
    ("phone", "+12 34"),  # too few digits
]


@pytest.mark.parametrize(("kind", "text"), PII_POSITIVES)
def test_pii_detectors_find(kind: str, text: str) -> None:
    found = find_pii(text)
    assert [m.type for m in found] == [kind], found


@pytest.mark.parametrize(("kind", "text"), PII_NEGATIVES)
def test_pii_detectors_ignore_near_misses(kind: str, text: str) -> None:
    assert [m.type for m in find_pii(text) if m.type == kind] == []


def test_pii_checksums_and_priority() -> None:
    assert luhn_valid("79927398713") and not luhn_valid("79927398710")
    assert not luhn_valid("12a4")
    assert credit_card_valid("4012-8888-8888-1881")
    assert not credit_card_valid("4012-8888-8888-1882")
    assert iban_valid("FR14 2004 1010 0505 0001 3M02 606")
    assert not iban_valid("XX00")
    # A card number is not also a phone; each item is counted once.
    text = "card 4111 1111 1111 1111, mail bob@example.com, ip 192.0.2.1"
    assert [m.type for m in find_pii(text)] == ["credit_card", "email", "ipv4"]
    assert [m.type for m in find_pii(text, types=["ipv4"])] == ["ipv4"]

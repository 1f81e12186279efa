"""Sentence splitting and chunking of the grounding scorer (``charter.guard.grounding``)."""

from __future__ import annotations

from charter.guard.grounding import split_sentences


def test_split_sentences() -> None:
    text = 'It costs 3.5 EUR, e.g. at the kiosk. Dr. Al said "no." Then:\n\n- one\n- two'
    assert split_sentences(text) == [
        "It costs 3.5 EUR, e.g. at the kiosk.",
        'Dr. Al said "no."',
        "Then:",
        "one",
        "two",
    ]
    assert split_sentences("") == []
    assert split_sentences(" ... ") == []

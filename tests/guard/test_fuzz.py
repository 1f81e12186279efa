"""Scanners never crash and stay linear on any input (hypothesis, huge and hostile texts)."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from charter.guard import DEFAULT_CONFIG, Guard, ScanContext

GUARD = Guard.from_config(DEFAULT_CONFIG)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=2000), st.sampled_from(["input", "output"]))
def test_any_text_gets_a_verdict(text: str, stage: str) -> None:
    outcome = GUARD.scan(text, stage, ScanContext(system_prompt=text[:50], canaries=("x",)))  # type: ignore[arg-type]
    assert all(f.result.verdict != "error" for f in outcome.findings), outcome
    assert isinstance(outcome.text, str)


@pytest.mark.parametrize(
    "text",
    [
        "a" * 1_000_000,
        "\u0301" * 200_000,  # only combining marks
        "e" + "\u0301\u0302\u0303" * 100_000,
        "@" * 500_000 + "a",
        "1-" * 300_000,
        "A" * 400_000 + "==",
        "\x00\xff\ud7ff" * 100_000,
        "ignore " * 150_000,
    ],
    ids=["letters", "marks", "zalgo", "ats", "digits", "base64ish", "binary", "repeated"],
)
def test_pathological_inputs_finish(text: str) -> None:
    start = time.perf_counter()
    outcome = GUARD.scan(text)
    assert all(f.result.verdict != "error" for f in outcome.findings)
    assert time.perf_counter() - start < 30  # generous: linear work, not a timing test


def test_ten_megabytes() -> None:
    text = ("The quick brown fox jumps over the lazy dog. " * 230_000)[:10_000_000]
    outcome = GUARD.scan(text)
    assert not outcome.blocked

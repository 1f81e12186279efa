"""Alert hysteresis: open after N breaching windows, close after M clean ones."""

from __future__ import annotations

import pytest

from charter.domain.errors import BadInput
from charter.monitoring import AlertState, HysteresisPolicy, dedup_key, step


def _run(policy: HysteresisPolicy, windows: list[tuple[bool | None, int]]) -> list[str]:
    state, events = AlertState(), []
    for breached, n in windows:
        state, transition = step(policy, state, breached=breached, n=n)
        events.append(transition)
        assert AlertState.from_dict(state.to_dict()) == state
    return events


def test_opens_after_n_breaches_and_closes_after_m_clean_windows() -> None:
    policy = HysteresisPolicy(open_after=2, close_after=3, min_sample=10)
    events = _run(
        policy,
        [
            (True, 50),
            (False, 50),
            (True, 50),
            (True, 50),
            (True, 50),
            (False, 50),
            (True, 50),
            (False, 50),
            (False, 50),
            (False, 50),
            (False, 50),
        ],
    )
    assert events == [
        "none",
        "none",
        "none",
        "opened",
        "none",
        "none",
        "none",
        "none",
        "none",
        "closed",
        "none",
    ]


def test_small_or_undecided_windows_count_as_neither() -> None:
    policy = HysteresisPolicy(open_after=2, close_after=1, min_sample=100)
    events = _run(policy, [(True, 500), (True, 5), (None, 500), (True, 500), (False, 99)])
    assert events == ["none", "none", "none", "opened", "none"]


def test_dedup_key_is_stable_and_distinguishes_subjects() -> None:
    key = dedup_key(system="credit", environment="prod", monitor="drift", subject="car_value")
    assert key == dedup_key(
        system="credit", environment="prod", monitor="drift", subject="car_value"
    )
    assert key != dedup_key(system="credit", environment="prod", monitor="drift", subject="age")
    assert len(key) == 64


def test_bad_policy_and_state_are_refused() -> None:
    with pytest.raises(BadInput):
        HysteresisPolicy(open_after=0)
    with pytest.raises(BadInput):
        AlertState.from_dict({"open": True})

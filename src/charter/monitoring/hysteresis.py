"""Alert hysteresis as a pure state machine, and the key that de-duplicates alerts.

One breaching window is often noise; an alert that flaps open and shut on every other
window is ignored. An alert therefore opens only after ``open_after`` consecutive
breaching windows and closes only after ``close_after`` consecutive clean ones. A window
with fewer than ``min_sample`` rows, or with no verdict (insufficient data), counts as
neither: it leaves both streaks where they were.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

from charter.domain.canonical import content_digest
from charter.domain.errors import BadInput

Transition = Literal["opened", "closed", "none"]


@dataclass(frozen=True, kw_only=True)
class HysteresisPolicy:
    """How many windows open and close an alert, and the smallest window that counts."""

    open_after: int = 3
    close_after: int = 3
    min_sample: int = 100

    def __post_init__(self) -> None:
        if self.open_after < 1 or self.close_after < 1 or self.min_sample < 0:
            raise BadInput("open_after and close_after must be >= 1, min_sample >= 0")


@dataclass(frozen=True)
class AlertState:
    """Where one monitored subject stands; store it between windows."""

    open: bool = False
    breaching_streak: int = 0
    clean_streak: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AlertState:
        """Inverse of :meth:`to_dict`."""
        try:
            state = cls(
                bool(data["open"]), int(data["breaching_streak"]), int(data["clean_streak"])
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BadInput(f"malformed alert state: {exc}") from exc
        if state.breaching_streak < 0 or state.clean_streak < 0:
            raise BadInput("malformed alert state: negative streak")
        return state


def step(
    policy: HysteresisPolicy, state: AlertState, *, breached: bool | None, n: int
) -> tuple[AlertState, Transition]:
    """Advance by one window: ``breached`` is the window's verdict (None when there was
    none) and ``n`` its size. Returns the new state and what happened to the alert."""
    if breached is None or n < policy.min_sample:
        return state, "none"
    if breached:
        streak = state.breaching_streak + 1
        if not state.open and streak >= policy.open_after:
            return AlertState(True, streak, 0), "opened"
        return replace(state, breaching_streak=streak, clean_streak=0), "none"
    streak = state.clean_streak + 1
    if state.open and streak >= policy.close_after:
        return AlertState(False, 0, streak), "closed"
    return replace(state, breaching_streak=0, clean_streak=streak), "none"


def dedup_key(
    *, system: str, environment: str, monitor: str, subject: str, release: str | None = None
) -> str:
    """A stable key for one alert condition: the same system, environment, monitor (e.g.
    ``drift``, ``quality:missing``, ``performance:accuracy``) and subject (a column or a
    cohort) give the same key, so a condition that persists updates one alert instead of
    opening many."""
    return content_digest(
        {
            "system": system,
            "environment": environment,
            "monitor": monitor,
            "subject": subject,
            "release": release,
        }
    )

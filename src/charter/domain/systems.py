"""Systems: the intake file format and the status lifecycle."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from charter.domain.errors import BadInput
from charter.domain.releases import format_validation_error
from charter.domain.text import load_yaml_document

STATUSES = ("proposed", "active", "suspended", "retired")
#: Allowed status changes; retired is final.
TRANSITIONS: dict[str, frozenset[str]] = {
    "proposed": frozenset({"active", "retired"}),
    "active": frozenset({"suspended", "retired"}),
    "suspended": frozenset({"active", "retired"}),
    "retired": frozenset(),
}
#: The tier of a system no policy has assessed yet.
UNASSESSED = "unassessed"

Scalar = str | int | float | bool | None


class IntakeFile(BaseModel):
    """An intake file: who owns the system, what it does, and the intake answers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    owner: str | None = Field(default=None, min_length=1, max_length=200)
    purpose: str | None = Field(default=None, max_length=10_000)
    population: str | None = Field(default=None, max_length=10_000)
    surfaces: list[str] | None = Field(default=None, max_length=50)
    answers: dict[str, Scalar | list[Scalar]] = Field(default_factory=dict)


def parse_intake(data: bytes, source: str = "intake.yaml") -> IntakeFile:
    """Parse and validate an intake file, naming the location of any problem."""
    raw = load_yaml_document(data, source)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise BadInput("an intake file must be a mapping", location=source)
    try:
        return IntakeFile.model_validate(raw)
    except ValidationError as exc:
        raise format_validation_error(exc, source) from None


def check_transition(current: str, new: str) -> None:
    """Raise BadInput unless a system may move from ``current`` to ``new``."""
    if new not in STATUSES:
        raise BadInput(f"unknown status {new!r}; valid: {', '.join(STATUSES)}")
    if new not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none (retired is final)"
        raise BadInput(f"a {current} system cannot become {new}; allowed: {allowed}")


def intake_payload(intake: IntakeFile) -> dict[str, Any]:
    """The intake answers as stored."""
    return dict(intake.answers)

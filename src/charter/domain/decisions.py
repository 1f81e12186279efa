"""Decisions on releases: the request format and the approval state they add up to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from charter.domain.approvals import APPROVING
from charter.domain.errors import BadInput
from charter.domain.text import SLUG_PATTERN, check_slug

Verdict = Literal["approve", "approve_with_conditions", "reject"]


class DecisionRequest(BaseModel):
    """What an approver submits. Validated by :func:`check_request`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    verdict: Verdict
    use_case: str = Field(default="", max_length=10_000)
    population: str = Field(default="", max_length=10_000)
    environments: list[str] = Field(default_factory=list, max_length=20)
    fallback: str | None = Field(default=None, max_length=200)
    expires: str | None = Field(default=None, max_length=64)
    conditions: list[str] = Field(default_factory=list, max_length=50)
    note: str = Field(default="", max_length=10_000)
    contract: dict[str, Any] | None = None


def check_request(request: DecisionRequest) -> None:
    """Raise BadInput when a decision lacks what its verdict needs."""
    for env in request.environments:
        check_slug(env, "environment")
    if len(set(request.environments)) != len(request.environments):
        raise BadInput("an environment is listed twice")
    if request.verdict in APPROVING:
        missing = [
            name
            for name, value in (
                ("use_case", request.use_case.strip()),
                ("population", request.population.strip()),
                ("environments", request.environments),
                ("expires", request.expires),
            )
            if not value
        ]
        if missing:
            raise BadInput(f"an approval must state {', '.join(missing)}", fields=missing)
    if request.verdict == "approve_with_conditions" and not any(
        c.strip() for c in request.conditions
    ):
        raise BadInput(
            "approve-with-conditions needs at least one condition", fields=["conditions"]
        )
    if request.verdict == "reject" and not request.note.strip():
        raise BadInput("a rejection needs a note giving the reason", fields=["note"])


@dataclass(frozen=True)
class Fallback:
    """Where traffic goes when the system is killed: another release or a named static answer."""

    kind: Literal["release", "static"]
    ref: str

    def as_dict(self) -> dict[str, str]:
        """The stored form."""
        return {"kind": self.kind, "ref": self.ref}


def parse_fallback(value: str) -> Fallback:
    """Parse ``static:NAME`` or ``SYSTEM@DIGEST``."""
    import re

    if value.startswith("static:"):
        name = value[len("static:") :]
        if not re.match(SLUG_PATTERN, name):
            raise BadInput(f"invalid static fallback name {name!r}: use a slug")
        return Fallback("static", name)
    if "@" in value:
        return Fallback("release", value)
    raise BadInput(f"invalid fallback {value!r}: use static:NAME or SYSTEM@DIGEST")

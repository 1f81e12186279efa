"""Decisions on releases: the request format and the approval state they add up to."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from charter.domain.errors import BadInput
from charter.domain.text import SLUG_PATTERN, check_slug

Verdict = Literal["approve", "approve_with_conditions", "reject"]
APPROVING: frozenset[str] = frozenset({"approve", "approve_with_conditions"})
#: Approvals needed when no policy sets a tier-dependent quorum.
DEFAULT_QUORUM = 1


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
            flag
            for flag, value in (
                ("--use-case", request.use_case.strip()),
                ("--population", request.population.strip()),
                ("--env", request.environments),
                ("--expires", request.expires),
            )
            if not value
        ]
        if missing:
            raise BadInput(f"an approval must state {', '.join(missing)}")
    if request.verdict == "approve_with_conditions" and not any(
        c.strip() for c in request.conditions
    ):
        raise BadInput("approve-with-conditions needs at least one --condition")
    if request.verdict == "reject" and not request.note.strip():
        raise BadInput("a rejection needs a --note giving the reason")


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


@dataclass(frozen=True)
class DecisionFacts:
    """The parts of a stored decision that the approval state depends on."""

    id: int
    verdict: str
    actor: str
    environments: Sequence[str]
    expires_at: datetime | None


@dataclass(frozen=True)
class ApprovalState:
    """Whether a release is approved for an environment right now, and until when."""

    environment: str
    state: Literal["approved", "pending", "rejected", "expired"]
    approvals: int
    quorum: int
    valid_until: datetime | None
    approvers: tuple[str, ...]


def approval_state(
    decisions: Sequence[DecisionFacts], *, environment: str, now: datetime, quorum: int
) -> ApprovalState:
    """Fold a release's decisions (oldest first) into its state for one environment.

    Each approver's latest approval covering the environment counts once; a rejection
    (which applies to the environments it names, or to all when it names none) voids
    every approval before it. The release is approved while at least ``quorum`` distinct
    approvals are unexpired; ``valid_until`` is when that stops being true.
    """
    latest: dict[str, DecisionFacts] = {}
    rejected = False
    for decision in sorted(decisions, key=lambda d: d.id):
        covers = not decision.environments or environment in decision.environments
        if decision.verdict == "reject" and covers:
            latest.clear()
            rejected = True
        elif decision.verdict in APPROVING and environment in decision.environments:
            latest[decision.actor] = decision
            rejected = False
    live = [d for d in latest.values() if d.expires_at is None or d.expires_at > now]
    approvers = tuple(sorted(d.actor for d in live))
    if len(live) >= quorum:
        expiries = sorted((d.expires_at for d in live if d.expires_at), reverse=True)
        # Still approved until fewer than `quorum` approvals remain unexpired.
        until = expiries[quorum - 1] if len(expiries) >= quorum else None
        return ApprovalState(environment, "approved", len(live), quorum, until, approvers)
    if rejected:
        return ApprovalState(environment, "rejected", 0, quorum, None, ())
    state: Literal["pending", "expired"] = "expired" if latest and not live else "pending"
    return ApprovalState(environment, state, len(live), quorum, None, approvers)

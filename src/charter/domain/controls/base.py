"""What every control kind shares: parameter models, outcomes, the registry, helpers.

Each kind is a parameter model and a check, registered once in :data:`KINDS` by
:func:`register_kind`. A check is a pure function of its parameters and a release's facts
and returns pass, fail or not_applicable with a reason and what it looked at.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from charter.domain.gate_facts import ControlResult, EvidenceFact, ReleaseFacts

Status = Literal["pass", "fail", "not_applicable"]
Name = Annotated[str, Field(min_length=1, max_length=200)]


class ControlParams(BaseModel):
    """Parameters as written in a pack, before the kind's own model has checked them."""

    model_config = ConfigDict(extra="allow", frozen=True)


class StrictParams(ControlParams):
    """The base of every kind's own parameter model: unknown parameters are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class Outcome:
    """What a check concluded."""

    status: Status
    reason: str
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EvaluatedControl(ControlResult):
    """A control result that also says whether the pack lets an exception waive it."""

    waivable: bool = False


P = TypeVar("P", bound=StrictParams)


@dataclass(frozen=True)
class ControlKind(Generic[P]):
    """A kind of control: its parameter model and its check."""

    name: str
    params: type[P]
    check: Callable[[P, ReleaseFacts], Outcome]
    #: The check reads ``facts.outcomes``: the gate evaluates it after every control that
    #: does not, and its own result is never among the outcomes any check reads (no cycle).
    reads_outcomes: bool = False

    @property
    def summary(self) -> str:
        """First line of the check's docstring."""
        return (self.check.__doc__ or "").strip().splitlines()[0]


#: Every control kind a pack may use, by name.
KINDS: dict[str, ControlKind[Any]] = {}


def register_kind(
    name: str, params: type[P], *, reads_outcomes: bool = False
) -> Callable[[Callable[[P, ReleaseFacts], Outcome]], Callable[[P, ReleaseFacts], Outcome]]:
    """Register a check as the control kind ``name`` with parameter model ``params``;
    ``reads_outcomes``: the check judges the other controls' results in the same gate."""

    def register(
        check: Callable[[P, ReleaseFacts], Outcome],
    ) -> Callable[[P, ReleaseFacts], Outcome]:
        KINDS[name] = ControlKind(name, params, check, reads_outcomes)
        return check

    return register


# -- helpers ---------------------------------------------------------------------------------


def aware(moment: datetime) -> datetime:
    """Stored times may come back naive (SQLite); they are UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def newest(evidence: Iterable[EvidenceFact]) -> EvidenceFact | None:
    """The most recent piece of evidence (ties broken by id)."""
    return max(evidence, key=lambda e: (aware(e.created_at), e.id), default=None)


def bound_status(entry: Mapping[str, Any]) -> str:
    """pass, fail, undefined or skipped for one checked bound.

    Reads ``status`` (as the evaluation layer writes it) or else ``passed``. An entry
    that says neither is undefined, and undefined fails closed.
    """
    status = entry.get("status")
    if status in ("pass", "fail", "undefined", "skipped"):
        return str(status)
    if "passed" in entry:
        return "pass" if entry["passed"] is True else "fail"
    return "undefined"


def failed_bounds(evidence: EvidenceFact) -> list[str]:
    """The bounds of ``evidence`` that failed or could not be checked (fail closed)."""
    return [
        str(b.get("bound") or b.get("metric") or "?")
        for b in evidence.bounds
        if bound_status(b) in ("fail", "undefined")
    ]


def names_in(entries: Any) -> set[str]:
    """Names from a list of strings or of mappings with ``name`` / ``kind``."""
    names: set[str] = set()
    if isinstance(entries, str) or not isinstance(entries, Sequence):
        return names
    for entry in entries:
        if isinstance(entry, str):
            names.add(entry)
        elif isinstance(entry, Mapping):
            for key in ("name", "kind"):
                if isinstance(entry.get(key), str):
                    names.add(entry[key])
    return names


def missing(required: Sequence[str], present: set[str], what: str) -> Outcome:
    """Pass when every required name is present, else fail naming the missing ones."""
    missing = [name for name in required if name not in present]
    evidence = {"required": list(required), "present": sorted(present)}
    if missing:
        return Outcome("fail", f"missing {what}: {', '.join(missing)}", evidence)
    return Outcome("pass", f"{what} present: {', '.join(required)}", evidence)

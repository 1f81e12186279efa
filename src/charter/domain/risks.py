"""Risks in a system's register: what a request may say, and what a gate finds missing.

Pure: the service layer checks a request against the pack in force with
:func:`request_problems` and gathers :class:`RegisterFacts` for a gate; :func:`gaps`
says, per risk, what stops it from counting as managed (no owner, no mitigation performed
(in a gate: no mitigating control that passed in it), no signal production actually
watches, no review within the cadence, a residual rating that needs an acceptance nobody
gave). The gate control, the register listing and the model risk assessment all read that
one function.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from charter.domain.policy import Policy

Text = Annotated[str, Field(max_length=10_000)]
Short = Annotated[str, Field(max_length=64)]
STATUSES = ("open", "closed")
#: Control kinds that judge the register: naming one as a risk's mitigation would be circular.
JUDGES_THE_REGISTER = frozenset({"risk_register"})
#: The fields a change may set (and that ``risk update`` takes).
CHANGEABLE = (
    "title",
    "category",
    "nist_ai_rmf",
    "owasp_llm",
    "cause",
    "failure_mode",
    "affected_population",
    "likelihood",
    "impact",
    "residual_likelihood",
    "residual_impact",
    "owner",
    "controls",
    "signals",
    "remediation",
    "status",
)
#: Changes that make an acceptance of the residual rating no longer the one accepted.
RESETS_ACCEPTANCE = frozenset(
    {"likelihood", "impact", "residual_likelihood", "residual_impact", "owner", "controls"}
)


class RiskChange(BaseModel):
    """What a request sets on a risk; on ``add``, ``title``, ``category``, ``likelihood``
    and ``impact`` are required and the residual rating defaults to the inherent one."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, min_length=1, max_length=200)
    category: Short | None = None
    nist_ai_rmf: list[Short] | None = Field(default=None, max_length=20)
    owasp_llm: list[Short] | None = Field(default=None, max_length=10)
    cause: Text | None = None
    failure_mode: Text | None = None
    affected_population: Text | None = None
    # Plain ints (no bounds here): the pack's scale decides, with a message naming it.
    likelihood: int | None = None
    impact: int | None = None
    residual_likelihood: int | None = None
    residual_impact: int | None = None
    owner: Short | None = None
    controls: list[Short] | None = Field(default=None, max_length=50)
    signals: list[Short] | None = Field(default=None, max_length=10)
    remediation: Text | None = None
    status: Short | None = None

    def given(self) -> dict[str, Any]:
        """The fields the request sets."""
        return {k: v for k, v in self.model_dump().items() if v is not None}


def request_problems(
    policy: Policy, tier: str, values: dict[str, Any], monitors: Collection[str]
) -> list[tuple[str, str]]:
    """``(field, message)`` for what a risk's values say that the pack does not know.

    ``values`` is the risk as it would be after the change; ``monitors`` are the signals
    a risk may name (the monitors the worker can run).
    """
    from charter.domain.policy.risk import mapping_problems

    section = policy.risk
    problems: list[tuple[str, str]] = []
    if not str(values.get("title") or "").strip():
        problems.append(("title", "a risk needs a title"))
    category = values.get("category")
    if category not in section.categories:
        known = ", ".join(section.categories)
        problems.append(("category", f"unknown category {category!r}; categories: {known}"))
    for field in ("nist_ai_rmf", "owasp_llm"):
        problems += mapping_problems(field, list(values.get(field) or []))
    for field, scale in (
        ("likelihood", "likelihood"),
        ("impact", "impact"),
        ("residual_likelihood", "likelihood"),
        ("residual_impact", "impact"),
    ):
        problem = section.scale_problem(scale, values.get(field))
        if problem is not None:
            problems.append((field, problem.replace(scale, field, 1)))
    if not problems and (
        values["residual_likelihood"] * values["residual_impact"]
        > values["likelihood"] * values["impact"]
    ):
        problems.append(
            ("residual_likelihood", "the residual score cannot exceed the inherent score")
        )
    for i, control_id in enumerate(values.get("controls") or []):
        control = policy.control(control_id)
        if control is None:
            problems.append((f"controls[{i}]", f"unknown control {control_id!r} (not in the pack)"))
        elif tier not in control.tiers:
            problems.append(
                (f"controls[{i}]", f"control {control_id!r} does not apply to tier {tier!r}")
            )
        elif control.kind in JUDGES_THE_REGISTER:
            problems.append(
                (
                    f"controls[{i}]",
                    f"control {control_id!r} checks the register itself and cannot mitigate a risk",
                )
            )
    for i, signal in enumerate(values.get("signals") or []):
        if signal not in monitors:
            problems.append(
                (f"signals[{i}]", f"unknown signal {signal!r}; signals: {', '.join(monitors)}")
            )
    if values.get("status") not in STATUSES:
        problems.append(("status", f"status must be one of {', '.join(STATUSES)}"))
    return problems


@dataclass(frozen=True)
class RiskFact:
    """One risk as a gate sees it."""

    id: int
    title: str
    status: str
    owner: str | None
    #: Whether ``owner`` is an enabled Charter user.
    owner_active: bool
    controls: tuple[str, ...]
    signals: tuple[str, ...]
    residual_rating: str
    reviewed_at: datetime | None
    reviewed_by: str | None
    accepted_by: str | None


@dataclass(frozen=True)
class RegisterFacts:
    """A system's register and what the pack in force says about it."""

    risks: tuple[RiskFact, ...]
    review_days: int
    #: Ratings from lowest to highest, and the first one that needs an acceptance.
    ratings: tuple[str, ...]
    acceptance_from: str
    #: Ids of the pack's controls that apply to the system's tier.
    tier_controls: frozenset[str]
    #: Ids of the pack's controls that judge the register itself: they mitigate nothing.
    register_controls: frozenset[str] = frozenset()


#: How a mitigating control's outcome in a gate reads in a failure reason.
_OUTCOME_WORDS = {"fail": "failed", "not_applicable": "not applicable"}


def gaps(
    register: RegisterFacts,
    risk: RiskFact,
    *,
    now: datetime,
    monitors: Collection[str] | None,
    require_acceptance: bool = True,
    outcomes: Mapping[str, str] | None = None,
) -> list[str]:
    """What stops one open risk from counting as managed (empty: nothing).

    ``monitors``: what production watches for the release being gated (None: not known,
    as when the register is listed outside a gate; then a named signal counts).
    ``outcomes``: control id -> status of each control in the gate being evaluated (None:
    outside a gate; then a control of the pack for the tier counts). In a gate a mitigating
    control counts only when it passed, or was waived by an exception in force.
    """
    found: list[str] = []
    if not risk.owner:
        found.append("no owner")
    elif not risk.owner_active:
        found.append(f"owner {risk.owner!r} is not an active user")
    problem = _mitigation_gap(register, risk, outcomes)
    if problem is not None:
        found.append(problem)
    if not risk.signals:
        found.append("no watching signal")
    elif monitors is not None and not any(s in monitors for s in risk.signals):
        found.append(
            f"its signals ({', '.join(risk.signals)}) are not monitored for this release "
            f"(monitors: {', '.join(sorted(monitors)) or 'none'})"
        )
    if risk.reviewed_at is None or not risk.reviewed_by:
        found.append("never reviewed")
    elif now - risk.reviewed_at > timedelta(days=register.review_days):
        found.append(
            f"last reviewed {risk.reviewed_at.date()} by {risk.reviewed_by}, more than "
            f"{register.review_days} days ago"
        )
    needs = require_acceptance and _needs_acceptance(register, risk.residual_rating)
    if needs and not risk.accepted_by:
        found.append(f"residual rating {risk.residual_rating} has not been accepted")
    return found


def _mitigation_gap(
    register: RegisterFacts, risk: RiskFact, outcomes: Mapping[str, str] | None
) -> str | None:
    """Why no mitigating control of the risk counts (None: one does)."""
    if not risk.controls:
        return "no mitigating control"
    if outcomes is None:
        if any(
            c in register.tier_controls and c not in register.register_controls
            for c in risk.controls
        ):
            return None
        return "none of its controls is in the policy in force for the system's tier: " + (
            ", ".join(risk.controls)
        )
    if any(outcomes.get(c) in ("pass", "waived") for c in risk.controls):
        return None
    states = []
    for control_id in risk.controls:
        status = outcomes.get(control_id)
        if status is not None:
            states.append(f"{control_id} {_OUTCOME_WORDS.get(status, status)}")
        elif control_id in register.register_controls:
            states.append(f"{control_id} checks the register itself (it mitigates nothing)")
        elif control_id in register.tier_controls:
            states.append(f"{control_id} not evaluated in this gate")
        else:
            states.append(f"{control_id} not in the policy for the system's tier")
    noun = "mitigating control" if len(states) == 1 else "mitigating controls"
    return f"{noun} {', '.join(states)}"


def _needs_acceptance(register: RegisterFacts, rating: str) -> bool:
    order = list(register.ratings)
    if register.acceptance_from not in order:
        return True
    rank = order.index(rating) if rating in order else len(order)
    return rank >= order.index(register.acceptance_from)

"""The monitoring control: production will be watched, with what the watching needs.

Performed, not declared: the control passes when the worker *can* run each required
monitor for this release — a reference profile is set, with the columns each monitor
reads — and it reports the monitors and bounds of the same plan the worker runs
(:func:`charter.domain.contracts.monitoring_plan`).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from charter.domain.controls.base import Name, Outcome, StrictParams, register_kind
from charter.domain.gate_facts import ReferenceFact, ReleaseFacts

#: Monitors that compare windows with the release's reference profile.
NEEDS_REFERENCE = frozenset({"drift", "quality", "performance", "fairness"})


def _gap(monitor: str, reference: ReferenceFact | None, plan_bounds: set[str]) -> str | None:
    """Why the worker could not run ``monitor`` for this release, or None."""
    if monitor not in NEEDS_REFERENCE:
        return None
    if reference is None:
        return f"{monitor}: no reference profile is set (charter reference set)"
    if monitor == "performance" and reference.prediction is None and reference.score is None:
        return "performance: the reference has no prediction or score column"
    if monitor == "performance" and not any(m in plan_bounds for m in _PERFORMANCE):
        return "performance: no bound (the reference has no labels for a baseline)"
    if monitor == "fairness" and reference.cohort is None:
        return "fairness: the reference has no cohort column"
    return None


_PERFORMANCE = (
    "accuracy",
    "precision",
    "recall",
    "f1",
    "specificity",
    *(f"{m}_{a}" for a in ("macro", "weighted") for m in ("precision", "recall", "f1")),
)


class LiveMonitorsParams(StrictParams):
    """``required``: monitors production must run for the release."""

    required: list[Name] = Field(min_length=1)


@register_kind("live_monitors", LiveMonitorsParams)
def _live_monitors(params: LiveMonitorsParams, facts: ReleaseFacts) -> Outcome:
    """The worker will run each required monitor: it is planned and has the data it needs."""
    plan = facts.monitoring
    if plan is None:
        return Outcome("fail", "no monitoring plan (internal: facts gathered without one)")
    metrics = {b.metric for b in plan.bounds}
    evidence: dict[str, Any] = {
        "required": list(params.required),
        "plan": plan.to_dict(),
        "reference": None if facts.reference is None else facts.reference.digest,
    }
    problems = [f"{m}: not planned" for m in params.required if m not in plan.monitors]
    problems += [
        gap for m in params.required if (gap := _gap(m, facts.reference, metrics)) is not None
    ]
    if problems:
        return Outcome("fail", "; ".join(problems), evidence)
    shown = ", ".join(str(b) for b in plan.bounds) or "no bounds"
    return Outcome(
        "pass", f"monitors {', '.join(sorted(params.required))} will run ({shown})", evidence
    )

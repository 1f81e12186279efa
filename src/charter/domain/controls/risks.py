"""The risk-register control: every open risk of the system is managed, on the records.

Performed, not declared: a risk counts when its owner is an enabled user, one of its
mitigating controls is in the pack in force for the system's tier, one of its signals is
a monitor production runs for this very release in this environment, a person recorded a
review within the pack's cadence, and a residual rating at or above the pack's threshold
was accepted by someone allowed to (:func:`charter.domain.risks.gaps`).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from charter.domain.controls.base import Outcome, StrictParams, register_kind
from charter.domain.gate_facts import ReleaseFacts
from charter.domain.risks import gaps


class RiskRegisterParams(StrictParams):
    """``min_risks``: an emptier register fails; ``require_acceptance``: residual ratings
    from the pack's ``risk.acceptance.required_from`` need an acceptance."""

    min_risks: int = Field(default=1, ge=0, le=1000)
    require_acceptance: bool = True


@register_kind("risk_register", RiskRegisterParams)
def _risk_register(params: RiskRegisterParams, facts: ReleaseFacts) -> Outcome:
    """Every open risk has an owner, a mitigation, a watched signal and a timely review."""
    register = facts.risk_register
    if register is None:
        return Outcome("fail", "the risk register was not gathered (internal)")
    monitors = frozenset(facts.monitoring.monitors) if facts.monitoring is not None else None
    open_risks = [r for r in register.risks if r.status == "open"]
    problems: dict[str, list[str]] = {}
    for risk in open_risks:
        found = gaps(
            register,
            risk,
            now=facts.now,
            monitors=monitors if monitors is not None else frozenset(),
            require_acceptance=params.require_acceptance,
        )
        if found:
            problems[f"risk #{risk.id} {risk.title!r}"] = found
    evidence: dict[str, Any] = {
        "risks": [r.id for r in open_risks],
        "review_days": register.review_days,
        "monitors": sorted(monitors or ()),
        "gaps": problems,
    }
    if len(open_risks) < params.min_risks:
        return Outcome(
            "fail",
            f"the register has {len(open_risks)} open risk(s); at least {params.min_risks} "
            "needed (charter risk add / charter risk seed)",
            evidence,
        )
    if problems:
        reason = "; ".join(f"{name}: {', '.join(found)}" for name, found in problems.items())
        return Outcome("fail", reason, evidence)
    return Outcome(
        "pass",
        f"{len(open_risks)} open risk(s), each owned, mitigated, watched and reviewed "
        f"within {register.review_days} days",
        evidence,
    )

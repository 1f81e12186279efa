"""The risk-register control: every open risk of the system is managed, on the records.

Performed, not declared: a risk counts when its owner is an enabled user, one of its
mitigating controls *passed in this very gate* (or failed but is waived by an exception in
force, which the reason then says), one of its signals is a monitor production runs for
this release in this environment, a person recorded a review within the pack's cadence,
and a residual rating at or above the pack's threshold was accepted by someone allowed to
(:func:`charter.domain.risks.gaps`). The gate evaluates this kind after every other
control and hands it their outcomes in ``facts.outcomes``; a control of this kind is never
among them, so it cannot mitigate a risk or make itself pass.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from charter.domain.controls.base import Outcome, StrictParams, register_kind
from charter.domain.gate_facts import ControlResult, ReleaseFacts
from charter.domain.risks import RiskFact, gaps


class RiskRegisterParams(StrictParams):
    """``min_risks``: an emptier register fails; ``require_acceptance``: residual ratings
    from the pack's ``risk.acceptance.required_from`` need an acceptance."""

    min_risks: int = Field(default=1, ge=0, le=1000)
    require_acceptance: bool = True


def _statuses(outcomes: tuple[ControlResult, ...]) -> dict[str, str]:
    """Control id -> status; a ``waived`` result that carries no waiver does not count as
    waived (fail closed: only an exception the gate found in force makes a waiver)."""
    return {
        r.control_id: "fail" if r.status == "waived" and not r.waiver else r.status
        for r in outcomes
    }


def _waived_only(
    risk: RiskFact, statuses: dict[str, str], outcomes: tuple[ControlResult, ...]
) -> str | None:
    """How a risk is mitigated when no mitigating control passed but one is waived."""
    if any(statuses.get(c) == "pass" for c in risk.controls):
        return None
    waivers = {r.control_id: r.waiver for r in outcomes if r.waiver}
    named = [
        f"{c} (exception #{waivers[c]['exception_id']} until {waivers[c]['expires_at']})"
        for c in risk.controls
        if statuses.get(c) == "waived" and c in waivers
    ]
    return ", ".join(named) or None


@register_kind("risk_register", RiskRegisterParams, reads_outcomes=True)
def _risk_register(params: RiskRegisterParams, facts: ReleaseFacts) -> Outcome:
    """Every open risk is owned, mitigated by a control that passed, watched and reviewed."""
    register = facts.risk_register
    if register is None:
        return Outcome("fail", "the risk register was not gathered (internal)")
    if facts.outcomes is None:
        return Outcome(
            "fail",
            "the other controls' outcomes were not given, so no mitigation can be checked "
            "(evaluate the gate, not this control alone)",
        )
    statuses = _statuses(facts.outcomes)
    monitors = frozenset(facts.monitoring.monitors) if facts.monitoring is not None else None
    open_risks = [r for r in register.risks if r.status == "open"]
    problems: dict[str, list[str]] = {}
    by_waiver: dict[str, str] = {}
    for risk in open_risks:
        name = f"risk #{risk.id} {risk.title!r}"
        found = gaps(
            register,
            risk,
            now=facts.now,
            monitors=monitors if monitors is not None else frozenset(),
            require_acceptance=params.require_acceptance,
            outcomes=statuses,
        )
        if found:
            problems[name] = found
        waived = _waived_only(risk, statuses, facts.outcomes)
        if waived is not None:
            by_waiver[name] = waived
    evidence: dict[str, Any] = {
        "risks": [r.id for r in open_risks],
        "review_days": register.review_days,
        "monitors": sorted(monitors or ()),
        "mitigations": {
            str(r.id): {c: statuses.get(c, "not_evaluated") for c in r.controls} for r in open_risks
        },
        "mitigated_by_waiver": by_waiver,
        "gaps": problems,
    }
    waiver_note = "".join(
        f"; {name} mitigated by a waiver: {how}" for name, how in by_waiver.items()
    )
    if len(open_risks) < params.min_risks:
        return Outcome(
            "fail",
            f"the register has {len(open_risks)} open risk(s); at least {params.min_risks} "
            "needed (charter risk add / charter risk seed)",
            evidence,
        )
    if problems:
        reason = "; ".join(f"{name}: {', '.join(found)}" for name, found in problems.items())
        return Outcome("fail", reason + waiver_note, evidence)
    how = "by a control that passed this gate" + (", or a waiver" if by_waiver else "")
    return Outcome(
        "pass",
        f"{len(open_risks)} open risk(s), each owned, mitigated {how}, watched and reviewed "
        f"within {register.review_days} days" + waiver_note,
        evidence,
    )

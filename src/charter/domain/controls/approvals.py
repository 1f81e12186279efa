"""Approval controls: quorum, the review cadence and the fallback, all by the one rule.

Each reads :func:`charter.domain.approvals.approval_in_force`, the same fold decisions,
status, deploy and the route use, so the gate and the rest of Charter cannot disagree
about who approved a release in an environment.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from charter.domain.approvals import (
    ApprovalRequirement,
    ApprovalState,
    approval_in_force,
    counted_approvals,
)
from charter.domain.controls.base import (
    Name,
    Outcome,
    StrictParams,
    aware,
    failed_bounds,
    newest,
    register_kind,
)
from charter.domain.gate_facts import ReleaseFacts
from charter.domain.policy_facts import DEFAULT_QUORUM_ROLES
from charter.domain.text import iso_utc


def _state(facts: ReleaseFacts, requirement: ApprovalRequirement | None = None) -> ApprovalState:
    requirements = (requirement,) if requirement is not None else facts.approval_requirements
    return approval_in_force(
        facts.decisions, environment=facts.environment, now=facts.now, requirements=requirements
    )


class ApprovalQuorumParams(StrictParams):
    """``quorum``: distinct approvers needed; ``roles``: roles whose approvals count."""

    quorum: int = Field(ge=1, le=10)
    roles: list[Name] = Field(default_factory=lambda: list(DEFAULT_QUORUM_ROLES), min_length=1)


@register_kind("approval_quorum", ApprovalQuorumParams)
def _approval_quorum(params: ApprovalQuorumParams, facts: ReleaseFacts) -> Outcome:
    """At least ``quorum`` distinct, unexpired approvals in the environment from ``roles``."""
    # Independence (approvals through accounts the author provisioned do not count) is the
    # policy's per-tier setting, carried by the requirements the policy built.
    independent = any(r.independent for r in facts.approval_requirements)
    requirement = ApprovalRequirement(params.quorum, tuple(params.roles), None, independent)
    state = _state(facts, requirement)
    evidence: dict[str, Any] = {
        "state": state.state,
        "approvals": state.approvals,
        "quorum": params.quorum,
        "approvers": list(state.approvers),
        "roles": list(params.roles),
        "valid_until": iso_utc(state.valid_until) if state.valid_until else None,
    }
    if state.excluded:
        evidence["excluded"] = [
            {"decision_id": i, "actor": who, "reason": why} for i, who, why in state.excluded
        ]
    env = facts.environment
    if state.approved:
        return Outcome(
            "pass", f"{state.approvals} of {params.quorum} approval(s) for {env}", evidence
        )
    if state.state == "rejected":
        return Outcome("fail", f"rejected for {env}; no approval since", evidence)
    if state.state == "expired":
        return Outcome("fail", f"every approval for {env} has expired", evidence)
    excluded = "".join(f"; #{i} by {who} does not count: {why}" for i, who, why in state.excluded)
    return Outcome(
        "fail",
        f"{state.approvals} of {params.quorum} approval(s) for {env} "
        f"(roles: {', '.join(params.roles)}){excluded}",
        evidence,
    )


class ApprovalValidityParams(StrictParams):
    """``max_days``: longest approval allowed (expiry - grant); the review cadence."""

    max_days: int = Field(ge=1, le=3650)
    roles: list[Name] | None = None


@register_kind("approval_validity", ApprovalValidityParams)
def _approval_validity(params: ApprovalValidityParams, facts: ReleaseFacts) -> Outcome:
    """The approvals that count were granted for at most ``max_days`` and are unexpired."""
    independent = any(r.independent for r in facts.approval_requirements)
    requirement = (
        ApprovalRequirement(1, tuple(params.roles), None, independent)
        if params.roles is not None
        else None
    )
    state = _state(facts, requirement)
    approvals = counted_approvals(facts.decisions, state)
    if not approvals:
        return Outcome("fail", f"no unexpired approval for {facts.environment}", {})
    too_long: list[str] = []
    shown = []
    for decision in approvals:
        if decision.expires_at is None:
            too_long.append(f"#{decision.id} by {decision.actor} has no expiry")
            days = None
        else:
            span = aware(decision.expires_at) - aware(decision.created_at)
            days = span.days + (1 if span.seconds or span.microseconds else 0)
            if days > params.max_days:
                too_long.append(f"#{decision.id} by {decision.actor} runs {days} days")
        shown.append({"decision_id": decision.id, "actor": decision.actor, "days": days})
    evidence = {"max_days": params.max_days, "approvals": shown}
    if too_long:
        return Outcome(
            "fail",
            f"approvals must be reviewed within {params.max_days} days: {'; '.join(too_long)}",
            evidence,
        )
    return Outcome("pass", f"approvals run at most {params.max_days} days", evidence)


class FallbackDefinedParams(StrictParams):
    """``tested``: also require evidence of a fallback drill (suite ``drill_suite``)."""

    tested: bool = False
    drill_suite: Name = "fallback-drill"
    max_age_days: int | None = Field(default=None, ge=1, le=3650)


@register_kind("fallback_defined", FallbackDefinedParams)
def _fallback_defined(params: FallbackDefinedParams, facts: ReleaseFacts) -> Outcome:
    """The approval in force names a fallback; if ``tested``, the fallback was drilled."""
    state = _state(facts)
    if state.fallback is None:
        return Outcome("fail", f"no approval for {facts.environment} names a fallback")
    evidence: dict[str, Any] = {"fallback": state.fallback, "decisions": list(state.counted)}
    if params.tested:
        drill = newest(e for e in facts.evidence if e.suite == params.drill_suite)
        if drill is None:
            return Outcome("fail", f"no {params.drill_suite} evidence: drill it", evidence)
        age = (facts.now - aware(drill.created_at)).days
        evidence.update({"drill_evidence_id": drill.id, "drill_age_days": age})
        if params.max_age_days is not None and age > params.max_age_days:
            return Outcome(
                "fail",
                f"the last fallback drill is {age} days old (limit {params.max_age_days})",
                evidence,
            )
        failed = failed_bounds(drill)
        if failed:
            return Outcome(
                "fail", f"fallback drill #{drill.id} failed: {', '.join(failed)}", evidence
            )
    ref = state.fallback.get("ref", state.fallback)
    return Outcome("pass", f"fallback {ref} (approval #{state.fallback_from})", evidence)

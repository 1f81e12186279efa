"""Contracts as the services enforce them: validated once, tightened by approvals, in force.

**Which contract is enforced.** In an environment, the contract in force is the release's
own (``contract:`` in its manifest), tightened by the contract of every approval that
counts there (:func:`contract_in_force`). An approver may tighten bounds or add monitors
with ``charter approve --contract FILE``; a looser contract is refused at approval, naming
the bound. The gate's contract and monitoring controls and the monitoring worker all read
the contract in force, through the functions below.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from charter.domain.approvals import ApprovalState, DecisionFact, counted_approvals
from charter.domain.contracts import (
    Catalogue,
    Contract,
    MonitoringPlan,
    check_not_looser,
    monitoring_plan,
    parse_contract,
    strictest,
)
from charter.domain.gate_facts import ReferenceFact
from charter.domain.policy_facts import recorded_flags
from charter.services import policies
from charter.services.context import Context
from charter.store.models import MonitorReference, Release

if TYPE_CHECKING:
    from charter.domain.policy import Policy


def metric_catalogue() -> Catalogue:
    """Every offline metric a contract may name, from every installed evaluation suite."""
    # Imported here: the suites bring numpy and pandas, which only validation needs.
    from charter.evaluation.contracts import catalogue_of
    from charter.plugins.manager import evaluation_suites

    return catalogue_of(evaluation_suites())


def validate(raw: Any, *, location: str) -> Contract:
    """Parse a contract and check every metric it names (release creation, approval).

    The syntax and the live section are checked first; only offline bounds need the
    evaluation suites' catalogue (which imports the statistics stack).
    """
    parsed = parse_contract(raw, location=location)
    if not parsed.offline:
        return parsed
    return parse_contract(raw, location=location, catalogue=metric_catalogue())


def release_contract(release: Release) -> Contract:
    """The release's own contract, as stored in its manifest (validated at creation)."""
    raw = json.loads(release.manifest).get("contract") or None
    return parse_contract(raw, location="release.contract")


def decision_contract(release: Release, raw: dict[str, Any] | None) -> dict[str, Any]:
    """The contract an approval is granted under, as written: the release's, or a stricter one.

    Refuses (BadInput naming the bound) a contract that loosens the release's.
    """
    written = json.loads(release.manifest).get("contract") or {}
    if raw is None:
        return dict(written)
    check_not_looser(release_contract(release), validate(raw, location="contract"))
    return dict(raw)


def contract_in_force(
    release: Release, decisions: Sequence[DecisionFact], state: ApprovalState
) -> Contract:
    """The release's contract tightened by every approval ``state`` counts."""
    contracts = [release_contract(release)]
    for decision in counted_approvals(decisions, state):
        if decision.contract:
            contracts.append(parse_contract(decision.contract, location="decision.contract"))
    return strictest(contracts)


def required_monitors(
    ctx: Context,
    tier: str,
    environment: str,
    policy: Policy | None = None,
    flags: frozenset[str] | None = None,
) -> set[str]:
    """Monitors the policy in force (or ``policy``) requires for ``tier`` in ``environment``."""
    if policy is None:
        active = policies.in_force(ctx)
        if active is None:
            return set()
        policy = active[1]
    found: set[str] = set()
    for control in policy.controls_for(tier, environment, flags):
        if control.kind == "live_monitors":
            found |= {str(name) for name in getattr(control.params, "required", [])}
    return found


def reference_fact(ctx: Context, release: Release) -> ReferenceFact | None:
    """The release's current reference profile, summarised; None when none is set."""
    row = ctx.session.scalar(
        select(MonitorReference)
        .where(MonitorReference.release_id == release.id, MonitorReference.superseded_at.is_(None))
        .order_by(MonitorReference.id.desc())
        .limit(1)
    )
    if row is None:
        return None
    if row.summary is not None:
        summary = dict(row.summary)
    else:  # set before the summary was stored: parse the profile (numpy) once
        from charter.services.references import reference_summary

        summary = reference_summary(row)
    return ReferenceFact(
        digest=row.digest,
        rows=int(summary["rows"]),
        features=tuple(summary["features"]),
        prediction=summary.get("prediction"),
        score=summary.get("score"),
        label=summary.get("label"),
        cohort=summary.get("cohort"),
        baseline_accuracy=summary.get("baseline_accuracy"),
    )


def plan_for(
    ctx: Context,
    release: Release,
    environment: str,
    contract: Contract,
    reference: ReferenceFact | None,
    policy: Policy | None = None,
) -> MonitoringPlan:
    """What the worker watches for ``release`` in ``environment``: one plan for gate and worker.

    ``policy`` is the pack in force when the caller has it already (else it is read).
    """
    return monitoring_plan(
        contract.live,
        required=required_monitors(
            ctx, release.system.tier, environment, policy, recorded_flags(release.system.assessment)
        ),
        baseline_accuracy=None if reference is None else reference.baseline_accuracy,
    )

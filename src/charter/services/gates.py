"""Release gates: every control that applies to a release and environment, evaluated and stored."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from charter.domain.approvals import approval_in_force
from charter.domain.contracts import evaluate_contract
from charter.domain.errors import BadInput
from charter.domain.gate_facts import ControlResult, EvidenceFact, ExceptionFact, ReleaseFacts
from charter.domain.policy_facts import recorded_flags
from charter.domain.provenance import EvidenceRules, refusal
from charter.domain.roles import Permission
from charter.services import approvals, audit, contracts, explanations, policies
from charter.services.context import Context
from charter.services.environments import check_environment
from charter.services.releases import find_release
from charter.store.models import Evidence, GateRun, PolicyException, Release

if TYPE_CHECKING:
    from charter.domain.policy import Policy


def gather_facts(ctx: Context, release: Release, environment: str, policy: Policy) -> ReleaseFacts:
    """Collect what the controls look at for one release in one environment.

    Evidence is re-checked against the contract in force here (the release's, tightened
    by the approvals that count), so a bound an approver added applies to evidence
    recorded before the approval.
    """
    system = release.system
    decisions = approvals.decision_facts(approvals.release_decisions(ctx, release))
    flags = recorded_flags(system.assessment)
    requirements = policy.approval_requirements(system.tier, environment, flags)
    state = approval_in_force(
        decisions, environment=environment, now=ctx.now(), requirements=requirements
    )
    contract = contracts.contract_in_force(release, decisions, state)
    evidence = ctx.session.scalars(
        select(Evidence).where(Evidence.release_id == release.id).order_by(Evidence.id)
    ).all()
    exceptions = ctx.session.scalars(
        select(PolicyException).where(PolicyException.release_id == release.id)
    ).all()
    facts_of_evidence = []
    ignored: list[dict[str, Any]] = []
    rules = EvidenceRules(
        external_suites=frozenset(policy.duties.external_evidence.get(system.tier, ())),
        independent=system.tier in policy.duties.service_evidence_tiers,
    )
    for item in evidence:
        why = refusal(
            item.provenance,
            suite=item.suite,
            author=item.created_by,
            reproduced_by=item.reproduced_by,
            rules=rules,
        )
        if why is not None:
            ignored.append({"id": item.id, "suite": item.suite, "reason": why})
            continue
        parsed = json.loads(item.result)
        metrics = parsed.get("metrics", {}) if isinstance(parsed, dict) else {}
        details = parsed.get("details", {}) if isinstance(parsed, dict) else {}
        checked = (
            evaluate_contract(
                contract, parsed, previous=explanations.previous_if_needed(ctx, release, parsed)
            )
            if isinstance(parsed, dict)
            else {}
        )
        facts_of_evidence.append(
            EvidenceFact(
                id=item.id,
                suite=item.suite,
                suite_version=item.suite_version,
                digest=item.digest,
                created_at=item.created_at,
                bounds=tuple(checked.get("bounds", ())),
                metrics=metrics if isinstance(metrics, dict) else {},
                details=details if isinstance(details, dict) else {},
            )
        )
    reference = contracts.reference_fact(ctx, release)
    from charter.services.risks import register_facts

    return ReleaseFacts(
        system=system.name,
        tier=system.tier,
        system_fields={
            "name": system.name,
            "owner": system.owner,
            "purpose": system.purpose,
            "population": system.population,
            "surfaces": list(system.surfaces),
            "description": release.description,
            "label": release.label,
        },
        digest=release.digest,
        document=json.loads(release.manifest),
        environment=environment,
        now=ctx.now(),
        decisions=decisions,
        evidence=tuple(facts_of_evidence),
        exceptions=tuple(
            ExceptionFact(
                id=x.id,
                control_id=x.control_id,
                environment=x.environment,
                status=x.status,  # type: ignore[arg-type]
                expires_at=x.expires_at,
                approved_by=x.decided_by if x.status == "approved" else None,
                justification=x.justification,
                compensating=x.compensating,
            )
            for x in exceptions
        ),
        policy_version=0,
        contract=contract,
        monitoring=contracts.plan_for(ctx, release, environment, contract, reference, policy),
        reference=reference,
        approval_requirements=requirements,
        flags=flags,
        ignored_evidence=tuple(ignored),
        risk_register=register_facts(ctx, system, policy),
    )


def evaluate(ctx: Context, release: Release, environment: str) -> dict[str, Any]:
    """Evaluate every applicable control; returns the report (nothing is stored)."""
    from charter.domain.controls import evaluate_controls
    from charter.domain.gate_report import summarize

    check_environment(ctx, environment)
    active = policies.in_force(ctx)
    if active is None:
        raise BadInput("no policy is in force: apply a policy pack (or initialise Charter)")
    version, policy = active
    facts = replace(gather_facts(ctx, release, environment, policy), policy_version=version.version)
    controls = policy.controls_for(release.system.tier, environment, facts.flags)
    # One evaluation for every path (CLI, API, deploy, the console's queue reads its run):
    # the risk register judges the other controls' outcomes in this very gate.
    results = evaluate_controls(controls, facts)
    status = release.system.status
    if status in ("suspended", "retired"):
        # Not a control a pack can leave out or waive: an out-of-service system passes no gate.
        results.insert(
            0,
            ControlResult(
                control_id="system-in-service",
                kind="system_status",
                description="The system is in service (not suspended or retired)",
                status="fail",
                reason=f"system {release.system.name!r} is {status}",
                evidence={"status": status},
            ),
        )
    report = summarize(results)
    report.update(
        {
            "system": release.system.name,
            "digest": release.digest,
            "ref": f"{release.system.name}@{release.digest[:12]}",
            "environment": environment,
            "tier": release.system.tier,
            "policy_version": version.version,
            "at": ctx.now().isoformat(),
            "contract": facts.contract.to_dict(),
            "ignored_evidence": list(facts.ignored_evidence),
        }
    )
    return report


def record_run(ctx: Context, release: Release, environment: str, report: dict[str, Any]) -> GateRun:
    """Store a gate report as a run and audit it (``deploy`` stores the report it checked)."""
    run = GateRun(
        release_id=release.id,
        environment=environment,
        policy_version=report["policy_version"],
        passed=bool(report["passed"]),
        report=report,
        created_at=ctx.now(),
        created_by=ctx.actor.name,
    )
    ctx.session.add(run)
    ctx.session.flush()
    report["gate_run_id"] = run.id
    run.report = dict(report)
    audit.record(
        ctx,
        "gate.run",
        "release",
        f"{release.system.name}@{release.digest}",
        {
            "gate_run_id": run.id,
            "environment": environment,
            "policy_version": report["policy_version"],
            "passed": run.passed,
            "counts": report.get("counts", {}),
            "failed": [r["control_id"] for r in report["results"] if r["status"] == "fail"],
            "waived": [r["control_id"] for r in report["results"] if r["status"] == "waived"],
        },
    )
    return run


def run_gate(ctx: Context, ref: str, environment: str) -> GateRun:
    """Run the gate for ``SYSTEM@DIGEST`` in an environment, store the run, and audit it."""
    ctx.require(Permission.GATE_RUN)
    release = find_release(ctx, ref)
    return record_run(ctx, release, environment, evaluate(ctx, release, environment))

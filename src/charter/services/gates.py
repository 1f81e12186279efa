"""Release gates: every control that applies to a release and environment, evaluated and stored."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import select

from charter.domain.errors import BadInput
from charter.domain.gate_facts import (
    ControlResult,
    DecisionFact,
    EvidenceFact,
    ExceptionFact,
    ReleaseFacts,
)
from charter.domain.roles import Permission
from charter.domain.text import check_slug
from charter.services import audit, policies
from charter.services.context import Context
from charter.services.releases import find_release
from charter.store.models import Decision, Evidence, GateRun, PolicyException, Release


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def gather_facts(
    ctx: Context, release: Release, environment: str, policy_version: int
) -> ReleaseFacts:
    """Collect what the controls look at for one release in one environment."""
    system = release.system
    decisions = ctx.session.scalars(
        select(Decision).where(Decision.release_id == release.id).order_by(Decision.id)
    ).all()
    evidence = ctx.session.scalars(
        select(Evidence).where(Evidence.release_id == release.id).order_by(Evidence.id)
    ).all()
    exceptions = ctx.session.scalars(
        select(PolicyException).where(PolicyException.release_id == release.id)
    ).all()
    result_metrics: dict[int, dict[str, Any]] = {}
    for item in evidence:
        parsed = json.loads(item.result)
        metrics = parsed.get("metrics", {}) if isinstance(parsed, dict) else {}
        result_metrics[item.id] = metrics if isinstance(metrics, dict) else {}
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
        decisions=tuple(
            DecisionFact(
                id=d.id,
                verdict=d.verdict,
                actor=d.actor.name,
                actor_role=d.actor_role,
                environments=tuple(d.environments),
                expires_at=d.expires_at,
                created_at=d.created_at,
                fallback=d.fallback,
                policy_version=d.policy_version,
            )
            for d in decisions
        ),
        evidence=tuple(
            EvidenceFact(
                id=e.id,
                suite=e.suite,
                suite_version=e.suite_version,
                digest=e.digest,
                created_at=e.created_at,
                bounds=tuple(e.bounds),
                metrics=result_metrics[e.id],
            )
            for e in evidence
        ),
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
        policy_version=policy_version,
    )


def _result_dict(result: ControlResult) -> dict[str, Any]:
    return asdict(result)


def evaluate(ctx: Context, release: Release, environment: str) -> dict[str, Any]:
    """Evaluate every applicable control; returns the report (nothing is stored)."""
    from charter.domain.controls import apply_exceptions, evaluate_control
    from charter.domain.gate_report import summarize

    check_slug(environment, "environment")
    active = policies.in_force(ctx)
    if active is None:
        raise BadInput("no policy is in force: run `charter policy apply FILE` (or `charter init`)")
    version, policy = active
    facts = gather_facts(ctx, release, environment, version.version)
    controls = policy.controls_for(release.system.tier, environment)
    results = apply_exceptions([evaluate_control(control, facts) for control in controls], facts)
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
        }
    )
    return report


def run_gate(ctx: Context, ref: str, environment: str) -> GateRun:
    """Run the gate for ``SYSTEM@DIGEST`` in an environment, store the run, and audit it."""
    ctx.require(Permission.GATE_RUN)
    release = find_release(ctx, ref)
    report = evaluate(ctx, release, environment)
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

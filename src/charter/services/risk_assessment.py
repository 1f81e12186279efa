"""The model risk assessment: a system's risks with the evidence and monitoring behind each.

Built from the records, never typed: the register (ratings, owners, reviews, who accepted
which residual risk), the newest gate run of what serves each environment (the status of
every control that mitigates a risk), the monitoring plan the worker runs there and the
newest window's signals (what watches each risk), and the incidents that realised it.
``charter.documents.risk_assessment`` renders it as Markdown or HTML.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from charter.domain.roles import Permission
from charter.services import policies, risks
from charter.services.context import Context
from charter.services.systems import find_system
from charter.store.models import GateRun, Release, Route

#: Which of the five live signals shows each monitor (quality and fairness have their
#: results in the windows, not among the five).
SIGNAL_OF = {
    "performance": "accuracy",
    "drift": "drift",
    "latency": "latency_ms",
    "guardrails": "block_rate",
    "fallback": "fallback_rate",
}


def _serving(ctx: Context, system_id: int) -> list[tuple[str, Release]]:
    """``(environment, release)`` for every route of the system; with none, its newest
    release gated anywhere (``""`` for the environment)."""
    routes = ctx.session.scalars(
        select(Route).where(Route.system_id == system_id).order_by(Route.environment)
    ).all()
    if routes:
        return [(route.environment, route.release) for route in routes]
    newest = ctx.session.scalar(
        select(Release).where(Release.system_id == system_id).order_by(Release.id.desc()).limit(1)
    )
    return [] if newest is None else [("", newest)]


def _latest_run(ctx: Context, release: Release, environment: str) -> GateRun | None:
    query = select(GateRun).where(GateRun.release_id == release.id)
    if environment:
        query = query.where(GateRun.environment == environment)
    return ctx.session.scalar(query.order_by(GateRun.id.desc()).limit(1))


def build_assessment(ctx: Context, system_name: str) -> dict[str, Any]:
    """The assessment's data: system, scales, risks with evidence and monitoring, acceptances."""
    from charter.services import gates, signals_view

    ctx.require(Permission.RISK_READ)
    ctx.require(Permission.MONITOR_READ)
    system = find_system(ctx, system_name)
    active = policies.in_force(ctx)
    register = None
    if active is not None:
        register = risks.register_facts(ctx, system, active[1])
    register_view = risks.register_view(ctx, system_name)
    signals = {
        env: values
        for (name, env), values in signals_view.monitoring_signals(ctx).items()
        if name == system_name
    }
    environments: list[dict[str, Any]] = []
    for environment, release in _serving(ctx, system.id):
        run = _latest_run(ctx, release, environment)
        monitors: list[str] = []
        if active is not None and environment:
            facts = gates.gather_facts(ctx, release, environment, active[1])
            monitors = sorted(facts.monitoring.monitors) if facts.monitoring else []
        environments.append(
            {
                "environment": environment or None,
                "release": f"{system.name}@{release.digest}",
                "label": release.label,
                "gate_run": None
                if run is None
                else {
                    "id": run.id,
                    "environment": run.environment,
                    "passed": run.passed,
                    "at": run.created_at.isoformat(),
                    "policy_version": run.policy_version,
                    "results": {r["control_id"]: r for r in run.report.get("results", [])},
                },
                "monitors": monitors,
                "signals": signals.get(environment),
            }
        )
    items = []
    for view in register_view["items"]:
        evidence = []
        for control_id in view["controls"]:
            control = active[1].control(control_id) if active else None
            for env in environments:
                result = (env["gate_run"] or {}).get("results", {}).get(control_id)
                evidence.append(
                    {
                        "control": control_id,
                        "description": control.description if control else "not in the pack",
                        "environment": env["environment"],
                        "gate_run": (env["gate_run"] or {}).get("id"),
                        "status": None if result is None else result["status"],
                        "reason": None if result is None else result["reason"],
                    }
                )
            if not environments:
                evidence.append(
                    {
                        "control": control_id,
                        "description": control.description if control else "not in the pack",
                        "environment": None,
                        "gate_run": None,
                        "status": None,
                        "reason": "no release has been gated",
                    }
                )
        monitoring = []
        for signal in view["signals"]:
            for env in environments:
                if not env["environment"]:
                    continue
                live = env["signals"] or {}
                key = SIGNAL_OF.get(signal)
                monitoring.append(
                    {
                        "signal": signal,
                        "environment": env["environment"],
                        "monitored": signal in env["monitors"],
                        "window": live.get("window"),
                        "latest": live.get(key) if key else None,
                        "open_alerts": live.get("open_alerts", 0),
                    }
                )
        items.append({**view, "evidence": evidence, "monitoring": monitoring})
    open_items = [i for i in items if i["status"] == "open"]
    section = active[1].risk if active else None
    return {
        "system": {
            "name": system.name,
            "owner": system.owner,
            "purpose": system.purpose,
            "population": system.population,
            "tier": system.tier,
            "status": system.status,
        },
        "as_of": ctx.now().isoformat(),
        "policy_version": None if active is None else active[0].version,
        "scales": None
        if section is None
        else {
            "likelihood": [p.model_dump() for p in section.likelihood],
            "impact": [p.model_dump() for p in section.impact],
            "ratings": [b.model_dump() for b in section.ratings],
            "review_days": None if register is None else register.review_days,
            "acceptance": section.acceptance.model_dump(),
        },
        "environments": [
            {k: v for k, v in env.items() if k != "gate_run"}
            | {"gate_run": None if env["gate_run"] is None else _run_summary(env["gate_run"])}
            for env in environments
        ],
        "risks": items,
        "summary": {
            "open": len(open_items),
            "closed": len(items) - len(open_items),
            "residual": _count(open_items, "residual_rating"),
            "inherent": _count(open_items, "inherent_rating"),
            "with_gaps": sum(1 for i in open_items if i["gaps"]),
            "realised": sum(1 for i in items if i["realised_incidents"]),
        },
        "accepted": [
            {
                "risk": i["id"],
                "title": i["title"],
                "residual_rating": i["residual_rating"],
                "accepted_by": i["accepted_by"],
                "accepted_at": i["accepted_at"],
                "note": i["acceptance_note"],
            }
            for i in items
            if i["accepted_by"]
        ],
    }


def _run_summary(run: dict[str, Any]) -> dict[str, Any]:
    return {k: run[k] for k in ("id", "environment", "passed", "at", "policy_version")}


def _count(items: list[dict[str, Any]], key: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item[key]] = counts.get(item[key], 0) + 1
    return counts

"""Safe rollout: a canary or shadow period of a candidate release beside the live one.

- ``charter deploy REF --env prod --canary 0.1`` serves the candidate to a share of the
  traffic; ``--shadow`` has it score the same traffic without serving it. Either passes
  the same gate and approval as a plain deploy (:func:`deployments.clear_for_traffic`).
- The route tells the SDK (``rollout: {kind, release, share}``); the kill switch, a
  lapsed approval and an out-of-service system override it.
- ``charter rollout promote`` makes the candidate the live release: it re-evaluates the
  gate and approval, and the pack's ``rollout`` requirement is checked against what was
  monitored (rows and windows that exist); ``charter rollout abort`` ends the period.
- A rollback aborts the active rollout; a kill leaves it but nobody is routed to it.

Every change is a governed ``rollouts`` row plus a ``deployments`` history row, audited
in one event.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from charter.domain.errors import BadInput, Conflict, Forbidden, NotFound
from charter.domain.roles import Permission
from charter.domain.rollout import PeriodFacts, check_share, promotion_problems
from charter.services import audit, policies
from charter.services.context import Context
from charter.services.environments import check_environment
from charter.services.releases import find_release
from charter.services.systems import find_system
from charter.store.models import Deployment, Release, Rollout, Route, System


def active(ctx: Context, system_id: int, environment: str) -> Rollout | None:
    """The active rollout of a route, if any."""
    return ctx.session.scalar(
        select(Rollout).where(
            Rollout.system_id == system_id,
            Rollout.environment == environment,
            Rollout.status == "active",
        )
    )


def _route(ctx: Context, system: System, environment: str) -> Route | None:
    return ctx.session.scalar(
        select(Route).where(Route.system_id == system.id, Route.environment == environment)
    )


def _requirement(ctx: Context, system: System, environment: str) -> Any:
    found = policies.in_force(ctx)
    return None if found is None else found[1].rollout.requirement_for(system.tier, environment)


def _ref(release: Release) -> str:
    return f"{release.system.name}@{release.digest}"


def _log(
    ctx: Context,
    rollout: Rollout,
    action: str,
    reason: str,
    *,
    gate_run_id: int | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
    """One history row and one audit event for a change of a rollout."""
    ctx.session.add(
        Deployment(
            system_id=rollout.system_id,
            environment=rollout.environment,
            action=action,
            release_id=rollout.release_id,
            gate_run_id=gate_run_id,
            reason=reason,
            created_at=ctx.now(),
            created_by=ctx.actor.name,
        )
    )
    ctx.session.flush()
    audit.record(
        ctx,
        f"deployment.{action}",
        "system",
        rollout.system.name,
        {
            "environment": rollout.environment,
            "rollout_id": rollout.id,
            "kind": rollout.kind,
            "release": _ref(rollout.release),
            "live": _ref(rollout.baseline),
            "share": rollout.share,
            "status": rollout.status,
            "reason": reason,
            "gate_run_id": gate_run_id,
            **(extra or {}),
        },
    )


def start(
    ctx: Context,
    ref: str,
    environment: str,
    *,
    canary: float | None,
    shadow: bool,
    reason: str = "",
    system: str | None = None,
) -> Route:
    """Start a canary (``canary`` share of the traffic) or a shadow of ``ref``.

    Refused, with nothing written, for a share outside (0, 1), both kinds at once, a
    release of another system than ``system``, nothing live to compare with, the live
    release itself, a killed route, a rollout already active, or a gate or approval
    that does not clear the candidate for traffic.
    """
    from charter.services.deployments import clear_for_traffic

    ctx.require(Permission.DEPLOY)
    if canary is not None and shadow:
        raise BadInput("a rollout is a canary or a shadow, not both", fields=["canary", "shadow"])
    share = check_share(canary) if canary is not None else None
    kind = "canary" if share is not None else "shadow"
    check_environment(ctx, environment)
    release = find_release(ctx, ref)
    if system is not None and system != release.system.name:
        find_system(ctx, system)  # an unknown system is NotFound, not a mismatch
        raise BadInput(
            f"a {kind} compares releases of one system: {ref} is a release of "
            f"{release.system.name!r}, not of {system!r}",
            fields=["ref"],
        )
    route = _route(ctx, release.system, environment)
    name = release.system.name
    if route is None:
        raise Conflict(
            f"nothing of {name} is live in {environment!r}: a {kind} runs beside a live "
            "release (deploy one first)"
        )
    if route.release_id == release.id:
        raise Conflict(f"{ref} is already the live release in {environment!r}")
    if route.state == "killed":
        raise Conflict(f"{name} is killed in {environment!r}: resume it before a {kind}")
    current = active(ctx, route.system_id, environment)
    if current is not None:
        raise Conflict(
            f"a {current.kind} of {name}@{current.release.digest[:12]} is already active in "
            f"{environment!r}: promote or abort it first (charter rollout)"
        )
    run, _ = clear_for_traffic(ctx, release, environment, what=kind)
    rollout = Rollout(
        system_id=route.system_id,
        environment=environment,
        kind=kind,
        release_id=release.id,
        baseline_release_id=route.release_id,
        share=share,
        status="active",
        gate_run_id=run.id,
        reason=reason,
        started_at=ctx.now(),
        started_by=ctx.actor.name,
        ended_at=None,
        ended_by=None,
        outcome="",
    )
    ctx.session.add(rollout)
    ctx.session.flush()
    ctx.session.refresh(rollout)
    _log(ctx, rollout, kind, reason, gate_run_id=run.id)
    return route


def check_plain_deploy(ctx: Context, release: Release, environment: str) -> None:
    """Refuse a plain deploy that would skip a rollout: one is active on the route, or the
    pack requires a canary or shadow period to replace the live release."""
    route = _route(ctx, release.system, environment)
    if route is None or route.release_id == release.id:
        return  # a first deploy (nothing to compare with), or a no-op the caller refuses
    current = active(ctx, route.system_id, environment)
    if current is not None:
        raise Conflict(
            f"a {current.kind} of {_ref(current.release)} is active in {environment!r}: "
            "promote or abort it first (charter rollout)"
        )
    requirement = _requirement(ctx, release.system, environment)
    if requirement is not None:
        raise Forbidden(
            f"deploy refused: the policy requires a {' or '.join(requirement.kinds)} period "
            f"for tier {release.system.tier!r} in {environment!r} before a new release "
            "replaces the live one (deploy with --canary SHARE or --shadow, then "
            "charter rollout promote)"
        )


def end_active(ctx: Context, route: Route, status: str, outcome: str) -> Rollout | None:
    """End the route's active rollout (``aborted``), audited; None when there is none."""
    rollout = active(ctx, route.system_id, route.environment)
    if rollout is None:
        return None
    _end(ctx, rollout, status, outcome)
    _log(ctx, rollout, "abort" if status == "aborted" else "promote", outcome)
    return rollout


def _end(ctx: Context, rollout: Rollout, status: str, outcome: str) -> None:
    rollout.status = status
    rollout.ended_at = ctx.now()
    rollout.ended_by = ctx.actor.name
    rollout.outcome = outcome
    ctx.session.flush()


def route_rollout(ctx: Context, route: Route, live_approval: str) -> dict[str, Any] | None:
    """What the route tells the SDK of the active rollout: None when there is none, or
    when nobody is routed to its candidate (:func:`charter.services.status_read.
    held_because`, the one rule the status view reports too: the kill switch, an
    out-of-service system, a lapsed live or candidate approval)."""
    from charter.services import approvals
    from charter.services.status_read import held_because

    rollout = active(ctx, route.system_id, route.environment)
    if rollout is None:
        return None
    candidate = approvals.approval_for(ctx, rollout.release, route.environment)
    status = route.release.system.status
    if held_because(route.state, status, live_approval, candidate.state) is not None:
        return None
    return {
        "id": rollout.id,
        "kind": rollout.kind,
        "release": _ref(rollout.release),
        "share": rollout.share,
        "started_at": rollout.started_at.isoformat(),
    }


def period_facts(ctx: Context, rollout: Rollout) -> PeriodFacts:
    """What was actually monitored of a rollout: hours, rows, windows, open alerts.

    A canary counts the candidate's ingested rows and the windows the worker judged for
    it since the start; a shadow counts the requests compared and the hours holding any.
    """
    from charter.services import shadow
    from charter.services.windowing import BUCKET_WIDTH, floor
    from charter.store.monitoring_models import Alert, MonitorBucket, MonitorWindow

    end = rollout.ended_at or ctx.now()
    hours = max(0.0, (end - rollout.started_at).total_seconds() / 3600.0)
    if rollout.kind == "shadow":
        compared = shadow.compared_hours(ctx, rollout)
        return PeriodFacts("shadow", hours, sum(compared.values()), len(compared))
    since = floor(rollout.started_at, BUCKET_WIDTH)
    rows = ctx.session.scalar(
        select(func.coalesce(func.sum(MonitorBucket.rows), 0)).where(
            MonitorBucket.release_id == rollout.release_id,
            MonitorBucket.environment == rollout.environment,
            MonitorBucket.bucket_start >= since,
        )
    )
    windows = ctx.session.scalar(
        select(func.count()).where(
            MonitorWindow.release_id == rollout.release_id,
            MonitorWindow.environment == rollout.environment,
            MonitorWindow.window_start >= since,
        )
    )
    alerts = ctx.session.scalar(
        select(func.count()).where(
            Alert.release_id == rollout.release_id,
            Alert.environment == rollout.environment,
            Alert.status == "open",
        )
    )
    return PeriodFacts("canary", hours, int(rows or 0), int(windows or 0), int(alerts or 0))


def _require_active(ctx: Context, system_name: str, environment: str) -> tuple[Route, Rollout]:
    check_environment(ctx, environment)
    system = find_system(ctx, system_name)
    route = _route(ctx, system, environment)
    if route is None:
        raise NotFound(f"{system_name} has nothing deployed in {environment!r}")
    rollout = active(ctx, system.id, environment)
    if rollout is None:
        raise Conflict(f"{system_name} has no canary or shadow active in {environment!r}")
    return route, rollout


def promote(ctx: Context, system_name: str, environment: str, *, reason: str = "") -> Route:
    """Give the candidate all the traffic: it becomes the live release, the old one the
    rollback target. Refused (nothing written) while the route is killed, while the
    pack's period has not been monitored, or when the gate or approval no longer clear
    the candidate (both are evaluated again, and the gate run stored)."""
    from charter.services.deployments import _record, clear_for_traffic

    ctx.require(Permission.DEPLOY)
    route, rollout = _require_active(ctx, system_name, environment)
    if route.state == "killed":
        raise Conflict(f"{system_name} is killed in {environment!r}: resume it before promoting")
    facts = period_facts(ctx, rollout)
    problems = promotion_problems(_requirement(ctx, route.system, environment), facts)
    if problems:
        raise Forbidden("promotion refused: " + "; ".join(problems))
    run, approval = clear_for_traffic(ctx, rollout.release, environment, what="promotion")
    route.previous_release_id = route.release_id
    route.release_id = rollout.release_id
    route.state = "serving"
    route.fallback = approval.fallback
    route.reason = reason or f"promoted the {rollout.kind}"
    route.updated_at = ctx.now()
    route.updated_by = ctx.actor.name
    _end(ctx, rollout, "promoted", reason or "promoted")
    ctx.session.refresh(route)
    _record(
        ctx,
        route,
        "promote",
        reason,
        gate_run_id=run.id,
        extra={
            "rollout_id": rollout.id,
            "kind": rollout.kind,
            "share": rollout.share,
            "period": {
                "hours": round(facts.hours, 3),
                "rows": facts.rows,
                "windows": facts.windows,
            },
        },
    )
    return route


def abort(ctx: Context, system_name: str, environment: str, *, reason: str) -> Route:
    """End the active canary or shadow: all traffic stays on the live release."""
    ctx.require(Permission.INTERVENE)
    if not reason.strip():
        raise BadInput("aborting a rollout needs a reason", fields=["reason"])
    route, rollout = _require_active(ctx, system_name, environment)
    _end(ctx, rollout, "aborted", reason)
    _log(ctx, rollout, "abort", reason)
    return route


def rollout_view(ctx: Context, system_name: str, environment: str) -> dict[str, Any]:
    """The active (else the newest) rollout of a route: what it is, what was monitored,
    what promotion still needs, and for a shadow the comparison per window."""
    from charter.services import shadow

    ctx.require(Permission.MONITOR_READ)
    check_environment(ctx, environment)
    system = find_system(ctx, system_name)
    rollout = ctx.session.scalar(
        select(Rollout)
        .where(Rollout.system_id == system.id, Rollout.environment == environment)
        .order_by(Rollout.id.desc())
        .limit(1)
    )
    if rollout is None:
        raise NotFound(f"{system_name} has had no canary or shadow in {environment!r}")
    facts = period_facts(ctx, rollout)
    requirement = _requirement(ctx, system, environment)
    return {
        "id": rollout.id,
        "system": system.name,
        "environment": environment,
        "kind": rollout.kind,
        "status": rollout.status,
        "release": _ref(rollout.release),
        "live": _ref(rollout.baseline),
        "share": rollout.share,
        "reason": rollout.reason,
        "started_at": rollout.started_at,
        "started_by": rollout.started_by,
        "ended_at": rollout.ended_at,
        "ended_by": rollout.ended_by,
        "outcome": rollout.outcome,
        "monitored": {
            "hours": round(facts.hours, 3),
            "rows": facts.rows,
            "windows": facts.windows,
            "open_alerts": facts.open_alerts,
        },
        "requirement": requirement.model_dump(mode="json") if requirement else None,
        "promotion_blocked_by": promotion_problems(requirement, facts)
        if rollout.status == "active"
        else [],
        "comparison": shadow.comparison(ctx, rollout) if rollout.kind == "shadow" else None,
        "canary_windows": _canary_windows(ctx, rollout) if rollout.kind == "canary" else None,
    }


def _canary_windows(ctx: Context, rollout: Rollout, limit: int = 24) -> list[dict[str, Any]]:
    """The newest windows the worker judged for the candidate, apart from the live ones."""
    from charter.services.windowing import BUCKET_WIDTH, floor
    from charter.store.monitoring_models import MonitorWindow

    rows = ctx.session.scalars(
        select(MonitorWindow)
        .where(
            MonitorWindow.release_id == rollout.release_id,
            MonitorWindow.environment == rollout.environment,
            MonitorWindow.window_start >= floor(rollout.started_at, BUCKET_WIDTH),
        )
        .order_by(MonitorWindow.window_start.desc())
        .limit(limit)
    ).all()
    return [
        {
            "start": row.window_start.isoformat(),
            "end": row.window_end.isoformat(),
            "rows": row.rows,
            "labelled": row.labelled,
            "breaches": [
                b
                for b in row.result.get("breaches", [])
                if isinstance(b, dict) and b.get("breached")
            ],
        }
        for row in rows
    ]

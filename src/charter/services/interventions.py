"""Automatic intervention: the worker does what the policy says a breach does.

After each pass the worker calls :func:`act_on_alerts`. For every open alert that has no
intervention yet, the pack's ``interventions`` rules (tier, monitor, severity) choose
``alert_only``, ``kill`` (to the approved fallback) or ``rollback`` (to the previous
release, if it still holds a valid approval; else kill, if a fallback exists). The
intervention row is written first and its ``alert_id`` is unique: on PostgreSQL a second
worker's insert fails (or waits for the first to commit, then fails), so one alert is
acted on once. The route row is locked (``FOR UPDATE``) while it changes, so a human kill
issued during a rollback is applied before or after it, never interleaved; whichever
comes second sees the state the first left and the audit log has both.

Each intervention records the policy version and rule, the alert, the release before and
after; opens (or joins) the alert's incident and marks it mitigated; and puts the intervention in
the alert's details. The worker intervenes before it sends the pass's notifications, and a
notification renders the alert when it is sent, so the channels hear of the alert and of
what was done about it in one message. ``charter resume`` after an
automatic kill marks the intervention ``overridden`` (audited as the resume is).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from charter.domain.interventions import InterventionsPolicy
from charter.domain.roles import Permission
from charter.services import approvals, audit, deployments, incidents, policies
from charter.services.context import Actor, Charter, Context
from charter.store.models import Route
from charter.store.monitoring_models import Alert
from charter.store.runtime_models import Intervention

#: Alerts considered per pass (the oldest first).
BATCH = 200


def _pending_alert_ids(ctx: Context) -> list[int]:
    return list(
        ctx.session.scalars(
            select(Alert.id)
            .outerjoin(Intervention, Intervention.alert_id == Alert.id)
            .where(Alert.status == "open", Intervention.id.is_(None))
            .order_by(Alert.id)
            .limit(BATCH)
        )
    )


def act_on_alerts(charter: Charter, actor: Actor) -> dict[str, int]:
    """One pass over open alerts without an intervention; returns counts by outcome."""
    with charter.as_actor(actor, write=False) as ctx:
        ctx.require(Permission.MONITOR_RUN)
        pending = _pending_alert_ids(ctx)
    counts = {"interventions": 0, "alerts_claimed_elsewhere": 0, "incidents": 0}
    for alert_id in pending:
        try:
            with charter.as_actor(actor, write=True) as ctx:
                done = _act(ctx, alert_id)
        except IntegrityError:
            counts["alerts_claimed_elsewhere"] += 1  # another worker claimed it first
            continue
        if done is not None:
            counts["interventions"] += 1
            counts[done] = counts.get(done, 0) + 1
    with charter.as_actor(actor, write=True) as ctx:
        counts["incidents"] = incidents.open_critical(ctx)
    return counts


def _policy(ctx: Context) -> tuple[int | None, InterventionsPolicy]:
    active = policies.in_force(ctx)
    if active is None:
        return None, InterventionsPolicy()
    return active[0].version, active[1].interventions


def _act(ctx: Context, alert_id: int) -> str | None:
    alert = ctx.session.get(Alert, alert_id)
    if alert is None or alert.status != "open":
        return None
    version, policy = _policy(ctx)
    action, index = policy.decide(alert.system.tier, alert.monitor.split(":")[0], alert.severity)
    rule: dict[str, Any] = (
        policy.rules[index].model_dump(mode="json") if index is not None else {"default": True}
    )
    entry = Intervention(
        alert_id=alert.id,
        system_id=alert.system_id,
        environment=alert.environment,
        action=action,
        status="claimed",
        policy_version=version,
        rule=rule,
        release_from=None,
        release_to=None,
        outcome="",
        incident_id=None,
        created_at=ctx.now(),
        created_by=ctx.actor.name,
    )
    ctx.session.add(entry)
    ctx.session.flush()  # the unique alert_id: a second worker fails here
    if action == "alert_only":
        entry.status, entry.outcome = "done", "alert only (policy)"
        return "alert_only"
    route = ctx.session.scalar(
        select(Route)
        .where(Route.system_id == alert.system_id, Route.environment == alert.environment)
        .with_for_update(of=Route)
    )
    if route is None:
        entry.status, entry.outcome = "refused", "nothing is deployed there any more"
        return "refused"
    entry.release_from = route.release.digest
    reason = (
        f"automatic {action}: alert #{alert.id} ({alert.summary}) under policy v{version} "
        f"rule {index}"
    )
    extra = {"automatic": True, "alert_id": alert.id, "policy_version": version, "rule": rule}
    status, outcome = _carry_out(ctx, route, alert, action, reason, extra)
    entry.status, entry.outcome = status, outcome
    entry.release_to = route.release.digest
    incident = incidents.open_for_alert(ctx, alert, source="intervention")
    entry.incident_id = incident.id
    incidents.link(ctx, incident, "interventions", entry.id)
    if status == "done" and incident.status in ("open", "acknowledged"):
        incidents.advance(
            ctx, incident, "mitigated", f"{outcome} (automatic)", intervention_id=entry.id
        )
    alert.details = {
        **alert.details,
        "intervention": {"id": entry.id, "action": action, "status": status, "outcome": outcome},
    }
    audit.record(
        ctx,
        "intervention.automatic",
        "system",
        alert.system.name,
        {
            "intervention_id": entry.id,
            "alert_id": alert.id,
            "environment": alert.environment,
            "action": action,
            "status": status,
            "outcome": outcome,
            "policy_version": version,
            "rule": rule,
            "release_from": entry.release_from,
            "release_to": entry.release_to,
        },
    )
    return status


def _kill(ctx: Context, route: Route, reason: str, extra: dict[str, Any]) -> tuple[str, str]:
    if route.state == "killed":
        return "noop", "already killed to the fallback"
    if not route.fallback:
        return "refused", "no approved fallback to kill to"
    route.state = "killed"
    route.reason = reason
    route.updated_at = ctx.now()
    route.updated_by = ctx.actor.name
    deployments._record(ctx, route, "kill", reason, extra=extra)
    return "done", f"killed to the fallback {route.fallback.get('ref', route.fallback)}"


def _carry_out(
    ctx: Context, route: Route, alert: Alert, action: str, reason: str, extra: dict[str, Any]
) -> tuple[str, str]:
    """Change the route (already locked); returns (status, what happened)."""
    from charter.services import rollouts

    candidate = rollouts.active(ctx, route.system_id, route.environment)
    if candidate is not None and candidate.release_id == alert.release_id:
        # A breaching canary is what the canary exists to catch: end it, leave the live
        # release alone (killing or rolling back the route would punish the wrong release).
        rollouts.end_active(ctx, route, "aborted", reason)
        return "done", f"aborted the {candidate.kind} of {alert.release.digest[:12]}"
    if route.release_id != alert.release_id:
        return "noop", "the alerting release is no longer live: nothing to do"
    if action == "kill":
        return _kill(ctx, route, reason, extra)
    # rollback
    if route.state == "killed":
        return "noop", "already killed to the fallback (a kill stands until resumed)"
    target = route.previous_release
    if target is not None:
        approval = approvals.approval_for(ctx, target, route.environment)
        if approval.approved:
            route.previous_release_id, route.release_id = route.release_id, target.id
            route.state = "serving"
            route.fallback = approval.fallback
            route.reason = reason
            route.updated_at = ctx.now()
            route.updated_by = ctx.actor.name
            ctx.session.flush()
            ctx.session.refresh(route)
            deployments._record(ctx, route, "rollback", reason, extra=extra)
            return "done", f"rolled back to {target.digest[:12]}"
        why = f"the previous release is {approval.state}"
    else:
        why = "there is no previous release"
    status, outcome = _kill(ctx, route, reason + f"; rollback impossible ({why})", extra)
    return status, f"rollback impossible ({why}); " + outcome


def note_resume(ctx: Context, system_name: str, environment: str, reason: str) -> None:
    """Mark the automatic kills a human just resumed as overridden."""
    from charter.services.systems import find_system

    system = find_system(ctx, system_name)
    rows = ctx.session.scalars(
        select(Intervention).where(
            Intervention.system_id == system.id,
            Intervention.environment == environment,
            Intervention.status == "done",
            Intervention.action.in_(("kill", "rollback")),
        )
    )
    for row in rows:
        if row.action == "kill" or "killed" in row.outcome:
            row.status = "overridden"
            row.outcome += f"; overridden by {ctx.actor.name}: {reason}"
            audit.record(
                ctx,
                "intervention.overridden",
                "system",
                system_name,
                {"intervention_id": row.id, "environment": environment, "reason": reason},
            )


def intervention_view(row: Intervention) -> dict[str, Any]:
    """The public shape of an intervention."""
    return {
        "id": row.id,
        "alert_id": row.alert_id,
        "system": row.system.name,
        "environment": row.environment,
        "action": row.action,
        "status": row.status,
        "policy_version": row.policy_version,
        "rule": row.rule,
        "release_from": row.release_from,
        "release_to": row.release_to,
        "outcome": row.outcome,
        "incident_id": row.incident_id,
        "created_at": row.created_at.isoformat(),
        "created_by": row.created_by,
    }


def list_interventions(
    ctx: Context, *, system: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Interventions, newest first."""
    from charter.services.systems import find_system

    ctx.require(Permission.MONITOR_READ)
    query = select(Intervention).order_by(Intervention.id.desc()).limit(max(1, min(limit, 1000)))
    if system is not None:
        query = query.where(Intervention.system_id == find_system(ctx, system).id)
    return [intervention_view(r) for r in ctx.session.scalars(query)]

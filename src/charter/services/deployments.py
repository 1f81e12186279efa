"""Deployments and intervention: deploy behind the gate, roll back, kill to fallback, resume."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from charter.domain.approvals import ApprovalState
from charter.domain.errors import BadInput, Conflict, Forbidden, NotFound
from charter.domain.roles import Permission
from charter.services import approvals, audit, gates
from charter.services.context import Context
from charter.services.environments import check_environment
from charter.services.releases import find_release
from charter.services.systems import find_system
from charter.store.models import Deployment, GateRun, Release, Route, System


def _approval(ctx: Context, release: Release, environment: str) -> ApprovalState:
    return approvals.approval_for(ctx, release, environment)


def _route(ctx: Context, system: System, environment: str) -> Route | None:
    return ctx.session.scalar(
        select(Route).where(Route.system_id == system.id, Route.environment == environment)
    )


def _require_route(ctx: Context, system_name: str, environment: str) -> Route:
    check_environment(ctx, environment)
    system = find_system(ctx, system_name)
    route = _route(ctx, system, environment)
    if route is None:
        raise NotFound(f"{system_name} has nothing deployed in {environment!r}")
    return route


def _record(
    ctx: Context,
    route: Route,
    action: str,
    reason: str,
    *,
    gate_run_id: int | None = None,
    extra: dict[str, Any] | None = None,
) -> Deployment:
    entry = Deployment(
        system_id=route.system_id,
        environment=route.environment,
        action=action,
        release_id=route.release_id,
        gate_run_id=gate_run_id,
        reason=reason,
        created_at=ctx.now(),
        created_by=ctx.actor.name,
    )
    ctx.session.add(entry)
    ctx.session.flush()
    audit.record(
        ctx,
        f"deployment.{action}",
        "system",
        route.system.name,
        {
            "environment": route.environment,
            "release": f"{route.system.name}@{route.release.digest}",
            "state": route.state,
            "fallback": route.fallback,
            "reason": reason,
            "gate_run_id": gate_run_id,
            **(extra or {}),
        },
    )
    return entry


def clear_for_traffic(
    ctx: Context, release: Release, environment: str, *, what: str = "deploy"
) -> tuple[GateRun, ApprovalState]:
    """The one check before a release takes traffic (deploy, canary, shadow, promotion):
    the gate passes and an approval covers the environment. Stores the gate run checked.

    Refused (Forbidden, nothing written) otherwise; run ``charter gate`` to store why.
    """
    if release.system.status in ("retired", "suspended"):
        raise Forbidden(
            f"system {release.system.name!r} is {release.system.status}: no deployments"
        )
    # One evaluation: the report checked here is the gate run stored below.
    report = gates.evaluate(ctx, release, environment)
    failed = [r for r in report["results"] if r["status"] == "fail"]
    problems = [f"{r['control_id']}: {r['reason']}" for r in failed]
    approval = _approval(ctx, release, environment)
    if not approval.approved and not any(r["kind"] == "approval_quorum" for r in failed):
        unmet = "; ".join(approval.unmet)
        problems.insert(0, f"no valid approval for {environment!r} ({approval.state}: {unmet})")
    if problems:
        raise Forbidden(f"{what} refused: " + "; ".join(problems))
    return gates.record_run(ctx, release, environment, report), approval


def deploy(
    ctx: Context,
    ref: str,
    environment: str,
    *,
    reason: str = "",
    canary: float | None = None,
    shadow: bool = False,
    system: str | None = None,
) -> Route:
    """Make a release live; refused unless its gate passes and an approval covers the environment.

    ``canary`` (a share strictly between 0 and 1) or ``shadow`` start a rollout of the
    release beside the live one instead (see :mod:`charter.services.rollouts`); ``system``
    names the route's system when the caller wants it checked. A refused deploy writes
    nothing; run ``charter gate`` to store the evidence of why.
    """
    ctx.require(Permission.DEPLOY)
    if canary is not None or shadow:
        from charter.services import rollouts

        return rollouts.start(
            ctx, ref, environment, canary=canary, shadow=shadow, reason=reason, system=system
        )
    check_environment(ctx, environment)
    release = find_release(ctx, ref)
    if system is not None and system != release.system.name:
        raise BadInput(
            f"{ref} is a release of {release.system.name!r}, not of {system!r}", fields=["ref"]
        )
    from charter.services import rollouts

    rollouts.check_plain_deploy(ctx, release, environment)
    run, approval = clear_for_traffic(ctx, release, environment)
    route = _route(ctx, release.system, environment)
    fallback = approval.fallback
    if route is None:
        route = Route(
            system_id=release.system_id,
            environment=environment,
            release_id=release.id,
            previous_release_id=None,
            state="serving",
            fallback=fallback,
            reason=reason,
            updated_at=ctx.now(),
            updated_by=ctx.actor.name,
        )
        ctx.session.add(route)
    else:
        if route.release_id == release.id and route.state == "serving":
            raise Conflict(f"{ref} is already live in {environment!r}")
        if route.release_id != release.id:
            route.previous_release_id = route.release_id
        route.release_id = release.id
        route.state = "serving"
        route.fallback = fallback
        route.reason = reason
        route.updated_at = ctx.now()
        route.updated_by = ctx.actor.name
    ctx.session.flush()
    ctx.session.refresh(route)
    _record(ctx, route, "deploy", reason, gate_run_id=run.id)
    return route


def rollback(ctx: Context, system_name: str, environment: str, *, reason: str) -> Route:
    """Return to the previous release, if it still holds a valid approval for the environment."""
    ctx.require(Permission.INTERVENE)
    if not reason.strip():
        raise BadInput("a rollback needs a reason", fields=["reason"])
    route = _require_route(ctx, system_name, environment)
    if route.previous_release is None:
        raise Conflict(f"{system_name} has no previous release in {environment!r} to roll back to")
    target = route.previous_release
    approval = _approval(ctx, target, environment)
    if not approval.approved:
        raise Forbidden(
            f"rollback refused: the previous release {system_name}@{target.digest[:12]} "
            f"has no valid approval for {environment!r} (it is {approval.state})"
        )
    from charter.services import rollouts

    # A rollout compares a candidate with the release being rolled away from: it ends.
    rollouts.end_active(ctx, route, "aborted", f"rolled back: {reason}")
    route.previous_release_id, route.release_id = route.release_id, target.id
    route.state = "serving"
    route.fallback = approval.fallback
    route.reason = reason
    route.updated_at = ctx.now()
    route.updated_by = ctx.actor.name
    ctx.session.flush()
    ctx.session.refresh(route)
    _record(ctx, route, "rollback", reason)
    return route


def kill(ctx: Context, system_name: str, environment: str, *, reason: str) -> Route:
    """Switch a system to its approved fallback (the kill switch)."""
    ctx.require(Permission.INTERVENE)
    if not reason.strip():
        raise BadInput("a kill needs a reason", fields=["reason"])
    route = _require_route(ctx, system_name, environment)
    if route.state == "killed":
        raise Conflict(f"{system_name} is already killed in {environment!r}")
    if not route.fallback:
        raise Forbidden(
            f"{system_name} has no approved fallback in {environment!r}: roll back instead, "
            "or approve a release naming a fallback"
        )
    route.state = "killed"
    route.reason = reason
    route.updated_at = ctx.now()
    route.updated_by = ctx.actor.name
    _record(ctx, route, "kill", reason)
    return route


def resume(ctx: Context, system_name: str, environment: str, *, reason: str) -> Route:
    """Undo a kill: serve the live release again, if its approval is still valid."""
    ctx.require(Permission.INTERVENE)
    if not reason.strip():
        raise BadInput("resuming needs a reason", fields=["reason"])
    route = _require_route(ctx, system_name, environment)
    if route.state != "killed":
        raise Conflict(f"{system_name} is not killed in {environment!r}")
    approval = _approval(ctx, route.release, environment)
    if not approval.approved:
        raise Forbidden(
            f"resume refused: the live release has no valid approval for {environment!r} "
            f"(it is {approval.state})"
        )
    route.state = "serving"
    route.reason = reason
    route.updated_at = ctx.now()
    route.updated_by = ctx.actor.name
    _record(ctx, route, "resume", reason)
    return route


def route_view(ctx: Context, system_name: str, environment: str) -> dict[str, Any]:
    """What the serving SDK should do right now for a system in an environment.

    ``serve`` is the live release while it is serving and approved; the fallback when the
    system is killed or its approval has lapsed (a lapsed approval is not a licence to
    keep serving); nothing when neither exists.
    """
    ctx.require(Permission.ROUTE_READ)
    route = _require_route(ctx, system_name, environment)
    approval = _approval(ctx, route.release, environment)
    live = {"kind": "release", "ref": f"{system_name}@{route.release.digest}"}
    out_of_service = route.release.system.status in ("suspended", "retired")
    if route.state == "serving" and approval.approved and not out_of_service:
        serve: dict[str, Any] | None = live
        why = "serving the approved live release"
    elif out_of_service:
        # A suspended or retired system is out of service whatever its approval says.
        status = route.release.system.status
        serve = dict(route.fallback) if route.fallback else None
        why = (
            f"system {status}: serving the fallback"
            if serve
            else f"system {status} and no fallback: refuse to serve"
        )
    elif route.fallback:
        serve = dict(route.fallback)
        why = (
            "killed: serving the fallback"
            if route.state == "killed"
            else (f"approval {approval.state}: serving the fallback")
        )
    else:
        serve = None
        why = f"approval {approval.state} and no fallback: refuse to serve"
    from charter.services import rollouts

    # The kill switch, a lapsed approval and an out-of-service system override a rollout:
    # the SDK is told of one only while the live release itself is served.
    rollout = rollouts.route_rollout(ctx, route, approval.state)
    return {
        "system": system_name,
        "environment": environment,
        "state": route.state,
        "rollout": rollout,
        "release": live["ref"],
        "previous_release": (
            f"{system_name}@{route.previous_release.digest}" if route.previous_release else None
        ),
        "fallback": route.fallback,
        "approval": {"state": approval.state, "valid_until": approval.valid_until},
        "serve": serve,
        "why": why,
        "reason": route.reason,
        "updated_at": route.updated_at,
        "updated_by": route.updated_by,
    }


def routes_of(ctx: Context, system: System) -> list[Route]:
    """Every environment's route for a system."""
    return list(
        ctx.session.scalars(
            select(Route).where(Route.system_id == system.id).order_by(Route.environment)
        ).all()
    )

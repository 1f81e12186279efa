"""`charter status`: every system right now, with what needs re-approval and why."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import defer, raiseload

from charter.domain.approvals import DEFAULT_REQUIREMENT, approval_in_force
from charter.domain.policy.intake import recorded_flags
from charter.domain.roles import Permission
from charter.services import policies
from charter.services.approvals import decision_facts
from charter.services.context import Context
from charter.services.signals_view import monitoring_signals
from charter.store.models import (
    Decision,
    GateRun,
    PolicyException,
    PolicyVersion,
    Release,
    Route,
    System,
    User,
)

#: Default notice period for vendor deprecations when no policy control sets one.
DEFAULT_NOTICE_DAYS = 30
#: Approvals ending within this window are flagged as expiring.
EXPIRY_WARNING = timedelta(days=14)


def _vendor_flags(manifest: str, today: date, notice_days: int) -> list[str]:
    flags = []
    for component in json.loads(manifest).get("components", []):
        deprecation = (
            component.get("deprecation_date") if component.get("kind") == "vendor_model" else None
        )
        if not deprecation:
            continue
        when = date.fromisoformat(deprecation)
        if when <= today:
            flags.append(f"vendor model {component['name']} deprecated on {when}")
        elif when <= today + timedelta(days=notice_days):
            flags.append(
                f"vendor model {component['name']} deprecated on {when} (within {notice_days}d)"
            )
    return flags


def _notice_days(
    policy: Any, tier: str, environment: str, intake_flags: frozenset[str] | None = None
) -> int:
    if policy is None:
        return DEFAULT_NOTICE_DAYS
    # Several controls may watch deprecations (a notice period in prod, the date itself
    # everywhere): warn as early as the strictest one would.
    notices = [
        int(getattr(control.params, "notice_days", 0))
        for control in policy.controls_for(tier, environment, intake_flags)
        if control.kind == "vendor_not_deprecated"
    ]
    return max(notices, default=DEFAULT_NOTICE_DAYS)


def _policy_flags(
    policy: Any,
    active: Any,
    versions: dict[int, PolicyVersion],
    decisions: list[Decision],
    tier: str,
    environment: str,
    intake_flags: frozenset[str] | None = None,
) -> list[str]:
    """Flag a release approved under an older policy that required less than today's."""
    granted_under = [
        d.policy_version
        for d in decisions
        if d.verdict != "reject" and environment in d.environments and d.policy_version
    ]
    if policy is None or not granted_under:
        return []
    old_number = max(granted_under)
    if old_number >= active[0].version or old_number not in versions:
        return []
    old_policy = policies.parsed(versions[old_number])
    before = {c.id for c in old_policy.controls_for(tier, environment, intake_flags)}
    added = sorted({c.id for c in policy.controls_for(tier, environment, intake_flags)} - before)
    if not added:
        return []
    return [f"policy v{active[0].version} requires more than v{old_number}: {', '.join(added)}"]


def _signal_flags(signals: dict[str, Any] | None) -> list[str]:
    """Flag what the newest closed monitoring window says needs a look."""
    if not signals:
        return []
    flags = []
    drift = signals.get("drift") or {}
    if drift.get("verdict") == "drift":
        columns = ", ".join(drift.get("columns") or []) or "some columns"
        flags.append(f"drift in {columns}")
    if signals.get("open_alerts"):
        count = signals["open_alerts"]
        flags.append(f"{count} open alert{'s' if count != 1 else ''}")
    return flags


def portfolio(ctx: Context) -> list[dict[str, Any]]:
    """One entry per system: tier, live release per environment, approval, flags, exceptions.

    Systems, routes and gate runs are read as plain columns, and decisions without the
    release, system and creator they would otherwise join; per-(tier, environment) policy
    facts are worked out once. With 1,000 systems, building those ORM rows and decoding
    their JSON columns was most of the cost (see benchmarks/web).
    """
    ctx.require(Permission.STATUS_READ)
    now = ctx.now()
    active = policies.in_force(ctx)
    policy = active[1] if active else None
    versions = {v.version: v for v in ctx.session.scalars(select(PolicyVersion))}
    systems = ctx.session.execute(
        select(
            System.id, System.name, System.tier, System.status, System.owner, System.assessment
        ).order_by(System.name)
    ).all()
    routes: dict[int, list[Any]] = defaultdict(list)
    for route in ctx.session.execute(
        select(
            Route.system_id,
            Route.environment,
            Route.release_id,
            Route.state,
            Release.digest,
            Release.manifest,
            Release.created_by_id,
        )
        .join(Release, Release.id == Route.release_id)
        .order_by(Route.environment)
    ):
        routes[route.system_id].append(route)
    live_ids = {r.release_id for rs in routes.values() for r in rs}
    # What approver independence and tier changes read: the live releases' authors and
    # their systems' assessments (only systems with something live).
    creator_ids = {r.created_by_id for rs in routes.values() for r in rs}
    authors: dict[int, str] = (
        {
            row.id: row.name
            for row in ctx.session.execute(
                select(User.id, User.name).where(User.id.in_(creator_ids))
            )
        }
        if creator_ids
        else {}
    )
    assessments: dict[int, Any] = (
        {
            row.id: row.assessment
            for row in ctx.session.execute(
                select(System.id, System.assessment).where(System.id.in_(list(routes)))
            )
        }
        if routes
        else {}
    )
    decisions: dict[int, list[Decision]] = defaultdict(list)
    if live_ids:
        for decision in ctx.session.scalars(
            select(Decision)
            # What the approval rule does not read stays in the database.
            .options(
                raiseload(Decision.release),
                defer(Decision.conditions),
                defer(Decision.note),
                defer(Decision.use_case),
                defer(Decision.population),
            )
            .where(Decision.release_id.in_(live_ids))
            .order_by(Decision.id)
        ):
            decisions[decision.release_id].append(decision)
    last_gate: dict[tuple[int, str], Any] = {}
    if live_ids:
        for run in ctx.session.execute(
            select(GateRun.release_id, GateRun.environment, GateRun.passed, GateRun.created_at)
            .where(GateRun.release_id.in_(live_ids))
            .order_by(GateRun.id)
        ):
            last_gate[(run.release_id, run.environment)] = run
    live_signals = monitoring_signals(ctx)
    exception_counts: dict[tuple[int, str], int] = {}
    for system_id, status, count in ctx.session.execute(
        select(Release.system_id, PolicyException.status, func.count())
        .join(Release, Release.id == PolicyException.release_id)
        .where(PolicyException.expires_at > now)
        .group_by(Release.system_id, PolicyException.status)
    ):
        exception_counts[(system_id, status)] = count
    requirements: dict[tuple[str, str, frozenset[str] | None], Any] = {}
    notices: dict[tuple[str, str, frozenset[str] | None], int] = {}
    vendor: dict[tuple[int, int], list[str]] = {}
    facts: dict[int, Any] = {}

    entries = []
    for system in systems:
        environments = []
        for route in routes.get(system.id, []):
            scope = (system.tier, route.environment, recorded_flags(system.assessment))
            if scope not in requirements:
                requirements[scope] = (
                    policy.approval_requirements(*scope) if policy else (DEFAULT_REQUIREMENT,)
                )
                notices[scope] = _notice_days(policy, *scope)
            if route.release_id not in facts:  # a release live in several environments
                facts[route.release_id] = decision_facts(
                    decisions.get(route.release_id, []),
                    author=authors.get(route.created_by_id, ""),
                    assessment=assessments.get(system.id) or {},
                )
            approval = approval_in_force(
                facts[route.release_id],
                environment=route.environment,
                now=now,
                requirements=requirements[scope],
            )
            flags = []
            if approval.state != "approved":
                flags.append(f"approval {approval.state}: re-approval needed")
            elif approval.valid_until and approval.valid_until <= now + EXPIRY_WARNING:
                flags.append(f"approval expires {approval.valid_until.date()}")
            if route.state == "killed":
                flags.append("killed: serving the fallback")
            vendor_key = (route.release_id, notices[scope])
            if vendor_key not in vendor:  # a release live in several environments
                vendor[vendor_key] = _vendor_flags(route.manifest, now.date(), notices[scope])
            flags += vendor[vendor_key]
            flags += _policy_flags(
                policy,
                active,
                versions,
                decisions.get(route.release_id, []),
                system.tier,
                route.environment,
                scope[2],
            )
            signals = live_signals.get((system.name, route.environment))
            flags += _signal_flags(signals)
            gate = last_gate.get((route.release_id, route.environment))
            environments.append(
                {
                    "environment": route.environment,
                    "release": f"{system.name}@{route.digest}",
                    "state": route.state,
                    "approval": approval.state,
                    "valid_until": approval.valid_until,
                    "last_gate": None
                    if gate is None
                    else {"passed": gate.passed, "at": gate.created_at},
                    "flags": flags,
                    "monitoring": signals,
                }
            )
        entries.append(
            {
                "name": system.name,
                "tier": system.tier,
                "status": system.status,
                "owner": system.owner,
                "environments": environments,
                "open_exceptions": exception_counts.get((system.id, "approved"), 0),
                "requested_exceptions": exception_counts.get((system.id, "requested"), 0),
                "needs_attention": any(env["flags"] for env in environments),
            }
        )
    return entries

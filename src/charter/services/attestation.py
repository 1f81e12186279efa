"""Attestation: serving processes report the digest of the configuration they loaded.

A digest that names no release of the system, or a release with no valid approval for the
environment, opens one critical "unapproved configuration live" alert per (environment,
digest) and an incident for it. The route and the status show, per environment, what the
processes attested and whether it matches the approved live release.

This module also adds to the route what the SDK needs besides the routing decision: the
tier, the policy version, the rule when the control plane is unreachable, and the guard
configuration of the tier.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from charter.domain.errors import BadInput
from charter.domain.guard_policy import GuardrailsPolicy
from charter.domain.interventions import InterventionsPolicy
from charter.domain.roles import Permission
from charter.domain.text import check_slug
from charter.services import alerts, approvals, audit, policies, status_read
from charter.services.context import Context
from charter.services.status_read import LIVE_FOR
from charter.services.systems import find_system
from charter.store.models import Release, Route, System
from charter.store.runtime_models import Attestation

_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_PROCESS = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def _route(ctx: Context, system: System, environment: str) -> Route | None:
    return ctx.session.scalar(
        select(Route).where(Route.system_id == system.id, Route.environment == environment)
    )


def attest(
    ctx: Context,
    system_name: str,
    environment: str,
    digest: str,
    process_id: str,
    *,
    host: str = "",
    sdk_version: str = "",
) -> dict[str, Any]:
    """Record that ``process_id`` serves the configuration ``digest``; alert if unapproved."""
    ctx.require(Permission.OBSERVATION_WRITE)
    check_slug(environment, "environment")
    if not isinstance(digest, str) or not _DIGEST.match(digest):
        raise BadInput("digest must be 64 lowercase hex characters", location="digest")
    if not isinstance(process_id, str) or not _PROCESS.match(process_id):
        raise BadInput(
            "process_id must be 1-128 letters, digits and . _ : -", location="process_id"
        )
    system = find_system(ctx, system_name)
    release = ctx.session.scalar(
        select(Release).where(Release.system_id == system.id, Release.digest == digest)
    )
    if release is None:
        approved, reason = False, f"no release of {system_name} has digest {digest[:12]}"
    else:
        state = approvals.approval_for(ctx, release, environment)
        approved = state.approved
        reason = (
            f"approved for {environment}"
            if approved
            else f"release {digest[:12]} is {state.state} for {environment}"
        )
    now = ctx.now()
    row = ctx.session.scalar(
        select(Attestation).where(
            Attestation.system_id == system.id,
            Attestation.environment == environment,
            Attestation.process_id == process_id,
            Attestation.digest == digest,
        )
    )
    if row is None:
        row = Attestation(
            system_id=system.id,
            environment=environment,
            process_id=process_id,
            digest=digest,
            release_id=release.id if release else None,
            approved=approved,
            reason=reason,
            host=host[:200],
            sdk_version=sdk_version[:32],
            alert_id=None,
            first_seen_at=now,
            last_seen_at=now,
            reported_by=ctx.actor.name,
        )
        ctx.session.add(row)
        ctx.session.flush()
        audit.record(
            ctx,
            "attestation.reported",
            "system",
            system_name,
            {
                "environment": environment,
                "digest": digest,
                "process_id": process_id,
                "approved": approved,
                "reason": reason,
            },
        )
    else:
        row.last_seen_at = now
        row.approved = approved
        row.reason = reason
    if not approved and row.alert_id is None:
        row.alert_id = _raise_alert(ctx, system, environment, digest, reason)
    return attestation_view(row, system_name)


def _raise_alert(
    ctx: Context, system: System, environment: str, digest: str, reason: str
) -> int | None:
    """Open the critical alert (and its incident) for an unapproved digest."""
    from charter.domain.window_results import Breach
    from charter.monitoring.hysteresis import dedup_key
    from charter.services import incidents

    route = _route(ctx, system, environment)
    if route is None:
        return None  # nothing deployed there: the alert needs a release to hang on
    key = dedup_key(
        system=system.name,
        environment=environment,
        monitor="attestation",
        subject=digest,
        release=digest,
    )
    now = ctx.now()
    breach = Breach(
        monitor="attestation",
        subject=f"unapproved configuration live: {digest[:12]}",
        severity="critical",
        breached=True,
        n=1,
        value=digest,
        bound="an approved release digest",
    )
    window = {"start": now.isoformat(), "end": now.isoformat()}
    alert = alerts.open_alert(ctx, route, key, breach, now, window)
    alert.summary = f"unapproved configuration live in {environment}: {reason}"
    incidents.open_for_alert(ctx, alert, source="alert")
    return alert.id


def attestation_view(row: Attestation, system_name: str) -> dict[str, Any]:
    """The public shape of one attestation."""
    return {
        "system": system_name,
        "environment": row.environment,
        "process_id": row.process_id,
        "digest": row.digest,
        "approved": row.approved,
        "reason": row.reason,
        "host": row.host,
        "sdk_version": row.sdk_version,
        "alert_id": row.alert_id,
        "first_seen_at": row.first_seen_at.isoformat(),
        "last_seen_at": row.last_seen_at.isoformat(),
    }


def live_attestations(ctx: Context, system: System, environment: str) -> list[Attestation]:
    """Attestations of processes that reported recently, newest first."""
    since = ctx.now() - LIVE_FOR
    return list(
        ctx.session.scalars(
            select(Attestation)
            .where(
                Attestation.system_id == system.id,
                Attestation.environment == environment,
                Attestation.last_seen_at >= since,
            )
            .order_by(Attestation.last_seen_at.desc())
            .limit(50)
        )
    )


def attestation_summary(ctx: Context, system: System, route: Route) -> dict[str, Any]:
    """What live processes attest for a route, and whether it matches the approved release."""
    return status_read.attestation_summary(
        live_attestations(ctx, system, route.environment), route.release.digest
    )


def serving_policy(ctx: Context, system: System) -> dict[str, Any]:
    """Tier, policy version, unreachable rule and guard configuration for the SDK."""
    active = policies.in_force(ctx)
    guardrails: GuardrailsPolicy = GuardrailsPolicy()
    interventions = InterventionsPolicy()
    version = None
    if active is not None:
        version = active[0].version
        guardrails = getattr(active[1], "guardrails", guardrails)
        interventions = active[1].interventions
    return {
        "tier": system.tier,
        "policy_version": version,
        "unreachable": interventions.when_unreachable(system.tier),
        "guard": guardrails.config_mapping(system.tier),
    }


def route_extras(ctx: Context, system_name: str, environment: str) -> dict[str, Any]:
    """What the route adds for the SDK: the serving policy and the attestation summary."""
    system = find_system(ctx, system_name)
    route = _route(ctx, system, environment)
    extras = serving_policy(ctx, system)
    extras["attestation"] = attestation_summary(ctx, system, route) if route else None
    return extras

"""Exceptions: time-boxed waivers of one control for one release, with their own approval."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from charter.domain.durations import parse_duration
from charter.domain.errors import BadInput, Conflict, Forbidden, NotFound
from charter.domain.roles import DEFAULT_EXCEPTION_APPROVERS, Permission, Role
from charter.domain.text import parse_expiry
from charter.services import audit, policies
from charter.services.context import Context
from charter.services.environments import check_environment
from charter.services.releases import find_release
from charter.store.models import PolicyException, Release

STATUSES = ("requested", "approved", "rejected", "revoked")


def _get(ctx: Context, exception_id: int) -> PolicyException:
    item = ctx.session.get(PolicyException, exception_id)
    if item is None:
        raise NotFound(f"no exception {exception_id}")
    return item


def request_exception(
    ctx: Context,
    ref: str,
    *,
    control_id: str,
    justification: str,
    compensating: str,
    expires: str,
    environment: str | None = None,
) -> PolicyException:
    """Request a waiver of one control for one release; expiry is capped by the policy."""
    ctx.require(Permission.EXCEPTION_REQUEST)
    active = policies.in_force(ctx)
    if active is None:
        raise BadInput("no policy is in force, so there is no control to waive")
    version, policy = active
    release = find_release(ctx, ref)
    tier = release.system.tier
    if environment is not None:
        check_environment(ctx, environment)
    control = policy.control(control_id)
    if control is None:
        raise NotFound(f"policy version {version.version} has no control {control_id!r}")
    if tier not in control.tiers:
        raise BadInput(f"control {control_id!r} does not apply to tier {tier!r}: nothing to waive")
    if not control.waivable:
        raise Forbidden(f"the policy does not allow control {control_id!r} to be waived")
    if not justification.strip():
        raise BadInput("an exception needs a justification", fields=["justification"])
    if not compensating.strip():
        raise BadInput("an exception needs compensating controls", fields=["compensating"])
    expires_at = parse_expiry(expires, now=ctx.now())
    max_days = policy.max_exception_days(tier)
    if max_days is None:
        raise Forbidden(f"the policy allows no exceptions for tier {tier!r}")
    if expires_at > ctx.now() + timedelta(days=max_days):
        raise BadInput(
            f"expiry {expires_at.date()} exceeds the policy's maximum of {max_days} days "
            f"for tier {tier!r}"
        )
    item = PolicyException(
        release_id=release.id,
        control_id=control_id,
        environment=environment,
        justification=justification.strip(),
        compensating=compensating.strip(),
        status="requested",
        expires_at=expires_at,
        policy_version=version.version,
        requested_by=ctx.actor.name,
        requested_at=ctx.now(),
        decided_by=None,
        decided_at=None,
        decision_note="",
    )
    ctx.session.add(item)
    ctx.session.flush()
    audit.record(
        ctx,
        "exception.requested",
        "exception",
        str(item.id),
        {
            "release": f"{release.system.name}@{release.digest}",
            "control": control_id,
            "environment": environment,
            "justification": item.justification,
            "compensating": item.compensating,
            "expires_at": expires_at.isoformat(),
            "policy_version": version.version,
        },
    )
    return item


def _approver_roles(ctx: Context) -> frozenset[str]:
    active = policies.in_force(ctx)
    if active is None:
        return frozenset(role.value for role in DEFAULT_EXCEPTION_APPROVERS)
    return frozenset(active[1].exception_approver_roles)


def may_decide_exceptions(ctx: Context) -> bool:
    """Whether the actor's role may approve or reject exceptions (for adapters' buttons)."""
    return ctx.actor.role.value in _approver_roles(ctx)


def decide_exception(
    ctx: Context, exception_id: int, verdict: str, *, note: str = ""
) -> PolicyException:
    """Approve or reject a requested exception. The requester cannot decide their own."""
    if verdict not in ("approve", "reject"):
        raise BadInput(f"unknown exception verdict {verdict!r}")
    roles = _approver_roles(ctx)
    if ctx.actor.role.value not in roles:
        raise Forbidden(
            f"role {ctx.actor.role.value!r} may not decide exceptions "
            f"(policy: {', '.join(sorted(roles))})"
        )
    item = _get(ctx, exception_id)
    if item.requested_by == ctx.actor.name:
        raise Forbidden(
            "separation of duties: you requested this exception, so you cannot decide it"
        )
    if verdict == "approve" and item.release.created_by_id == ctx.actor.id:
        raise Forbidden(
            "separation of duties: you created this release, so you cannot approve "
            "exceptions to its controls"
        )
    if item.status != "requested":
        raise Conflict(f"exception {exception_id} is {item.status}, not requested")
    if verdict == "approve" and item.expires_at <= ctx.now():
        raise BadInput(f"exception {exception_id} has already expired; request a new one")
    item.status = "approved" if verdict == "approve" else "rejected"
    item.decided_by = ctx.actor.name
    item.decided_at = ctx.now()
    item.decision_note = note.strip()
    audit.record(
        ctx,
        f"exception.{item.status}",
        "exception",
        str(item.id),
        {
            "control": item.control_id,
            "note": item.decision_note,
            "expires_at": item.expires_at.isoformat(),
        },
    )
    return item


def revoke_exception(ctx: Context, exception_id: int, *, note: str) -> PolicyException:
    """Withdraw a requested or approved exception (approver roles, admins, or the requester)."""
    item = _get(ctx, exception_id)
    allowed = ctx.actor.role.value in _approver_roles(ctx) or ctx.actor.role is Role.ADMIN
    if not allowed and item.requested_by != ctx.actor.name:
        raise Forbidden("only an exception approver, an admin or the requester may revoke it")
    if item.status not in ("requested", "approved"):
        raise Conflict(f"exception {exception_id} is already {item.status}")
    if not note.strip():
        raise BadInput("revoking an exception needs a note", fields=["note"])
    item.status = "revoked"
    item.decided_by = ctx.actor.name
    item.decided_at = ctx.now()
    item.decision_note = note.strip()
    audit.record(ctx, "exception.revoked", "exception", str(item.id), {"note": item.decision_note})
    return item


def get_exception(ctx: Context, exception_id: int) -> PolicyException:
    """One exception."""
    ctx.require(Permission.EXCEPTION_READ)
    return _get(ctx, exception_id)


def list_exceptions(
    ctx: Context,
    *,
    system_name: str | None = None,
    status: str | None = None,
    expiring_within: timedelta | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[PolicyException], int]:
    """Exceptions, soonest expiry first.

    ``expiring_within`` keeps approved, unexpired exceptions that end within the window.
    """
    ctx.require(Permission.EXCEPTION_READ)
    query = select(PolicyException)
    if status is not None:
        if status not in STATUSES:
            raise BadInput(f"unknown status {status!r}; valid: {', '.join(STATUSES)}")
        query = query.where(PolicyException.status == status)
    if system_name is not None:
        from charter.services.systems import find_system

        system = find_system(ctx, system_name)
        query = query.join(Release, Release.id == PolicyException.release_id).where(
            Release.system_id == system.id
        )
    if expiring_within is not None:
        now: datetime = ctx.now()
        query = query.where(
            PolicyException.status == "approved",
            PolicyException.expires_at > now,
            PolicyException.expires_at <= now + expiring_within,
        )
    total = ctx.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = ctx.session.scalars(
        query.order_by(PolicyException.expires_at, PolicyException.id).limit(limit).offset(offset)
    )
    return list(rows.all()), total


def parse_window(value: str) -> timedelta:
    """Parse ``14d``, ``12h`` or ``2w`` for listing exceptions that expire within it."""
    return parse_duration(value, what="window")

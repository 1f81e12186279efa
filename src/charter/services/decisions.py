"""Decisions: approve, reject or approve with conditions, with separation of duties."""

from __future__ import annotations

from sqlalchemy import func, select

from charter.domain.approvals import APPROVING, ApprovalState
from charter.domain.decisions import DecisionRequest, check_request, parse_fallback
from charter.domain.errors import BadInput, Forbidden
from charter.domain.policy_facts import recorded_flags
from charter.domain.releases import parse_ref
from charter.domain.roles import Permission
from charter.domain.text import parse_expiry
from charter.services import approvals, audit, contracts, policies
from charter.services.context import Context
from charter.services.environments import check_environment
from charter.services.releases import find_release
from charter.services.systems import find_system
from charter.store.models import Decision, Release


def _check_may_decide(ctx: Context, release: Release, request: DecisionRequest) -> None:
    """Approving needs a role the policy accepts for the tier in every environment named."""
    if request.verdict not in APPROVING:
        ctx.require(Permission.DECISION_REJECT)
        return
    if policies.in_force(ctx) is None:
        ctx.require(Permission.DECISION_APPROVE)
        return
    role = ctx.actor.role.value
    tier = release.system.tier
    for environment in request.environments:
        requirements = approvals.requirements_for(
            ctx, tier, environment, recorded_flags(release.system.assessment)
        )
        roles = {r for req in requirements for r in req.roles}
        if role not in roles:
            raise Forbidden(
                f"role {role!r} may not decision.approve a {tier}-tier release for "
                f"{environment!r} (policy: {', '.join(sorted(roles))})"
            )


def decide(ctx: Context, ref: str, request: DecisionRequest) -> Decision:
    """Record a decision on a release; it supersedes the release's previous decision."""
    check_request(request)
    for environment in request.environments:
        check_environment(ctx, environment)
    release = find_release(ctx, ref)
    _check_may_decide(ctx, release, request)
    if release.system.status == "retired":
        raise BadInput(f"system {release.system.name!r} is retired: no decisions on its releases")
    if request.verdict in APPROVING and release.created_by_id == ctx.actor.id:
        raise Forbidden("separation of duties: you created this release, so you cannot approve it")
    expires_at = parse_expiry(request.expires, now=ctx.now()) if request.expires else None
    fallback = None
    if request.fallback:
        fallback = parse_fallback(request.fallback)
        if fallback.kind == "release":
            target = find_release(ctx, parse_ref(fallback.ref))
            if target.id == release.id:
                raise BadInput("a release cannot be its own fallback")
            fallback = type(fallback)("release", f"{target.system.name}@{target.digest}")
    previous = ctx.session.scalar(
        select(Decision.id).where(Decision.release_id == release.id).order_by(Decision.id.desc())
    )
    contract = contracts.decision_contract(
        release, request.contract if request.verdict in APPROVING else None
    )
    active = policies.in_force(ctx)
    policy_version = active[0].version if active else None
    decision = Decision(
        release_id=release.id,
        verdict=request.verdict,
        actor_id=ctx.actor.id,
        actor_role=ctx.actor.role.value,
        use_case=request.use_case.strip(),
        population=request.population.strip(),
        environments=list(request.environments),
        contract=contract,
        fallback=fallback.as_dict() if fallback else None,
        expires_at=expires_at,
        conditions=[c.strip() for c in request.conditions if c.strip()],
        note=request.note.strip(),
        policy_version=policy_version,
        supersedes_id=previous,
        created_at=ctx.now(),
    )
    ctx.session.add(decision)
    ctx.session.flush()
    audit.record(
        ctx,
        f"decision.{request.verdict}",
        "release",
        f"{release.system.name}@{release.digest}",
        {
            "decision_id": decision.id,
            "verdict": decision.verdict,
            "use_case": decision.use_case,
            "population": decision.population,
            "environments": decision.environments,
            "contract": decision.contract,
            "fallback": decision.fallback,
            "expires_at": expires_at.isoformat() if expires_at else None,
            "conditions": decision.conditions,
            "note": decision.note,
            "supersedes": previous,
            "policy_version": policy_version,
            "approver_provenance": approvals.provenance_of(decision),
        },
    )
    return decision


def approval_states(ctx: Context, release: Release) -> list[ApprovalState]:
    """The release's approval state in every environment any decision names."""
    ctx.require(Permission.DECISION_READ)
    return approvals.approvals_of(ctx, release)


def list_decisions(
    ctx: Context,
    *,
    system_name: str | None = None,
    ref: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Decision], int]:
    """Return a page of decisions, newest first, optionally for one system or release."""
    ctx.require(Permission.DECISION_READ)
    query = select(Decision)
    if ref is not None:
        query = query.where(Decision.release_id == find_release(ctx, ref).id)
    elif system_name is not None:
        system = find_system(ctx, system_name)
        query = query.join(Release, Release.id == Decision.release_id).where(
            Release.system_id == system.id
        )
    total = ctx.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = ctx.session.scalars(query.order_by(Decision.id.desc()).limit(limit).offset(offset))
    return list(rows.all()), total


def role_may_decide(ctx: Context, release: Release, verdict: str, environments: list[str]) -> bool:
    """Whether the actor's role may record ``verdict`` on ``release`` for ``environments``
    under the policy in force.

    Separation of duties is not part of the answer (``decide`` enforces it); adapters use
    this to show an approve or reject button only to the roles that may press it.
    """
    request = DecisionRequest(verdict=verdict, environments=environments)  # type: ignore[arg-type]
    try:
        _check_may_decide(ctx, release, request)
    except Forbidden:
        return False
    return True

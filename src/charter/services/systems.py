"""The inventory of AI systems."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from charter.domain.errors import BadInput, Conflict, Forbidden, NotFound
from charter.domain.roles import Permission
from charter.domain.systems import UNASSESSED, IntakeFile, check_transition
from charter.domain.text import check_slug, iso_utc
from charter.services import audit
from charter.services.context import Context
from charter.store.models import System


def get_system(ctx: Context, name: str) -> System:
    """Return the system called ``name`` or raise NotFound."""
    ctx.require(Permission.SYSTEM_READ)
    return find_system(ctx, name)


def find_system(ctx: Context, name: str) -> System:
    """Look a system up without a permission check (callers have checked their own)."""
    system = ctx.session.scalar(select(System).where(System.name == name))
    if system is None:
        raise NotFound(f"no system named {name!r}")
    return system


def register_system(
    ctx: Context,
    name: str,
    *,
    owner: str | None = None,
    purpose: str | None = None,
    population: str | None = None,
    surfaces: list[str] | None = None,
    intake: IntakeFile | None = None,
) -> System:
    """Register a new system. Explicit arguments override the intake file's fields."""
    ctx.require(Permission.SYSTEM_WRITE)
    check_slug(name, "system name")
    intake = intake or IntakeFile()
    owner = owner if owner is not None else intake.owner
    if not owner or not owner.strip():
        raise BadInput("a system needs an owner (or `owner:` in the intake file)", fields=["owner"])
    chosen_surfaces = surfaces if surfaces is not None else (intake.surfaces or [])
    if ctx.session.scalar(select(System.id).where(System.name == name)) is not None:
        raise Conflict(f"system {name!r} already exists")
    assessment = _assess(ctx, intake)
    system = System(
        name=name,
        owner=owner.strip(),
        purpose=purpose if purpose is not None else (intake.purpose or ""),
        population=population if population is not None else (intake.population or ""),
        surfaces=list(chosen_surfaces),
        intake=dict(intake.answers),
        tier=assessment["tier"],
        assessment=assessment,
        status="proposed",
        created_at=ctx.now(),
        created_by=ctx.actor.name,
    )
    ctx.session.add(system)
    ctx.session.flush()
    audit.record(
        ctx,
        "system.registered",
        "system",
        name,
        {
            "owner": system.owner,
            "purpose": system.purpose,
            "population": system.population,
            "surfaces": system.surfaces,
            "intake": system.intake,
            "tier": system.tier,
            "assessment": assessment,
        },
    )
    return system


def _assess(ctx: Context, intake: IntakeFile) -> dict[str, Any]:
    """Tier the intake answers under the policy in force; prohibited practices are refused."""
    from charter.services import policies

    active = policies.in_force(ctx)
    if active is None:
        return {
            "tier": UNASSESSED,
            "rule": None,
            "reason": "no policy in force",
            "controls": [],
            "policy_version": None,
        }
    from charter.domain.policy import assess_intake

    version, policy = active
    result = assess_intake(policy, dict(intake.answers))
    if result.refused:
        raise Forbidden(f"refused at intake: {result.reason} (rule {result.rule_id})")
    return {
        "tier": result.tier,
        "rule": result.rule_id,
        "reason": result.reason,
        "controls": list(result.controls),
        "flags": list(result.flags),
        "flag_reasons": dict(result.flag_reasons),
        "policy_version": version.version,
    }


def assessment_of(ctx: Context, system: System) -> dict[str, Any]:
    """How intake tiered the system, as recorded when its intake last ran."""
    ctx.require(Permission.SYSTEM_READ)
    return dict(system.assessment or {"tier": system.tier, "rule": None, "controls": []})


def reassess(ctx: Context, name: str, intake: IntakeFile) -> tuple[System, dict[str, Any]]:
    """Re-run intake with new answers: the system is re-tiered and the change audited.

    Only the roles the policy names (``duties.intake_roles``) change the intake directly;
    for anyone else (a system's developers) the change is a proposal that one of those
    roles accepts with :func:`accept_intake`. A developer could otherwise answer a
    high-risk system down to the minimal tier and need one approval instead of two.
    """
    ctx.require(Permission.SYSTEM_WRITE)
    system = find_system(ctx, name)
    assessment = _assess(ctx, intake)
    if ctx.actor.role.value not in intake_roles(ctx):
        system.intake_proposal = {
            "intake": intake.model_dump(mode="json", exclude_none=True),
            "tier": assessment["tier"],
            "from_tier": system.tier,
            "proposed_by": ctx.actor.name,
            "proposed_at": iso_utc(ctx.now()),
        }
        audit.record(ctx, "system.intake_proposed", "system", name, dict(system.intake_proposal))
        return system, assessment_of(ctx, system)
    return _apply_intake(ctx, system, intake, assessment, accepted=None)


def accept_intake(ctx: Context, name: str) -> tuple[System, dict[str, Any]]:
    """Accept the system's pending intake proposal (a role in ``duties.intake_roles``,
    not the proposer); the answers are assessed again under the policy in force."""
    ctx.require(Permission.SYSTEM_WRITE)
    system = find_system(ctx, name)
    roles = intake_roles(ctx)
    if ctx.actor.role.value not in roles:
        raise Forbidden(
            f"intake changes are accepted by {', '.join(sorted(roles))} (policy "
            f"duties.intake_roles); role {ctx.actor.role.value!r} can only propose them"
        )
    proposal = system.intake_proposal
    if not proposal:
        raise NotFound(f"system {name!r} has no intake proposal to accept")
    if proposal.get("proposed_by") == ctx.actor.name:
        raise Forbidden("separation of duties: you proposed this intake change")
    intake = IntakeFile.model_validate(proposal["intake"])
    return _apply_intake(ctx, system, intake, _assess(ctx, intake), accepted=proposal)


def _lowers(ctx: Context, before: str, after: str) -> bool:
    """Whether ``after`` is a less severe tier than ``before`` (tiers: most severe first)."""
    from charter.services import policies

    active = policies.in_force(ctx)
    if active is None:
        return False
    order = active[1].tier_ids
    return before in order and after in order and order.index(after) > order.index(before)


def _apply_intake(
    ctx: Context,
    system: System,
    intake: IntakeFile,
    assessment: dict[str, Any],
    *,
    accepted: dict[str, Any] | None,
) -> tuple[System, dict[str, Any]]:
    previous = system.tier
    if _lowers(ctx, previous, assessment["tier"]):
        # Approvals granted before a tier is lowered were weighed under the old tier's
        # rules; the release needs a fresh approval under the new one.
        assessment = {**assessment, "tier_lowered_at": iso_utc(ctx.now()), "from_tier": previous}
    system.intake = dict(intake.answers)
    system.tier = assessment["tier"]
    system.assessment = assessment
    system.intake_proposal = None
    for field in ("owner", "purpose", "population"):
        value = getattr(intake, field)
        if value is not None:
            setattr(system, field, value)
    if intake.surfaces is not None:
        system.surfaces = list(intake.surfaces)
    payload: dict[str, Any] = {
        "intake": system.intake,
        "from_tier": previous,
        "to_tier": system.tier,
        "assessment": assessment,
    }
    if accepted is not None:
        payload["proposed_by"] = accepted.get("proposed_by")
    audit.record(ctx, "system.intake_updated", "system", system.name, payload)
    return system, assessment


def intake_roles(ctx: Context) -> frozenset[str]:
    """Roles that change a system's intake directly (others propose)."""
    from charter.domain.policy.model import Duties
    from charter.services import policies

    active = policies.in_force(ctx)
    duties = active[1].duties if active is not None else Duties()
    return frozenset(duties.intake_roles)


def set_status(ctx: Context, name: str, status: str, *, reason: str) -> System:
    """Move a system through its lifecycle (proposed, active, suspended, retired)."""
    ctx.require(Permission.SYSTEM_WRITE)
    if not reason.strip():
        raise BadInput("a status change needs a reason")
    system = find_system(ctx, name)
    check_transition(system.status, status)
    if {system.status, status} & CONTROLLED_STATUSES:
        roles = status_roles(ctx)
        if ctx.actor.role.value not in roles:
            raise Forbidden(
                f"role {ctx.actor.role.value!r} may not move a system from {system.status} to "
                f"{status} (policy duties.status_roles: {', '.join(sorted(roles))})"
            )
    previous, system.status = system.status, status
    audit.record(
        ctx,
        "system.status_changed",
        "system",
        name,
        {"from": previous, "to": status, "reason": reason},
    )
    return system


#: Statuses that take a system out of service: entering or leaving one (suspend, retire,
#: resume) is reserved to the roles the policy names.
CONTROLLED_STATUSES = frozenset({"suspended", "retired"})


def status_roles(ctx: Context) -> frozenset[str]:
    """Roles that may suspend, retire or resume a system under the policy in force."""
    from charter.domain.policy.model import Duties
    from charter.services import policies

    active = policies.in_force(ctx)
    duties = active[1].duties if active is not None else Duties()
    return frozenset(duties.status_roles)


def list_systems(ctx: Context, *, limit: int = 50, offset: int = 0) -> tuple[list[System], int]:
    """Return a page of systems, by name, and the total count."""
    ctx.require(Permission.SYSTEM_READ)
    total = ctx.session.scalar(select(func.count()).select_from(System)) or 0
    rows = ctx.session.scalars(select(System).order_by(System.name).limit(limit).offset(offset))
    return list(rows.all()), total

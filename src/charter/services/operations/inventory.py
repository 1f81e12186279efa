"""Operations on the inventory: who am I, users and systems."""

from __future__ import annotations

from charter.domain.systems import IntakeFile
from charter.services import systems, users
from charter.services.context import Context
from charter.services.operations import operation
from charter.services.views import NewTokenView, Page, SystemView, UserView, WhoAmIView


@operation("whoami", write=False)
def whoami(ctx: Context) -> WhoAmIView:
    """Who the acting token belongs to."""
    return WhoAmIView(name=ctx.actor.name, role=ctx.actor.role.value)


@operation("user.create", write=True)
def create_user(ctx: Context, name: str, role: str) -> NewTokenView:
    """Create a user; the view holds its token, shown this once only."""
    user, token = users.create_user(ctx, name, role)
    return NewTokenView(name=user.name, role=user.role, token=token)


@operation("user.token", write=True)
def rotate_token(ctx: Context, name: str) -> NewTokenView:
    """Revoke a user's tokens and issue a new one."""
    user, token = users.rotate_token(ctx, name)
    return NewTokenView(name=user.name, role=user.role, token=token)


@operation("user.list", write=False)
def list_users(ctx: Context, limit: int = 50, offset: int = 0) -> Page[UserView]:
    """A page of users."""
    rows, total = users.list_users(ctx, limit=limit, offset=offset)
    return Page(items=[UserView.of(u) for u in rows], total=total, limit=limit, offset=offset)


@operation("system.register", write=True)
def register_system(
    ctx: Context,
    name: str,
    owner: str | None = None,
    purpose: str | None = None,
    population: str | None = None,
    surfaces: list[str] | None = None,
    intake: IntakeFile | None = None,
) -> SystemView:
    """Register a system; intake assigns its tier."""
    system = systems.register_system(
        ctx,
        name,
        owner=owner,
        purpose=purpose,
        population=population,
        surfaces=surfaces,
        intake=intake,
    )
    return SystemView.of(system, systems.assessment_of(ctx, system))


@operation("system.list", write=False)
def list_systems(ctx: Context, limit: int = 50, offset: int = 0) -> Page[SystemView]:
    """A page of systems, by name."""
    rows, total = systems.list_systems(ctx, limit=limit, offset=offset)
    return Page(items=[SystemView.of(s) for s in rows], total=total, limit=limit, offset=offset)


@operation("system.show", write=False)
def get_system(ctx: Context, name: str) -> SystemView:
    """One system with its intake assessment."""
    system = systems.get_system(ctx, name)
    return SystemView.of(system, systems.assessment_of(ctx, system))


@operation("system.status", write=True)
def set_status(ctx: Context, name: str, status: str, reason: str) -> SystemView:
    """Move a system through its lifecycle."""
    return SystemView.of(systems.set_status(ctx, name, status, reason=reason))


@operation("system.intake", write=True)
def reassess(ctx: Context, name: str, intake: IntakeFile) -> SystemView:
    """Re-run intake with new answers: the system is re-tiered (a proposal, for roles the
    policy does not let change intake directly)."""
    system, assessment = systems.reassess(ctx, name, intake)
    return SystemView.of(system, assessment)


@operation("system.intake_accept", write=True)
def accept_intake(ctx: Context, name: str) -> SystemView:
    """Accept a system's pending intake proposal: the system is re-tiered."""
    system, assessment = systems.accept_intake(ctx, name)
    return SystemView.of(system, assessment)

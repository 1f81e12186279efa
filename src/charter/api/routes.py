"""The ``/api/v1`` endpoints: each parses, calls one service function, and returns a view."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from charter.api.deps import ActorDep, CharterDep, PagingDep
from charter.api.problems import PROBLEM_RESPONSES
from charter.domain.decisions import DecisionRequest
from charter.domain.releases import ReleaseManifest
from charter.domain.systems import IntakeFile
from charter.services import audit, decisions, releases, systems, users
from charter.services.views import (
    AuditEventView,
    AuditHeadView,
    AuditVerifyView,
    DecisionView,
    NewTokenView,
    Page,
    ReleaseView,
    SystemView,
    UserView,
)

router = APIRouter(prefix="/api/v1", responses=PROBLEM_RESPONSES)

Name = Annotated[str, Path(min_length=1, max_length=64, description="A slug.")]
Digest = Annotated[
    str, Path(min_length=12, max_length=71, description="A digest or a unique prefix (12+ hex).")
]


class UserCreate(BaseModel):
    """A new user."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=64)
    role: str = Field(max_length=32)


class SystemCreate(BaseModel):
    """A new system, with its intake."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=64)
    owner: str | None = Field(default=None, max_length=200)
    purpose: str | None = Field(default=None, max_length=10_000)
    population: str | None = Field(default=None, max_length=10_000)
    surfaces: list[str] | None = Field(default=None, max_length=50)
    intake: IntakeFile | None = None


class StatusChange(BaseModel):
    """A system lifecycle change."""

    model_config = ConfigDict(extra="forbid")
    status: str = Field(max_length=16)
    reason: str = Field(max_length=10_000)


class WhoAmI(BaseModel):
    """The authenticated user."""

    name: str
    role: str


@router.get("/me", tags=["users"])
def whoami(actor: ActorDep) -> WhoAmI:
    """Who the bearer token belongs to."""
    return WhoAmI(name=actor.name, role=actor.role.value)


@router.post("/users", status_code=status.HTTP_201_CREATED, tags=["users"])
def create_user(body: UserCreate, charter: CharterDep, actor: ActorDep) -> NewTokenView:
    """Create a user; the response holds its token, shown this once only."""
    with charter.as_actor(actor, write=True) as ctx:
        user, token = users.create_user(ctx, body.name, body.role)
        return NewTokenView(name=user.name, role=user.role, token=token)


@router.get("/users", tags=["users"])
def list_users(charter: CharterDep, actor: ActorDep, paging: PagingDep) -> Page[UserView]:
    """List users."""
    with charter.as_actor(actor, write=False) as ctx:
        rows, total = users.list_users(ctx, limit=paging.limit, offset=paging.offset)
        return Page(items=[UserView.of(u) for u in rows], total=total, **vars(paging))


@router.post("/users/{name}/token", tags=["users"])
def rotate_token(name: Name, charter: CharterDep, actor: ActorDep) -> NewTokenView:
    """Revoke a user's tokens and issue a new one."""
    with charter.as_actor(actor, write=True) as ctx:
        user, token = users.rotate_token(ctx, name)
        return NewTokenView(name=user.name, role=user.role, token=token)


@router.post("/systems", status_code=status.HTTP_201_CREATED, tags=["systems"])
def register_system(body: SystemCreate, charter: CharterDep, actor: ActorDep) -> SystemView:
    """Register a system in the inventory."""
    with charter.as_actor(actor, write=True) as ctx:
        system = systems.register_system(
            ctx,
            body.name,
            owner=body.owner,
            purpose=body.purpose,
            population=body.population,
            surfaces=body.surfaces,
            intake=body.intake,
        )
        return SystemView.of(system, systems.assessment_of(ctx, system))


@router.get("/systems", tags=["systems"])
def list_systems(charter: CharterDep, actor: ActorDep, paging: PagingDep) -> Page[SystemView]:
    """List systems by name."""
    with charter.as_actor(actor, write=False) as ctx:
        rows, total = systems.list_systems(ctx, limit=paging.limit, offset=paging.offset)
        return Page(items=[SystemView.of(s) for s in rows], total=total, **vars(paging))


@router.get("/systems/{name}", tags=["systems"])
def get_system(name: Name, charter: CharterDep, actor: ActorDep) -> SystemView:
    """Read one system."""
    with charter.as_actor(actor, write=False) as ctx:
        system = systems.get_system(ctx, name)
        return SystemView.of(system, systems.assessment_of(ctx, system))


@router.post("/systems/{name}/status", tags=["systems"])
def set_system_status(
    name: Name, body: StatusChange, charter: CharterDep, actor: ActorDep
) -> SystemView:
    """Move a system through its lifecycle."""
    with charter.as_actor(actor, write=True) as ctx:
        return SystemView.of(systems.set_status(ctx, name, body.status, reason=body.reason))


@router.post(
    "/systems/{name}/releases",
    status_code=status.HTTP_201_CREATED,
    tags=["releases"],
    responses={
        200: {"model": ReleaseView, "description": "A release with identical content existed."}
    },
)
def create_release(
    name: Name, body: ReleaseManifest, charter: CharterDep, actor: ActorDep, response: Response
) -> ReleaseView:
    """Create a release from a manifest whose local files are already resolved."""
    with charter.as_actor(actor, write=True) as ctx:
        release, created = releases.create_release(ctx, name, body, base_dir=None)
        if not created:
            response.status_code = status.HTTP_200_OK
        return ReleaseView.of(release, created=created)


@router.get("/systems/{name}/releases", tags=["releases"])
def list_releases(
    name: Name, charter: CharterDep, actor: ActorDep, paging: PagingDep
) -> Page[ReleaseView]:
    """List a system's releases, newest first."""
    with charter.as_actor(actor, write=False) as ctx:
        rows, total = releases.list_releases(ctx, name, limit=paging.limit, offset=paging.offset)
        return Page(items=[ReleaseView.of(r) for r in rows], total=total, **vars(paging))


@router.get("/systems/{name}/releases/{digest}", tags=["releases"])
def get_release(name: Name, digest: Digest, charter: CharterDep, actor: ActorDep) -> ReleaseView:
    """Read one release with its approval state per environment."""
    with charter.as_actor(actor, write=False) as ctx:
        release = releases.get_release(ctx, f"{name}@{digest}")
        return ReleaseView.of(release, approvals=decisions.approval_states(ctx, release))


@router.post(
    "/systems/{name}/releases/{digest}/decisions",
    status_code=status.HTTP_201_CREATED,
    tags=["decisions"],
)
def decide(
    name: Name, digest: Digest, body: DecisionRequest, charter: CharterDep, actor: ActorDep
) -> DecisionView:
    """Approve, reject or approve a release with conditions."""
    with charter.as_actor(actor, write=True) as ctx:
        return DecisionView.of(decisions.decide(ctx, f"{name}@{digest}", body))


@router.get("/decisions", tags=["decisions"])
def list_decisions(
    charter: CharterDep,
    actor: ActorDep,
    paging: PagingDep,
    system: Annotated[str | None, Query(max_length=64)] = None,
    release: Annotated[str | None, Query(max_length=140, description="SYSTEM@DIGEST")] = None,
) -> Page[DecisionView]:
    """List decisions, newest first, optionally for one system or release."""
    with charter.as_actor(actor, write=False) as ctx:
        rows, total = decisions.list_decisions(
            ctx, system_name=system, ref=release, limit=paging.limit, offset=paging.offset
        )
        return Page(items=[DecisionView.of(d) for d in rows], total=total, **vars(paging))


@router.get("/audit/events", tags=["audit"])
def audit_events(
    charter: CharterDep,
    actor: ActorDep,
    paging: PagingDep,
    entity_type: Annotated[str | None, Query(max_length=32)] = None,
    entity_id: Annotated[str | None, Query(max_length=200)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
) -> Page[AuditEventView]:
    """Read the audit log, newest first."""
    with charter.as_actor(actor, write=False) as ctx:
        rows, total = audit.events(
            ctx,
            limit=paging.limit,
            offset=paging.offset,
            entity_type=entity_type,
            entity_id=entity_id,
            action=action,
        )
        return Page(items=[AuditEventView.of(e) for e in rows], total=total, **vars(paging))


@router.get("/audit/head", tags=["audit"])
def audit_head(charter: CharterDep, actor: ActorDep) -> AuditHeadView:
    """The chain head, to anchor outside the database."""
    with charter.as_actor(actor, write=False) as ctx:
        seq, digest = audit.current_head(ctx)
        return AuditHeadView(seq=seq, hash=digest, anchor=f"{seq}:{digest}")


@router.get("/audit/verify", tags=["audit"])
def audit_verify(
    charter: CharterDep,
    actor: ActorDep,
    anchor: Annotated[str | None, Query(max_length=100, description="SEQ:HASH")] = None,
) -> AuditVerifyView:
    """Recompute the whole chain; ``ok`` is false with the first broken link otherwise."""
    parsed = audit.parse_anchor(anchor) if anchor else None
    with charter.as_actor(actor, write=False) as ctx:
        return AuditVerifyView.of(audit.verify(ctx, anchor=parsed))

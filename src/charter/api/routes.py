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
from charter.services.operations import inventory, perform, records
from charter.services.operations import releases as release_ops
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
    WhoAmIView,
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


@router.get("/me", tags=["users"])
def whoami(charter: CharterDep, actor: ActorDep) -> WhoAmIView:
    """Who the bearer token belongs to."""
    return perform(charter, actor, inventory.whoami)


@router.post("/users", status_code=status.HTTP_201_CREATED, tags=["users"])
def create_user(body: UserCreate, charter: CharterDep, actor: ActorDep) -> NewTokenView:
    """Create a user; the response holds its token, shown this once only."""
    return perform(charter, actor, inventory.create_user, body.name, body.role)


@router.get("/users", tags=["users"])
def list_users(charter: CharterDep, actor: ActorDep, paging: PagingDep) -> Page[UserView]:
    """List users."""
    return perform(charter, actor, inventory.list_users, paging.limit, paging.offset)


@router.post("/users/{name}/token", tags=["users"])
def rotate_token(name: Name, charter: CharterDep, actor: ActorDep) -> NewTokenView:
    """Revoke a user's tokens and issue a new one."""
    return perform(charter, actor, inventory.rotate_token, name)


@router.post("/systems", status_code=status.HTTP_201_CREATED, tags=["systems"])
def register_system(body: SystemCreate, charter: CharterDep, actor: ActorDep) -> SystemView:
    """Register a system in the inventory."""
    return perform(charter, actor, inventory.register_system, **vars(body))


@router.get("/systems", tags=["systems"])
def list_systems(charter: CharterDep, actor: ActorDep, paging: PagingDep) -> Page[SystemView]:
    """List systems by name."""
    return perform(charter, actor, inventory.list_systems, paging.limit, paging.offset)


@router.get("/systems/{name}", tags=["systems"])
def get_system(name: Name, charter: CharterDep, actor: ActorDep) -> SystemView:
    """Read one system."""
    return perform(charter, actor, inventory.get_system, name)


@router.post("/systems/{name}/status", tags=["systems"])
def set_system_status(
    name: Name, body: StatusChange, charter: CharterDep, actor: ActorDep
) -> SystemView:
    """Move a system through its lifecycle."""
    return perform(charter, actor, inventory.set_status, name, body.status, body.reason)


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
    view = perform(charter, actor, release_ops.create_release, name, body)
    if not view.created:
        response.status_code = status.HTTP_200_OK
    return view


@router.get("/systems/{name}/releases", tags=["releases"])
def list_releases(
    name: Name, charter: CharterDep, actor: ActorDep, paging: PagingDep
) -> Page[ReleaseView]:
    """List a system's releases, newest first."""
    return perform(charter, actor, release_ops.list_releases, name, paging.limit, paging.offset)


@router.get("/systems/{name}/releases/{digest}", tags=["releases"])
def get_release(name: Name, digest: Digest, charter: CharterDep, actor: ActorDep) -> ReleaseView:
    """Read one release with its approval state per environment."""
    return perform(charter, actor, release_ops.get_release, f"{name}@{digest}")


@router.post(
    "/systems/{name}/releases/{digest}/decisions",
    status_code=status.HTTP_201_CREATED,
    tags=["decisions"],
)
def decide(
    name: Name, digest: Digest, body: DecisionRequest, charter: CharterDep, actor: ActorDep
) -> DecisionView:
    """Approve, reject or approve a release with conditions."""
    return perform(charter, actor, records.decide, f"{name}@{digest}", body)


@router.get("/decisions", tags=["decisions"])
def list_decisions(
    charter: CharterDep,
    actor: ActorDep,
    paging: PagingDep,
    system: Annotated[str | None, Query(max_length=64)] = None,
    release: Annotated[str | None, Query(max_length=140, description="SYSTEM@DIGEST")] = None,
) -> Page[DecisionView]:
    """List decisions, newest first, optionally for one system or release."""
    return perform(
        charter, actor, records.list_decisions, system, release, paging.limit, paging.offset
    )


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
    return perform(
        charter,
        actor,
        records.audit_log,
        paging.limit,
        paging.offset,
        entity_type=entity_type,
        entity_id=entity_id,
        action=action,
    )


@router.get("/audit/head", tags=["audit"])
def audit_head(charter: CharterDep, actor: ActorDep) -> AuditHeadView:
    """The chain head, to anchor outside the database."""
    return perform(charter, actor, records.audit_head)


@router.get("/audit/verify", tags=["audit"])
def audit_verify(
    charter: CharterDep,
    actor: ActorDep,
    anchor: Annotated[
        str | None,
        Query(max_length=2_600, description="SEQ:HASH, or up to 32 of them comma-separated"),
    ] = None,
    state: Annotated[bool, Query(description="Also check every governed row.")] = True,
) -> AuditVerifyView:
    """Recompute the whole chain and check the governed rows against it; ``ok`` is false
    with the first problem otherwise."""
    return perform(charter, actor, records.audit_verify, anchor, state)

"""``/api/v1`` endpoints for policy, gates, exceptions, deployments, routing and status."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from charter.api.deps import ActorDep, CharterDep, PagingDep
from charter.api.problems import PROBLEM_RESPONSES
from charter.domain.systems import IntakeFile
from charter.services.operations import deployments, gates, inventory, perform, policy
from charter.services.operations import status as status_ops
from charter.services.views import (
    ExceptionView,
    GateReportView,
    Page,
    PolicyDiffView,
    PolicyVersionView,
    RouteView,
    StatusView,
    SystemView,
)

router = APIRouter(prefix="/api/v1", responses=PROBLEM_RESPONSES)

Name = Annotated[str, Path(min_length=1, max_length=64, description="A slug.")]
Digest = Annotated[
    str, Path(min_length=12, max_length=71, description="A digest or a unique prefix (12+ hex).")
]
Environment = Annotated[str, Query(min_length=1, max_length=64, description="Environment.")]


class PolicySource(BaseModel):
    """A policy pack to apply (or to compare), as YAML text."""

    model_config = ConfigDict(extra="forbid")
    source: str = Field(max_length=1024 * 1024)
    name: str = Field(default="policy.yaml", max_length=200)
    base: int | None = Field(default=None, ge=1, description="Version to diff against.")


class ExceptionRequest(BaseModel):
    """A waiver request."""

    model_config = ConfigDict(extra="forbid")
    control_id: str = Field(max_length=64)
    justification: str = Field(max_length=10_000)
    compensating: str = Field(max_length=10_000)
    expires: str = Field(max_length=64)
    environment: str | None = Field(default=None, max_length=64)


class Note(BaseModel):
    """A note on a decision about an exception."""

    model_config = ConfigDict(extra="forbid")
    note: str = Field(default="", max_length=10_000)


class Intervention(BaseModel):
    """Deploy, rollback, kill or resume in one environment."""

    model_config = ConfigDict(extra="forbid")
    environment: str = Field(min_length=1, max_length=64)
    reason: str = Field(default="", max_length=10_000)


@router.post("/policies", status_code=status.HTTP_201_CREATED, tags=["policy"])
def apply_policy(body: PolicySource, charter: CharterDep, actor: ActorDep) -> PolicyVersionView:
    """Validate a pack and apply it as a new version (an invalid pack changes nothing)."""
    return perform(charter, actor, policy.apply_policy, body.source, body.name)


@router.get("/policies", tags=["policy"])
def list_policies(
    charter: CharterDep, actor: ActorDep, paging: PagingDep
) -> Page[PolicyVersionView]:
    """Applied versions, newest first."""
    return perform(charter, actor, policy.list_policies, paging.limit, paging.offset)


@router.get("/policies/current", tags=["policy"])
def current_policy(charter: CharterDep, actor: ActorDep) -> PolicyVersionView:
    """The version in force, with its source."""
    return perform(charter, actor, policy.show_policy)


@router.get("/policies/diff", tags=["policy"])
def diff_policies(
    charter: CharterDep,
    actor: ActorDep,
    old: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
    new: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
) -> PolicyDiffView:
    """Changes between two versions (default: the last two)."""
    return perform(charter, actor, policy.diff_policy, old, new)


@router.post("/policies/diff", tags=["policy"])
def diff_candidate(body: PolicySource, charter: CharterDep, actor: ActorDep) -> PolicyDiffView:
    """Changes between a version (``base``, default: in force) and a candidate pack."""
    return perform(charter, actor, policy.diff_policy, body.base, None, body.source)


@router.get("/policies/{version}", tags=["policy"])
def get_policy(
    version: Annotated[int, Path(ge=1, le=1_000_000)], charter: CharterDep, actor: ActorDep
) -> PolicyVersionView:
    """One version, with its source."""
    return perform(charter, actor, policy.show_policy, version)


@router.put("/systems/{name}/intake", tags=["systems"])
def reassess_system(
    name: Name, body: IntakeFile, charter: CharterDep, actor: ActorDep
) -> SystemView:
    """Re-run intake with new answers; the system is re-tiered (from a developer: a
    proposal that a role the policy names accepts)."""
    return perform(charter, actor, inventory.reassess, name, body)


@router.post("/systems/{name}/intake/accept", tags=["systems"])
def accept_intake(name: Name, charter: CharterDep, actor: ActorDep) -> SystemView:
    """Accept the system's pending intake proposal; the system is re-tiered."""
    return perform(charter, actor, inventory.accept_intake, name)


@router.post(
    "/systems/{name}/releases/{digest}/gate", status_code=status.HTTP_201_CREATED, tags=["gate"]
)
def run_gate(
    name: Name, digest: Digest, env: Environment, charter: CharterDep, actor: ActorDep
) -> GateReportView:
    """Evaluate every control for the release in ``env``; the run is stored as evidence."""
    return perform(charter, actor, gates.run_gate, f"{name}@{digest}", env)


@router.post(
    "/systems/{name}/releases/{digest}/exceptions",
    status_code=status.HTTP_201_CREATED,
    tags=["exceptions"],
)
def request_exception(
    name: Name, digest: Digest, body: ExceptionRequest, charter: CharterDep, actor: ActorDep
) -> ExceptionView:
    """Request a time-boxed waiver of one control."""
    return perform(charter, actor, gates.request_exception, f"{name}@{digest}", **body.model_dump())


@router.get("/exceptions", tags=["exceptions"])
def list_exceptions(
    charter: CharterDep,
    actor: ActorDep,
    paging: PagingDep,
    system: Annotated[str | None, Query(max_length=64)] = None,
    status_: Annotated[str | None, Query(alias="status", max_length=16)] = None,
    expiring: Annotated[str | None, Query(max_length=8, description="e.g. 14d")] = None,
) -> Page[ExceptionView]:
    """Exceptions, soonest expiry first."""
    return perform(
        charter,
        actor,
        gates.list_exceptions,
        system,
        status_,
        expiring,
        paging.limit,
        paging.offset,
    )


@router.get("/exceptions/{exception_id}", tags=["exceptions"])
def get_exception(
    exception_id: Annotated[int, Path(ge=1, le=2**31 - 1)], charter: CharterDep, actor: ActorDep
) -> ExceptionView:
    """One exception."""
    return perform(charter, actor, gates.get_exception, exception_id)


@router.post("/exceptions/{exception_id}/{verdict}", tags=["exceptions"])
def decide_exception(
    exception_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    verdict: Literal["approve", "reject", "revoke"],
    body: Note,
    charter: CharterDep,
    actor: ActorDep,
) -> ExceptionView:
    """Approve, reject or revoke an exception."""
    return perform(charter, actor, gates.decide_exception, exception_id, verdict, body.note)


class DeployRequest(Intervention):
    """Deploy in one environment, or start a canary (``canary``: its share) or a shadow."""

    canary: float | None = Field(default=None, description="Traffic share, strictly in (0, 1).")
    shadow: bool = False
    system: str | None = Field(
        default=None,
        max_length=64,
        description="The route's system, checked against the release's.",
    )


@router.post("/systems/{name}/releases/{digest}/deploy", tags=["deployments"])
def deploy(
    name: Name, digest: Digest, body: DeployRequest, charter: CharterDep, actor: ActorDep
) -> RouteView:
    """Make a release live (refused unless the gate passes and an approval covers the env);
    with ``canary`` or ``shadow``, start a rollout of it beside the live release."""
    return perform(
        charter,
        actor,
        deployments.deploy,
        f"{name}@{digest}",
        body.environment,
        body.reason,
        body.canary,
        body.shadow,
        body.system,
    )


@router.post("/systems/{name}/rollback", tags=["deployments"])
def rollback(name: Name, body: Intervention, charter: CharterDep, actor: ActorDep) -> RouteView:
    """Return to the previous approved release."""
    return perform(charter, actor, deployments.rollback, name, body.environment, body.reason)


@router.post("/systems/{name}/kill", tags=["deployments"])
def kill(name: Name, body: Intervention, charter: CharterDep, actor: ActorDep) -> RouteView:
    """Switch the system to its approved fallback."""
    return perform(charter, actor, deployments.kill, name, body.environment, body.reason)


@router.post("/systems/{name}/resume", tags=["deployments"])
def resume(name: Name, body: Intervention, charter: CharterDep, actor: ActorDep) -> RouteView:
    """Undo a kill."""
    return perform(charter, actor, deployments.resume, name, body.environment, body.reason)


@router.get(
    "/systems/{name}/route",
    tags=["deployments"],
    response_model=RouteView,
    responses={304: {"description": "Unchanged since the ETag in If-None-Match."}},
)
def get_route(
    name: Name, env: Environment, charter: CharterDep, actor: ActorDep, request: Request
) -> Response:
    """What the serving SDK should route to right now (conditional: ETag / If-None-Match)."""
    from charter.api.runtime import conditional

    return conditional(request, perform(charter, actor, deployments.route, name, env))


@router.get("/status", tags=["status"])
def portfolio_status(charter: CharterDep, actor: ActorDep) -> StatusView:
    """Every system right now: tier, live releases, approvals, flags, exceptions."""
    return perform(charter, actor, status_ops.status)

"""``/api/v1`` endpoints for policy, gates, exceptions, deployments, routing and status."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from charter.api.deps import ActorDep, CharterDep, PagingDep
from charter.api.problems import PROBLEM_RESPONSES
from charter.domain.systems import IntakeFile
from charter.services import deployments, exceptions, gates, policies, systems
from charter.services import status as status_service
from charter.services.views import (
    ExceptionView,
    GateReportView,
    Page,
    PolicyVersionView,
    RouteView,
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


class PolicyDiff(BaseModel):
    """Changes between two policy versions."""

    model_config = ConfigDict(extra="allow")
    changes: list[Any]


class StatusView(BaseModel):
    """Every system right now."""

    systems: list[dict[str, Any]]


@router.post("/policies", status_code=status.HTTP_201_CREATED, tags=["policy"])
def apply_policy(body: PolicySource, charter: CharterDep, actor: ActorDep) -> PolicyVersionView:
    """Validate a pack and apply it as a new version (an invalid pack changes nothing)."""
    with charter.as_actor(actor, write=True) as ctx:
        version, created = policies.apply_policy(ctx, body.source.encode("utf-8"), body.name)
        return PolicyVersionView.of(version, created=created)


@router.get("/policies", tags=["policy"])
def list_policies(
    charter: CharterDep, actor: ActorDep, paging: PagingDep
) -> Page[PolicyVersionView]:
    """Applied versions, newest first."""
    with charter.as_actor(actor, write=False) as ctx:
        rows, total = policies.list_versions(ctx, limit=paging.limit, offset=paging.offset)
        return Page(items=[PolicyVersionView.of(v) for v in rows], total=total, **vars(paging))


@router.get("/policies/current", tags=["policy"])
def current_policy(charter: CharterDep, actor: ActorDep) -> PolicyVersionView:
    """The version in force, with its source."""
    with charter.as_actor(actor, write=False) as ctx:
        return PolicyVersionView.of(policies.get_version(ctx), with_source=True)


@router.get("/policies/diff", tags=["policy"])
def diff_policies(
    charter: CharterDep,
    actor: ActorDep,
    old: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
    new: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
) -> PolicyDiff:
    """Changes between two versions (default: the last two)."""
    with charter.as_actor(actor, write=False) as ctx:
        return PolicyDiff.model_validate(policies.diff(ctx, old, new))


@router.post("/policies/diff", tags=["policy"])
def diff_candidate(body: PolicySource, charter: CharterDep, actor: ActorDep) -> PolicyDiff:
    """Changes between a version (``base``, default: in force) and a candidate pack."""
    with charter.as_actor(actor, write=False) as ctx:
        result = policies.diff(ctx, body.base, None, candidate=body.source.encode("utf-8"))
        return PolicyDiff.model_validate(result)


@router.get("/policies/{version}", tags=["policy"])
def get_policy(
    version: Annotated[int, Path(ge=1, le=1_000_000)], charter: CharterDep, actor: ActorDep
) -> PolicyVersionView:
    """One version, with its source."""
    with charter.as_actor(actor, write=False) as ctx:
        return PolicyVersionView.of(policies.get_version(ctx, version), with_source=True)


@router.put("/systems/{name}/intake", tags=["systems"])
def reassess_system(
    name: Name, body: IntakeFile, charter: CharterDep, actor: ActorDep
) -> SystemView:
    """Re-run intake with new answers; the system is re-tiered."""
    with charter.as_actor(actor, write=True) as ctx:
        system, assessment = systems.reassess(ctx, name, body)
        return SystemView.of(system, assessment)


@router.post(
    "/systems/{name}/releases/{digest}/gate", status_code=status.HTTP_201_CREATED, tags=["gate"]
)
def run_gate(
    name: Name, digest: Digest, env: Environment, charter: CharterDep, actor: ActorDep
) -> GateReportView:
    """Evaluate every control for the release in ``env``; the run is stored as evidence."""
    with charter.as_actor(actor, write=True) as ctx:
        run = gates.run_gate(ctx, f"{name}@{digest}", env)
        return GateReportView.model_validate(run.report)


@router.post(
    "/systems/{name}/releases/{digest}/exceptions",
    status_code=status.HTTP_201_CREATED,
    tags=["exceptions"],
)
def request_exception(
    name: Name, digest: Digest, body: ExceptionRequest, charter: CharterDep, actor: ActorDep
) -> ExceptionView:
    """Request a time-boxed waiver of one control."""
    with charter.as_actor(actor, write=True) as ctx:
        item = exceptions.request_exception(ctx, f"{name}@{digest}", **body.model_dump())
        return ExceptionView.of(item)


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
    with charter.as_actor(actor, write=False) as ctx:
        rows, total = exceptions.list_exceptions(
            ctx,
            system_name=system,
            status=status_,
            expiring_within=exceptions.parse_window(expiring) if expiring else None,
            limit=paging.limit,
            offset=paging.offset,
        )
        return Page(items=[ExceptionView.of(x) for x in rows], total=total, **vars(paging))


@router.get("/exceptions/{exception_id}", tags=["exceptions"])
def get_exception(
    exception_id: Annotated[int, Path(ge=1, le=2**31 - 1)], charter: CharterDep, actor: ActorDep
) -> ExceptionView:
    """One exception."""
    with charter.as_actor(actor, write=False) as ctx:
        return ExceptionView.of(exceptions.get_exception(ctx, exception_id))


@router.post("/exceptions/{exception_id}/{verdict}", tags=["exceptions"])
def decide_exception(
    exception_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    verdict: Literal["approve", "reject", "revoke"],
    body: Note,
    charter: CharterDep,
    actor: ActorDep,
) -> ExceptionView:
    """Approve, reject or revoke an exception."""
    with charter.as_actor(actor, write=True) as ctx:
        if verdict == "revoke":
            item = exceptions.revoke_exception(ctx, exception_id, note=body.note)
        else:
            item = exceptions.decide_exception(ctx, exception_id, verdict, note=body.note)
        return ExceptionView.of(item)


@router.post("/systems/{name}/releases/{digest}/deploy", tags=["deployments"])
def deploy(
    name: Name, digest: Digest, body: Intervention, charter: CharterDep, actor: ActorDep
) -> RouteView:
    """Make a release live (refused unless the gate passes and an approval covers the env)."""
    with charter.as_actor(actor, write=True) as ctx:
        deployments.deploy(ctx, f"{name}@{digest}", body.environment, reason=body.reason)
        return RouteView.model_validate(deployments.route_view(ctx, name, body.environment))


def _intervene(
    operation: Any, name: str, body: Intervention, charter: Any, actor: Any
) -> RouteView:
    with charter.as_actor(actor, write=True) as ctx:
        operation(ctx, name, body.environment, reason=body.reason)
        return RouteView.model_validate(deployments.route_view(ctx, name, body.environment))


@router.post("/systems/{name}/rollback", tags=["deployments"])
def rollback(name: Name, body: Intervention, charter: CharterDep, actor: ActorDep) -> RouteView:
    """Return to the previous approved release."""
    return _intervene(deployments.rollback, name, body, charter, actor)


@router.post("/systems/{name}/kill", tags=["deployments"])
def kill(name: Name, body: Intervention, charter: CharterDep, actor: ActorDep) -> RouteView:
    """Switch the system to its approved fallback."""
    return _intervene(deployments.kill, name, body, charter, actor)


@router.post("/systems/{name}/resume", tags=["deployments"])
def resume(name: Name, body: Intervention, charter: CharterDep, actor: ActorDep) -> RouteView:
    """Undo a kill."""
    return _intervene(deployments.resume, name, body, charter, actor)


@router.get("/systems/{name}/route", tags=["deployments"])
def get_route(name: Name, env: Environment, charter: CharterDep, actor: ActorDep) -> RouteView:
    """What the serving SDK should route to right now."""
    with charter.as_actor(actor, write=False) as ctx:
        return RouteView.model_validate(deployments.route_view(ctx, name, env))


@router.get("/status", tags=["status"])
def portfolio_status(charter: CharterDep, actor: ActorDep) -> StatusView:
    """Every system right now: tier, live releases, approvals, flags, exceptions."""
    with charter.as_actor(actor, write=False) as ctx:
        entries = status_service.portfolio(ctx)
        data = TypeAdapter(list[dict[str, Any]]).dump_python(entries, mode="json")
        return StatusView(systems=data)

"""Operations of governance: policy packs, gates, exceptions, deployments, routes, status."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import TypeAdapter

from charter.services import deployments, exceptions, gates, policies
from charter.services import status as portfolio
from charter.services.context import Context
from charter.services.operations import operation
from charter.services.views import (
    ExceptionView,
    GateReportView,
    Page,
    PolicyDiffView,
    PolicyVersionView,
    RouteView,
    StatusView,
)


@operation("policy.apply", write=True)
def apply_policy(ctx: Context, source: str, name: str = "policy.yaml") -> PolicyVersionView:
    """Validate a pack and apply it as a new version (an invalid pack changes nothing)."""
    version, created = policies.apply_policy(ctx, source.encode("utf-8"), name)
    return PolicyVersionView.of(version, created=created)


@operation("policy.show", write=False)
def show_policy(ctx: Context, version: int | None = None) -> PolicyVersionView:
    """A version (default: the one in force), with its source."""
    return PolicyVersionView.of(policies.get_version(ctx, version), with_source=True)


@operation("policy.list", write=False)
def list_policies(ctx: Context, limit: int = 50, offset: int = 0) -> Page[PolicyVersionView]:
    """Applied versions, newest first."""
    rows, total = policies.list_versions(ctx, limit=limit, offset=offset)
    return Page(
        items=[PolicyVersionView.of(v) for v in rows], total=total, limit=limit, offset=offset
    )


@operation("policy.diff", write=False)
def diff_policy(
    ctx: Context, old: int | None = None, new: int | None = None, candidate: str | None = None
) -> PolicyDiffView:
    """Changes between two versions (default: the last two), or against a candidate pack."""
    encoded = candidate.encode("utf-8") if candidate is not None else None
    return PolicyDiffView.model_validate(policies.diff(ctx, old, new, candidate=encoded))


@operation("gate.run", write=True)
def run_gate(ctx: Context, ref: str, environment: str) -> GateReportView:
    """Evaluate every control for a release in an environment; the run is stored."""
    return GateReportView.model_validate(gates.run_gate(ctx, ref, environment).report)


@operation("exception.request", write=True)
def request_exception(
    ctx: Context,
    ref: str,
    control_id: str,
    justification: str,
    compensating: str,
    expires: str,
    environment: str | None = None,
) -> ExceptionView:
    """Request a time-boxed waiver of one control."""
    item = exceptions.request_exception(
        ctx,
        ref,
        control_id=control_id,
        justification=justification,
        compensating=compensating,
        expires=expires,
        environment=environment,
    )
    return ExceptionView.of(item)


@operation("exception.decide", write=True)
def decide_exception(
    ctx: Context,
    exception_id: int,
    verdict: Literal["approve", "reject", "revoke"],
    note: str = "",
) -> ExceptionView:
    """Approve, reject or revoke an exception."""
    if verdict == "revoke":
        return ExceptionView.of(exceptions.revoke_exception(ctx, exception_id, note=note))
    return ExceptionView.of(exceptions.decide_exception(ctx, exception_id, verdict, note=note))


@operation("exception.show", write=False)
def get_exception(ctx: Context, exception_id: int) -> ExceptionView:
    """One exception."""
    return ExceptionView.of(exceptions.get_exception(ctx, exception_id))


@operation("exception.list", write=False)
def list_exceptions(
    ctx: Context,
    system: str | None = None,
    status: str | None = None,
    expiring: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page[ExceptionView]:
    """Exceptions, soonest expiry first."""
    rows, total = exceptions.list_exceptions(
        ctx,
        system_name=system,
        status=status,
        expiring_within=exceptions.parse_window(expiring) if expiring else None,
        limit=limit,
        offset=offset,
    )
    return Page(items=[ExceptionView.of(x) for x in rows], total=total, limit=limit, offset=offset)


def _route(ctx: Context, system: str, environment: str) -> RouteView:
    return RouteView.model_validate(deployments.route_view(ctx, system, environment))


@operation("deployment.deploy", write=True)
def deploy(ctx: Context, ref: str, environment: str, reason: str = "") -> RouteView:
    """Make a release live (refused unless the gate passes and an approval covers the env)."""
    route = deployments.deploy(ctx, ref, environment, reason=reason)
    return _route(ctx, route.system.name, environment)


@operation("deployment.rollback", write=True)
def rollback(ctx: Context, system: str, environment: str, reason: str = "") -> RouteView:
    """Return to the previous approved release."""
    deployments.rollback(ctx, system, environment, reason=reason)
    return _route(ctx, system, environment)


@operation("deployment.kill", write=True)
def kill(ctx: Context, system: str, environment: str, reason: str = "") -> RouteView:
    """Switch the system to its approved fallback."""
    deployments.kill(ctx, system, environment, reason=reason)
    return _route(ctx, system, environment)


@operation("deployment.resume", write=True)
def resume(ctx: Context, system: str, environment: str, reason: str = "") -> RouteView:
    """Undo a kill."""
    deployments.resume(ctx, system, environment, reason=reason)
    return _route(ctx, system, environment)


@operation("route.show", write=False)
def route(ctx: Context, system: str, environment: str) -> RouteView:
    """What the serving SDK should route to right now."""
    return _route(ctx, system, environment)


@operation("status", write=False)
def status(ctx: Context) -> StatusView:
    """Every system right now: tier, live releases, approvals, flags, exceptions."""
    entries = portfolio.portfolio(ctx)
    systems: list[dict[str, Any]] = TypeAdapter(list[dict[str, Any]]).dump_python(
        entries, mode="json"
    )
    return StatusView(systems=systems)

"""Operations on deployments and routing: deploy, roll back, kill, resume, the route."""

from __future__ import annotations

from charter.services import deployments
from charter.services.context import Context
from charter.services.operations import operation
from charter.services.views import RouteView


def _route(ctx: Context, system: str, environment: str) -> RouteView:
    from charter.services.attestation import route_extras

    view = deployments.route_view(ctx, system, environment)
    return RouteView.model_validate({**view, **route_extras(ctx, system, environment)})


@operation("deployment.deploy", write=True)
def deploy(
    ctx: Context,
    ref: str,
    environment: str,
    reason: str = "",
    canary: float | None = None,
    shadow: bool = False,
    system: str | None = None,
) -> RouteView:
    """Make a release live (refused unless the gate passes and an approval covers the env);
    with ``canary`` or ``shadow``, start a rollout of it beside the live release."""
    route = deployments.deploy(
        ctx, ref, environment, reason=reason, canary=canary, shadow=shadow, system=system
    )
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
    from charter.services.interventions import note_resume

    note_resume(ctx, system, environment, reason)  # an automatic kill overridden by hand
    return _route(ctx, system, environment)


@operation("route.show", write=False)
def route(ctx: Context, system: str, environment: str) -> RouteView:
    """What the serving SDK should route to right now."""
    return _route(ctx, system, environment)

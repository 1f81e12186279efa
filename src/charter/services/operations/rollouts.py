"""Operations of safe rollout: show, promote and abort a canary or shadow; shadow records.

Starting one is ``deployment.deploy`` with ``canary`` or ``shadow`` (one path to traffic).
"""

from __future__ import annotations

from typing import Any

from charter.services import rollouts
from charter.services.context import Context
from charter.services.operations import operation
from charter.services.operations.deployments import _route
from charter.services.views import IngestView, RolloutView, RouteView


@operation("rollout.show", write=False)
def show(ctx: Context, system: str, environment: str) -> RolloutView:
    """The route's active (else newest) rollout, what was monitored, the shadow comparison."""
    return RolloutView.model_validate(rollouts.rollout_view(ctx, system, environment))


@operation("rollout.promote", write=True)
def promote(ctx: Context, system: str, environment: str, reason: str = "") -> RouteView:
    """Give the candidate all the traffic (gate, approval and the pack's period checked)."""
    rollouts.promote(ctx, system, environment, reason=reason)
    return _route(ctx, system, environment)


@operation("rollout.abort", write=True)
def abort(ctx: Context, system: str, environment: str, reason: str = "") -> RouteView:
    """End the active canary or shadow; all traffic stays on the live release."""
    rollouts.abort(ctx, system, environment, reason=reason)
    return _route(ctx, system, environment)


@operation("shadow.log", write=True)
def log_shadow(
    ctx: Context, system: str, environment: str, batch_id: str, records: list[dict[str, Any]]
) -> IngestView:
    """Store what a shadow candidate scored beside the live release (never served)."""
    from charter.services import shadow

    return IngestView.model_validate(
        shadow.ingest_shadow(ctx, system, environment, batch_id, records)
    )

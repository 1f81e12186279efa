"""``/api/v1`` endpoints of safe rollout: the rollout of a route, promote, abort, and the
shadow records the SDK sends. Starting a canary or shadow is the deploy endpoint's."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query

from charter.api.deps import ActorDep, CharterDep
from charter.api.governance import Intervention
from charter.api.problems import PROBLEM_RESPONSES
from charter.domain.errors import BadInput
from charter.services.operations import perform
from charter.services.operations import rollouts as operations
from charter.services.views import IngestView, RolloutView, RouteView

router = APIRouter(prefix="/api/v1", responses=PROBLEM_RESPONSES)

Name = Annotated[str, Path(min_length=1, max_length=64, description="A slug.")]
Env = Annotated[str, Query(min_length=1, max_length=64, description="Environment.")]


@router.get("/systems/{name}/rollout", tags=["deployments"])
def show_rollout(name: Name, env: Env, charter: CharterDep, actor: ActorDep) -> RolloutView:
    """The active (else newest) canary or shadow, what was monitored, the comparison."""
    return perform(charter, actor, operations.show, name, env)


@router.post("/systems/{name}/rollout/promote", tags=["deployments"])
def promote(name: Name, body: Intervention, charter: CharterDep, actor: ActorDep) -> RouteView:
    """Give the candidate all the traffic (gate, approval and the pack's period checked)."""
    return perform(charter, actor, operations.promote, name, body.environment, body.reason)


@router.post("/systems/{name}/rollout/abort", tags=["deployments"])
def abort(name: Name, body: Intervention, charter: CharterDep, actor: ActorDep) -> RouteView:
    """End the active canary or shadow; all traffic stays on the live release."""
    return perform(charter, actor, operations.abort, name, body.environment, body.reason)


@router.post("/systems/{name}/shadow", tags=["monitoring"])
def log_shadow(
    name: Name,
    body: Annotated[
        dict[str, Any],
        Body(description="{batch_id, records: [{inference_id, release, live, shadow, ...}]}"),
    ],
    charter: CharterDep,
    actor: ActorDep,
    env: Env,
) -> IngestView:
    """Store what a shadow candidate scored beside the live release (never served)."""
    records = body.get("records")
    if not isinstance(records, list):
        raise BadInput("the body must be {batch_id, records: [...]}")
    return perform(
        charter,
        actor,
        operations.log_shadow,
        name,
        env,
        body.get("batch_id"),  # type: ignore[arg-type]
        records,
    )

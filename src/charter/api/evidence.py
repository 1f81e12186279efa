"""``/api/v1`` endpoints for evaluation evidence."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Response, status

from charter.api.deps import ActorDep, CharterDep, PagingDep
from charter.api.problems import PROBLEM_RESPONSES
from charter.services.operations import evidence as operations
from charter.services.operations import perform
from charter.services.views import EvidenceView, Page, ReproductionView

router = APIRouter(prefix="/api/v1", responses=PROBLEM_RESPONSES)

Name = Annotated[str, Path(min_length=1, max_length=64, description="A slug.")]
Digest = Annotated[
    str, Path(min_length=12, max_length=71, description="A digest or a unique prefix (12+ hex).")
]


@router.post(
    "/systems/{name}/releases/{digest}/evidence",
    status_code=status.HTTP_201_CREATED,
    tags=["evidence"],
    responses={
        200: {"model": EvidenceView, "description": "Identical evidence was already stored."}
    },
)
def record_evidence(
    name: Name,
    digest: Digest,
    result: Annotated[
        dict[str, Any], Body(description="A suite result (charter.evaluation.result/1).")
    ],
    charter: CharterDep,
    actor: ActorDep,
    response: Response,
) -> EvidenceView:
    """Attach a suite result to a release; it is checked against the release's own contract."""
    view = perform(charter, actor, operations.record_evidence, f"{name}@{digest}", result)
    if not view.created:
        response.status_code = status.HTTP_200_OK
    return view


@router.get("/evidence", tags=["evidence"])
def list_evidence(
    charter: CharterDep,
    actor: ActorDep,
    paging: PagingDep,
    system: Annotated[str | None, Query(max_length=64)] = None,
    release: Annotated[str | None, Query(max_length=140, description="SYSTEM@DIGEST")] = None,
    suite: Annotated[str | None, Query(max_length=64)] = None,
) -> Page[EvidenceView]:
    """Evidence, newest first."""
    return perform(
        charter,
        actor,
        operations.list_evidence,
        system,
        release,
        suite,
        paging.limit,
        paging.offset,
    )


@router.get("/evidence/{evidence_id}", tags=["evidence"])
def get_evidence(
    evidence_id: Annotated[int, Path(ge=1, le=2**31 - 1)], charter: CharterDep, actor: ActorDep
) -> EvidenceView:
    """One piece of evidence with its full result."""
    return perform(charter, actor, operations.get_evidence, evidence_id)


@router.post("/evidence/{evidence_id}/reproduce", tags=["evidence"])
def reproduce_evidence(
    evidence_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    result: Annotated[
        dict[str, Any], Body(description="The re-run's result (charter.evaluation.result/1).")
    ],
    charter: CharterDep,
    actor: ActorDep,
) -> ReproductionView:
    """Confirm or refute evidence with a re-run of its suite on the same data (by digest)."""
    return perform(charter, actor, operations.reproduce_evidence, evidence_id, result)

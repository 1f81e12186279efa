"""``/api/v1`` endpoints for cards, evidence packs, KPIs and the portfolio report.

The JSON routes are the operations the CLI calls; the ``document`` and ``.zip`` routes
render the same data (Markdown, HTML, PDF, the zip archive) for browsers and scripts.
Role rules are the operations' own: an auditor reads and exports everything.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from charter.api.deps import ActorDep, CharterDep
from charter.api.problems import PROBLEM_RESPONSES
from charter.services.operations import documents as operations
from charter.services.operations import perform
from charter.services.views.documents import (
    CardHistoryView,
    CardView,
    KpisView,
    PackView,
    ReportView,
)

router = APIRouter(prefix="/api/v1", responses=PROBLEM_RESPONSES)

Name = Annotated[str, Path(min_length=1, max_length=64, description="A slug.")]
ReleaseQuery = Annotated[
    str | None, Query(min_length=12, max_length=71, description="A release digest or prefix.")
]
PeriodQuery = Annotated[
    str | None, Query(max_length=16, description="A quarter (2026Q4) or a year (2026).")
]
DocumentFormat = Annotated[Literal["md", "html", "pdf"], Query(alias="format")]
MEDIA = {
    "md": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
}


class PackRequest(BaseModel):
    """What to export."""

    model_config = ConfigDict(extra="forbid")
    release: str | None = Field(default=None, min_length=12, max_length=71)
    start: str | None = Field(default=None, max_length=40, description="From this date.")
    end: str | None = Field(default=None, max_length=40, description="To this date (inclusive).")
    checkpoint: str | None = Field(
        default=None, max_length=4000, description="The newest line of the checkpoint sink."
    )


@router.get("/systems/{name}/card", tags=["documents"])
def show_card(
    name: Name,
    charter: CharterDep,
    actor: ActorDep,
    release: ReleaseQuery = None,
    snapshot: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> CardView:
    """The system card (with model cards and datasheets) as of now, or a stored snapshot."""
    return perform(charter, actor, operations.show_card, name, release, snapshot)


@router.get("/systems/{name}/card/history", tags=["documents"])
def card_history(
    name: Name,
    charter: CharterDep,
    actor: ActorDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> CardHistoryView:
    """Stored snapshots of the card, newest first."""
    return perform(charter, actor, operations.card_history, name, limit)


@router.get(
    "/systems/{name}/card/document",
    tags=["documents"],
    response_class=Response,
    responses={200: {"content": {m: {} for m in MEDIA.values()}}},
)
def card_document(
    name: Name,
    charter: CharterDep,
    actor: ActorDep,
    fmt: DocumentFormat = "html",
    release: ReleaseQuery = None,
) -> Response:
    """The card rendered as Markdown, HTML (with charts) or PDF."""
    from charter.documents.card import render_card

    view = perform(charter, actor, operations.show_card, name, release, None)
    return Response(render_card(view.card, fmt), media_type=MEDIA[fmt])


@router.post(
    "/systems/{name}/evidence-pack", status_code=status.HTTP_201_CREATED, tags=["documents"]
)
def export_pack(name: Name, body: PackRequest, charter: CharterDep, actor: ActorDep) -> PackView:
    """The evidence pack's members and manifest header, as JSON (the CLI zips them)."""
    return perform(charter, actor, operations.export_pack, name, **body.model_dump())


@router.post(
    "/systems/{name}/evidence-pack.zip",
    tags=["documents"],
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}}},
)
def export_pack_zip(
    name: Name, body: PackRequest, charter: CharterDep, actor: ActorDep
) -> Response:
    """The evidence pack as a zip archive, ready for ``charter evidence verify``."""
    from charter.domain.evidence_pack import pack_bytes

    view = perform(charter, actor, operations.export_pack, name, **body.model_dump())
    data = pack_bytes({k: v.encode() for k, v in view.members.items()}, view.header)
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}-evidence.zip"'},
    )


@router.get("/kpis", tags=["documents"])
def show_kpis(charter: CharterDep, actor: ActorDep, period: PeriodQuery = None) -> KpisView:
    """Every portfolio KPI for a period (default: the current quarter)."""
    return perform(charter, actor, operations.show_kpis, period)


@router.get("/reports/portfolio", tags=["documents"])
def portfolio_report(
    charter: CharterDep, actor: ActorDep, period: PeriodQuery = None
) -> ReportView:
    """The quarterly portfolio report as data."""
    return perform(charter, actor, operations.portfolio_report, period)


@router.get(
    "/reports/portfolio/document",
    tags=["documents"],
    response_class=Response,
    responses={200: {"content": {m: {} for m in MEDIA.values()}}},
)
def portfolio_document(
    charter: CharterDep, actor: ActorDep, fmt: DocumentFormat = "html", period: PeriodQuery = None
) -> Response:
    """The portfolio report rendered as Markdown, HTML or PDF."""
    from charter.documents.report import render_report

    view = perform(charter, actor, operations.portfolio_report, period)
    return Response(render_report(view.report, fmt), media_type=MEDIA[fmt])

"""The console's documents: KPIs, the system card, the windows report, the evidence pack.

Each is the registered operation the CLI and the API perform (``kpis.show``,
``card.show``, ``monitoring.windows``, ``pack.export``), rendered by the same function the
CLI renders it with (``charter card --format html``, ``charter windows --format html``,
``charter evidence export``), so the console serves the same bytes the commands write.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from charter.services.operations import documents as document_ops
from charter.services.operations import monitoring as monitoring_ops
from charter.web.console import ConsoleRoute, page

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

Name = Annotated[str, Path(min_length=1, max_length=200)]
#: Documents are complete pages of their own with inline CSS and SVG and no script: they
#: get a policy that allows their inline styles and nothing else (no script at all).
DOCUMENT_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'none'"
)


def document_response(html: str | bytes) -> HTMLResponse:
    response = HTMLResponse(html)
    response.headers["Content-Security-Policy"] = DOCUMENT_POLICY
    return response


@router.get("/kpis", response_class=HTMLResponse)
def kpis(request: Request, period: Annotated[str, Query(max_length=20)] = "") -> Response:
    """Every governance KPI of a period (``charter kpis --period``), default this quarter."""
    with page(request) as view:
        values = document_ops.show_kpis(view.ctx, period.strip() or None)
        return view.render("kpis.html", kpis=values.model_dump(), period=period)


@router.get("/systems/{name}/card", response_class=HTMLResponse)
def card(
    request: Request,
    name: Name,
    release: Annotated[str | None, Query(max_length=71)] = None,
) -> Response:
    """The living system card as HTML (``charter card NAME --format html``)."""
    from charter.documents.card import render_card

    with page(request) as view:
        shown = document_ops.show_card(view.ctx, name, release or None)
        return document_response(render_card(shown.card, "html"))


@router.get("/systems/{name}/windows", response_class=HTMLResponse)
def windows_report(
    request: Request,
    name: Name,
    environment: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Response:
    """The windows report (``charter windows NAME --format html``)."""
    from charter.cli.windows_report import render_html

    with page(request) as view:
        items = monitoring_ops.windows(view.ctx, name, environment or None, limit).items
        return document_response(render_html(name, items))


@router.post("/systems/{name}/evidence-pack")
def evidence_pack(request: Request, name: Name) -> Response:
    """Download the evidence pack (``charter evidence export NAME``); the export is logged."""
    from charter.domain.evidence_pack import pack_bytes

    with page(request, write=True) as view:
        pack = document_ops.export_pack(view.ctx, name)
        members = {member: text.encode("utf-8") for member, text in pack.members.items()}
        data = pack_bytes(members, pack.header)
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}-evidence.zip"'},
    )

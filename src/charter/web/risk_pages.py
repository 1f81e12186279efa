"""The console's risk register: every open risk of the portfolio, one system's register
with the gaps its gate would name, and the model risk assessment.

Reads go through the risk services the CLI and the API use (``risk.list``,
``risk.assessment``), so the permissions (``risk.read``: every person, not the service
role) and the gaps are theirs; the assessment is rendered by the function
``charter risk assessment --format html`` writes with.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from charter.services import risks
from charter.services.operations import risks as risk_ops
from charter.web.console import ConsoleRoute, page
from charter.web.documents import document_response

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

Name = Annotated[str, Path(min_length=1, max_length=200)]
Text = Annotated[str, Query(max_length=200)]


@router.get("/risks", response_class=HTMLResponse)
def portfolio_register(request: Request, system: Text = "") -> Response:
    """Every open risk, highest residual rating first, linked to its system's register."""
    with page(request) as view:
        rows = risks.portfolio_risks(view.ctx, system_name=system.strip() or None)
        return view.render("risks.html", rows=rows, system=system)


@router.get("/systems/{name}/risks", response_class=HTMLResponse)
def system_register(request: Request, name: Name) -> Response:
    """One system's register: ratings, owner, mitigations, watching signals, review and
    acceptance, the gaps the gate's risk control would name, and realised incidents."""
    with page(request) as view:
        register = risk_ops.list_risks(view.ctx, name)
        return view.render("risk_register.html", register=register.model_dump())


@router.get("/systems/{name}/risk-assessment", response_class=HTMLResponse)
def assessment(request: Request, name: Name) -> Response:
    """The model risk assessment as HTML (``charter risk assessment NAME --format html``)."""
    from charter.documents.risk_assessment import render_assessment

    with page(request) as view:
        data = risk_ops.assessment(view.ctx, name)
        return document_response(render_assessment(data.assessment, "html"))

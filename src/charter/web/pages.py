"""The console's pages (GET): each reads through the service layer and renders a template."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from charter.domain.roles import Permission
from charter.services import (
    alerts,
    approval_queue,
    attestation,
    audit,
    decisions,
    deployments,
    drills,
    exceptions,
    guard_events,
    signals_view,
)
from charter.services import releases as release_service
from charter.services import systems as system_service
from charter.services.views import AuditEventView, AuditVerifyView
from charter.web.console import ConsoleRoute, page
from charter.web.monitoring_view import monitoring_section
from charter.web.portfolio import Filters, portfolio_view

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

Text = Annotated[str, Query(max_length=200)]
Name = Annotated[str, Path(min_length=1, max_length=200)]
AUDIT_PAGE = 50
#: Windows per environment on the system page's charts (as many as the card shows).
CHART_WINDOWS = 24


@router.get("/", response_class=HTMLResponse)
def portfolio(
    request: Request, q: Text = "", tier: Text = "", show: Text = "all", sort: Text = "name"
) -> Response:
    """Every system: tier, live releases, approval validity, live signals, what needs a look."""
    with page(request) as view:
        values = portfolio_view(view.ctx, Filters.of(q, tier, show, sort))
        if view.render_partial:  # htmx asks for the table alone (filter, search, sort)
            return view.render("_portfolio_rows.html", **values)
        # The table is rendered on its own, then placed in the page: its thousands of small
        # pieces then pass through one template generator instead of three nested ones.
        return view.render(
            "portfolio.html", table=view.fragment("_portfolio_rows.html", **values), **values
        )


@router.get("/systems/{name}", response_class=HTMLResponse)
def system(request: Request, name: Name) -> Response:
    """One system: routing with its levers, releases and their approvals, decisions, alerts."""
    with page(request) as view:
        ctx = view.ctx
        found = system_service.get_system(ctx, name)
        every = deployments.routes_of(ctx, found)
        # The drill sandbox is the drills' own (and no environment the policy declares):
        # shown apart, with no levers or charts.
        sandbox = [r for r in every if r.environment == drills.SANDBOX]
        routes = [
            deployments.route_view(ctx, name, route.environment)
            for route in every
            if route.environment != drills.SANDBOX
        ]
        # Per environment: the newest closed windows (the newest one's signals and each
        # bound's verdict; all of them for the charts), and what serving processes attest.
        latest: dict[str, dict[str, Any] | None] = {}
        monitoring: dict[str, dict[str, Any]] = {}
        attested: dict[str, dict[str, Any]] = {}
        # What the guard did, from the serving SDK's traces (None: no traces).
        guarded: dict[str, dict[str, Any] | None] = {}
        for env in routes:
            environment = env["environment"]
            recent = signals_view.windows(ctx, name, environment, limit=CHART_WINDOWS)
            latest[environment] = recent[0] if recent else None
            monitoring[environment] = monitoring_section(recent)
            attested[environment] = attestation.route_extras(ctx, name, environment)
            guarded[environment] = guard_events.guard_events(ctx, name, environment)
        rows, release_total = release_service.list_releases(ctx, name, limit=20)
        release_rows = [
            {"release": r, "approvals": decisions.approval_states(ctx, r)} for r in rows
        ]
        decision_rows, decision_total = decisions.list_decisions(ctx, system_name=name, limit=50)
        exception_rows, _ = exceptions.list_exceptions(ctx, system_name=name, limit=50)
        return view.render(
            "system.html",
            system=found,
            assessment=system_service.assessment_of(ctx, found),
            routes=routes,
            sandbox=sandbox,
            latest=latest,
            monitoring=monitoring,
            attested=attested,
            guarded=guarded,
            releases=release_rows,
            release_total=release_total,
            decisions=decision_rows,
            decision_total=decision_total,
            exceptions=exception_rows,
            alerts=alerts.list_alerts(ctx, system_name=name, limit=20),
            may_intervene=view.can(Permission.INTERVENE),
        )


@router.get("/approvals", response_class=HTMLResponse)
def approvals(request: Request) -> Response:
    """Releases waiting for a decision, with their gate result; approve or reject."""
    with page(request) as view:
        queue = approval_queue.waiting(view.ctx)
        return view.render("approvals.html", **queue)


@router.get("/alerts", response_class=HTMLResponse)
def alert_list(request: Request, show: Text = "open", system: Text = "") -> Response:
    """Alerts, newest first: open only by default."""
    with page(request) as view:
        rows = alerts.list_alerts(
            view.ctx, open_only=show != "all", system_name=system or None, limit=200
        )
        return view.render("alerts.html", alerts=rows, show=show, system=system)


@router.get("/exceptions", response_class=HTMLResponse)
def exception_list(request: Request, status: Text = "") -> Response:
    """Exceptions, soonest expiry first, with approve / reject / revoke where allowed."""
    with page(request) as view:
        rows, total = exceptions.list_exceptions(view.ctx, status=status or None, limit=200)
        return view.render(
            "exceptions.html",
            rows=rows,
            total=total,
            status=status,
            statuses=exceptions.STATUSES,
            may_decide=exceptions.may_decide_exceptions(view.ctx),
            now=view.ctx.now(),
        )


@router.get("/audit", response_class=HTMLResponse)
def audit_log(
    request: Request,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    entity: Text = "",
    action: Text = "",
) -> Response:
    """The audit log, newest first, with the whole chain verified on every view."""
    with page(request) as view:
        report = AuditVerifyView.of(audit.verify(view.ctx))
        entity_type, _, entity_id = entity.partition(":")
        rows, total = audit.events(
            view.ctx,
            limit=AUDIT_PAGE,
            offset=offset,
            entity_type=entity_type or None,
            entity_id=entity_id or None,
            action=action or None,
        )
        return view.render(
            "audit.html",
            report=report,
            events=[AuditEventView.of(e) for e in rows],
            total=total,
            offset=offset,
            page_size=AUDIT_PAGE,
            entity=entity,
            action=action,
        )

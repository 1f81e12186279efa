"""The console's incidents and drills: pages (GET) and their actions (POST).

Every read and every action is the registered operation the CLI and the API perform
(``incident.*``, ``drill.*`` in :mod:`charter.services.operations.runtime`), called with
the page's context, so the role checks, the order of an incident's steps and the audit
events are the services'. POSTs pass the CSRF check of :class:`ConsoleRoute` first.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from charter.domain.errors import BadInput
from charter.domain.roles import Permission
from charter.services import drills, incidents
from charter.services.operations import runtime as ops
from charter.web.console import ConsoleRoute, page

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

Text = Annotated[str, Query(max_length=200)]
IncidentId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Note = Annotated[str, Form(max_length=10_000)]
#: The step buttons: form value -> (operation, what the flash says).
STEPS = {
    "acknowledged": (ops.ack_incident, "acknowledged"),
    "mitigated": (ops.mitigate_incident, "mitigated"),
    "resolved": (ops.resolve_incident, "resolved"),
}
#: Which steps an incident in each status may take next (the service enforces the order).
NEXT_STEPS = {
    "open": ("acknowledged", "mitigated", "resolved"),
    "acknowledged": ("mitigated", "resolved"),
    "mitigated": ("resolved",),
    "resolved": (),
}
STATUSES = ("open", "acknowledged", "mitigated", "resolved")


@router.get("/incidents", response_class=HTMLResponse)
def incident_list(request: Request, status: Text = "", system: Text = "") -> Response:
    """Incidents, newest first, with MTTD and MTTM per incident and over all of them."""
    with page(request) as view:
        rows = ops.list_incidents(
            view.ctx, system=system or None, status=status or None, limit=200
        ).items
        metrics = ops.incident_metrics(view.ctx, system=system or None)
        return view.render(
            "incidents.html",
            rows=rows,
            metrics=metrics,
            status=status,
            system=system,
            statuses=STATUSES,
        )


@router.get("/incidents/{incident_id}", response_class=HTMLResponse)
def incident_detail(request: Request, incident_id: IncidentId) -> Response:
    """One incident: its timeline, MTTD and MTTM, links, steps and postmortem."""
    with page(request) as view:
        incident = ops.show_incident(view.ctx, incident_id)
        saved = incidents.saved_postmortem(view.ctx, incident_id)
        may_manage = view.can(Permission.ALERT_MANAGE)
        return view.render(
            "incident.html",
            incident=incident,
            saved=saved,
            # The text in the editor: the saved postmortem, else the service's draft.
            postmortem=ops.postmortem(view.ctx, incident_id).markdown,
            next_steps=NEXT_STEPS.get(incident.status, ()) if may_manage else (),
            may_manage=may_manage,
        )


@router.post("/incidents/{incident_id}/step")
def incident_step(
    request: Request,
    incident_id: IncidentId,
    step: Annotated[str, Form(max_length=20)] = "",
    note: Note = "",
) -> Response:
    """Acknowledge, mitigate or resolve (``charter incident ack|mitigate|resolve``)."""
    with page(request, write=True) as view:
        if step not in STEPS:
            raise BadInput(f"unknown step {step!r}: acknowledged, mitigated or resolved")
        call, done = STEPS[step]
        call(view.ctx, incident_id, note)
        return view.redirect(f"/incidents/{incident_id}", ok=f"incident #{incident_id} {done}")


@router.post("/incidents/{incident_id}/postmortem")
def incident_postmortem(
    request: Request,
    incident_id: IncidentId,
    markdown: Annotated[str, Form(max_length=incidents.MAX_POSTMORTEM_CHARS)] = "",
) -> Response:
    """Save the postmortem (``charter incident postmortem ID --save FILE``)."""
    with page(request, write=True) as view:
        ops.save_postmortem(view.ctx, incident_id, markdown)
        return view.redirect(
            f"/incidents/{incident_id}#postmortem",
            ok=f"postmortem of incident #{incident_id} saved",
        )


@router.get("/drills", response_class=HTMLResponse)
def drill_list(request: Request, system: Text = "") -> Response:
    """Drills run and their outcomes; the run form for roles that may intervene."""
    with page(request) as view:
        rows = ops.list_drills(view.ctx, system=system or None, limit=200).items
        may_run = view.can(Permission.INTERVENE)
        # The live release of each deployed system: what `charter drill SYSTEM` drills.
        targets = drills.drill_targets(view.ctx) if may_run else []
        return view.render(
            "drills.html",
            rows=rows,
            system=system,
            may_run=may_run,
            targets=targets,
            scenarios=drills.SCENARIOS,
        )


@router.post("/drills")
def run_drill(
    request: Request,
    ref: Annotated[str, Form(min_length=3, max_length=300)],
    scenario: Annotated[str, Form(max_length=20)] = "drift",
) -> Response:
    """Run a drill of a release in the sandbox (``charter drill SYSTEM@DIGEST``)."""
    with page(request, write=True) as view:
        result = ops.run_drill(view.ctx, ref.strip(), scenario)
        verdict = "passed" if result.passed else "FAILED"
        return view.redirect(
            "/drills",
            ok=f"drill {scenario} of {result.release[:60]}: {verdict} "
            f"(evidence #{result.evidence_id})",
        )

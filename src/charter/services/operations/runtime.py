"""Operations of the serving path: attestation, traces, incidents, alerts by hand."""

from __future__ import annotations

from typing import Any

from charter.services import attestation, drills, incidents, interventions, trace
from charter.services.context import Context
from charter.services.operations import operation
from charter.services.views.runtime import (
    AlertActionView,
    AttestationView,
    DrillList,
    DrillRunView,
    DrillView,
    IncidentList,
    IncidentMetricsView,
    IncidentView,
    InterventionList,
    InterventionView,
    PostmortemView,
    SavedPostmortemView,
    TraceBatchView,
    TraceView,
)


@operation("attestation.report", write=True)
def report_attestation(
    ctx: Context,
    system: str,
    environment: str,
    digest: str,
    process_id: str,
    host: str = "",
    sdk_version: str = "",
) -> AttestationView:
    """A serving process reports the digest of the configuration it loaded."""
    return AttestationView.model_validate(
        attestation.attest(
            ctx, system, environment, digest, process_id, host=host, sdk_version=sdk_version
        )
    )


@operation("trace.record", write=True)
def record_traces(
    ctx: Context, system: str, environment: str, traces: list[dict[str, Any]]
) -> TraceBatchView:
    """Store the SDK's trace records of a batch of inferences."""
    return TraceBatchView.model_validate(trace.record_traces(ctx, system, environment, traces))


@operation("trace.show", write=False)
def show_trace(ctx: Context, inference_id: str, system: str | None = None) -> TraceView:
    """One inference traced back to the approval that allowed it."""
    return TraceView.model_validate(trace.trace(ctx, inference_id, system=system))


def _incident(ctx: Context, incident: Any) -> IncidentView:
    return IncidentView.model_validate(incidents.incident_view(ctx, incident))


@operation("incident.list", write=False)
def list_incidents(
    ctx: Context, system: str | None = None, status: str | None = None, limit: int = 100
) -> IncidentList:
    """Incidents, newest first."""
    rows = incidents.list_incidents(ctx, system=system, status=status, limit=limit)
    return IncidentList(items=[IncidentView.model_validate(r) for r in rows])


@operation("incident.show", write=False)
def show_incident(ctx: Context, incident_id: int) -> IncidentView:
    """One incident with its timeline."""
    return IncidentView.model_validate(incidents.show(ctx, incident_id))


@operation("incident.open", write=True)
def open_incident(
    ctx: Context,
    system: str,
    environment: str,
    title: str,
    severity: str = "sev2",
    note: str = "",
    alert_id: int | None = None,
) -> IncidentView:
    """Open an incident by hand."""
    incident = incidents.open_incident(
        ctx, system, environment, title, severity=severity, note=note, alert_id=alert_id
    )
    return _incident(ctx, incident)


@operation("incident.ack", write=True)
def ack_incident(ctx: Context, incident_id: int, note: str = "") -> IncidentView:
    """Acknowledge an incident."""
    return _incident(ctx, incidents.step(ctx, incident_id, "acknowledged", note))


@operation("incident.mitigate", write=True)
def mitigate_incident(ctx: Context, incident_id: int, note: str = "") -> IncidentView:
    """Record that an incident's impact has been stopped."""
    return _incident(ctx, incidents.step(ctx, incident_id, "mitigated", note))


@operation("incident.resolve", write=True)
def resolve_incident(ctx: Context, incident_id: int, note: str = "") -> IncidentView:
    """Resolve an incident."""
    return _incident(ctx, incidents.step(ctx, incident_id, "resolved", note))


@operation("incident.postmortem", write=False)
def postmortem(ctx: Context, incident_id: int) -> PostmortemView:
    """A Markdown postmortem from the incident's timeline."""
    return PostmortemView(incident_id=incident_id, markdown=incidents.postmortem(ctx, incident_id))


@operation("incident.metrics", write=False)
def incident_metrics(ctx: Context, system: str | None = None) -> IncidentMetricsView:
    """MTTD and MTTM over incidents."""
    return IncidentMetricsView.model_validate(incidents.metrics(ctx, system=system))


@operation("incident.alert_ack", write=True)
def ack_alert(ctx: Context, alert_id: int, note: str = "") -> AlertActionView:
    """Acknowledge an alert (and its incident)."""
    return AlertActionView.model_validate(incidents.alert_step(ctx, alert_id, "ack", note))


@operation("incident.alert_resolve", write=True)
def resolve_alert(ctx: Context, alert_id: int, note: str = "") -> AlertActionView:
    """Resolve an alert by hand."""
    return AlertActionView.model_validate(incidents.alert_step(ctx, alert_id, "resolve", note))


@operation("intervention.list", write=False)
def list_interventions(
    ctx: Context, system: str | None = None, limit: int = 100
) -> InterventionList:
    """Automatic interventions, newest first."""
    rows = interventions.list_interventions(ctx, system=system, limit=limit)
    return InterventionList(items=[InterventionView.model_validate(r) for r in rows])


@operation("drill.run", write=True)
def run_drill(ctx: Context, ref: str, scenario: str) -> DrillView:
    """Run a drill of a release in the sandbox environment; stored as fallback-drill evidence."""
    return DrillView.model_validate(drills.run_drill(ctx, ref, scenario))


@operation("incident.postmortem_save", write=True)
def save_postmortem(ctx: Context, incident_id: int, markdown: str) -> SavedPostmortemView:
    """Store a postmortem written by a person (each save kept in the timeline)."""
    saved = incidents.save_postmortem(ctx, incident_id, markdown)
    return SavedPostmortemView(incident_id=incident_id, **saved)


@operation("drill.list", write=False)
def list_drills(ctx: Context, system: str | None = None, limit: int = 100) -> DrillList:
    """Drills run, newest first, with their outcome."""
    rows = drills.list_drills(ctx, system=system, limit=limit)
    return DrillList(items=[DrillRunView.model_validate(r) for r in rows])

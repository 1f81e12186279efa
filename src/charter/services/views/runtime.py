"""Views of the serving path: attestations, traces, incidents, interventions, drills."""

from __future__ import annotations

from typing import Any

from charter.services.views.base import View
from charter.services.views.extra import RunbookView


class AttestationView(View):
    """What a serving process attested, and whether a valid approval covers it."""

    system: str
    environment: str
    process_id: str
    digest: str
    approved: bool
    reason: str
    host: str
    sdk_version: str
    alert_id: int | None
    first_seen_at: str
    last_seen_at: str


class TraceBatchView(View):
    """The outcome of a batch of trace records."""

    accepted: int
    duplicates: int


class TraceView(View):
    """One inference traced back to its release, decisions, attestation and guard verdicts."""

    inference_id: str
    system: str
    environment: str
    at: str
    served: str
    route_state_seen: str | None
    flags: list[str]
    record: dict[str, Any]
    guard: dict[str, Any]
    deployment_at_time: dict[str, Any]
    release: dict[str, Any] | None
    approval_at_time: dict[str, Any] | None = None
    decisions: list[dict[str, Any]]
    exceptions: list[dict[str, Any]]
    attestation: dict[str, Any] | None
    route_now: str | None


class IncidentView(View):
    """An incident: severity, status, links, timeline stamps, MTTD and MTTM."""

    id: int
    system: str
    environment: str
    release: str | None
    title: str
    severity: str
    status: str
    source: str
    alert_id: int | None
    links: dict[str, Any]
    breach_started_at: str | None
    detected_at: str | None
    acknowledged_at: str | None
    mitigated_at: str | None
    resolved_at: str | None
    opened_by: str
    mttd_seconds: float | None
    mttm_seconds: float | None
    timeline: list[dict[str, Any]] | None = None
    runbook: RunbookView | None = None


class IncidentList(View):
    """Incidents, newest first."""

    items: list[IncidentView]


class IncidentMetricsView(View):
    """MTTD and MTTM over incidents, in seconds."""

    incidents: int
    open: int
    mttd_seconds: dict[str, Any]
    mttm_seconds: dict[str, Any]


class PostmortemView(View):
    """A Markdown postmortem drafted from an incident's timeline."""

    incident_id: int
    markdown: str


class AlertActionView(View):
    """An alert after a person acknowledged or resolved it."""

    id: int
    system: str
    environment: str
    monitor: str
    severity: str
    status: str
    summary: str
    opened_at: str | None
    resolved_at: str | None
    actions: list[dict[str, Any]]


class InterventionView(View):
    """What the policy made the worker do about an alert, or a human override."""

    id: int
    alert_id: int
    system: str
    environment: str
    action: str
    status: str
    policy_version: int | None
    rule: dict[str, Any]
    release_from: str | None
    release_to: str | None
    outcome: str
    incident_id: int | None
    created_at: str
    created_by: str


class InterventionList(View):
    """Interventions, newest first."""

    items: list[InterventionView]


class DrillView(View):
    """A drill's run: what was injected, what happened, how long each step took."""

    system: str
    release: str
    scenario: str
    environment: str
    passed: bool
    steps: dict[str, Any]
    evidence_id: int | None
    notes: list[str]

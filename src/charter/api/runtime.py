"""``/api/v1`` endpoints of the serving path: attestation, traces, incidents, interventions,
drills; and the conditional response the route endpoint uses."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from charter.api.deps import ActorDep, CharterDep
from charter.api.problems import PROBLEM_RESPONSES
from charter.services.operations import perform
from charter.services.operations import runtime as ops
from charter.services.views.runtime import (
    AlertActionView,
    AttestationView,
    DrillList,
    DrillView,
    IncidentList,
    IncidentMetricsView,
    IncidentView,
    InterventionList,
    PostmortemView,
    SavedPostmortemView,
    TraceBatchView,
    TraceView,
)

#: A record id in a path: positive and within the databases' integer range.
RecordId = Annotated[int, Path(ge=1, le=2**31 - 1)]

router = APIRouter(prefix="/api/v1", responses=PROBLEM_RESPONSES)
Name = Annotated[str, Path(min_length=1, max_length=64, description="A slug.")]
Env = Annotated[str, Query(min_length=1, max_length=64, description="Environment.")]


def conditional(request: Request, view: BaseModel) -> Response:
    """The view as JSON with a strong ETag; 304 when ``If-None-Match`` names it.

    The SDK polls the route every few seconds: an unchanged route costs a 304 with no body.
    """
    body = view.model_dump_json(by_alias=True).encode("utf-8")
    tag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": tag, "Cache-Control": "no-cache"}
    wanted = [t.strip() for t in request.headers.get("if-none-match", "").split(",")]
    if tag in wanted or "*" in wanted:
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return Response(content=body, media_type="application/json", headers=headers)


class AttestationBody(BaseModel):
    """What a serving process loaded."""

    model_config = ConfigDict(extra="forbid")
    environment: str = Field(min_length=1, max_length=64)
    digest: str = Field(min_length=64, max_length=64)
    process_id: str = Field(min_length=1, max_length=128)
    host: str = Field(default="", max_length=200)
    sdk_version: str = Field(default="", max_length=32)


class TraceBody(BaseModel):
    """A batch of trace records."""

    model_config = ConfigDict(extra="forbid")
    traces: list[dict[str, Any]] = Field(min_length=1, max_length=10_000)


class IncidentBody(BaseModel):
    """A new incident."""

    model_config = ConfigDict(extra="forbid")
    system: str = Field(min_length=1, max_length=64)
    environment: str = Field(min_length=1, max_length=64)
    title: str = Field(min_length=1, max_length=200)
    severity: str = Field(default="sev2", max_length=8)
    note: str = Field(default="", max_length=10_000)
    alert_id: int | None = Field(default=None, ge=1, le=2**31 - 1)


class NoteBody(BaseModel):
    """A note on a step."""

    model_config = ConfigDict(extra="forbid")
    note: str = Field(default="", max_length=10_000)


@router.post("/systems/{name}/attestations", tags=["runtime"])
def attest(
    name: Name, body: AttestationBody, charter: CharterDep, actor: ActorDep
) -> AttestationView:
    """A serving process reports the digest of the configuration it loaded."""
    return perform(
        charter,
        actor,
        ops.report_attestation,
        name,
        body.environment,
        body.digest,
        body.process_id,
        body.host,
        body.sdk_version,
    )


@router.post("/systems/{name}/traces", tags=["runtime"])
def record_traces(
    name: Name, body: TraceBody, env: Env, charter: CharterDep, actor: ActorDep
) -> TraceBatchView:
    """Store the SDK's trace records (release, routing state, attestation, guard verdicts)."""
    return perform(charter, actor, ops.record_traces, name, env, body.traces)


@router.get("/traces/{inference_id}", tags=["runtime"])
def show_trace(
    inference_id: Annotated[str, Path(min_length=1, max_length=128)],
    charter: CharterDep,
    actor: ActorDep,
    system: Annotated[str | None, Query(max_length=64)] = None,
) -> TraceView:
    """One inference traced back to the approval that allowed it."""
    return perform(charter, actor, ops.show_trace, inference_id, system)


@router.get("/incidents", tags=["incidents"])
def list_incidents(
    charter: CharterDep,
    actor: ActorDep,
    system: Annotated[str | None, Query(max_length=64)] = None,
    status_: Annotated[str | None, Query(alias="status", max_length=16)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> IncidentList:
    """Incidents, newest first."""
    return perform(charter, actor, ops.list_incidents, system, status_, limit)


@router.post("/incidents", status_code=status.HTTP_201_CREATED, tags=["incidents"])
def open_incident(body: IncidentBody, charter: CharterDep, actor: ActorDep) -> IncidentView:
    """Open an incident by hand."""
    return perform(
        charter,
        actor,
        ops.open_incident,
        body.system,
        body.environment,
        body.title,
        body.severity,
        body.note,
        body.alert_id,
    )


@router.get("/incidents/metrics", tags=["incidents"])
def incident_metrics(
    charter: CharterDep, actor: ActorDep, system: Annotated[str | None, Query(max_length=64)] = None
) -> IncidentMetricsView:
    """MTTD and MTTM over incidents."""
    return perform(charter, actor, ops.incident_metrics, system)


@router.get("/incidents/{incident_id}", tags=["incidents"])
def show_incident(incident_id: RecordId, charter: CharterDep, actor: ActorDep) -> IncidentView:
    """One incident with its timeline."""
    return perform(charter, actor, ops.show_incident, incident_id)


@router.get("/incidents/{incident_id}/postmortem", tags=["incidents"])
def postmortem(incident_id: RecordId, charter: CharterDep, actor: ActorDep) -> PostmortemView:
    """A Markdown postmortem drafted from the timeline."""
    return perform(charter, actor, ops.postmortem, incident_id)


class PostmortemBody(BaseModel):
    """A postmortem written by a person (Markdown)."""

    model_config = ConfigDict(extra="forbid")
    markdown: str = Field(min_length=1, max_length=100_000)


@router.put("/incidents/{incident_id}/postmortem", tags=["incidents"])
def save_postmortem(
    incident_id: RecordId, body: PostmortemBody, charter: CharterDep, actor: ActorDep
) -> SavedPostmortemView:
    """Store a postmortem written by a person (every revision is kept in the timeline)."""
    return perform(charter, actor, ops.save_postmortem, incident_id, body.markdown)


@router.post("/incidents/{incident_id}/ack", tags=["incidents"])
def ack_incident(
    incident_id: RecordId, body: NoteBody, charter: CharterDep, actor: ActorDep
) -> IncidentView:
    """Acknowledge an incident."""
    return perform(charter, actor, ops.ack_incident, incident_id, body.note)


@router.post("/incidents/{incident_id}/mitigate", tags=["incidents"])
def mitigate_incident(
    incident_id: RecordId, body: NoteBody, charter: CharterDep, actor: ActorDep
) -> IncidentView:
    """Record that the impact has stopped."""
    return perform(charter, actor, ops.mitigate_incident, incident_id, body.note)


@router.post("/incidents/{incident_id}/resolve", tags=["incidents"])
def resolve_incident(
    incident_id: RecordId, body: NoteBody, charter: CharterDep, actor: ActorDep
) -> IncidentView:
    """Resolve an incident."""
    return perform(charter, actor, ops.resolve_incident, incident_id, body.note)


@router.post("/alerts/{alert_id}/ack", tags=["monitoring"])
def ack_alert(
    alert_id: RecordId, body: NoteBody, charter: CharterDep, actor: ActorDep
) -> AlertActionView:
    """Acknowledge an alert (and its incident)."""
    return perform(charter, actor, ops.ack_alert, alert_id, body.note)


@router.post("/alerts/{alert_id}/resolve", tags=["monitoring"])
def resolve_alert(
    alert_id: RecordId, body: NoteBody, charter: CharterDep, actor: ActorDep
) -> AlertActionView:
    """Resolve an alert by hand."""
    return perform(charter, actor, ops.resolve_alert, alert_id, body.note)


@router.get("/interventions", tags=["incidents"])
def list_interventions(
    charter: CharterDep,
    actor: ActorDep,
    system: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> InterventionList:
    """Automatic interventions, newest first."""
    return perform(charter, actor, ops.list_interventions, system, limit)


class DrillBody(BaseModel):
    """Which drill to run."""

    model_config = ConfigDict(extra="forbid")
    scenario: str = Field(max_length=16)


@router.post("/systems/{name}/releases/{digest}/drills", tags=["incidents"])
def run_drill(
    name: Name,
    digest: Annotated[str, Path(min_length=12, max_length=71)],
    body: DrillBody,
    charter: CharterDep,
    actor: ActorDep,
) -> DrillView:
    """Run a drill of the release in the sandbox environment (stored as evidence)."""
    return perform(charter, actor, ops.run_drill, f"{name}@{digest}", body.scenario)


@router.get("/drills", tags=["incidents"])
def list_drills(
    charter: CharterDep,
    actor: ActorDep,
    system: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> DrillList:
    """Drills run, newest first, with their outcome."""
    return perform(charter, actor, ops.list_drills, system, limit)

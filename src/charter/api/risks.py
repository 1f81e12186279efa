"""``/api/v1`` endpoints of the risk register and the model risk assessment."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from charter.api.deps import ActorDep, CharterDep
from charter.api.problems import PROBLEM_RESPONSES
from charter.domain.risks import RiskChange
from charter.services.operations import perform
from charter.services.operations import risks as ops
from charter.services.views.risks import RiskAssessmentView, RiskRegisterView, RiskView

router = APIRouter(prefix="/api/v1", responses=PROBLEM_RESPONSES)

Name = Annotated[str, Path(min_length=1, max_length=64, description="A slug.")]
RecordId = Annotated[int, Path(ge=1, le=2**31 - 1)]
MEDIA = {"md": "text/markdown; charset=utf-8", "html": "text/html; charset=utf-8"}


class Note(BaseModel):
    """A note: what a review looked at, or why residual risk is accepted."""

    model_config = ConfigDict(extra="forbid")
    note: str = Field(default="", max_length=10_000)


class RiskUpdate(BaseModel):
    """The fields to change and a note for the new version."""

    model_config = ConfigDict(extra="forbid")
    risk: RiskChange
    note: str = Field(default="", max_length=10_000)


class IncidentLink(BaseModel):
    """The risk an incident realised."""

    model_config = ConfigDict(extra="forbid")
    risk_id: int = Field(ge=1, le=2**31 - 1)
    note: str = Field(default="", max_length=10_000)


@router.post("/systems/{name}/risks", status_code=status.HTTP_201_CREATED, tags=["risks"])
def add_risk(name: Name, body: RiskChange, charter: CharterDep, actor: ActorDep) -> RiskView:
    """Add a risk to the system's register (refused, with nothing written, when it names an
    unknown control or signal or a rating off the pack's scales)."""
    return perform(charter, actor, ops.add_risk, name, body)


@router.get("/systems/{name}/risks", tags=["risks"])
def list_risks(
    name: Name,
    charter: CharterDep,
    actor: ActorDep,
    status_: Annotated[Literal["open", "closed"] | None, Query(alias="status")] = None,
) -> RiskRegisterView:
    """The system's register, highest residual rating first, with gaps and incidents."""
    return perform(charter, actor, ops.list_risks, name, status_)


@router.post("/systems/{name}/risks/seed", status_code=status.HTTP_201_CREATED, tags=["risks"])
def seed_register(name: Name, charter: CharterDep, actor: ActorDep) -> RiskRegisterView:
    """Add the pack's template risks for the system's tier and intake answers."""
    return perform(charter, actor, ops.seed_register, name)


@router.get("/systems/{name}/risks/{risk_id}", tags=["risks"])
def show_risk(name: Name, risk_id: RecordId, charter: CharterDep, actor: ActorDep) -> RiskView:
    """One risk with every version of it."""
    return perform(charter, actor, ops.show_risk, name, risk_id)


@router.patch("/systems/{name}/risks/{risk_id}", tags=["risks"])
def update_risk(
    name: Name, risk_id: RecordId, body: RiskUpdate, charter: CharterDep, actor: ActorDep
) -> RiskView:
    """Change a risk: a new version (a changed rating, owner or mitigation clears the
    acceptance of its residual rating)."""
    return perform(charter, actor, ops.update_risk, name, risk_id, body.risk, body.note)


@router.post("/systems/{name}/risks/{risk_id}/review", tags=["risks"])
def review_risk(
    name: Name, risk_id: RecordId, body: Note, charter: CharterDep, actor: ActorDep
) -> RiskView:
    """Record a review of the risk by the caller."""
    return perform(charter, actor, ops.review_risk, name, risk_id, body.note)


@router.post("/systems/{name}/risks/{risk_id}/accept", tags=["risks"])
def accept_risk(
    name: Name, risk_id: RecordId, body: Note, charter: CharterDep, actor: ActorDep
) -> RiskView:
    """Accept the risk's residual rating (not by its owner or rater, when the pack says so)."""
    return perform(charter, actor, ops.accept_risk, name, risk_id, body.note)


@router.post("/incidents/{incident_id}/risks", tags=["risks"])
def link_incident(
    incident_id: RecordId, body: IncidentLink, charter: CharterDep, actor: ActorDep
) -> RiskView:
    """Record that the incident realised a risk of its system."""
    return perform(charter, actor, ops.link_incident, incident_id, body.risk_id, body.note)


@router.get("/systems/{name}/risk-assessment", tags=["risks"])
def assessment(name: Name, charter: CharterDep, actor: ActorDep) -> RiskAssessmentView:
    """The model risk assessment's data."""
    return perform(charter, actor, ops.assessment, name)


@router.get(
    "/systems/{name}/risk-assessment/document",
    tags=["risks"],
    response_class=Response,
    responses={200: {"content": {m: {} for m in MEDIA.values()}}},
)
def assessment_document(
    name: Name,
    charter: CharterDep,
    actor: ActorDep,
    fmt: Annotated[Literal["md", "html"], Query(alias="format")] = "html",
) -> Response:
    """The model risk assessment rendered as Markdown or HTML."""
    from charter.documents.risk_assessment import render_assessment

    view = perform(charter, actor, ops.assessment, name)
    return Response(render_assessment(view.assessment, fmt), media_type=MEDIA[fmt])

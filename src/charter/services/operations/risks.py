"""Operations of the risk register and the model risk assessment."""

from __future__ import annotations

from charter.domain.risks import RiskChange
from charter.services import risk_assessment, risks
from charter.services.context import Context
from charter.services.operations import operation
from charter.services.views.risks import RiskAssessmentView, RiskRegisterView, RiskView
from charter.store.models import Risk


def _view(ctx: Context, risk: Risk, *, history: bool = False) -> RiskView:
    return RiskView.model_validate(risks.risk_view(ctx, risk, with_history=history))


@operation("risk.add", write=True)
def add_risk(ctx: Context, system: str, risk: RiskChange) -> RiskView:
    """Add a risk to the system's register, rated on the pack's scales."""
    return _view(ctx, risks.add_risk(ctx, system, risk))


@operation("risk.list", write=False)
def list_risks(ctx: Context, system: str, status: str | None = None) -> RiskRegisterView:
    """The system's register, highest residual rating first."""
    return RiskRegisterView.model_validate(risks.register_view(ctx, system, status=status))


@operation("risk.show", write=False)
def show_risk(ctx: Context, system: str, risk_id: int) -> RiskView:
    """One risk with every version of it."""
    return _view(ctx, risks.get_risk(ctx, system, risk_id), history=True)


@operation("risk.update", write=True)
def update_risk(
    ctx: Context, system: str, risk_id: int, risk: RiskChange, note: str = ""
) -> RiskView:
    """Change a risk (a new version)."""
    return _view(ctx, risks.update_risk(ctx, system, risk_id, risk, note=note))


@operation("risk.review", write=True)
def review_risk(ctx: Context, system: str, risk_id: int, note: str = "") -> RiskView:
    """Record a review of the risk by the caller."""
    return _view(ctx, risks.review_risk(ctx, system, risk_id, note=note))


@operation("risk.accept", write=True)
def accept_risk(ctx: Context, system: str, risk_id: int, note: str = "") -> RiskView:
    """Accept the risk's residual rating (separation of duties applies)."""
    return _view(ctx, risks.accept_risk(ctx, system, risk_id, note=note))


@operation("risk.seed", write=True)
def seed_register(ctx: Context, system: str) -> RiskRegisterView:
    """Add the pack's template risks for the system's tier and intake answers."""
    risks.seed_register(ctx, system)
    return RiskRegisterView.model_validate(risks.register_view(ctx, system))


@operation("risk.link_incident", write=True)
def link_incident(ctx: Context, incident_id: int, risk_id: int, note: str = "") -> RiskView:
    """Record that an incident realised a risk of its system."""
    return _view(ctx, risks.link_incident(ctx, incident_id, risk_id, note=note))


@operation("risk.assessment", write=False)
def assessment(ctx: Context, system: str) -> RiskAssessmentView:
    """The model risk assessment's data (render it with ``charter risk assessment``)."""
    return RiskAssessmentView(assessment=risk_assessment.build_assessment(ctx, system))

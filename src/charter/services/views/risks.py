"""Views of the risk register and of the model risk assessment."""

from __future__ import annotations

from typing import Any

from charter.services.views.base import View


class RiskView(View):
    """One risk: what it is, its ratings on the pack's scales, who owns, reviewed and
    accepted it, what mitigates and watches it, the gaps a gate would name, and the
    incidents that realised it."""

    id: int
    system: str
    version: int
    template: str | None
    title: str
    category: str
    nist_ai_rmf: list[str]
    owasp_llm: list[str]
    cause: str
    failure_mode: str
    affected_population: str
    likelihood: int
    likelihood_label: str
    impact: int
    impact_label: str
    inherent_score: int
    inherent_rating: str
    residual_likelihood: int
    residual_likelihood_label: str
    residual_impact: int
    residual_impact_label: str
    residual_score: int
    residual_rating: str
    rated_by: str
    policy_version: int | None
    owner: str | None
    controls: list[str]
    signals: list[str]
    remediation: str
    status: str
    reviewed_at: str | None
    reviewed_by: str | None
    review_note: str
    review_due: str | None
    accepted_at: str | None
    accepted_by: str | None
    acceptance_note: str
    gaps: list[str]
    realised_incidents: list[dict[str, Any]]
    created_at: str
    created_by: str
    updated_at: str
    updated_by: str
    history: list[dict[str, Any]] | None = None


class RiskRegisterView(View):
    """A system's register, highest residual rating first."""

    system: str
    tier: str
    review_days: int | None
    items: list[RiskView]


class RiskAssessmentView(View):
    """The model risk assessment's data (``charter risk assessment`` renders it)."""

    assessment: dict[str, Any]

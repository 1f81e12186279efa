"""The pack's ``risk`` section: scales, rating bands, review cadence, acceptance, templates.

A risk is rated on the pack's likelihood and impact scales; its score is likelihood x
impact, and its rating is the highest band whose ``min_score`` the score reaches. The
section also says how often each tier's risks must be reviewed, who may accept residual
risk (and whether the risk's owner or the person who rated it may), and the risks a
system's register is seeded with, per tier and intake answers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, ConfigDict, Field

from charter.domain.text import SLUG_PATTERN

if TYPE_CHECKING:
    from charter.domain.policy.model import Policy

Slug = Annotated[str, Field(pattern=SLUG_PATTERN)]
Text = Annotated[str, Field(max_length=5000)]
#: What the register's categories default to: the kinds of harm a model-risk team tracks.
DEFAULT_CATEGORIES: tuple[str, ...] = (
    "performance",
    "fairness",
    "privacy",
    "security",
    "robustness",
    "transparency",
    "safety",
    "misuse",
    "third-party",
    "operational",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScalePoint(_Strict):
    """One point of a likelihood or impact scale."""

    value: int = Field(ge=1, le=10)
    label: Annotated[str, Field(min_length=1, max_length=64)]
    description: str = Field(default="", max_length=2000)


def _scale(*labels: str) -> list[ScalePoint]:
    return [ScalePoint(value=i, label=label) for i, label in enumerate(labels, start=1)]


class RatingBand(_Strict):
    """A rating: every score from ``min_score`` up to the next band's is rated ``id``."""

    id: Slug
    min_score: int = Field(ge=1, le=100)


def _bands() -> list[RatingBand]:
    return [
        RatingBand(id="low", min_score=1),
        RatingBand(id="medium", min_score=5),
        RatingBand(id="high", min_score=10),
        RatingBand(id="critical", min_score=17),
    ]


class Acceptance(_Strict):
    """Who may accept a risk's residual rating, and from which rating it must be accepted.

    ``independent``: the risk's owner and the person who last set its residual rating may
    not accept it themselves (separation of duties).
    """

    roles: list[str] = Field(default_factory=lambda: ["approver", "risk_engineer"], min_length=1)
    independent: bool = True
    required_from: Slug = "high"


class RiskTemplate(_Strict):
    """A risk a system's register is seeded with, for the tiers listed (and ``when`` true).

    ``when`` is a CEL expression over the intake answers, like an intake rule's.
    """

    id: Slug
    tiers: list[Slug] = Field(min_length=1, max_length=20)
    when: str | None = Field(default=None, min_length=1, max_length=4000)
    title: Annotated[str, Field(min_length=1, max_length=200)]
    category: Slug
    nist_ai_rmf: list[str] = Field(default_factory=list, max_length=20)
    owasp_llm: list[str] = Field(default_factory=list, max_length=10)
    cause: Text = ""
    failure_mode: Text = ""
    affected_population: Text = ""
    likelihood: int = Field(ge=1, le=10)
    impact: int = Field(ge=1, le=10)
    controls: list[Slug] = Field(default_factory=list, max_length=50)
    signals: list[str] = Field(default_factory=list, max_length=10)
    remediation: Text = ""


class RiskPolicy(_Strict):
    """The ``risk`` section of a pack (every field has a default)."""

    likelihood: list[ScalePoint] = Field(
        default_factory=lambda: _scale("rare", "unlikely", "possible", "likely", "almost-certain"),
        min_length=2,
        max_length=10,
    )
    impact: list[ScalePoint] = Field(
        default_factory=lambda: _scale("negligible", "minor", "moderate", "major", "severe"),
        min_length=2,
        max_length=10,
    )
    ratings: list[RatingBand] = Field(default_factory=_bands, min_length=1, max_length=10)
    #: Days between reviews per tier; a tier not listed uses ``default_review_days``.
    review_days: dict[Slug, Annotated[int, Field(ge=1, le=3650)]] = Field(default_factory=dict)
    default_review_days: int = Field(default=365, ge=1, le=3650)
    #: Who may record a review.
    reviewer_roles: list[str] = Field(
        default_factory=lambda: ["risk_engineer", "approver"], min_length=1
    )
    acceptance: Acceptance = Field(default_factory=Acceptance)
    categories: list[Slug] = Field(
        default_factory=lambda: list(DEFAULT_CATEGORIES), min_length=1, max_length=100
    )
    templates: list[RiskTemplate] = Field(default_factory=list, max_length=500)

    def rating(self, likelihood: int, impact: int) -> str:
        """The rating of a likelihood and an impact (both on the scales)."""
        score = likelihood * impact
        chosen = self.ratings[0].id
        for band in sorted(self.ratings, key=lambda b: b.min_score):
            if score >= band.min_score:
                chosen = band.id
        return chosen

    def rank(self, rating: str) -> int:
        """A rating's position from the lowest band (0); unknown ratings rank highest."""
        order = [b.id for b in sorted(self.ratings, key=lambda b: b.min_score)]
        return order.index(rating) if rating in order else len(order)

    def review_days_for(self, tier: str) -> int:
        """How many days a risk of a system of ``tier`` may go without a review."""
        return self.review_days.get(tier, self.default_review_days)

    def scale_problem(self, which: str, value: object) -> str | None:
        """Why ``value`` is not a point of the ``likelihood`` or ``impact`` scale, or None."""
        points = self.likelihood if which == "likelihood" else self.impact
        values = [p.value for p in points]
        if isinstance(value, bool) or not isinstance(value, int) or value not in values:
            shown = ", ".join(f"{p.value} ({p.label})" for p in points)
            return f"{which} {value!r} is not on the policy's scale: {shown}"
        return None

    def label(self, which: str, value: int) -> str:
        """The label of a scale point (the number itself when it is not on the scale)."""
        points = self.likelihood if which == "likelihood" else self.impact
        return next((p.label for p in points if p.value == value), str(value))


def owasp_identifiers() -> frozenset[str]:
    """The OWASP Top 10 for LLM applications ids a risk may cite (``references.yaml``)."""
    from charter.domain.policy.references import valid_identifiers

    return valid_identifiers()["owasp_llm"]


def nist_identifiers() -> frozenset[str]:
    """The NIST AI RMF 1.0 subcategory ids a risk may cite (``GOVERN 1.1`` ...)."""
    from charter.domain.policy.references import valid_identifiers

    return valid_identifiers()["nist_ai_rmf"]


def mapping_problems(field: str, values: list[str]) -> list[tuple[str, str]]:
    """``(location, message)`` for every NIST AI RMF or OWASP id that does not exist."""
    known = nist_identifiers() if field == "nist_ai_rmf" else owasp_identifiers()
    what = "NIST AI RMF 1.0 subcategory" if field == "nist_ai_rmf" else "OWASP LLM Top 10 id"
    return [
        (f"{field}[{i}]", f"{value!r} is not a {what} (charter/policies/references.yaml)")
        for i, value in enumerate(values)
        if value not in known
    ]


def risk_problems(policy: Policy, *, check_expressions: bool = True) -> list[tuple[str, str]]:
    """Cross-reference checks of the ``risk`` section (locations start at ``risk.``)."""
    from charter.domain.contracts import MONITORS
    from charter.domain.policy.loading import expression_problems
    from charter.domain.policy.model import FORBIDDEN_APPROVER_ROLES
    from charter.domain.roles import Role

    section = policy.risk
    problems: list[tuple[str, str]] = []
    for which in ("likelihood", "impact"):
        values = [p.value for p in getattr(section, which)]
        if len(set(values)) != len(values):
            problems.append((f"risk.{which}", "a scale value is listed twice"))
    bands = [b.id for b in section.ratings]
    if len(set(bands)) != len(bands):
        problems.append(("risk.ratings", "a rating is listed twice"))
    scores = [b.min_score for b in section.ratings]
    if scores != sorted(scores) or len(set(scores)) != len(scores):
        problems.append(("risk.ratings", "min_score must rise from one rating to the next"))
    lowest = min(p.value for p in section.likelihood) * min(p.value for p in section.impact)
    if scores and scores[0] > lowest:
        problems.append(
            ("risk.ratings[0].min_score", f"the lowest score ({lowest}) must have a rating")
        )
    tiers = policy.tier_ids
    for tier in section.review_days:
        if tier not in tiers:
            problems.append((f"risk.review_days.{tier}", f"unknown tier {tier!r}"))
    roles = [r.value for r in Role]
    for field, listed in (
        ("risk.reviewer_roles", section.reviewer_roles),
        ("risk.acceptance.roles", section.acceptance.roles),
    ):
        for i, role in enumerate(listed):
            if role not in roles:
                problems.append((f"{field}[{i}]", f"unknown role {role!r}"))
    for i, role in enumerate(section.acceptance.roles):
        if role in FORBIDDEN_APPROVER_ROLES:
            problems.append(
                (
                    f"risk.acceptance.roles[{i}]",
                    f"role {role!r} may not accept risk (developers, services and auditors "
                    "never accept)",
                )
            )
    if section.acceptance.required_from not in bands:
        problems.append(
            ("risk.acceptance.required_from", f"unknown rating; ratings: {', '.join(bands)}")
        )
    if len(set(section.categories)) != len(section.categories):
        problems.append(("risk.categories", "a category is listed twice"))
    questions = [q.id for q in policy.intake.questions]
    seen: set[str] = set()
    for index, template in enumerate(section.templates):
        base = f"risk.templates[{index}]"
        if template.id in seen:
            problems.append((f"{base}.id", f"duplicate template id {template.id!r}"))
        seen.add(template.id)
        problems += [
            (f"{base}.tiers[{i}]", f"unknown tier {t!r}")
            for i, t in enumerate(template.tiers)
            if t not in tiers
        ]
        if template.when is not None and check_expressions:
            problems += expression_problems(template.when, f"{base}.when", questions)
        if template.category not in section.categories:
            problems.append((f"{base}.category", f"unknown category {template.category!r}"))
        for field in ("nist_ai_rmf", "owasp_llm"):
            problems += [
                (f"{base}.{where}", message)
                for where, message in mapping_problems(field, getattr(template, field))
            ]
        for which in ("likelihood", "impact"):
            problem = section.scale_problem(which, getattr(template, which))
            if problem:
                problems.append((f"{base}.{which}", problem))
        for i, control_id in enumerate(template.controls):
            control = policy.control(control_id)
            if control is None:
                problems.append((f"{base}.controls[{i}]", f"unknown control {control_id!r}"))
                continue
            outside = [t for t in template.tiers if t not in control.tiers]
            if outside:
                problems.append(
                    (
                        f"{base}.controls[{i}]",
                        f"control {control_id!r} does not apply to tier {outside[0]!r}",
                    )
                )
        problems += [
            (f"{base}.signals[{i}]", f"unknown signal {s!r}; signals: {', '.join(MONITORS)}")
            for i, s in enumerate(template.signals)
            if s not in MONITORS
        ]
    return problems

"""The pack's ``risk`` section: rating on the scales, and every kind of bad section refused."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from tests.domain.policy.packs import NOW, load, pack

from charter.domain.errors import BadInput
from charter.domain.risks import RegisterFacts, RiskFact, gaps


def test_defaults_rate_on_five_by_five_scales() -> None:
    section = load().risk
    assert [section.rating(lik, imp) for lik, imp in ((1, 1), (1, 5), (2, 5), (4, 4), (5, 5))] == [
        "low",
        "medium",
        "high",
        "high",
        "critical",
    ]
    assert section.review_days_for("high") == 365
    assert section.scale_problem("likelihood", 6) is not None
    assert section.scale_problem("impact", True) is not None
    assert section.scale_problem("impact", 5) is None


TEMPLATE = {
    "id": "drift",
    "tiers": ["high"],
    "title": "Inputs drift",
    "category": "robustness",
    "likelihood": 3,
    "impact": 3,
    "controls": ["eval-classification"],
    "signals": ["drift"],
}


def with_risk(**section: Any) -> dict[str, Any]:
    data = pack()
    data["risk"] = section
    return data


@pytest.mark.parametrize(
    ("section", "where", "message"),
    [
        ({"ratings": [{"id": "low", "min_score": 2}]}, "risk.ratings[0]", "lowest score"),
        (
            {"ratings": [{"id": "low", "min_score": 1}, {"id": "high", "min_score": 1}]},
            "risk.ratings",
            "must rise",
        ),
        ({"review_days": {"galactic": 9}}, "risk.review_days.galactic", "unknown tier"),
        ({"acceptance": {"roles": ["developer"]}}, "risk.acceptance.roles[0]", "may not accept"),
        ({"acceptance": {"required_from": "dire"}}, "risk.acceptance.required_from", "unknown"),
        ({"templates": [{**TEMPLATE, "likelihood": 7}]}, "templates[0].likelihood", "scale"),
        ({"templates": [{**TEMPLATE, "signals": ["vibes"]}]}, "templates[0].signals[0]", "vibes"),
        ({"templates": [{**TEMPLATE, "controls": ["nope"]}]}, "templates[0].controls[0]", "nope"),
        (
            {"templates": [{**TEMPLATE, "tiers": ["high", "limited"]}]},
            "templates[0].controls[0]",
            "does not apply to tier 'limited'",
        ),
        ({"templates": [{**TEMPLATE, "owasp_llm": ["LLM42"]}]}, "owasp_llm[0]", "OWASP"),
        ({"templates": [{**TEMPLATE, "nist_ai_rmf": ["MAP 9.1"]}]}, "nist_ai_rmf[0]", "NIST"),
        ({"templates": [{**TEMPLATE, "when": "colour == 'red'"}]}, "when", "unknown question"),
        ({"templates": [{**TEMPLATE, "category": "astrology"}]}, "category", "unknown category"),
    ],
)
def test_a_bad_risk_section_is_refused_naming_where(section, where, message) -> None:
    with pytest.raises(BadInput) as caught:
        load(with_risk(**section))
    assert where in str(caught.value) and message in str(caught.value)


def test_a_good_section_loads() -> None:
    policy = load(with_risk(templates=[{**TEMPLATE, "when": "domain == 'credit'"}]))
    assert policy.risk.templates[0].id == "drift"


def register(**overrides: Any) -> tuple[RegisterFacts, RiskFact]:
    fields: dict[str, Any] = {
        "id": 1,
        "title": "drift",
        "status": "open",
        "owner": "rita",
        "owner_active": True,
        "controls": ("eval-classification",),
        "signals": ("drift",),
        "residual_rating": "medium",
        "reviewed_at": NOW - timedelta(days=10),
        "reviewed_by": "rita",
        "accepted_by": None,
    } | overrides
    risk = RiskFact(**fields)
    facts = RegisterFacts(
        risks=(risk,),
        review_days=90,
        ratings=("low", "medium", "high", "critical"),
        acceptance_from="high",
        tier_controls=frozenset({"eval-classification"}),
    )
    return facts, risk


def test_a_managed_risk_has_no_gaps_and_each_lack_is_named() -> None:
    facts, risk = register()
    assert gaps(facts, risk, now=NOW, monitors={"drift"}) == []
    cases = {
        "no owner": {"owner": None},
        "not an active user": {"owner_active": False},
        "no mitigating control": {"controls": ()},
        "none of its controls": {"controls": ("gone",)},
        "no watching signal": {"signals": ()},
        "never reviewed": {"reviewed_by": None},
        "more than 90 days": {"reviewed_at": NOW - timedelta(days=91)},
        "not been accepted": {"residual_rating": "critical"},
    }
    for expected, change in cases.items():
        facts, risk = register(**change)
        assert any(expected in g for g in gaps(facts, risk, now=NOW, monitors={"drift"})), expected
    facts, risk = register(signals=("fallback",))
    assert "not monitored" in gaps(facts, risk, now=NOW, monitors={"drift"})[0]
    assert gaps(facts, risk, now=NOW, monitors=None) == []

"""Intake flags: every true flag is set; controls with when_flags apply only with one of them."""

from __future__ import annotations

import pytest
from tests.domain.policy.packs import facts, load, pack

from charter.domain.controls import evaluate_gate
from charter.domain.errors import BadInput
from charter.domain.policy import assess_intake
from charter.domain.policy_facts import recorded_flags


def flagged() -> dict:
    data = pack()
    data["intake"]["flags"] = [
        {"id": "chat", "when": "chatbot", "reason": "Art. 50(1)"},
        {"id": "many", "when": "users > 1000.0", "reason": "materiality"},
    ]
    data["controls"].append(
        {
            "id": "disclose",
            "description": "disclosure",
            "kind": "documentation",
            "tiers": ["high", "limited", "minimal"],
            "when_flags": ["chat"],
            "params": {"fields": ["release.config.ai_disclosure"]},
        }
    )
    return data


def test_every_true_flag_is_set_and_selects_its_controls() -> None:
    policy = load(flagged())
    both = assess_intake(policy, {"domain": "credit", "chatbot": True, "users": 5000})
    assert (both.tier, both.flags) == ("high", ["chat", "many"])
    assert both.flag_reasons == {"chat": "Art. 50(1)", "many": "materiality"}
    assert "disclose" in both.controls
    plain = assess_intake(policy, {"domain": "credit", "users": 10})
    assert plain.flags == [] and "disclose" not in plain.controls
    refused = assess_intake(
        policy, {"domain": "credit", "practices": ["social_scoring"], "chatbot": True, "users": 1}
    )
    assert refused.refused and refused.flags == []


def test_the_gate_applies_flag_controls_only_with_the_flag_and_when_flags_are_unknown() -> None:
    policy = load(flagged())
    ids = lambda f: {r.control_id for r in evaluate_gate(policy, facts(tier="minimal", flags=f))}  # noqa: E731
    assert "disclose" in ids(frozenset({"chat"}))
    assert "disclose" not in ids(frozenset())
    assert "disclose" in ids(None)  # assessed before flags existed: fails closed


def test_recorded_flags() -> None:
    assert recorded_flags({"flags": ["a", "b"]}) == frozenset({"a", "b"})
    assert recorded_flags({"tier": "high"}) is None
    assert recorded_flags(None) is None


@pytest.mark.parametrize(
    ("mutate", "where", "message"),
    [
        (lambda d: d["controls"][-1].update(when_flags=["nope"]), "when_flags[0]", "unknown flag"),
        (
            lambda d: d["intake"]["flags"][0].update(when="missing_q"),
            "intake.flags[0].when",
            "unknown question",
        ),
        (
            lambda d: d["intake"]["flags"][0].update(when="chatbot &&"),
            "intake.flags[0].when",
            "syntax",
        ),
        (
            lambda d: d["intake"]["flags"].append(dict(d["intake"]["flags"][0])),
            "intake.flags[2].id",
            "duplicate",
        ),
    ],
)
def test_bad_flags_are_refused(mutate, where, message) -> None:
    data = flagged()
    mutate(data)
    with pytest.raises(BadInput) as err:
        load(data)
    assert where in (err.value.location or "")
    assert message in str(err.value)


def test_policy_diff_names_flag_changes() -> None:
    before = load(flagged())
    data = flagged()
    data["intake"]["flags"][0]["when"] = "chatbot && users > 10.0"
    data["intake"]["flags"].pop()
    changes = before.diff(load(data))
    assert "flag removed: many" in changes
    assert any(c.startswith("flag changed: chat (when") for c in changes)

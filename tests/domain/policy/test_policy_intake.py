"""Intake: answers are checked against the questions, then the first matching rule tiers."""

from __future__ import annotations

import pytest
from tests.domain.policy.packs import load, pack

from charter.domain.errors import BadInput
from charter.domain.policy import assess_intake, normalize_answers


def test_each_tier() -> None:
    policy = load()
    prohibited = assess_intake(policy, {"domain": "credit", "practices": ["social_scoring"]})
    assert (prohibited.tier, prohibited.rule_id, prohibited.refused) == (
        "prohibited",
        "social-scoring",
        True,
    )
    assert prohibited.reason == "Art. 5(1)(c)"
    high = assess_intake(policy, {"domain": "credit", "chatbot": True})
    assert (high.tier, high.rule_id, high.refused) == ("high", "credit", False)
    assert high.controls == ["eval-classification", "quorum-high", "owner"]
    limited = assess_intake(policy, {"domain": "chat", "chatbot": True})
    assert (limited.tier, limited.rule_id, limited.controls) == ("limited", "chatbot", ["owner"])
    minimal = assess_intake(policy, {"domain": "other"})
    assert (minimal.tier, minimal.rule_id, minimal.refused) == ("minimal", None, False)
    assert "default tier minimal" in minimal.reason


def test_unanswered_optional_questions_get_defaults() -> None:
    answers = normalize_answers(load(), {"domain": "other", "note": None})
    assert answers == {
        "domain": "other",
        "practices": [],
        "chatbot": False,
        "users": None,
        "note": None,
    }


def test_numbers_are_doubles_for_cel() -> None:
    data = pack()
    data["intake"]["rules"].insert(
        0,
        {
            "id": "big",
            "when": "type(users) == double && users >= 1000.0",
            "tier": "high",
            "reason": "big",
        },
    )
    policy = load(data)
    assert assess_intake(policy, {"domain": "other", "users": 5000}).rule_id == "big"
    assert assess_intake(policy, {"domain": "other", "users": 10}).tier == "minimal"
    assert assess_intake(policy, {"domain": "other"}).tier == "minimal"


@pytest.mark.parametrize(
    ("answers", "location", "message"),
    [
        ({"domain": "credit", "sector": "x"}, "answers.sector", "unknown intake question"),
        ({}, "answers.domain", "required question is not answered"),
        ({"domain": None}, "answers.domain", "required question is not answered"),
        ({"domain": "bank"}, "answers.domain", "not an option"),
        ({"domain": 3}, "answers.domain", "expected text"),
        ({"domain": "credit", "chatbot": "yes"}, "answers.chatbot", "true or false"),
        ({"domain": "credit", "users": "many"}, "answers.users", "expected a number"),
        ({"domain": "credit", "users": True}, "answers.users", "expected a number"),
        ({"domain": "credit", "users": float("nan")}, "answers.users", "finite"),
        (
            {"domain": "credit", "practices": "social_scoring"},
            "answers.practices",
            "expected a list",
        ),
        ({"domain": "credit", "practices": ["cheating"]}, "answers.practices[0]", "not an option"),
        ({"domain": "credit", "practices": [1]}, "answers.practices[0]", "expected text"),
        ({"domain": "credit", "note": 5}, "answers.note", "expected text"),
    ],
)
def test_invalid_answers(answers, location, message) -> None:
    with pytest.raises(BadInput) as caught:
        assess_intake(load(), answers)
    assert caught.value.location == location
    assert message in caught.value.detail


def test_evaluation_errors_name_the_rule() -> None:
    data = pack()
    data["intake"]["rules"].insert(
        0, {"id": "typo", "when": "users > 10.0", "tier": "high", "reason": "r"}
    )
    policy = load(data)
    with pytest.raises(BadInput) as caught:
        assess_intake(policy, {"domain": "other"})  # users unanswered: null > 10.0
    assert caught.value.location == "intake.rules[0].when"
    assert "intake rule 'typo' failed" in caught.value.detail
    assert "null" in caught.value.detail and "double" in caught.value.detail


def test_a_rule_that_is_not_boolean_is_an_error() -> None:
    data = pack()
    data["intake"]["rules"].insert(
        0, {"id": "str", "when": "domain", "tier": "high", "reason": "r"}
    )
    with pytest.raises(BadInput, match="gave a string, not true or false"):
        assess_intake(load(data), {"domain": "other"})
    data["intake"]["rules"][0]["when"] = "note"
    with pytest.raises(BadInput, match="gave a null"):
        assess_intake(load(data), {"domain": "other"})


def test_first_match_wins() -> None:
    data = pack()
    data["intake"]["rules"].insert(
        0, {"id": "all", "when": "true", "tier": "limited", "reason": "r"}
    )
    assert assess_intake(load(data), {"domain": "credit"}).rule_id == "all"

"""Loading a pack: every kind of invalid pack is refused as a whole, naming the location."""

from __future__ import annotations

from typing import Any

import pytest
from tests.domain.policy.packs import dump, load, pack

from charter.domain.controls.evidence import EvaluationEvidenceParams
from charter.domain.errors import BadInput
from charter.domain.policy import Policy, load_policy, parse_policy


def refused(data: dict[str, Any]) -> BadInput:
    with pytest.raises(BadInput) as caught:
        load(data)
    return caught.value


def test_the_small_pack_loads_with_typed_params() -> None:
    policy = load()
    assert isinstance(policy, Policy)
    control = policy.control("eval-classification")
    assert control is not None
    assert isinstance(control.params, EvaluationEvidenceParams)
    assert control.params.max_age_days == 180
    assert [c.id for c in policy.controls_for("high", "prod")] == [
        "eval-classification",
        "quorum-high",
        "owner",
    ]
    assert [c.id for c in policy.controls_for("high", "staging")] == [
        "eval-classification",
        "owner",
    ]
    assert [c.id for c in policy.controls_for("high")] == [
        "eval-classification",
        "quorum-high",
        "owner",
    ]


def test_policy_lookups() -> None:
    policy = load()
    [prod] = policy.approval_requirements("high", "prod")
    assert (prod.quorum, prod.roles, prod.control_id) == (2, ("approver",), "quorum-high")
    # No approval_quorum control in staging: one approval from an approver.
    [staging] = policy.approval_requirements("high", "staging")
    assert (staging.quorum, staging.roles, staging.control_id) == (1, ("approver",), None)
    assert policy.approval_requirements("limited", "prod")[0].quorum == 1
    assert policy.max_exception_days("high") == 30
    assert policy.max_exception_days("minimal") is None
    assert policy.exception_approver_roles == ("approver",)
    assert policy.tier_ids == ["prohibited", "high", "limited", "minimal"]
    assert policy.control("nope") is None


def test_digest_ignores_layout_and_defaults_but_not_content() -> None:
    data = pack()
    first = load(data)
    data["controls"][2]["waivable"] = False  # the default, spelt out
    assert load(data).digest == first.digest
    again = load_policy(b"# a comment\n" + dump(pack()), "other.yaml")
    assert again.digest == first.digest == first.content_digest
    data["controls"][0]["params"]["max_age_days"] = 90
    assert load(data).digest != first.digest


def test_malformed_yaml_and_non_mapping() -> None:
    with pytest.raises(BadInput, match="malformed YAML"):
        load_policy(b"a: [", "p.yaml")
    with pytest.raises(BadInput) as caught:
        load_policy(b"- 1\n", "p.yaml")
    assert caught.value.location == "p.yaml"


@pytest.mark.parametrize(
    ("mutate", "location", "message"),
    [
        (lambda p: p.update(apiVersion="charter.policy/v2"), "apiVersion", "charter.policy/v1"),
        (lambda p: p.pop("apiVersion"), "apiVersion", "Field required"),
        (lambda p: p.update(colour="blue"), "colour", "unknown field"),
        (
            lambda p: p["intake"]["questions"][0].update(typ="enum"),
            "intake.questions[0].typ",
            "unknown field",
        ),
        (
            lambda p: p["intake"]["questions"][0].update(type="date"),
            "intake.questions[0].type",
            "'enum'",
        ),
        (
            lambda p: p["intake"]["questions"][0].pop("options"),
            "intake.questions[0]",
            "needs `options`",
        ),
        (
            lambda p: p["intake"]["questions"][2].update(options=["a"]),
            "intake.questions[2]",
            "takes no `options`",
        ),
        (
            lambda p: p["intake"]["questions"][0].update(id="Domain"),
            "intake.questions[0].id",
            "pattern",
        ),
        (
            lambda p: p["controls"][1].update(environments=[]),
            "controls[1].environments",
            "at least 1",
        ),
        (lambda p: p["controls"][0].update(params=[1]), "controls[0].params", "dictionary"),
        (lambda p: p["tiers"].clear(), "tiers", "at least 1"),
    ],
)
def test_schema_violations_name_their_location(mutate, location, message) -> None:
    data = pack()
    mutate(data)
    error = refused(data)
    assert error.location == f"pack.yaml: {location}"
    assert message in error.detail


def test_cel_syntax_error_names_the_rule_and_position() -> None:
    data = pack()
    data["intake"]["rules"][2]["when"] = "chatbot &&"
    error = refused(data)
    assert error.location == "pack.yaml: intake.rules[2].when"
    assert "CEL syntax error at line 1, column" in error.detail
    data["intake"]["rules"][2]["when"] = "domain == 'chat' &&\n  (chatbot ||"
    assert "line 2" in refused(data).detail


@pytest.mark.parametrize(
    "expression",
    [
        "domian == 'credit'",
        "chatbot && sector == 'x'",
        "practices.exists(p, p == tier)",
        "has(answers.domain)",
        ".unknown",
    ],
)
def test_a_rule_naming_an_unknown_question_is_refused(expression: str) -> None:
    data = pack()
    data["intake"]["rules"][1]["when"] = expression
    error = refused(data)
    assert error.location == "pack.yaml: intake.rules[1].when"
    assert "unknown question" in error.detail


@pytest.mark.parametrize(
    "expression",
    [
        "size(practices) > 0 && 'none' in practices",
        "practices.exists(p, p == 'social_scoring')",
        "practices.all(p, p != 'social_scoring') && practices.exists_one(x, x == 'none')",
        "practices.filter(p, p.startsWith('soc')).size() == 1",
        "practices.map(p, p + domain).exists(q, q == 'nonecredit')",
        "type(domain) == string || domain == null",
        "users != null && users >= 1000.0 ? true : domain.matches('^cr')",
        "[domain].exists(domain, domain == 'credit')",
    ],
)
def test_builtins_macros_and_bound_variables_are_not_questions(expression: str) -> None:
    data = pack()
    data["intake"]["rules"][1]["when"] = expression
    load(data)


def test_unknown_cel_function_is_refused() -> None:
    data = pack()
    data["intake"]["rules"][1]["when"] = "lenght(practices) > 0"
    error = refused(data)
    assert error.location == "pack.yaml: intake.rules[1].when"
    assert "unknown CEL function 'lenght'" in error.detail


def test_question_ids_may_not_shadow_cel_names() -> None:
    data = pack()
    data["intake"]["questions"][3]["id"] = "size"
    error = refused(data)
    assert error.location == "pack.yaml: intake.questions[3].id"
    assert "CEL" in error.detail


def test_unknown_control_kind() -> None:
    data = pack()
    data["controls"][2]["kind"] = "telepathy"
    error = refused(data)
    assert error.location == "pack.yaml: controls[2].kind"
    assert "unknown control kind 'telepathy'" in error.detail
    assert "evaluation_evidence" in error.detail


def test_rule_with_unknown_tier_and_unknown_default_tier() -> None:
    data = pack()
    data["intake"]["rules"][1]["tier"] = "severe"
    error = refused(data)
    assert error.location == "pack.yaml: intake.rules[1].tier"
    assert "unknown tier 'severe'" in error.detail
    data = pack()
    data["intake"]["default_tier"] = "none"
    assert refused(data).location == "pack.yaml: intake.default_tier"


def test_control_naming_unknown_tier() -> None:
    data = pack()
    data["controls"][2]["tiers"] = ["high", "medium"]
    error = refused(data)
    assert error.location == "pack.yaml: controls[2].tiers[1]"
    assert "unknown tier 'medium'" in error.detail


@pytest.mark.parametrize(
    ("section", "index", "location"),
    [
        ("tiers", 3, "tiers[3].id"),
        ("controls", 2, "controls[2].id"),
        ("questions", 4, "intake.questions[4].id"),
        ("rules", 2, "intake.rules[2].id"),
    ],
)
def test_duplicate_ids(section: str, index: int, location: str) -> None:
    data = pack()
    items = data[section] if section in data else data["intake"][section]
    items[index]["id"] = items[0]["id"]
    error = refused(data)
    assert error.location == f"pack.yaml: {location}"
    assert "duplicate" in error.detail


def test_exception_days_for_unknown_tier_and_unknown_roles() -> None:
    data = pack()
    data["exceptions"]["max_days"]["extreme"] = 5
    error = refused(data)
    assert error.location == "pack.yaml: exceptions.max_days.extreme"
    data = pack()
    data["exceptions"]["approver_roles"] = ["approver", "ceo"]
    assert refused(data).location == "pack.yaml: exceptions.approver_roles[1]"
    data = pack()
    data["controls"][1]["params"]["roles"] = ["approvr"]
    error = refused(data)
    assert error.location == "pack.yaml: controls[1].params.roles[0]"
    assert "unknown role" in error.detail


def test_exception_days_must_be_positive() -> None:
    data = pack()
    data["exceptions"]["max_days"]["high"] = 0
    assert refused(data).location == "pack.yaml: exceptions.max_days.high"


@pytest.mark.parametrize(
    ("kind", "params", "location", "message"),
    [
        ("evaluation_evidence", {}, "params.suite", "Field required"),
        (
            "evaluation_evidence",
            {"suite": "x", "max_age_days": 0},
            "params.max_age_days",
            "greater than",
        ),
        ("evaluation_evidence", {"suite": "x", "colour": 1}, "params.colour", "unknown field"),
        ("contract_metric", {"required": "sometimes"}, "params.required", "boolean"),
        ("approval_quorum", {"quorum": "two"}, "params.quorum", "integer"),
        ("approval_quorum", {"quorum": 0}, "params.quorum", "greater than"),
        ("live_monitors", {"required": []}, "params.required", "at least 1"),
        ("guardrails", {"required": "pii"}, "params.required", "list"),
        ("documentation", {"fields": ["Owner Name"]}, "params.fields[0]", "pattern"),
        ("approval_validity", {}, "params.max_days", "Field required"),
        ("vendor_not_deprecated", {"notice_days": -1}, "params.notice_days", "greater than"),
        ("fallback_defined", {"tested": "yes please"}, "params.tested", "boolean"),
    ],
)
def test_params_are_validated_per_kind(kind, params, location, message) -> None:
    data = pack()
    data["controls"][2].update(kind=kind, params=params)
    error = refused(data)
    assert error.location == f"pack.yaml: controls[2].{location}"
    assert message in error.detail


def test_several_problems_are_reported_together() -> None:
    data = pack()
    data["controls"][0]["tiers"] = ["nope"]
    data["controls"][2]["kind"] = "nope"
    error = refused(data)
    assert error.location == "pack.yaml: controls[0].tiers[0]"
    assert "also: controls[2].kind" in error.detail


def test_parse_policy_refuses_non_mappings() -> None:
    with pytest.raises(BadInput, match="mapping"):
        parse_policy(["a"], "x")


def test_diff_lists_added_removed_and_changed_items() -> None:
    old = load()
    data = pack()
    data["controls"].pop(2)  # owner removed
    data["controls"][0]["params"]["max_age_days"] = 90
    data["controls"].append(
        {
            "id": "monitors",
            "description": "d",
            "kind": "live_monitors",
            "tiers": ["high"],
            "params": {"required": ["drift"]},
        }
    )
    data["intake"]["rules"].reverse()
    data["intake"]["questions"][2]["text"] = "Is it a chatbot?"
    data["tiers"][1]["eu_ai_act"] = "high-risk"
    data["exceptions"]["max_days"]["high"] = 14
    data["intake"]["default_tier"] = "limited"
    changes = old.diff(load(data))
    assert "control added: monitors" in changes
    assert "control removed: owner" in changes
    assert "control changed: eval-classification (params.max_age_days 180 -> 90)" in changes
    assert (
        "rule order changed: social-scoring, credit, chatbot -> chatbot, credit, social-scoring"
        in changes
    )
    assert 'question changed: chatbot (text "Chatbot?" -> "Is it a chatbot?")' in changes
    assert 'tier changed: high (eu_ai_act "" -> "high-risk")' in changes
    assert "exceptions.max_days.high changed: 30 -> 14" in changes
    assert "default tier changed: minimal -> limited" in changes
    assert old.diff(load()) == []

"""The shipped default pack and the published JSON Schema."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pytest
import yaml
from tests.domain.policy.packs import facts

from charter.domain.controls import evaluate_gate
from charter.domain.policy import assess_intake, load_policy, render_policy_schema
from charter.domain.systems import parse_intake

POLICIES = files("charter.policies")
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def default():
    return load_policy(POLICIES.joinpath("default.yaml").read_bytes(), "default.yaml")


def test_the_committed_schema_is_the_generated_one() -> None:
    committed = POLICIES.joinpath("policy.schema.json").read_text(encoding="utf-8")
    assert committed == render_policy_schema(), (
        "policy.schema.json is stale: regenerate it with\n"
        "  python -c 'from charter.domain.policy import render_policy_schema as r; "
        'open("src/charter/policies/policy.schema.json", "w").write(r())\''
    )


def test_the_schema_accepts_the_default_pack() -> None:
    jsonschema_rs = pytest.importorskip("jsonschema_rs")
    import json

    schema = json.loads(POLICIES.joinpath("policy.schema.json").read_text(encoding="utf-8"))
    validator = jsonschema_rs.validator_for(schema)
    pack = yaml.safe_load(POLICIES.joinpath("default.yaml").read_text(encoding="utf-8"))
    assert validator.is_valid(pack)
    pack["controls"][0]["params"]["colour"] = "blue"
    assert not validator.is_valid(pack)


def test_default_pack_shape(default) -> None:
    assert default.name == "default"
    assert default.tier_ids == ["prohibited", "high", "derogated", "limited", "minimal"]
    assert default.tier("prohibited").refused
    assert len(default.controls_for("high", flags=["provider", "deployer"])) >= 35
    assert max(r.quorum for r in default.approval_requirements("high", "prod", [])) == 2
    assert max(r.quorum for r in default.approval_requirements("high", "staging", [])) == 1
    assert max(r.quorum for r in default.approval_requirements("limited", "prod", [])) == 1
    assert max(r.quorum for r in default.approval_requirements("minimal", "prod", [])) == 1
    material = default.approval_requirements("minimal", "prod", ["material-high"])
    assert {tuple(r.roles) for r in material} == {("approver",), ("risk_engineer",)}
    assert default.max_exception_days("high") == 30
    assert default.max_exception_days("prohibited") is None
    kinds = {c.kind for c in default.controls}
    assert kinds == {
        "evaluation_evidence",
        "contract_metric",
        "approval_quorum",
        "live_monitors",
        "guardrails",
        "documentation",
        "documented_values",
        "approval_validity",
        "vendor_not_deprecated",
        "fallback_defined",
        "risk_register",
    }
    prod_only = [c for c in default.controls if c.environments == ["prod"]]
    assert len(prod_only) > len(default.controls) * 2 / 3
    assert any(c.environments is None for c in default.controls)
    flags = {f.id for f in default.intake.flags}
    assert {flag for c in default.controls for flag in c.when_flags or ()} <= flags


def test_every_control_is_mapped_to_identifiers_on_the_list(default) -> None:
    from charter.domain.policy.references import valid_identifiers

    valid = valid_identifiers()
    for control in default.controls:
        assert control.maps_to, control.id
        for framework, clauses in control.maps_to.items():
            assert framework in valid or framework == "sr_11_7", (control.id, framework)
            for clause in clauses:
                assert framework == "sr_11_7" or clause in valid[framework], (control.id, clause)
    high = default.controls_for("high", flags=["provider", "deployer"])
    assert all("eu_ai_act" in c.maps_to for c in high if c.id != "guardrails-pii")


def test_the_credit_limit_example_is_high(default) -> None:
    intake = parse_intake((REPO / "examples" / "credit-limit" / "intake.yaml").read_bytes())
    result = assess_intake(default, dict(intake.answers))
    assert (result.tier, result.rule_id, result.refused) == ("high", "annex-iii-5b", False)
    assert "Annex III point 5(b)" in result.reason
    assert len(result.controls) >= 35


@pytest.mark.parametrize(
    "practice",
    [
        "manipulative_techniques",
        "exploits_vulnerabilities",
        "social_scoring",
        "predictive_policing_profiling",
        "untargeted_facial_scraping",
        "emotion_recognition_work_education",
        "biometric_categorisation_sensitive",
        "realtime_remote_biometric_identification",
        "non_consensual_intimate_content",
        "child_sexual_abuse_material",
    ],
)
def test_prohibited_practices_are_refused(default, practice: str) -> None:
    result = assess_intake(default, {"practices": [practice]})
    assert (result.tier, result.refused, result.flags) == ("prohibited", True, [])
    assert "Art. 5(1)" in result.reason


def test_every_annex_iii_point_is_high(default) -> None:
    (question,) = [q for q in default.intake.questions if q.id == "annex_iii"]
    assert question.options is not None and len(question.options) == 25
    for point in question.options:
        result = assess_intake(default, {"annex_iii": [point]})
        assert result.tier == "high", point
        assert result.rule_id == f"annex-iii-{point.split('_')[0]}", point


def test_the_sector_alone_does_not_set_the_tier(default) -> None:
    assert assess_intake(default, {"domain": "credit_scoring"}).tier == "minimal"
    assert assess_intake(default, {"domain": "other"}).refused is False


def test_a_bare_release_fails_the_default_high_gate_but_not_everything(default) -> None:
    results = {r.control_id: r.status for r in evaluate_gate(default, facts())}
    assert results["doc-owner"] == "pass"
    assert results["approval-quorum-high"] == "fail"
    assert results["guardrails-prompt-injection"] == "not_applicable"
    assert results["vendor-deprecation"] == "not_applicable"


def test_docs_describe_every_kind_and_default_control(default) -> None:
    from charter.domain.controls import KINDS

    text = (REPO / "docs" / "policy.md").read_text(encoding="utf-8")
    for kind in KINDS:
        assert f"| `{kind}` |" in text, kind
    for control in default.controls:
        row = next(
            (line for line in text.splitlines() if line.startswith(f"| `{control.id}` |")), None
        )
        assert row is not None, control.id
        for clause in (c for clauses in control.maps_to.values() for c in clauses):
            assert clause in row, (control.id, clause)

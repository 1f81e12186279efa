"""The shipped default pack and the published JSON Schema."""

from __future__ import annotations

import re
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
    assert default.tier_ids == ["prohibited", "high", "limited", "minimal"]
    assert default.tier("prohibited").refused
    assert len(default.controls_for("high")) >= 25
    assert max(r.quorum for r in default.approval_requirements("high", "prod")) == 2
    assert max(r.quorum for r in default.approval_requirements("high", "staging")) == 1
    assert max(r.quorum for r in default.approval_requirements("limited", "prod")) == 1
    assert max(r.quorum for r in default.approval_requirements("minimal", "prod")) == 1
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
        "approval_validity",
        "vendor_not_deprecated",
        "fallback_defined",
    }
    prod_only = [c for c in default.controls if c.environments == ["prod"]]
    assert len(prod_only) > len(default.controls) * 2 / 3
    assert any(c.environments is None for c in default.controls)


def test_every_control_is_mapped_with_well_formed_references(default) -> None:
    patterns = {
        "eu_ai_act": r"^(Art\. \d+(\(\d+\))?(\([a-z]\))?(\((i|ii|iii|iv|v|vi|vii)\))?|Annex (I|III|IV)(\(\d+\))?(\([a-z]\))?)$",
        "nist_ai_rmf": r"^(GOVERN|MAP|MEASURE|MANAGE) \d\.\d{1,2}$",
        "iso_42001": r"^A\.\d{1,2}\.\d(\.\d)?$",
    }
    for control in default.controls:
        assert control.maps_to, control.id
        assert set(control.maps_to) <= set(patterns), control.id
        for framework, clauses in control.maps_to.items():
            for clause in clauses:
                assert re.match(patterns[framework], clause), (control.id, clause)
    high = default.controls_for("high")
    assert all("eu_ai_act" in c.maps_to for c in high if c.id != "guardrails-pii")


def test_the_credit_limit_example_is_high(default) -> None:
    intake = parse_intake((REPO / "examples" / "credit-limit" / "intake.yaml").read_bytes())
    result = assess_intake(default, dict(intake.answers))
    assert (result.tier, result.rule_id, result.refused) == ("high", "credit-scoring", False)
    assert "Annex III point 5(b)" in result.reason
    assert len(result.controls) >= 25


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
    ],
)
def test_prohibited_practices_are_refused(default, practice: str) -> None:
    result = assess_intake(default, {"domain": "other", "practices": [practice]})
    assert (result.tier, result.refused) == ("prohibited", True)
    assert "Art. 5(1)" in result.reason


@pytest.mark.parametrize(
    "domain",
    [
        "credit_scoring",
        "insurance_pricing",
        "public_benefits",
        "emergency_services",
        "employment",
        "education",
        "biometrics",
        "law_enforcement",
        "migration",
        "justice_democracy",
        "critical_infrastructure",
    ],
)
def test_annex_iii_areas_are_high(default, domain: str) -> None:
    assert assess_intake(default, {"domain": domain}).tier == "high"


def test_other_tiering_paths(default) -> None:
    assert assess_intake(default, {"domain": "other", "safety_component": True}).tier == "high"
    narrow = {"domain": "employment", "narrow_procedural_task": True}
    assert assess_intake(default, narrow).rule_id == "annex-iii-derogation"
    assert assess_intake(default, {**narrow, "profiling": True}).tier == "high"
    for flag in ("interacts_with_people", "generates_content", "deepfake"):
        assert assess_intake(default, {"domain": "customer_service", flag: True}).tier == "limited"
    assert assess_intake(default, {"domain": "fraud_detection"}).tier == "minimal"
    assert assess_intake(default, {"domain": "internal_operations"}).refused is False


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

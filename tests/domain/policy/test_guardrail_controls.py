"""The default pack's guardrail controls need real ``guardrails`` suite evidence.

The evidence here is produced by running the suite (``tests.evaluation.support``) on small
attack and benign sets, then handed to the pure control check as the gate would see it.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any

import pytest
from tests.domain.policy.packs import evidence, evidence_of, facts, load, pack
from tests.evaluation.support import (
    GUARD_INPUT_RECORDS,
    GUARD_OUTPUT_CONFIG,
    GUARD_OUTPUT_RECORDS,
    guardrails_result,
)

from charter.domain.controls import evaluate_control
from charter.domain.errors import BadInput
from charter.domain.policy import Control, load_policy

LLM = [{"kind": "prompt", "name": "p"}, {"kind": "vendor_model", "name": "gpt"}]
DECLARED = ["prompt_injection", "pii", "toxicity", "output_schema", "grounding"]


@pytest.fixture(scope="module")
def controls() -> dict[str, Control]:
    policy = load_policy(
        files("charter.policies").joinpath("default.yaml").read_bytes(), "default.yaml"
    )
    return {c.id: c for c in policy.controls if c.kind == "guardrails"}


@pytest.fixture(scope="module")
def inputs() -> dict[str, Any]:
    return guardrails_result()


@pytest.fixture(scope="module")
def outputs() -> dict[str, Any]:
    return guardrails_result(GUARD_OUTPUT_RECORDS, GUARD_OUTPUT_CONFIG)


def release(
    guardrails: list[str] | None = None, contract: Any = None, retrieval: bool = True
) -> dict[str, Any]:
    components = [*LLM, *([{"kind": "retrieval", "name": "kb"}] if retrieval else [])]
    return {
        "components": components,
        "config": {"guardrails": DECLARED if guardrails is None else guardrails},
        "contract": contract or {},
    }


def run(control: Control, *evidence_facts: Any, document: dict[str, Any] | None = None):
    result = evaluate_control(
        control, facts(document=document or release(), evidence=evidence_facts)
    )
    return result.status, result.reason, result.evidence


def test_the_default_controls_name_scanners_and_floors(controls) -> None:
    assert set(controls) == {
        "guardrails-prompt-injection",
        "guardrails-pii",
        "guardrails-output",
        "guardrails-grounding",
    }
    floors = controls["guardrails-prompt-injection"].params.bounds  # type: ignore[attr-defined]
    assert floors == ["injection_recall >= 0.9", "benign_block_rate <= 0.01"]
    assert all(c.params.bounds for c in controls.values())  # type: ignore[attr-defined]


def test_declaration_without_evidence_fails(controls) -> None:
    for control in controls.values():
        status, reason, _ = run(control)
        assert status == "fail"
        assert "no guardrails evaluation evidence ran" in reason


def test_not_declared_fails_even_with_evidence(controls, inputs) -> None:
    status, reason, _ = run(
        controls["guardrails-pii"], evidence_of(inputs, 1), document=release(["prompt_injection"])
    )
    assert (status, reason) == ("fail", "missing guardrails: pii")


def test_real_evidence_passes_every_control(controls, inputs, outputs) -> None:
    both = (evidence_of(inputs, 1, age_days=3), evidence_of(outputs, 2, age_days=2))
    for control in controls.values():
        status, reason, seen = run(control, *both)
        assert status == "pass", (control.id, reason)
        assert all(f["status"] == "pass" for f in seen["floors"])
    # Input scanners are judged on the input evidence, output ones on the output evidence.
    assert run(controls["guardrails-pii"], *both)[2]["evidence_id"] == 1
    assert run(controls["guardrails-output"], *both)[2]["evidence_id"] == 2
    floors = run(controls["guardrails-prompt-injection"], *both)[2]["floors"]
    assert floors[0] == {"bound": "injection_recall >= 0.9", "status": "pass", "observed": 1.0}


def test_evidence_that_did_not_run_or_test_a_scanner_fails(controls, inputs) -> None:
    only_injection = guardrails_result(config={"input": ["prompt_injection"]})
    status, reason, _ = run(controls["guardrails-pii"], evidence_of(only_injection, 1))
    assert status == "fail"
    assert "no guardrails evaluation evidence ran pii" in reason
    assert "#1 ran prompt_injection" in reason
    # pii ran, but no attack in the set was aimed at it: recall was never measured.
    no_pii_attacks = guardrails_result(
        [r for r in GUARD_INPUT_RECORDS if r.get("scanner") != "pii"]
    )
    status, reason, _ = run(controls["guardrails-pii"], evidence_of(no_pii_attacks, 1))
    assert status == "fail"
    assert "no attack records aimed at pii" in reason


def test_floors_hold_without_any_contract_bound(controls) -> None:
    # Injection only flagged, never blocked: recall 0, whatever the contract says.
    weak = guardrails_result(
        config={"input": [{"scanner": "prompt_injection", "action": "flag"}, "pii"]}
    )
    status, reason, seen = run(controls["guardrails-prompt-injection"], evidence_of(weak, 4))
    assert status == "fail"
    assert reason.endswith("policy floor(s) not met: injection_recall >= 0.9")
    assert seen["floors"][0]["observed"] == 0.0


def test_a_failed_contract_bound_and_old_evidence_fail(inputs) -> None:
    data = pack()
    data["controls"] = [
        {
            "id": "g",
            "description": "d",
            "kind": "guardrails",
            "tiers": ["high"],
            "params": {"required": ["prompt_injection"], "max_age_days": 30},
        }
    ]
    control = load(data).controls[0]  # no floors: only the contract's bounds apply
    contract = {"offline": ["injection_recall >= 0.5"]}
    document = release(contract=contract)
    assert run(control, evidence_of(inputs, 1, contract=contract), document=document)[0] == "pass"
    weak = guardrails_result(config={"input": [{"scanner": "prompt_injection", "action": "flag"}]})
    status, reason, _ = run(control, evidence_of(weak, 2, contract=contract), document=document)
    assert status == "fail"
    assert reason == "guardrails evidence #2: contract bound(s) failed: injection_recall >= 0.5"
    status, reason, _ = run(control, evidence_of(inputs, 3, age_days=40))
    assert status == "fail" and "40 days old (limit 30)" in reason
    # Evidence of another suite does not count.
    assert run(control, evidence(9, "classification"))[0] == "fail"


def test_bad_floor_is_refused_when_the_pack_loads() -> None:
    data = pack()
    data["controls"] = [
        {
            "id": "g",
            "description": "d",
            "kind": "guardrails",
            "tiers": ["high"],
            "params": {"required": ["pii"], "bounds": ["pii_recall >>= 0.9"]},
        }
    ]
    with pytest.raises(BadInput, match="bounds"):
        load(data)


def test_evidence_that_tested_the_scanner_wins_over_newer_evidence_that_only_ran_it(
    controls, inputs
) -> None:
    # The output set runs pii (redaction) but aims no attack at it; the input set does.
    output_with_pii = guardrails_result(
        GUARD_OUTPUT_RECORDS,
        {"output": [*GUARD_OUTPUT_CONFIG["output"], {"scanner": "pii", "action": "redact"}]},
    )
    older, newer = evidence_of(inputs, 1, age_days=5), evidence_of(output_with_pii, 2)
    status, _, seen = run(controls["guardrails-pii"], older, newer)
    assert (status, seen["evidence_id"]) == ("pass", 1)
    status, reason, _ = run(controls["guardrails-pii"], newer)
    assert status == "fail" and "no attack records aimed at pii" in reason

"""The risk-register control counts a mitigation only when its control passed in the same
gate: judged after the other controls, on their outcomes, never on a name alone."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from tests.domain.policy.packs import NOW, evidence, exception, facts, load, pack

from charter.domain.controls import evaluate_control, evaluate_gate
from charter.domain.gate_facts import ReleaseFacts
from charter.domain.policy import Policy
from charter.domain.risks import RegisterFacts, RiskFact, request_problems

STAGING_ONLY = {
    "id": "eval-staging",
    "description": "staging evidence",
    "kind": "evaluation_evidence",
    "tiers": ["high"],
    "environments": ["staging"],
    "params": {"suite": "staging-suite"},
}
LLM_ONLY = {
    "id": "guard-llm",
    "description": "LLM releases only",
    "kind": "evaluation_evidence",
    "tiers": ["high"],
    "when_components": ["vendor_model"],
    "params": {"suite": "guardrails"},
}
REGISTER = {
    "id": "register",
    "description": "the register",
    "kind": "risk_register",
    "tiers": ["high"],
    "environments": ["prod"],
    "waivable": True,
}


def policy() -> Policy:
    """The small pack with the register first, so pack order is not evaluation order."""
    data = pack()
    data["controls"] = [REGISTER, *data["controls"], STAGING_ONLY, LLM_ONLY]
    return load(data)


def risk(*controls: str, id_: int = 3, title: str = "drift") -> RiskFact:
    """An open risk that is owned, watched by ``drift``, reviewed yesterday, rated low."""
    return RiskFact(
        id=id_,
        title=title,
        status="open",
        owner="rita",
        owner_active=True,
        controls=controls,
        signals=("drift",),
        residual_rating="low",
        reviewed_at=NOW - timedelta(days=1),
        reviewed_by="rita",
        accepted_by=None,
    )


def gate_facts(*risks: RiskFact, **kw: Any) -> ReleaseFacts:
    tier_controls = {c.id for c in policy().controls if "high" in c.tiers}
    register = RegisterFacts(
        risks=risks,
        review_days=90,
        ratings=("low", "medium", "high", "critical"),
        acceptance_from="high",
        tier_controls=frozenset(tier_controls),
        register_controls=frozenset({"register"}),
    )
    return replace(facts(required_monitors=("drift",), **kw), risk_register=register)


def register_result(f: ReleaseFacts) -> tuple[str, str]:
    results = {r.control_id: r for r in evaluate_gate(policy(), f)}
    return results["register"].status, results["register"].reason


def test_a_risk_mitigated_by_a_control_that_fails_in_the_gate_fails_the_register() -> None:
    # eval-classification is in the pack for the tier (named is not enough) and fails here.
    status, reason = register_result(gate_facts(risk("eval-classification")))
    assert status == "fail"
    assert reason == "risk #3 'drift': mitigating control eval-classification failed"


def test_the_same_risk_passes_once_its_control_passes() -> None:
    status, reason = register_result(
        gate_facts(risk("eval-classification"), evidence=[evidence(1)])
    )
    assert status == "pass", reason
    assert "mitigated by a control that passed this gate" in reason
    assert "waiver" not in reason


def test_one_passing_control_is_enough_and_each_failing_one_is_named() -> None:
    both = risk("quorum-high", "owner")  # quorum fails (no decisions), owner passes
    assert register_result(gate_facts(both))[0] == "pass"
    none_pass = risk("quorum-high", "eval-staging", "guard-llm", "register", "gone")
    status, reason = register_result(gate_facts(none_pass))
    assert status == "fail"
    assert reason == (
        "risk #3 'drift': mitigating controls quorum-high failed, eval-staging not "
        "evaluated in this gate, guard-llm not applicable, register checks the register "
        "itself (it mitigates nothing), gone not in the policy for the system's tier"
    )


def test_a_waiver_in_force_mitigates_and_says_so_an_expired_one_does_not() -> None:
    waived = gate_facts(
        risk("eval-classification"), exceptions=[exception(7, "eval-classification")]
    )
    results = {r.control_id: r for r in evaluate_gate(policy(), waived)}
    assert results["eval-classification"].status == "waived"
    assert results["register"].status == "pass"
    assert "risk #3 'drift' mitigated by a waiver: eval-classification (exception #7 until " in (
        results["register"].reason
    )
    assert results["register"].evidence["mitigations"] == {"3": {"eval-classification": "waived"}}
    expired = gate_facts(
        risk("eval-classification"),
        exceptions=[exception(7, "eval-classification", expires_in_days=-1)],
    )
    assert register_result(expired) == (
        "fail",
        "risk #3 'drift': mitigating control eval-classification failed",
    )


def test_a_waiver_does_not_hide_other_gaps_and_is_named_in_the_failure() -> None:
    unowned = replace(risk("eval-classification"), owner=None)
    f = gate_facts(unowned, exceptions=[exception(7, "eval-classification")])
    status, reason = register_result(f)
    assert status == "fail"
    assert reason.startswith("risk #3 'drift': no owner; risk #3 'drift' mitigated by a waiver")


def test_the_register_is_judged_after_the_others_and_pack_order_is_kept() -> None:
    results = evaluate_gate(policy(), gate_facts(risk("owner")))
    assert [r.control_id for r in results] == [
        "register",
        "eval-classification",
        "quorum-high",
        "owner",
        "guard-llm",
    ]
    assert results[0].status == "pass"


def test_the_register_alone_fails_closed_without_the_other_outcomes() -> None:
    (register,) = [c for c in policy().controls if c.id == "register"]
    result = evaluate_control(register, gate_facts(risk("owner")))
    assert result.status == "fail" and "outcomes were not given" in result.reason


def test_a_request_may_not_name_the_register_control_as_a_mitigation() -> None:
    values = {
        "title": "t",
        "category": "robustness",
        "likelihood": 2,
        "impact": 2,
        "residual_likelihood": 2,
        "residual_impact": 2,
        "controls": ["owner", "register"],
        "status": "open",
    }
    assert request_problems(policy(), "high", values, ["drift"]) == [
        ("controls[1]", "control 'register' checks the register itself and cannot mitigate a risk")
    ]

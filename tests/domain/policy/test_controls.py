"""Each control kind against hand-built facts, and exceptions turning fails into waivers."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from tests.domain.policy.packs import (
    NOW,
    decision,
    evidence,
    exception,
    facts,
    load,
    pack,
    reference,
)

from charter.domain.contracts import parse_contract
from charter.domain.controls import (
    KINDS,
    apply_exceptions,
    evaluate_control,
    evaluate_gate,
)
from charter.domain.errors import BadInput
from charter.domain.gate_facts import ControlResult
from charter.domain.policy import Control, Policy


def control(kind: str, params: dict[str, Any], **extra: Any) -> Control:
    """A control of one kind, loaded through a pack so its params are typed."""
    data = pack()
    data["controls"] = [
        {"id": "c", "description": "d", "kind": kind, "tiers": ["high"], "params": params, **extra}
    ]
    policy = load(data)
    return policy.controls[0]


def status(kind: str, params: dict[str, Any], **kw: Any) -> tuple[str, str]:
    result = evaluate_control(control(kind, params), facts(**kw))
    return result.status, result.reason


def test_every_kind_is_registered_with_a_summary() -> None:
    assert set(KINDS) == {
        "documented_values",
        "evaluation_evidence",
        "contract_metric",
        "approval_quorum",
        "live_monitors",
        "guardrails",
        "documentation",
        "approval_validity",
        "vendor_not_deprecated",
        "fallback_defined",
        "risk_register",
    }
    assert all(kind.summary for kind in KINDS.values())


# -- evaluation_evidence ---------------------------------------------------------------------

PASSED = {"bound": "roc_auc >= 0.75", "metric": "roc_auc", "passed": True, "value": 0.81}
FAILED = {"bound": "roc_auc >= 0.9", "metric": "roc_auc", "passed": False, "value": 0.81}


def test_evaluation_evidence_pass_and_result_fields() -> None:
    result = evaluate_control(
        control("evaluation_evidence", {"suite": "classification", "max_age_days": 30}),
        facts(evidence=[evidence(1, bounds=[PASSED])]),
    )
    assert (result.status, result.control_id, result.kind) == ("pass", "c", "evaluation_evidence")
    assert result.evidence["evidence_id"] == 1
    assert result.maps_to == {}


def test_evaluation_evidence_missing_old_or_failed() -> None:
    params = {"suite": "classification", "max_age_days": 30}
    assert status("evaluation_evidence", params)[0] == "fail"
    assert "no classification evaluation evidence" in status("evaluation_evidence", params)[1]
    old = status("evaluation_evidence", params, evidence=[evidence(1, age_days=31)])
    assert old[0] == "fail" and "31 days old (limit 30)" in old[1]
    failed = status("evaluation_evidence", params, evidence=[evidence(1, bounds=[PASSED, FAILED])])
    assert failed[0] == "fail" and "roc_auc >= 0.9" in failed[1]
    other_suite = status("evaluation_evidence", params, evidence=[evidence(1, "fairness")])
    assert other_suite[0] == "fail"


def test_evaluation_evidence_uses_the_newest_and_status_field() -> None:
    params = {"suite": "classification"}
    newer_passes = [evidence(1, age_days=9, bounds=[FAILED]), evidence(2, age_days=1)]
    assert status("evaluation_evidence", params, evidence=newer_passes)[0] == "pass"
    newer_fails = [
        evidence(1, age_days=1, bounds=[{"bound": "x", "status": "undefined"}]),
        evidence(2, age_days=9),
    ]
    assert status("evaluation_evidence", params, evidence=newer_fails)[0] == "fail"
    skipped = [evidence(1, bounds=[{"bound": "mae <= 1", "metric": "mae", "status": "skipped"}])]
    assert status("evaluation_evidence", params, evidence=skipped)[0] == "pass"


def test_evaluation_evidence_any_of_several_suites() -> None:
    params = {"suite": ["classification", "regression"]}
    assert status("evaluation_evidence", params, evidence=[evidence(1, "regression")])[0] == "pass"


# -- contract_metric -------------------------------------------------------------------------

CONTRACT = {
    "offline": {"roc_auc": ">= 0.75", "demographic_parity_ratio[sex]": ">= 0.8"},
    "live": {"window": "1d"},
}


def doc(contract: Any = None, config: Any = None, components: Any = None) -> dict[str, Any]:
    return {
        "components": components if components is not None else [{"kind": "model", "name": "m"}],
        "config": config or {},
        "contract": contract if contract is not None else {},
    }


def dpr(passed: bool) -> dict[str, Any]:
    return {
        "bound": "demographic_parity_ratio[sex] >= 0.8",
        "metric": "demographic_parity_ratio",
        "passed": passed,
    }


def test_contract_metric_pass() -> None:
    ev = [evidence(1, bounds=[PASSED]), evidence(2, "fairness", bounds=[dpr(True)])]
    result = status("contract_metric", {}, document=doc(CONTRACT), evidence=ev)
    assert result == ("pass", "2 contract bound(s) met")


def test_contract_metric_fail_when_unchecked_or_failed() -> None:
    missing = status(
        "contract_metric", {}, document=doc(CONTRACT), evidence=[evidence(1, bounds=[PASSED])]
    )
    assert missing[0] == "fail"
    assert "no evidence checked demographic_parity_ratio" in missing[1]
    ev = [evidence(1, bounds=[PASSED]), evidence(2, "fairness", bounds=[dpr(False)])]
    failed = status("contract_metric", {}, document=doc(CONTRACT), evidence=ev)
    assert failed[0] == "fail" and "evidence #2 failed it" in failed[1]
    # The newest evidence that checked the metric decides: a later pass clears an old fail.
    ev.append(evidence(3, "fairness", age_days=0, bounds=[dpr(True)]))
    assert status("contract_metric", {}, document=doc(CONTRACT), evidence=ev)[0] == "pass"


def test_contract_metric_not_applicable_or_required() -> None:
    assert status("contract_metric", {}, document=doc({}))[0] == "not_applicable"
    assert status("contract_metric", {"required": True}, document=doc({}))[0] == "fail"
    only = {"metric": ["equalized_odds_difference"], "required": True}
    result = status(
        "contract_metric", only, document=doc(CONTRACT), evidence=[evidence(1, bounds=[PASSED])]
    )
    assert result[0] == "fail" and "no offline bounds on equalized_odds_difference" in result[1]
    assert (
        status(
            "contract_metric",
            {"metric": "roc_auc"},
            document=doc(CONTRACT),
            evidence=[evidence(1, bounds=[PASSED])],
        )[0]
        == "pass"
    )


def test_contract_metric_reads_the_contract_in_force_not_the_document() -> None:
    # An approval tightened roc_auc: the gate holds evidence to the stricter bound.
    tightened = parse_contract({"offline": ["roc_auc >= 0.9"]})
    strict = replace(facts(evidence=[evidence(1, bounds=[PASSED])]), contract=tightened)
    result = evaluate_control(control("contract_metric", {}), strict)
    assert result.status == "fail" and "roc_auc >= 0.9: no evidence checked" in result.reason


# -- approval_quorum -------------------------------------------------------------------------

QUORUM = {"quorum": 2, "roles": ["approver"]}


def test_approval_quorum() -> None:
    assert status("approval_quorum", QUORUM)[0] == "fail"
    one = [decision(1, actor="ann")]
    assert "1 of 2" in status("approval_quorum", QUORUM, decisions=one)[1]
    two = [decision(1, actor="ann"), decision(2, actor="bob")]
    assert status("approval_quorum", QUORUM, decisions=two)[0] == "pass"
    same_person = [decision(1, actor="ann"), decision(2, actor="ann")]
    assert status("approval_quorum", QUORUM, decisions=same_person)[0] == "fail"
    wrong_role = [decision(1, actor="ann"), decision(2, actor="dev", role="developer")]
    assert status("approval_quorum", QUORUM, decisions=wrong_role)[0] == "fail"
    other_env = [decision(1, actor="ann"), decision(2, actor="bob", envs=("staging",))]
    assert status("approval_quorum", QUORUM, decisions=other_env)[0] == "fail"


def test_approval_quorum_rejects_and_expiry() -> None:
    rejected = [
        decision(1, actor="ann"),
        decision(2, actor="bob"),
        decision(3, "reject", "rita", role="risk_engineer", envs=()),
    ]
    result = status("approval_quorum", QUORUM, decisions=rejected)
    assert result[0] == "fail" and "rejected" in result[1]
    rejected += [decision(4, actor="ann"), decision(5, actor="bob")]
    assert status("approval_quorum", QUORUM, decisions=rejected)[0] == "pass"
    expired = [decision(1, actor="ann", valid_days=5), decision(2, actor="bob", valid_days=5)]
    result = status("approval_quorum", QUORUM, decisions=expired)
    assert result[0] == "fail" and "expired" in result[1]


# -- live_monitors, guardrails, documentation -----------------------------------------------


def test_live_monitors_needs_the_plan_and_a_reference_that_supports_it() -> None:
    params = {"required": ["drift", "performance"]}
    listed = doc({"live": {"window": "1d", "monitors": ["drift", {"kind": "performance"}]}})
    assert status("live_monitors", params, document=listed, reference=reference())[0] == "pass"
    # Declared but nothing to compare with: not performed.
    no_reference = status("live_monitors", params, document=listed)
    assert no_reference[0] == "fail" and "no reference profile is set" in no_reference[1]
    # The policy's required monitors are planned by the worker whatever the contract says.
    bare = status(
        "live_monitors",
        params,
        document=doc({}),
        reference=reference(),
        required_monitors=params["required"],
    )
    assert bare[0] == "pass" and "accuracy >= 0.75" in bare[1]  # 0.8 baseline - 0.05


def test_live_monitors_counts_a_bound_as_its_monitor_and_settings_as_nothing() -> None:
    # The case: live: {accuracy: ">= 0.9", open_after: 2} is watched for performance.
    contract = doc({"live": {"accuracy": ">= 0.9", "open_after": 2}})
    result = evaluate_control(
        control("live_monitors", {"required": ["performance"]}),
        facts(document=contract, reference=reference()),
    )
    assert result.status == "pass", result.reason
    assert result.evidence["plan"]["monitors"] == ["performance"]
    assert result.evidence["plan"]["open_after"] == 2


def test_live_monitors_names_what_each_monitor_lacks() -> None:
    params = {"required": ["performance", "fairness"]}
    no_roles = reference(prediction=None, cohort=None)
    result = status(
        "live_monitors",
        params,
        document=doc({}),
        reference=no_roles,
        required_monitors=params["required"],
    )
    assert result[0] == "fail"
    assert "performance: the reference has no prediction or score column" in result[1]
    assert "fairness: the reference has no cohort column" in result[1]
    unlabelled = reference(label=None, baseline=None)
    result = status(
        "live_monitors",
        {"required": ["performance"]},
        document=doc({}),
        reference=unlabelled,
        required_monitors=["performance"],
    )
    assert result[0] == "fail" and "no bound" in result[1]
    missing = status(
        "live_monitors", {"required": ["latency"]}, document=doc({"live": {"monitors": ["drift"]}})
    )
    assert missing == ("fail", "latency: not planned")


def test_guardrails_declaration_alone_is_not_enough() -> None:
    # Evidence that the scanners work is tested in test_guardrail_controls.py.
    params = {"required": ["pii", "prompt_injection"]}
    both = doc(config={"guardrails": ["pii", {"name": "prompt_injection"}]})
    declared = status("guardrails", params, document=both)
    assert declared[0] == "fail"
    assert "no guardrails evaluation evidence ran pii, prompt_injection" in declared[1]
    one = doc(config={"guardrails": ["pii"]})
    assert status("guardrails", params, document=one) == (
        "fail",
        "missing guardrails: prompt_injection",
    )
    assert status("guardrails", params, document=doc(config={"guardrails": "pii"}))[0] == "fail"


def test_guardrails_only_for_llm_releases_with_when_components() -> None:
    llm_only = control(
        "guardrails", {"required": ["pii"]}, when_components=["prompt", "vendor_model"]
    )
    result = evaluate_control(llm_only, facts(document=doc()))
    assert result.status == "not_applicable"
    llm = doc(components=[{"kind": "prompt", "name": "p"}])
    assert evaluate_control(llm_only, facts(document=llm)).status == "fail"


def test_documentation() -> None:
    fields = {"fields": ["owner", "purpose"]}
    assert status("documentation", fields)[0] == "pass"
    blank = status(
        "documentation",
        {"fields": ["owner", "population", "surfaces"]},
        system_fields={"owner": "x", "population": "  ", "surfaces": []},
    )
    assert blank == ("fail", "missing documentation: population, surfaces")
    release = {"fields": ["system.owner", "release.config.intended_use"]}
    documented = doc(config={"intended_use": "limits"})
    assert status("documentation", release, document=documented)[0] == "pass"
    assert status("documentation", release)[0] == "fail"


# -- approval_validity -----------------------------------------------------------------------


def test_approval_validity() -> None:
    params = {"max_days": 180}
    assert status("approval_validity", params, decisions=[decision(1, valid_days=180)])[0] == "pass"
    long = status("approval_validity", params, decisions=[decision(1, valid_days=365)])
    assert long[0] == "fail" and "runs 365 days" in long[1]
    forever = status("approval_validity", params, decisions=[decision(1, valid_days=None)])
    assert forever[0] == "fail" and "no expiry" in forever[1]
    expired = status(
        "approval_validity", params, decisions=[decision(1, granted_days_ago=100, valid_days=90)]
    )
    assert expired[0] == "fail" and "no unexpired approval" in expired[1]
    assert status("approval_validity", params)[0] == "fail"


# -- vendor_not_deprecated -------------------------------------------------------------------


def vendor(deprecation: str | None) -> dict[str, Any]:
    component: dict[str, Any] = {
        "kind": "vendor_model",
        "name": "llm",
        "provider": "p",
        "model": "m",
    }
    if deprecation:
        component["deprecation_date"] = deprecation
    return doc(components=[component])


def test_vendor_not_deprecated() -> None:
    params = {"notice_days": 60}
    today = NOW.date()
    assert status("vendor_not_deprecated", params)[0] == "not_applicable"
    far = (today + timedelta(days=61)).isoformat()
    assert status("vendor_not_deprecated", params, document=vendor(far))[0] == "pass"
    near = (today + timedelta(days=60)).isoformat()
    result = status("vendor_not_deprecated", params, document=vendor(near))
    assert result[0] == "fail" and "60 days left" in result[1]
    past = (today - timedelta(days=1)).isoformat()
    result = status("vendor_not_deprecated", params, document=vendor(past))
    assert result[0] == "fail" and "was deprecated" in result[1]
    assert status("vendor_not_deprecated", params, document=vendor(None))[0] == "pass"
    strict = {"notice_days": 60, "require_date": True}
    assert status("vendor_not_deprecated", strict, document=vendor(None))[0] == "fail"


# -- fallback_defined ------------------------------------------------------------------------

FALLBACK = {"kind": "static", "ref": "decline-politely"}


def test_fallback_defined() -> None:
    assert status("fallback_defined", {})[0] == "fail"
    named = [decision(1, fallback=FALLBACK)]
    assert status("fallback_defined", {}, decisions=named) == (
        "pass",
        "fallback decline-politely (approval #1)",
    )
    # The fallback in force is the one the newest counting approval that names one names.
    newest_without = [decision(1, fallback=FALLBACK), decision(2, actor="bob")]
    assert status("fallback_defined", {}, decisions=newest_without)[0] == "pass"
    lapsed = [decision(1, fallback=FALLBACK, valid_days=5), decision(2, actor="bob")]
    assert status("fallback_defined", {}, decisions=lapsed)[0] == "fail"
    other_env = [decision(1, fallback=FALLBACK, envs=("staging",))]
    assert status("fallback_defined", {}, decisions=other_env)[0] == "fail"


def test_fallback_tested() -> None:
    params = {"tested": True, "max_age_days": 90}
    named = [decision(1, fallback=FALLBACK)]
    untested = status("fallback_defined", params, decisions=named)
    assert untested[0] == "fail" and "fallback-drill" in untested[1]
    drilled = [evidence(9, "fallback-drill", age_days=10)]
    assert status("fallback_defined", params, decisions=named, evidence=drilled)[0] == "pass"
    stale = [evidence(9, "fallback-drill", age_days=91)]
    assert status("fallback_defined", params, decisions=named, evidence=stale)[0] == "fail"


# -- exceptions ------------------------------------------------------------------------------


def failing(waivable: bool = True) -> ControlResult:
    waived = control("evaluation_evidence", {"suite": "classification"}, waivable=waivable)
    result = evaluate_control(waived, facts())
    assert result.status == "fail"
    return result


def test_an_approved_unexpired_exception_waives() -> None:
    [result] = apply_exceptions([failing()], facts(exceptions=[exception(7, "c")]))
    assert result.status == "waived"
    assert result.waiver is not None
    assert result.waiver["exception_id"] == 7
    assert result.waiver["expires_at"].startswith("2026-12-04")
    assert "waived by exception #7" in result.reason


def test_an_exception_for_the_environment_waives_and_the_latest_expiry_is_named() -> None:
    exceptions = [
        exception(7, "c", environment="prod", expires_in_days=3),
        exception(8, "c", expires_in_days=20),
    ]
    [result] = apply_exceptions([failing()], facts(exceptions=exceptions))
    assert result.waiver is not None and result.waiver["exception_id"] == 8


@pytest.mark.parametrize(
    "item",
    [
        exception(7, "c", expires_in_days=0),
        exception(7, "c", expires_in_days=-1),
        exception(7, "c", status="requested"),
        exception(7, "c", status="rejected"),
        exception(7, "c", status="revoked"),
        exception(7, "c", environment="staging"),
        exception(7, "other-control"),
    ],
)
def test_exceptions_that_do_not_waive(item) -> None:
    [result] = apply_exceptions([failing()], facts(exceptions=[item]))
    assert result.status == "fail"
    assert result.waiver is None


def test_a_non_waivable_control_is_not_waived() -> None:
    [result] = apply_exceptions([failing(waivable=False)], facts(exceptions=[exception(7, "c")]))
    assert result.status == "fail"


def test_waivability_can_come_from_the_policy() -> None:
    plain = ControlResult("eval-classification", "evaluation_evidence", "d", "fail", "missing")
    policy = load()
    [result] = apply_exceptions(
        [plain], facts(exceptions=[exception(7, "eval-classification")]), policy
    )
    assert result.status == "waived"
    [result] = apply_exceptions([plain], facts(exceptions=[exception(7, "eval-classification")]))
    assert result.status == "fail"


def test_passing_results_are_untouched() -> None:
    passing = ControlResult("c", "k", "d", "pass", "fine")
    assert apply_exceptions([passing], facts(exceptions=[exception(7, "c")])) == [passing]


# -- the whole gate --------------------------------------------------------------------------


def test_evaluate_gate_runs_the_tier_and_environment_controls() -> None:
    policy: Policy = load()
    gate = evaluate_gate(policy, facts(exceptions=[exception(7, "eval-classification")]))
    assert [(r.control_id, r.status) for r in gate] == [
        ("eval-classification", "waived"),
        ("quorum-high", "fail"),
        ("owner", "pass"),
    ]
    staging = evaluate_gate(policy, facts(environment="staging"))
    assert [r.control_id for r in staging] == ["eval-classification", "owner"]


def test_evaluate_gate_refuses_unknown_tiers_and_fails_refused_ones() -> None:
    policy = load()
    with pytest.raises(BadInput, match="re-run intake"):
        evaluate_gate(policy, facts(tier="unassessed"))
    [result] = evaluate_gate(
        policy, facts(tier="prohibited", exceptions=[exception(1, "tier-refused")])
    )
    assert (result.control_id, result.status) == ("tier-refused", "fail")


def test_naive_stored_times_are_treated_as_utc() -> None:
    naive = evidence(1)
    naive = type(naive)(**{**naive.__dict__, "created_at": naive.created_at.replace(tzinfo=None)})
    assert (
        status(
            "evaluation_evidence", {"suite": "classification", "max_age_days": 5}, evidence=[naive]
        )[0]
        == "pass"
    )

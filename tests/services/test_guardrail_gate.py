"""The gate's guardrail controls on an LLM release: declared guardrails need suite evidence."""

from __future__ import annotations

from tests.evaluation.support import GUARD_OUTPUT_CONFIG, GUARD_OUTPUT_RECORDS, guardrails_result
from tests.services.support import gate, make_llm_release, record_result

GUARDRAILS = ("prompt_injection", "pii", "toxicity", "output_schema", "grounding")
CONTROLS = {
    "guardrails-prompt-injection",
    "guardrails-pii",
    "guardrails-output",
    "guardrails-grounding",
}


def statuses(report) -> dict[str, tuple[str, str]]:
    return {
        r["control_id"]: (r["status"], r["reason"])
        for r in report["results"]
        if r["control_id"] in CONTROLS
    }


def test_declared_guardrails_pass_only_with_real_suite_evidence(system, act) -> None:
    ref = make_llm_release(act, guardrails=GUARDRAILS)
    before = statuses(gate(act, ref))
    assert set(before) == CONTROLS
    assert all(
        s == "fail" and "no guardrails evaluation evidence" in r for s, r in before.values()
    ), before
    # The input scanners' evidence: injection and PII pass, the output controls still fail.
    first = record_result(act, ref, guardrails_result())
    middle = statuses(gate(act, ref))
    assert middle["guardrails-prompt-injection"][0] == "pass"
    assert middle["guardrails-pii"] == (
        "pass",
        f"guardrails evidence #{first} ran pii within pii_recall >= 0.9, benign_block_rate <= 0.01",
    )
    assert middle["guardrails-output"][0] == "fail"
    assert (
        f"#{first} ran pii, prompt_injection, secrets, toxicity" in middle["guardrails-output"][1]
    )
    record_result(act, ref, guardrails_result(GUARD_OUTPUT_RECORDS, GUARD_OUTPUT_CONFIG))
    after = statuses(gate(act, ref))
    assert {s for s, _ in after.values()} == {"pass"}, after


def test_a_release_that_declares_nothing_fails_with_evidence(system, act) -> None:
    ref = make_llm_release(act, "bare")
    record_result(act, ref, guardrails_result())
    report = statuses(gate(act, ref))
    assert report["guardrails-prompt-injection"] == (
        "fail",
        "missing guardrails: prompt_injection",
    )

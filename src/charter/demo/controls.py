"""What the demo's teams do about the gate's controls: perform them, or time-box the rest.

Controls are performed where the demo can perform them (the ``guardrails`` suite runs the
scanners the policy configures on attack and benign sets); the controls a team could not
perform yet get a time-boxed exception with a compensating control, approved by someone
other than its requester, as the policy allows.
"""

from __future__ import annotations

import json
from typing import Any

from charter.demo.session import DemoSession


def guardrail_config(tier: str) -> dict[str, Any]:
    """The guard configuration the policy gives ``tier`` (stages to scanner rules)."""
    from charter.domain.guard_policy import GuardrailsPolicy

    return GuardrailsPolicy().config_mapping(tier)


def guardrail_names(tier: str) -> list[str]:
    """The scanners that run for ``tier``, as a release's ``config.guardrails`` lists them."""
    config = guardrail_config(tier)
    return sorted({rule["scanner"] for stage in config.values() for rule in stage})


def measure_guardrails(
    demo: DemoSession, user: str, ref: str, tier: str, cases: list[dict[str, Any]]
) -> dict[str, Any]:
    """Run the ``guardrails`` suite (the team's own cases plus the shipped sets) as evidence."""
    from charter.evaluation import InputSpec, RunOptions, evaluate_file
    from charter.evaluation.suites import find_suite

    system = ref.split("@", 1)[0]
    own = demo.work / system / "guardrail_cases.jsonl"
    own.parent.mkdir(parents=True, exist_ok=True)
    own.write_text("".join(json.dumps(c) + "\n" for c in cases), encoding="utf-8")
    suite = find_suite("guardrails").configured({"tier": tier, "default_sets": True})
    result = evaluate_file(own, suite, InputSpec(), RunOptions(seed=5))
    stored: dict[str, Any] = demo.call(user, "evidence.record", ref=ref, result=result)
    return stored


def waive_the_rest(
    demo: DemoSession, user: str, ref: str, environment: str, *, expires: str
) -> list[str]:
    """Time-box each control the gate still fails, with a compensating control.

    A real team performs what it can and asks for an exception, approved by someone else,
    for what it cannot yet; the demo does the same (a risk engineer approves).
    """
    report = demo.call(user, "gate.run", ref=ref, environment=environment)
    waived = []
    for result in report["results"]:
        if result["status"] != "fail" or not result.get("waivable", True):
            continue
        requested = demo.call(
            user,
            "exception.request",
            ref=ref,
            control_id=result["control_id"],
            justification=f"{result['control_id']}: scheduled for the next release cycle.",
            compensating="Weekly manual review of a sample of decisions by the credit team.",
            expires=expires,
            environment=environment,
        )
        demo.call(
            "rita",
            "exception.decide",
            exception_id=requested["id"],
            verdict="approve",
            note="Compensating control accepted for a limited period.",
        )
        waived.append(result["control_id"])
    return waived

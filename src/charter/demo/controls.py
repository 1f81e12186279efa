"""What the demo's teams do about the gate's controls: perform them, or time-box the rest.

Controls are performed where the demo can perform them (the ``guardrails`` suite runs the
scanners the policy configures on attack and benign sets); the controls a team could not
perform yet get a time-boxed exception with a compensating control, approved by someone
other than its requester, as the policy allows.
"""

from __future__ import annotations

import json
import zlib
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


#: What the high tier's records controls need done, as the team's own short reports.
RECORDS = {
    "security": "Penetration test of the scoring API and adversarial-input tests of the "
    "model (evasion by feature perturbation); findings fixed before release.",
    "fria": "Fundamental-rights impact assessment: affected groups, risks of indirect "
    "discrimination by age and sex, human review of every decline, complaint route.",
    "conformity-assessment": "Internal control conformity assessment (Annex VI) against "
    "Articles 9-15; technical documentation reviewed by the second line.",
}


def high_risk_docs(system: str) -> dict[str, Any]:
    """The documents the high tier's documentation controls read from ``config.docs``."""
    base = f"mrm/{system}"
    return {
        "risk_management": {
            "file": f"{base}/risk-file.pdf",
            "foreseeable_misuse": "scores reused for marketing or collections",
            "vulnerable_groups": "customers in financial difficulty, young applicants",
        },
        "data_governance": {
            "provenance": "application and bureau data, documented in the data sheet",
            "representativeness": "checked by region, age band and sex against the book",
            "bias_examination": f"{base}/fairness-report.pdf",
        },
        "technical_documentation": f"{base}/annex-iv.pdf",
        "instructions_for_use": f"{base}/instructions.pdf",
        "logging": {"events": "every scored application and its decision", "retention_days": 400},
        "oversight": {"design": "credit officers review every decline", "overseers": ["k.osei"]},
        "post_market_monitoring_plan": f"{base}/post-market-monitoring.pdf",
        "serious_incident": {
            "procedure": "incident runbook IR-7",
            "report_days": 15,
            "death_report_days": 10,
            "widespread_report_days": 2,
        },
        "eu_declaration_of_conformity": f"{base}/eu-declaration.pdf",
        "ce_marking": "digital CE marking on the application page",
        "eu_database_registration": f"EU-DB-{zlib.crc32(system.encode()) % 10_000:04d}",
        "affected_persons_notice": "decision letters state that a model is used and how to appeal",
    }


def record_documents(demo: DemoSession, user: str, ref: str) -> None:
    """Record the high tier's assessments as evidence, each with the report that shows it."""
    import hashlib

    folder = demo.work / ref.split("@", 1)[0] / "records"
    folder.mkdir(parents=True, exist_ok=True)
    for suite, text in RECORDS.items():
        path = folder / f"{suite}.md"
        path.write_text(f"# {suite}\n\n{text}\n", encoding="utf-8")
        data = path.read_bytes()
        result = {
            "schema": "charter.evaluation.result/1",
            "suite": {"name": suite, "version": "record/1"},
            "dataset": {"name": path.name, "sha256": hashlib.sha256(data).hexdigest()},
            "metrics": {"overall": {}},
            "record": {"document": path.name, "bytes": len(data), "note": "demo team report"},
        }
        demo.call(user, "evidence.record", ref=ref, result=result)


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


#: The credit team's register: what could go wrong, what mitigates it, what would show it.
CREDIT_RISKS: tuple[dict[str, Any], ...] = (
    {
        "title": "Limit decisions degrade as the economy moves",
        "category": "performance",
        "nist_ai_rmf": ["MEASURE 2.4", "MANAGE 4.1"],
        "cause": "Income and spending patterns shift away from the 2019-2025 training data.",
        "failure_mode": "Limits raised for customers who then default.",
        "affected_population": "UK retail credit-card customers",
        "likelihood": 3,
        "impact": 4,
        "residual_likelihood": 2,
        "residual_impact": 4,
        "controls": ["eval-performance", "monitor-performance"],
        "signals": ["performance"],
        "remediation": "Roll back to the last approved release; retrain on recent data.",
    },
    {
        "title": "Unequal limit increases between sexes or age bands",
        "category": "fairness",
        "nist_ai_rmf": ["MEASURE 2.11", "MAP 5.1"],
        "cause": "Historic lending decisions in the labels.",
        "failure_mode": "Selection-rate ratio below the contract's 0.8.",
        "affected_population": "Women and customers under 25",
        "likelihood": 3,
        "impact": 5,
        "residual_likelihood": 2,
        "residual_impact": 5,
        "controls": ["eval-fairness", "contract-fairness-bound", "monitor-fairness"],
        "signals": ["fairness"],
        "remediation": "Kill to manual review; re-weight and re-validate by cohort.",
    },
    {
        "title": "Bureau feed changes shift the inputs",
        "category": "robustness",
        "nist_ai_rmf": ["MEASURE 2.4"],
        "cause": "The credit bureau changes a field's coding without notice.",
        "failure_mode": "Scores computed on inputs the model was not validated on.",
        "likelihood": 3,
        "impact": 3,
        "residual_likelihood": 2,
        "residual_impact": 3,
        "controls": ["monitor-drift"],
        "signals": ["drift"],
        "remediation": "Find the feed change with the bureau; fall back until it is understood.",
    },
)


def manage_register(
    demo: DemoSession,
    system: str,
    risks: tuple[dict[str, Any], ...],
    *,
    author: str,
    owner: str,
    acceptor: str,
) -> None:
    """Record a register as a team would: the author writes the risks, their owner reviews
    them, and someone else accepts the residual risks the pack says need accepting."""
    from charter.domain.risks import RiskChange

    for fields in risks:
        added = demo.call(author, "risk.add", system=system, risk=RiskChange(**fields, owner=owner))
        demo.call(
            owner,
            "risk.review",
            system=system,
            risk_id=added["id"],
            note="Mitigations and monitors checked at the quarterly risk review.",
        )
        if added["residual_rating"] in ("high", "critical"):
            demo.call(
                acceptor,
                "risk.accept",
                system=system,
                risk_id=added["id"],
                note="Within the committee's appetite while the mitigations run.",
            )

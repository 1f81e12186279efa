"""Builders shared by the service-layer tests: a credit system under the default pack, releases,
evidence that satisfies its controls, approvals."""

from __future__ import annotations

import json

from sqlalchemy import select

from charter.domain.decisions import DecisionRequest
from charter.domain.releases import ReleaseManifest
from charter.services import decisions as decision_service
from charter.services import gates, releases
from charter.store.models import Evidence, Release

CREDIT = {
    "domain": "credit_scoring",
    "role": "provider_and_deployer",
    "annex_iii": ["5b_creditworthiness"],
    "profiling": True,
    "automated_decision": True,
    "affects_natural_persons": True,
    "uses_personal_data": True,
}
#: The documents the default high tier reads from a release's config.docs (Arts. 9-15,
#: 26, 27, 47-49, 72, 73).
HIGH_RISK_DOCS = {
    "risk_management": {
        "file": "mrm/credit-limit/risk-file.pdf",
        "foreseeable_misuse": "limit increases used as a marketing lever",
        "vulnerable_groups": "customers in financial difficulty",
    },
    "data_governance": {
        "provenance": "bureau and account data 2019-2025",
        "representativeness": "UK retail card holders, by region and age band",
        "bias_examination": "fairness report 2026-10",
    },
    "technical_documentation": "mrm/credit-limit/annex-iv.pdf",
    "instructions_for_use": "mrm/credit-limit/instructions.pdf",
    "logging": {"events": "every scored application", "retention_days": 365},
    "oversight": {"design": "credit officers review declines", "overseers": ["a.credit-officer"]},
    "post_market_monitoring_plan": "mrm/credit-limit/pmm.pdf",
    "serious_incident": {
        "procedure": "incident runbook IR-7",
        "report_days": 15,
        "death_report_days": 10,
        "widespread_report_days": 2,
    },
    "eu_declaration_of_conformity": "doc/eu-declaration.pdf",
    "ce_marking": "digital CE marking in the web UI",
    "eu_database_registration": "EU-DB-0001",
    "affected_persons_notice": "credit decision letters state that a model is used",
}
#: Evidence suites the default high tier needs beyond the statistical ones.
HIGH_RISK_RECORDS = ("security", "fria", "conformity-assessment")
SHA = "c" * 64


def release_body(seed: str = "1", live: dict | None = None, **config) -> ReleaseManifest:
    """A credit-limit release that declares what the default high tier asks for."""
    return ReleaseManifest.model_validate(
        {
            "label": f"v{seed}",
            "description": "limit model",
            "components": [
                {"kind": "model", "name": "scorer", "uri": "s3://m/scorer.pkl", "sha256": SHA},
                {"kind": "dataset", "name": "train", "uri": "s3://d/train.parquet", "sha256": SHA},
            ],
            "config": {"threshold": 0.5, "seed": seed, "docs": HIGH_RISK_DOCS, **config},
            "contract": {
                "offline": {"roc_auc": ">= 0.75", "demographic_parity_ratio[sex]": ">= 0.8"},
                "live": {
                    "monitors": ["performance", "drift", "fairness", "latency", "guardrails"],
                    **(live or {}),
                },
            },
        }
    )


def make_release(act, seed="1", live=None, **config) -> str:
    with act("developer") as ctx:
        release, _ = releases.create_release(
            ctx, "credit-limit", release_body(seed, live, **config), base_dir=None
        )
        return f"credit-limit@{release.digest}"


def result_for(suite: str, bounds) -> dict:
    """A minimal suite result reporting each bound's value where the suite would report it."""
    overall: dict = {}
    cohorts: dict = {}
    for bound in bounds:
        metric, value = bound["metric"], {"value": bound.get("value")}
        if "[" in bound["bound"]:
            column = bound["bound"].split("[", 1)[1].split("]", 1)[0]
            cohorts.setdefault(column, {"name": column, "columns": [column], "metrics": {}})
            cohorts[column]["metrics"][metric] = value
        else:
            overall[metric] = value
    return {
        "suite": {"name": suite, "version": "1"},
        "metrics": {"overall": overall, "cohorts": list(cohorts.values())},
    }


def set_reference(charter, ref: str) -> None:
    """A reference profile with predictions, labels and a cohort, so monitors can run."""
    import numpy as np
    import pandas as pd

    from charter.monitoring import build_reference
    from charter.services.references import summarise
    from charter.store.models import MonitorReference

    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=500),
            "sex": rng.choice(["f", "m"], 500),
            "pred": rng.integers(0, 2, 500),
            "y": rng.integers(0, 2, 500),
        }
    )
    profile = build_reference(frame, features=["x"], prediction="pred", label="y", cohort="sex")
    digest = ref.split("@")[1]
    with charter.db.transaction(write=True) as session:
        release = session.scalar(select(Release).where(Release.digest == digest))
        session.add(
            MonitorReference(
                release_id=release.id,
                digest=profile.digest,
                profile=json.dumps(profile.to_dict(), separators=(",", ":"), sort_keys=True),
                pii=[],
                dataset_sha256=None,
                created_at=charter.clock(),
                created_by="developer",
                superseded_at=None,
                summary=summarise(profile),
            )
        )


def add_evidence(charter, ref: str, suite: str, bounds=(), clock=None) -> None:
    """Evidence rows as the evaluation service stores them (the suites are tested elsewhere)."""
    digest = ref.split("@")[1]
    with charter.db.transaction(write=True) as session:
        release = session.scalar(select(Release).where(Release.digest == digest))
        session.add(
            Evidence(
                release_id=release.id,
                suite=suite,
                suite_version="1",
                digest=f"{suite}{len(bounds)}".ljust(64, "0"),
                dataset_sha256=SHA,
                passed=all(b["status"] == "pass" for b in bounds),
                bounds=list(bounds),
                result=json.dumps(result_for(suite, bounds)),
                created_at=charter.clock(),
                created_by="developer",
                # As Charter's runner records it: the gate counts no evidence from outside.
                provenance={
                    "source": "charter-runner",
                    "recorded_by": "developer",
                    "recorded_by_role": "developer",
                },
            )
        )


def satisfy_evidence(charter, ref: str, *, fairness_ok: bool = True, skip=()) -> None:
    add_evidence(
        charter,
        ref,
        "classification",
        [{"bound": "roc_auc >= 0.75", "metric": "roc_auc", "status": "pass", "value": 0.8}],
    )
    add_evidence(
        charter,
        ref,
        "fairness",
        [
            {
                "bound": "demographic_parity_ratio[sex] >= 0.8",
                "metric": "demographic_parity_ratio",
                "status": "pass" if fairness_ok else "fail",
                "value": 0.9 if fairness_ok else 0.6,
            }
        ],
    )
    for suite in (
        "robustness",
        "data-quality",
        "explainability",
        "fallback-drill",
        *HIGH_RISK_RECORDS,
    ):
        if suite not in skip:
            add_evidence(charter, ref, suite)
    if "reference" not in skip:
        set_reference(charter, ref)
    if "risks" not in skip:
        satisfy_risks(charter, ref)


def as_user(charter, name: str):
    """A write context acting as the existing user ``name`` (no token needed)."""
    from contextlib import contextmanager

    from charter.domain.roles import Role
    from charter.services.context import Actor, Context
    from charter.store.models import User

    @contextmanager
    def opened():
        with charter.db.transaction(write=True) as session:
            user = session.scalar(select(User).where(User.name == name))
            actor = Actor(user.id, user.name, Role(user.role))
            yield Context(session=session, actor=actor, clock=charter.clock)

    return opened()


def satisfy_risks(charter, ref: str) -> None:
    """A managed risk in the system's register (owned, mitigated, watched, reviewed), as the
    default high tier's ``risk-register`` control asks; once per system."""
    from charter.domain.risks import RiskChange
    from charter.services import risks

    system = ref.split("@")[0]
    with as_user(charter, "developer") as ctx:
        if risks.list_risks(ctx, system):
            return
        risk = risks.add_risk(
            ctx,
            system,
            RiskChange(
                title="Approval rate falls below the approved bound",
                category="performance",
                likelihood=3,
                impact=4,
                residual_likelihood=2,
                residual_impact=3,
                owner="risk-engineer",
                controls=["eval-performance"],
                signals=["performance"],
            ),
        )
    with as_user(charter, "risk-engineer") as ctx:
        risks.review_risk(ctx, system, risk.id, note="bounds and monitors checked")


def approve_twice(act, ref: str, **overrides) -> None:
    body = {
        "verdict": "approve",
        "use_case": "limit increases",
        "population": "UK retail",
        "environments": ["prod"],
        "expires": "90d",
        "fallback": "static:manual-review",
        **overrides,
    }
    for who in ("approver", "approver2"):
        with act(who) as ctx:
            decision_service.decide(ctx, ref, DecisionRequest(**body))


def gate(act, ref, env="prod", role="developer"):
    with act(role) as ctx:
        return gates.run_gate(ctx, ref, env).report


def failing(report) -> set[str]:
    return {r["control_id"] for r in report["results"] if r["status"] == "fail"}


def make_llm_release(act, seed: str = "llm", guardrails=()) -> str:
    """A credit-limit release with a prompt, a vendor model and retrieval (an LLM release)."""
    body = release_body(seed, guardrails=list(guardrails)).model_dump(mode="json")
    body["components"] += [
        {"kind": "prompt", "name": "answer", "text": "Answer from {context}: {question}"},
        {"kind": "vendor_model", "name": "llm", "provider": "acme", "model": "chat-1"},
        {"kind": "retrieval", "name": "kb", "index": "policies"},
    ]
    with act("developer") as ctx:
        release, _ = releases.create_release(
            ctx, "credit-limit", ReleaseManifest.model_validate(body), base_dir=None
        )
        return f"credit-limit@{release.digest}"


def record_result(act, ref: str, result: dict) -> int:
    """Store a real suite result as evidence through the evidence service."""
    from charter.services import evidence

    with act("developer") as ctx:
        item, _ = evidence.record_evidence(ctx, ref, result)
        return item.id

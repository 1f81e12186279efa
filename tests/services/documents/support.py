"""A realistic history built through the service layer, for cards, packs, KPIs and reports.

credit-limit (high tier): release v1 evaluated (classification with intervals, cohorts and
calibration; fairness; robustness; data quality; a fallback drill), reference set, gated,
approved twice, an exception approved, deployed to prod, three days of inferences judged
by the worker; release v2 evaluated but never approved. help-desk (minimal tier): a
registered system with nothing else, so documents must say what is missing.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from tests.helpers import actor_of
from tests.services.support import CREDIT, SHA, release_body, satisfy_risks

from charter.domain.decisions import DecisionRequest
from charter.domain.systems import IntakeFile
from charter.monitoring import build_reference
from charter.services import (
    decisions,
    deployments,
    drills,
    evidence,
    exceptions,
    gates,
    ingest,
    policies,
    references,
    releases,
    systems,
    worker,
)

DATA_SHA = "d" * 64


def entry(value: float, half: float = 0.02) -> dict[str, Any]:
    """A metric entry with a 95% interval."""
    return {"value": value, "ci_lower": value - half, "ci_upper": value + half, "reason": None}


def suite_result(
    suite: str,
    metrics: dict[str, Any],
    cohorts: list[Any] | None = None,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A suite result in the stored format, shaped as Charter's runner writes it (the
    suite's current version, the data's digest, spec, options and environment), so the
    gate counts it as produced, not posted."""
    from charter.services.evidence import runner_suites

    return {
        "schema": "charter.evaluation.result/1",
        "suite": {"name": suite, "version": runner_suites().get(suite, "record/1")},
        "spec": {},
        "options": {},
        "environment": {},
        "dataset": {"sha256": DATA_SHA, "rows": 1000},
        "metrics": {"overall": metrics, "cohorts": cohorts or []},
        "details": details or {},
        "provenance": {"runner": "charter", "data_sha256": DATA_SHA, "code": "suite@1"},
    }


CLASSIFICATION = suite_result(
    "classification",
    {"roc_auc": entry(0.81), "accuracy": entry(0.77)},
    [
        {
            "name": "sex",
            "columns": ["sex"],
            "metrics": {},
            "groups": [
                {
                    "key": "sex=f",
                    "values": {"sex": "f"},
                    "n": 480,
                    "scored": True,
                    "reason": None,
                    "metrics": {"roc_auc": entry(0.80, 0.03)},
                },
                {
                    "key": "sex=m",
                    "values": {"sex": "m"},
                    "n": 520,
                    "scored": True,
                    "reason": None,
                    "metrics": {"roc_auc": entry(0.82, 0.03)},
                },
            ],
        }
    ],
    {
        "calibration": {
            "kind": "positive-class",
            "strategy": "uniform",
            "bins": [
                {
                    "lower": 0.0,
                    "upper": 0.5,
                    "count": 500,
                    "mean_predicted": 0.3,
                    "observed_rate": 0.28,
                },
                {
                    "lower": 0.5,
                    "upper": 1.0,
                    "count": 500,
                    "mean_predicted": 0.7,
                    "observed_rate": 0.72,
                },
            ],
        }
    },
)
FAIRNESS = suite_result(
    "fairness",
    {},
    [
        {
            "name": "sex",
            "columns": ["sex"],
            "metrics": {"demographic_parity_ratio": entry(0.9)},
            "groups": [],
        }
    ],
)


def frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    score = rng.random(n)
    return pd.DataFrame(
        {
            "x": rng.normal(0, 1, n),
            "colour": rng.choice(["red", "green", "blue"], n),
            "score": score,
            "pred": (score > 0.5).astype(int),
            "label": (rng.random(n) < score).astype(int),
        }
    )


def records(data: pd.DataFrame, prefix: str) -> list[dict[str, Any]]:
    return [
        {
            "inference_id": f"{prefix}-{i}",
            "features": {"x": float(row.x), "colour": row.colour},
            "prediction": int(row.pred),
            "score": float(row.score),
            "latency_ms": 5.0 + i % 7,
        }
        for i, row in enumerate(data.itertuples(index=False))
    ]


LIVE = {
    "window": "1d",
    "min_sample": 100,
    "monitors": ["performance", "drift", "fairness", "latency", "guardrails"],
    "accuracy": ">= 0.5",
}


def build_history(
    charter: Any, act: Any, clock: Any, tokens: dict[str, str], days: int = 3
) -> dict[str, str]:
    """Build the history; returns the refs of the two credit-limit releases."""
    with act("admin") as ctx:
        policies.apply_policy(ctx, policies.default_pack(), "default.yaml")
    with act("developer") as ctx:
        systems.register_system(
            ctx,
            "credit-limit",
            owner="Retail Credit Risk",
            purpose="limit increases",
            population="UK retail",
            surfaces=["web"],
            intake=IntakeFile(answers=CREDIT),
        )
        systems.register_system(
            ctx,
            "help-desk",
            owner="Support",
            purpose="answer questions",
            intake=IntakeFile(answers={"domain": "other"}),
        )
        v1, _ = releases.create_release(ctx, "credit-limit", release_body("1", LIVE), base_dir=None)
    ref = f"credit-limit@{v1.digest}"
    clock.advance(hours=1)
    with act("developer") as ctx:
        evidence.record_evidence(ctx, ref, CLASSIFICATION)
        evidence.record_evidence(ctx, ref, FAIRNESS)
        for suite in (
            "robustness",
            "data-quality",
            "explainability",
            "security",
            "fria",
            "conformity-assessment",
        ):
            evidence.record_evidence(ctx, ref, suite_result(suite, {}))
        profile = build_reference(
            frame(2000, 7),
            features=["x", "colour"],
            prediction="pred",
            score="score",
            label="label",
        )
        references.set_reference(ctx, ref, profile.to_dict(), dataset_sha256=DATA_SHA)
        gates.run_gate(ctx, ref, "prod")  # fails: not approved yet
    clock.advance(hours=1)
    body = {
        "verdict": "approve",
        "use_case": "limit increases",
        "population": "UK retail",
        "environments": ["prod"],
        "expires": "90d",
        "fallback": "static:manual-review",
    }
    for who in ("approver", "approver2"):
        with act(who) as ctx:
            decisions.decide(ctx, ref, DecisionRequest(**body))
    with act("developer") as ctx:
        waiver = exceptions.request_exception(
            ctx,
            ref,
            control_id="monitor-fairness",
            justification="cohort labels arrive late",
            compensating="weekly manual fairness review",
            expires="14d",
        )
    with act("approver") as ctx:
        exceptions.decide_exception(ctx, waiver.id, "approve", note="ok for two weeks")
    clock.advance(hours=1)
    with act("developer") as ctx:
        # The fallback is tested by a drill that ran, not by posted evidence.
        drills.run_drill(ctx, ref, "drift")
    satisfy_risks(charter, ref)  # the high tier's risk-register control
    with act("developer") as ctx:
        deployments.deploy(ctx, ref, "prod", reason="launch")
    service = actor_of(charter, tokens["service"])
    for day in range(days):
        with act("service") as ctx:
            ingest.ingest_records(
                ctx,
                "credit-limit",
                "prod",
                f"day-{day}",
                records(frame(300, 100 + day), f"d{day}"),
                release=v1.digest,
            )
        clock.advance(days=1)
        worker.run_once(charter, service, deliver=False)
    with act("developer") as ctx:
        v2, _ = releases.create_release(ctx, "credit-limit", release_body("2", LIVE), base_dir=None)
        evidence.record_evidence(ctx, f"credit-limit@{v2.digest}", CLASSIFICATION)
    return {"v1": ref, "v2": f"credit-limit@{v2.digest}", "sha": SHA}

"""The demo's car-loan model: its production stream replayed, drift and an accuracy drop.

The synthetic car-loan data (NannyML) holds a reference period and a production period in
which the mean car value rises half-way and realised accuracy falls. The demo evaluates
the model on its reference period, sets that period as the monitoring reference, deploys
it, then replays production one window a day (inferences, then their late labels, then a
worker pass), so the worker flags the drift and the accuracy drop in the second half and
opens alerts with hysteresis, as it would have live.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from charter.demo.controls import high_risk_docs, record_documents, waive_the_rest
from charter.demo.credit import sha256_of
from charter.demo.session import DemoSession

SYSTEM = "car-loan-approval"
DATA = Path(__file__).with_name("data")
FEATURES = [
    "car_value",
    "salary_range",
    "debt_to_income_ratio",
    "loan_length",
    "repaid_loan_on_prev_car",
    "size_of_downpayment",
    "driver_tenure",
]
#: Rows per replayed window (the production period is 50,000 rows: ten windows).
WINDOW_ROWS = 5_000
LIVE = {
    "window": "1d",
    "min_sample": 500,
    "open_after": 2,
    "close_after": 2,
    "monitors": ["performance", "drift", "fairness", "latency"],
    "accuracy": ">= 0.93",
}


def load() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The reference period and the production period (time order, labels joined)."""
    reference = pd.read_csv(DATA / "car_loan_reference.csv.gz")
    analysis = pd.read_csv(DATA / "car_loan_analysis.csv.gz").sort_values("timestamp")
    return reference, analysis.reset_index(drop=True)


def release_manifest(reference_file: Path) -> dict[str, Any]:
    """A vendor-trained scorer, its reference data, and the contract it is watched under."""
    return {
        "label": "2026.10-gbm-v7",
        "description": "Gradient-boosted default model for car-loan applications.",
        "components": [
            {
                "kind": "model",
                "name": "default-scorer",
                "uri": "s3://models/car-loan/gbm-v7.bin",
                "sha256": "7d" * 32,
                "framework": "lightgbm",
            },
            {
                "kind": "dataset",
                "name": "reference-period",
                "role": "evaluation",
                "uri": f"file://{reference_file.name}",
                "sha256": sha256_of(reference_file),
            },
        ],
        "config": {"decision_threshold": 0.5, "docs": high_risk_docs(SYSTEM)},
        "contract": {
            "offline": {"roc_auc": ">= 0.85"},
            "live": LIVE,
        },
    }


def build(demo: DemoSession, intake: dict[str, Any]) -> dict[str, Any]:
    """Release, evaluate, approve, deploy, then replay production; returns replay counts."""
    from charter.domain.decisions import DecisionRequest
    from charter.domain.releases import ReleaseManifest
    from charter.domain.systems import IntakeFile
    from charter.evaluation import InputSpec, RunOptions, evaluate_file
    from charter.monitoring import build_reference

    reference, analysis = load()
    with demo.progress.step("car-loan-approval: evaluation on the reference period, approvals"):
        demo.call(
            "devi",
            "system.register",
            name=SYSTEM,
            owner=intake["owner"],
            purpose=intake["purpose"],
            population=intake["population"],
            surfaces=intake.get("surfaces", ["web"]),
            intake=IntakeFile(answers=intake["answers"]),
        )
        folder = demo.work / SYSTEM
        folder.mkdir(parents=True, exist_ok=True)
        reference_file = folder / "reference.csv"
        reference.to_csv(reference_file, index=False)
        release = demo.call(
            "devi",
            "release.create",
            system=SYSTEM,
            manifest=ReleaseManifest.model_validate(release_manifest(reference_file)),
        )
        ref = f"{SYSTEM}@{release['digest']}"
        options = RunOptions(n_bootstrap=100, seed=3, min_group_size=50)
        for suite, spec in (
            (
                "classification",
                InputSpec(target="repaid", score="y_pred_proba", prediction="y_pred"),
            ),
            (
                "fairness",
                InputSpec(target="repaid", prediction="y_pred", cohorts=("salary_range",)),
            ),
            ("data-quality", InputSpec(target="repaid")),
        ):
            result = evaluate_file(reference_file, suite, spec, options)
            demo.call("devi", "evidence.record", ref=ref, result=result)
        record_documents(demo, "devi", ref)
        profile = build_reference(
            reference,
            features=FEATURES,
            prediction="y_pred",
            score="y_pred_proba",
            label="repaid",
            cohort="salary_range",
        )
        demo.call(
            "devi",
            "reference.set",
            ref=ref,
            profile=profile.to_dict(),
            pii=["salary_range"],
            dataset_sha256=sha256_of(reference_file),
        )
        # Two approvers and, the model being material, the independent validator.
        for approver in ("blake", "casey", "rita"):
            demo.call(
                approver,
                "decision.create",
                ref=ref,
                request=DecisionRequest(
                    verdict="approve",
                    use_case="automated approval of car-loan applications up to EUR 60k",
                    population="EU retail car-loan applicants",
                    environments=["prod"],
                    expires="180d",
                    fallback="static:refer-to-underwriter",
                    note="Validated on the reference period; drift monitoring required.",
                ),
            )
        waive_the_rest(demo, "devi", ref, "prod", expires="25d")
        demo.call("devi", "deployment.deploy", ref=ref, environment="prod", reason="go-live")
    with demo.progress.step("car-loan-approval: ten days of production replayed, worker per day"):
        return replay(demo, release["digest"], analysis)


def replay(demo: DemoSession, digest: str, analysis: pd.DataFrame) -> dict[str, Any]:
    """Log each window's inferences and late labels, then run the worker, a day apart."""
    from charter.services.worker import run_once

    rng = np.random.default_rng(1)
    totals = {"windows": 0, "opened": 0}
    for k, start in enumerate(range(0, len(analysis), WINDOW_ROWS)):
        chunk = analysis.iloc[start : start + WINDOW_ROWS]
        records = chunk.drop(columns=["repaid", "timestamp"]).rename(columns={"id": "inference_id"})
        records["inference_id"] = records["inference_id"].astype(str)
        records["latency_ms"] = rng.lognormal(3.0, 0.4, len(records)).round(2)
        records["fallback_used"] = False
        for i in range(0, len(records), 1_000):
            demo.call(
                "serving",
                "observations.log",
                system=SYSTEM,
                environment="prod",
                batch_id=f"car-loan-{k}-{i}",
                records=records.iloc[i : i + 1_000].to_dict(orient="records"),
                release=digest,
            )
        labels = [
            {"inference_id": str(i), "label": float(y)}
            for i, y in zip(chunk["id"], chunk["repaid"], strict=True)
        ]
        demo.call(
            "serving",
            "labels.log",
            system=SYSTEM,
            environment="prod",
            batch_id=f"car-loan-labels-{k}",
            labels=labels,
        )
        demo.clock.advance(days=1)
        run = run_once(demo.charter, demo.actors["serving"], deliver=False, backoff=0.01)
        totals["windows"] += int(run.get("windows_closed", 0))
        totals["opened"] += int(run.get("alerts_opened", 0))
    return totals

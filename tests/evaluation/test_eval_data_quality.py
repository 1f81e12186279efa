"""The data-quality suite: schema, missing shares, ranges, duplicates and leakage."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from tests.evaluation.support import GERMAN_CSV, close

from charter.domain.canonical import content_digest
from charter.evaluation import InputSpec, RunOptions
from charter.evaluation.data_quality import DataQualitySuite


def test_profiles_the_german_data() -> None:
    frame = pd.read_csv(GERMAN_CSV)
    result = DataQualitySuite().run(frame, InputSpec(target="risk"), RunOptions())
    columns = {c["name"]: c for c in result["details"]["columns"]}
    assert columns["age"]["kind"] == "numeric"
    assert (
        columns["age"]["min"] == frame["age"].min() and columns["age"]["max"] == frame["age"].max()
    )
    assert columns["sex"]["kind"] == "categorical"
    assert result["metrics"]["overall"]["duplicate_row_share"]["value"] == frame.duplicated().mean()
    assert result["metrics"]["overall"]["leakage_feature_count"]["value"] == 0
    leakage = {row["feature"]: row for row in result["details"]["leakage"]}
    auc = roc_auc_score(frame["risk"], frame["duration"])
    assert close(leakage["duration"]["score"], max(auc, 1 - auc))
    content_digest(result)


def test_flags_a_leaking_feature_and_reports_missing_values() -> None:
    rng = np.random.default_rng(0)
    n = 400
    target = rng.integers(0, 2, n)
    frame = pd.DataFrame(
        {
            "target": target,
            "noise": rng.normal(size=n),
            "leak": target * 10 + rng.normal(scale=0.1, size=n),  # near-perfect alone
            "status": np.where(target == 1, "approved", "declined"),  # categorical leak
            "id": [f"row-{i}" for i in range(n)],  # identifier-like: not scored
            "sparse": np.where(rng.random(n) < 0.25, np.nan, 1.0),
        }
    )
    frame = pd.concat([frame, frame.iloc[:10]], ignore_index=True)
    result = DataQualitySuite().run(frame, InputSpec(target="target"), RunOptions())
    leakage = {row["feature"]: row for row in result["details"]["leakage"]}
    assert leakage["leak"]["flagged"] and leakage["status"]["flagged"]
    assert not leakage["noise"]["flagged"]
    assert leakage["id"]["score"] is None and "identifier" in leakage["id"]["reason"]
    assert result["metrics"]["overall"]["leakage_feature_count"]["value"] == 2
    assert close(result["metrics"]["overall"]["duplicate_row_share"]["value"], 10 / 410)
    missing = {c["name"]: c["missing_share"] for c in result["details"]["columns"]}
    assert close(result["metrics"]["overall"]["max_missing_share"]["value"], missing["sparse"])
    assert "leak" in result["warnings"][0]


def test_multiclass_leakage_and_no_target() -> None:
    frame = pd.DataFrame({"y": list("abc") * 50, "copy": list("xyz") * 50, "n": range(150)})
    result = DataQualitySuite().run(frame, InputSpec(target="y"), RunOptions())
    leakage = {row["feature"]: row for row in result["details"]["leakage"]}
    assert (
        leakage["copy"]["score"] == 1.0 and leakage["copy"]["method"] == "single_feature_accuracy"
    )
    no_target = DataQualitySuite().run(frame, InputSpec(), RunOptions())
    assert no_target["metrics"]["overall"]["leakage_feature_count"]["value"] is None

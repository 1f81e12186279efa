"""Helpers shared by the evaluation tests (imported as ``tests.evaluation.support``)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    demographic_parity_ratio,
    equalized_odds_difference,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from sklearn.metrics import precision_score

REPO = Path(__file__).resolve().parents[2]
GERMAN_CSV = REPO / "tests" / "data" / "german_credit.csv"
SHARED_DATASETS = REPO / ".." / "shared" / "datasets"
ADULT_COLUMNS = [
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education_num",
    "marital_status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital_gain",
    "capital_loss",
    "hours_per_week",
    "native_country",
    "income",
]
GERMAN_FEATURES = ["credit_amount", "duration", "age", "job"]


def close(actual: Any, expected: Any, tol: float = 1e-9) -> bool:
    """Equal to ``tol``, with None (ours) matching NaN (theirs)."""
    if actual is None or expected is None:
        return actual is None and (expected is None or math.isnan(expected))
    if isinstance(expected, float) and math.isnan(expected):
        return False
    return abs(float(actual) - float(expected)) <= tol


def _precision(y_true: pd.Series, y_pred: pd.Series) -> float:
    return float(precision_score(y_true, y_pred, zero_division=float("nan")))


def check_against_fairlearn(
    result: dict, frame: pd.DataFrame, target: str, decision: str, positive: object
) -> None:
    y = (frame[target] == positive).astype(int)
    p = (frame[decision] == positive).astype(int)
    for cohort in result["metrics"]["cohorts"]:
        columns = cohort["columns"]
        sensitive = frame[columns[0]] if len(columns) == 1 else frame[columns]
        mf = MetricFrame(
            metrics={
                "selection_rate": selection_rate,
                "tpr": true_positive_rate,
                "fpr": false_positive_rate,
                "precision": _precision,
            },
            y_true=y,
            y_pred=p,
            sensitive_features=sensitive,
        )
        for group in cohort["groups"]:
            key = tuple(group["values"].values())
            row = mf.by_group.loc[key if len(key) > 1 else key[0]]
            for name in ("selection_rate", "tpr", "fpr", "precision"):
                assert close(group["metrics"][name]["value"], row[name]), (key, name)
            mask = pd.Series(True, index=frame.index)
            for column, value in group["values"].items():
                mask &= frame[column].astype(str) == value
            assert group["n"] == int(mask.sum())
        gaps = cohort["metrics"]
        assert close(
            gaps["demographic_parity_difference"]["value"],
            demographic_parity_difference(y, p, sensitive_features=sensitive),
        )
        assert close(
            gaps["demographic_parity_ratio"]["value"],
            demographic_parity_ratio(y, p, sensitive_features=sensitive),
        )
        assert close(
            gaps["equalized_odds_difference"]["value"],
            equalized_odds_difference(y, p, sensitive_features=sensitive),
        )
        assert close(gaps["equal_opportunity_difference"]["value"], mf.difference()["tpr"])

"""Helpers shared by the evaluation tests (imported as ``tests.evaluation.support``)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

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

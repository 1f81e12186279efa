"""End to end on the synthetic car-loan data: reference, then the analysis period replayed
in time order in chunks of 5,000 rows with labels joined on ``id``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from charter.monitoring import (
    build_reference,
    check_quality,
    detect_drift,
    estimate_performance,
    merge_windows,
    profile_window,
    realised_performance,
)
from tests.helpers import CAR_LOAN_FEATURES as FEATURES

from .conftest import CAR_LOAN, CAR_LOAN_TESTS

pytestmark = CAR_LOAN_TESTS
CHUNK = 5_000


def _replay() -> list[dict[str, object]]:
    reference_data = pd.read_csv(CAR_LOAN / "synthetic_car_loan_reference.csv")
    analysis = pd.read_csv(CAR_LOAN / "synthetic_car_loan_analysis.csv")
    targets = pd.read_csv(CAR_LOAN / "synthetic_car_loan_analysis_target.csv")
    analysis = analysis.merge(targets, on="id", how="left").sort_values("timestamp")
    reference = build_reference(
        reference_data,
        features=FEATURES,
        prediction="y_pred",
        score="y_pred_proba",
        label="repaid",
        cohort="salary_range",
    )
    rows = []
    for start in range(0, len(analysis), CHUNK):
        chunk = analysis.iloc[start : start + CHUNK]
        # Production rows arrive in batches; the window is the merge of their profiles.
        window = merge_windows(
            *(profile_window(reference, chunk.iloc[i : i + 1_000]) for i in range(0, CHUNK, 1_000))
        )
        assert window == profile_window(reference, chunk)
        rows.append(
            {
                "drift": detect_drift(reference, window),
                "quality": check_quality(reference, window),
                "realised": realised_performance(reference, window).metrics["accuracy"],
                "estimate": estimate_performance(reference, window).overall,
            }
        )
    return rows


@pytest.fixture(scope="module")
def replay() -> list[dict[str, object]]:
    return _replay()


def test_car_value_drift_is_flagged_in_the_second_half_only(
    replay: list[dict[str, object]],
) -> None:
    half = len(replay) // 2
    flagged = ["car_value" in row["drift"].drifted for row in replay]  # type: ignore[attr-defined]
    assert flagged == [False] * half + [True] * (len(replay) - half)
    # Nothing at all is flagged while nothing changed.
    assert all(not row["drift"].drifted for row in replay[:half])  # type: ignore[attr-defined]
    assert all(not row["quality"].issues for row in replay)  # type: ignore[attr-defined]


def test_realised_and_estimated_accuracy_both_drop(replay: list[dict[str, object]]) -> None:
    half = len(replay) // 2
    realised = np.array([row["realised"] for row in replay], dtype=float)
    estimated = np.array([row["estimate"].accuracy for row in replay], dtype=float)  # type: ignore[attr-defined]
    assert realised[half:].mean() < realised[:half].mean() - 0.01
    assert estimated[half:].mean() < estimated[:half].mean() - 0.01
    mae = np.abs(estimated - realised)
    print("car-loan label-free vs realised accuracy, per chunk:")
    for i, (e, r) in enumerate(zip(estimated, realised, strict=True)):
        print(f"  chunk {i}: estimated {e:.4f} realised {r:.4f} |error| {abs(e - r):.4f}")
    print(f"  MAE {mae.mean():.4f}")
    assert mae.mean() < 0.01

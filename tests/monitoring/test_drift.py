"""Drift verdicts: false alarms at or below the nominal level, power on small shifts.

The simulations run the real code path (build a fresh reference, profile a window, test)
on independent columns, so each replicate gives several independent per-column trials.
A fresh reference per replicate matters: a two-sample test holds its level over both
samples, not for one fixed reference.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from charter.domain.errors import BadInput
from charter.monitoring import DriftConfig, build_reference, detect_drift, profile_window

ALPHA = 0.05
COLUMNS = 6
REFERENCE_ROWS = 20_000
CATEGORY_P = np.array([0.4, 0.25, 0.15, 0.1, 0.05, 0.03, 0.015, 0.005])
CATEGORY_CDF = np.cumsum(CATEGORY_P)


def _frame(rng: np.random.Generator, n: int, shift: float = 0.0) -> pd.DataFrame:
    numeric = rng.standard_normal((n, COLUMNS)) + shift
    codes = np.searchsorted(CATEGORY_CDF, rng.random((n, COLUMNS)) * CATEGORY_CDF[-1])
    columns = {f"x{j}": numeric[:, j] for j in range(COLUMNS)}
    columns.update({f"c{j}": codes[:, j] for j in range(COLUMNS)})
    return pd.DataFrame(columns)


CATEGORICAL = [f"c{j}" for j in range(COLUMNS)]


def _simulate(window: int, replicates: int, seed: int, shift: float = 0.0) -> dict[str, float]:
    """Rates per column kind of raw rejections (uncorrected p <= alpha) and of verdicts."""
    rng = np.random.default_rng(seed)
    hits = {"numeric_test": 0, "categorical_test": 0, "numeric_drift": 0, "categorical_drift": 0}
    for _ in range(replicates):
        reference = build_reference(_frame(rng, REFERENCE_ROWS), categorical=CATEGORICAL)
        report = detect_drift(reference, profile_window(reference, _frame(rng, window, shift)))
        for verdict in report.columns:
            assert verdict.p_value is not None
            hits[f"{verdict.kind}_test"] += verdict.p_value <= ALPHA
            hits[f"{verdict.kind}_drift"] += verdict.status == "drift"
    return {key: value / (replicates * COLUMNS) for key, value in hits.items()}


def _upper_bound(trials: int) -> float:
    """The largest rate a test at exactly the nominal level shows with probability 99.9%."""
    return float(stats.binom.ppf(0.999, trials, ALPHA)) / trials


@pytest.mark.slow
@pytest.mark.parametrize(
    ("window", "replicates"), [(100, 250), (1_000, 250), (10_000, 120), (100_000, 30)]
)
def test_no_drift_false_alarms_stay_at_or_below_nominal(window: int, replicates: int) -> None:
    rates = _simulate(window, replicates, seed=window)
    bound = _upper_bound(replicates * COLUMNS)
    # The tests themselves hold their level (the binned KS is conservative)...
    assert rates["numeric_test"] <= bound, rates
    assert rates["categorical_test"] <= bound, rates
    # ...and verdicts, corrected and gated by effect size, alarm even less.
    assert rates["numeric_drift"] <= min(rates["numeric_test"], bound), rates
    assert rates["categorical_drift"] <= min(rates["categorical_test"], bound), rates


@pytest.mark.slow
def test_a_tenth_of_a_standard_deviation_is_detected_at_10000_rows() -> None:
    rates = _simulate(10_000, 40, seed=7, shift=0.1)
    assert rates["numeric_drift"] >= 0.95, rates


def test_small_windows_get_insufficient_data(rng: np.random.Generator) -> None:
    reference = build_reference(_frame(rng, 2_000), categorical=CATEGORICAL)
    report = detect_drift(reference, profile_window(reference, _frame(rng, 99, shift=3.0)))
    assert {c.status for c in report.columns} == {"insufficient_data"}
    assert all(c.p_value is None and c.p_adjusted is None for c in report.columns)
    assert report.drifted == []


def test_a_large_shift_is_flagged_with_its_evidence(rng: np.random.Generator) -> None:
    reference = build_reference(_frame(rng, 5_000), categorical=CATEGORICAL)
    shifted = _frame(rng, 2_000)
    shifted["x0"] += 0.5
    shifted["c0"] = (shifted["c0"] + 1) % len(CATEGORY_P)
    report = detect_drift(reference, profile_window(reference, shifted))
    assert set(report.drifted) == {"x0", "c0"}
    x0 = report.column("x0")
    assert x0.test == "ks" and x0.effect == "wasserstein_std"
    assert x0.effect_value is not None and 0.4 < x0.effect_value < 0.6
    assert x0.p_adjusted is not None and x0.p_adjusted <= ALPHA
    assert set(x0.effects) == {"wasserstein_std", "psi", "jensen_shannon"}
    json.dumps(report.to_dict(), allow_nan=False)


def test_effect_size_gate_holds_back_tiny_but_significant_shifts(
    rng: np.random.Generator,
) -> None:
    reference = build_reference(pd.DataFrame({"x": rng.normal(0, 1, 200_000)}))
    window = profile_window(reference, pd.DataFrame({"x": rng.normal(0.03, 1, 200_000)}))
    verdict = detect_drift(reference, window).column("x")
    assert verdict.p_adjusted is not None and verdict.p_adjusted < 1e-6
    assert verdict.status == "no_drift"
    strict = detect_drift(reference, window, DriftConfig(wasserstein_std_threshold=0.01))
    assert strict.column("x").status == "drift"
    psi_based = detect_drift(reference, window, DriftConfig(numeric_effect="psi"))
    assert psi_based.column("x").effect == "psi"


def test_prediction_and_score_are_tested_too(rng: np.random.Generator) -> None:
    data = _frame(rng, 3_000)
    data["score"] = rng.random(3_000)
    data["pred"] = (data["score"] > 0.5).astype(int)
    reference = build_reference(data, features=["x0"], prediction="pred", score="score")
    window = _frame(rng, 1_000)
    window["score"] = rng.random(1_000) ** 0.5
    window["pred"] = (window["score"] > 0.5).astype(int)
    report = detect_drift(reference, profile_window(reference, window))
    roles = {c.column: c.role for c in report.columns}
    assert roles == {"x0": "feature", "pred": "prediction", "score": "score"}
    assert {"pred", "score"} <= set(report.drifted)


def test_bad_config_is_refused() -> None:
    with pytest.raises(BadInput):
        DriftConfig(alpha=1.5)
    with pytest.raises(BadInput):
        DriftConfig(min_window=0)

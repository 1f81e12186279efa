"""Realised metrics agree with scikit-learn; the label-free estimate tracks realised
accuracy under covariate shift and says what it assumes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import (
    accuracy_score,
    brier_score_loss,
    f1_score,
    precision_score,
    recall_score,
)

from charter.domain.errors import BadInput
from charter.monitoring import (
    ASSUMPTIONS,
    build_reference,
    estimate_performance,
    merge_windows,
    profile_window,
    realised_performance,
)
from charter.monitoring.performance import Calibration, metrics_from_confusion


def _scored(rng: np.random.Generator, n: int, shift: float = 0.0) -> pd.DataFrame:
    """A model whose raw score is miscalibrated (too confident) but monotone in the truth."""
    x = rng.normal(shift, 1.0, n)
    truth_p = 1 / (1 + np.exp(-2 * x))
    score = 1 / (1 + np.exp(-4 * x))
    return pd.DataFrame(
        {
            "x": x,
            "group": np.where(rng.random(n) < 0.3, "a", "b"),
            "score": score,
            "pred": (score > 0.5).astype(int),
            "label": (rng.random(n) < truth_p).astype(int),
        }
    )


def _reference(rng: np.random.Generator):  # type: ignore[no-untyped-def]
    return build_reference(
        _scored(rng, 20_000),
        features=["x", "group"],
        prediction="pred",
        score="score",
        label="label",
        cohort="group",
    )


def test_realised_metrics_agree_with_scikit_learn(rng: np.random.Generator) -> None:
    reference = _reference(rng)
    data = _scored(rng, 3_000, shift=0.4)
    data.loc[::10, "label"] = np.nan  # unlabelled rows are skipped
    windows = [profile_window(reference, data.iloc[i : i + 1_000]) for i in (0, 1_000, 2_000)]
    realised = realised_performance(reference, merge_windows(*windows))
    labelled = data.dropna(subset=["label"])
    y, p = labelled["label"].astype(int), labelled["pred"]
    assert realised.n == len(labelled)
    assert realised.metrics["accuracy"] == pytest.approx(accuracy_score(y, p), abs=1e-12)
    assert realised.metrics["precision"] == pytest.approx(precision_score(y, p), abs=1e-12)
    assert realised.metrics["recall"] == pytest.approx(recall_score(y, p), abs=1e-12)
    assert realised.metrics["f1"] == pytest.approx(f1_score(y, p), abs=1e-12)
    assert realised.brier == pytest.approx(brier_score_loss(y, labelled["score"]), abs=1e-12)
    group_a = labelled[labelled["group"] == "a"]
    assert realised.cohorts["a"].metrics["accuracy"] == pytest.approx(
        accuracy_score(group_a["label"].astype(int), group_a["pred"]), abs=1e-12
    )
    baseline = realised_performance(reference)
    assert baseline.n == 20_000 and set(baseline.cohorts) == {"a", "b"}


def test_multiclass_accuracy_agrees_with_scikit_learn(rng: np.random.Generator) -> None:
    truth = rng.integers(0, 4, 500)
    pred = np.where(rng.random(500) < 0.7, truth, rng.integers(0, 4, 500))
    matrix = np.zeros((4, 4), dtype=np.int64)
    np.add.at(matrix, (truth, pred), 1)
    assert metrics_from_confusion(matrix)["accuracy"] == pytest.approx(
        accuracy_score(truth, pred), abs=1e-12
    )


def test_calibration_reproduces_isotonic_regression(rng: np.random.Generator) -> None:
    scores = rng.random(2_000)
    outcomes = (rng.random(2_000) < scores**2).astype(float)
    calibration = Calibration.fit(scores, outcomes)
    model = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(scores, outcomes)
    probe = np.concatenate([rng.random(500), [-1.0, 2.0]])
    np.testing.assert_allclose(calibration.apply(probe), model.predict(probe), atol=1e-12)


def test_label_free_estimate_tracks_realised_accuracy(rng: np.random.Generator) -> None:
    reference = _reference(rng)
    errors, covered = [], 0
    shifts = [-0.6, -0.3, 0.0, 0.3, 0.6, 0.9, 1.2, 1.5]
    for shift in shifts:
        window = profile_window(reference, _scored(rng, 5_000, shift))
        estimate = estimate_performance(reference, window).overall
        realised = realised_performance(reference, window).metrics["accuracy"]
        assert estimate.accuracy is not None and realised is not None
        assert estimate.lower is not None and estimate.upper is not None
        errors.append(abs(estimate.accuracy - realised))
        covered += estimate.lower <= realised <= estimate.upper
        assert estimate.assumptions == ASSUMPTIONS
    # Covariate shift moves accuracy a lot here; the estimate follows it closely.
    assert max(errors) < 0.02, errors
    assert covered >= len(shifts) - 1


def test_label_free_estimate_misses_concept_drift_as_documented(
    rng: np.random.Generator,
) -> None:
    reference = _reference(rng)
    flipped = _scored(rng, 5_000)
    flipped["label"] = 1 - flipped["label"]  # P(label | score) changed: an assumption broken
    window = profile_window(reference, flipped)
    estimate = estimate_performance(reference, window).overall
    realised = realised_performance(reference, window).metrics["accuracy"]
    assert estimate.accuracy is not None and realised is not None
    assert estimate.accuracy - realised > 0.3
    assert any("concept drift" in line for line in estimate.assumptions)


def test_estimation_needs_a_calibrated_binary_setup(rng: np.random.Generator) -> None:
    data = _scored(rng, 500)
    without_score = build_reference(data, features=["x"], prediction="pred", label="label")
    window = profile_window(without_score, data)
    with pytest.raises(BadInput):
        estimate_performance(without_score, window)
    unlabelled = build_reference(data, features=["x"])
    with pytest.raises(BadInput):
        realised_performance(unlabelled, profile_window(unlabelled, data))


def test_label_free_selection_rates_agree_with_fairlearn(rng: np.random.Generator) -> None:
    from fairlearn.metrics import demographic_parity_ratio

    from charter.monitoring.verdict import rate_ratio, selection_rates

    reference = _reference(rng)
    data = _scored(rng, 3_000, shift=0.4)
    data["label"] = np.nan  # no labels at all: the rates come from the decisions alone
    window = merge_windows(
        *(profile_window(reference, data.iloc[i : i + 1_000]) for i in (0, 1_000, 2_000))
    )
    rates = selection_rates(window, min_sample=1)
    expected = data.groupby("group")["pred"].agg(["size", "mean"])
    assert set(rates) == set(expected.index)
    for group, (n, rate) in rates.items():
        assert n == expected.loc[group, "size"]
        assert rate == pytest.approx(expected.loc[group, "mean"], abs=1e-9)
    assert rate_ratio(rates) == pytest.approx(
        demographic_parity_ratio(data["pred"], data["pred"], sensitive_features=data["group"]),
        abs=1e-9,
    )
    # Cohorts below the minimum sample are not compared.
    assert selection_rates(window, min_sample=10_000) == {}

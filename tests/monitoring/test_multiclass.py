"""Multiclass label-free estimation: realised metrics agree with scikit-learn, the counts
merge exactly, and by simulation the estimate lies within its band at the stated rate and
follows realised performance under covariate shift."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

from charter.domain.errors import BadInput
from charter.monitoring import (
    ReferenceProfile,
    WindowProfile,
    build_reference,
    estimate_performance,
    merge_windows,
    profile_window,
    realised_performance,
)
from charter.monitoring.multiclass import METRICS, MULTICLASS_ASSUMPTIONS
from tests.monitoring.multiclass_support import SCORES, scored


def _reference(
    rng: np.random.Generator, n: int = 20_000, cohort: str | None = "group"
) -> ReferenceProfile:
    return build_reference(
        scored(rng, n),
        features=["x1", "x2", "group"],
        prediction="pred",
        label="label",
        cohort=cohort,
        class_scores=SCORES,
    )


def test_realised_multiclass_metrics_agree_with_scikit_learn(rng: np.random.Generator) -> None:
    reference = _reference(rng, 3_000)
    data = scored(rng, 2_000, shift=0.5)
    data.loc[data.index[:400], "pred"] = "c"  # a skewed decision rule, so classes differ
    realised = realised_performance(reference, profile_window(reference, data)).metrics
    assert realised["accuracy"] == pytest.approx(accuracy_score(data.label, data.pred), abs=1e-12)
    for average in ("macro", "weighted"):
        for name, fn in (
            ("precision", precision_score),
            ("recall", recall_score),
            ("f1", f1_score),
        ):
            expected = fn(data.label, data.pred, average=average, zero_division=0)
            assert realised[f"{name}_{average}"] == pytest.approx(expected, abs=1e-12)
    # A class that never occurs and is never predicted is left out of the macro mean.
    only_ab = data[data.label.isin(["a", "b"]) & data.pred.isin(["a", "b"])]
    realised = realised_performance(reference, profile_window(reference, only_ab)).metrics
    assert realised["f1_macro"] == pytest.approx(
        f1_score(only_ab.label, only_ab.pred, average="macro", zero_division=0), abs=1e-12
    )


def test_multiclass_counts_merge_exactly_and_round_trip(rng: np.random.Generator) -> None:
    reference = _reference(rng, 3_000)
    data = scored(rng, 1_500, shift=0.3)
    whole = profile_window(reference, data)
    parts = [profile_window(reference, data.iloc[i::3]) for i in range(3)]
    assert merge_windows(parts[2], parts[0], parts[1]).to_dict() == whole.to_dict()
    assert WindowProfile.from_dict(whole.to_dict(), reference) == whole
    again = ReferenceProfile.from_dict(reference.to_dict())
    assert again.digest == reference.digest
    assert again.monitored[-3:] == ("p_a", "p_b", "p_c")
    first = estimate_performance(reference, whole).overall
    assert estimate_performance(again, whole).overall == first  # seeded: same band
    assert first.assumptions == MULTICLASS_ASSUMPTIONS
    assert set(first.bands) == set(METRICS)


def test_binary_references_keep_their_shape(rng: np.random.Generator) -> None:
    data = scored(rng, 500)
    data["label"] = (data.label == "a").astype(int)
    data["pred"] = (data.pred == "a").astype(int)
    binary = build_reference(data, features=["x1"], prediction="pred", score="p_a", label="label")
    assert set(binary.to_dict()["roles"]) == {"prediction", "score", "label", "cohort"}
    assert "expected_classes" not in profile_window(binary, data).to_dict()


def test_simulated_estimates_lie_within_their_bands(rng: np.random.Generator) -> None:
    reference = _reference(rng, cohort=None)  # cohorts would only slow this down
    windows, size = 120, 800
    means: dict[float, tuple[float, float]] = {}
    for shift in (0.0, 1.2):
        covered = dict.fromkeys(METRICS, 0)
        estimated, realised_accuracy = [], []
        for _ in range(windows):
            window = profile_window(reference, scored(rng, size, shift))
            estimate = estimate_performance(reference, window).overall
            realised = realised_performance(reference, window).metrics
            for name in METRICS:
                low, high = estimate.bands[name]
                value = realised[name]
                assert value is not None
                covered[name] += low <= value <= high
            assert estimate.accuracy is not None and realised["accuracy"] is not None
            estimated.append(estimate.accuracy)
            realised_accuracy.append(realised["accuracy"])
        rates = {name: count / windows for name, count in covered.items()}
        # A 95% band: neither too narrow nor uselessly wide (120 windows: sd ~ 2%).
        assert all(0.88 <= r <= 0.995 for r in rates.values()), (shift, rates)
        means[shift] = (float(np.mean(estimated)), float(np.mean(realised_accuracy)))
    # Covariate shift moves accuracy; the estimate follows the realised change.
    realised_change = means[1.2][1] - means[0.0][1]
    estimated_change = means[1.2][0] - means[0.0][0]
    assert abs(realised_change) > 0.02
    assert estimated_change == pytest.approx(realised_change, abs=0.01)


def test_multiclass_cohorts_are_estimated_too(rng: np.random.Generator) -> None:
    reference = _reference(rng, 5_000)
    window = profile_window(reference, scored(rng, 2_000, 0.5))
    estimate = estimate_performance(reference, window)
    realised = realised_performance(reference, window)
    assert set(estimate.cohorts) == {"g1", "g2"}
    for name, cohort in estimate.cohorts.items():
        assert cohort.accuracy is not None and cohort.lower is not None
        assert cohort.upper is not None
        assert cohort.lower <= cohort.accuracy <= cohort.upper
        assert abs(cohort.accuracy - realised.cohorts[name].metrics["accuracy"]) < 0.06


def test_class_scores_are_checked(rng: np.random.Generator) -> None:
    data = scored(rng, 500)
    roles = {"features": ["x1"], "prediction": "pred", "label": "label"}
    with pytest.raises(BadInput, match="no probability column"):
        build_reference(data, **roles, class_scores={"a": "p_a", "b": "p_b"})  # type: ignore[arg-type]
    with pytest.raises(BadInput, match="replace score"):
        build_reference(data, **roles, score="p_a", class_scores=SCORES)  # type: ignore[arg-type]
    with pytest.raises(BadInput, match="different columns"):
        build_reference(data, **roles, class_scores={"a": "p_a", "b": "p_a", "c": "p_c"})  # type: ignore[arg-type]
    two = data[data.label.isin(["a", "b"]) & data.pred.isin(["a", "b"])]
    with pytest.raises(BadInput, match="3 to"):
        build_reference(two, **roles, class_scores={"a": "p_a", "b": "p_b"})  # type: ignore[arg-type]

"""The worker's window evaluation takes a multiclass reference: the label-free estimate
with its band, realised macro/weighted metrics, no crash on cohorts' selection rates."""

from __future__ import annotations

import numpy as np
import pytest
from tests.monitoring.multiclass_support import SCORES, scored

from charter.domain.contracts.live import monitoring_plan, parse_live
from charter.monitoring import build_reference, profile_window
from charter.monitoring.signal_counts import empty_signals
from charter.monitoring.verdict import judge_window


def test_multiclass_windows_are_judged() -> None:
    rng = np.random.default_rng(3)
    reference = build_reference(
        scored(rng, 5_000),
        features=["x1", "x2", "group"],
        prediction="pred",
        label="label",
        cohort="group",
        class_scores=SCORES,
    )
    plan = monitoring_plan(parse_live({"min_sample": 100, "accuracy": ">= 0.7"}))
    data = scored(rng, 2_000, 0.5)
    window = profile_window(reference, data.drop(columns="label"))
    labels = profile_window(reference, data)
    result = judge_window(reference, plan, window, labels, empty_signals()).to_dict()
    estimated = result["estimated"]
    assert estimated["n"] == 2_000
    assert estimated["lower"] < estimated["accuracy"] < estimated["upper"]
    assert abs(estimated["accuracy"] - result["realised"]["metrics"]["accuracy"]) < 0.05
    assert set(result["realised"]["metrics"]) >= {"f1_macro", "precision_weighted"}
    (accuracy,) = [b for b in result["breaches"] if b["subject"] == "accuracy"]
    assert accuracy["breached"] is False
    assert result["selection"] is None  # no positive decision in a multiclass model


def test_multiclass_metric_bounds_in_the_live_contract() -> None:
    from sklearn.metrics import f1_score

    from charter.domain.errors import BadInput
    from charter.monitoring import estimate_performance

    rng = np.random.default_rng(4)
    reference = build_reference(
        scored(rng, 4_000),
        features=["x1", "x2", "group"],
        prediction="pred",
        label="label",
        class_scores=SCORES,
    )
    live = {"min_sample": 100, "f1_macro": ">= 0.5", "precision_weighted": ">= 0.99"}
    plan = monitoring_plan(parse_live(live))
    data = scored(rng, 1_500, 0.3)
    window = profile_window(reference, data.drop(columns="label"))
    # Without labels the bounds run on the label-free estimate.
    unlabelled = judge_window(reference, plan, window, None, empty_signals()).to_dict()
    found = {b["subject"]: b for b in unlabelled["breaches"] if b["monitor"] == "performance"}
    estimate = estimate_performance(reference, window).overall.metrics
    assert abs(found["f1_macro"]["value"] - estimate["f1_macro"]) < 1e-5
    assert found["f1_macro"]["breached"] is False
    assert found["precision_weighted"]["breached"] is True
    # With enough labels they run on the realised metrics, as scikit-learn computes them.
    labelled = judge_window(
        reference, plan, window, profile_window(reference, data), empty_signals()
    ).to_dict()
    found = {b["subject"]: b for b in labelled["breaches"] if b["monitor"] == "performance"}
    expected = f1_score(data["label"], data["pred"], average="macro", zero_division=0)
    assert abs(found["f1_macro"]["value"] - expected) < 1e-4
    # An unknown name is refused, and the message lists the metrics the contract takes.
    with pytest.raises(BadInput, match="f1_macro"):
        parse_live({"f1_micro": ">= 0.5"})

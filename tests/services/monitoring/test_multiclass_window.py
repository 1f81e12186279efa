"""The worker's window evaluation takes a multiclass reference: the label-free estimate
with its band, realised macro/weighted metrics, no crash on cohorts' selection rates."""

from __future__ import annotations

import numpy as np
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

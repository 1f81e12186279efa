"""The ``classification`` suite: binary and multiclass metrics, overall and per cohort.

Metrics (binary ones are for ``positive_label``; multiclass precision/recall/F1 are
*macro* averages over the classes present, undefined classes skipped, i.e. scikit-learn's
``average="macro", zero_division=np.nan``; multiclass ROC AUC and PR AUC are one-vs-rest
macro averages):

accuracy, balanced_accuracy, precision, recall, f1 (from the predicted labels);
roc_auc, pr_auc (average precision), log_loss, brier_score, ece (from the scores).

Each metric is computed overall and for every cohort group, with percentile bootstrap
intervals; details carry the confusion matrix, the reliability table, the ROC curve and,
for binary scores, a threshold table.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from charter.evaluation._confusion import CONFUSION_METRICS, confusion_tables, rates
from charter.evaluation._numeric import FloatArray, json_float, label_text, safe_ratio
from charter.evaluation._ranking import GroupRanking, roc_points
from charter.evaluation._results import (
    GroupMetrics,
    cohort_section,
    overall_section,
    stack,
)
from charter.evaluation.bootstrap import Bootstrap
from charter.evaluation.calibration import bin_index, ece_by_group, reliability_table
from charter.evaluation.cohorts import Dimension, build_dimensions, overall
from charter.evaluation.models import Model
from charter.evaluation.prepare import ClassificationInputs, prepare_classification
from charter.evaluation.spec import InputSpec, RunOptions
from charter.evaluation.suites import MetricInfo, Suite

SCORE_METRICS = ("roc_auc", "pr_auc", "log_loss", "brier_score", "ece")

#: Default thresholds of the binary threshold table: 0.05, 0.10, ..., 0.95.
DEFAULT_THRESHOLDS = tuple(round(0.05 * i, 2) for i in range(1, 20))

METRICS: dict[str, MetricInfo] = {
    "accuracy": MetricInfo("group", True, "share of rows whose predicted label is right"),
    "balanced_accuracy": MetricInfo("group", True, "mean recall over the classes present"),
    "precision": MetricInfo("group", True, "binary: TP/(TP+FP); multiclass: macro average"),
    "recall": MetricInfo("group", True, "binary: TP/(TP+FN); multiclass: macro average"),
    "f1": MetricInfo("group", True, "binary: 2TP/(2TP+FP+FN); multiclass: macro average"),
    "roc_auc": MetricInfo("group", True, "area under the ROC curve (multiclass: OvR macro)"),
    "pr_auc": MetricInfo("group", True, "average precision (multiclass: OvR macro)"),
    "log_loss": MetricInfo("group", False, "mean negative log-likelihood of the true class"),
    "brier_score": MetricInfo("group", False, "mean squared error of the probabilities"),
    "ece": MetricInfo("group", False, "expected calibration error, equal-width bins"),
}

REASONS = {
    "accuracy": "no rows",
    "balanced_accuracy": "no rows",
    "precision": "no rows predicted positive",
    "recall": "no positive rows",
    "f1": "no positive rows and no positive predictions",
    "roc_auc": "needs rows of every class (positive and negative)",
    "pr_auc": "needs rows of every class (no positive rows)",
    "log_loss": "no rows",
    "brier_score": "no rows",
    "ece": "no rows",
}
NO_SCORES = "no scores: give a score column or class_scores"


class RowScorer:
    """Score-based metrics for every dimension, for any vector of row weights."""

    def __init__(
        self, inputs: ClassificationInputs, dimensions: list[Dimension], n_bins: int
    ) -> None:
        assert inputs.proba is not None
        assert inputs.y_true is not None
        proba, y = inputs.proba, inputs.y_true
        n, k = proba.shape
        self.dimensions = dimensions
        self.n_bins = n_bins
        if inputs.binary and inputs.positive is not None:
            pos = inputs.positive
            targets = [(proba[:, pos], y == pos)]
            confidence, outcome = proba[:, pos], (y == pos).astype(np.float64)
        else:
            targets = [(proba[:, c], y == c) for c in range(k)]
            top = proba.argmax(axis=1)
            confidence, outcome = proba.max(axis=1), (top == y).astype(np.float64)
        self.rankings = [
            [GroupRanking(score, positive, d.codes, d.n_groups) for score, positive in targets]
            for d in dimensions
        ]
        # Per-row losses, clipped like scikit-learn (machine epsilon of float64).
        eps = np.finfo(np.float64).eps
        clipped = np.clip(proba, eps, 1 - eps)
        self.log_loss_rows = -np.log(clipped[np.arange(n), y])
        onehot = np.zeros_like(proba)
        onehot[np.arange(n), y] = 1.0
        # sklearn halves the multi-column Brier sum for two classes so it equals (p - y)^2.
        self.brier_rows = ((proba - onehot) ** 2).sum(axis=1) * (0.5 if k == 2 else 1.0)
        self.confidence = confidence
        self.outcome = outcome
        self.bins = bin_index(confidence, n_bins)

    def compute(self, weights: FloatArray | None = None) -> list[dict[str, FloatArray]]:
        """Every score metric per group of every dimension."""
        out = []
        for dimension, rankings in zip(self.dimensions, self.rankings, strict=True):
            codes, g = dimension.codes, dimension.n_groups
            w = np.ones_like(self.log_loss_rows) if weights is None else weights
            count = np.bincount(codes, weights=w, minlength=g)
            pairs = [ranking.auc_and_ap(weights) for ranking in rankings]
            # A plain mean propagates NaN: a class missing from a group makes it undefined,
            # as scikit-learn refuses multiclass AUC when a class is absent.
            auc = np.mean([a for a, _ in pairs], axis=0)
            ap = np.mean([p for _, p in pairs], axis=0)
            out.append(
                {
                    "roc_auc": auc,
                    "pr_auc": ap,
                    "log_loss": safe_ratio(
                        np.bincount(codes, weights=w * self.log_loss_rows, minlength=g), count
                    ),
                    "brier_score": safe_ratio(
                        np.bincount(codes, weights=w * self.brier_rows, minlength=g), count
                    ),
                    "ece": ece_by_group(
                        self.bins, self.confidence, self.outcome, codes, g, self.n_bins, weights
                    ),
                }
            )
        return out


def threshold_table(
    score: FloatArray, positive: np.ndarray, thresholds: tuple[float, ...]
) -> list[dict[str, Any]]:
    """Precision, recall (TPR), FPR, selection rate and F1 at each threshold (score >= t)."""
    positive = np.asarray(positive, dtype=bool)
    all_sorted = np.sort(score)
    pos_sorted = np.sort(score[positive])
    neg_sorted = np.sort(score[~positive])
    cut = np.asarray(thresholds, dtype=np.float64)
    selected = len(all_sorted) - np.searchsorted(all_sorted, cut, "left")
    tp = len(pos_sorted) - np.searchsorted(pos_sorted, cut, "left")
    fp = len(neg_sorted) - np.searchsorted(neg_sorted, cut, "left")
    precision = safe_ratio(tp, selected)
    recall = safe_ratio(tp, len(pos_sorted))
    fpr = safe_ratio(fp, len(neg_sorted))
    f1 = safe_ratio(2 * tp, tp + len(pos_sorted) + fp)
    return [
        {
            "threshold": float(t),
            "selected": int(selected[i]),
            "precision": json_float(precision[i]),
            "recall": json_float(recall[i]),
            "fpr": json_float(fpr[i]),
            "selection_rate": json_float(selected[i] / len(score)),
            "f1": json_float(f1[i]),
        }
        for i, t in enumerate(cut)
    ]


class ClassificationSuite(Suite):
    """Binary and multiclass classification metrics with cohorts and bootstrap intervals."""

    name = "classification"
    version = "1.0.0"
    summary = "Accuracy, precision/recall/F1, ROC and PR AUC, log loss, Brier, calibration."
    metrics = METRICS

    def compute(
        self, data: pd.DataFrame, spec: InputSpec, options: RunOptions, *, model: Model | None
    ) -> dict[str, Any]:
        """Compute every metric overall and per cohort group (see the module docstring)."""
        inputs = prepare_classification(data, spec)
        assert inputs.y_true is not None
        n = len(data)
        dimensions = [
            overall(n),
            *build_dimensions(data, spec, intersections=options.intersections),
        ]
        bootstrap = Bootstrap(options.n_bootstrap, options.confidence, options.seed)
        k = len(inputs.classes)
        positive = inputs.positive if inputs.binary else None

        results = []
        for dimension in dimensions:
            tables = confusion_tables(
                dimension.codes, dimension.n_groups, inputs.y_true, inputs.y_pred, k
            )
            point = rates(tables, positive)
            group = GroupMetrics(point={m: point[m] for m in CONFUSION_METRICS})
            if bootstrap.enabled:
                resampled = rates(
                    bootstrap.cell_counts(tables, f"counts:{dimension.name}"), positive
                )
                group.add_intervals(bootstrap, {m: resampled[m] for m in CONFUSION_METRICS})
            results.append(group)

        names = list(CONFUSION_METRICS)
        reasons = dict(REASONS)
        if inputs.proba is not None:
            scorer = RowScorer(inputs, dimensions, options.calibration_bins)
            for group, point in zip(results, scorer.compute(), strict=True):
                group.point.update(point)
            if bootstrap.enabled:
                samples = [scorer.compute(w) for w in bootstrap.row_weights(n, "rows")]
                for d, group in enumerate(results):
                    group.add_intervals(bootstrap, stack([s[d] for s in samples]))
        else:
            for group in results:
                for metric in SCORE_METRICS:
                    group.point[metric] = np.full(len(group.point["accuracy"]), np.nan)
            reasons.update(dict.fromkeys(SCORE_METRICS, NO_SCORES))
        names += list(SCORE_METRICS)

        metrics = {
            "overall": overall_section(results[0], names, reasons),
            "cohorts": [
                cohort_section(d, r, names, reasons, min_group_size=options.min_group_size)
                for d, r in zip(dimensions[1:], results[1:], strict=True)
            ],
        }
        return {
            "task": "binary" if inputs.binary else "multiclass",
            "metrics": metrics,
            "details": _details(inputs, spec, options),
            "warnings": [],
            "rows_evaluated": n,
        }


def _details(inputs: ClassificationInputs, spec: InputSpec, options: RunOptions) -> dict[str, Any]:
    assert inputs.y_true is not None
    k = len(inputs.classes)
    table = np.bincount(inputs.y_true * k + inputs.y_pred, minlength=k * k).reshape(k, k)
    details: dict[str, Any] = {
        "classes": inputs.class_names,
        "positive_label": (
            label_text(inputs.classes[inputs.positive])
            if inputs.binary and inputs.positive is not None
            else None
        ),
        "average": "binary" if inputs.binary else "macro",
        "class_counts": {
            name: int(c)
            for name, c in zip(
                inputs.class_names, np.bincount(inputs.y_true, minlength=k), strict=True
            )
        },
        "confusion_matrix": {
            "labels": inputs.class_names,
            "rows": "true label",
            "columns": "predicted label",
            "matrix": table.tolist(),
        },
        "calibration": None,
        "roc_curve": None,
        "threshold_table": None,
    }
    if inputs.proba is None:
        return details
    if inputs.binary and inputs.positive is not None:
        score = inputs.proba[:, inputs.positive]
        is_positive = inputs.y_true == inputs.positive
        confidence, outcome, kind = score, is_positive.astype(np.float64), "positive-class"
        details["roc_curve"] = roc_points(score, is_positive)
        thresholds = tuple(sorted({*(options.thresholds or DEFAULT_THRESHOLDS), spec.threshold}))
        details["threshold_table"] = threshold_table(score, is_positive, thresholds)
    else:
        top = inputs.proba.argmax(axis=1)
        confidence = inputs.proba.max(axis=1)
        outcome, kind = (top == inputs.y_true).astype(np.float64), "top-label"
    details["calibration"] = {
        "kind": kind,
        "strategy": "uniform",
        "bins": reliability_table(confidence, outcome, options.calibration_bins),
    }
    return details

"""Metrics computed from per-group contingency tables of (true label, predicted label).

Every function takes tables shaped ``(..., groups, classes, classes)`` (rows = true label,
columns = predicted label), so the same code serves the point estimate ``(G, K, K)`` and
a stack of bootstrap resamples ``(B, G, K, K)``.

Conventions follow scikit-learn with ``zero_division=np.nan``: a ratio with a zero
denominator is undefined (NaN), and macro averages skip undefined per-class values, so
they equal ``precision_score(..., average="macro", zero_division=np.nan)`` computed on the
rows of each group.
"""

from __future__ import annotations

import numpy as np

from charter.evaluation._numeric import FloatArray, IntArray, nan_mean, safe_ratio

#: Confusion-table metrics reported by the classification suite.
CONFUSION_METRICS = ("accuracy", "balanced_accuracy", "precision", "recall", "f1")


def confusion_tables(
    codes: IntArray, n_groups: int, y_true: IntArray, y_pred: IntArray, n_classes: int
) -> FloatArray:
    """Count rows per (group, true label, predicted label): shape ``(G, K, K)``."""
    index = (codes * n_classes + y_true) * n_classes + y_pred
    counts = np.bincount(index, minlength=n_groups * n_classes * n_classes)
    return counts.reshape(n_groups, n_classes, n_classes).astype(np.float64)


def binary_rates(tables: FloatArray, positive: int) -> dict[str, FloatArray]:
    """Binary metrics for the class at index ``positive`` of 2x2 tables."""
    negative = 1 - positive
    tp = tables[..., positive, positive]
    fn = tables[..., positive, negative]
    fp = tables[..., negative, positive]
    tn = tables[..., negative, negative]
    n = tp + fn + fp + tn
    recall = safe_ratio(tp, tp + fn)
    specificity = safe_ratio(tn, tn + fp)
    return {
        "accuracy": safe_ratio(tp + tn, n),
        # sklearn's balanced accuracy averages the recall of the classes present in y_true.
        "balanced_accuracy": nan_mean(np.stack([recall, specificity], axis=-1)),
        "precision": safe_ratio(tp, tp + fp),
        "recall": recall,
        "f1": safe_ratio(2 * tp, 2 * tp + fp + fn),
        "tpr": recall,
        "fpr": safe_ratio(fp, fp + tn),
        "selection_rate": safe_ratio(tp + fp, n),
        "base_rate": safe_ratio(tp + fn, n),
        "n": n,
    }


def multiclass_rates(tables: FloatArray) -> dict[str, FloatArray]:
    """Accuracy, balanced accuracy and macro precision/recall/F1 of ``(..., K, K)`` tables."""
    diagonal = np.diagonal(tables, axis1=-2, axis2=-1)
    true_counts = tables.sum(axis=-1)
    predicted_counts = tables.sum(axis=-2)
    n = true_counts.sum(axis=-1)
    recall = safe_ratio(diagonal, true_counts)
    precision = safe_ratio(diagonal, predicted_counts)
    f1 = safe_ratio(2 * diagonal, true_counts + predicted_counts)
    macro_recall = nan_mean(recall)
    return {
        "accuracy": safe_ratio(diagonal.sum(axis=-1), n),
        # Classes absent from y_true have NaN recall and are skipped, as in sklearn.
        "balanced_accuracy": macro_recall,
        "precision": nan_mean(precision),
        "recall": macro_recall,
        "f1": nan_mean(f1),
        "n": n,
    }


def rates(tables: FloatArray, positive: int | None) -> dict[str, FloatArray]:
    """Binary metrics when ``positive`` is given, macro-averaged multiclass ones otherwise."""
    if positive is not None and tables.shape[-1] == 2:
        return binary_rates(tables, positive)
    return multiclass_rates(tables)

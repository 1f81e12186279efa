"""Calibration: equal-width reliability bins and the expected calibration error (ECE).

Bins are ``n_bins`` equal-width intervals of [0, 1], assigned exactly as scikit-learn's
``calibration_curve(strategy="uniform")`` does: a value on an inner edge belongs to the
lower bin, so the intervals are ``[0, e1], (e1, e2], ..., (e_{k-1}, 1]``.

ECE is ``sum_b (n_b / n) * |observed_b - predicted_b|`` over non-empty bins, which equals
``|sum of outcomes - sum of confidences|`` summed over bins and divided by n. For binary
tasks the confidence is the probability of the positive class and the outcome is "is
positive" (the reliability diagram of ``calibration_curve``); for multiclass tasks it is
the top-label confidence and "the top label is right".
"""

from __future__ import annotations

from typing import Any

import numpy as np

from charter.evaluation._numeric import FloatArray, IntArray, json_float, safe_ratio


def bin_index(confidence: FloatArray, n_bins: int) -> IntArray:
    """The reliability bin of every confidence value (scikit-learn's assignment)."""
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    return np.searchsorted(edges[1:-1], confidence).astype(np.int64)


def ece_by_group(
    bins: IntArray,
    confidence: FloatArray,
    outcome: FloatArray,
    codes: IntArray,
    n_groups: int,
    n_bins: int,
    weights: FloatArray | None = None,
) -> FloatArray:
    """Expected calibration error per group, optionally with row weights."""
    cell = codes * n_bins + bins
    size = n_groups * n_bins
    w = np.ones_like(confidence) if weights is None else weights
    count = np.bincount(codes, weights=w, minlength=n_groups)
    gap = np.bincount(cell, weights=w * (outcome - confidence), minlength=size)
    per_group = np.abs(gap.reshape(n_groups, n_bins)).sum(axis=1)
    return safe_ratio(per_group, count)


def reliability_table(
    confidence: FloatArray, outcome: FloatArray, n_bins: int
) -> list[dict[str, Any]]:
    """One row per bin: edges, row count, mean confidence and observed frequency."""
    bins = bin_index(confidence, n_bins)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    count = np.bincount(bins, minlength=n_bins)
    predicted = safe_ratio(np.bincount(bins, weights=confidence, minlength=n_bins), count)
    observed = safe_ratio(np.bincount(bins, weights=outcome, minlength=n_bins), count)
    return [
        {
            "lower": float(edges[b]),
            "upper": float(edges[b + 1]),
            "count": int(count[b]),
            "mean_predicted": json_float(predicted[b]),
            "observed_rate": json_float(observed[b]),
        }
        for b in range(n_bins)
    ]

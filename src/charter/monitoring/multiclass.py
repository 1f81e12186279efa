"""Label-free performance of multiclass classifiers (confidence-based, like CBPE).

The reference names one probability column per class. Each column is calibrated
one-vs-rest with an isotonic regression fitted on the reference labels, and a row's
calibrated probabilities are renormalised to sum to one. A window then keeps, per
predicted class ``j``, exact sums of the calibrated probabilities (the expected column
``j`` of the confusion matrix) and of their pairwise products (its covariance: given the
scores, the true labels of the rows predicted ``j`` are independent categorical draws, so
that column is a sum of independent multinomial(1, q) vectors with covariance
``diag(sum q) - sum q q^T``). Both are mergeable counts, so a window profile stays exact
under any split of its rows.

Metrics are read off the expected matrix: accuracy and the macro and weighted precision,
recall and F1 (scikit-learn's definitions: averaged over the classes present, a ratio with
a zero denominator counting as 0). Their 95% bands come from a parametric bootstrap of
the confusion matrix under that covariance (seeded, so the same window always gives the
same band), widened by the same spread at the reference size for the calibration level
learned from the reference, as the binary estimate does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from charter.domain.errors import BadInput
from charter.monitoring.exact import ExactSum
from charter.monitoring.numeric import numeric_values
from charter.monitoring.performance import Z_95, Calibration, PerformanceEstimate

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

#: Most classes a multiclass estimate is kept for: the covariance counts grow as K**3.
MAX_CLASSES = 12
#: Parametric bootstrap draws for the bands; the seed makes a band reproducible.
DRAWS = 2_000
_SEED = 20261201

MULTICLASS_ASSUMPTIONS = (
    "Each class's probability column was calibrated one-vs-rest on the reference "
    "(isotonic regression) and the calibrated values renormalised per row; the estimate "
    "assumes P(label | scores) is the same in the window as in the reference: covariate "
    "shift is allowed, concept drift is not and will go unseen.",
    "Labels are independent given the scores.",
    "The reference is representative of how the model's scores relate to outcomes.",
    "Multiclass classification: one probability column per class and the prediction is "
    "the decision actually taken.",
    "The bands cover sampling noise in the window and the reference-size uncertainty of "
    "the calibration level; they do not cover a violated assumption above.",
)

METRICS = (
    "accuracy",
    "precision_macro",
    "recall_macro",
    "f1_macro",
    "precision_weighted",
    "recall_weighted",
    "f1_weighted",
)


def _safe_divide(num: Floats, den: Floats) -> Floats:
    out: Floats = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
    return out


def metric_arrays(matrix: Floats, present: npt.NDArray[np.bool_]) -> dict[str, Floats]:
    """Multiclass metrics of confusion matrices ``(..., K, K)`` (rows true, columns
    predicted), averaged over the ``present`` classes; one value per leading index."""
    tp = np.diagonal(matrix, axis1=-2, axis2=-1)
    truth = matrix.sum(axis=-1)
    predicted = matrix.sum(axis=-2)
    total = truth.sum(axis=-1)
    precision = _safe_divide(tp, predicted)
    recall = _safe_divide(tp, truth)
    f1 = _safe_divide(2 * tp, truth + predicted)
    k = max(int(present.sum()), 1)
    weight = _safe_divide(truth * present, np.broadcast_to(total[..., None], truth.shape))
    result = {"accuracy": _safe_divide(tp.sum(axis=-1), total)}
    for name, values in (("precision", precision), ("recall", recall), ("f1", f1)):
        result[f"{name}_macro"] = (values * present).sum(axis=-1) / k
        result[f"{name}_weighted"] = (values * weight).sum(axis=-1)
    return result


def multiclass_metrics(matrix: npt.ArrayLike) -> dict[str, float | None]:
    """Accuracy and macro/weighted precision, recall and F1 of one confusion matrix, as
    scikit-learn computes them on the same rows (``zero_division=0``); None when empty."""
    m = np.asarray(matrix, dtype=np.float64)
    if m.sum() <= 0:
        return {name: None for name in METRICS}
    present = (m.sum(axis=0) + m.sum(axis=1)) > 0
    return {name: float(v) for name, v in metric_arrays(m, present).items()}


def score_matrix(data: pd.DataFrame, columns: tuple[str, ...]) -> Floats:
    """The class-probability columns as an ``(n, K)`` float array (NaN where missing)."""
    if not columns:
        return np.empty((len(data), 0))
    return np.column_stack([numeric_values(data[c])[0] for c in columns])


@dataclass(frozen=True)
class MulticlassCalibration:
    """One isotonic map per class (one-vs-rest), in the reference's class order."""

    columns: tuple[str, ...]
    maps: tuple[Calibration, ...]

    @classmethod
    def fit(cls, scores: Floats, truth: Ints, columns: tuple[str, ...]) -> MulticlassCalibration:
        """Fit on reference scores ``(n, K)`` and class positions (``-1`` = no label)."""
        usable = np.isfinite(scores).all(axis=1) & (truth >= 0)
        if int(usable.sum()) < 2:
            raise BadInput("calibration needs at least two labelled, scored rows")
        maps = tuple(
            Calibration.fit(scores[usable, k], (truth[usable] == k).astype(np.float64))
            for k in range(len(columns))
        )
        return cls(columns, maps)

    def probabilities(self, scores: Floats) -> Floats:
        """Calibrated, renormalised class probabilities; NaN rows where a score is missing.
        A row every map sends to zero keeps its raw scores, renormalised."""
        calibrated = np.column_stack([m.apply(scores[:, k]) for k, m in enumerate(self.maps)])
        total = calibrated.sum(axis=1, keepdims=True)
        raw = np.clip(scores, 0.0, None)
        raw_total = raw.sum(axis=1, keepdims=True)
        fallback = np.divide(
            raw, raw_total, out=np.full_like(raw, 1 / raw.shape[1]), where=raw_total > 0
        )
        out: Floats = np.where(total > 0, calibrated / np.where(total > 0, total, 1.0), fallback)
        out[~np.isfinite(scores).all(axis=1)] = np.nan
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "kind": "multiclass",
            "columns": list(self.columns),
            "maps": [m.to_dict() for m in self.maps],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MulticlassCalibration:
        """Inverse of :meth:`to_dict`."""
        try:
            columns = tuple(str(c) for c in data["columns"])
            maps = tuple(Calibration.from_dict(m) for m in data["maps"])
        except (KeyError, TypeError) as exc:
            raise BadInput(f"malformed multiclass calibration: {exc}") from exc
        if len(columns) != len(maps) or len(columns) < 3:
            raise BadInput("malformed multiclass calibration: one map per class, 3 or more")
        return cls(columns, maps)


def _pairs(k: int) -> list[tuple[int, int]]:
    return [(a, b) for a in range(k) for b in range(a, k)]


@dataclass(frozen=True, eq=False)
class MulticlassExpected:
    """Mergeable label-free counts: per predicted class, exact sums of the calibrated
    probabilities (``cells[true][pred]``) and of their products (``moments[pred]`` over
    the pairs ``a <= b``)."""

    n: int
    cells: tuple[tuple[ExactSum, ...], ...]
    moments: tuple[tuple[ExactSum, ...], ...]

    @property
    def k(self) -> int:
        """Number of classes."""
        return len(self.cells)

    @classmethod
    def empty(cls, k: int) -> MulticlassExpected:
        """No rows."""
        zero = ExactSum()
        pairs = len(_pairs(k))
        return cls(
            0, tuple((zero,) * k for _ in range(k)), tuple((zero,) * pairs for _ in range(k))
        )

    @classmethod
    def of(cls, probability: Floats, predicted: Ints, k: int) -> MulticlassExpected:
        """From calibrated probabilities ``(n, K)`` and the predicted class positions."""
        columns: list[list[ExactSum]] = [[] for _ in range(k)]  # columns[pred][true]
        moments: list[tuple[ExactSum, ...]] = []
        pairs = _pairs(k)
        for j in range(k):
            rows = probability[predicted == j]
            columns[j] = [ExactSum.of(rows[:, t]) for t in range(k)]
            moments.append(tuple(ExactSum.of(rows[:, a] * rows[:, b]) for a, b in pairs))
        cells = tuple(tuple(columns[j][t] for j in range(k)) for t in range(k))
        return cls(int(probability.shape[0]), cells, tuple(moments))

    def merge(self, other: MulticlassExpected) -> MulticlassExpected:
        """Counts of both sets of rows."""
        if not isinstance(other, MulticlassExpected) or other.k != self.k:
            raise BadInput("expected counts over different classes cannot be merged")
        return MulticlassExpected(
            self.n + other.n,
            tuple(
                tuple(a + b for a, b in zip(r, s, strict=True))
                for r, s in zip(self.cells, other.cells, strict=True)
            ),
            tuple(
                tuple(a + b for a, b in zip(r, s, strict=True))
                for r, s in zip(self.moments, other.moments, strict=True)
            ),
        )

    def mean(self) -> Floats:
        """The expected confusion matrix (rows true, columns predicted)."""
        return np.array([[c.value for c in row] for row in self.cells], dtype=np.float64)

    def covariances(self) -> Floats:
        """Per predicted class ``j``, the covariance ``(K, K)`` of that column's counts."""
        k = self.k
        mean = self.mean()
        out = np.zeros((k, k, k))
        for j in range(k):
            second = np.zeros((k, k))
            for (a, b), s in zip(_pairs(k), self.moments[j], strict=True):
                second[a, b] = second[b, a] = s.value
            out[j] = np.diag(mean[:, j]) - second
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MulticlassExpected):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "kind": "multiclass",
            "n": self.n,
            "cells": [[c.to_list() for c in row] for row in self.cells],
            "moments": [[m.to_list() for m in row] for row in self.moments],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MulticlassExpected:
        """Inverse of :meth:`to_dict`."""
        try:
            cells = tuple(tuple(ExactSum.from_list(c) for c in row) for row in data["cells"])
            moments = tuple(tuple(ExactSum.from_list(m) for m in row) for row in data["moments"])
            n = int(data["n"])
        except (KeyError, TypeError, ValueError) as exc:
            raise BadInput(f"malformed expected counts: {exc}") from exc
        k = len(cells)
        if any(len(r) != k for r in cells) or len(moments) != k:
            raise BadInput("malformed expected counts: the matrix must be square")
        if any(len(r) != len(_pairs(k)) for r in moments):
            raise BadInput("malformed expected counts: one moment per class pair")
        return cls(n, cells, moments)


def _spread(counts: MulticlassExpected, present: npt.NDArray[np.bool_]) -> dict[str, float]:
    """Variance of each metric of the realised matrix around the expected one."""
    mean = counts.mean()
    k = counts.k
    rng = np.random.default_rng(_SEED)
    draws = np.repeat(mean[None, :, :], DRAWS, axis=0)
    for j, cov in enumerate(counts.covariances()):
        values, vectors = np.linalg.eigh((cov + cov.T) / 2)
        root = vectors * np.sqrt(np.clip(values, 0.0, None))
        draws[:, :, j] += rng.standard_normal((DRAWS, k)) @ root.T
    draws = np.clip(draws, 0.0, None)
    return {name: float(np.var(v)) for name, v in metric_arrays(draws, present).items()}


def estimate_multiclass(
    counts: MulticlassExpected,
    classes: tuple[str, ...],
    reference: MulticlassExpected | None,
) -> PerformanceEstimate:
    """The label-free estimate of a window from its expected counts, with 95% bands;
    ``reference`` (the reference's own expected counts) adds the calibration-level
    uncertainty."""
    if counts.n == 0:
        return PerformanceEstimate(0, None, None, None, {}, {}, MULTICLASS_ASSUMPTIONS)
    mean = counts.mean()
    present = (mean.sum(axis=0) + mean.sum(axis=1)) > 0
    values = {name: float(v) for name, v in metric_arrays(mean, present).items()}
    variance = _spread(counts, present)
    if reference is not None and reference.n > 0:
        ref_mean = reference.mean()
        ref_present = (ref_mean.sum(axis=0) + ref_mean.sum(axis=1)) > 0
        for name, v in _spread(reference, present & ref_present).items():
            variance[name] += v
    bands = {}
    for name, value in values.items():
        half = Z_95 * math.sqrt(max(variance[name], 0.0))
        bands[name] = (max(0.0, value - half), min(1.0, value + half))
    confusion = {
        t: {p: float(mean[i, j]) for j, p in enumerate(classes)} for i, t in enumerate(classes)
    }
    metrics: dict[str, float | None] = dict(values)
    return PerformanceEstimate(
        n=counts.n,
        accuracy=values["accuracy"],
        lower=bands["accuracy"][0],
        upper=bands["accuracy"][1],
        expected_confusion=confusion,
        metrics=metrics,
        assumptions=MULTICLASS_ASSUMPTIONS,
        bands=bands,
    )

"""Realised performance on labelled windows and label-free estimation (CBPE-style).

Both are kept as mergeable counts: a confusion matrix (and an exact Brier sum) for the
realised side; for the estimate, exact sums of the *calibrated* probabilities per cell of
the expected confusion matrix. Calibration is an isotonic regression of the outcome on the
score, fitted once on the reference and stored as its breakpoints.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from charter.domain.errors import BadInput
from charter.monitoring.categorical import category_text
from charter.monitoring.exact import ExactSum

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

#: Two-sided 95% normal quantile for the estimate's band.
Z_95 = 1.959963984540054

ASSUMPTIONS = (
    "Scores were calibrated on the reference (isotonic regression); the estimate assumes "
    "P(label | score) is the same in the window as in the reference: covariate shift is "
    "allowed, concept drift is not and will go unseen.",
    "Labels are independent given the scores.",
    "The reference is representative of how the model's scores relate to outcomes.",
    "Binary classification: the score is the probability of the positive class and the "
    "prediction is the decision actually taken.",
    "The band covers sampling noise in the window and the reference-size uncertainty of "
    "the calibration level; it does not cover a violated assumption above.",
)


def class_index(series: pd.Series, classes: tuple[str, ...]) -> Ints:
    """Map values to class positions: -1 for missing, -2 for a class the reference lacks."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    lookup = {name: i for i, name in enumerate(classes)}
    mapped = np.asarray([lookup.get(category_text(u), -2) for u in uniques], dtype=np.int64)
    out = np.full(codes.shape, -1, dtype=np.int64)
    present = codes >= 0
    out[present] = mapped[codes[present]]
    return out


@dataclass(frozen=True)
class Calibration:
    """Isotonic calibration map from score to P(positive), as its breakpoints."""

    x: tuple[float, ...]
    y: tuple[float, ...]

    @classmethod
    def fit(cls, scores: Floats, outcomes: Floats) -> Calibration:
        """Fit on reference scores and 0/1 outcomes with scikit-learn's isotonic regression."""
        from sklearn.isotonic import IsotonicRegression

        if scores.size < 2:
            raise BadInput("calibration needs at least two labelled, scored rows")
        model = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
        model.fit(scores, outcomes)
        return cls(
            tuple(float(v) for v in model.X_thresholds_),
            tuple(float(v) for v in model.y_thresholds_),
        )

    def apply(self, scores: Floats) -> Floats:
        """Calibrated probabilities; linear between breakpoints, clipped outside, exactly
        as ``IsotonicRegression.predict``."""
        calibrated: Floats = np.interp(scores, np.asarray(self.x), np.asarray(self.y))
        return calibrated

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {"x": list(self.x), "y": list(self.y)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        """Inverse of :meth:`to_dict`."""
        try:
            x = tuple(float(v) for v in data["x"])
            y = tuple(float(v) for v in data["y"])
        except (KeyError, TypeError, ValueError) as exc:
            raise BadInput(f"malformed calibration: {exc}") from exc
        if len(x) != len(y) or not x or not all(math.isfinite(v) for v in (*x, *y)):
            raise BadInput("malformed calibration: breakpoints must be finite and paired")
        return cls(x, y)


@dataclass(frozen=True, eq=False)
class ConfusionCounts:
    """Mergeable realised-performance counts: confusion matrix (rows true, columns
    predicted, in the reference's class order), exact Brier sum, rows set aside."""

    matrix: Ints
    brier: ExactSum
    brier_n: int
    unknown: int

    @classmethod
    def empty(cls, n_classes: int) -> ConfusionCounts:
        """No rows."""
        return cls(np.zeros((n_classes, n_classes), np.int64), ExactSum(), 0, 0)

    @classmethod
    def of(
        cls,
        truth: Ints,
        predicted: Ints,
        n_classes: int,
        positive_probability: Floats | None,
        positive: int | None,
    ) -> ConfusionCounts:
        """Count labelled rows; rows with a missing label or prediction are skipped and rows
        with a class the reference lacks are counted in ``unknown``."""
        usable = (truth >= 0) & (predicted >= 0)
        unknown = int(np.count_nonzero((truth == -2) | (predicted == -2)))
        flat = truth[usable] * n_classes + predicted[usable]
        matrix = np.bincount(flat, minlength=n_classes * n_classes).reshape(n_classes, n_classes)
        brier, brier_n = ExactSum(), 0
        if positive_probability is not None and positive is not None:
            scored = (truth >= 0) & np.isfinite(positive_probability)
            outcome = (truth[scored] == positive).astype(np.float64)
            error = positive_probability[scored] - outcome
            brier, brier_n = ExactSum.of(error * error), int(scored.sum())
        return cls(matrix.astype(np.int64), brier, brier_n, unknown)

    def merge(self, other: ConfusionCounts) -> ConfusionCounts:
        """Counts of both sets of rows."""
        if self.matrix.shape != other.matrix.shape:
            raise BadInput("confusion counts over different classes cannot be merged")
        return ConfusionCounts(
            self.matrix + other.matrix,
            self.brier + other.brier,
            self.brier_n + other.brier_n,
            self.unknown + other.unknown,
        )

    @property
    def n(self) -> int:
        """Labelled rows in the matrix."""
        return int(self.matrix.sum())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ConfusionCounts):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "matrix": [[int(v) for v in row] for row in self.matrix],
            "brier_sum": self.brier.to_list(),
            "brier_n": self.brier_n,
            "unknown": self.unknown,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConfusionCounts:
        """Inverse of :meth:`to_dict`."""
        try:
            matrix = np.asarray(data["matrix"], dtype=np.int64)
            result = cls(
                matrix,
                ExactSum.from_list(data["brier_sum"]),
                int(data["brier_n"]),
                int(data["unknown"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BadInput(f"malformed confusion counts: {exc}") from exc
        if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or (matrix < 0).any():
            raise BadInput("malformed confusion counts: the matrix must be square, >= 0")
        return result


@dataclass(frozen=True, eq=False)
class ExpectedCounts:
    """Mergeable label-free counts: exact sums of calibrated probabilities per cell of the
    expected binary confusion matrix, and of ``c * (1 - c)`` where ``c`` is the
    probability that the row's decision is correct (the variance of the correct count)."""

    n: int
    tp: ExactSum
    fp: ExactSum
    fn: ExactSum
    tn: ExactSum
    variance: ExactSum

    @classmethod
    def empty(cls) -> ExpectedCounts:
        """No rows."""
        zero = ExactSum()
        return cls(0, zero, zero, zero, zero, zero)

    @classmethod
    def of(cls, probability: Floats, predicted_positive: npt.NDArray[np.bool_]) -> ExpectedCounts:
        """From calibrated P(positive) and the decisions taken, row by row."""
        p_pos = probability[predicted_positive]
        p_neg = probability[~predicted_positive]
        correct = np.where(predicted_positive, probability, 1.0 - probability)
        return cls(
            n=int(probability.size),
            tp=ExactSum.of(p_pos),
            fp=ExactSum.of(1.0 - p_pos),
            fn=ExactSum.of(p_neg),
            tn=ExactSum.of(1.0 - p_neg),
            variance=ExactSum.of(correct * (1.0 - correct)),
        )

    def merge(self, other: ExpectedCounts) -> ExpectedCounts:
        """Counts of both sets of rows."""
        return ExpectedCounts(
            self.n + other.n,
            self.tp + other.tp,
            self.fp + other.fp,
            self.fn + other.fn,
            self.tn + other.tn,
            self.variance + other.variance,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ExpectedCounts):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "n": self.n,
            "tp": self.tp.to_list(),
            "fp": self.fp.to_list(),
            "fn": self.fn.to_list(),
            "tn": self.tn.to_list(),
            "variance": self.variance.to_list(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExpectedCounts:
        """Inverse of :meth:`to_dict`."""
        try:
            return cls(
                int(data["n"]),
                *(ExactSum.from_list(data[k]) for k in ("tp", "fp", "fn", "tn", "variance")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BadInput(f"malformed expected counts: {exc}") from exc


def _ratio(num: float, den: float) -> float | None:
    return num / den if den > 0 else None


def metrics_from_confusion(
    matrix: npt.ArrayLike, positive: int | None = None
) -> dict[str, float | None]:
    """Accuracy always; precision, recall, specificity and F1 of the ``positive`` class when
    given. The same definitions as scikit-learn; a ratio with a zero denominator is None
    where scikit-learn would warn and return 0."""
    m = np.asarray(matrix, dtype=np.float64)
    total = float(m.sum())
    result: dict[str, float | None] = {"accuracy": _ratio(float(np.trace(m)), total)}
    if positive is not None:
        tp = float(m[positive, positive])
        fp = float(m[:, positive].sum()) - tp
        fn = float(m[positive, :].sum()) - tp
        tn = total - tp - fp - fn
        result.update(_binary_metrics(tp, fp, fn, tn))
    return result


def _binary_metrics(tp: float, fp: float, fn: float, tn: float) -> dict[str, float | None]:
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    return {
        "precision": precision,
        "recall": recall,
        "specificity": _ratio(tn, tn + fp),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
    }


@dataclass(frozen=True)
class PerformanceEstimate:
    """A label-free estimate: accuracy with its 95% band, the expected confusion matrix,
    derived binary metrics, and the assumptions the numbers rest on."""

    n: int
    accuracy: float | None
    lower: float | None
    upper: float | None
    expected_confusion: dict[str, Any]
    metrics: dict[str, float | None]
    assumptions: tuple[str, ...] = ASSUMPTIONS
    #: 95% band per metric (accuracy only for binary; every metric for multiclass).
    bands: dict[str, tuple[float, float]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "n": self.n,
            "accuracy": self.accuracy,
            "lower": self.lower,
            "upper": self.upper,
            "expected_confusion": self.expected_confusion,
            "metrics": self.metrics,
            "assumptions": list(self.assumptions),
            "bands": {k: list(v) for k, v in sorted(self.bands.items())},
        }


def estimate_from_expected(
    counts: ExpectedCounts, *, reference_accuracy: float | None, reference_n: int
) -> PerformanceEstimate:
    """Turn expected counts into an estimate with a 95% band.

    The band's half-width is ``1.96 * sqrt(sum(c (1 - c)) / n**2 + a (1 - a) / n_ref)``:
    the first term is the spread of the realised accuracy around its expectation when the
    labels are Bernoulli(c); the second is the uncertainty of the calibration level learned
    from ``n_ref`` reference rows with accuracy ``a``.
    """
    n = counts.n
    cells = {
        "tp": counts.tp.value,
        "fp": counts.fp.value,
        "fn": counts.fn.value,
        "tn": counts.tn.value,
    }
    if n == 0:
        return PerformanceEstimate(0, None, None, None, cells, {})
    accuracy = (cells["tp"] + cells["tn"]) / n
    variance = counts.variance.value / (n * n)
    if reference_accuracy is not None and reference_n > 0:
        variance += reference_accuracy * (1.0 - reference_accuracy) / reference_n
    half = Z_95 * math.sqrt(max(variance, 0.0))
    metrics: dict[str, float | None] = {"accuracy": accuracy}
    metrics.update(_binary_metrics(cells["tp"], cells["fp"], cells["fn"], cells["tn"]))
    lower, upper = max(0.0, accuracy - half), min(1.0, accuracy + half)
    return PerformanceEstimate(
        n=n,
        accuracy=accuracy,
        lower=lower,
        upper=upper,
        expected_confusion=cells,
        metrics=metrics,
        bands={"accuracy": (lower, upper)},
    )

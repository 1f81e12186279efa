"""Performance counts kept with profiles: per-cohort realised and label-free counts and
the performance setup a reference fixes (class order, positive class, calibration, cohort
buckets, baselines). Split from :mod:`charter.monitoring.profiles`, which re-exports them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from charter.domain.errors import BadInput
from charter.monitoring.categorical import CategoricalColumn, category_text
from charter.monitoring.multiclass import (
    MAX_CLASSES,
    MulticlassCalibration,
    MulticlassExpected,
    score_matrix,
)
from charter.monitoring.numeric import NumericColumn, numeric_values
from charter.monitoring.performance import (
    Calibration,
    ConfusionCounts,
    ExpectedCounts,
    class_index,
)

Column = NumericColumn | CategoricalColumn

AnyCalibration = Calibration | MulticlassCalibration


def calibration_from_dict(data: dict[str, Any]) -> AnyCalibration:
    """A binary or a multiclass calibration, told apart by its ``kind``."""
    if data.get("kind") == "multiclass":
        return MulticlassCalibration.from_dict(data)
    return Calibration.from_dict(data)


MISSING_COHORT = "<missing>"
OTHER_COHORT = "<other>"


@dataclass(frozen=True, eq=False)
class CohortCounts:
    """Per-cohort rows, realised counts (when labelled) and label-free counts: binary in
    ``expected``, multiclass in ``expected_classes``."""

    rows: int
    confusion: ConfusionCounts | None
    expected: ExpectedCounts | None
    expected_classes: MulticlassExpected | None = None

    def merge(self, other: CohortCounts) -> CohortCounts:
        """Counts of both sets of rows."""
        return CohortCounts(
            self.rows + other.rows,
            merge_optional(self.confusion, other.confusion),
            merge_optional(self.expected, other.expected),
            merge_optional(self.expected_classes, other.expected_classes),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (``expected_classes`` only when kept, so binary and earlier
        profiles keep their shape and digest)."""
        return {
            "rows": self.rows,
            "confusion": self.confusion.to_dict() if self.confusion else None,
            "expected": self.expected.to_dict() if self.expected else None,
            **multiclass_dict(self.expected_classes),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CohortCounts:
        """Inverse of :meth:`to_dict`."""
        confusion = data.get("confusion")
        expected = data.get("expected")
        return cls(
            int(data["rows"]),
            ConfusionCounts.from_dict(confusion) if confusion else None,
            ExpectedCounts.from_dict(expected) if expected else None,
            multiclass_from(data),
        )


def multiclass_dict(counts: MulticlassExpected | None) -> dict[str, Any]:
    """The ``expected_classes`` entry of a profile dict: present only when kept."""
    return {} if counts is None else {"expected_classes": counts.to_dict()}


def multiclass_from(data: dict[str, Any]) -> MulticlassExpected | None:
    """Inverse of :func:`multiclass_dict`."""
    raw = data.get("expected_classes")
    return MulticlassExpected.from_dict(raw) if raw else None


def merge_optional(a: Any, b: Any) -> Any:
    if a is None:
        return b
    if b is None:
        return a
    return a.merge(b)


@dataclass(frozen=True, eq=False)
class PerformanceSetup:
    """What the reference fixes for performance: class order, positive class, calibration,
    cohort buckets and the baselines measured on the reference itself."""

    classes: tuple[str, ...]
    positive: str | None
    calibration: AnyCalibration | None
    cohort: CategoricalColumn | None
    baseline: CohortCounts
    cohorts: dict[str, CohortCounts] = field(default_factory=dict)

    @property
    def positive_index(self) -> int | None:
        """Position of the positive class, when it is one of the classes."""
        if self.positive is None or self.positive not in self.classes:
            return None
        return self.classes.index(self.positive)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "classes": list(self.classes),
            "positive": self.positive,
            "calibration": self.calibration.to_dict() if self.calibration else None,
            "cohort": self.cohort.to_dict() if self.cohort else None,
            "baseline": self.baseline.to_dict(),
            "cohorts": {k: v.to_dict() for k, v in sorted(self.cohorts.items())},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], cohort_name: str | None) -> PerformanceSetup:
        """Inverse of :meth:`to_dict`."""
        calibration = data.get("calibration")
        cohort = data.get("cohort")
        return cls(
            classes=tuple(str(c) for c in data["classes"]),
            positive=None if data.get("positive") is None else str(data["positive"]),
            calibration=calibration_from_dict(calibration) if calibration else None,
            cohort=(
                CategoricalColumn.from_dict(cohort_name or "cohort", cohort) if cohort else None
            ),
            baseline=CohortCounts.from_dict(data["baseline"]),
            cohorts={str(k): CohortCounts.from_dict(v) for k, v in data["cohorts"].items()},
        )


def performance_setup(
    data: pd.DataFrame,
    prediction: str,
    score: str | None,
    label: str,
    cohort: str | None,
    positive_label: Any,
    columns: dict[str, Column],
    max_categories: int,
    class_scores: dict[str, str],
) -> PerformanceSetup:
    label_col, pred_col = columns[label], columns[prediction]
    assert isinstance(label_col, CategoricalColumn)
    assert isinstance(pred_col, CategoricalColumn)
    classes = tuple(
        sorted(set(label_col.categories) | set(pred_col.categories) | set(class_scores))
    )
    positive = category_text(positive_label) if positive_label is not None else None
    setup = PerformanceSetup(classes, positive, None, None, CohortCounts(0, None, None))
    calibration: AnyCalibration | None = None
    if class_scores:
        calibration = _multiclass_calibration(data, label, classes, class_scores)
    elif score is not None and len(classes) == 2 and setup.positive_index is not None:
        scores, _, _ = numeric_values(data[score])
        truth = class_index(data[label], classes)
        usable = np.isfinite(scores) & (truth >= 0)
        outcome = (truth[usable] == setup.positive_index).astype(np.float64)
        calibration = Calibration.fit(scores[usable], outcome)
    cohort_column = None
    if cohort is not None:
        cohort_column = CategoricalColumn.fit(cohort, data[cohort], max_categories=max_categories)
    setup = PerformanceSetup(classes, positive, calibration, cohort_column, setup.baseline)
    baseline, cohorts = performance_counts(data, setup, prediction, score, label, cohort)
    return PerformanceSetup(classes, positive, calibration, cohort_column, baseline, cohorts)


def _multiclass_calibration(
    data: pd.DataFrame, label: str, classes: tuple[str, ...], class_scores: dict[str, str]
) -> MulticlassCalibration:
    lacking = [c for c in classes if c not in class_scores]
    if lacking:
        raise BadInput(f"class_scores name no probability column for classes {lacking}")
    if not 3 <= len(classes) <= MAX_CLASSES:
        raise BadInput(
            f"class_scores are for 3 to {MAX_CLASSES} classes (got {len(classes)}); "
            "a binary classifier names its positive-class probability as score"
        )
    columns = tuple(class_scores[c] for c in classes)
    truth = class_index(data[label], classes)
    return MulticlassCalibration.fit(score_matrix(data, columns), truth, columns)


def performance_counts(
    data: pd.DataFrame,
    setup: PerformanceSetup,
    prediction: str,
    score: str | None,
    label: str,
    cohort: str | None,
) -> tuple[CohortCounts, dict[str, CohortCounts]]:
    """Realised and label-free counts over all rows and per cohort."""
    rows = PerformanceRows.of(data, setup, prediction, score, label, cohort)
    return rows.counts(np.arange(len(data))), rows.cohort_counts(np.arange(len(data)))


@dataclass(frozen=True, eq=False)
class PerformanceRows:
    """The per-row inputs of the performance counts (class positions, calibrated
    probabilities, cohort names), computed once so that the counts of any subset of the
    rows (one hour of a backfill, one cohort) are cheap array selections."""

    n_classes: int
    positive: int | None
    truth: Any
    predicted: Any
    binary_score: Any
    probability: Any
    multiclass: Any
    cohorts: Any

    @classmethod
    def of(
        cls,
        data: pd.DataFrame,
        setup: PerformanceSetup,
        prediction: str,
        score: str | None,
        label: str,
        cohort: str | None,
    ) -> PerformanceRows:
        """Read the rows of ``data`` once."""
        n_classes = len(setup.classes)
        predicted = class_index(data[prediction], setup.classes)
        if label in data.columns:
            truth = class_index(data[label], setup.classes)
        else:
            truth = np.full(len(data), -1, dtype=np.int64)
        scores = numeric_values(data[score])[0] if score is not None else None
        positive = setup.positive_index
        probability = multiclass = None
        calibration = setup.calibration
        if isinstance(calibration, MulticlassCalibration):
            multiclass = calibration.probabilities(score_matrix(data, calibration.columns))
        elif scores is not None and calibration is not None:
            probability = calibration.apply(scores)
        names = None
        if cohort is not None and setup.cohort is not None:
            names = _cohort_names(data[cohort], setup.cohort)
        return cls(
            n_classes,
            positive,
            truth,
            predicted,
            scores if n_classes == 2 and positive is not None else None,
            probability,
            multiclass,
            names,
        )

    def counts(self, index: Any) -> CohortCounts:
        """The counts of the rows at positions ``index``."""
        t, p = self.truth[index], self.predicted[index]
        # Always counted, even with no label yet, so that merging stays exact.
        s = self.binary_score[index] if self.binary_score is not None else None
        confusion = ConfusionCounts.of(t, p, self.n_classes, s, self.positive)
        expected = classes = None
        if self.multiclass is not None:
            rows_p = self.multiclass[index]
            usable = np.isfinite(rows_p).all(axis=1) & (p >= 0)
            classes = MulticlassExpected.of(rows_p[usable], p[usable], self.n_classes)
        elif self.probability is not None and self.positive is not None:
            prob = self.probability[index]
            usable = np.isfinite(prob) & (p >= 0)
            expected = ExpectedCounts.of(prob[usable], p[usable] == self.positive)
        return CohortCounts(len(t), confusion, expected, classes)

    def cohort_counts(self, index: Any) -> dict[str, CohortCounts]:
        """The counts of the rows at ``index``, per cohort present among them."""
        if self.cohorts is None:
            return {}
        names = self.cohorts[index]
        return {str(name): self.counts(index[names == name]) for name in np.unique(names)}


def _cohort_names(series: pd.Series, column: CategoricalColumn) -> Any:
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    kept = set(column.categories)
    texts = [category_text(u) for u in uniques]
    mapped = np.asarray([t if t in kept else OTHER_COHORT for t in texts] + [MISSING_COHORT])
    return mapped[codes]  # code -1 (missing) picks the last entry

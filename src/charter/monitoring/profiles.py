"""Reference profiles (built once) and window profiles (built batch by batch, mergeable).

A reference profile fixes everything a window is measured against: bin edges, kept
categories, class order, the score calibration and the baselines. A window profile holds
only counts and exact sums on those bins, so ``merge_windows(a, b)`` equals
``profile_window(reference, concat(a_rows, b_rows))`` exactly, in any order, and two
workers (or Spark partitions) can profile parts of a window independently.

Both serialise with ``to_dict`` to JSON-able dicts (finite numbers only, so they can be
content-hashed with :func:`charter.domain.canonical.content_digest`) and back with
``from_dict``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from charter.domain.canonical import content_digest
from charter.domain.errors import BadInput
from charter.monitoring.categorical import CategoricalColumn, CategoricalSummary, category_text
from charter.monitoring.numeric import NumericColumn, NumericSummary, numeric_values
from charter.monitoring.performance import (
    Calibration,
    ConfusionCounts,
    ExpectedCounts,
    class_index,
)

Column = NumericColumn | CategoricalColumn
Summary = NumericSummary | CategoricalSummary

REFERENCE_FORMAT = "charter.monitoring.reference"
WINDOW_FORMAT = "charter.monitoring.window"
FORMAT_VERSION = 1
MISSING_COHORT = "<missing>"
OTHER_COHORT = "<other>"


@dataclass(frozen=True, eq=False)
class CohortCounts:
    """Per-cohort rows, realised counts (when labelled) and label-free counts."""

    rows: int
    confusion: ConfusionCounts | None
    expected: ExpectedCounts | None

    def merge(self, other: CohortCounts) -> CohortCounts:
        """Counts of both sets of rows."""
        return CohortCounts(
            self.rows + other.rows,
            _merge_optional(self.confusion, other.confusion),
            _merge_optional(self.expected, other.expected),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "rows": self.rows,
            "confusion": self.confusion.to_dict() if self.confusion else None,
            "expected": self.expected.to_dict() if self.expected else None,
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
        )


def _merge_optional(a: Any, b: Any) -> Any:
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
    calibration: Calibration | None
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
            calibration=Calibration.from_dict(calibration) if calibration else None,
            cohort=(
                CategoricalColumn.from_dict(cohort_name or "cohort", cohort) if cohort else None
            ),
            baseline=CohortCounts.from_dict(data["baseline"]),
            cohorts={str(k): CohortCounts.from_dict(v) for k, v in data["cohorts"].items()},
        )


@dataclass(frozen=True, eq=False)
class ReferenceProfile:
    """Everything a window is compared with; built once by :func:`build_reference`."""

    rows: int
    features: tuple[str, ...]
    columns: dict[str, Column]
    prediction: str | None = None
    score: str | None = None
    label: str | None = None
    cohort: str | None = None
    bins: int = 100
    max_categories: int = 100
    performance: PerformanceSetup | None = None

    @property
    def monitored(self) -> tuple[str, ...]:
        """Columns tested for drift: the features, then the prediction and the score."""
        extra = tuple(c for c in (self.prediction, self.score) if c is not None)
        return self.features + extra

    @cached_property
    def digest(self) -> str:
        """Content digest; windows carry it so they are never compared with another
        reference."""
        return content_digest(self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (see docs/monitoring.md for the shape)."""
        return {
            "format": REFERENCE_FORMAT,
            "version": FORMAT_VERSION,
            "rows": self.rows,
            "features": list(self.features),
            "roles": {
                "prediction": self.prediction,
                "score": self.score,
                "label": self.label,
                "cohort": self.cohort,
            },
            "config": {"bins": self.bins, "max_categories": self.max_categories},
            "columns": {name: col.to_dict() for name, col in self.columns.items()},
            "performance": self.performance.to_dict() if self.performance else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReferenceProfile:
        """Inverse of :meth:`to_dict`."""
        if not isinstance(data, dict) or data.get("format") != REFERENCE_FORMAT:
            raise BadInput("not a Charter reference profile")
        if data.get("version") != FORMAT_VERSION:
            raise BadInput(f"unsupported reference profile version {data.get('version')!r}")
        try:
            columns: dict[str, Column] = {}
            for name, col in data["columns"].items():
                kind = col.get("kind")
                if kind == "numeric":
                    columns[name] = NumericColumn.from_dict(name, col)
                elif kind == "categorical":
                    columns[name] = CategoricalColumn.from_dict(name, col)
                else:
                    raise BadInput(f"column {name!r} has unknown kind {kind!r}")
            roles = data["roles"]
            performance = data.get("performance")
            profile = cls(
                rows=int(data["rows"]),
                features=tuple(str(f) for f in data["features"]),
                columns=columns,
                prediction=roles.get("prediction"),
                score=roles.get("score"),
                label=roles.get("label"),
                cohort=roles.get("cohort"),
                bins=int(data["config"]["bins"]),
                max_categories=int(data["config"]["max_categories"]),
                performance=(
                    PerformanceSetup.from_dict(performance, roles.get("cohort"))
                    if performance
                    else None
                ),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise BadInput(f"malformed reference profile: {exc}") from exc
        for name in (*profile.monitored, *(c for c in [profile.label] if c)):
            if name not in columns:
                raise BadInput(f"reference profile lacks column {name!r}")
        return profile


@dataclass(frozen=True, eq=False)
class WindowProfile:
    """Counts of one window on a reference's bins; mergeable with :func:`merge_windows`."""

    reference: str
    rows: int
    columns: dict[str, Summary]
    confusion: ConfusionCounts | None = None
    expected: ExpectedCounts | None = None
    cohorts: dict[str, CohortCounts] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (see docs/monitoring.md for the shape)."""
        return {
            "format": WINDOW_FORMAT,
            "version": FORMAT_VERSION,
            "reference": self.reference,
            "rows": self.rows,
            "columns": {name: s.to_dict() for name, s in self.columns.items()},
            "confusion": self.confusion.to_dict() if self.confusion else None,
            "expected": self.expected.to_dict() if self.expected else None,
            "cohorts": {k: v.to_dict() for k, v in sorted(self.cohorts.items())},
        }

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, WindowProfile):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    @classmethod
    def from_dict(cls, data: dict[str, Any], reference: ReferenceProfile) -> WindowProfile:
        """Inverse of :meth:`to_dict`, checked against the reference it was built on."""
        if not isinstance(data, dict) or data.get("format") != WINDOW_FORMAT:
            raise BadInput("not a Charter window profile")
        if data.get("version") != FORMAT_VERSION:
            raise BadInput(f"unsupported window profile version {data.get('version')!r}")
        if data.get("reference") != reference.digest:
            raise BadInput("the window profile was built on another reference profile")
        try:
            columns: dict[str, Summary] = {}
            for name, column in reference.columns.items():
                raw = data["columns"][name]
                summary: Summary
                if isinstance(column, NumericColumn):
                    summary = NumericSummary.from_dict(raw)
                    expected_size = column.n_bins
                else:
                    summary = CategoricalSummary.from_dict(raw)
                    expected_size = len(column.categories) + 2
                if summary.counts.size != expected_size:
                    raise BadInput(f"window column {name!r} does not match the reference bins")
                columns[name] = summary
            confusion = data.get("confusion")
            expected = data.get("expected")
            return cls(
                reference=reference.digest,
                rows=int(data["rows"]),
                columns=columns,
                confusion=ConfusionCounts.from_dict(confusion) if confusion else None,
                expected=ExpectedCounts.from_dict(expected) if expected else None,
                cohorts={str(k): CohortCounts.from_dict(v) for k, v in data["cohorts"].items()},
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise BadInput(f"malformed window profile: {exc}") from exc


def _is_categorical(series: pd.Series) -> bool:
    dtype = series.dtype
    return not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)


def build_reference(
    data: pd.DataFrame,
    *,
    features: Sequence[str] | None = None,
    categorical: Sequence[str] = (),
    prediction: str | None = None,
    score: str | None = None,
    label: str | None = None,
    cohort: str | None = None,
    positive_label: Any = 1,
    bins: int = 100,
    max_categories: int = 100,
) -> ReferenceProfile:
    """Profile a reference data set once.

    ``features`` defaults to every column not named in a role. A feature is categorical
    when listed in ``categorical`` or when its dtype is not numeric (bools included);
    otherwise numeric, binned on ``bins`` reference quantiles. ``prediction`` and ``label``
    are categorical, ``score`` (P(positive) for binary classifiers) numeric. With a label
    and a prediction the reference also holds baseline performance (per ``cohort`` too),
    and with a score the isotonic calibration used for label-free estimates.
    """
    if not isinstance(data, pd.DataFrame) or data.empty:
        raise BadInput("the reference must be a non-empty DataFrame")
    if bins < 2:
        raise BadInput("bins must be at least 2")
    if max_categories < 1:
        raise BadInput("max_categories must be at least 1")
    roles = [c for c in (prediction, score, label, cohort) if c is not None]
    if features is None:
        features = [str(c) for c in data.columns if c not in roles]
    wanted = list(dict.fromkeys([*features, *roles]))
    missing = [c for c in wanted if c not in data.columns]
    if missing:
        raise BadInput(f"the reference lacks columns {missing}")
    # A cohort column may well be a feature too; prediction, score and label may not.
    model_roles = {c for c in (prediction, score, label) if c is not None}
    if len(set(features)) != len(features) or set(features) & model_roles:
        raise BadInput("feature names must be unique and distinct from prediction/score/label")
    if len(model_roles) != len([c for c in (prediction, score, label) if c is not None]):
        raise BadInput("prediction, score and label must be different columns")

    columns: dict[str, Column] = {}
    for name in features:
        series = data[name]
        if name in categorical or _is_categorical(series):
            columns[name] = CategoricalColumn.fit(name, series, max_categories=max_categories)
        else:
            columns[name] = NumericColumn.fit(name, series, bins=bins)
    for role in (prediction, label):
        if role is not None:
            columns[role] = CategoricalColumn.fit(role, data[role], max_categories=max_categories)
    if score is not None:
        columns[score] = NumericColumn.fit(score, data[score], bins=bins)

    performance = None
    if prediction is not None and label is not None:
        performance = _performance_setup(
            data, prediction, score, label, cohort, positive_label, columns, max_categories
        )
    return ReferenceProfile(
        rows=len(data),
        features=tuple(features),
        columns=columns,
        prediction=prediction,
        score=score,
        label=label,
        cohort=cohort,
        bins=bins,
        max_categories=max_categories,
        performance=performance,
    )


def _performance_setup(
    data: pd.DataFrame,
    prediction: str,
    score: str | None,
    label: str,
    cohort: str | None,
    positive_label: Any,
    columns: dict[str, Column],
    max_categories: int,
) -> PerformanceSetup:
    label_col, pred_col = columns[label], columns[prediction]
    assert isinstance(label_col, CategoricalColumn)
    assert isinstance(pred_col, CategoricalColumn)
    classes = tuple(sorted(set(label_col.categories) | set(pred_col.categories)))
    positive = category_text(positive_label) if positive_label is not None else None
    setup = PerformanceSetup(classes, positive, None, None, CohortCounts(0, None, None))
    calibration = None
    if score is not None and len(classes) == 2 and setup.positive_index is not None:
        scores, _, _ = numeric_values(data[score])
        truth = class_index(data[label], classes)
        usable = np.isfinite(scores) & (truth >= 0)
        outcome = (truth[usable] == setup.positive_index).astype(np.float64)
        calibration = Calibration.fit(scores[usable], outcome)
    cohort_column = None
    if cohort is not None:
        cohort_column = CategoricalColumn.fit(cohort, data[cohort], max_categories=max_categories)
    setup = PerformanceSetup(classes, positive, calibration, cohort_column, setup.baseline)
    baseline, cohorts = _performance_counts(data, setup, prediction, score, label, cohort)
    return PerformanceSetup(classes, positive, calibration, cohort_column, baseline, cohorts)


def _performance_counts(
    data: pd.DataFrame,
    setup: PerformanceSetup,
    prediction: str,
    score: str | None,
    label: str,
    cohort: str | None,
) -> tuple[CohortCounts, dict[str, CohortCounts]]:
    """Realised and label-free counts over all rows and per cohort."""
    n_classes = len(setup.classes)
    predicted = class_index(data[prediction], setup.classes)
    if label in data.columns:
        truth = class_index(data[label], setup.classes)
    else:
        truth = np.full(len(data), -1, dtype=np.int64)
    scores = numeric_values(data[score])[0] if score is not None else None
    positive = setup.positive_index
    probability = None
    if scores is not None and setup.calibration is not None:
        probability = setup.calibration.apply(scores)
    binary_score = scores if n_classes == 2 and positive is not None else None

    def counts(mask: Any) -> CohortCounts:
        rows = int(np.count_nonzero(mask)) if mask is not None else len(data)
        sel = slice(None) if mask is None else mask
        t, p = truth[sel], predicted[sel]
        # Always counted, even with no label yet, so that merging stays exact.
        s = binary_score[sel] if binary_score is not None else None
        confusion = ConfusionCounts.of(t, p, n_classes, s, positive)
        expected = None
        if probability is not None and positive is not None:
            prob = probability[sel]
            usable = np.isfinite(prob) & (p >= 0)
            expected = ExpectedCounts.of(prob[usable], p[usable] == positive)
        return CohortCounts(rows, confusion, expected)

    overall = counts(None)
    cohorts: dict[str, CohortCounts] = {}
    if cohort is not None and setup.cohort is not None:
        names = _cohort_names(data[cohort], setup.cohort)
        for name in np.unique(names):
            cohorts[str(name)] = counts(names == name)
    return overall, cohorts


def _cohort_names(series: pd.Series, column: CategoricalColumn) -> Any:
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    kept = set(column.categories)
    texts = [category_text(u) for u in uniques]
    mapped = np.asarray([t if t in kept else OTHER_COHORT for t in texts] + [MISSING_COHORT])
    return mapped[codes]  # code -1 (missing) picks the last entry


def profile_window(reference: ReferenceProfile, data: pd.DataFrame) -> WindowProfile:
    """Profile one batch of production rows on the reference's bins.

    Every monitored column must be present. The label column may be absent (labels often
    arrive later): its values then count as missing and realised performance is skipped.
    """
    if not isinstance(data, pd.DataFrame):
        raise BadInput("a window batch must be a DataFrame")
    absent = [c for c in reference.monitored if c not in data.columns]
    if absent:
        raise BadInput(f"the batch lacks monitored columns {absent}")
    if reference.cohort is not None and reference.cohort not in data.columns:
        raise BadInput(f"the batch lacks the cohort column {reference.cohort!r}")
    columns: dict[str, Summary] = {}
    for name, column in reference.columns.items():
        if name in data.columns:
            columns[name] = column.summarise(data[name])
        else:
            empty = column.empty()
            assert isinstance(empty, CategoricalSummary)
            columns[name] = CategoricalSummary(empty.counts, len(data), 0)
    confusion = expected = None
    cohorts: dict[str, CohortCounts] = {}
    setup = reference.performance
    if setup is not None and reference.prediction is not None and reference.label is not None:
        overall, cohorts = _performance_counts(
            data, setup, reference.prediction, reference.score, reference.label, reference.cohort
        )
        confusion, expected = overall.confusion, overall.expected
        cohorts = {k: v for k, v in cohorts.items() if v.rows}
    return WindowProfile(reference.digest, len(data), columns, confusion, expected, cohorts)


def merge_windows(first: WindowProfile, *others: WindowProfile) -> WindowProfile:
    """Merge window profiles of the same reference; exact and order-independent."""
    result = first
    for other in others:
        if other.reference != result.reference:
            raise BadInput("window profiles of different references cannot be merged")
        if set(other.columns) != set(result.columns):
            raise BadInput("window profiles over different columns cannot be merged")
        columns: dict[str, Summary] = {}
        for name, summary in result.columns.items():
            columns[name] = _merge_summary(summary, other.columns[name])
        cohorts = dict(result.cohorts)
        for name, counts in other.cohorts.items():
            cohorts[name] = cohorts[name].merge(counts) if name in cohorts else counts
        result = WindowProfile(
            reference=result.reference,
            rows=result.rows + other.rows,
            columns=columns,
            confusion=_merge_optional(result.confusion, other.confusion),
            expected=_merge_optional(result.expected, other.expected),
            cohorts=cohorts,
        )
    return result


def _merge_summary(a: Summary, b: Summary) -> Summary:
    if isinstance(a, NumericSummary) and isinstance(b, NumericSummary):
        return a.merge(b)
    if isinstance(a, CategoricalSummary) and isinstance(b, CategoricalSummary):
        return a.merge(b)
    raise BadInput("cannot merge a numeric summary with a categorical one")


def update_window(
    reference: ReferenceProfile, window: WindowProfile | None, batch: pd.DataFrame
) -> WindowProfile:
    """Add one batch to a window (or start one): ``merge(window, profile(batch))``."""
    addition = profile_window(reference, batch)
    return addition if window is None else merge_windows(window, addition)


def empty_window(reference: ReferenceProfile) -> WindowProfile:
    """A window with no rows yet."""
    columns: dict[str, Summary] = {n: c.empty() for n, c in reference.columns.items()}
    setup = reference.performance
    if setup is None:
        return WindowProfile(reference.digest, 0, columns)
    expected = ExpectedCounts.empty() if setup.calibration is not None else None
    return WindowProfile(
        reference.digest, 0, columns, ConfusionCounts.empty(len(setup.classes)), expected
    )

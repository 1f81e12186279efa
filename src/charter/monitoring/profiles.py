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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import pandas as pd

from charter.domain.canonical import content_digest
from charter.domain.errors import BadInput
from charter.monitoring.categorical import CategoricalColumn, CategoricalSummary, category_text
from charter.monitoring.counts import (
    MISSING_COHORT,
    OTHER_COHORT,
    CohortCounts,
    PerformanceSetup,
    merge_optional,
    multiclass_dict,
    multiclass_from,
    performance_counts,
    performance_setup,
)
from charter.monitoring.multiclass import MulticlassCalibration, MulticlassExpected
from charter.monitoring.numeric import NumericColumn, NumericSummary
from charter.monitoring.performance import ConfusionCounts, ExpectedCounts

__all__ = [
    "MISSING_COHORT",
    "OTHER_COHORT",
    "CohortCounts",
    "PerformanceSetup",
    "ReferenceProfile",
    "WindowProfile",
    "build_reference",
    "empty_window",
    "merge_windows",
    "profile_window",
    "update_window",
]

Column = NumericColumn | CategoricalColumn
Summary = NumericSummary | CategoricalSummary
REFERENCE_FORMAT = "charter.monitoring.reference"
WINDOW_FORMAT = "charter.monitoring.window"
FORMAT_VERSION = 1


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
    #: Multiclass: the probability column of each class (class text -> column).
    class_scores: dict[str, str] = field(default_factory=dict)

    @property
    def monitored(self) -> tuple[str, ...]:
        """Columns tested for drift: the features, then the prediction and the score (or
        the class-probability columns)."""
        extra = tuple(c for c in (self.prediction, self.score) if c is not None)
        return self.features + extra + tuple(self.class_scores.values())

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
                # Only when set, so that every earlier reference keeps its digest.
                **({"class_scores": dict(self.class_scores)} if self.class_scores else {}),
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
                class_scores={str(k): str(v) for k, v in (roles.get("class_scores") or {}).items()},
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
    #: Multiclass label-free counts (see :mod:`charter.monitoring.multiclass`).
    expected_classes: MulticlassExpected | None = None

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
            **multiclass_dict(self.expected_classes),
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
                expected_classes=multiclass_from(data),
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
    class_scores: Mapping[Any, str] | None = None,
) -> ReferenceProfile:
    """Profile a reference data set once.

    ``features`` defaults to every column not named in a role. A feature is categorical
    when listed in ``categorical`` or when its dtype is not numeric (bools included);
    otherwise numeric, binned on ``bins`` reference quantiles. ``prediction`` and ``label``
    are categorical, ``score`` (P(positive) for binary classifiers) numeric. With a label
    and a prediction the reference also holds baseline performance (per ``cohort`` too),
    and with a score the isotonic calibration used for label-free estimates. A multiclass
    classifier names its probability columns in ``class_scores`` (class -> column) instead
    of ``score``: each is calibrated one-vs-rest (see :mod:`charter.monitoring.multiclass`).
    """
    if not isinstance(data, pd.DataFrame) or data.empty:
        raise BadInput("the reference must be a non-empty DataFrame")
    if bins < 2:
        raise BadInput("bins must be at least 2")
    if max_categories < 1:
        raise BadInput("max_categories must be at least 1")
    scores_by_class = {category_text(k): str(v) for k, v in (class_scores or {}).items()}
    if scores_by_class and (score is not None or prediction is None or label is None):
        raise BadInput("class_scores need a prediction and a label, and replace score")
    roles = [c for c in (prediction, score, label, cohort) if c is not None]
    roles += list(scores_by_class.values())
    if features is None:
        features = [str(c) for c in data.columns if c not in roles]
    wanted = list(dict.fromkeys([*features, *roles]))
    missing = [c for c in wanted if c not in data.columns]
    if missing:
        raise BadInput(f"the reference lacks columns {missing}")
    # A cohort column may well be a feature too; prediction, score and label may not.
    named = [c for c in (prediction, score, label) if c is not None]
    named += list(scores_by_class.values())
    model_roles = set(named)
    if len(set(features)) != len(features) or set(features) & model_roles:
        raise BadInput("feature names must be unique and distinct from prediction/score/label")
    if len(model_roles) != len(named):
        raise BadInput("prediction, score, label and class scores must be different columns")

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
    for column in scores_by_class.values():
        columns[column] = NumericColumn.fit(column, data[column], bins=bins)

    performance = None
    if prediction is not None and label is not None:
        performance = performance_setup(
            data,
            prediction,
            score,
            label,
            cohort,
            positive_label,
            columns,
            max_categories,
            scores_by_class,
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
        class_scores=scores_by_class,
    )


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
    confusion = expected = classes = None
    cohorts: dict[str, CohortCounts] = {}
    setup = reference.performance
    if setup is not None and reference.prediction is not None and reference.label is not None:
        overall, cohorts = performance_counts(
            data, setup, reference.prediction, reference.score, reference.label, reference.cohort
        )
        confusion, expected, classes = overall.confusion, overall.expected, overall.expected_classes
        cohorts = {k: v for k, v in cohorts.items() if v.rows}
    return WindowProfile(
        reference.digest, len(data), columns, confusion, expected, cohorts, classes
    )


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
            confusion=merge_optional(result.confusion, other.confusion),
            expected=merge_optional(result.expected, other.expected),
            cohorts=cohorts,
            expected_classes=merge_optional(result.expected_classes, other.expected_classes),
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
    expected = classes = None
    if isinstance(setup.calibration, MulticlassCalibration):
        classes = MulticlassExpected.empty(len(setup.classes))
    elif setup.calibration is not None:
        expected = ExpectedCounts.empty()
    confusion = ConfusionCounts.empty(len(setup.classes))
    return WindowProfile(reference.digest, 0, columns, confusion, expected, {}, classes)

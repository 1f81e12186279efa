"""Performance read from profiles: realised on labelled rows, estimated without labels.

Realised metrics come from the window's confusion matrix and agree with scikit-learn on
the same rows. The label-free estimate (confidence-based, like CBPE) uses the calibration
fitted on the reference; it always carries its assumptions and should be shown next to the
drift report, because drift is exactly when those assumptions are at risk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from charter.domain.errors import BadInput
from charter.monitoring.multiclass import (
    MulticlassCalibration,
    MulticlassExpected,
    estimate_multiclass,
    multiclass_metrics,
)
from charter.monitoring.performance import (
    PerformanceEstimate,
    estimate_from_expected,
    metrics_from_confusion,
)
from charter.monitoring.profiles import (
    CohortCounts,
    PerformanceSetup,
    ReferenceProfile,
    WindowProfile,
)


@dataclass(frozen=True)
class RealisedPerformance:
    """Metrics on the labelled rows of a window (None where undefined)."""

    n: int
    metrics: dict[str, float | None]
    brier: float | None = None
    cohorts: dict[str, RealisedPerformance] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "n": self.n,
            "metrics": self.metrics,
            "brier": self.brier,
            "cohorts": {k: v.to_dict() for k, v in sorted(self.cohorts.items())},
        }


def _setup(reference: ReferenceProfile) -> PerformanceSetup:
    if reference.performance is None:
        raise BadInput("the reference has no prediction and label, so no performance")
    return reference.performance


def _realised(counts: CohortCounts, setup: PerformanceSetup) -> RealisedPerformance:
    confusion = counts.confusion
    if confusion is None or confusion.n == 0:
        return RealisedPerformance(0, {})
    brier = confusion.brier.value / confusion.brier_n if confusion.brier_n else None
    metrics = metrics_from_confusion(confusion.matrix, setup.positive_index)
    if len(setup.classes) > 2:
        metrics.update(multiclass_metrics(confusion.matrix))
    return RealisedPerformance(confusion.n, metrics, brier)


def realised_performance(
    reference: ReferenceProfile, window: WindowProfile | None = None
) -> RealisedPerformance:
    """Realised metrics of a window (or, without one, the reference baseline), overall and
    per cohort. Accuracy always; precision, recall, specificity, F1 and the Brier score for
    binary classifiers; macro and weighted precision, recall and F1 for three or more
    classes."""
    setup = _setup(reference)
    if window is None:
        overall, cohorts = setup.baseline, setup.cohorts
    else:
        if window.reference != reference.digest:
            raise BadInput("the window profile was built on another reference profile")
        overall = CohortCounts(
            window.rows, window.confusion, window.expected, window.expected_classes
        )
        cohorts = window.cohorts
    result = _realised(overall, setup)
    by_cohort = {name: _realised(counts, setup) for name, counts in cohorts.items()}
    return RealisedPerformance(result.n, result.metrics, result.brier, by_cohort)


@dataclass(frozen=True)
class EstimatedPerformance:
    """A label-free estimate overall and per cohort."""

    overall: PerformanceEstimate
    cohorts: dict[str, PerformanceEstimate] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "overall": self.overall.to_dict(),
            "cohorts": {k: v.to_dict() for k, v in sorted(self.cohorts.items())},
        }


def estimate_performance(
    reference: ReferenceProfile, window: WindowProfile
) -> EstimatedPerformance:
    """Estimate the window's accuracy (with a 95% band) and expected confusion matrix from
    calibrated scores alone; see :data:`charter.monitoring.performance.ASSUMPTIONS`.
    For a multiclass reference (``class_scores``) every metric carries a band; see
    :mod:`charter.monitoring.multiclass`."""
    setup = _setup(reference)
    if setup.calibration is None:
        raise BadInput(
            "label-free estimation needs a binary classifier with a score column and a "
            "positive label present in the reference, or a multiclass one with class_scores"
        )
    if window.reference != reference.digest:
        raise BadInput("the window profile was built on another reference profile")
    if isinstance(setup.calibration, MulticlassCalibration):
        return _estimate_multiclass(setup, window)
    baseline = _realised(setup.baseline, setup)
    accuracy = baseline.metrics.get("accuracy")

    def estimate(counts: CohortCounts, ref_counts: CohortCounts | None) -> PerformanceEstimate:
        ref_accuracy, ref_n = accuracy, baseline.n
        if ref_counts is not None:
            # The calibration level per cohort is only as sure as that cohort's rows.
            cohort_ref = _realised(ref_counts, setup)
            ref_accuracy, ref_n = cohort_ref.metrics.get("accuracy"), cohort_ref.n
        if counts.expected is None:
            return _empty_estimate()
        return estimate_from_expected(
            counts.expected, reference_accuracy=ref_accuracy, reference_n=ref_n
        )

    overall = estimate(CohortCounts(window.rows, window.confusion, window.expected), None)
    cohorts = {
        name: estimate(counts, setup.cohorts.get(name)) for name, counts in window.cohorts.items()
    }
    return EstimatedPerformance(overall, cohorts)


def _estimate_multiclass(setup: PerformanceSetup, window: WindowProfile) -> EstimatedPerformance:
    def estimate(
        counts: MulticlassExpected | None, ref_counts: CohortCounts | None
    ) -> PerformanceEstimate:
        if counts is None:
            counts = MulticlassExpected.empty(len(setup.classes))
        ref = ref_counts.expected_classes if ref_counts is not None else None
        return estimate_multiclass(counts, setup.classes, ref)

    overall = estimate(window.expected_classes, setup.baseline)
    cohorts = {
        name: estimate(counts.expected_classes, setup.cohorts.get(name))
        for name, counts in window.cohorts.items()
    }
    return EstimatedPerformance(overall, cohorts)


def _empty_estimate() -> PerformanceEstimate:
    """The estimate of a window with no scored rows."""
    return PerformanceEstimate(0, None, None, None, {}, {})

"""Live-monitoring statistics: profiles, drift, data quality, performance, hysteresis.

Pure functions over pandas DataFrames and JSON-able profiles; no database, no I/O. The
service layer builds a :class:`ReferenceProfile` once, folds production batches into
mergeable :class:`WindowProfile` objects, and asks for verdicts::

    reference = build_reference(df, features=[...], prediction="y_pred",
                                score="y_pred_proba", label="repaid")
    window = update_window(reference, None, batch)          # then again per batch
    drift = detect_drift(reference, window)
    quality = check_quality(reference, window)
    realised = realised_performance(reference, window)      # labelled rows only
    estimate = estimate_performance(reference, window)      # no labels needed

See docs/monitoring.md for the statistics and their guarantees.
"""

from charter.monitoring.drift import ColumnDrift, DriftConfig, DriftReport, detect_drift
from charter.monitoring.estimates import (
    EstimatedPerformance,
    RealisedPerformance,
    estimate_performance,
    realised_performance,
)
from charter.monitoring.exact import ExactSum
from charter.monitoring.hysteresis import AlertState, HysteresisPolicy, Transition, dedup_key, step
from charter.monitoring.performance import ASSUMPTIONS, PerformanceEstimate
from charter.monitoring.profiles import (
    ReferenceProfile,
    WindowProfile,
    build_reference,
    empty_window,
    merge_windows,
    profile_window,
    update_window,
)
from charter.monitoring.quality import ColumnQuality, QualityConfig, QualityReport, check_quality

__all__ = [
    "ASSUMPTIONS",
    "AlertState",
    "ColumnDrift",
    "ColumnQuality",
    "DriftConfig",
    "DriftReport",
    "EstimatedPerformance",
    "ExactSum",
    "HysteresisPolicy",
    "PerformanceEstimate",
    "QualityConfig",
    "QualityReport",
    "RealisedPerformance",
    "ReferenceProfile",
    "Transition",
    "WindowProfile",
    "build_reference",
    "check_quality",
    "dedup_key",
    "detect_drift",
    "empty_window",
    "estimate_performance",
    "merge_windows",
    "profile_window",
    "realised_performance",
    "step",
    "update_window",
]

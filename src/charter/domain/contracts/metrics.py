"""Metric names a contract may use: one canonical name per statistic, offline and live.

Offline metrics come from the evaluation suites (plugins may add more), so their catalogue
is passed in by the caller; live metrics are computed by the monitoring worker and are
listed here. A statistic has one name everywhere: the selection-rate ratio between cohorts
is ``demographic_parity_ratio`` both in an evaluation and in a live window (fairlearn's
name); ``selection_rate_ratio``, its old live name, is still read, with a deprecation note.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

MetricLevel = Literal["group", "dimension", "dataset"]
#: metric -> [(suite name, level), ...]: what an offline bound may name.
Catalogue = Mapping[str, Sequence[tuple[str, MetricLevel]]]
Monitor = Literal[
    "drift", "performance", "quality", "fairness", "latency", "guardrails", "fallback"
]
Severity = Literal["info", "warning", "critical"]

#: Every monitor the worker can run.
MONITORS: tuple[Monitor, ...] = (
    "drift",
    "performance",
    "quality",
    "fairness",
    "latency",
    "guardrails",
    "fallback",
)
#: Old names still accepted, and the canonical name they stand for.
METRIC_ALIASES: dict[str, str] = {"selection_rate_ratio": "demographic_parity_ratio"}


def deprecation_note(name: str) -> str | None:
    """The note to show when a contract uses an old metric name, or None."""
    canonical = METRIC_ALIASES.get(name)
    if canonical is None:
        return None
    return f"{name!r} is deprecated: write {canonical!r} (the same statistic)"


@dataclass(frozen=True)
class LiveMetric:
    """A statistic the worker computes per window, the monitor it belongs to, its severity."""

    name: str
    monitor: Monitor
    severity: Severity
    description: str


LIVE_METRICS: dict[str, LiveMetric] = {
    m.name: m
    for m in (
        LiveMetric("accuracy", "performance", "critical", "realised, or estimated without labels"),
        LiveMetric("precision", "performance", "critical", "TP/(TP+FP)"),
        LiveMetric("recall", "performance", "critical", "TP/(TP+FN)"),
        LiveMetric("f1", "performance", "critical", "harmonic mean of precision and recall"),
        LiveMetric("specificity", "performance", "critical", "TN/(TN+FP)"),
        # Multiclass classifiers (a reference with class_scores): realised, or estimated
        # without labels by charter.monitoring.multiclass.
        LiveMetric("precision_macro", "performance", "critical", "multiclass: mean precision"),
        LiveMetric("recall_macro", "performance", "critical", "multiclass: mean recall"),
        LiveMetric("f1_macro", "performance", "critical", "multiclass: mean F1 over classes"),
        LiveMetric(
            "precision_weighted", "performance", "critical", "multiclass: precision by support"
        ),
        LiveMetric("recall_weighted", "performance", "critical", "multiclass: recall by support"),
        LiveMetric("f1_weighted", "performance", "critical", "multiclass: F1 weighted by support"),
        LiveMetric("accuracy_ratio", "fairness", "critical", "min/max accuracy across cohorts"),
        LiveMetric(
            "demographic_parity_ratio", "fairness", "warning", "min/max selection rate, no labels"
        ),
        LiveMetric("latency_p50_ms", "latency", "warning", "median latency"),
        LiveMetric("latency_p95_ms", "latency", "warning", "95th percentile latency"),
        LiveMetric("latency_p99_ms", "latency", "warning", "99th percentile latency"),
        LiveMetric("block_rate", "guardrails", "warning", "share of guarded requests blocked"),
        LiveMetric("fallback_rate", "fallback", "warning", "share of requests on the fallback"),
    )
}

"""The verdict on one closed window: pure, no database.

:func:`judge_window` takes the reference, the monitoring plan, the window's merged
profile (and its labelled rows' profile) and its signal counts, and returns a
:class:`~charter.domain.window_results.WindowVerdict`: drift, data quality, realised and
estimated performance, fairness, the five signals and each rule's ``Breach`` (what
hysteresis steps on).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from charter.domain.contracts import MonitoringPlan
from charter.domain.window_results import (
    AccuracySignal,
    Breach,
    DriftSignal,
    LatencySignal,
    Signals,
    WindowVerdict,
)
from charter.monitoring import signal_counts
from charter.monitoring.distributions import column_distribution
from charter.monitoring.drift import detect_drift
from charter.monitoring.estimates import estimate_performance, realised_performance
from charter.monitoring.multiclass import METRICS as MULTICLASS_METRICS
from charter.monitoring.profiles import ReferenceProfile, WindowProfile
from charter.monitoring.quality import check_quality


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None or not math.isfinite(value) else round(value, digits)


def selection_rates(window: WindowProfile, min_sample: int) -> dict[str, tuple[int, float]]:
    """Share of positive decisions per cohort, without labels: ``{cohort: (rows, rate)}``.

    The expected confusion counts of a cohort sum calibrated probabilities over the rows
    predicted positive (``tp``) and their complements (``fp``), so ``tp + fp`` is exactly
    the number of positive decisions. Cohorts with fewer than ``min_sample`` rows are left
    out: their rate is too noisy to compare.
    """
    rates = {}
    for name, counts in window.cohorts.items():
        expected = counts.expected
        if expected is None or expected.n < max(min_sample, 1):
            continue
        rates[name] = (expected.n, (expected.tp.value + expected.fp.value) / expected.n)
    return rates


def rate_ratio(rates: dict[str, tuple[int, float]]) -> float | None:
    """min/max of the cohorts' rates (the four-fifths rule compares it with 0.8)."""
    return min_max_ratio([rate for _, rate in rates.values()])


def min_max_ratio(values: Sequence[float]) -> float | None:
    """Smallest over largest of the cohorts' values; None below two cohorts or at zero."""
    if len(values) < 2 or max(values) <= 0:
        return None
    return min(values) / max(values)


def judge_window(
    reference: ReferenceProfile,
    settings: MonitoringPlan,
    window: WindowProfile,
    labels: WindowProfile | None,
    counts: dict[str, Any],
) -> WindowVerdict:
    """Judge one closed window: drift, quality, performance (realised and estimated),
    fairness, the five signals, and each rule's verdict (``breaches``)."""
    min_sample = settings.min_sample
    drift = detect_drift(reference, window)
    quality = check_quality(reference, window)
    estimated = None
    if reference.performance is not None and reference.performance.calibration is not None:
        estimated = estimate_performance(reference, window).overall
    realised = None
    if labels is not None and reference.performance is not None:
        realised = realised_performance(reference, labels)
    labelled = realised.n if realised is not None else 0
    use_realised = realised is not None and labelled >= min_sample
    accuracy_value = (
        realised.metrics.get("accuracy")
        if use_realised and realised
        else (estimated.accuracy if estimated else None)
    )
    statuses = {c.column: c.status for c in drift.columns}
    if all(s == "insufficient_data" for s in statuses.values()):
        drift_verdict = "insufficient data"
    else:
        drift_verdict = "drift" if drift.drifted else "no drift"
    rates = signal_counts.rates(counts)
    latency = LatencySignal(
        p50=_round(signal_counts.latency_quantile(counts, 0.5), 3),
        p95=_round(signal_counts.latency_quantile(counts, 0.95), 3),
        p99=_round(signal_counts.latency_quantile(counts, 0.99), 3),
        n=int(counts.get("latency_n", 0)),
    )
    cohorts: dict[str, Any] = {}
    if realised is not None:
        cohorts = {
            name: {"n": r.n, "accuracy": _round(r.metrics.get("accuracy"))}
            for name, r in sorted(realised.cohorts.items())
        }
    scored = [c["accuracy"] for c in cohorts.values() if c["n"] >= min_sample and c["accuracy"]]
    ratio = min_max_ratio(scored)
    selection = selection_rates(window, min_sample)
    selection_ratio = rate_ratio(selection)
    values: dict[str, tuple[float | None, int]] = {
        "accuracy": (accuracy_value, labelled if use_realised else window.rows),
        "accuracy_ratio": (ratio, labelled),
        "demographic_parity_ratio": (selection_ratio, window.rows),
        "latency_p50_ms": (latency.p50, latency.n),
        "latency_p95_ms": (latency.p95, latency.n),
        "latency_p99_ms": (latency.p99, latency.n),
        "block_rate": (rates["block_rate"], int(counts.get("guarded", 0))),
        "fallback_rate": (rates["fallback_rate"], int(counts.get("fallback_known", 0))),
    }
    # Binary metrics of the positive class, and the multiclass averages (the estimate of a
    # multiclass reference carries them too, each with its band).
    for metric in ("precision", "recall", "f1", "specificity", *MULTICLASS_METRICS[1:]):
        source = (
            realised.metrics
            if use_realised and realised
            else (estimated.metrics if estimated else {})
        )
        values[metric] = (source.get(metric), labelled if use_realised else window.rows)
    breaches: list[Breach] = []
    if "drift" in settings.monitors:
        for column in drift.columns:
            verdict = None if column.status == "insufficient_data" else column.status == "drift"
            breaches.append(
                Breach(
                    monitor="drift",
                    subject=column.column,
                    severity="warning",
                    breached=verdict,
                    n=column.n_window,
                    value=_round(column.effect_value),
                    bound=f"{column.effect} > {column.threshold}",
                )
            )
    if "quality" in settings.monitors:
        for quality_column in quality.columns:
            breaches.append(
                Breach(
                    monitor="quality",
                    subject=quality_column.column,
                    severity="warning",
                    breached=bool(quality_column.issues),
                    n=quality.rows,
                    value=list(quality_column.issues),
                    bound="no data-quality issues",
                )
            )
    for bound in settings.bounds:
        value, n = values.get(bound.metric, (None, 0))
        breaches.append(
            Breach(
                monitor=bound.monitor,
                subject=bound.metric,
                severity=bound.severity,
                breached=None if value is None else not bound.holds(value),
                n=n,
                value=_round(value),
                bound=str(bound),
            )
        )
    return WindowVerdict(
        rows=window.rows,
        labelled=labelled,
        drift={
            "verdict": drift_verdict,
            "columns": drift.drifted,
            "details": {
                c.column: {
                    "status": c.status,
                    "test": c.test,
                    "statistic": _round(c.statistic),
                    "p_value": _round(c.p_value),
                    "p_adjusted": _round(c.p_adjusted),
                    "effect": c.effect,
                    "effect_value": _round(c.effect_value),
                    "threshold": c.threshold,
                    # What the effect compared, for the report's per-feature charts.
                    "distribution": column_distribution(
                        reference.columns[c.column], window.columns[c.column], drift.config.psi_bins
                    ),
                }
                for c in drift.columns
            },
        },
        quality={name: list(issues) for name, issues in quality.issues.items()},
        realised=None
        if realised is None
        else {
            "n": realised.n,
            "metrics": {k: _round(v) for k, v in realised.metrics.items()},
            "cohorts": cohorts,
        },
        estimated=None
        if estimated is None
        else {
            "n": estimated.n,
            "accuracy": _round(estimated.accuracy),
            "lower": _round(estimated.lower),
            "upper": _round(estimated.upper),
            "assumptions": list(estimated.assumptions),
        },
        fairness={"accuracy_ratio": _round(ratio), "cohorts": cohorts} if cohorts else None,
        selection=None
        if not selection
        else {
            "demographic_parity_ratio": _round(selection_ratio),
            "cohorts": {k: {"n": n, "rate": _round(r)} for k, (n, r) in sorted(selection.items())},
        },
        signals=Signals(
            latency_ms=latency,
            accuracy=AccuracySignal(
                value=_round(accuracy_value),
                source=("realised" if use_realised else "estimated")
                if accuracy_value is not None
                else None,
                realised=_round(realised.metrics.get("accuracy"))
                if realised and realised.n
                else None,
                estimated=_round(estimated.accuracy) if estimated else None,
            ),
            drift=DriftSignal(verdict=drift_verdict, columns=list(drift.drifted)),
            block_rate=_round(rates["block_rate"]),
            fallback_rate=_round(rates["fallback_rate"]),
        ),
        breaches=breaches,
    )

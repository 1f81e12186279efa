"""Drift verdicts: a corrected two-sample test AND an effect size above its threshold.

Monitoring that cries wolf gets switched off, so a column is flagged only when both hold:

* its two-sample test (KS for numeric columns, chi-square of homogeneity for categorical
  ones) is significant after Benjamini-Hochberg correction across every column tested in
  the window, and
* its effect size exceeds a threshold: Wasserstein distance over the reference standard
  deviation for numeric columns, Jensen-Shannon distance (with the ``unseen`` bucket) for
  categorical ones by default; PSI on reference-quantile bins can be chosen instead.

A column with fewer than ``min_window`` values in the window (or ``min_reference`` in the
reference) gets ``insufficient_data``, not a verdict, and takes no part in the correction.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

from charter.domain.errors import BadInput
from charter.monitoring.categorical import CategoricalColumn, CategoricalSummary
from charter.monitoring.distributions import coarse_groups
from charter.monitoring.numeric import NumericColumn, NumericSummary
from charter.monitoring.profiles import ReferenceProfile, WindowProfile
from charter.monitoring.stats import (
    benjamini_hochberg,
    chi2_from_counts,
    jensen_shannon,
    ks_from_counts,
    psi,
)

Status = Literal["drift", "no_drift", "insufficient_data"]
NumericEffect = Literal["wasserstein_std", "psi", "jensen_shannon"]
CategoricalEffect = Literal["jensen_shannon", "psi"]
Role = Literal["feature", "prediction", "score"]


@dataclass(frozen=True, kw_only=True)
class DriftConfig:
    """Thresholds of the drift verdict.

    The default effect thresholds let a 0.1 standard-deviation mean shift count as drift
    (Wasserstein/std of 0.1 > 0.05) while sampling noise in windows of a few thousand rows
    does not; PSI's conventional 0.1 and a Jensen-Shannon distance of 0.05 (base 2) sit at
    comparable sensitivity for categorical columns.
    """

    alpha: float = 0.05
    min_window: int = 100
    min_reference: int = 100
    numeric_effect: NumericEffect = "wasserstein_std"
    categorical_effect: CategoricalEffect = "jensen_shannon"
    wasserstein_std_threshold: float = 0.05
    psi_threshold: float = 0.1
    jensen_shannon_threshold: float = 0.05
    psi_bins: int = 10
    psi_floor: float = 1e-4

    def __post_init__(self) -> None:
        if not 0.0 < self.alpha < 1.0:
            raise BadInput("alpha must be between 0 and 1")
        if self.min_window < 1 or self.min_reference < 1 or self.psi_bins < 2:
            raise BadInput("minimum sizes must be positive and psi_bins at least 2")
        if (
            min(self.wasserstein_std_threshold, self.psi_threshold, self.jensen_shannon_threshold)
            < 0
            or not 0 < self.psi_floor < 1
        ):
            raise BadInput("thresholds must be non-negative and psi_floor within (0, 1)")

    def threshold(self, effect: str) -> float:
        """The threshold of a named effect size."""
        value: float = getattr(self, f"{effect}_threshold")
        return value


@dataclass(frozen=True)
class ColumnDrift:
    """The drift verdict on one column, with everything it rests on."""

    column: str
    role: Role
    kind: Literal["numeric", "categorical"]
    status: Status
    n_reference: int
    n_window: int
    test: Literal["ks", "chi2"]
    statistic: float | None = None
    p_value: float | None = None
    p_adjusted: float | None = None
    effect: str | None = None
    effect_value: float | None = None
    threshold: float | None = None
    effects: dict[str, float] = field(default_factory=dict)
    binning_error: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return asdict(self)


@dataclass(frozen=True)
class DriftReport:
    """Verdicts on every monitored column of one window."""

    columns: tuple[ColumnDrift, ...]
    config: DriftConfig

    @property
    def drifted(self) -> list[str]:
        """Columns flagged as drifting."""
        return [c.column for c in self.columns if c.status == "drift"]

    def column(self, name: str) -> ColumnDrift:
        """The verdict on one column."""
        for verdict in self.columns:
            if verdict.column == name:
                return verdict
        raise BadInput(f"no drift verdict for column {name!r}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "config": asdict(self.config),
            "drifted": self.drifted,
            "columns": [c.to_dict() for c in self.columns],
        }


def _finite(value: float) -> float:
    # Effects are finite by construction; guard so a report always serialises.
    return value if math.isfinite(value) else float(np.finfo(np.float64).max)


def _numeric(
    column: NumericColumn, window: NumericSummary, config: DriftConfig
) -> tuple[float, float, float, dict[str, float]]:
    ref = column.reference
    result = ks_from_counts(ref.counts, window.counts)
    groups = coarse_groups(ref.counts, config.psi_bins)
    coarse_ref = np.bincount(groups, weights=ref.counts)
    coarse_win = np.bincount(groups, weights=window.counts)
    distance, _ = column.wasserstein(window)
    variance = ref.variance(column.pivot) or 0.0
    # A constant reference has no spread to scale by: use the absolute distance.
    scale = math.sqrt(variance) if variance > 0 else 1.0
    effects = {
        "wasserstein_std": _finite(distance / scale),
        "psi": _finite(psi(coarse_ref, coarse_win, floor=config.psi_floor)),
        "jensen_shannon": jensen_shannon(coarse_ref, coarse_win),
    }
    return result.statistic, result.p_value, result.binning_error, effects


def _categorical(
    column: CategoricalColumn, window: CategoricalSummary, config: DriftConfig
) -> tuple[float, float, dict[str, float]]:
    ref = column.reference.counts
    result = chi2_from_counts(ref, window.counts)
    effects = {
        "jensen_shannon": jensen_shannon(ref, window.counts),
        "psi": _finite(psi(ref, window.counts, floor=config.psi_floor)),
    }
    return result.statistic, result.p_value, effects


def detect_drift(
    reference: ReferenceProfile, window: WindowProfile, config: DriftConfig | None = None
) -> DriftReport:
    """Drift verdicts for every monitored column (features, prediction, score)."""
    config = config or DriftConfig()
    if window.reference != reference.digest:
        raise BadInput("the window profile was built on another reference profile")
    roles: dict[str, Role] = {name: "feature" for name in reference.features}
    if reference.prediction is not None:
        roles[reference.prediction] = "prediction"
    if reference.score is not None:
        roles[reference.score] = "score"

    pending: list[dict[str, Any]] = []
    for name, role in roles.items():
        column = reference.columns[name]
        summary = window.columns[name]
        entry: dict[str, Any] = {
            "column": name,
            "role": role,
            "n_reference": column.reference.n,
            "n_window": summary.n,
        }
        sufficient = summary.n >= config.min_window and column.reference.n >= config.min_reference
        if isinstance(column, NumericColumn) and isinstance(summary, NumericSummary):
            entry.update(kind="numeric", test="ks", effect=config.numeric_effect)
            if sufficient:
                stat, p, error, effects = _numeric(column, summary, config)
                entry.update(statistic=stat, p_value=p, effects=effects, binning_error=error)
        elif isinstance(column, CategoricalColumn) and isinstance(summary, CategoricalSummary):
            entry.update(kind="categorical", test="chi2", effect=config.categorical_effect)
            if sufficient:
                stat, p, effects = _categorical(column, summary, config)
                entry.update(statistic=stat, p_value=p, effects=effects)
        else:
            raise BadInput(f"column {name!r}: window summary does not match the reference")
        entry["threshold"] = config.threshold(entry["effect"])
        pending.append(entry)

    tested = [e for e in pending if "p_value" in e]
    adjusted = benjamini_hochberg([e["p_value"] for e in tested])
    for entry, p_adj in zip(tested, adjusted, strict=True):
        entry["p_adjusted"] = float(p_adj)
        entry["effect_value"] = entry["effects"][entry["effect"]]
        significant = p_adj <= config.alpha
        large = entry["effect_value"] > entry["threshold"]
        entry["status"] = "drift" if significant and large else "no_drift"
    for entry in pending:
        entry.setdefault("status", "insufficient_data")
    return DriftReport(tuple(ColumnDrift(**e) for e in pending), config)

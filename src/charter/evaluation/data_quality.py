"""The ``data-quality`` suite: schema, missing values, ranges, duplicates and label leakage.

Label leakage is checked one feature at a time: a feature that *alone* predicts the target
almost perfectly usually encodes the outcome (a post-decision field, an ID sorted by
outcome). The single-feature score is

- binary target: ROC AUC of the feature, direction-free (``max(auc, 1 - auc)``); a
  categorical feature is scored by its per-category target rate (in-sample);
- multiclass target: accuracy of predicting the most frequent class of each value
  (numeric features are first cut into 20 quantile bins).

A feature is flagged when its score reaches ``leakage_threshold`` (default 0.98).
Categorical features with more distinct values than half the rows are identifier-like:
they would score perfectly in-sample by construction, so they are reported, not scored.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from charter.evaluation._numeric import json_float, label_text, metric_entry, python_scalar
from charter.evaluation._ranking import GroupRanking
from charter.evaluation.models import Model
from charter.evaluation.prepare import require_columns
from charter.evaluation.spec import InputSpec, RunOptions
from charter.evaluation.suites import MetricInfo, Suite

QUANTILE_BINS = 20
TOP_VALUES = 5

METRICS: dict[str, MetricInfo] = {
    "row_count": MetricInfo("dataset", None, "rows in the data"),
    "duplicate_row_share": MetricInfo("dataset", False, "share of rows repeating an earlier row"),
    "missing_cell_share": MetricInfo("dataset", False, "share of all cells that are missing"),
    "max_missing_share": MetricInfo("dataset", False, "highest missing share of any column"),
    "constant_column_count": MetricInfo("dataset", False, "columns with a single value"),
    "leakage_feature_count": MetricInfo("dataset", False, "features flagged as label leakage"),
    "max_single_feature_score": MetricInfo("dataset", False, "best single-feature score"),
}


def _kind(series: pd.Series) -> str:
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_numeric_dtype(dtype):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    return "categorical"


def column_profile(series: pd.Series) -> dict[str, Any]:
    """Schema and summary statistics of one column."""
    kind = _kind(series)
    missing = int(series.isna().sum())
    n = len(series)
    profile: dict[str, Any] = {
        "name": str(series.name),
        "dtype": str(series.dtype),
        "kind": kind,
        "missing": missing,
        "missing_share": missing / n if n else None,
        "distinct": int(series.nunique(dropna=True)),
        "min": None,
        "max": None,
        "mean": None,
        "std": None,
        "infinite": 0,
        "top_values": [],
    }
    if kind == "numeric":
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        finite = values[np.isfinite(values)]
        profile["infinite"] = int(np.isinf(values).sum())
        if len(finite):
            profile.update(
                min=json_float(finite.min()),
                max=json_float(finite.max()),
                mean=json_float(finite.mean()),
                std=json_float(finite.std(ddof=1)) if len(finite) > 1 else None,
            )
    else:
        counts = series.value_counts(dropna=True).head(TOP_VALUES)
        profile["top_values"] = [
            {"value": label_text(python_scalar(v)), "count": int(c)} for v, c in counts.items()
        ]
    return profile


def _auc_score(values: np.ndarray, positive: np.ndarray) -> float:
    ranking = GroupRanking(values, positive, np.zeros(len(values), dtype=np.int64), 1)
    auc = float(ranking.auc_and_ap()[0][0])
    return max(auc, 1.0 - auc)


def _majority_accuracy(keys: np.ndarray, target: np.ndarray, n_classes: int) -> float:
    _, key_codes = np.unique(keys, return_inverse=True)
    table = np.bincount(key_codes * n_classes + target, minlength=(key_codes.max() + 1) * n_classes)
    return float(table.reshape(-1, n_classes).max(axis=1).sum() / len(target))


def leakage_scores(
    frame: pd.DataFrame, target: pd.Series, features: list[str], threshold: float
) -> list[dict[str, Any]]:
    """Single-feature scores against ``target``, best first (see the module docstring)."""
    known = target.notna().to_numpy()
    target_codes, classes = pd.factorize(target[known], sort=True)
    n_classes = len(classes)
    rows = []
    for feature in features:
        series = frame[feature][known]
        present = series.notna().to_numpy()
        y = np.asarray(target_codes)[present]
        entry: dict[str, Any] = {
            "feature": feature,
            "score": None,
            "method": None,
            "flagged": False,
        }
        kind = _kind(series)
        values = series[present]
        if n_classes < 2 or len(values) < 2 or values.nunique() < 2:
            entry["reason"] = "fewer than two values or classes"
        elif kind == "categorical" and values.nunique() > len(values) / 2:
            entry["reason"] = "identifier-like (distinct values > half the rows)"
        elif n_classes == 2:
            if kind in ("numeric", "boolean"):
                score_values = values.to_numpy(dtype=np.float64)
            else:
                rate = pd.Series(y, index=values.index).groupby(values.to_numpy()).transform("mean")
                score_values = rate.to_numpy(dtype=np.float64)
            if not np.isfinite(score_values).all():
                entry["reason"] = "infinite values"
            else:
                entry.update(score=_auc_score(score_values, y == 1), method="single_feature_auc")
        else:
            if kind == "numeric":
                numbers = values.to_numpy(dtype=np.float64)
                edges = np.unique(np.quantile(numbers, np.linspace(0, 1, QUANTILE_BINS + 1)))
                keys = np.searchsorted(edges[1:-1], numbers, "right")
            else:
                keys = pd.factorize(values)[0]
            entry.update(
                score=_majority_accuracy(np.asarray(keys), y, n_classes),
                method="single_feature_accuracy",
            )
        if entry["score"] is not None:
            entry["flagged"] = entry["score"] >= threshold
            entry.setdefault("reason", None)
        rows.append(entry)
    rows.sort(key=lambda r: -1.0 if r["score"] is None else -r["score"])
    return rows


class DataQualitySuite(Suite):
    """Schema, missing shares, ranges, duplicates and single-feature label leakage."""

    name = "data-quality"
    version = "1.0.0"
    summary = "Schema, missing values, ranges, duplicates, label leakage."
    metrics = METRICS

    def compute(
        self, data: pd.DataFrame, spec: InputSpec, options: RunOptions, *, model: Model | None
    ) -> dict[str, Any]:
        """Profile every column and check every feature for leakage (when a target is set)."""
        n = len(data)
        profiles = [column_profile(data[column]) for column in data.columns]
        duplicates = int(data.duplicated().sum())
        missing_cells = int(data.isna().sum().sum())
        constant = [p["name"] for p in profiles if p["distinct"] <= 1]
        leakage: list[dict[str, Any]] = []
        warnings: list[str] = []
        if spec.target is not None:
            require_columns(data, [("target", spec.target)])
            if spec.features is not None:
                require_columns(data, [("feature", f) for f in spec.features])
                features = list(spec.features)
            else:
                excluded = {spec.target, spec.prediction, *spec.score_columns()}
                features = [c for c in data.columns if c not in excluded]
            leakage = leakage_scores(data, data[spec.target], features, options.leakage_threshold)
            flagged = [row["feature"] for row in leakage if row["flagged"]]
            if flagged:
                warnings.append(f"possible label leakage: {', '.join(flagged)}")
        scores = [row["score"] for row in leakage if row["score"] is not None]
        no_target = "no target column" if spec.target is None else "no feature could be scored"
        overall = {
            "row_count": metric_entry(n),
            "duplicate_row_share": metric_entry(duplicates / n),
            "missing_cell_share": metric_entry(missing_cells / (n * len(data.columns))),
            "max_missing_share": metric_entry(max(p["missing_share"] for p in profiles)),
            "constant_column_count": metric_entry(len(constant)),
            "leakage_feature_count": metric_entry(
                sum(row["flagged"] for row in leakage) if spec.target is not None else None,
                reason="no target column",
            ),
            "max_single_feature_score": metric_entry(
                max(scores) if scores else None, reason=no_target
            ),
        }
        return {
            "task": "data-quality",
            "metrics": {"overall": overall, "cohorts": []},
            "details": {
                "columns": profiles,
                "duplicates": {"rows": duplicates, "share": duplicates / n},
                "constant_columns": constant,
                "leakage": leakage,
                "leakage_threshold": options.leakage_threshold,
            },
            "warnings": warnings,
            "rows_evaluated": n,
        }

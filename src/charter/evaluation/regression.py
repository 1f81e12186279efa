"""The ``regression`` suite: MAE, RMSE, R², MAPE and residual quantiles, overall and per cohort.

- ``mae``, ``rmse``, ``r2`` equal scikit-learn's ``mean_absolute_error``,
  ``root_mean_squared_error`` and ``r2_score``. R² is undefined (None) when the target is
  constant in a group, where scikit-learn would substitute 1.0 or 0.0.
- ``mape`` is the mean of ``|y - ŷ| / |y|`` over the rows where ``y != 0``: rows with a zero
  target have no defined percentage error and are excluded (their count is reported in
  ``details.mape_zero_target_rows``). Without zeros it equals scikit-learn's
  ``mean_absolute_percentage_error``, which instead divides by machine epsilon and returns
  numbers near 1e15. MAPE is a fraction (0.1 = 10%), as in scikit-learn.
- Residuals are ``y - ŷ``; their quantiles are in ``details.residual_quantiles``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from charter.evaluation._numeric import FloatArray, json_float, safe_ratio
from charter.evaluation._results import GroupMetrics, cohort_section, overall_section, stack
from charter.evaluation.bootstrap import Bootstrap
from charter.evaluation.cohorts import Dimension, build_dimensions, overall
from charter.evaluation.models import Model
from charter.evaluation.prepare import prepare_regression
from charter.evaluation.spec import InputSpec, RunOptions
from charter.evaluation.suites import MetricInfo, Suite

RESIDUAL_QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
NAMES = ("mae", "rmse", "r2", "mape", "mean_error")

METRICS: dict[str, MetricInfo] = {
    "mae": MetricInfo("group", False, "mean absolute error"),
    "rmse": MetricInfo("group", False, "root mean squared error"),
    "r2": MetricInfo("group", True, "coefficient of determination"),
    "mape": MetricInfo("group", False, "mean absolute percentage error, rows with y = 0 excluded"),
    "mean_error": MetricInfo("group", None, "mean residual y - ŷ (bias)"),
}

REASONS = {
    "mae": "no rows",
    "rmse": "no rows",
    "r2": "the target is constant",
    "mape": "every target value is zero",
    "mean_error": "no rows",
}


def regression_metrics(
    y_true: FloatArray,
    y_pred: FloatArray,
    dimension: Dimension,
    weights: FloatArray | None = None,
) -> dict[str, FloatArray]:
    """Weighted regression metrics per group of ``dimension``."""
    codes, g = dimension.codes, dimension.n_groups
    w = np.ones_like(y_true) if weights is None else weights
    residual = y_true - y_pred
    count = np.bincount(codes, weights=w, minlength=g)
    mean_true = safe_ratio(np.bincount(codes, weights=w * y_true, minlength=g), count)
    # Two-pass total sum of squares: stable where the one-pass formula cancels badly.
    centred = y_true - np.nan_to_num(mean_true)[codes]
    ss_tot = np.bincount(codes, weights=w * centred * centred, minlength=g)
    ss_res = np.bincount(codes, weights=w * residual * residual, minlength=g)
    nonzero = y_true != 0
    ape = np.zeros_like(y_true)
    ape[nonzero] = np.abs(residual[nonzero]) / np.abs(y_true[nonzero])
    mse = safe_ratio(ss_res, count)
    return {
        "mae": safe_ratio(np.bincount(codes, weights=w * np.abs(residual), minlength=g), count),
        "rmse": np.sqrt(mse),
        "r2": 1.0 - safe_ratio(ss_res, np.where(ss_tot > 0, ss_tot, 0.0)),
        "mape": safe_ratio(
            np.bincount(codes, weights=w * ape, minlength=g),
            np.bincount(codes, weights=w * nonzero, minlength=g),
        ),
        "mean_error": safe_ratio(np.bincount(codes, weights=w * residual, minlength=g), count),
    }


class RegressionSuite(Suite):
    """Error metrics of numeric predictions, overall and per cohort, with intervals."""

    name = "regression"
    version = "1.0.0"
    summary = "MAE, RMSE, R², MAPE and residual quantiles."
    metrics = METRICS

    def compute(
        self, data: pd.DataFrame, spec: InputSpec, options: RunOptions, *, model: Model | None
    ) -> dict[str, Any]:
        """Compute every metric overall and per cohort group."""
        inputs = prepare_regression(data, spec)
        n = len(data)
        dimensions = [
            overall(n),
            *build_dimensions(data, spec, intersections=options.intersections),
        ]
        bootstrap = Bootstrap(options.n_bootstrap, options.confidence, options.seed)
        results = [
            GroupMetrics(point=regression_metrics(inputs.y_true, inputs.y_pred, d))
            for d in dimensions
        ]
        if bootstrap.enabled:
            samples = [
                [regression_metrics(inputs.y_true, inputs.y_pred, d, w) for d in dimensions]
                for w in bootstrap.row_weights(n, "regression")
            ]
            for index, group in enumerate(results):
                group.add_intervals(bootstrap, stack([s[index] for s in samples]))
        residual = inputs.y_true - inputs.y_pred
        quantiles = np.quantile(residual, RESIDUAL_QUANTILES)
        return {
            "task": "regression",
            "metrics": {
                "overall": overall_section(results[0], NAMES, REASONS),
                "cohorts": [
                    cohort_section(d, r, NAMES, REASONS, min_group_size=options.min_group_size)
                    for d, r in zip(dimensions[1:], results[1:], strict=True)
                ],
            },
            "details": {
                "residual_definition": "y_true - y_pred",
                "residual_quantiles": {
                    f"q{round(q * 100):02d}": json_float(v)
                    for q, v in zip(RESIDUAL_QUANTILES, quantiles, strict=True)
                },
                "mape_zero_target_rows": int((inputs.y_true == 0).sum()),
                "target_range": [json_float(inputs.y_true.min()), json_float(inputs.y_true.max())],
            },
            "warnings": (
                [f"{int((inputs.y_true == 0).sum())} row(s) with a zero target excluded from MAPE"]
                if (inputs.y_true == 0).any()
                else []
            ),
            "rows_evaluated": n,
        }

"""Small numeric helpers shared by the suites: safe ratios and JSON-able metric entries.

Results must be canonical JSON (no NaN, no infinities), so an undefined metric is carried as
``NaN`` inside the numeric code and turned into ``None`` plus a reason at the edge.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def safe_ratio(numerator: Any, denominator: Any) -> FloatArray:
    """Return ``numerator / denominator`` elementwise, NaN where the denominator is zero.

    ``np.divide`` with ``where=`` avoids the RuntimeWarning a plain division raises, which
    matters because the project runs with warnings as errors.
    """
    num = np.asarray(numerator, dtype=np.float64)
    den = np.asarray(denominator, dtype=np.float64)
    num, den = np.broadcast_arrays(num, den)
    out = np.full(num.shape, np.nan, dtype=np.float64)
    np.divide(num, den, out=out, where=den != 0)
    return out


def nan_mean(values: FloatArray, axis: int = -1) -> FloatArray:
    """Mean over ``axis`` ignoring NaN, NaN where every value is NaN (without a warning)."""
    defined = ~np.isnan(values)
    total = np.where(defined, values, 0.0).sum(axis=axis)
    return safe_ratio(total, defined.sum(axis=axis))


def nan_max(values: FloatArray, axis: int = -1) -> FloatArray:
    """Maximum over ``axis`` ignoring NaN; NaN where every value is NaN (no warning)."""
    defined = ~np.isnan(values)
    out = np.where(defined, values, -np.inf).max(axis=axis)
    return np.where(defined.any(axis=axis), out, np.nan)


def nan_min(values: FloatArray, axis: int = -1) -> FloatArray:
    """Minimum over ``axis`` ignoring NaN; NaN where every value is NaN (no warning)."""
    defined = ~np.isnan(values)
    out = np.where(defined, values, np.inf).min(axis=axis)
    return np.where(defined.any(axis=axis), out, np.nan)


def json_float(value: Any) -> float | None:
    """Return ``value`` as a finite Python float, or None when it is NaN/infinite/None."""
    if value is None:
        return None
    result = float(value)
    if not math.isfinite(result):
        return None
    return result


def metric_entry(
    value: Any,
    ci_lower: Any = None,
    ci_upper: Any = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """Build the JSON form of one metric: value, confidence interval and why any is missing.

    Every entry has the same four keys so consumers (contracts, reports, the dashboard)
    never need to guess the shape. ``reason`` is kept only when the value is missing.
    """
    point = json_float(value)
    lower = json_float(ci_lower)
    upper = json_float(ci_upper)
    if point is not None:
        reason = None  # a reason explains a missing value only
    elif reason is None:
        reason = "undefined"
    return {"value": point, "ci_lower": lower, "ci_upper": upper, "reason": reason}


def label_text(value: Any) -> str:
    """Render a class or cohort label as text: ``1`` not ``1.0``, ``True`` as ``true``."""
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, np.generic):
        return str(value.item())
    return str(value)


def python_scalar(value: Any) -> Any:
    """Turn a numpy scalar into the matching Python scalar (JSON-able)."""
    if isinstance(value, np.generic):
        return value.item()
    return value

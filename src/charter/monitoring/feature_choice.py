"""Which columns of reference data are features by default, and why the others are not.

Profiling an identifier or a timestamp as a feature makes it drift by construction (every
new window has new ids and later times), and a prediction, score or label column is a
model output, not an input. :func:`default_features` leaves those out and says why; a
column named explicitly as a feature is always kept.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

#: Names that mean a model output or a ground truth when no role names them.
OUTPUT_NAMES = frozenset(
    {
        "prediction",
        "predicted",
        "pred",
        "y_pred",
        "y_hat",
        "score",
        "proba",
        "probability",
        "y_pred_proba",
        "y_score",
        "label",
        "target",
        "y",
        "y_true",
        "outcome",
    }
)
#: Names that mean a point in time.
TIME_NAMES = frozenset({"timestamp", "time", "ts", "datetime", "date", "event_time"})
#: Share of sampled values that must parse as times for a text column to be a timestamp.
TIME_SHARE = 0.9


def _is_timestamp(name: str, series: pd.Series) -> bool:
    if pd.api.types.is_datetime64_any_dtype(series.dtype) or name.lower() in TIME_NAMES:
        return True
    if series.dtype != object and not pd.api.types.is_string_dtype(series.dtype):
        return False
    sample = series.dropna().astype(str).head(200)
    if sample.empty or not sample.str.contains(r"\d{4}-\d{2}-\d{2}", regex=True).all():
        return False
    parsed = pd.to_datetime(sample, errors="coerce", format="ISO8601")
    return bool(parsed.notna().mean() >= TIME_SHARE)


def _is_identifier(name: str, series: pd.Series) -> bool:
    lowered = name.lower()
    if lowered == "id" or lowered.endswith("_id") or lowered == "uuid":
        return True
    if len(series) < 2 or pd.api.types.is_float_dtype(series.dtype):
        return False  # continuous measurements are unique per row too
    if pd.api.types.is_bool_dtype(series.dtype):
        return False
    return bool(series.nunique(dropna=False) == len(series))


def default_features(
    frame: pd.DataFrame, roles: Iterable[str | None]
) -> tuple[list[str], dict[str, str]]:
    """The feature columns of ``frame`` and, for each column left out, the reason.

    Columns with a role (prediction, score, label, cohort) are neither features nor left
    out: they are profiled in their role.
    """
    taken = {r for r in roles if r}
    features: list[str] = []
    left_out: dict[str, str] = {}
    for column in frame.columns:
        name = str(column)
        if name in taken:
            continue
        series = frame[column]
        if name.lower() in OUTPUT_NAMES:
            left_out[name] = "looks like a prediction, score or label column"
        elif _is_timestamp(name, series):
            left_out[name] = "a timestamp"
        elif _is_identifier(name, series):
            left_out[name] = "an identifier (unique per row)"
        else:
            features.append(name)
    return features, left_out

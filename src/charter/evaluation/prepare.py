"""Check the data against an :class:`InputSpec` and turn it into arrays the metrics use.

Every problem a user can fix is a :class:`BadInput` that names the column, what is wrong
and where (data rows are counted from 1, as in a spreadsheet).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from charter.domain.errors import BadInput
from charter.evaluation._numeric import FloatArray, IntArray, label_text, python_scalar
from charter.evaluation.spec import InputSpec

#: Probability rows must sum to one within this tolerance (float32 models round a little).
PROBABILITY_SUM_TOLERANCE = 1e-6


def _rows(mask: np.ndarray, limit: int = 5) -> str:
    positions = np.flatnonzero(mask)
    shown = ", ".join(str(p + 1) for p in positions[:limit])
    more = f" (first {limit} of {len(positions)})" if len(positions) > limit else ""
    return f"row{'s' if len(positions) > 1 else ''} {shown}{more}"


def require_columns(frame: pd.DataFrame, wanted: Sequence[tuple[str, str]]) -> None:
    """Raise BadInput for the first ``(role, column)`` whose column is not in the data."""
    available = [str(c) for c in frame.columns]
    for role, column in wanted:
        if column not in frame.columns:
            shown = ", ".join(available[:30]) + (" ..." if len(available) > 30 else "")
            raise BadInput(
                f"{role} column {column!r} is not in the data; available columns: {shown}",
                location=role,
            )


def check_no_missing(series: pd.Series, role: str) -> None:
    """Raise BadInput when ``series`` has missing values, naming the rows."""
    missing = series.isna().to_numpy()
    if missing.any():
        raise BadInput(
            f"{role} column {series.name!r} has {int(missing.sum())} missing value(s) at "
            f"{_rows(missing)}; remove or fill them before evaluating",
            location=role,
        )


def numeric_column(frame: pd.DataFrame, column: str, role: str) -> FloatArray:
    """Return a column as finite float64, or raise BadInput (non-numeric, NaN, infinite)."""
    series = frame[column]
    if pd.api.types.is_bool_dtype(series.dtype) or not pd.api.types.is_numeric_dtype(series.dtype):
        example = series.dropna().iloc[0] if series.notna().any() else None
        raise BadInput(
            f"{role} column {column!r} is not numeric (dtype {series.dtype}, "
            f"e.g. {example!r}); it must hold numbers",
            location=role,
        )
    check_no_missing(series, role)
    values = series.to_numpy(dtype=np.float64)
    infinite = ~np.isfinite(values)
    if infinite.any():
        raise BadInput(
            f"{role} column {column!r} has infinite values at {_rows(infinite)}", location=role
        )
    return values


def probability_column(frame: pd.DataFrame, column: str, role: str) -> FloatArray:
    """Return a probability column, refusing values outside [0, 1]."""
    values = numeric_column(frame, column, role)
    outside = (values < 0) | (values > 1)
    if outside.any():
        raise BadInput(
            f"{role} column {column!r} must hold probabilities in [0, 1]; found "
            f"{values[outside][0]!r} at {_rows(outside)}",
            location=role,
        )
    return values


def _sorted_labels(values: Sequence[Any]) -> list[Any]:
    try:
        return sorted(values)
    except TypeError:  # mixed types: order by text so the result is still deterministic
        return sorted(values, key=label_text)


def find_label(classes: Sequence[Any], wanted: Any, role: str) -> int:
    """Index of ``wanted`` among ``classes``, matching by value or by text."""
    wanted_text = label_text(wanted).lower()
    for index, label in enumerate(classes):
        if label_text(label).lower() == wanted_text:
            return index
    shown = ", ".join(repr(python_scalar(c)) for c in classes)
    raise BadInput(f"{role} {wanted!r} is not one of the labels: {shown}", location=role)


@dataclass(frozen=True)
class ClassificationInputs:
    """Encoded labels and probabilities.

    ``y_true`` and ``y_pred`` are indices into ``classes``; ``proba`` has one column per
    class (binary scores become ``[1 - p, p]`` in class order); ``positive`` is the index of
    the positive class for binary tasks.
    """

    classes: list[Any]
    positive: int | None
    y_true: IntArray | None
    y_pred: IntArray
    proba: FloatArray | None

    @property
    def binary(self) -> bool:
        """True when there are exactly two classes."""
        return len(self.classes) == 2

    @property
    def class_names(self) -> list[str]:
        """The class labels as text (JSON keys)."""
        return [label_text(c) for c in self.classes]

    def positive_score(self) -> FloatArray | None:
        """The probability of the positive class (binary tasks), or None."""
        if self.proba is None or self.positive is None:
            return None
        return self.proba[:, self.positive]


def _encode(series: pd.Series, classes: list[Any]) -> IntArray:
    lookup = {label_text(c): i for i, c in enumerate(classes)}
    # Factorise, then map the few distinct values: O(n) and vectorised even for 10^6 rows.
    index, uniques = pd.factorize(series)
    remap = np.array([lookup[label_text(python_scalar(v))] for v in uniques], dtype=np.int64)
    return remap[index]


def prepare_classification(
    frame: pd.DataFrame, spec: InputSpec, *, require_target: bool = True
) -> ClassificationInputs:
    """Validate the classification columns of ``frame`` and encode them.

    Raises BadInput for a missing column, a target with one class, missing values in the
    target or predictions, non-numeric / NaN / out-of-range scores, probability rows that
    do not sum to one, and labels that do not match between target and prediction.
    """
    if require_target and spec.target is None:
        raise BadInput("this suite needs a target column", location="target")
    if spec.prediction is None and not spec.score_columns():
        raise BadInput(
            "give a prediction column, a score column or class_scores", location="prediction"
        )
    wanted = [("target", spec.target), ("prediction", spec.prediction), ("score", spec.score)]
    columns = [(role, col) for role, col in wanted if col is not None]
    columns += [("class_scores", col) for col in (spec.class_scores or {}).values()]
    require_columns(frame, columns)

    target = frame[spec.target] if spec.target is not None else None
    prediction = frame[spec.prediction] if spec.prediction is not None else None
    if target is not None:
        check_no_missing(target, "target")
    if prediction is not None:
        check_no_missing(prediction, "prediction")

    observed: dict[str, Any] = {}
    target_labels = [python_scalar(v) for v in pd.unique(target)] if target is not None else []
    pred_labels = (
        [python_scalar(v) for v in pd.unique(prediction)] if prediction is not None else []
    )
    for label in [*target_labels, *pred_labels]:
        observed.setdefault(label_text(label), label)
    if target is not None and len(target_labels) < 2:
        shown = repr(target_labels[0]) if target_labels else "none"
        raise BadInput(
            f"target column {spec.target!r} has a single class ({shown}) in {len(target)} "
            "rows; classification metrics need at least two classes",
            location="target",
        )
    shared = {label_text(v) for v in target_labels} & {label_text(v) for v in pred_labels}
    if target_labels and pred_labels and not shared:
        raise BadInput(
            f"prediction labels {sorted(map(label_text, pred_labels))[:5]} share no value "
            f"with target labels {sorted(map(label_text, target_labels))[:5]}",
            location="prediction",
        )
    if spec.class_scores:
        for key in spec.class_scores:
            if key not in observed:
                # A class the holdout never shows: keep its label type consistent.
                as_int = key.lstrip("-").isdigit() and all(
                    isinstance(v, int) and not isinstance(v, bool) for v in observed.values()
                )
                observed[key] = int(key) if as_int else key
    classes = _sorted_labels(list(observed.values()))
    if len(classes) < 2:
        raise BadInput(
            "the predictions hold a single label and no target was given; "
            "there is nothing to compare",
            location="prediction",
        )

    positive: int | None = None
    if spec.positive_label is not None:
        positive = find_label(classes, spec.positive_label, "positive_label")
    elif len(classes) == 2:
        texts = {label_text(c) for c in classes}
        if texts == {"0", "1"} or texts == {"false", "true"}:
            positive = [label_text(c) for c in classes].index("1" if "1" in texts else "true")
        else:
            raise BadInput(
                f"set positive_label: the labels are {classes[0]!r} and {classes[1]!r}",
                location="positive_label",
            )

    proba = _probabilities(frame, spec, classes, positive)
    y_true = _encode(target, classes) if target is not None else None
    if prediction is not None:
        y_pred = _encode(prediction, classes)
    else:
        assert proba is not None  # guaranteed by the check at the top
        if len(classes) == 2 and positive is not None:
            negative = 1 - positive
            y_pred = np.where(proba[:, positive] >= spec.threshold, positive, negative)
        else:
            y_pred = proba.argmax(axis=1)
        y_pred = y_pred.astype(np.int64)
    return ClassificationInputs(
        classes=classes, positive=positive, y_true=y_true, y_pred=y_pred, proba=proba
    )


def _probabilities(
    frame: pd.DataFrame, spec: InputSpec, classes: list[Any], positive: int | None
) -> FloatArray | None:
    if spec.score is not None:
        if len(classes) != 2 or positive is None:
            raise BadInput(
                f"score gives one probability, but there are {len(classes)} classes "
                f"({', '.join(map(label_text, classes[:6]))}); use class_scores",
                location="score",
            )
        p = probability_column(frame, spec.score, "score")
        proba = np.empty((len(p), 2), dtype=np.float64)
        proba[:, positive] = p
        proba[:, 1 - positive] = 1.0 - p
        return proba
    if not spec.class_scores:
        return None
    columns: list[FloatArray] = []
    texts = {k: v for k, v in spec.class_scores.items()}
    for label in classes:
        column = texts.get(label_text(label))
        if column is None:
            raise BadInput(
                f"class {label_text(label)!r} has no probability column in class_scores",
                location="class_scores",
            )
        columns.append(probability_column(frame, column, "class_scores"))
    proba = np.column_stack(columns)
    off = np.abs(proba.sum(axis=1) - 1.0) > PROBABILITY_SUM_TOLERANCE
    if off.any():
        raise BadInput(
            f"class probabilities must sum to 1 in every row; they do not at {_rows(off)} "
            f"(sum {proba[off][0].sum():.6g}); normalise them first",
            location="class_scores",
        )
    return proba


@dataclass(frozen=True)
class RegressionInputs:
    """True and predicted values as float64 arrays."""

    y_true: FloatArray
    y_pred: FloatArray


def prepare_regression(frame: pd.DataFrame, spec: InputSpec) -> RegressionInputs:
    """Validate a regression target and prediction (both numeric and finite)."""
    if spec.target is None or spec.prediction is None:
        raise BadInput(
            "the regression suite needs a target and a prediction column",
            location="target" if spec.target is None else "prediction",
        )
    require_columns(frame, [("target", spec.target), ("prediction", spec.prediction)])
    return RegressionInputs(
        y_true=numeric_column(frame, spec.target, "target"),
        y_pred=numeric_column(frame, spec.prediction, "prediction"),
    )

"""The records of the ``llm`` suite: field validation, and per-record metric means by group."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from charter.domain.errors import BadInput
from charter.evaluation._numeric import FloatArray, label_text, safe_ratio
from charter.evaluation.cohorts import Dimension
from charter.evaluation.spec import InputSpec


@dataclass
class Records:
    """The validated fields of the records, one entry per row."""

    outputs: list[str]
    inputs: list[str | None]
    contexts: list[list[str] | None]
    expected: list[str | None]
    categories: list[str | None]
    columns: dict[str, str | None] = field(default_factory=dict)


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA:
        return True
    return isinstance(value, float) and math.isnan(value)


def _rows_text(rows: list[int]) -> str:
    shown = ", ".join(str(r + 1) for r in rows[:5])
    return shown + (f" and {len(rows) - 5} more" if len(rows) > 5 else "")


def _type_name(value: Any) -> str:
    return "number" if isinstance(value, int | float | np.number) else type(value).__name__


def _text_column(data: pd.DataFrame, column: str, *, required: bool) -> list[str | None]:
    values = data[column].tolist()
    missing = [i for i, v in enumerate(values) if _is_missing(v)]
    wrong = [i for i, v in enumerate(values) if not _is_missing(v) and not isinstance(v, str)]
    if wrong:
        first = values[wrong[0]]
        raise BadInput(
            f"{column!r} must be text; row(s) {_rows_text(wrong)} hold a "
            f"{_type_name(first)} (e.g. {str(first)[:40]!r}). Quote the value in the JSON "
            'file; note that pandas\' JSON reader turns quoted numbers such as "42" into '
            "numbers",
            location=column,
        )
    if required and missing:
        raise BadInput(
            f"{column!r} is missing in row(s) {_rows_text(missing)}; every record needs one",
            location=column,
        )
    return [None if _is_missing(v) else str(v) for v in values]


def _context_column(data: pd.DataFrame, column: str) -> list[list[str] | None]:
    out: list[list[str] | None] = []
    wrong: list[int] = []
    for index, value in enumerate(data[column].tolist()):
        if isinstance(value, str):
            out.append([value] if value.strip() else None)
        elif isinstance(value, list | tuple | np.ndarray):
            items = list(value)
            if not all(isinstance(v, str) for v in items):
                wrong.append(index)
                out.append(None)
                continue
            passages = [v for v in items if v.strip()]
            out.append(passages or None)
        elif _is_missing(value):
            out.append(None)
        else:
            wrong.append(index)
            out.append(None)
    if wrong:
        raise BadInput(
            f"{column!r} must be a string or a list of strings; row(s) {_rows_text(wrong)} "
            "hold something else",
            location=column,
        )
    return out


def validate_records(data: pd.DataFrame, spec: InputSpec) -> Records:
    """Check the record fields and return them as Python lists.

    ``output`` (or ``spec.prediction``) is required in every record; ``input``,
    ``context``, ``expected`` (or ``spec.target``) and ``category`` are optional.
    """
    output_col = spec.prediction or "output"
    expected_col = spec.target or "expected"
    if output_col not in data.columns:
        raise BadInput(
            f"the llm suite needs an {output_col!r} field in every record; fields found: "
            f"{', '.join(map(str, data.columns))}",
            location=output_col,
        )
    outputs = _text_column(data, output_col, required=True)
    none: list[Any] = [None] * len(data)
    inputs = _text_column(data, "input", required=False) if "input" in data.columns else none
    if spec.target is not None and expected_col not in data.columns:
        raise BadInput(f"no field {expected_col!r} (the spec's target)", location="target")
    expected = (
        _text_column(data, expected_col, required=False) if expected_col in data.columns else none
    )
    contexts = _context_column(data, "context") if "context" in data.columns else none
    categories: list[str | None] = [None] * len(data)
    if "category" in data.columns:
        raw = data["category"].tolist()
        wrong = [i for i, v in enumerate(raw) if isinstance(v, list | dict | tuple)]
        if wrong:
            raise BadInput(
                f"'category' must be a single label; row(s) {_rows_text(wrong)} hold a list "
                "or an object",
                location="category",
            )
        categories = [None if _is_missing(v) else label_text(v) for v in raw]
    return Records(
        outputs=[o or "" for o in outputs],
        inputs=inputs,
        contexts=contexts,
        expected=expected,
        categories=categories,
        columns={
            "output": output_col,
            "input": "input" if "input" in data.columns else None,
            "context": "context" if "context" in data.columns else None,
            "expected": expected_col if expected_col in data.columns else None,
            "category": "category" if "category" in data.columns else None,
        },
    )


def group_means(
    rows: Mapping[str, FloatArray], dimension: Dimension, weights: FloatArray | None = None
) -> dict[str, FloatArray]:
    """Mean of each per-row metric over the rows where it is defined, per group.

    ``weights`` are bootstrap row weights (None: every row once).
    """
    codes, g = dimension.codes, dimension.n_groups
    w = np.ones(len(codes)) if weights is None else weights
    out = {}
    for name, values in rows.items():
        defined = ~np.isnan(values)
        count = np.bincount(codes, weights=w * defined, minlength=g)
        total = np.bincount(codes, weights=w * np.where(defined, values, 0.0), minlength=g)
        out[name] = safe_ratio(total, count)
    return out

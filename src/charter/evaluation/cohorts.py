"""Cohorts: slicing rows by one or more columns, with numeric columns binned by edges.

A :class:`Dimension` is one way of slicing (``sex``; ``age_band``; or the intersection
``sex, age_band``) and assigns each row a group index. The overall population is the
dimension with no columns and a single group, so every metric is computed by the same
group-wise code path.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from charter.domain.errors import BadInput
from charter.evaluation._numeric import IntArray, label_text
from charter.evaluation.prepare import require_columns
from charter.evaluation.spec import InputSpec

#: Label of the group holding rows whose cohort value is missing.
MISSING_GROUP = "(missing)"

#: A numeric cohort column with more distinct values than this needs bin edges.
MAX_UNBINNED_NUMERIC_VALUES = 20


@dataclass(frozen=True)
class Dimension:
    """One way of slicing the rows: the columns, a group index per row, the group labels."""

    columns: tuple[str, ...]
    codes: IntArray
    groups: list[dict[str, str]]

    @property
    def name(self) -> str:
        """``"sex"``, ``"sex, age_band"``, or ``"overall"`` for the whole population."""
        return ", ".join(self.columns) if self.columns else "overall"

    @property
    def n_groups(self) -> int:
        """How many groups the dimension has."""
        return len(self.groups)

    @property
    def sizes(self) -> IntArray:
        """Rows per group."""
        return np.bincount(self.codes, minlength=self.n_groups).astype(np.int64)

    def group_key(self, index: int) -> str:
        """A readable key for a group, e.g. ``sex=female, age_band=[25, 35)``."""
        return ", ".join(f"{c}={v}" for c, v in self.groups[index].items()) or "overall"


def overall(n_rows: int) -> Dimension:
    """The dimension with a single group holding every row."""
    return Dimension(columns=(), codes=np.zeros(n_rows, dtype=np.int64), groups=[{}])


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def bin_labels(edges: tuple[float, ...]) -> list[str]:
    """Labels of the intervals: ``[a, b)`` for each bin, ``[a, b]`` for the last one."""
    labels = []
    for i, (low, high) in enumerate(itertools.pairwise(edges)):
        close = "]" if i == len(edges) - 2 else ")"
        labels.append(f"[{_number(low)}, {_number(high)}{close}")
    return labels


def _binned(series: pd.Series, edges: tuple[float, ...]) -> tuple[IntArray, list[str]]:
    column = str(series.name)
    if pd.api.types.is_bool_dtype(series.dtype) or not pd.api.types.is_numeric_dtype(series.dtype):
        raise BadInput(
            f"cohort column {column!r} has bin edges but is not numeric (dtype {series.dtype})",
            location=f"bins.{column}",
        )
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    missing = np.isnan(values)
    outside = ~missing & ((values < edges[0]) | (values > edges[-1]))
    if outside.any():
        raise BadInput(
            f"{int(outside.sum())} value(s) of cohort column {column!r} fall outside the bin "
            f"edges [{_number(edges[0])}, {_number(edges[-1])}] (e.g. {values[outside][0]:g}); "
            "widen the edges",
            location=f"bins.{column}",
        )
    labels = bin_labels(edges)
    # side="right" makes intervals [a, b); the top edge itself joins the last bin.
    index = np.searchsorted(np.asarray(edges), np.where(missing, edges[0], values), "right") - 1
    index = np.minimum(index, len(labels) - 1)
    counts = np.bincount(index[~missing], minlength=len(labels))
    empty = [labels[i] for i in np.flatnonzero(counts == 0)]
    if empty:
        raise BadInput(
            f"cohort {column}={empty[0]} has zero rows"
            + (f" (and {len(empty) - 1} more empty bin(s))" if len(empty) > 1 else "")
            + "; adjust the bin edges so every bin holds data",
            location=f"bins.{column}",
        )
    if missing.any():
        labels.append(MISSING_GROUP)
        index = np.where(missing, len(labels) - 1, index)
    return index.astype(np.int64), labels


def _categorical(series: pd.Series) -> tuple[IntArray, list[str]]:
    column = str(series.name)
    is_numeric = pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(
        series.dtype
    )
    distinct = series.nunique(dropna=True)
    if is_numeric and distinct > MAX_UNBINNED_NUMERIC_VALUES:
        raise BadInput(
            f"cohort column {column!r} is numeric with {distinct} distinct values; give bin "
            f"edges for it, e.g. bins: {{{column}: [low, ..., high]}}",
            location=f"cohorts.{column}",
        )
    if distinct == 0:
        raise BadInput(
            f"cohort column {column!r} has zero rows with a value (all are missing)",
            location=f"cohorts.{column}",
        )
    index, uniques = pd.factorize(series, sort=True, use_na_sentinel=True)
    labels = [label_text(v) for v in uniques]
    if len(set(labels)) != len(labels):  # e.g. 1 and "1" in an object column
        raise BadInput(
            f"cohort column {column!r} mixes values that print the same; clean the column",
            location=f"cohorts.{column}",
        )
    index = np.asarray(index, dtype=np.int64)
    if (index < 0).any():
        labels.append(MISSING_GROUP)
        index = np.where(index < 0, len(labels) - 1, index)
    return index, labels


def column_groups(frame: pd.DataFrame, column: str, edges: Any = None) -> Dimension:
    """Slice by one column: bins when edges are given, the distinct values otherwise."""
    series = frame[column]
    codes, labels = _binned(series, tuple(edges)) if edges else _categorical(series)
    return Dimension(columns=(column,), codes=codes, groups=[{column: v} for v in labels])


def intersect(parts: list[Dimension]) -> Dimension:
    """The intersection of several dimensions; only combinations that occur become groups."""
    combined = np.zeros(len(parts[0].codes), dtype=np.int64)
    for part in parts:
        combined = combined * part.n_groups + part.codes
    uniques, inverse = np.unique(combined, return_inverse=True)
    groups: list[dict[str, str]] = []
    for value in uniques:
        labels: dict[str, str] = {}
        remainder = int(value)
        for part in reversed(parts):
            remainder, code = divmod(remainder, part.n_groups)
            labels = {**part.groups[code], **labels}
        groups.append(labels)
    columns = tuple(c for part in parts for c in part.columns)
    return Dimension(columns=columns, codes=inverse.astype(np.int64), groups=groups)


def build_dimensions(
    frame: pd.DataFrame, spec: InputSpec, *, intersections: bool = True
) -> list[Dimension]:
    """Every cohort dimension of ``spec``: each column, then (optionally) all of them jointly.

    Only the full intersection of all cohort columns is added, not every subset, so three
    columns give four dimensions rather than seven.
    """
    require_columns(frame, [("cohort", c) for c in spec.cohorts])
    singles = [column_groups(frame, c, spec.bins.get(c)) for c in spec.cohorts]
    if intersections and len(singles) >= 2:
        return [*singles, intersect(singles)]
    return singles

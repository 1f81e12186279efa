"""Window profiles of many groups of rows in one pass: a backfill's hours, for instance.

``profile_groups(reference, data, codes)`` returns, for each group ``g``, exactly
``profile_window(reference, data[codes == g])`` (the same counts, the same exact sums,
so the same JSON), but reads each column once: numeric values are converted, binned and
sorted by (group, value) in one vectorised pass and categorical values factorised once,
so the cost per group is a few small array slices and exact sums instead of the fixed
pandas overhead of profiling each group on its own (~57 ms a group on the car-loan
reference; see docs/benchmarks.md, "Replay"). Profiles stay mergeable: each group's
profile is an ordinary :class:`~charter.monitoring.profiles.WindowProfile`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from charter.domain.errors import BadInput
from charter.monitoring.categorical import (
    _SCALARS,
    MAX_UNSEEN_EXAMPLES,
    CategoricalColumn,
    CategoricalSummary,
    category_text,
)
from charter.monitoring.counts import CohortCounts, PerformanceRows
from charter.monitoring.exact import ExactSum
from charter.monitoring.numeric import NumericColumn, NumericSummary, numeric_values
from charter.monitoring.profiles import ReferenceProfile, Summary, WindowProfile, profile_window

Ints = npt.NDArray[np.int64]


def group_codes(keys: pd.Series | npt.ArrayLike) -> tuple[Ints, list[Any]]:
    """Group codes ``0..G-1`` for ``keys`` (in sorted key order) and the keys themselves."""
    codes, uniques = pd.factorize(pd.Series(keys), sort=True)
    return codes.astype(np.int64), list(uniques)


def profile_groups(
    reference: ReferenceProfile, data: pd.DataFrame, codes: npt.ArrayLike, n_groups: int
) -> list[WindowProfile]:
    """The window profile of each group of rows (``codes[i]`` is row ``i``'s group, in
    ``0..n_groups-1``), equal to profiling each group with ``profile_window``."""
    if not isinstance(data, pd.DataFrame):
        raise BadInput("a window batch must be a DataFrame")
    group = np.asarray(codes, dtype=np.int64)
    if group.shape != (len(data),) or (group.size and (group.min() < 0 or group.max() >= n_groups)):
        raise BadInput("every row needs a group code in 0..n_groups-1")
    if n_groups == 1:
        return [profile_window(reference, data)]
    absent = [c for c in reference.monitored if c not in data.columns]
    if absent:
        raise BadInput(f"the batch lacks monitored columns {absent}")
    if reference.cohort is not None and reference.cohort not in data.columns:
        raise BadInput(f"the batch lacks the cohort column {reference.cohort!r}")
    # Row positions of each group, in row order (a stable sort keeps it).
    order = np.argsort(group, kind="stable")
    bounds = np.searchsorted(group[order], np.arange(n_groups + 1))
    members = [order[bounds[g] : bounds[g + 1]] for g in range(n_groups)]
    sizes = np.diff(bounds)
    per_column: dict[str, list[Summary]] = {}
    for name, column in reference.columns.items():
        if name not in data.columns:
            empty = column.empty()
            assert isinstance(empty, CategoricalSummary)
            per_column[name] = [
                CategoricalSummary(empty.counts, int(size), 0) for size in sizes.tolist()
            ]
        elif isinstance(column, NumericColumn):
            per_column[name] = list(_numeric(column, data[name], group, n_groups))
        else:
            per_column[name] = _categorical(column, data[name], group, n_groups, members)
    performance: list[tuple[CohortCounts | None, dict[str, CohortCounts]]] = [(None, {})] * n_groups
    setup = reference.performance
    if setup is not None and reference.prediction is not None and reference.label is not None:
        rows = PerformanceRows.of(
            data, setup, reference.prediction, reference.score, reference.label, reference.cohort
        )
        performance = [(rows.counts(m), rows.cohort_counts(m)) for m in members]
    result = []
    for g in range(n_groups):
        overall, cohorts = performance[g]
        result.append(
            WindowProfile(
                reference.digest,
                int(sizes[g]),
                {name: summaries[g] for name, summaries in per_column.items()},
                overall.confusion if overall else None,
                overall.expected if overall else None,
                {k: v for k, v in cohorts.items() if v.rows},
                overall.expected_classes if overall else None,
            )
        )
    return result


def _numeric(
    column: NumericColumn, series: pd.Series, group: Ints, n_groups: int
) -> list[NumericSummary]:
    values, _, _ = numeric_values(series)
    missing = series.isna().to_numpy()
    type_errors = np.isnan(values) & ~missing
    finite = np.isfinite(values)
    k = column.n_bins
    # Bin of every finite value, as NumericColumn.summarise defines them: below e[0], the
    # half-open inner bins, the point at the last edge, above it.
    x = values[finite]
    g = group[finite]
    bins = np.searchsorted(column.edges, x, side="right") + (x > column.edges[-1])
    counts = np.bincount(g * k + bins, minlength=n_groups * k).reshape(n_groups, k)
    missing_n = np.bincount(group, weights=missing, minlength=n_groups)
    errors_n = np.bincount(group, weights=type_errors, minlength=n_groups)
    pos_n = np.bincount(group, weights=values == np.inf, minlength=n_groups)
    neg_n = np.bincount(group, weights=values == -np.inf, minlength=n_groups)
    deviation = x - column.pivot
    if x.size and not np.isfinite(deviation).all():
        raise BadInput(f"numeric column {column.name!r} has values too large to summarise")
    # Sorted by group, then value: each group's finite values are one sorted slice.
    order = np.lexsort((x, g))
    x, deviation, g = x[order], deviation[order], g[order]
    squares = deviation * deviation
    starts = np.searchsorted(g, np.arange(n_groups + 1))
    low, high = column.edges[0], column.edges[-1]
    out = []
    for i in range(n_groups):
        part = x[starts[i] : starts[i + 1]]
        below_end = int(np.searchsorted(part, low, side="left"))
        above_start = int(np.searchsorted(part, high, side="right"))
        out.append(
            NumericSummary(
                counts=counts[i].astype(np.int64),
                missing=int(missing_n[i]),
                pos_inf=int(pos_n[i]),
                neg_inf=int(neg_n[i]),
                type_errors=int(errors_n[i]),
                total=ExactSum.of(part),
                squares=ExactSum.of(squares[starts[i] : starts[i + 1]]),
                minimum=float(part[0]) if part.size else None,
                maximum=float(part[-1]) if part.size else None,
                below=ExactSum.of(part[:below_end]),
                above=ExactSum.of(part[above_start:]),
            )
        )
    return out


def _plain_categories(series: pd.Series) -> bool:
    """Whether factorising the whole column gives each group the categories (and texts)
    that counting the group on its own would: true unless Python objects of different
    types compare equal (``1 == 1.0 == True``), whose representative would depend on
    which one a group saw first, or are unhashable. A pandas categorical column counts
    its unused categories too, so it goes group by group as well."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        return False
    if series.dtype != object:
        return True
    kind = pd.api.types.infer_dtype(series, skipna=True)
    return kind in ("string", "empty")


def _categorical(
    column: CategoricalColumn,
    series: pd.Series,
    group: Ints,
    n_groups: int,
    members: list[Ints],
) -> list[Summary]:
    if not _plain_categories(series):
        return [column.summarise(series.iloc[m]) for m in members]
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    index = {name: i for i, name in enumerate(column.categories)}
    others = set(column.other_names)
    other_slot, unseen_slot = len(column.categories), len(column.categories) + 1
    error_slot = unseen_slot + 1  # not a bucket: values without a category text
    texts: list[str | None] = []
    slots = np.empty(len(uniques) + 1, dtype=np.int64)
    for u, value in enumerate(uniques):
        if isinstance(value, _SCALARS):
            text = category_text(value)
            slot = index.get(text)
            if slot is None:
                known = text in others or not column.other_names_complete
                slot = other_slot if known else unseen_slot
            texts.append(text)
        else:
            texts.append(None)
            slot = error_slot
        slots[u] = slot
    missing_slot = error_slot + 1
    slots[len(uniques)] = missing_slot  # code -1 (missing) picks the last entry
    width = missing_slot + 1
    row_slots = slots[codes]
    table = np.bincount(group * width + row_slots, minlength=n_groups * width).reshape(
        n_groups, width
    )
    unseen: list[list[str]] = [[] for _ in range(n_groups)]
    flagged = row_slots == unseen_slot
    if flagged.any():
        pairs = np.unique(np.stack([group[flagged], codes[flagged]]), axis=1)
        for g, u in pairs.T.tolist():
            text = texts[u]
            assert text is not None
            unseen[g].append(text)
    out: list[Summary] = []
    for g in range(n_groups):
        out.append(
            CategoricalSummary(
                counts=table[g, :error_slot].astype(np.int64),
                missing=int(table[g, missing_slot]),
                type_errors=int(table[g, error_slot]),
                unseen_examples=tuple(sorted(set(unseen[g]))[:MAX_UNSEEN_EXAMPLES]),
            )
        )
    return out

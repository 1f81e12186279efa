"""Reference-versus-window distributions of one column, as the drift verdict compared them.

The worker stores these with each judged window so a report can draw, per feature, what
the reference looked like next to what the window did, without re-reading any row. They
come from the counts already in the profiles:

* a **numeric** column is shown on the coarse reference-quantile bins that PSI and
  Jensen-Shannon are computed on (:func:`coarse_groups`: ``psi_bins`` equal-mass groups of
  the reference, plus a bin below the reference minimum and one above its maximum), so
  at most ``psi_bins + 2`` bins whatever the profile's fine KS bins;
* a **categorical** column is shown on the reference's buckets: its kept categories (the
  ``max_categories`` most frequent), ``<other>`` and ``<unseen>``.

Proportions are over the values the drift tests count: missing values, +-inf and type
errors are left out (they are data-quality signals, reported as ``excluded_*``), so each
list sums to 1; a window with no counted value has ``window: null``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from charter.monitoring.categorical import CategoricalColumn, CategoricalSummary
from charter.monitoring.numeric import NumericColumn, NumericSummary


def coarse_groups(ref_counts: npt.NDArray[np.int64], groups: int) -> npt.NDArray[np.int64]:
    """Group index per numeric bin: the bin below, ``groups`` reference-quantile groups of
    the inner bins, and the bin above, so PSI and Jensen-Shannon use the conventional
    coarse quantile bins rather than the fine KS bins."""
    inner = ref_counts[1:-1].astype(np.float64)
    before = np.concatenate([[0.0], np.cumsum(inner)[:-1]]) / max(inner.sum(), 1.0)
    # A tiny tolerance keeps exact quantile boundaries (0.1, 0.2...) in the upper group.
    index = np.minimum(np.floor(before * groups + 1e-9), groups - 1).astype(np.int64) + 1
    return np.concatenate([[0], index, [groups + 1]])


def _shares(counts: npt.NDArray[Any]) -> list[float] | None:
    total = float(counts.sum())
    return None if total <= 0 else [float(c) / total for c in counts]


def _number(value: float) -> str:
    return f"{value:.6g}"


def numeric_distribution(
    column: NumericColumn, window: NumericSummary, groups: int
) -> dict[str, Any]:
    """The reference and window proportions of a numeric column on its coarse bins.

    ``edges`` has one more entry than the inner bins: bin 0 is ``x < edges[0]``, inner bin
    ``i`` is ``edges[i-1] <= x < edges[i]`` except the last, closed at the reference
    maximum ``edges[-1]``, and the final bin is ``x > edges[-1]``.
    """
    fine = column.reference.counts
    index = coarse_groups(fine, groups)
    present = np.unique(index)  # always holds 0 and groups + 1 (below and above)
    size = groups + 2
    reference = np.bincount(index, weights=fine, minlength=size)[present]
    counted = np.bincount(index, weights=window.counts, minlength=size)[present]
    edges = column.edges
    # Fine bin f (1..K) starts at edges[f - 1]; an inner group starts at its first fine bin.
    starts = [int(np.argmax(index == g)) for g in present[1:-1]]
    bounds = [float(edges[f - 1]) for f in starts] + [float(edges[-1])]
    labels = [f"< {_number(bounds[0])}"]
    for i in range(len(bounds) - 1):
        low, high = bounds[i], bounds[i + 1]
        last = i == len(bounds) - 2
        if last and low == high:
            labels.append(f"= {_number(high)}")
        else:
            labels.append(f"[{_number(low)}, {_number(high)}{']' if last else ')'}")
    labels.append(f"> {_number(bounds[-1])}")
    return {
        "kind": "numeric",
        "binning": f"{groups} reference-quantile bins, below and above the reference range",
        "edges": bounds,
        "labels": labels,
        "reference": _shares(reference),
        "window": _shares(counted),
        "n_reference": column.reference.n,
        "n_window": window.n,
        "excluded_reference": column.reference.rows - column.reference.n,
        "excluded_window": window.rows - window.n,
    }


def categorical_distribution(
    column: CategoricalColumn, window: CategoricalSummary
) -> dict[str, Any]:
    """The reference and window proportions of a categorical column on its buckets."""
    return {
        "kind": "categorical",
        "binning": "the reference's kept categories, <other> and <unseen>",
        "labels": column.labels,
        "reference": _shares(column.reference.counts.astype(np.float64)),
        "window": _shares(window.counts.astype(np.float64)),
        "n_reference": column.reference.n,
        "n_window": window.n,
        "excluded_reference": column.reference.rows - column.reference.n,
        "excluded_window": window.rows - window.n,
    }


def column_distribution(column: Any, window: Any, groups: int) -> dict[str, Any] | None:
    """The distribution compared for one column, or None for a mismatched summary."""
    if isinstance(column, NumericColumn) and isinstance(window, NumericSummary):
        return numeric_distribution(column, window, groups)
    if isinstance(column, CategoricalColumn) and isinstance(window, CategoricalSummary):
        return categorical_distribution(column, window)
    return None

"""Numeric columns: reference quantile bins and mergeable per-window summaries.

A numeric column is summarised by counts over the reference's bins: one bin below the
reference minimum, the half-open quantile bins ``[e[i-1], e[i])`` (``bins`` equal-mass
bins, split further in the extreme tails), a point bin at the
reference maximum and one bin above it. When the reference has at most ``bins + 1``
distinct values every one of them is an edge (a *discrete* column), so the counts lose
nothing. Missing values, +inf, -inf and values that are not numbers at all are counted
on their own: they are data-quality signals, not values to drop silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from charter.domain.errors import BadInput
from charter.monitoring.exact import ExactSum

Counts = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]

#: Extra quantile levels in both tails. The extreme equal-mass bins of a long-tailed column
#: are wide, and a shifted window piles its mass into them; narrower tail bins keep the
#: binned Wasserstein distance close to the exact one. They only add edges, so the KS
#: binning error (the largest bin mass) does not grow.
_TAIL_LEVELS = np.array([5e-4, 1e-3, 2e-3, 5e-3, 1 - 5e-3, 1 - 2e-3, 1 - 1e-3, 1 - 5e-4])


def numeric_values(series: pd.Series) -> tuple[Floats, int, int]:
    """Return ``(values as float64 with NaN for missing, missing count, type errors)``.

    Values that cannot be read as numbers (a string in a numeric column) are type errors,
    counted apart from genuinely missing values.
    """
    missing_mask = series.isna().to_numpy()
    if pd.api.types.is_bool_dtype(series.dtype) or pd.api.types.is_numeric_dtype(series.dtype):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        return values, int(missing_mask.sum()), 0
    coerced = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = np.isnan(coerced) & ~missing_mask
    return coerced, int(missing_mask.sum()), int(bad.sum())


@dataclass(frozen=True, eq=False)
class NumericSummary:
    """Mergeable summary of one numeric column over some rows.

    ``counts`` are over the column's bins (see the module docstring); ``total`` and
    ``squares`` are exact sums of the finite values and of ``(x - pivot)**2``;
    ``below`` and ``above`` exact sums of the values outside the reference range (they make
    the Wasserstein distance exact outside that range).
    """

    counts: Counts
    missing: int
    pos_inf: int
    neg_inf: int
    type_errors: int
    total: ExactSum
    squares: ExactSum
    minimum: float | None
    maximum: float | None
    below: ExactSum = field(default_factory=ExactSum)
    above: ExactSum = field(default_factory=ExactSum)

    @property
    def n(self) -> int:
        """Finite values counted."""
        return int(self.counts.sum())

    @property
    def rows(self) -> int:
        """All rows seen, whatever their value."""
        return self.n + self.missing + self.pos_inf + self.neg_inf + self.type_errors

    def mean(self) -> float | None:
        """Mean of the finite values, or None when there are none."""
        if self.n == 0:
            return None
        return float(_fraction(self.total) / self.n)

    def variance(self, pivot: float) -> float | None:
        """Sample variance (ddof=1) of the finite values, or None below two values."""
        n = self.n
        if n < 2:
            return None
        shifted = _fraction(self.total) - n * Fraction(pivot)
        value = (_fraction(self.squares) - shifted * shifted / n) / (n - 1)
        return max(float(value), 0.0)

    def merge(self, other: NumericSummary) -> NumericSummary:
        """Summary of both sets of rows; exact and order-independent."""
        if self.counts.shape != other.counts.shape:
            raise BadInput("numeric summaries over different bins cannot be merged")
        return NumericSummary(
            counts=self.counts + other.counts,
            missing=self.missing + other.missing,
            pos_inf=self.pos_inf + other.pos_inf,
            neg_inf=self.neg_inf + other.neg_inf,
            type_errors=self.type_errors + other.type_errors,
            total=self.total + other.total,
            squares=self.squares + other.squares,
            minimum=_pick(min, self.minimum, other.minimum),
            maximum=_pick(max, self.maximum, other.maximum),
            below=self.below + other.below,
            above=self.above + other.above,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NumericSummary):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "counts": self.counts.tolist(),
            "missing": self.missing,
            "pos_inf": self.pos_inf,
            "neg_inf": self.neg_inf,
            "type_errors": self.type_errors,
            "sum": self.total.to_list(),
            "sum_sq_dev": self.squares.to_list(),
            "min": self.minimum,
            "max": self.maximum,
            "sum_below": self.below.to_list(),
            "sum_above": self.above.to_list(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NumericSummary:
        """Inverse of :meth:`to_dict`."""
        try:
            return cls(
                counts=_counts(data["counts"]),
                missing=int(data["missing"]),
                pos_inf=int(data["pos_inf"]),
                neg_inf=int(data["neg_inf"]),
                type_errors=int(data["type_errors"]),
                total=ExactSum.from_list(data["sum"]),
                squares=ExactSum.from_list(data["sum_sq_dev"]),
                minimum=_optional_float(data["min"]),
                maximum=_optional_float(data["max"]),
                below=ExactSum.from_list(data["sum_below"]),
                above=ExactSum.from_list(data["sum_above"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BadInput(f"malformed numeric summary: {exc}") from exc


@dataclass(frozen=True, eq=False)
class NumericColumn:
    """A numeric column of the reference: its bin edges, pivot and reference summary."""

    name: str
    edges: Floats
    discrete: bool
    pivot: float
    reference: NumericSummary

    @classmethod
    def fit(cls, name: str, series: pd.Series, *, bins: int) -> NumericColumn:
        """Choose bin edges from the reference values and summarise them."""
        values, missing, type_errors = numeric_values(series)
        finite = _sorted_finite(values)
        if finite.size == 0:
            raise BadInput(f"numeric column {name!r} has no finite value in the reference")
        levels = np.unique(np.concatenate([np.linspace(0.0, 1.0, bins + 1), _TAIL_LEVELS]))
        # Inverted-CDF quantiles read off the sorted values: the smallest value whose
        # empirical CDF reaches the level, so every edge is an observed value.
        rank = np.clip(np.ceil(levels * finite.size - 1e-9).astype(np.int64), 1, finite.size)
        edges = np.unique(finite[rank - 1])
        discrete = False
        if edges.size <= bins:
            # Few distinct quantiles: maybe few distinct values, which then all become edges.
            distinct = finite[np.concatenate([[True], finite[1:] != finite[:-1]])]
            if distinct.size <= bins + 1:
                edges, discrete = distinct, True
        pivot = float(np.mean(finite))
        column = cls(name, edges.astype(np.float64), discrete, pivot, _empty(edges.size))
        summary = column._summary(values, finite, missing, type_errors)
        return cls(name, column.edges, discrete, pivot, summary)

    @property
    def n_bins(self) -> int:
        """Number of bins: below, the inner bins, the point at the maximum, above."""
        return int(self.edges.size) + 2

    def summarise(self, series: pd.Series) -> NumericSummary:
        """Summarise some rows of this column on the reference's bins."""
        values, missing, type_errors = numeric_values(series)
        finite = _sorted_finite(values)
        return self._summary(values, finite, missing, type_errors)

    def _summary(
        self, values: Floats, finite: Floats, missing: int, type_errors: int
    ) -> NumericSummary:
        """Summary from the column's values and their finite ones, sorted (``fit`` has
        sorted them already and hands them over rather than sorting twice)."""
        pos_inf = neg_inf = 0
        if values.size - finite.size > missing + type_errors:
            # Missing values and type errors are the NaNs; only other non-finite values
            # can be infinite, so the two passes are skipped when there are none.
            pos_inf = int(np.count_nonzero(values == np.inf))
            neg_inf = int(np.count_nonzero(values == -np.inf))
        # Bin 0: x < e[0]; bin i: e[i-1] <= x < e[i]; bin K: x == e[K-1]; bin K+1: above.
        cuts = np.concatenate(
            [
                np.searchsorted(finite, self.edges, side="left"),
                np.searchsorted(finite, self.edges[-1:], side="right"),
            ]
        )
        counts = np.diff(cuts, prepend=0, append=finite.size).astype(np.int64)
        below_end, above_start = int(cuts[0]), int(cuts[-1])
        with np.errstate(over="ignore"):  # an overflow is refused just below
            deviation = finite - self.pivot
        # x - pivot is monotone in x, so the sorted ends bound every deviation.
        if finite.size and not np.isfinite(deviation[[0, -1]]).all():
            raise BadInput(f"numeric column {self.name!r} has values too large to summarise")
        # The total and both tails are slices of one sorted array: split it once.
        size = int(finite.size)
        ranges = [(0, size), (0, below_end), (above_start, size)]
        total, below, above = ExactSum.of_ranges(finite, ranges)
        with np.errstate(over="ignore"):  # an overflowing square is refused just below
            squared = np.multiply(deviation, deviation, out=deviation)
        (squares,) = ExactSum.of_ranges(squared, [(0, size)])
        return NumericSummary(
            counts=counts,
            missing=missing,
            pos_inf=pos_inf,
            neg_inf=neg_inf,
            type_errors=type_errors,
            total=total,
            squares=squares,
            minimum=float(finite.min()) if finite.size else None,
            maximum=float(finite.max()) if finite.size else None,
            below=below,
            above=above,
        )

    def empty(self) -> NumericSummary:
        """Summary of no rows."""
        return _empty(self.edges.size)

    def grid(self, window: NumericSummary) -> Floats:
        """Bin boundaries for the Wasserstein integral: the outer bins reach the window's
        own extremes, the point bin at the maximum has zero width."""
        low = min(self.edges[0], window.minimum if window.minimum is not None else np.inf)
        high = max(self.edges[-1], window.maximum if window.maximum is not None else -np.inf)
        return np.concatenate([[low], self.edges, [self.edges[-1], high]])

    def wasserstein(self, window: NumericSummary) -> tuple[float, float]:
        """First Wasserstein distance between the reference and a window, and its error
        bound (see :func:`charter.monitoring.stats.wasserstein_from_bins`).

        Outside the reference range the reference has no mass, so the area there is exactly
        ``sum(e0 - x) / m`` below and ``sum(x - e_last) / m`` above.
        """
        from charter.monitoring.stats import wasserstein_from_bins

        m = window.n
        low, high = float(self.edges[0]), float(self.edges[-1])
        below_count, above_count = int(window.counts[0]), int(window.counts[-1])
        below_area = float(below_count * Fraction(low) - _fraction(window.below)) / m
        above_area = float(_fraction(window.above) - above_count * Fraction(high)) / m
        return wasserstein_from_bins(
            self.grid(window),
            self.reference.counts,
            window.counts,
            step_inner=self.discrete,
            outer_areas=(below_area, above_area),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "kind": "numeric",
            "edges": [float(e) for e in self.edges],
            "discrete": self.discrete,
            "pivot": self.pivot,
            "reference": self.reference.to_dict(),
        }

    @classmethod
    def from_dict(cls, name: str, data: dict[str, Any]) -> NumericColumn:
        """Inverse of :meth:`to_dict`."""
        try:
            edges = np.asarray([float(e) for e in data["edges"]], dtype=np.float64)
            column = cls(
                name=name,
                edges=edges,
                discrete=bool(data["discrete"]),
                pivot=float(data["pivot"]),
                reference=NumericSummary.from_dict(data["reference"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BadInput(f"malformed numeric column {name!r}: {exc}") from exc
        if edges.size == 0 or not np.isfinite(edges).all() or (np.diff(edges) <= 0).any():
            raise BadInput(f"numeric column {name!r}: edges must be finite and increasing")
        if column.reference.counts.size != column.n_bins:
            raise BadInput(f"numeric column {name!r}: counts do not match the edges")
        return column


def _sorted_finite(values: Floats) -> Floats:
    """The finite values, sorted, in a new array (``values`` may view the caller's frame).

    Sorting once (fast: SIMD sort) turns binning into ~100 binary searches of the edges
    and hands the exact sums long runs of equal exponents.
    """
    mask = np.isfinite(values)
    # A plain copy is much faster than boolean indexing when nothing is dropped.
    finite = values.copy() if mask.all() else values[mask]
    finite.sort()
    return finite


def _empty(n_edges: int) -> NumericSummary:
    return NumericSummary(
        counts=np.zeros(n_edges + 2, dtype=np.int64),
        missing=0,
        pos_inf=0,
        neg_inf=0,
        type_errors=0,
        total=ExactSum(),
        squares=ExactSum(),
        minimum=None,
        maximum=None,
    )


def _fraction(value: ExactSum) -> Fraction:
    return sum((Fraction(p) for p in value.parts), Fraction(0))


def _pick(chooser: Any, a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return float(chooser(a, b))


def _optional_float(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    if not np.isfinite(number):
        raise ValueError("not a finite number")
    return number


def int_counts(values: Any) -> Counts:
    """Counts from JSON as int64 (what ``int()`` accepts, as before); no check of sign."""
    if isinstance(values, list) and all(type(v) is int for v in values):
        return np.asarray(values, dtype=np.int64)  # the usual case, without a loop of int()
    return np.asarray([int(v) for v in values], dtype=np.int64)


def _counts(values: Any) -> Counts:
    counts = int_counts(values)
    if (counts < 0).any():
        raise ValueError("negative count")
    return counts

"""Two-sample tests and effect sizes computed from counts, never from raw rows.

Every function here takes the reference and window as counts over the same bins (numeric
features: the reference's quantile bins plus one bin below and one above its range;
categorical features: the kept categories, ``other`` and ``unseen``). Each is checked in
``tests/monitoring/test_stats.py`` against scipy on the raw data, with the binning error
documented per function.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

from charter.domain.errors import BadInput

Counts = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]

#: Cochran's rule: a chi-square cell should expect at least five observations.
MIN_EXPECTED = 5.0


@dataclass(frozen=True)
class TestResult:
    """A two-sample test: statistic, p-value and, for binned tests, the binning error bound."""

    statistic: float
    p_value: float
    binning_error: float = 0.0


def _as_counts(counts: npt.ArrayLike, name: str) -> Counts:
    array = np.asarray(counts, dtype=np.int64)
    if array.ndim != 1 or (array < 0).any():
        raise BadInput(f"{name} must be a 1-D array of non-negative counts")
    return array


def ks_from_counts(reference: npt.ArrayLike, window: npt.ArrayLike) -> TestResult:
    """Two-sample Kolmogorov-Smirnov test from counts over the same ordered bins.

    The empirical CDFs are compared at every bin edge only, so the statistic ``D_b`` is a
    lower bound of the exact ``D`` that ``scipy.stats.ks_2samp`` computes on the raw data,
    and ``D - D_b <= max over bins of max(p_ref, p_win)`` (``binning_error``): inside a
    bin each CDF moves by at most that bin's mass. A smaller statistic gives a larger
    p-value, so the binned test never rejects where the exact one would not: it stays
    conservative, and its false-alarm rate stays at or below the nominal level. When every
    distinct value is an edge (discrete features), ``D_b == D`` exactly.

    The p-value is scipy's asymptotic two-sided one, ``kstwo.sf(D, round(n*m/(n+m)))``,
    identical to ``ks_2samp(..., method="asymp")``; scipy's ``auto`` method also uses it
    once either sample exceeds 10,000 rows.
    """
    ref = _as_counts(reference, "reference")
    win = _as_counts(window, "window")
    if ref.shape != win.shape:
        raise BadInput("reference and window counts must cover the same bins")
    n, m = int(ref.sum()), int(win.sum())
    if n == 0 or m == 0:
        raise BadInput("the KS test needs at least one value on each side")
    p_ref = ref / n
    p_win = win / m
    statistic = float(np.max(np.abs(np.cumsum(p_ref) - np.cumsum(p_win))))
    big, small = max(n, m), min(n, m)
    effective = round(big * small / (big + small))
    p_value = float(np.clip(stats.kstwo.sf(statistic, effective), 0.0, 1.0))
    error = float(np.max(np.maximum(p_ref, p_win)))
    return TestResult(statistic, p_value, error)


def chi2_from_counts(
    reference: npt.ArrayLike, window: npt.ArrayLike, *, pool_sparse: bool = True
) -> TestResult:
    """Chi-square test of homogeneity on the 2xk table ``[reference; window]``.

    Identical to ``scipy.stats.chi2_contingency`` (Yates' correction when there is one
    degree of freedom, as scipy does by default) on the same table, after dropping bins
    empty on both sides. With ``pool_sparse``, bins expected to hold fewer than five window
    observations are pooled into one column first (Cochran's rule), because the chi-square
    approximation over-rejects on sparse cells; the pooled table is still a valid test, just
    over a coarser partition. Returns statistic 0 and p-value 1 when fewer than two bins
    remain.
    """
    ref = _as_counts(reference, "reference")
    win = _as_counts(window, "window")
    if ref.shape != win.shape:
        raise BadInput("reference and window counts must cover the same bins")
    keep = (ref + win) > 0
    table = np.vstack([ref[keep], win[keep]]).astype(np.float64)
    if table.shape[1] and pool_sparse:
        table = _pool_sparse_columns(table)
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return TestResult(0.0, 1.0)
    row = table.sum(axis=1, keepdims=True)
    col = table.sum(axis=0, keepdims=True)
    expected = row * col / table.sum()
    dof = table.shape[1] - 1
    diff = table - expected
    if dof == 1:
        # Yates' continuity correction, exactly as scipy applies it.
        direction = np.sign(diff)
        magnitude = np.minimum(np.abs(diff), 0.5)
        diff = diff - direction * magnitude
    statistic = float(np.sum(diff * diff / expected))
    p_value = float(stats.chi2.sf(statistic, dof))
    return TestResult(statistic, p_value)


def _pool_sparse_columns(table: Floats) -> Floats:
    """Merge columns whose smallest expected cell is below five into one pooled column."""
    row = table.sum(axis=1, keepdims=True)
    expected_min = (table.sum(axis=0) * row.min() / table.sum()).ravel()
    sparse = expected_min < MIN_EXPECTED
    if not sparse.any():
        return table
    dense = table[:, ~sparse]
    pooled = table[:, sparse].sum(axis=1, keepdims=True)
    pooled_expected = float(pooled.sum() * row.min() / table.sum())
    if pooled_expected < MIN_EXPECTED and dense.shape[1] > 0:
        # Still too sparse: fold the pool into the smallest dense column.
        smallest = int(np.argmin(dense.sum(axis=0)))
        dense = dense.copy()
        dense[:, smallest] += pooled[:, 0]
        return dense
    return np.hstack([dense, pooled])


def psi(reference: npt.ArrayLike, window: npt.ArrayLike, *, floor: float = 1e-4) -> float:
    """Population stability index ``sum((w - r) * ln(w / r))`` with proportions floored.

    The floor keeps an empty bin on one side from making the index infinite.
    """
    p_ref, p_win = _proportions(reference, window)
    p_ref = np.maximum(p_ref, floor)
    p_win = np.maximum(p_win, floor)
    return float(np.sum((p_win - p_ref) * np.log(p_win / p_ref)))


def jensen_shannon(reference: npt.ArrayLike, window: npt.ArrayLike) -> float:
    """Jensen-Shannon *distance* in bits (0..1), as ``scipy.spatial.distance.jensenshannon``
    with ``base=2``; empty bins need no floor."""
    p_ref, p_win = _proportions(reference, window)
    mid = (p_ref + p_win) / 2.0
    divergence = 0.5 * (_kl_bits(p_ref, mid) + _kl_bits(p_win, mid))
    return float(np.sqrt(max(divergence, 0.0)))


def _kl_bits(p: Floats, q: Floats) -> float:
    mask = p > 0
    return float(np.sum(p[mask] * np.log2(p[mask] / q[mask])))


def _proportions(reference: npt.ArrayLike, window: npt.ArrayLike) -> tuple[Floats, Floats]:
    ref = np.asarray(reference, dtype=np.float64)
    win = np.asarray(window, dtype=np.float64)
    if ref.shape != win.shape or ref.sum() <= 0 or win.sum() <= 0:
        raise BadInput("effect sizes need non-empty counts over the same bins")
    return ref / ref.sum(), win / win.sum()


def wasserstein_from_bins(
    grid: npt.ArrayLike,
    reference: npt.ArrayLike,
    window: npt.ArrayLike,
    *,
    step_inner: bool = False,
    outer_areas: tuple[float, float] | None = None,
) -> tuple[float, float]:
    """First Wasserstein distance between two binned distributions on one grid.

    ``grid`` has one more point than there are bins; bin ``i`` spans
    ``[grid[i], grid[i+1]]``. Mass is assumed spread uniformly inside each bin, so both CDFs
    are piecewise linear and the integral of ``|F_ref - F_win|`` is computed exactly under
    that assumption. With ``step_inner`` (discrete features, every distinct reference value
    an edge) the mass of each inner bin sits on its left edge instead, which is exact.

    ``outer_areas`` replaces the integral over the first and the last bin by values the
    caller knows exactly: when the reference has no mass outside its own range, the area
    below is ``sum(e0 - x) / m`` over window values ``x < e0`` (and likewise above), which
    exact sums of those values give without any assumption.

    Returns ``(distance, error_bound)``: inside a bin each true CDF differs from the
    assumed one by at most that bin's mass, so the error is at most
    ``sum(width * (p_ref + p_win))`` over the bins not computed exactly.
    """
    edges = np.asarray(grid, dtype=np.float64)
    p_ref, p_win = _proportions(reference, window)
    if edges.size != p_ref.size + 1:
        raise BadInput("the grid must have one more point than there are bins")
    widths = np.diff(edges)
    if (widths < 0).any():
        raise BadInput("the grid must be non-decreasing")
    before = np.concatenate([[0.0], np.cumsum(p_ref - p_win)[:-1]])
    after = before + (p_ref - p_win)
    if step_inner:
        # Inner bins (all but the first and last) carry their mass at the left edge: the
        # CDF difference is ``after`` over the whole bin.
        inner = slice(1, widths.size - 1)
        before = before.copy()
        before[inner] = after[inner]
    area = _linear_abs_area(before, after, widths)
    spread = widths * (p_ref + p_win)
    if outer_areas is not None:
        area[0], area[-1] = outer_areas
        spread[0] = spread[-1] = 0.0
    return float(area.sum()), float(spread.sum())


def _linear_abs_area(a: Floats, b: Floats, width: Floats) -> Floats:
    """Integral of |linear from a to b| over ``width``, elementwise."""
    same_sign = a * b >= 0
    total = np.abs(a) + np.abs(b)
    safe = np.where(total > 0, total, 1.0)
    crossing = (a * a + b * b) / (2.0 * safe)
    return width * np.where(same_sign, total / 2.0, crossing)


def benjamini_hochberg(p_values: npt.ArrayLike) -> Floats:
    """Benjamini-Hochberg adjusted p-values (step-up, monotone, capped at 1).

    Equal to ``scipy.stats.false_discovery_control(p, method="bh")``.
    """
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 1 or ((p < 0) | (p > 1)).any():
        raise BadInput("p-values must be a 1-D array within [0, 1]")
    m = p.size
    if m == 0:
        return p.copy()
    order = np.argsort(p, kind="stable")
    ranked = p[order] * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(ranked, 1.0)
    return adjusted

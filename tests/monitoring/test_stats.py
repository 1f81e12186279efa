"""Every statistic against scipy on the raw data, within its documented binning error."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from charter.domain.errors import BadInput
from charter.monitoring import build_reference, profile_window
from charter.monitoring.categorical import CategoricalColumn
from charter.monitoring.numeric import NumericColumn, NumericSummary
from charter.monitoring.stats import (
    benjamini_hochberg,
    chi2_from_counts,
    jensen_shannon,
    ks_from_counts,
    psi,
    wasserstein_from_bins,
)


def _numeric_pair(
    reference: np.ndarray, window: np.ndarray, bins: int = 100
) -> tuple[NumericColumn, np.ndarray]:
    profile = build_reference(pd.DataFrame({"x": reference}), bins=bins)
    column = profile.columns["x"]
    assert isinstance(column, NumericColumn)
    summary = profile_window(profile, pd.DataFrame({"x": window})).columns["x"]
    return column, summary.counts


@pytest.mark.parametrize(
    ("n", "m", "shift"),
    [(20_000, 100, 0.0), (20_000, 1_000, 0.3), (5_000, 5_000, 0.05), (50_000, 20_000, 0.02)],
)
def test_ks_matches_scipy_within_the_binning_error(
    rng: np.random.Generator, n: int, m: int, shift: float
) -> None:
    reference = rng.normal(0.0, 1.0, n)
    window = rng.normal(shift, 1.0, m)
    column, counts = _numeric_pair(reference, window)
    binned = ks_from_counts(column.reference.counts, counts)
    exact = stats.ks_2samp(reference, window, method="asymp")
    # The binned statistic is a lower bound, off by at most the documented error...
    assert 0.0 <= exact.statistic - binned.statistic <= binned.binning_error + 1e-12
    # ...so its p-value is never smaller: the binned test is conservative.
    assert binned.p_value >= exact.pvalue - 1e-12
    # And the p-value is scipy's own for that statistic.
    effective = round(n * m / (n + m))
    assert binned.p_value == pytest.approx(stats.kstwo.sf(binned.statistic, effective), abs=1e-12)


def test_ks_is_exact_for_discrete_columns(rng: np.random.Generator) -> None:
    reference = rng.poisson(3.0, 30_000).astype(float)
    window = rng.poisson(3.3, 12_000).astype(float)
    column, counts = _numeric_pair(reference, window)
    assert column.discrete
    binned = ks_from_counts(column.reference.counts, counts)
    for method in ("asymp", "auto"):  # both sizes exceed 10,000: auto is asymptotic too
        exact = stats.ks_2samp(reference, window, method=method)
        assert binned.statistic == pytest.approx(exact.statistic, abs=1e-12)
        assert binned.p_value == pytest.approx(exact.pvalue, rel=1e-9, abs=1e-300)


def _categorical_counts(reference: pd.Series, window: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    column = CategoricalColumn.fit("c", reference, max_categories=100)
    return column.reference.counts, column.summarise(window).counts


@pytest.mark.parametrize("categories", [2, 3, 7])
def test_chi2_matches_chi2_contingency_exactly(rng: np.random.Generator, categories: int) -> None:
    names = [f"v{i}" for i in range(categories)]
    reference = pd.Series(rng.choice(names, 5_000))
    window = pd.Series(
        rng.choice(
            names, 800, p=np.linspace(1, 2, categories) / np.linspace(1, 2, categories).sum()
        )
    )
    ref_counts, win_counts = _categorical_counts(reference, window)
    result = chi2_from_counts(ref_counts, win_counts)
    keep = (ref_counts + win_counts) > 0
    expected = stats.chi2_contingency(np.vstack([ref_counts[keep], win_counts[keep]]))
    assert result.statistic == pytest.approx(expected.statistic, rel=1e-9, abs=1e-9)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-12)


def test_chi2_pools_sparse_cells_and_stays_a_valid_test() -> None:
    reference = np.array([500, 300, 150, 40, 8, 2, 0])
    window = np.array([50, 28, 15, 5, 1, 0, 1])
    pooled = chi2_from_counts(reference, window)
    unpooled = chi2_from_counts(reference, window, pool_sparse=False)
    keep = (reference + window) > 0
    scipy_result = stats.chi2_contingency(np.vstack([reference[keep], window[keep]]))
    assert unpooled.statistic == pytest.approx(scipy_result.statistic, rel=1e-9)
    assert 0.0 <= pooled.p_value <= 1.0
    assert pooled.statistic != unpooled.statistic


def test_jensen_shannon_matches_scipy_with_the_unseen_bucket(rng: np.random.Generator) -> None:
    reference = pd.Series(rng.choice(["a", "b", "c"], 4_000))
    window = pd.Series(rng.choice(["a", "b", "c", "new"], 900))
    ref_counts, win_counts = _categorical_counts(reference, window)
    assert win_counts[-1] > 0 and ref_counts[-1] == 0  # the unseen bucket is used
    ours = jensen_shannon(ref_counts, win_counts)
    theirs = jensenshannon(ref_counts / ref_counts.sum(), win_counts / win_counts.sum(), base=2)
    assert ours == pytest.approx(theirs, abs=1e-9)


def test_psi_by_hand() -> None:
    reference = np.array([50, 30, 20, 0])
    window = np.array([40, 30, 20, 10])
    r = np.maximum(reference / 100, 1e-4)
    w = np.maximum(window / 100, 1e-4)
    assert psi(reference, window) == pytest.approx(
        float(np.sum((w - r) * np.log(w / r))), abs=1e-12
    )
    assert psi(reference, reference) == 0.0


@pytest.mark.parametrize(
    ("shift", "scale"), [(0.0, 1.0), (0.1, 1.0), (0.5, 1.5), (-2.0, 0.5), (8.0, 1.0)]
)
def test_wasserstein_matches_scipy_within_the_binning_error(
    rng: np.random.Generator, shift: float, scale: float
) -> None:
    reference = rng.normal(0.0, 1.0, 20_000)
    window = rng.normal(shift, scale, 5_000)
    profile = build_reference(pd.DataFrame({"x": reference}))
    column = profile.columns["x"]
    assert isinstance(column, NumericColumn)
    summary = profile_window(profile, pd.DataFrame({"x": window})).columns["x"]
    assert isinstance(summary, NumericSummary)
    distance, bound = column.wasserstein(summary)
    exact = stats.wasserstein_distance(reference, window)
    assert abs(distance - exact) <= bound
    # The bound is loose; in practice the binned distance is within 1% of the reference
    # standard deviation plus 2% of the distance itself.
    assert abs(distance - exact) <= 0.01 + 0.02 * exact


def test_wasserstein_is_exact_for_discrete_columns(rng: np.random.Generator) -> None:
    reference = rng.integers(0, 10, 20_000).astype(float)
    window = rng.integers(2, 10, 3_000).astype(float)
    profile = build_reference(pd.DataFrame({"x": reference}))
    column = profile.columns["x"]
    assert isinstance(column, NumericColumn) and column.discrete
    summary = profile_window(profile, pd.DataFrame({"x": window})).columns["x"]
    assert isinstance(summary, NumericSummary)
    distance, _ = column.wasserstein(summary)
    assert distance == pytest.approx(stats.wasserstein_distance(reference, window), abs=1e-9)


def test_benjamini_hochberg_matches_scipy(rng: np.random.Generator) -> None:
    p = np.concatenate([rng.random(40), rng.random(10) * 1e-3, [0.0, 1.0, 0.5, 0.5]])
    expected = stats.false_discovery_control(p, method="bh")
    np.testing.assert_allclose(benjamini_hochberg(p), expected, rtol=1e-12, atol=0)
    assert benjamini_hochberg([]).size == 0


def test_bad_counts_are_refused() -> None:
    with pytest.raises(BadInput):
        ks_from_counts([1, 2], [1, 2, 3])
    with pytest.raises(BadInput):
        ks_from_counts([0, 0], [1, 2])
    with pytest.raises(BadInput):
        chi2_from_counts([-1, 2], [1, 2])
    with pytest.raises(BadInput):
        benjamini_hochberg([0.5, 1.5])
    with pytest.raises(BadInput):
        wasserstein_from_bins([0.0, 1.0], [1, 1], [1, 1])

"""The shadow comparison's statistics against independent implementations (scipy)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special, stats

from charter.monitoring.shadow import MIN_PAIRS, compare, decile_psi, ks_two_sample


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ks_matches_scipy_with_and_without_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=400)
    b = rng.normal(0.2, 1.1, size=250)
    tied_a, tied_b = np.round(a, 1), np.round(b, 1)  # many ties across the two samples
    for x, y in ((a, b), (tied_a, tied_b)):
        statistic, p_value = ks_two_sample(x, y)
        expected = stats.ks_2samp(x, y, method="asymp")
        assert math.isclose(statistic, expected.statistic, rel_tol=1e-12)
        assert math.isclose(p_value, expected.pvalue, rel_tol=1e-9, abs_tol=1e-300)


def test_psi_on_live_deciles_matches_a_relative_entropy_form() -> None:
    rng = np.random.default_rng(7)
    live = rng.beta(2, 5, size=1_000)
    shadow = rng.beta(2.5, 5, size=1_000)
    edges = np.quantile(live, np.linspace(0, 1, 11))[1:-1]
    bins = np.concatenate([[-np.inf], edges, [np.inf]])
    p = np.maximum(np.histogram(live, bins)[0] / live.size, 1e-4)
    q = np.maximum(np.histogram(shadow, bins)[0] / shadow.size, 1e-4)
    # PSI = sum((q - p) ln(q / p)) = KL(q || p) + KL(p || q)
    expected = float(np.sum(special.rel_entr(q, p) + special.rel_entr(p, q)))
    assert math.isclose(decile_psi(live, shadow), expected, rel_tol=1e-12)
    assert decile_psi(live, live) == 0.0


def test_compare_pairs_requests_and_says_insufficient_below_the_minimum() -> None:
    small = compare([1] * (MIN_PAIRS - 1), [1] * (MIN_PAIRS - 1), [0.5] * 29, [0.5] * 29)
    assert small["verdict"] == "insufficient data" and small["agreement"] is None
    live = [1, 0, 1, None] * 20
    shadow = [1, 1, 1, 0] * 20
    scores = [0.9, 0.2, None, 0.5] * 20
    out = compare(live, shadow, scores, [s if s is None else s + 0.1 for s in scores])
    # The request without a live prediction counts for no agreement, only for its score.
    assert out["decisions_compared"] == 60 and out["agreement"] == pytest.approx(40 / 60)
    assert out["scores_compared"] == 60
    assert out["mean_abs_diff"] == pytest.approx(0.1)
    assert out["verdict"] == "compared"

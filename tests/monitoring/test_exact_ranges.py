"""Exact sums of several ranges of one array, checked against ``fractions.Fraction``."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from charter.domain.errors import BadInput
from charter.monitoring.exact import ExactSum


def _fraction_sum(values: np.ndarray) -> Fraction:
    return sum((Fraction(float(v)) for v in values), Fraction(0))


def _exact(value: ExactSum) -> Fraction:
    return sum((Fraction(p) for p in value.parts), Fraction(0))


def _awkward(rng: np.random.Generator, n: int) -> np.ndarray:
    """Normal values mixed with subnormals, huge values, negatives, zeros and ties."""
    values = rng.normal(0.0, 1.0, n) * 10.0 ** rng.integers(-6, 6, n)
    pick = rng.integers(0, 6, n)
    values[pick == 0] = (
        rng.choice([-1.0, 1.0], (pick == 0).sum())
        * 5e-324
        * rng.integers(1, 1 << 40, (pick == 0).sum())
    )
    values[pick == 1] = rng.uniform(-1.0, 1.0, (pick == 1).sum()) * 1e300
    values[pick == 2] = 0.0
    values[pick == 3] = -np.abs(values[pick == 3])
    return values


@pytest.mark.parametrize("n", [0, 7, 300, 70_000, 140_001])
@pytest.mark.parametrize("ordered", [True, False])
def test_ranges_match_fraction_sums(n: int, ordered: bool) -> None:
    rng = np.random.default_rng(n + ordered)
    values = _awkward(rng, n)
    if ordered:
        values.sort()
    cut = sorted(int(c) for c in rng.integers(0, n + 1, 4))
    ranges = [(0, n), (0, cut[0]), (cut[1], n), (cut[1], cut[3]), (cut[2], cut[2]), (5, 3)]
    ranges += [(n, n + 10), (0, n + 10), (65_535, 65_537)]
    sums = ExactSum.of_ranges(values, ranges)
    assert len(sums) == len(ranges)
    for (a, b), got in zip(ranges, sums, strict=True):
        assert _exact(got) == _fraction_sum(values[a:b]), (a, b)
        assert got == ExactSum.of(values[a:b])
        assert got.parts == ExactSum.of(values[a:b]).parts


def test_empty_ranges_sum_to_zero() -> None:
    values = np.array([1.5, -2.0, 3.25])
    assert [s.parts for s in ExactSum.of_ranges(values, [(1, 1), (3, 3), (2, 0)])] == [()] * 3
    assert ExactSum.of_ranges(np.array([]), [(0, 0)])[0].value == 0.0


def test_long_runs_of_one_exponent_stay_exact() -> None:
    # Run sums in int64 would overflow without the half split: 2**20 values of 1 - 2**-53.
    values = np.full(1 << 20, 1.0 - 2.0**-53)
    (total, tail) = ExactSum.of_ranges(values, [(0, values.size), (1000, values.size)])
    assert _exact(total) == (1 << 20) * Fraction(1.0 - 2.0**-53)
    assert _exact(tail) == ((1 << 20) - 1000) * Fraction(1.0 - 2.0**-53)


def test_bad_values_and_bounds_are_refused() -> None:
    with pytest.raises(BadInput):
        ExactSum.of_ranges(np.array([1.0, np.nan]), [(0, 1)])
    with pytest.raises(BadInput):
        ExactSum.of_ranges(np.array([1.0, 2.0]), [(-1, 2)])

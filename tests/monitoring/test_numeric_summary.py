"""Numeric summaries: the sorted copy, the infinity counts and the overflow check."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from charter.domain.errors import BadInput
from charter.monitoring.numeric import NumericColumn


def test_summarising_leaves_the_callers_values_unsorted(rng: np.random.Generator) -> None:
    values = rng.normal(0.0, 1.0, 1_000)
    frame = pd.DataFrame({"x": values.copy()})
    column = NumericColumn.fit("x", frame["x"], bins=10)
    column.summarise(frame["x"])
    assert np.array_equal(frame["x"].to_numpy(), values)


def test_infinities_are_counted_beside_missing_values() -> None:
    column = NumericColumn.fit("x", pd.Series([1.0, 2.0, 3.0]), bins=2)
    series = pd.Series([np.nan, np.inf, 2.0, -np.inf, np.inf, np.nan])
    summary = column.summarise(series)
    assert (summary.n, summary.missing, summary.pos_inf, summary.neg_inf) == (1, 2, 2, 1)
    only_missing = column.summarise(pd.Series([np.nan, 2.0]))
    assert (only_missing.missing, only_missing.pos_inf, only_missing.neg_inf) == (1, 0, 0)


def test_values_too_far_from_the_pivot_are_refused() -> None:
    far = NumericColumn.fit("x", pd.Series([-1e308]), bins=2)
    with pytest.raises(BadInput, match="too large"):
        far.summarise(pd.Series([-1e308, 2.0, 1e308]))  # 1e308 - pivot overflows
    column = NumericColumn.fit("x", pd.Series([1.0, 2.0, 3.0]), bins=2)
    with pytest.raises(BadInput, match="finite values only"):
        column.summarise(pd.Series([2.0, 1e200]))  # its square overflows

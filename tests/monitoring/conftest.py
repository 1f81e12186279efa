"""Fixtures for the monitoring statistics tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.helpers import CAR_LOAN

#: The car-loan tests need ../shared/datasets; they skip, saying so, without it.
CAR_LOAN_TESTS = [
    pytest.mark.datasets,
    pytest.mark.skipif(not CAR_LOAN.is_dir(), reason="../shared/datasets is absent"),
]


def mixed_frame(rng: np.random.Generator, n: int, *, shift: float = 0.0) -> pd.DataFrame:
    """A small mixed frame: two numeric columns, a discrete one, two categoricals."""
    return pd.DataFrame(
        {
            "income": rng.lognormal(10.0, 0.5, n) * (1.0 + shift),
            "age": rng.normal(40.0, 12.0, n) + 12.0 * shift,
            "children": rng.poisson(1.2, n).astype(np.int64),
            "region": rng.choice(["north", "south", "east", "west"], n, p=[0.4, 0.3, 0.2, 0.1]),
            "owner": rng.random(n) < 0.3 + shift,
        }
    )


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator: every test is reproducible."""
    return np.random.default_rng(20261124)

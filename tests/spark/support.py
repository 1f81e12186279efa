"""Builders for the Spark profile tests: inference records over a few hours."""

from __future__ import annotations

import numpy as np
import pandas as pd

from charter.monitoring import ReferenceProfile, build_reference

START = pd.Timestamp("2026-11-24T09:00:00Z")


def records(
    rng: np.random.Generator, n: int, *, hours: int = 3, shift: float = 0.0
) -> pd.DataFrame:
    """Records with numeric, discrete, categorical (with missing values) and boolean
    features, a prediction, a score, a label (some missing), a cohort, signal fields and
    a timestamp spread over ``hours`` hours."""
    score = rng.random(n)
    x = rng.normal(shift, 1.0, n)
    x[::37] = np.nan
    colour = rng.choice(np.array(["red", "green", "blue", "violet"], dtype=object), n)
    colour[::23] = None
    label = (rng.random(n) < score).astype(float)
    label[::5] = np.nan
    return pd.DataFrame(
        {
            "inference_id": [f"i{i}" for i in range(n)],
            # Microseconds: what Spark timestamps hold.
            "timestamp": (START + pd.to_timedelta(rng.uniform(0, hours * 3600, n), unit="s")).floor(
                "us"
            ),
            "x": x,
            "children": rng.poisson(1.5, n).astype(np.int64),
            "colour": colour,
            "owner": rng.random(n) < 0.4,
            "region": rng.choice(["north", "south"], n),
            "pred": (score > 0.5).astype(np.int64),
            "score": score,
            "label": label,
            "latency_ms": rng.lognormal(2.0, 0.5, n),
            "blocked": rng.random(n) < 0.05,
        }
    )


def reference(rng: np.random.Generator) -> ReferenceProfile:
    """A reference on the same columns, with a cohort and a calibration."""
    data = records(rng, 4_000).dropna(subset=["label"])
    return build_reference(
        data,
        features=["x", "children", "colour", "owner", "region"],
        prediction="pred",
        score="score",
        label="label",
        cohort="region",
        bins=20,
    )

"""Builders for the multiclass estimation tests: a calibrated softmax model."""

from __future__ import annotations

import numpy as np
import pandas as pd

CLASSES = np.array(["a", "b", "c"])
WEIGHTS = np.array([[2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7]])
SCORES = {"a": "p_a", "b": "p_b", "c": "p_c"}


def scored(rng: np.random.Generator, n: int, shift: float = 0.0) -> pd.DataFrame:
    """A softmax model whose scores are the true class probabilities (calibrated);
    ``shift`` moves the inputs only (covariate shift: P(label | x) is unchanged)."""
    x = rng.normal(0.0, 1.0, (n, 2)) + shift
    logits = x @ WEIGHTS.T
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    truth = (rng.random(n)[:, None] > np.cumsum(p, axis=1)).sum(axis=1).clip(0, 2)
    return pd.DataFrame(
        {
            "x1": x[:, 0],
            "x2": x[:, 1],
            "group": np.where(rng.random(n) < 0.4, "g1", "g2"),
            "p_a": p[:, 0],
            "p_b": p[:, 1],
            "p_c": p[:, 2],
            "pred": CLASSES[p.argmax(axis=1)],
            "label": CLASSES[truth],
        }
    )

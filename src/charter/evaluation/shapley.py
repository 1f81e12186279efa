"""Interventional Shapley values of any model's output, exact or by permutation sampling.

The value of a coalition ``S`` of features for a row ``x`` is the mean model output over a
background sample with the features in ``S`` set to ``x``'s values (the *interventional*
value function, as SHAP's KernelExplainer and LinearExplainer with an independent masker
use). Feature ``i``'s Shapley value is its weighted mean marginal contribution::

    phi_i = sum over S not holding i of |S|! (M - |S| - 1)! / M! * (v(S + i) - v(S))

- ``exact`` enumerates all ``2^M`` coalitions (feasible up to about a dozen features);
- ``sampling`` averages marginal contributions along random permutations, drawn in
  antithetic pairs (a permutation and its reverse), and reports each value's standard error.

Both are *efficient* by construction: ``base_value + sum(phi) == f(x)`` exactly, where
``base_value`` is the mean output over the background. For a model additive in its output
(a linear model read in log-odds) every marginal contribution of ``i`` is the same, so
both methods return ``coef_i * (x_i - mean(background_i))`` exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from charter.domain.errors import BadInput
from charter.evaluation._numeric import FloatArray

Method = Literal["exact", "sampling"]
#: Largest feature count for exact enumeration (2^12 coalitions per explained row).
MAX_EXACT_FEATURES = 12
#: Model rows evaluated in one call at most (bounds memory on wide frames).
BATCH_ROWS = 200_000

Output = Callable[[pd.DataFrame], FloatArray]


@dataclass(frozen=True)
class Explanation:
    """Shapley values of one row: ``values[i]`` for ``features[i]``; ``stderr`` when sampled."""

    output: float
    base_value: float
    values: FloatArray
    stderr: FloatArray | None


def _hybrids(
    x: pd.DataFrame, background: pd.DataFrame, masks: np.ndarray, features: list[str]
) -> pd.DataFrame:
    """Rows ``(coalition, background row)``: features in the coalition taken from ``x``."""
    n_masks, n_bg = masks.shape[0], len(background)
    columns = {}
    for j, column in enumerate(features):
        bg = background[column].to_numpy()
        own = x[column].to_numpy()[0]
        tiled = np.tile(bg, n_masks)
        take = np.repeat(masks[:, j], n_bg)
        values = tiled.copy()
        values[take] = own
        columns[column] = pd.Series(values, dtype=background[column].dtype)
    return pd.DataFrame(columns)


def coalition_values(
    output: Output,
    x: pd.DataFrame,
    background: pd.DataFrame,
    masks: np.ndarray,
    features: list[str],
) -> FloatArray:
    """``v(S)`` for every coalition mask (rows of ``masks``): mean output over the background."""
    n_bg = len(background)
    per_call = max(1, BATCH_ROWS // max(n_bg, 1))
    out = np.empty(masks.shape[0], dtype=np.float64)
    for start in range(0, masks.shape[0], per_call):
        chunk = masks[start : start + per_call]
        values = np.asarray(output(_hybrids(x, background, chunk, features)), dtype=np.float64)
        if values.shape != (len(chunk) * n_bg,):
            raise BadInput(
                f"the model returned {values.shape} outputs for {len(chunk) * n_bg} rows"
            )
        out[start : start + per_call] = values.reshape(len(chunk), n_bg).mean(axis=1)
    return out


def exact(
    output: Output, x: pd.DataFrame, background: pd.DataFrame, features: list[str]
) -> Explanation:
    """Shapley values by enumerating every coalition (``2^M`` of them)."""
    m = len(features)
    if m > MAX_EXACT_FEATURES:
        raise BadInput(
            f"exact Shapley values enumerate 2^{m} coalitions; use method 'sampling' for more "
            f"than {MAX_EXACT_FEATURES} features",
            location="options.method",
        )
    codes = np.arange(2**m)
    masks = ((codes[:, None] >> np.arange(m)[None, :]) & 1).astype(bool)
    v = coalition_values(output, x, background, masks, features)
    sizes = masks.sum(axis=1)
    # w(s) = s! (M - s - 1)! / M!, for coalitions of size s not holding the feature.
    weights = np.array(
        [math.factorial(s) * math.factorial(m - s - 1) / math.factorial(m) for s in range(m)]
    )
    phi = np.zeros(m)
    for i in range(m):
        without = codes[~masks[:, i]]
        phi[i] = float(np.sum(weights[sizes[without]] * (v[without | (1 << i)] - v[without])))
    return Explanation(output=float(v[-1]), base_value=float(v[0]), values=phi, stderr=None)


def sampling(
    output: Output,
    x: pd.DataFrame,
    background: pd.DataFrame,
    features: list[str],
    *,
    n_permutations: int,
    rng: np.random.Generator,
) -> Explanation:
    """Shapley values averaged over ``n_permutations`` permutations (antithetic pairs)."""
    m = len(features)
    pairs = max(1, n_permutations // 2)
    orders = []
    for _ in range(pairs):
        order = rng.permutation(m)
        orders += [order, order[::-1]]
    # Prefix coalitions along each order: the empty set, one feature, ..., all of them.
    masks = np.zeros((len(orders), m + 1, m), dtype=bool)
    for p, order in enumerate(orders):
        for k in range(1, m + 1):
            masks[p, k, order[:k]] = True
    v = coalition_values(output, x, background, masks.reshape(-1, m), features)
    v = v.reshape(len(orders), m + 1)
    contributions = np.zeros((len(orders), m))
    for p, order in enumerate(orders):
        contributions[p, order] = np.diff(v[p])
    # An antithetic pair is one draw: the standard error uses pair means.
    pair_means = contributions.reshape(pairs, 2, m).mean(axis=1)
    stderr = pair_means.std(axis=0, ddof=1) / math.sqrt(pairs) if pairs > 1 else np.full(m, np.nan)
    return Explanation(
        output=float(v[0, -1]),
        base_value=float(v[0, 0]),
        values=contributions.mean(axis=0),
        stderr=stderr,
    )


def explain_row(
    output: Output,
    x: pd.DataFrame,
    background: pd.DataFrame,
    features: list[str],
    *,
    method: Method,
    n_permutations: int,
    rng: np.random.Generator,
) -> Explanation:
    """Shapley values of the one-row frame ``x`` against ``background`` by ``method``."""
    if method == "exact":
        return exact(output, x, background, features)
    return sampling(output, x, background, features, n_permutations=n_permutations, rng=rng)

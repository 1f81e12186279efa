"""Shadow against live on the same requests: decision agreement and score drift.

Each pair is one request scored by both releases (the SDK made both calls on the same
input), so agreement is exact per request, and the score distributions are compared
with a two-sample Kolmogorov-Smirnov test (statistic as ``scipy.stats.ks_2samp``,
asymptotic two-sided p-value as its ``method="asymp"``) and PSI on the live scores'
decile bins (the live release is the reference). The mean absolute paired difference is
reported too: two releases can share a distribution and still disagree request by
request. Below ``min_pairs`` the answer is "insufficient data", not a verdict.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats

from charter.monitoring.stats import psi

#: Fewer pairs than this: the window is reported, not judged.
MIN_PAIRS = 30
#: PSI bins: deciles of the live scores.
PSI_BINS = 10


def ks_two_sample(a: npt.ArrayLike, b: npt.ArrayLike) -> tuple[float, float]:
    """Two-sample KS ``(D, p)``: ``D`` the largest gap between the empirical CDFs, ``p``
    scipy's asymptotic two-sided value ``kstwo.sf(D, round(n*m/(n+m)))``."""
    x = np.sort(np.asarray(a, dtype=np.float64))
    y = np.sort(np.asarray(b, dtype=np.float64))
    n, m = len(x), len(y)
    pooled = np.concatenate([x, y])
    cdf_x = np.searchsorted(x, pooled, side="right") / n
    cdf_y = np.searchsorted(y, pooled, side="right") / m
    statistic = float(np.max(np.abs(cdf_x - cdf_y)))
    effective = round(n * m / (n + m))
    return statistic, float(np.clip(stats.kstwo.sf(statistic, effective), 0.0, 1.0))


def decile_psi(live: npt.ArrayLike, shadow: npt.ArrayLike, bins: int = PSI_BINS) -> float:
    """PSI of the shadow scores against the live scores' quantile bins."""
    reference = np.asarray(live, dtype=np.float64)
    window = np.asarray(shadow, dtype=np.float64)
    edges = np.unique(np.quantile(reference, np.linspace(0.0, 1.0, bins + 1))[1:-1])
    ref_counts = np.bincount(
        np.searchsorted(edges, reference, side="right"), minlength=len(edges) + 1
    )
    win_counts = np.bincount(np.searchsorted(edges, window, side="right"), minlength=len(edges) + 1)
    return psi(ref_counts, win_counts)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return bool(a) == bool(b) and isinstance(a, bool) == isinstance(b, bool)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return float(a) == float(b)
    return bool(a == b)


def compare(
    live_predictions: Sequence[Any],
    shadow_predictions: Sequence[Any],
    live_scores: Sequence[float | None],
    shadow_scores: Sequence[float | None],
    *,
    min_pairs: int = MIN_PAIRS,
) -> dict[str, Any]:
    """Agreement and score drift over pairs of one window (entries aligned by request).

    A missing prediction or score (None) leaves that request out of that statistic only.
    """
    decided = [
        (a, b)
        for a, b in zip(live_predictions, shadow_predictions, strict=True)
        if a is not None and b is not None
    ]
    scored = [
        (float(a), float(b))
        for a, b in zip(live_scores, shadow_scores, strict=True)
        if a is not None and b is not None and np.isfinite(a) and np.isfinite(b)
    ]
    out: dict[str, Any] = {
        "pairs": len(live_predictions),
        "decisions_compared": len(decided),
        "scores_compared": len(scored),
        "agreement": None,
        "ks": None,
        "ks_p_value": None,
        "psi": None,
        "mean_abs_diff": None,
        "verdict": "insufficient data",
    }
    if len(decided) >= min_pairs:
        out["agreement"] = sum(_same(a, b) for a, b in decided) / len(decided)
    if len(scored) >= min_pairs:
        live = np.array([a for a, _ in scored])
        shadow = np.array([b for _, b in scored])
        out["ks"], out["ks_p_value"] = ks_two_sample(live, shadow)
        out["psi"] = decile_psi(live, shadow)
        out["mean_abs_diff"] = float(np.mean(np.abs(live - shadow)))
    if out["agreement"] is not None or out["ks"] is not None:
        out["verdict"] = "compared"
    return out

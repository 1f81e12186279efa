"""Operational signal counts per bucket: a mergeable latency histogram, guard and fallback counts.

Latency is kept as counts on fixed log-spaced bins (20 per decade from 0.01 ms to 10^6 ms,
so a quantile is known to within ~12% relative), not as raw values: two buckets merge by
adding counts, in any order, and a bucket stays a few hundred bytes however busy it is.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

#: Bin edges in milliseconds: 0, then 10^(k/20) for k = -40 .. 120.
LATENCY_EDGES: np.ndarray = np.concatenate(([0.0], np.logspace(-2, 6, 161)))


def empty_signals() -> dict[str, Any]:
    """Counts of a bucket with no records."""
    return {
        "rows": 0,
        "latency": {},
        "latency_n": 0,
        "latency_over": 0,
        "guarded": 0,
        "blocked": 0,
        "fallback_known": 0,
        "fallback": 0,
    }


def count_signals(
    latency_ms: np.ndarray, blocked: np.ndarray, fallback: np.ndarray
) -> dict[str, Any]:
    """Counts of one batch. ``blocked`` and ``fallback`` are float arrays of 1/0/NaN (unknown)."""
    finite = latency_ms[np.isfinite(latency_ms)]
    over = int(np.count_nonzero(finite > LATENCY_EDGES[-1]))
    inside = finite[finite <= LATENCY_EDGES[-1]]
    index = np.searchsorted(LATENCY_EDGES, inside, side="right") - 1
    bins, counts = np.unique(np.clip(index, 0, len(LATENCY_EDGES) - 2), return_counts=True)
    return {
        "rows": len(latency_ms),
        "latency": {str(int(b)): int(c) for b, c in zip(bins, counts, strict=True)},
        "latency_n": len(finite),
        "latency_over": over,
        "guarded": int(np.count_nonzero(~np.isnan(blocked))),
        "blocked": int(np.nansum(blocked)),
        "fallback_known": int(np.count_nonzero(~np.isnan(fallback))),
        "fallback": int(np.nansum(fallback)),
    }


def merge_signals(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Counts of both; exact and order-independent."""
    latency = dict(a.get("latency", {}))
    for key, count in b.get("latency", {}).items():
        latency[key] = latency.get(key, 0) + int(count)
    merged: dict[str, Any] = {
        key: int(a.get(key, 0)) + int(b.get(key, 0)) for key in empty_signals() if key != "latency"
    }
    merged["latency"] = {k: latency[k] for k in sorted(latency, key=int)}
    return merged


def latency_quantile(signals: dict[str, Any], q: float) -> float | None:
    """The q-quantile of latency in ms (geometric interpolation inside a bin); None if empty."""
    n = int(signals.get("latency_n", 0))
    if n == 0:
        return None
    rank = q * n
    seen = 0
    for key in sorted(signals.get("latency", {}), key=int):
        count = int(signals["latency"][key])
        if seen + count >= rank and count:
            low, high = float(LATENCY_EDGES[int(key)]), float(LATENCY_EDGES[int(key) + 1])
            fraction = (rank - seen) / count
            if low <= 0.0:
                return high * fraction
            return float(low * math.exp(fraction * math.log(high / low)))
        seen += count
    return float(LATENCY_EDGES[-1])  # the quantile lies among values above the top edge


def rates(signals: dict[str, Any]) -> dict[str, float | None]:
    """Guardrail block rate and fallback rate among the records that reported them."""
    guarded, known = int(signals.get("guarded", 0)), int(signals.get("fallback_known", 0))
    return {
        "block_rate": int(signals.get("blocked", 0)) / guarded if guarded else None,
        "fallback_rate": int(signals.get("fallback", 0)) / known if known else None,
    }

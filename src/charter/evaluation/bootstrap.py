"""Percentile bootstrap confidence intervals, seeded and vectorised.

Two resampling schemes, both the ordinary nonparametric bootstrap (n rows drawn with
replacement):

- Metrics that depend only on a contingency table (accuracy, precision, recall, selection
  rate, TPR, FPR... per group) are resampled as *cell counts*: drawing n rows with
  replacement gives multinomial(n, cell shares) counts, so the counts are drawn directly.
  That is the same distribution as resampling rows, at a cost independent of n.
- Metrics that need the rows (ROC AUC, average precision, log loss, Brier score, ECE,
  regression errors) use per-row *multiplicity weights*: how often each row was drawn,
  ``bincount(randint(0, n, n))``, applied to weighted group-wise formulas.

Each purpose draws from its own stream derived from ``(seed, purpose)``, so results are
reproducible and adding a metric does not shift the intervals of the others.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from charter.evaluation._numeric import FloatArray

#: An interval is reported only when the metric is defined in at least this share of the
#: resamples; otherwise the interval would describe a selected subset of resamples.
MIN_DEFINED_SHARE = 0.9


@dataclass(frozen=True)
class Bootstrap:
    """Bootstrap settings: number of resamples, confidence level, seed."""

    n_resamples: int
    confidence: float = 0.95
    seed: int = 0

    @property
    def enabled(self) -> bool:
        """True when at least one resample is drawn."""
        return self.n_resamples > 0

    def rng(self, purpose: str) -> np.random.Generator:
        """An independent, reproducible random stream for ``purpose``."""
        key = int.from_bytes(hashlib.sha256(purpose.encode()).digest()[:8], "little")
        return np.random.default_rng([self.seed, key])

    def row_weights(self, n_rows: int, purpose: str) -> Iterator[FloatArray]:
        """Yield one multiplicity-weight vector per resample (how often each row was drawn)."""
        rng = self.rng(purpose)
        for _ in range(self.n_resamples):
            drawn = rng.integers(0, n_rows, size=n_rows)
            yield np.bincount(drawn, minlength=n_rows).astype(np.float64)

    def cell_counts(self, counts: FloatArray, purpose: str) -> FloatArray:
        """Resampled contingency tables: ``(n_resamples, *counts.shape)``.

        ``counts`` holds the observed count of every cell (any shape); the resamples keep
        the total and are multinomial with the observed shares.
        """
        flat = np.asarray(counts, dtype=np.float64).ravel()
        total = round(float(flat.sum()))
        if total == 0:
            return np.zeros((self.n_resamples, *np.shape(counts)), dtype=np.float64)
        drawn = self.rng(purpose).multinomial(total, flat / flat.sum(), size=self.n_resamples)
        return drawn.reshape((self.n_resamples, *np.shape(counts))).astype(np.float64)

    def interval(self, samples: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Percentile interval of ``samples`` ``(n_resamples, ...)`` over axis 0.

        Returns ``(lower, upper, defined_share)``; bounds are NaN where the metric was
        defined in fewer than :data:`MIN_DEFINED_SHARE` of the resamples.
        """
        values = np.asarray(samples, dtype=np.float64)
        defined = ~np.isnan(values)
        share = defined.mean(axis=0) if values.shape[0] else np.zeros(values.shape[1:])
        usable = share >= MIN_DEFINED_SHARE
        # Columns without enough defined values are filled so nanquantile never sees an
        # all-NaN slice (which warns); they are masked out afterwards.
        safe = np.where(usable, values, 0.0)
        alpha = (1.0 - self.confidence) / 2.0
        if values.shape[0] == 0:
            nan = np.full(values.shape[1:], np.nan)
            return nan, nan.copy(), share
        lower = np.nanquantile(safe, alpha, axis=0)
        upper = np.nanquantile(safe, 1.0 - alpha, axis=0)
        return np.where(usable, lower, np.nan), np.where(usable, upper, np.nan), share

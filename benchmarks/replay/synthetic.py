"""Synthetic car-loan-like rows for the replay benchmark, generated in bounded chunks.

Each row is a car-loan reference row drawn at random (with replacement, numpy, fixed
seed), so the feature names and kinds, the prediction and the score are the reference's;
it gets an id (``s<n>``) and a ``timestamp`` evenly spread in event order over ``hours``.
In the second half (by event time) ``car_value`` is scaled up by half (drift) and a
third of the labels are flipped (accuracy falls from ~0.94 to ~0.63). A chunk is
rebuilt from its own seed, so the labels step regenerates the records' chunk instead of
keeping 10^7 rows in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: 2018-01-01 00:00 UTC, where the car-loan file starts, in seconds since the epoch.
START_S = 1_514_764_800
DRIFT_FACTOR = 1.5
FLIP_SHARE = 1 / 3


@dataclass(frozen=True)
class Synthetic:
    """The plan of a synthetic replay: the reference rows to draw from, sizes, seed."""

    reference: Any  # pandas.DataFrame: the car-loan reference file
    features: list[str]
    rows: int
    hours: int
    seed: int = 12

    @property
    def half(self) -> int:
        """The first row of the second half (drifted, worse accuracy)."""
        return self.rows // 2

    @property
    def middle_s(self) -> float:
        """The event time (epoch seconds) where the second half starts."""
        return START_S + self.half * self.step_s

    @property
    def step_s(self) -> float:
        """Seconds of event time between consecutive rows."""
        return self.hours * 3600 / self.rows

    def chunk(self, offset: int, size: int) -> tuple[Any, Any]:
        """Rows ``offset .. offset+size`` as a records frame and their labels (numpy)."""
        import numpy as np
        import pandas as pd

        rng = np.random.default_rng([self.seed, offset])
        n = min(size, self.rows - offset)
        drawn = rng.integers(0, len(self.reference), n)
        position = np.arange(offset, offset + n)
        drifted = position >= self.half
        frame = pd.DataFrame(
            {name: self.reference[name].to_numpy()[drawn] for name in self.features}
        )
        frame["car_value"] = np.where(
            drifted, np.round(frame["car_value"] * DRIFT_FACTOR), frame["car_value"]
        )
        frame["y_pred_proba"] = self.reference["y_pred_proba"].to_numpy()[drawn]
        frame["y_pred"] = self.reference["y_pred"].to_numpy()[drawn]
        millis = np.round((START_S + position * self.step_s) * 1000).astype(np.int64)
        # Parquet keeps datetimes: this is what `charter log scored.parquet` hands over.
        frame["timestamp"] = pd.to_datetime(millis, unit="ms", utc=True)
        frame["inference_id"] = pd.Series(np.char.add("s", position.astype(str))).astype(str)
        labels = self.reference["repaid"].to_numpy()[drawn].astype(int)
        flip = drifted & (rng.random(n) < FLIP_SHARE)
        labels = np.where(flip, 1 - labels, labels)
        return frame, labels


def label_items(frame: Any, labels: Any) -> list[dict[str, Any]]:
    """The labels of a chunk as `charter log --labels` sends them."""
    return [
        {"inference_id": i, "label": int(y)}
        for i, y in zip(frame["inference_id"].tolist(), labels.tolist(), strict=True)
    ]

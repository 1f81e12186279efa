"""Assemble the ``metrics`` section of a result from group-wise arrays.

Shape (see docs/evaluation.md)::

    {"overall": {metric: entry},
     "cohorts": [{"name": "sex", "columns": ["sex"], "metrics": {metric: entry},
                  "groups": [{"key": "sex=female", "values": {"sex": "female"}, "n": 310,
                              "scored": true, "reason": null, "metrics": {metric: entry}}]}]}

where an entry is ``{"value", "ci_lower", "ci_upper", "reason"}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from charter.evaluation._numeric import FloatArray, metric_entry
from charter.evaluation.bootstrap import Bootstrap
from charter.evaluation.cohorts import Dimension


@dataclass
class GroupMetrics:
    """Point estimates and interval bounds per metric, each an array over the groups."""

    point: dict[str, FloatArray]
    lower: dict[str, FloatArray] = field(default_factory=dict)
    upper: dict[str, FloatArray] = field(default_factory=dict)

    def add_intervals(self, bootstrap: Bootstrap, samples: Mapping[str, FloatArray]) -> None:
        """Turn stacked resample values ``(B, G)`` per metric into interval bounds."""
        for name, values in samples.items():
            lower, upper, _ = bootstrap.interval(values)
            self.lower[name] = lower
            self.upper[name] = upper

    def entry(self, name: str, group: int, reason: str | None) -> dict[str, Any]:
        """The JSON entry of one metric for one group."""
        value = self.point[name][group]
        lower = self.lower.get(name)
        upper = self.upper.get(name)
        return metric_entry(
            value,
            None if lower is None else lower[group],
            None if upper is None else upper[group],
            reason if np.isnan(value) else None,
        )


def stack(samples: Sequence[Mapping[str, FloatArray]]) -> dict[str, FloatArray]:
    """Turn a list of per-resample metric dicts into ``{metric: (B, G)}`` arrays."""
    if not samples:
        return {}
    return {name: np.stack([s[name] for s in samples]) for name in samples[0]}


def overall_section(
    metrics: GroupMetrics, names: Sequence[str], reasons: Mapping[str, str]
) -> dict[str, Any]:
    """Entries for the single group of the overall dimension."""
    return {name: metrics.entry(name, 0, reasons.get(name)) for name in names}


def cohort_section(
    dimension: Dimension,
    metrics: GroupMetrics,
    names: Sequence[str],
    reasons: Mapping[str, str],
    *,
    min_group_size: int,
    dimension_metrics: Mapping[str, dict[str, Any]] | None = None,
    extra: Mapping[int, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """One cohort dimension: its aggregate metrics and one entry per group.

    Groups with fewer than ``min_group_size`` rows are listed with their size and
    ``scored: false`` but carry no metrics: estimates on a handful of rows mislead.
    """
    sizes = dimension.sizes
    groups = []
    for index in range(dimension.n_groups):
        n = int(sizes[index])
        scored = n >= min_group_size
        group: dict[str, Any] = {
            "key": dimension.group_key(index),
            "values": dict(dimension.groups[index]),
            "n": n,
            "scored": scored,
            "reason": None if scored else f"fewer than {min_group_size} rows (min_group_size)",
            "metrics": (
                {name: metrics.entry(name, index, reasons.get(name)) for name in names}
                if scored
                else {}
            ),
        }
        if extra and index in extra:
            group.update(extra[index])
        groups.append(group)
    return {
        "name": dimension.name,
        "columns": list(dimension.columns),
        "metrics": dict(dimension_metrics or {}),
        "groups": groups,
    }

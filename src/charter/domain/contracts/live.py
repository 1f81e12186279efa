"""The live section of a contract, and what the monitoring worker watches because of it.

::

    live:
      window: 1d          # 1h, 6h, 1d, 1w ... or a count window: 5000 rows
      min_sample: 500     # smaller windows change no alert state
      open_after: 3       # breaching windows in a row to open an alert
      close_after: 3      # clean windows in a row to close it
      monitors: [performance, drift, fairness, latency, guardrails, quality, fallback]
      accuracy: ">= 0.70"             # a bound on a live metric (see LIVE_METRICS)

:func:`monitoring_plan` turns the section, the monitors the policy requires and the
reference's baseline into the monitors and bounds the worker runs. The gate's monitoring
control reads the same plan, so what the gate reports is exactly what is watched.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from charter.domain.contracts.metrics import (
    LIVE_METRICS,
    METRIC_ALIASES,
    MONITORS,
    deprecation_note,
)
from charter.domain.contracts.offline import OPERATORS, Operator, compare
from charter.domain.durations import parse_window
from charter.domain.errors import BadInput

SETTINGS = ("window", "min_sample", "open_after", "close_after", "lateness", "monitors")
#: Monitors watched when the contract names none and the policy requires none.
DEFAULT_MONITORS = frozenset({"drift", "performance", "quality"})
DEFAULT_WINDOW = timedelta(days=1)
DEFAULT_MIN_SAMPLE = 100
DEFAULT_OPEN_AFTER = 3
DEFAULT_CLOSE_AFTER = 3
DEFAULT_LATENESS = timedelta(hours=1)
#: Bounds used when a monitor is on but the contract gives none.
DEFAULT_BOUNDS: dict[str, tuple[str, Operator, float]] = {
    "fairness": ("accuracy_ratio", ">=", 0.8),
    "latency": ("latency_p95_ms", "<=", 1000.0),
    "guardrails": ("block_rate", "<=", 0.05),
    "fallback": ("fallback_rate", "<=", 0.05),
}
#: With no performance bound agreed, alert on this fall from the reference's accuracy.
BASELINE_MARGIN = 0.05
_CONDITION = re.compile(r"^\s*(>=|<=|>|<)\s*([-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?)\s*$")


@dataclass(frozen=True)
class LiveBound:
    """``metric op threshold`` on a live metric; ``origin`` says where it came from."""

    metric: str
    op: Operator
    threshold: float
    origin: str = "contract"

    @property
    def monitor(self) -> str:
        """The monitor the metric belongs to."""
        return LIVE_METRICS[self.metric].monitor

    @property
    def severity(self) -> str:
        """Severity of an alert on this bound."""
        return LIVE_METRICS[self.metric].severity

    def holds(self, value: float) -> bool:
        """True when ``value`` is within the bound."""
        return compare(value, self.op, self.threshold)

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.threshold:g}"


@dataclass(frozen=True)
class LiveContract:
    """The ``live`` section as written: settings left None fall back to the defaults."""

    window: timedelta | None = None
    window_rows: int | None = None
    min_sample: int | None = None
    open_after: int | None = None
    close_after: int | None = None
    lateness: timedelta | None = None
    monitors: frozenset[str] = frozenset()
    bounds: tuple[LiveBound, ...] = ()
    deprecations: tuple[str, ...] = ()

    def bound(self, metric: str) -> LiveBound | None:
        """The bound on ``metric``, if the section sets one."""
        return next((b for b in self.bounds if b.metric == metric), None)

    def to_dict(self) -> dict[str, Any]:
        """The section in its written form (only what was set)."""
        out: dict[str, Any] = {}
        if self.window_rows is not None:
            out["window"] = f"{self.window_rows} rows"
        elif self.window is not None:
            out["window"] = f"{int(self.window.total_seconds() // 3600)}h"
        for key in ("min_sample", "open_after", "close_after"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.lateness is not None:
            out["lateness"] = f"{int(self.lateness.total_seconds() // 60)}m"
        if self.monitors:
            out["monitors"] = sorted(self.monitors)
        for bound in self.bounds:
            out[bound.metric] = f"{bound.op} {bound.threshold:g}"
        return out


def _count(value: Any, key: str, location: str, *, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BadInput(f"{key} must be a whole number from {low} to {high:,}", location=location)
    return value


def _monitor_names(raw: Any, location: str) -> frozenset[str]:
    if isinstance(raw, str) or not isinstance(raw, Iterable):
        raise BadInput("monitors is a list of monitor names", location=location)
    names = set()
    for index, item in enumerate(raw):
        name = item.get("name") or item.get("kind") if isinstance(item, Mapping) else item
        if name not in MONITORS:
            raise BadInput(
                f"unknown monitor {name!r}; monitors: {', '.join(MONITORS)}",
                location=f"{location}[{index}]",
            )
        names.add(str(name))
    return frozenset(names)


def parse_live(raw: Any, *, location: str = "contract.live") -> LiveContract:
    """Parse a ``live`` section; BadInput names the key of the first problem."""
    if raw is None:
        return LiveContract()
    if not isinstance(raw, Mapping):
        raise BadInput("the live section is a mapping of settings and bounds", location=location)
    fields: dict[str, Any] = {}
    bounds: dict[str, LiveBound] = {}
    notes: list[str] = []
    for key, value in raw.items():
        where = f"{location}.{key}"
        if key == "window":
            window = parse_window(value, location=where)
            if isinstance(window, int):
                fields["window_rows"] = window
            else:
                fields["window"] = window
        elif key == "lateness":
            lateness = parse_window(value, location=where, allow_rows=False, allow_minutes=True)
            assert isinstance(lateness, timedelta)
            fields["lateness"] = lateness
        elif key == "min_sample":
            fields["min_sample"] = _count(value, key, where, low=1, high=10_000_000)
        elif key in ("open_after", "close_after"):
            fields[key] = _count(value, key, where, low=1, high=1000)
        elif key == "monitors":
            fields["monitors"] = _monitor_names(value, where)
        elif key in LIVE_METRICS or key in METRIC_ALIASES:
            metric = METRIC_ALIASES.get(str(key), str(key))
            note = deprecation_note(key)
            if note:
                notes.append(f"{where}: {note}")
            match = _CONDITION.match(str(value)) if isinstance(value, str | int | float) else None
            if match is None:
                raise BadInput(
                    f"a live bound is a condition such as '>= 0.9', got {value!r}", location=where
                )
            op = match.group(1)
            assert op in OPERATORS
            bounds[metric] = LiveBound(metric, op, float(match.group(2)))
        else:
            raise BadInput(
                f"unknown live setting or metric {key!r}; settings: {', '.join(SETTINGS)}; "
                f"metrics: {', '.join(LIVE_METRICS)}",
                location=where,
            )
    return LiveContract(**fields, bounds=tuple(bounds.values()), deprecations=tuple(notes))


@dataclass(frozen=True)
class MonitoringPlan:
    """What the worker watches for one release in one environment, and how patiently."""

    window: timedelta
    window_rows: int | None
    min_sample: int
    open_after: int
    close_after: int
    lateness: timedelta
    monitors: frozenset[str]
    bounds: tuple[LiveBound, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form, as the gate reports it and the worker stores it."""
        return {
            "window": f"{self.window_rows} rows"
            if self.window_rows is not None
            else f"{int(self.window.total_seconds() // 3600)}h",
            "min_sample": self.min_sample,
            "open_after": self.open_after,
            "close_after": self.close_after,
            "lateness_minutes": int(self.lateness.total_seconds() // 60),
            "monitors": sorted(self.monitors),
            "bounds": [{"bound": str(b), "origin": b.origin} for b in self.bounds],
        }


def monitoring_plan(
    live: LiveContract, *, required: Iterable[str] = (), baseline_accuracy: float | None = None
) -> MonitoringPlan:
    """The monitors and bounds the worker runs for a live section.

    Monitors: those the policy requires, those the section names and those its bounds
    belong to; when that leaves none, the defaults (drift, performance, quality). A
    monitor with no bound in the contract gets its default bound; performance with no
    bound alerts on a fall of :data:`BASELINE_MARGIN` from the reference's accuracy.
    """
    monitors = set(required) | set(live.monitors) | {b.monitor for b in live.bounds}
    if not monitors:
        monitors = set(DEFAULT_MONITORS)
    bounds = list(live.bounds)
    has = {b.monitor for b in bounds}
    if "performance" in monitors and "performance" not in has and baseline_accuracy is not None:
        threshold = round(baseline_accuracy - BASELINE_MARGIN, 4)
        bounds.append(LiveBound("accuracy", ">=", threshold, origin="reference baseline"))
    for monitor, (metric, op, threshold) in DEFAULT_BOUNDS.items():
        if monitor in monitors and monitor not in has:
            bounds.append(LiveBound(metric, op, threshold, origin="default"))
    return MonitoringPlan(
        window=DEFAULT_WINDOW if live.window is None else live.window,
        window_rows=live.window_rows,
        min_sample=DEFAULT_MIN_SAMPLE if live.min_sample is None else live.min_sample,
        open_after=DEFAULT_OPEN_AFTER if live.open_after is None else live.open_after,
        close_after=DEFAULT_CLOSE_AFTER if live.close_after is None else live.close_after,
        lateness=DEFAULT_LATENESS if live.lateness is None else live.lateness,
        monitors=frozenset(monitors),
        bounds=tuple(bounds),
    )


def with_bounds(live: LiveContract, bounds: Iterable[LiveBound]) -> LiveContract:
    """A copy of ``live`` with other bounds (used when contracts are merged)."""
    return replace(live, bounds=tuple(bounds))

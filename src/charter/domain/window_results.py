"""The result of judging one monitoring window, as typed values (pure; no numpy).

:func:`charter.monitoring.verdict.judge_window` builds a :class:`WindowVerdict`; the worker
stores its :meth:`~WindowVerdict.to_dict` form and readers of stored results (status, the
console, ``/metrics``, ``charter windows``) parse it back with the ``from_dict`` methods
instead of reading string keys. This module imports nothing heavy, so read paths can use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Breach:
    """One rule's verdict in one window: ``breached`` is None when there was no verdict."""

    monitor: str
    subject: str
    severity: str
    breached: bool | None
    n: int
    value: Any  # a number, or the list of data-quality issues
    bound: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (as stored in a window's result and an alert's details)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Breach:
        """Inverse of :meth:`to_dict`."""
        return cls(
            monitor=str(data["monitor"]),
            subject=str(data["subject"]),
            severity=str(data["severity"]),
            breached=data.get("breached"),
            n=int(data.get("n", 0)),
            value=data.get("value"),
            bound=str(data.get("bound", "")),
        )


@dataclass(frozen=True)
class LatencySignal:
    """Latency quantiles in ms of the window's records that reported one."""

    p50: float | None = None
    p95: float | None = None
    p99: float | None = None
    n: int = 0


@dataclass(frozen=True)
class AccuracySignal:
    """Accuracy: realised when enough rows are labelled, else the label-free estimate."""

    value: float | None = None
    source: str | None = None
    realised: float | None = None
    estimated: float | None = None


@dataclass(frozen=True)
class DriftSignal:
    """The window's drift verdict and the columns flagged."""

    verdict: str = "no data"
    columns: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Signals:
    """The five live signals of a window (what status, the console and /metrics show)."""

    latency_ms: LatencySignal = field(default_factory=LatencySignal)
    accuracy: AccuracySignal = field(default_factory=AccuracySignal)
    drift: DriftSignal = field(default_factory=DriftSignal)
    block_rate: float | None = None
    fallback_rate: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Signals:
        """Parse stored signals; absent parts get their empty values."""
        data = data or {}
        latency = data.get("latency_ms") or {}
        accuracy = data.get("accuracy") or {}
        drift = data.get("drift") or {}
        return cls(
            latency_ms=LatencySignal(
                p50=latency.get("p50"),
                p95=latency.get("p95"),
                p99=latency.get("p99"),
                n=int(latency.get("n") or 0),
            ),
            accuracy=AccuracySignal(
                value=accuracy.get("value"),
                source=accuracy.get("source"),
                realised=accuracy.get("realised"),
                estimated=accuracy.get("estimated"),
            ),
            drift=DriftSignal(
                verdict=str(drift.get("verdict") or "no data"),
                columns=list(drift.get("columns") or []),
            ),
            block_rate=data.get("block_rate"),
            fallback_rate=data.get("fallback_rate"),
        )


@dataclass(frozen=True)
class WindowVerdict:
    """Everything judged about one window. ``to_dict`` is the stored JSON shape."""

    rows: int
    labelled: int
    drift: dict[str, Any]
    quality: dict[str, list[str]]
    realised: dict[str, Any] | None
    estimated: dict[str, Any] | None
    fairness: dict[str, Any] | None
    selection: dict[str, Any] | None
    signals: Signals
    breaches: list[Breach]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form, as stored in a window's result."""
        out = {
            "rows": self.rows,
            "labelled": self.labelled,
            "drift": self.drift,
            "quality": self.quality,
            "realised": self.realised,
            "estimated": self.estimated,
            "fairness": self.fairness,
            "selection": self.selection,
            "signals": self.signals.to_dict(),
            "breaches": [b.to_dict() for b in self.breaches],
        }
        return out

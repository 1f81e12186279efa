"""The read-model of live monitoring: the five signals per route, and closed windows.

`charter status`, the console and ``/metrics`` read :func:`monitoring_signals`; it needs
no statistics stack (the worker stores each route's newest results on its state row).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from charter.domain.roles import Permission
from charter.services import status_read
from charter.services.context import Context


def monitoring_signals(ctx: Context) -> dict[tuple[str, str], dict[str, Any]]:
    """The live signals of every route, keyed by ``(system name, environment)``.

    Each value holds the newest closed window's five signals (latency p50/p95/p99,
    accuracy realised or estimated, drift verdict, guardrail block rate, fallback rate),
    the drifted columns and the count of open alerts. A route no window has been closed
    for yet has ``window: None`` and null signals. Three queries whatever the number of
    systems or windows: the worker keeps the newest results on the monitor-state row
    (plain SQL, :func:`charter.services.status_read.monitoring_signals`).
    """
    from charter.services.portfolio import reader_of

    ctx.require(Permission.MONITOR_READ)
    return status_read.monitoring_signals(reader_of(ctx.session))


def windows(
    ctx: Context, system_name: str, environment: str | None = None, *, limit: int = 50
) -> list[dict[str, Any]]:
    """Closed windows of a system, newest first, with their full results."""
    from charter.services.systems import find_system
    from charter.store.monitoring_models import MonitorWindow

    ctx.require(Permission.MONITOR_READ)
    system = find_system(ctx, system_name)
    query = select(MonitorWindow).where(MonitorWindow.system_id == system.id)
    if environment is not None:
        query = query.where(MonitorWindow.environment == environment)
    rows = ctx.session.scalars(query.order_by(MonitorWindow.window_start.desc()).limit(limit))
    return [
        {
            "environment": w.environment,
            "window_start": w.window_start.isoformat(),
            "window_end": w.window_end.isoformat(),
            "rows": w.rows,
            "labelled": w.labelled,
            **w.result,
            "drift": _with_distributions(w.result.get("drift")),
        }
        for w in rows
    ]


def _with_distributions(drift: dict[str, Any] | None) -> dict[str, Any] | None:
    """A stored drift result with ``distribution: None`` on every column that lacks one.

    Windows judged before the worker stored distributions have none; the null tells a
    reader (and the report, which says "not stored for this window") so, where a missing
    key would look like a bug. A copy: the row's own JSON stays as stored.
    """
    if not drift:
        return drift
    details = {
        column: {"distribution": None, **detail}
        for column, detail in (drift.get("details") or {}).items()
    }
    return {**drift, "details": details}
